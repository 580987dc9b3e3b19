"""Breakouts from the classroom side panel, in Chromium pages of one JupyterLab.

Ada (the teacher) creates a room from the panel; Bob and Cy join it from theirs. Bob also
runs a notebook (in a second tab) whose kernel joins the room as "Bob's notebook": it will
draw on his group's board from a cell. Ada opens 2 groups from the panel's "Breakouts…"
dialog, choosing who goes where (Bob and his notebook in Group 1, Cy in Group 2) with a
timer. Each student's panel moves into its group ("You are in Group N — mm:ss left") with
the group's participants and chat; Bob's message in Group 1 reaches Ada when she visits it,
not Cy; "Message all groups" reaches both; Cy reloads and is put back in Group 2. "Bring
everyone back" returns both panels to the main room (with what was said there meanwhile)
and a notification, and Ada's panel lists both groups' kept boards: Group 1's opens
read-only in the main area with the notebook's stroke on it. docs/breakout.png is Ada's
panel while the groups are open.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from .classroom_page import NotebookPage, write_notebook
from .lab import ROOT, Lab
from .test_panel_browser import DIALOG, PANEL, PanelPage, write_display_name

pytestmark = pytest.mark.timeout(600)

TITLE = "Breakout lesson"
ROOM_FILE = "breakout-room.txt"
NOTEBOOK = "breakout-draw.ipynb"
RED = "#d62728"

# Bob's notebook: its kernel joins the main room, then (once the groups are open) its own
# group's room, and draws a stroke on that group's board.
JOIN_CELL = f"""\
from jupyter_classroom import Client
client = Client(name="Bob's notebook")
main = client.join(open({ROOM_FILE!r}).read())
main.you["id"]"""
DRAW_CELL = f"""\
mine = next(b for b in main.breakouts["breakouts"] if main.you["id"] in b["members"])
client.join(mine["room_id"])
client.op({{"type": "stroke", "points": [[100, 100], [400, 300]], "color": {RED!r}, "width": 8}},
          room_id=mine["room_id"])
