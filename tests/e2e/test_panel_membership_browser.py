"""A room joined from the panel and a room shown by a notebook cell are one membership.

Ada creates a room from her panel. Bob joins it from the panel of his notebook's page, then
runs a cell there that joins the same room in his kernel and shows it (``Classroom.join``).
The page hands the kernel a ticket of the panel's membership (through the widget's comm): the
kernel attaches to it and leaves the member it had joined as, so Ada sees one Bob, the
notebook's views and the panel show the same member, and Bob's raised hand stays up.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from .classroom_page import NotebookPage, write_notebook
from .lab import Lab
from .test_panel_browser import PanelPage, write_display_name

pytestmark = pytest.mark.timeout(600)

TITLE = "One membership"
ROOM_FILE = "membership-room.txt"
NOTEBOOK = "membership.ipynb"
CELL = f"""\
from jupyter_classroom import Client
from jupyter_classroom.widgets import Classroom
classroom = Classroom.join(open({ROOM_FILE!r}).read(), client=Client(name="Bob"))
classroom"""
EXPECTED_FILE = "membership-expected.txt"
# the kernel's member id once settled: the panel's, after the adoption (waits up to 30 s)
MEMBER_CELL = f"""\
import time
expected = open({EXPECTED_FILE!r}).read()
deadline = time.monotonic() + 30
while classroom.client.connection.rooms[classroom.room_id].you["id"] != expected and time.monotonic() < deadline:
    time.sleep(0.2)
print(classroom.client.connection.rooms[classroom.room_id].you["id"])"""


def test_the_panel_and_a_notebook_cell_are_one_member(
    new_page: Any, lab: Lab, artifacts: Path, playwright_api: Any
) -> None:
    expect = playwright_api.expect
    expect.set_options(timeout=30_000)

    write_display_name(lab, "Ada")
    ada = PanelPage(new_page("membership-ada"), lab, "membership-ada")
    ada.open()
    ada.create_room(TITLE)
    room_id = ada.page.evaluate("() => sessionStorage.getItem('jupyter-classroom:room')")
    assert room_id
    (lab.root_dir / ROOM_FILE).write_text(room_id)

    # --- Bob joins from the panel of his notebook's page, and raises his hand -------------
    write_display_name(lab, "Bob")
    write_notebook(lab.root_dir / NOTEBOOK, CELL, MEMBER_CELL)
    notebook = NotebookPage(new_page("membership-bob"), lab, NOTEBOOK, artifacts)
    notebook.open()
    bob = PanelPage(notebook.page, lab, "membership-bob")
    bob.show_panel()
    bob.panel.locator(".jc-panel-room", has_text=TITLE).locator(".jc-panel-room-join").click()
    expect(bob.panel).to_have_attribute("data-state", "room")
    expect(ada.panel.locator(".jc-panel-participant")).to_have_count(2)
    bob_id = bob.participant("Bob").get_attribute("data-member-id")
    assert bob_id
    (lab.root_dir / EXPECTED_FILE).write_text(bob_id)
    bob.panel.locator(".jc-panel-hand").click()
    expect(ada.panel.locator(".jc-panel-handitem")).to_have_count(1)

    # --- Bob's cell joins the same room and shows it -------------------------------------
    notebook.run_cell(0)
    notebook.cell(0).locator(".jc-participants").first.wait_for(timeout=60_000)
    # the kernel takes the panel's membership: one Bob for Ada, the same id everywhere
    notebook.run_cell(1)
    expect(notebook.cell(1).locator(".jp-OutputArea-output")).to_have_text(bob_id + "\n")
    expect(ada.panel.locator(".jc-panel-participant")).to_have_count(2)
    expect(ada.participant("Bob")).to_have_count(1)
    expect(ada.participant("Bob")).to_have_attribute("data-member-id", bob_id)
    expect(bob.panel).to_have_attribute("data-state", "room")
    expect(bob.participant("Bob")).to_have_attribute("data-member-id", bob_id)
    expect(bob.participant("Bob")).to_contain_text("(you)")
    # the notebook's participants list shows the same two, Bob as himself
    listed = notebook.cell(0).locator(".jc-participants [data-member-id]")
    expect(listed).to_have_count(2)
    expect(notebook.cell(0).locator(f".jc-participants [data-member-id='{bob_id}']")).to_have_count(
        1
    )
    # his hand (the panel member's) is still up: nobody left
    expect(ada.panel.locator(".jc-panel-handitem")).to_have_count(1)
    expect(bob.panel.locator(".jc-panel-hand")).to_have_text("Lower hand")
    notebook.screenshot("membership")

    # --- the board, opened from the panel, moves into the panel and back -----------------
    bob.panel.locator(".jc-panel-open-board").click()
    docked = notebook.page.locator("#jp-main-dock-panel .jc-board-widget")
    expect(docked).to_be_visible()
    docked.locator(".jc-widget-place").click()
    shelved = bob.panel.locator(".jc-panel-shelf .jc-board-widget")
    expect(shelved).to_be_visible()
    expect(shelved).to_have_attribute("data-place", "panel")
    expect(docked).to_have_count(0)
    expect(shelved.locator(".jc-board-stage")).to_be_visible()
    box = shelved.locator(".jc-board-stage").bounding_box()
    assert box is not None and box["width"] > 150, box  # fitted to the panel's width
    notebook.screenshot("membership-board-in-panel")
    shelved.locator(".jc-widget-place").click()
    expect(docked).to_be_visible()
    expect(docked).to_have_attribute("data-place", "dock")
    expect(bob.panel.locator(".jc-panel-shelf .jc-board-widget")).to_have_count(0)
