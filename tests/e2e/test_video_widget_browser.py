"""The video as a JupyterLab widget, opened from the classroom panel, with no kernel.

Two Chromium pages (fake camera and microphone) of one JupyterLab. Ada (the teacher) has a
notebook open, creates a room from the panel and presses "Open video": her settings say
`videoArea: "right"`, so the room's video opens in the right sidebar. Bob (a student) has a
notebook open too (he runs nothing): he joins the room from the panel's lobby and presses
"Open video": it opens in the main area, split to the right of his notebook (the default
`videoArea`), on the panel's membership (no kernel, no ticket). Each page plays the other's
camera (the remote tile's <video> has frames, and time and frames move on). Bob runs "Toggle
Microphone" and then "Toggle Camera" from the command palette: his microphone track is
disabled, and Ada's panel lists him with "mic off" (then "camera off") and her tile of him
says so. Pressing "Open video" again brings the same widget back, not a second one.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from .classroom_page import VIDEO_STATE_JS, wait_until, write_notebook
from .lab import ROOT, Lab
from .test_panel_browser import PANEL, PanelPage

pytestmark = pytest.mark.timeout(600)

TITLE = "Docked video"
MAIN_WIDGET = "#jp-main-dock-panel .jc-video-widget"
RIGHT_WIDGET = "#jp-right-stack .jc-video-widget"
NOTEBOOK_CELL = "x = 1  # their own work; nothing runs for the classroom"
LOCAL_AUDIO_JS = (
    "(sel) => document.querySelector(sel + ' .jc-video-local video')"
    ".srcObject.getAudioTracks()[0].enabled"
)
LOCAL_ID_JS = "(sel) => document.querySelector(sel + ' .jc-video-local').dataset.memberId"


def write_settings(lab: Lab, **settings: Any) -> None:
    """The panel's settings as the settings editor would save them (read when a page loads)."""
    path = (
        lab.root_dir.parent
        / "lab-settings"
        / "jupyter-live-classroom"
        / "panel.jupyterlab-settings"
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(settings))


def open_notebook(page: Any, lab: Lab, notebook: str, name: str) -> PanelPage:
    """A page on the notebook, with the classroom panel connected and shown."""
    page.goto(lab.notebook_url(notebook, name), timeout=60_000)
    page.locator(".jp-Notebook .jp-Cell").first.wait_for(timeout=60_000)
    panel = PanelPage(page, lab, name)
    page.locator(f"{PANEL}[data-connection='connected']").wait_for(state="attached", timeout=30_000)
    panel.show_panel()
    return panel


