"""What a person does in a JupyterLab page with a classroom in it, as Playwright steps.

Notebook 7's page (notebook7_page.py) is a subclass with the same interface, so a flow written
against :class:`NotebookPage` runs in either front-end (see test_board_browser.py).

Board coordinates are the whiteboard's units (1600x900, the canvas' own resolution); the
canvas is scaled by CSS, so mouse positions are mapped through its bounding box. Pixels are
read from the whiteboard's canvas element (ipycanvas composites the layers into it).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import nbformat

from .lab import Lab

RUN_TIMEOUT_MS = 90_000  # a cell that starts a kernel, connects and renders widgets
BOARD_CANVAS = ".jc-whiteboard canvas:first-of-type"  # the ink layer of the browser board
CELLS = ".jp-Notebook .jp-CodeCell"
APP_NAME_JS = "() => JSON.parse(document.getElementById('jupyter-config-data').textContent).appName"
BOARD_OBJECTS_JS = "() => document.querySelector('.jc-board').jcBoard.visibleObjects()"

# Counts pixels within ``r`` of (x, y) whose colour is within ``tol`` of ``rgb`` (opaque).
COUNT_INK_JS = """
([x, y, r, rgb, tol]) => {
  const canvas = document.querySelector('.jc-whiteboard canvas');
  if (!canvas) return -1;
  const data = canvas.getContext('2d').getImageData(Math.round(x) - r, Math.round(y) - r, 2 * r + 1, 2 * r + 1).data;
  let n = 0;
  for (let i = 0; i < data.length; i += 4) {
    if (data[i + 3] > 200 && Math.abs(data[i] - rgb[0]) <= tol && Math.abs(data[i + 1] - rgb[1]) <= tol
        && Math.abs(data[i + 2] - rgb[2]) <= tol) n++;
  }
  return n;
}
"""

# Polls (x, y) every animation frame until ink of colour ``rgb`` shows; stores the wall-clock
# time (ms since the epoch, comparable across pages of one machine) in window.__jcInk[key].
WATCH_INK_JS = """
([key, x, y, r, rgb, tol, timeoutMs]) => {
  window.__jcInk = window.__jcInk || {};
  window.__jcInk[key] = null;
  const canvas = document.querySelector('.jc-whiteboard canvas');
  const ctx = canvas.getContext('2d');
  const started = performance.now();
  const seen = () => {
    const d = ctx.getImageData(Math.round(x) - r, Math.round(y) - r, 2 * r + 1, 2 * r + 1).data;
    for (let i = 0; i < d.length; i += 4) {
      if (d[i + 3] > 200 && Math.abs(d[i] - rgb[0]) <= tol && Math.abs(d[i + 1] - rgb[1]) <= tol
          && Math.abs(d[i + 2] - rgb[2]) <= tol) return true;
    }
    return false;
  };
  const poll = () => {
    const now = performance.now();
    if (seen()) { window.__jcInk[key] = performance.timeOrigin + now; return; }
    if (now - started < timeoutMs) requestAnimationFrame(poll);
  };
  requestAnimationFrame(poll);
}
"""

# Records when the next mousedown reaches the board canvas (the event's own timestamp).
WATCH_PEN_DOWN_JS = """
(key) => {
  window.__jcPen = window.__jcPen || {};
  window.__jcPen[key] = null;
  const canvas = document.querySelector('.jc-whiteboard canvas');
  canvas.addEventListener('mousedown', ev => {
    window.__jcPen[key] = performance.timeOrigin + ev.timeStamp;
  }, { once: true, capture: true });
}
"""

VIDEO_STATE_JS = """
(memberId) => {
  const tile = document.querySelector(`.jc-video-tile[data-member-id="${memberId}"]`);
  const video = tile && tile.querySelector('video');
  if (!video) return null;
  const quality = video.getVideoPlaybackQuality ? video.getVideoPlaybackQuality() : null;
  return {
    state: tile.dataset.state, readyState: video.readyState, videoWidth: video.videoWidth,
    videoHeight: video.videoHeight, currentTime: video.currentTime, paused: video.paused,
    frames: quality ? quality.totalVideoFrames : null, muted: video.muted,
  };
}
"""


def hex_rgb(color: str) -> list[int]:
    color = color.lstrip("#")
    return [int(color[i : i + 2], 16) for i in (0, 2, 4)]


def write_notebook(path: Path, *cells: str) -> None:
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell(source) for source in cells]
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3"}
    nbformat.write(notebook, path)


def classroom_setup_cells(title: str, room_file: str) -> tuple[str, str]:
    """Ada's first cell (creates the classroom ``title``, writes its id to ``room_file``) and
    Bob's (joins it from that file); both leave ``client`` and ``classroom`` defined."""
    ada = f"""\
from jupyter_classroom import Client
from jupyter_classroom.widgets import Classroom
client = Client(name="Ada")
classroom = Classroom.create({title!r}, client=client)
open({room_file!r}, "w").write(classroom.room_id)
classroom"""
    bob = f"""\
from jupyter_classroom import Client
from jupyter_classroom.widgets import Classroom
client = Client(name="Bob")
classroom = Classroom.join(open({room_file!r}).read(), client=client)
classroom"""
    return ada, bob


