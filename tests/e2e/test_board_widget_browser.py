"""The board as a JupyterLab main-area widget, opened from the classroom panel, with no kernel.

Ada (the teacher) runs a notebook whose `Classroom` creates a room and shows its board in the
cell. Bob (a student) has a notebook open (he runs nothing): he joins the room from the
panel's lobby and presses "Open board": the room's board opens in the main area, split to the
right of his notebook, on the panel's membership (the page joined the room itself; no kernel
and no ticket). Pressing it again (or the palette's "Open the Board") brings the same widget
back, not a second one. Bob picks a colour and draws with the mouse: Ada's notebook board
shows his stroke (as pixels, and as an object of hers); Ada draws in her cell's board and
Bob's widget shows her ink. When Bob's window gets smaller the board fits its area at 16:9.
docs/board-docked.png is Bob's page: the notebook and the board docked beside it.

In Notebook 7 (one main widget a page) the board opens in the right sidebar beside the
notebook, and draws there.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from .classroom_page import CELLS, NotebookPage, hex_rgb, wait_until, write_notebook
from .lab import ROOT, Lab
from .notebook7_page import Notebook7Page
from .test_panel_browser import PANEL, PanelPage, write_display_name

pytestmark = pytest.mark.timeout(600)

TITLE = "Docked board"
ADA_PEN = "#1f3a93"  # the board's default colour
BOB_PEN = "#f58231"
WIDGET = "#jp-main-dock-panel .jc-board-widget"
WIDGET_INK = f"{WIDGET} canvas.jc-board-ink"
SETUP_ADA = f"""\
from jupyter_classroom import Client
from jupyter_classroom.widgets import Classroom
client = Client(name="Ada")
classroom = Classroom.create({TITLE!r}, client=client)
classroom"""
STUDENT_CELL = "x = 1  # Bob's own work; he runs nothing for the classroom"

# Pixels of ``rgb`` (within ``tol``) within ``r`` of board point (x, y) of the canvas ``sel``.
COUNT_INK_JS = """
([sel, x, y, r, rgb, tol]) => {
  const canvas = document.querySelector(sel);
  if (!canvas) return -1;
  const d = canvas.getContext('2d').getImageData(Math.round(x) - r, Math.round(y) - r, 2 * r + 1, 2 * r + 1).data;
  let n = 0;
  for (let i = 0; i < d.length; i += 4) {
    if (d[i + 3] > 200 && Math.abs(d[i] - rgb[0]) <= tol && Math.abs(d[i + 1] - rgb[1]) <= tol
        && Math.abs(d[i + 2] - rgb[2]) <= tol) n++;
  }
  return n;
}
"""
WIDGET_OBJECTS_JS = f"() => document.querySelector({WIDGET!r}).jcBoard.visibleObjects()"
RIGHT_OBJECTS_JS = (
    "() => document.querySelector('#jp-right-stack .jc-board-widget').jcBoard.visibleObjects()"
)


def widget_ink(page: Any, x: float, y: float, color: str, r: int = 3) -> int:
    return int(page.evaluate(COUNT_INK_JS, [WIDGET_INK, x, y, r, hex_rgb(color), 48]))


def draw_on_widget(page: Any, points: list[tuple[float, float]]) -> None:
    """Press the mouse at the first board point of the widget's board, drag, release."""
    canvas = page.locator(WIDGET_INK)
    box = canvas.bounding_box()
    assert box is not None and box["width"] > 100, box
    width, height = canvas.evaluate("el => [el.width, el.height]")

    def screen(x: float, y: float) -> tuple[float, float]:
        return box["x"] + x * box["width"] / width, box["y"] + y * box["height"] / height

    mouse = page.mouse
    mouse.move(*screen(*points[0]))
    mouse.down()
    for x, y in points[1:]:
        mouse.move(*screen(x, y), steps=8)
        page.wait_for_timeout(20)
    mouse.up()


