"""The automatic fallback in Chromium: JupyterLab with our extension disabled.

The extension is installed where the server runs (so the kernel starts the browser views),
but this JupyterLab does not load it, as VS Code, Colab or Notebook 6 would not: the views
show "Failed to load model class". A few seconds after the classroom is shown, its board,
chat and participants become kernel-drawn in place, each with a line saying why; the person
draws on the kernel board with the mouse and chats, and the kernel's `board.objects` and
`chat.messages` have it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from jupyter_classroom.names import LABEXTENSION

from .classroom_page import NotebookPage, classroom_setup_cells, wait_until, write_notebook
from .lab import Lab, start_lab, stop_lab

pytestmark = pytest.mark.timeout(600)

ROOM_FILE = "fallback-room.txt"
STATE_FILE = "fallback-state.json"
NOTE = "could not load the classroom's browser board; the kernel draws it"
PEN = "#1f3a93"  # the kernel board's default colour
SETUP, _ = classroom_setup_cells("Fallback e2e", ROOM_FILE)
DUMP = f"""\
import json
json.dump({{
    "modes": [classroom.mode, classroom.board.mode, classroom.chat.mode,
              classroom.participants.mode],
    "objects": classroom.board.objects,
    "messages": [m["text"] for m in classroom.chat.messages],
}}, open({STATE_FILE!r}, "w"))"""


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory, artifacts: Path) -> Iterator[Lab]:
    """A JupyterLab that does not load the jupyter-live-classroom extension (ipycanvas it does)."""
    workdir = tmp_path_factory.mktemp("e2e-lab-disabled")
    server = start_lab(workdir, artifacts / "e2e-jupyterlab-disabled.log", disabled=(LABEXTENSION,))
    try:
        yield server
    finally:
        stop_lab(server)


def test_a_front_end_without_the_extension_gets_the_kernel_drawn_classroom(
    lab: Lab, new_page: Any, artifacts: Path
) -> None:
    write_notebook(lab.root_dir / "fallback.ipynb", SETUP, DUMP)
    person = NotebookPage(new_page("fallback"), lab, "fallback.ipynb", artifacts)
    person.open()
    person.run_first_code_cell()
    page = person.page

    # the browser views cannot load here; a few seconds later the kernel draws instead
    page.locator(".jc-fallback-note", has_text=NOTE).wait_for(timeout=60_000)
    for what in ("chat", "participants list"):
        page.locator(".jc-fallback-note", has_text=f"browser {what};").wait_for(timeout=30_000)
    page.locator(".jc-whiteboard-kernel canvas").first.wait_for(timeout=30_000)
    page.locator(".jc-fallback-note", has_text="Video needs the jupyter-live-classroom").wait_for(
        timeout=30_000
    )
    assert page.locator(".jc-board").count() == 0  # no browser board on this page

    # the person draws with the mouse; the kernel paints the ink back onto the canvas
    person.draw([(300, 300), (500, 400), (700, 300)])
    wait_until(lambda: person.ink(500, 400, PEN) > 0, 30, "the kernel paints the stroke")
    # ... and chats through the kernel-drawn chat
    chat = page.locator(".jc-chat input[type=text]")
    chat.fill("hello from the fallback")
    chat.press("Enter")
    page.locator(".jc-chat .jc-chat-message", has_text="hello from the fallback").wait_for(
        timeout=30_000
    )
    person.screenshot("fallback", ".jc-whiteboard")

    person.run_cell(1)
    state = json.loads((lab.root_dir / STATE_FILE).read_text())
    assert state["modes"] == ["kernel"] * 4
    strokes = [o for o in state["objects"] if o["type"] == "stroke"]
    assert len(strokes) == 1 and len(strokes[0]["points"]) > 2, state["objects"]
    assert state["messages"] == ["hello from the fallback"]
