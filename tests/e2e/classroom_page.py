"""What a person does in a JupyterLab page with a classroom in it, as Playwright steps.

Board coordinates are the whiteboard's units (1600x900, the canvas' own resolution); the
canvas is scaled by CSS, so mouse positions are mapped through its bounding box. Pixels are
read from the whiteboard's canvas element (ipycanvas composites the layers into it).
"""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import nbformat

from .lab import Lab

RUN_TIMEOUT_MS = 90_000  # a cell that starts a kernel, connects and renders widgets
BOARD_CANVAS = ".jc-whiteboard canvas:first-of-type"  # the ink layer of the browser board

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


def wait_until(condition: Any, timeout: float, message: str, interval: float = 0.1) -> Any:
    """Polls a Python-side condition (e.g. one that evaluates in a page) with a deadline."""
    deadline = time.monotonic() + timeout
    value = condition()
    while not value:
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s: {message}")
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
        self.page.locator(".jp-Notebook .jp-CodeCell").first.wait_for(timeout=60_000)
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

    def run_first_code_cell(self) -> None:
        """Click into the first code cell and press Shift+Enter; wait for the kernel to finish.

        A kernel that has just started may drop the very first request: if the cell does not
        even start within a few seconds, press Shift+Enter again (as a person would).
        """
        cell = self.page.locator(".jp-Notebook .jp-CodeCell").first
        prompt = cell.locator(".jp-InputArea-prompt")
        started = False
        for _ in range(3):
            cell.locator(".jp-InputArea-editor").click()
            self.page.keyboard.press("Shift+Enter")
            try:
                wait_until(
                    lambda: (prompt.text_content() or "").strip() != "[ ]:", 10, "cell starts"
                )
                started = True
                break
            except AssertionError:
                continue
        assert started, f"{self.notebook}: the first cell never started"
        wait_until(
            lambda: (prompt.text_content() or "").strip() not in ("[ ]:", "[*]:", ""),
            RUN_TIMEOUT_MS / 1000,
            f"{self.notebook}: first cell to finish",
        )
        self.wait_kernel_idle()
        errors = cell.locator(
            ".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']"
        )
        assert errors.count() == 0, errors.first.text_content()

    def reload(self) -> None:
        self.page.reload(timeout=60_000)
        self.page.locator(".jp-Notebook .jp-CodeCell").first.wait_for(timeout=60_000)
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

    # --- chat -------------------------------------------------------------------------

    def send_chat(self, text: str, press_enter: bool = False) -> None:
        chat = self.page.locator(".jc-chat")
        box = chat.locator("input[type=text]")
        box.fill(text)
        if press_enter:
            box.press("Enter")
        else:
            chat.locator("button", has_text="Send").click()

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