def wait_until(
    condition: Any, timeout: float, message: str | Callable[[], str], interval: float = 0.1
) -> Any:
    """Polls a Python-side condition (e.g. one that evaluates in a page) with a deadline;
    ``message`` may be a function, to say what was last seen."""
    deadline = time.monotonic() + timeout
    value = condition()
    while not value:
        if time.monotonic() > deadline:
            said = message if isinstance(message, str) else message()
            raise AssertionError(f"timed out after {timeout:.0f} s: {said}")
        time.sleep(interval)
        value = condition()
    return value


class NotebookPage:
    """One browser context with one notebook open in JupyterLab."""

    def __init__(self, page: Any, lab: Lab, notebook: str, artifacts: Path) -> None:
        self.page = page
        self.lab = lab
        self.notebook = notebook
        self.artifacts = artifacts
        self.name = Path(notebook).stem

    # --- JupyterLab ---------------------------------------------------------------------

    def open(self) -> None:
        self.page.goto(self.lab.notebook_url(self.notebook, self.name), timeout=60_000)
        self.page.locator(CELLS).first.wait_for(timeout=60_000)
        self.wait_kernel_idle()
        # More room for the board: fold the file browser away, as one would.
        browser_panel = self.page.locator("#filebrowser")
        if browser_panel.is_visible():
            self.page.locator(".jp-SideBar.jp-mod-left .lm-TabBar-tab").first.click()
            browser_panel.wait_for(state="hidden")

    def wait_kernel_idle(self, timeout_ms: int = RUN_TIMEOUT_MS) -> None:
        """The status bar says the notebook's kernel is connected and idle."""
        self.page.locator(".jp-StatusBar-Widget", has_text=re.compile(r"\| Idle")).first.wait_for(
            timeout=timeout_ms
        )
        self.page.locator('.jp-Notebook-ExecutionIndicator[data-status="idle"]').first.wait_for(
            timeout=timeout_ms
        )

    def app_name(self) -> str:
        """The page config's ``appName``: "JupyterLab" here, "Jupyter Notebook" in Notebook 7."""
        return str(self.page.evaluate(APP_NAME_JS))

    def is_jupyterlab_shell(self) -> bool:
        """JupyterLab's shell (dock panel and status bar) is on this page."""
        return bool(self.page.locator("#jp-main-dock-panel, #jp-main-statusbar").count())

    # --- cells ------------------------------------------------------------------------

    def cell(self, index: int) -> Any:
        return self.page.locator(CELLS).nth(index)

    def prompt(self, index: int) -> str:
        return (self.cell(index).locator(".jp-InputArea-prompt").text_content() or "").strip()

    def _press_run(self, index: int) -> None:
        self.cell(index).locator(".jp-InputArea-editor").click()
        self.page.keyboard.press("Shift+Enter")

    def start_cell(self, index: int) -> None:
        """Run cell ``index`` without waiting for it to end (``[*]`` while it runs)."""
        self._press_run(index)
        wait_until(lambda: self.prompt(index) == "[*]:", 10, f"{self.name}: cell {index} runs")

    def run_cell(self, index: int, timeout: float = RUN_TIMEOUT_MS / 1000) -> None:
        """Run cell ``index`` and wait for it to end; its output must have no error.

        A kernel that has just started may drop the very first request: if the cell does not
        even start within a few seconds, press Shift+Enter again (as a person would).
        """
        before = self.prompt(index)
        started = False
        for _ in range(3):
            self._press_run(index)
            try:
                wait_until(lambda: self.prompt(index) != before, 10, f"cell {index} starts")
                started = True
                break
            except AssertionError:
                continue
        assert started, f"{self.notebook}: cell {index} never started"
        wait_until(
            lambda: (
                (p := self.prompt(index)) not in ("[*]:", "[ ]:", "", before) and p.startswith("[")
            ),
            timeout,
            f"{self.name}: cell {index} ends",
        )
        errors = self.cell(index).locator(
            ".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']"
        )
        assert errors.count() == 0, errors.first.text_content()

    def run_first_code_cell(self) -> None:
        """Run the first code cell (starting the kernel if need be) and wait until it is idle."""
        self.run_cell(0)
        self.wait_kernel_idle()

    def reload(self) -> None:
        self.page.reload(timeout=60_000)
        self.page.locator(CELLS).first.wait_for(timeout=60_000)
        self.wait_kernel_idle()
        browser_panel = self.page.locator("#filebrowser")
        if browser_panel.is_visible():
            self.page.locator(".jp-SideBar.jp-mod-left .lm-TabBar-tab").first.click()

    def screenshot(self, step: str, target: str | None = None) -> Path:
        """A viewport screenshot (JupyterLab scrolls inside the page), ``target`` in view."""
        if target is not None and self.page.locator(target).count():
            self.page.locator(target).first.evaluate("el => el.scrollIntoView({block: 'start'})")
            self.page.wait_for_timeout(200)
        path = self.artifacts / f"e2e-{step}-{self.name}.png"
        self.page.screenshot(path=str(path))
        return path

    # --- the whiteboard ----------------------------------------------------------------

    @property
    def canvas(self) -> Any:
        return self.page.locator(BOARD_CANVAS)

    def show_board(self) -> dict[str, float]:
        """Scrolls the board fully into view; returns its bounding box."""
        self.canvas.wait_for()
        self.canvas.evaluate("el => el.scrollIntoView({block: 'center'})")
        self.page.wait_for_timeout(150)
        box = self.canvas.bounding_box()
        assert box is not None and box["width"] > 100, box
        viewport = self.page.viewport_size
        assert box["y"] >= 0 and box["y"] + box["height"] <= viewport["height"], (box, viewport)
        return dict(box)

    def to_screen(self, box: dict[str, float], x: float, y: float) -> tuple[float, float]:
        width, height = self.canvas.evaluate("el => [el.width, el.height]")
        return box["x"] + x * box["width"] / width, box["y"] + y * box["height"] / height

    def draw(self, points: list[tuple[float, float]], steps: int = 8) -> None:
        """Press the mouse at the first point, drag through the others (20 ms apart), release."""
        self.drag(points, steps=steps, pause_ms=20)

    def drag(self, points: list[tuple[float, float]], steps: int = 6, pause_ms: int = 0) -> None:
        """Press the mouse at the first board point, drag through the others, release."""
        box = self.show_board()
        mouse = self.page.mouse
        mouse.move(*self.to_screen(box, *points[0]))
        mouse.down()
        for x, y in points[1:]:
            mouse.move(*self.to_screen(box, x, y), steps=steps)
            if pause_ms:
                self.page.wait_for_timeout(pause_ms)
        mouse.up()

    def ink(self, x: float, y: float, color: str, r: int = 3, tol: int = 48) -> int:
        """How many pixels of ``color`` are within ``r`` of board point (x, y)."""
        return int(self.page.evaluate(COUNT_INK_JS, [x, y, r, hex_rgb(color), tol]))

    def board_png(self) -> bytes:
        import base64

        url = self.canvas.evaluate("el => el.toDataURL('image/png')")
        return base64.b64decode(url.split(",", 1)[1])

    def choose_color(self, color: str) -> None:
        self.page.locator(".jc-whiteboard input[type=color]").fill(color)

    # The browser board's toolbar and text box (labextension/src/board/toolbar.ts, view.ts).

    def wait_board_attached(self, timeout_ms: int = 90_000) -> None:
        self.page.locator(".jc-board[data-state='attached']").wait_for(timeout=timeout_ms)

    def board_state(self) -> str | None:
        return self.page.locator(".jc-board").get_attribute("data-state")

    def board_status(self) -> Any:
        return self.page.locator(".jc-board-status")

    def choose_tool(self, tool: str) -> None:
        self.page.locator(f".jc-board-tool[data-tool='{tool}']").click()

    def choose_width(self, width: int) -> None:
        self.page.locator(".jc-board .jc-board-width").select_option(str(width))

    def click_board(self, x: float, y: float) -> None:
        box = self.show_board()
        self.page.mouse.click(*self.to_screen(box, x, y))

    def write_text(self, x: float, y: float, text: str) -> None:
        """With the text tool chosen: click at board point (x, y), type ``text``, press Enter."""
        self.click_board(x, y)
        box = self.page.locator(".jc-board-text-input")
        box.wait_for()
        box.fill(text)
        box.press("Enter")

    def undo(self) -> None:
        self.page.locator(".jc-board-undo").click()

    def toggle_lock(self) -> None:
        self.page.locator(".jc-board-lock").click()

    def board_objects(self) -> list[dict[str, Any]]:
        """What the browser board shows, as its objects (the board module's visible set)."""
        return list(self.page.evaluate(BOARD_OBJECTS_JS))

    def shows_ink(self, x: float, y: float, color: str, r: int = 3) -> bool:
        return self.ink(x, y, color, r=r) > 0

    def modes(self) -> dict[str, bool]:
        """Which views rendered as the extension's browser views (not the kernel-drawn ones)."""
        page = self.page
        return {
            "board": page.locator(".jc-board[data-mode='browser']").count() == 1,
            "whiteboard": page.locator(".jc-whiteboard.jc-whiteboard-browser").count() == 1,
            "chat": page.locator(".jc-chat.jc-chat-browser").count() == 1,
            "participants": page.locator(".jc-participants.jc-participants-browser").count() == 1,
            "no kernel-drawn board": page.locator(".jc-whiteboard-kernel").count() == 0,
        }

    # --- chat -------------------------------------------------------------------------

    def send_chat(self, text: str, press_enter: bool = False) -> None:
        chat = self.page.locator(".jc-chat")
        box = chat.locator("input[type=text]")
        box.fill(text)
        if press_enter:
            box.press("Enter")
        else:
            chat.locator("button", has_text="Send").click()

    def chat_box(self) -> Any:
        return self.page.locator(".jc-chat input[type=text]")

    def chat_message(self, text: str) -> Any:
        return self.page.locator(".jc-chat .jc-chat-message", has_text=text)

    def chat_texts(self) -> list[str]:
        return [t.strip() for t in self.page.locator(".jc-chat .jc-chat-message").all_inner_texts()]

    def participants(self) -> list[str]:
        return [
            t.strip()
            for t in self.page.locator(".jc-participants .jc-participant").all_inner_texts()
        ]

    # --- video ------------------------------------------------------------------------

    def local_member_id(self) -> str:
        self.page.locator(".jc-video-local[data-member-id]").wait_for(timeout=60_000)
        return str(self.page.locator(".jc-video-local").get_attribute("data-member-id"))

    def video_state(self, member_id: str) -> dict[str, Any] | None:
        state = self.page.evaluate(VIDEO_STATE_JS, member_id)
        return dict(state) if state else None