def test_student_docks_the_board_beside_a_notebook(
    new_page: Any, lab: Lab, artifacts: Path, playwright_api: Any
) -> None:
    expect = playwright_api.expect
    expect.set_options(timeout=20_000)
    write_notebook(lab.root_dir / "docked-teacher.ipynb", SETUP_ADA)
    write_notebook(lab.root_dir / "docked-student.ipynb", STUDENT_CELL)

    # --- Ada: the room and its board in her notebook's cell ------------------------------
    write_display_name(lab, "Ada")
    ada = NotebookPage(new_page("docked-ada"), lab, "docked-teacher.ipynb", artifacts)
    ada.open()
    ada.run_first_code_cell()
    ada.wait_board_attached()

    # --- Bob: his notebook open, he joins from the panel and opens the board -------------
    write_display_name(lab, "Bob")
    bob = NotebookPage(new_page("docked-bob"), lab, "docked-student.ipynb", artifacts)
    bob.open()
    panel = PanelPage(bob.page, lab, "bob")
    bob.page.locator(f"{PANEL}[data-connection='connected']").wait_for(
        state="attached", timeout=30_000
    )
    panel.show_panel()
    listed = panel.panel.locator(".jc-panel-room", has_text=TITLE)
    listed.locator(".jc-panel-room-join").click()
    expect(panel.panel).to_have_attribute("data-state", "room")
    expect(panel.participant("Ada")).to_be_visible()
    expect(panel.participant("Bob")).to_contain_text("(you)")
    assert bob.page.locator(".jc-board").count() == 0  # no board in his page yet

    panel.panel.locator(".jc-panel-open-board").click()
    widget = bob.page.locator(WIDGET)
    expect(widget).to_be_visible()
    expect(widget).to_have_attribute("data-state", "attached")
    tab = bob.page.locator("#jp-main-dock-panel .lm-TabBar-tab", has_text=f"Board — {TITLE}")
    expect(tab).to_have_count(1)
    # split to the right of the notebook: both in view, side by side
    notebook_box = bob.page.locator("#jp-main-dock-panel .jp-NotebookPanel").bounding_box()
    widget_box = widget.bounding_box()
    assert notebook_box and widget_box, (notebook_box, widget_box)
    assert notebook_box["x"] + notebook_box["width"] <= widget_box["x"] + 1, (
        notebook_box,
        widget_box,
    )
    assert abs(notebook_box["y"] - widget_box["y"]) < 60, (notebook_box, widget_box)
    # the same widget again, from the panel and from the palette
    panel.panel.locator(".jc-panel-open-board").click()
    panel.run_command("Open the Board")
    expect(tab).to_have_count(1)
    expect(bob.page.locator(".jc-board-widget")).to_have_count(1)
    # the page's own membership: no ticket asked of any kernel (Bob runs nothing)
    assert bob.prompt(0) == "[ ]:", bob.prompt(0)

    # --- Bob draws with the mouse: Ada's cell board shows it -------------------------------
    bob.page.locator(f"{WIDGET} input[type=color]").fill(BOB_PEN)
    bob_stroke = [(300.0, 300.0), (500.0, 300.0), (800.0, 320.0)]
    draw_on_widget(bob.page, bob_stroke)
    wait_until(lambda: widget_ink(bob.page, 500, 300, BOB_PEN) > 0, 5, "Bob's own ink")
    ada.show_board()
    wait_until(lambda: ada.shows_ink(500, 300, BOB_PEN), 15, "Bob's stroke on Ada's board")
    strokes = [o for o in ada.board_objects() if o["type"] == "stroke"]
    assert [s["color"] for s in strokes] == [BOB_PEN], strokes
    assert strokes[0]["points"][0] == [300, 300], strokes[0]["points"][:3]

    # --- Ada draws in her cell: Bob's widget shows her ink ---------------------------------
    ada.draw([(300.0, 600.0), (600.0, 600.0), (900.0, 620.0)])
    wait_until(lambda: widget_ink(bob.page, 600, 600, ADA_PEN) > 0, 15, "Ada's ink on Bob's widget")
    objects = bob.page.evaluate(WIDGET_OBJECTS_JS)
    assert [o["color"] for o in objects if o["type"] == "stroke"] == [BOB_PEN, ADA_PEN], objects
    expect(bob.page.locator(f"{WIDGET} .jc-board-status")).to_have_attribute("data-code", "ready")

    bob.page.screenshot(path=str(ROOT / "docs" / "board-docked.png"))
    bob.page.screenshot(path=str(artifacts / "e2e-board-docked-bob.png"))
    ada.screenshot("board-docked-ada", ".jc-whiteboard")

    # --- a smaller window: the board fits its area at 16:9 ---------------------------------
    bob.page.set_viewport_size({"width": 1100, "height": 700})

    def fitted() -> bool:
        area = widget.bounding_box()
        stage = bob.page.locator(f"{WIDGET} .jc-board-stage").bounding_box()
        return bool(
            area
            and stage
            and stage["width"] <= area["width"] + 1
            and stage["y"] + stage["height"] <= area["y"] + area["height"] + 1
            and abs(stage["width"] / stage["height"] - 16 / 9) < 0.05
        )

    wait_until(fitted, 5, "the board fits the smaller area at 16:9")
    # still drawn after the resize (the layers keep their 1600x900 resolution)
    wait_until(lambda: widget_ink(bob.page, 600, 600, ADA_PEN) > 0, 5, "Ada's ink kept")

    # --- closing the tab closes the view only: Bob is still in the room -------------------
    tab.locator(".lm-TabBar-tabCloseIcon").click()
    expect(bob.page.locator(".jc-board-widget")).to_have_count(0)
    expect(panel.panel).to_have_attribute("data-state", "room")
    expect(ada.page.locator(".jc-participants .jc-participant", has_text="Bob")).to_have_count(1)
    panel.panel.locator(".jc-panel-open-board").click()
    expect(widget).to_have_attribute("data-state", "attached")
    wait_until(lambda: widget_ink(bob.page, 500, 300, BOB_PEN) > 0, 10, "the board comes back")
    assert re.search(r"Board — ", tab.text_content() or "")