def plays(page: Any, member_id: str, who: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The tile of ``member_id`` plays: data now, then time and frames move on."""
    first = wait_until(
        lambda: (
            (s := page.evaluate(VIDEO_STATE_JS, member_id))
            and s["readyState"] >= 2
            and s["videoWidth"] > 0
            and s
        ),
        45,
        f"{who} plays {member_id}'s video",
    )
    page.wait_for_timeout(1200)
    second = page.evaluate(VIDEO_STATE_JS, member_id)
    assert second is not None
    assert second["currentTime"] > first["currentTime"], (first, second)
    if first["frames"] is not None:
        assert second["frames"] > first["frames"], (first, second)
    return first, second


def test_video_widgets_from_the_panel(
    new_page: Any, lab: Lab, artifacts: Path, playwright_api: Any
) -> None:
    expect = playwright_api.expect
    expect.set_options(timeout=30_000)
    write_notebook(lab.root_dir / "video-teacher.ipynb", NOTEBOOK_CELL)
    write_notebook(lab.root_dir / "video-student.ipynb", NOTEBOOK_CELL)

    # --- Ada: creates the room from the panel, her video in the right sidebar -------------
    write_settings(lab, displayName="Ada", videoArea="right")
    ada_page = new_page("video-widget-ada")
    ada = open_notebook(ada_page, lab, "video-teacher.ipynb", "ada")
    ada.create_room(TITLE)
    ada.panel.locator(".jc-panel-open-video").click()
    ada_video = ada_page.locator(RIGHT_WIDGET)
    expect(ada_video).to_be_visible()
    expect(ada_video).to_have_attribute("data-publishing", "true", timeout=45_000)
    assert ada_page.locator(MAIN_WIDGET).count() == 0

    # --- Bob: joins from the lobby, his video beside his notebook -------------------------
    write_settings(lab, displayName="Bob")
    bob_page = new_page("video-widget-bob")
    bob = open_notebook(bob_page, lab, "video-student.ipynb", "bob")
    bob.panel.locator(".jc-panel-room", has_text=TITLE).locator(".jc-panel-room-join").click()
    expect(bob.panel).to_have_attribute("data-state", "room")
    expect(bob.participant("Ada")).to_be_visible()
    bob.panel.locator(".jc-panel-open-video").click()
    bob_video = bob_page.locator(MAIN_WIDGET)
    expect(bob_video).to_be_visible()
    expect(bob_video).to_have_attribute("data-publishing", "true", timeout=45_000)
    tab = bob_page.locator("#jp-main-dock-panel .lm-TabBar-tab", has_text=f"Video — {TITLE}")
    expect(tab).to_have_count(1)
    notebook_box = bob_page.locator("#jp-main-dock-panel .jp-NotebookPanel").bounding_box()
    video_box = bob_video.bounding_box()
    assert notebook_box and video_box, (notebook_box, video_box)
    assert notebook_box["x"] + notebook_box["width"] <= video_box["x"] + 1, (
        notebook_box,
        video_box,
    )
    bob.panel.locator(".jc-panel-open-video").click()  # the same widget again
    expect(bob_page.locator(".jc-video-widget")).to_have_count(1)
    # the page's own membership: Bob's kernel was never asked (he ran nothing)
    expect(bob_page.locator(".jp-InputPrompt").first).to_have_text("[ ]:")

    # --- each plays the other's fake camera -----------------------------------------------
    ada_id = ada_page.evaluate(LOCAL_ID_JS, RIGHT_WIDGET)
    bob_id = bob_page.evaluate(LOCAL_ID_JS, MAIN_WIDGET)
    assert ada_id and bob_id and ada_id != bob_id, (ada_id, bob_id)
    for page, widget, other, who in (
        (ada_page, ada_video, bob_id, "Ada"),
        (bob_page, bob_video, ada_id, "Bob"),
    ):
        plays(page, other, who)
        expect(widget.locator(f".jc-video-tile[data-member-id='{other}']")).to_have_attribute(
            "data-state", "connected"
        )

    # --- Bob mutes from the palette: Ada's participants and tile show it -------------------
    assert bob_page.evaluate(LOCAL_AUDIO_JS, MAIN_WIDGET) is True
    bob.run_command("Toggle Microphone")
    wait_until(lambda: bob_page.evaluate(LOCAL_AUDIO_JS, MAIN_WIDGET) is False, 10, "Bob muted")
    expect(bob_video.locator(".jc-video-mute")).to_have_text("Unmute")
    ada_bob = ada.participant("Bob")
    expect(ada_bob).to_have_attribute("data-audio", "off")
    expect(ada_bob).to_have_attribute("data-video", "on")
    expect(ada_bob).to_contain_text("mic off")
    ada_tile = ada_video.locator(f".jc-video-tile[data-member-id='{bob_id}']")
    expect(ada_tile).to_have_attribute("data-audio", "off")
    bob.run_command("Toggle Camera")
    expect(ada_bob).to_have_attribute("data-video", "off")
    expect(ada_bob).to_contain_text("camera off")
    expect(ada_tile).to_have_attribute("data-video", "off")

    ada_page.screenshot(path=str(artifacts / "e2e-video-widget-ada.png"))
    bob_page.screenshot(path=str(artifacts / "e2e-video-widget-bob.png"))

    # --- and back on ------------------------------------------------------------------------
    bob.run_command("Toggle Microphone")
    bob.run_command("Toggle Camera")
    expect(ada_bob).to_have_attribute("data-audio", "on")
    expect(ada_bob).to_have_attribute("data-video", "on")
    bob_page.screenshot(path=str(ROOT / "artifacts" / "e2e-video-widget-docked.png"))