print(mine["title"])"""

CANVAS_PIXEL_JS = """([x, y]) => {
  const canvas = document.querySelector('.jc-breakout-board-canvas');
  return Array.from(canvas.getContext('2d').getImageData(x, y, 1, 1).data);
}"""


def test_breakouts_from_the_panel(
    new_page: Any, lab: Lab, artifacts: Path, playwright_api: Any
) -> None:
    expect = playwright_api.expect
    expect.set_options(timeout=20_000)

    # --- Ada creates the room; Bob and Cy join from their panels ------------------------
    write_display_name(lab, "Ada")
    ada = PanelPage(new_page("breakouts-ada"), lab, "breakouts-ada")
    ada.open()
    ada.create_room(TITLE)
    # alone in the room: nobody to split
    expect(ada.panel.locator(".jc-panel-breakouts-start")).to_be_hidden()

    students = {}
    for name in ("Bob", "Cy"):
        write_display_name(lab, name)
        student = PanelPage(new_page(f"breakouts-{name.lower()}"), lab, f"breakouts-{name.lower()}")
        student.open()
        student.show_panel()
        listed = student.panel.locator(".jc-panel-room", has_text=TITLE)
        listed.locator(".jc-panel-room-join").click()
        expect(student.panel).to_have_attribute("data-state", "room")
        students[name] = student
    bob, cy = students["Bob"], students["Cy"]
    room_id = bob.panel.locator(".jc-panel-room", has_text=TITLE).get_attribute("data-room-id")
    assert room_id

    # --- Bob's notebook joins the room from a cell ---------------------------------------
    (lab.root_dir / ROOM_FILE).write_text(room_id)
    write_notebook(lab.root_dir / NOTEBOOK, JOIN_CELL, DRAW_CELL)
    notebook = NotebookPage(new_page("breakouts-notebook"), lab, NOTEBOOK, artifacts)
    notebook.open()
    notebook.run_cell(0)
    expect(ada.panel.locator(".jc-panel-participant")).to_have_count(4)

    ada.panel.locator(".jc-panel-chat-input").fill("Welcome, all")
    ada.panel.locator(".jc-panel-chat-input").press("Enter")
    for student in (bob, cy):
        expect(student.panel.locator(".jc-panel-message", has_text="Welcome, all")).to_have_count(1)

    # --- Ada opens 2 groups, choosing who goes where, with a timer ------------------------
    start = ada.panel.locator(".jc-panel-breakouts-start")
    expect(start).to_be_visible()
    start.click()
    ada.page.locator(f"{DIALOG} input[name='count']").fill("2")
    ada.page.locator(f"{DIALOG} input[name='choose']").check()
    for member, group in (("Bob", "1"), ("Bob's notebook", "1"), ("Cy", "2")):
        ada.page.locator(f'{DIALOG} select[data-member-name="{member}"]').select_option(group)
    ada.page.locator(f"{DIALOG} input[name='minutes']").fill("15")
    ada.accept_dialog()
    breakouts = ada.panel.locator(".jc-panel-breakouts")
    expect(breakouts).to_have_attribute("data-state", "open")
    groups = ada.panel.locator(".jc-panel-breakout-group")
    expect(groups).to_have_count(2)
    expect(groups.nth(0)).to_contain_text("Group 1")
    expect(groups.nth(0).locator(".jc-panel-breakout-members")).to_contain_text(
        "Bob, Bob's notebook"
    )
    expect(groups.nth(1).locator(".jc-panel-breakout-members")).to_have_text(" Cy ")
    expect(ada.panel.locator(".jc-panel-breakouts-timer")).to_have_text(
        re.compile(r"^Breakouts open \u2014 1[45]:\d\d left$")
    )

    # --- each student's panel is in its group, the main room kept ---------------------------
    for student, group, other in ((bob, "Group 1", "Cy"), (cy, "Group 2", "Bob")):
        expect(student.panel.locator(".jc-panel-breakout-line")).to_have_text(
            re.compile(rf"^You are in {group} \u2014 1[45]:\d\d left$")
        )
        expect(student.panel.locator(".jc-panel-roomview")).to_have_attribute("data-view", "group")
        expect(student.toast(f"you are in {group}")).to_be_visible()
        expect(student.participant(other)).to_have_count(0)
        expect(student.page.locator(".jc-status")).to_contain_text(TITLE)  # still its room
    expect(bob.participant("Bob")).to_contain_text("(you)")

    # Bob's notebook draws on Group 1's board; Bob writes in the group's chat
    notebook.run_cell(1)
    expect(notebook.cell(1).locator(".jp-OutputArea-output")).to_contain_text("Group 1")
    expect(bob.participant("Bob's notebook")).to_have_count(1)
    bob.panel.locator(".jc-panel-chat-input").fill("Group 1 is on it")
    bob.panel.locator(".jc-panel-chat-input").press("Enter")
    expect(bob.panel.locator(".jc-panel-message", has_text="Group 1 is on it")).to_have_count(1)

    # Bob raises his hand with the shortcut (Alt Shift H): it is Group 1's, not the main room's
    bob.panel.locator(".jc-panel-title").click()  # out of the chat box, which keeps its keys
    bob.page.keyboard.press("Alt+Shift+H")
    expect(bob.panel.locator(".jc-panel-hand")).to_have_text("Lower hand")
    expect(bob.panel.locator(".jc-panel-handitem")).to_have_text(["1. Bob (you)"])
    expect(cy.panel.locator(".jc-panel-handitem")).to_have_count(0)
    expect(ada.panel.locator(".jc-panel-handitem")).to_have_count(0)  # the main room's queue

    # Ada visits Group 1: its people, chat and hands; then back to the main room
    groups.nth(0).locator(".jc-panel-breakout-visit").click()
    expect(ada.panel.locator(".jc-panel-roomview")).to_have_attribute("data-view", "group")
    expect(ada.panel.locator(".jc-panel-breakout-line")).to_have_text(
        re.compile(r"^Visiting Group 1")
    )
    expect(ada.panel.locator(".jc-panel-message", has_text="Group 1 is on it")).to_have_count(1)
    expect(ada.panel.locator(".jc-panel-handitem")).to_have_count(1)
    expect(ada.panel.locator(".jc-panel-handitem").first).to_contain_text("1. Bob")
    ada.panel.locator(".jc-panel-take").click()
    expect(bob.toast("took your hand")).to_contain_text("Ada took your hand in “Group 1”")
    expect(bob.panel.locator(".jc-panel-hand")).to_have_text("Raise hand")
    expect(ada.panel.locator(".jc-panel-handitem")).to_have_count(0)
    expect(ada.participant("Cy")).to_have_count(0)
    expect(bob.participant("Ada")).to_have_count(1)
    height = ada.page.viewport_size["height"]
    ada.page.locator(".jc-panel-breakout-linerow .jc-panel-breakout-back").click()
    expect(ada.panel.locator(".jc-panel-roomview")).to_have_attribute("data-view", "main")
    expect(ada.participant("Cy")).to_have_count(1)
    expect(bob.participant("Ada")).to_have_count(0)
    # the group's room is still the teacher's: no host controls for Bob after her visit
    expect(bob.panel.locator(".jc-panel-participant-kick")).to_have_count(0)

    # "Message all groups": both groups' chats
    ada.panel.locator(".jc-panel-breakout-message").fill("Two minutes left")
    ada.panel.locator(".jc-panel-breakout-broadcast").click()
    for student in (bob, cy):
        expect(
            student.panel.locator(".jc-panel-message", has_text="Two minutes left")
        ).to_have_count(1)
    # Group 1's message never reached Group 2 (it was sent before the broadcast Cy has)
    expect(cy.panel.locator(".jc-panel-message", has_text="Group 1 is on it")).to_have_count(0)

    # a reload puts Cy back in the main room and in Group 2 (the join ack's breakouts)
    cy.page.reload(timeout=90_000)
    cy.page.locator(PANEL).wait_for(state="visible", timeout=90_000)
    expect(cy.panel.locator(".jc-panel-breakout-line")).to_have_text(
        re.compile(r"^You are in Group 2 \u2014 1[45]:\d\d left$")
    )
    expect(cy.panel.locator(".jc-panel-message", has_text="Two minutes left")).to_have_count(1)
    expect(cy.panel.locator(".jc-panel-message", has_text="Group 1 is on it")).to_have_count(0)

    # the main room's chat goes on meanwhile (the groups see their own)
    ada.panel.locator(".jc-panel-chat-input").fill("A note in the main room")
    ada.panel.locator(".jc-panel-chat-input").press("Enter")
    expect(
        ada.panel.locator(".jc-panel-message", has_text="A note in the main room")
    ).to_have_count(1)
    expect(bob.panel.locator(".jc-panel-message", has_text="Welcome, all")).to_have_count(0)

    # the teacher's panel while the groups are open
    ada.page.screenshot(
        path=str(ROOT / "docs" / "breakout.png"),
        clip={"x": 0, "y": 0, "width": 720, "height": height},
    )
    bob.page.screenshot(path=str(artifacts / "e2e-breakouts-bob.png"))

    # --- "Bring everyone back" ------------------------------------------------------------
    ada.panel.locator(".jc-panel-breakout-recall").click()
    for student in (bob, cy):
        expect(student.panel.locator(".jc-panel-roomview")).to_have_attribute("data-view", "main")
        expect(student.toast("brought everyone back")).to_contain_text(
            f"you are in “{TITLE}” again"
        )
        expect(student.panel.locator(".jc-panel-breakout-line")).to_have_text("")
        expect(student.panel.locator(".jc-panel-participant")).to_have_count(4)
        # the main room's chat, with what was said there meanwhile
        for text in ("Welcome, all", "A note in the main room"):
            expect(student.panel.locator(".jc-panel-message", has_text=text)).to_have_count(1)
        expect(
            student.panel.locator(".jc-panel-message", has_text="Two minutes left")
        ).to_have_count(0)
    expect(breakouts).to_have_attribute("data-state", "recalled")
    kept = ada.panel.locator(".jc-panel-breakout-board")
    expect(kept).to_have_text(["Group 1's board", "Group 2's board"])

    # Group 1's board opens read-only in the main area, with the notebook's stroke
    kept.nth(0).click()
    view = ada.page.locator(".jc-breakout-board")
    expect(view).to_be_visible()
    expect(view.locator(".jc-breakout-board-canvas")).to_have_attribute("data-objects", "1")
    expect(ada.page.locator(".lm-TabBar-tab", has_text="Group 1's board")).to_have_count(1)
    r, g, b, _alpha = ada.page.evaluate(CANVAS_PIXEL_JS, [250, 200])  # the stroke's middle
    assert (r, g, b) == (0xD6, 0x27, 0x28), (r, g, b)
    ada.page.screenshot(path=str(artifacts / "e2e-breakouts-kept-board.png"))
    kept.nth(1).click()
    expect(ada.page.locator(".jc-breakout-board-canvas").last).to_have_attribute(
        "data-objects", "0"
    )

    # --- a reload keeps the kept boards listed (the join ack's kept_breakouts) --------------
    cy.page.reload(timeout=90_000)
    cy.page.locator(PANEL).wait_for(state="visible", timeout=90_000)
    expect(cy.panel.locator(".jc-panel-breakouts")).to_have_attribute("data-state", "recalled")
    expect(cy.panel.locator(".jc-panel-breakout-board")).to_have_text(
        ["Group 1's board", "Group 2's board"]
    )
    # and Alt Shift R brings the classroom panel back when another sidebar panel is shown
    cy.page.locator(".jp-SideBar.jp-mod-left .lm-TabBar-tab[data-id='filebrowser']").click()
    expect(cy.panel).to_be_hidden()
    cy.page.keyboard.press("Alt+Shift+R")
    expect(cy.panel).to_be_visible()
