"""The classroom side panel in two Chromium pages of one JupyterLab, with no notebook at all.

Ada (the teacher) opens the panel and creates a password-protected room from it. Bob (a
student) opens the panel on his own page: the room is in the live lobby with its lock and
member count; he joins from the panel (a wrong password first, then the right one) without
running a cell. Each sees the other in the participants; Alt Shift H typed in Bob's text
editor stays the editor's (no hand goes up); Bob's chat message reaches Ada, Bob raises his
hand and Ada's panel shows it in the queue (and the status bar his place); Ada takes it and
Bob gets a JupyterLab notification. An announcement (`classroom:announce`, from the
command palette) shows as a notification on Bob's page. A reload brings the panel back, in
the room; a link with `?classroom=<room_id>` opens the panel on that room's join dialog. Ada
opens the panel from its launcher card, Bob from the left sidebar; in Notebook 7 (no status
bar) the palette opens it and a room is created there.

The display names come from the panel's settings (`displayName`, sent as `auth.name`): this
JupyterLab's settings file is written with Ada's name before her page loads and Bob's before
his. docs/panel.png is Ada's panel with Bob's hand up.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from .lab import ROOT, Lab

pytestmark = pytest.mark.timeout(600)

PANEL = "#jc-classroom-panel"
PANEL_TAB = ".jp-SideBar.jp-mod-left .lm-TabBar-tab[data-id='jc-classroom-panel']"
DIALOG = ".jp-Dialog"
TITLE = "Linear algebra"
PASSWORD = "sesame"
LOAD_TIMEOUT_MS = 90_000


def write_display_name(lab: Lab, name: str) -> None:
    """The panel's settings as the settings editor would save them."""
    path = (
        lab.root_dir.parent
        / "lab-settings"
        / "jupyter-live-classroom"
        / "panel.jupyterlab-settings"
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"displayName": name}))


class PanelPage:
    """One person's JupyterLab page, driven through the classroom panel."""

    def __init__(self, page: Any, lab: Lab, name: str) -> None:
        self.page = page
        self.lab = lab
        self.name = name

    def open(self, query: str = "") -> None:
        url = f"{self.lab.url}lab/workspaces/panel-{self.name}?token={self.lab.token}{query}"
        self.page.goto(url, timeout=LOAD_TIMEOUT_MS)
        self.page.locator(PANEL).wait_for(state="attached", timeout=LOAD_TIMEOUT_MS)
        self.page.locator(f"{PANEL}[data-connection='connected']").wait_for(
            state="attached", timeout=30_000
        )

    def show_panel(self) -> None:
        if not self.page.locator(PANEL).is_visible():
            self.page.locator(PANEL_TAB).click()
        self.page.locator(PANEL).wait_for(state="visible")

    def hide_panel(self) -> None:
        if self.page.locator(PANEL).is_visible():
            self.page.locator(PANEL_TAB).click()

    @property
    def panel(self) -> Any:
        return self.page.locator(PANEL)

    def create_room(self, title: str, password: str | None = None) -> None:
        """Creates a room from the panel's form; returns once the page is in it."""
        self.show_panel()
        self.panel.locator(".jc-panel-create").click()
        self.dialog_input("title").fill(title)
        if password is not None:
            self.dialog_input("password").fill(password)
        self.accept_dialog()
        self.panel.locator(".jc-panel-title", has_text=title).wait_for()

    def join_room(self, title: str) -> None:
        """Joins an unlocked room from the panel's room list."""
        self.show_panel()
        self.panel.locator(".jc-panel-room", has_text=title).locator(".jc-panel-room-join").click()
        self.panel.locator(".jc-panel-title", has_text=title).wait_for()

    def dialog_input(self, name: str) -> Any:
        return self.page.locator(f"{DIALOG} input[name='{name}']")

    def accept_dialog(self) -> None:
        self.page.locator(f"{DIALOG} .jp-mod-accept").click()

    def participant(self, name: str) -> Any:
        return self.panel.locator(".jc-panel-participant", has_text=name)

    def toast(self, text: str) -> Any:
        return self.page.locator(".jp-Notification-Toast-info", has_text=text)

    def run_command(self, label: str) -> None:
        """Runs a command from the command palette, as a person would."""
        self.page.keyboard.press("Control+Shift+C")
        search = self.page.locator(".lm-CommandPalette-input")
        search.wait_for()
        search.fill(label)
        self.page.locator(".lm-CommandPalette-item", has_text=label).first.click()