def test_board_widget_in_notebook7(new_page: Any, lab: Lab, playwright_api: Any) -> None:
    """Notebook 7's notebook page holds one main widget: the board opens in its right
    sidebar, beside the notebook, and draws there on the panel's membership."""
    expect = playwright_api.expect
    expect.set_options(timeout=20_000)
    write_notebook(lab.root_dir / "docked-nora.ipynb", STUDENT_CELL)
    write_display_name(lab, "Nora")
    page = new_page("docked-notebook7")
    nora = Notebook7Page(page, lab, "docked-nora.ipynb", ROOT / "artifacts")
    nora.open()
    panel = PanelPage(page, lab, "nora")
    page.locator(f"{PANEL}[data-connection='connected']").wait_for(state="attached", timeout=30_000)
    panel.run_command("Open the Classroom Panel")
    page.locator(PANEL).wait_for(state="visible")
    panel.create_room("Notebook 7 board")
    panel.run_command("Open the Board")
    widget = page.locator("#jp-right-stack .jc-board-widget")
    expect(widget).to_be_visible()
    expect(widget).to_have_attribute("data-state", "attached")
    expect(page.locator(f"#main-panel {CELLS}").first).to_be_visible()  # the notebook stays
    box = widget.locator("canvas.jc-board-ink").bounding_box()
    assert box is not None and box["width"] > 100, box
    page.mouse.move(box["x"] + box["width"] * 0.2, box["y"] + box["height"] * 0.5)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.6, box["y"] + box["height"] * 0.5, steps=8)
    page.mouse.up()
    wait_until(
        lambda: len(page.evaluate(RIGHT_OBJECTS_JS)) == 1,
        10,
        "Nora's stroke on her board",
    )
    page.screenshot(path=str(ROOT / "artifacts" / "e2e-board-widget-notebook7.png"))