def test_student_joins_from_the_panel_and_raises_a_hand(
    new_page: Any, lab: Lab, artifacts: Path, playwright_api: Any
) -> None:
    expect = playwright_api.expect
    expect.set_options(timeout=15_000)

    # --- Ada creates a room from the panel ---------------------------------------------
    write_display_name(lab, "Ada")
    ada = PanelPage(new_page("panel-ada"), lab, "ada")
    ada.open()
    # she opens the panel from its launcher card (Bob below from the left sidebar's tab)
    ada.page.locator(".jp-LauncherCard", has_text="Classroom").click()
    expect(ada.panel).to_be_visible()
    expect(ada.panel).to_have_attribute("data-state", "lobby")
    expect(ada.panel.locator(".jc-panel-create")).to_be_visible()  # she may create rooms
    ada.panel.locator(".jc-panel-create").click()
    ada.dialog_input("title").fill(TITLE)
    ada.dialog_input("password").fill(PASSWORD)
    ada.accept_dialog()
    expect(ada.panel).to_have_attribute("data-state", "room")
    expect(ada.panel.locator(".jc-panel-title")).to_have_text(TITLE)
    expect(ada.participant("Ada")).to_contain_text("(you)")
    expect(ada.participant("Ada").locator(".jc-panel-participant-host")).to_have_count(1)
    expect(ada.page.locator(".jc-status")).to_contain_text(TITLE)

    # --- Bob finds it in the lobby and joins from the panel, no cell run -----------------
    write_display_name(lab, "Bob")
    bob = PanelPage(new_page("panel-bob"), lab, "bob")
    bob.open()
    bob.show_panel()
    listed = bob.panel.locator(".jc-panel-room", has_text=TITLE)
    expect(listed).to_have_attribute("data-locked", "true")
    expect(listed.locator(".jc-panel-room-lock")).to_have_attribute(
        "aria-label", "a password is needed"
    )
    expect(listed.locator(".jc-panel-room-members")).to_have_text(re.compile(r"^1/\d+$"))
    room_id = listed.get_attribute("data-room-id")
    assert room_id

    listed.locator(".jc-panel-room-join").click()
    bob.dialog_input("password").fill("not the password")
    bob.accept_dialog()
    expect(bob.page.locator(f"{DIALOG} .jc-panel-dialog-error")).to_contain_text("not right")
    bob.dialog_input("password").fill(PASSWORD)
    bob.accept_dialog()
    expect(bob.panel).to_have_attribute("data-state", "room")
    expect(bob.panel.locator(".jc-panel-title")).to_have_text(TITLE)

    # both see both; only Ada has host controls
    expect(bob.panel.locator(".jc-panel-participant")).to_have_count(2)
    expect(bob.participant("Ada").locator(".jc-panel-participant-host")).to_have_count(1)
    expect(bob.participant("Bob")).to_contain_text("(you)")
    expect(bob.panel.locator(".jc-panel-participant-kick")).to_have_count(0)
    expect(ada.panel.locator(".jc-panel-participant")).to_have_count(2)
    expect(ada.participant("Bob").locator(".jc-panel-participant-kick")).to_have_count(1)
    # the status bar: the room and how many are in it
    expect(bob.page.locator(".jc-status")).to_contain_text(f"{TITLE} \u00b7 2")

    # --- in an editor Alt Shift H is the editor's (on a Mac, Option Shift H types "Ó"): no
    # hand goes up; the chat below, sent after it, shows the server has heard all Bob sent
    bob.page.locator(".jp-LauncherCard", has_text="Text File").click()
    editor = bob.page.locator(".jp-FileEditor .cm-content")
    expect(editor).to_be_focused()
    bob.page.keyboard.press("Alt+Shift+H")
    bob.page.keyboard.type("notes")
    expect(editor).to_have_text("notes")  # the editor kept the focus and the keys

    # --- chat from the panel -----------------------------------------------------------
    bob.panel.locator(".jc-panel-chat-input").fill("Hello from the panel <b>!</b>")
    bob.panel.locator(".jc-panel-chat-input").press("Enter")
    expect(ada.panel.locator(".jc-panel-message", has_text="Hello from the panel")).to_contain_text(
        "<b>!</b>"
    )
    expect(bob.panel.locator(".jc-panel-message", has_text="Hello from the panel")).to_have_count(1)
    ada.panel.locator(".jc-panel-chat-input").fill("Welcome, Bob")
    ada.panel.locator(".jc-panel-chat-send").click()
    expect(bob.panel.locator(".jc-panel-message", has_text="Welcome, Bob")).to_be_visible()
    expect(bob.panel.locator(".jc-panel-hand")).to_have_text("Raise hand")  # (the editor's key)
    expect(ada.panel.locator(".jc-panel-handitem")).to_have_count(0)

    # --- Bob raises his hand; Ada sees the queue and takes it ------------------------------
    bob.panel.locator(".jc-panel-hand").click()
    expect(bob.panel.locator(".jc-panel-hand")).to_have_text("Lower hand")
    expect(bob.panel.locator(".jc-panel-handnote")).to_contain_text("number 1")
    expect(bob.page.locator(".jc-status")).to_contain_text("your hand: #1")
    queue = ada.panel.locator(".jc-panel-handitem")
    expect(queue).to_have_count(1)
    expect(queue.first).to_contain_text("1. Bob")
    expect(ada.participant("Bob").locator(".jc-panel-participant-hand")).to_contain_text("1")
    # the panel in its page: sidebar, panel, and the status bar's item at the bottom left
    height = ada.page.viewport_size["height"]
    clip = {"x": 0, "y": 0, "width": 720, "height": height}
    ada.page.screenshot(path=str(ROOT / "docs" / "panel.png"), clip=clip)
    ada.page.screenshot(path=str(artifacts / "e2e-panel-ada.png"))
    bob.page.screenshot(path=str(artifacts / "e2e-panel-bob.png"))

    ada.panel.locator(".jc-panel-take").click()
    expect(bob.toast("took your hand")).to_contain_text("Ada took your hand in “Linear algebra”")
    expect(queue).to_have_count(0)
    expect(bob.panel.locator(".jc-panel-hand")).to_have_text("Raise hand")

    # --- an announcement reaches Bob's page as a notification -------------------------------
    ada.run_command("Announce to Everyone")
    ada.page.locator(f"{DIALOG} input").fill("The lab closes in 10 minutes")
    ada.accept_dialog()
    expect(bob.toast("The lab closes in 10 minutes")).to_contain_text("Announcement from")
    expect(ada.toast("The lab closes in 10 minutes")).to_be_visible()

    # --- a reload brings the panel back, in the room (same member, no password) ------------
    bob.page.reload(timeout=LOAD_TIMEOUT_MS)
    bob.page.locator(PANEL).wait_for(state="visible", timeout=LOAD_TIMEOUT_MS)
    expect(bob.panel).to_have_attribute("data-state", "room")
    expect(bob.participant("Bob")).to_contain_text("(you)")
    expect(ada.panel.locator(".jc-panel-participant")).to_have_count(2)

    # --- Bob leaves; a ?classroom= link opens the join dialog on the room -------------------
    bob.panel.locator(".jc-panel-leave").click()
    expect(bob.panel).to_have_attribute("data-state", "lobby")
    expect(ada.panel.locator(".jc-panel-participant")).to_have_count(1)
    bob.open(f"&classroom={room_id}")
    expect(bob.page.locator(f"{DIALOG}")).to_contain_text(f"Join “{TITLE}”")
    bob.dialog_input("password").fill(PASSWORD)
    bob.accept_dialog()
    expect(bob.panel).to_have_attribute("data-state", "room")
    expect(ada.panel.locator(".jc-panel-participant")).to_have_count(2)
    assert "classroom=" not in bob.page.url  # a reload does not ask again


def test_panel_in_notebook7(new_page: Any, lab: Lab, playwright_api: Any) -> None:
    """Notebook 7 (no status bar): the panel opens in its left area from the command palette
    and a room is created and shown there."""
    expect = playwright_api.expect
    expect.set_options(timeout=15_000)
    write_display_name(lab, "Nora")
    page = new_page("panel-notebook7")
    page.goto(f"{lab.url}tree?token={lab.token}", timeout=LOAD_TIMEOUT_MS)
    nora = PanelPage(page, lab, "nora")
    page.locator(PANEL).wait_for(state="attached", timeout=LOAD_TIMEOUT_MS)
    assert page.locator(".jc-status").count() == 0  # Notebook 7's tree page: no status bar
    nora.run_command("Open the Classroom Panel")
    expect(nora.panel).to_be_visible()
    expect(nora.panel).to_have_attribute("data-connection", "connected")
    nora.create_room("Notebook 7 room")
    expect(nora.participant("Nora")).to_contain_text("(you)")
    page.screenshot(path=str(ROOT / "artifacts" / "e2e-panel-notebook7.png"))

    # the palette's leave and join: join asks for the room, then confirms it
    nora.run_command("Leave the Room")
    expect(nora.panel).to_have_attribute("data-state", "lobby")
    nora.run_command("Join a Room")
    choice = page.locator(f"{DIALOG} select option", has_text="Notebook 7 room").text_content()
    page.locator(f"{DIALOG} select").select_option(label=choice)
    nora.accept_dialog()
    expect(page.locator(DIALOG)).to_contain_text("Join “Notebook 7 room”")
    nora.accept_dialog()
    expect(nora.panel).to_have_attribute("data-state", "room")
    expect(nora.panel.locator(".jc-panel-title")).to_have_text("Notebook 7 room")
