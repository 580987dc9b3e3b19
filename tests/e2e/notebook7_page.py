"""What a person does in a Notebook 7 page (``/notebooks/<path>``) with a classroom in it.

Notebook 7 is served by the same Jupyter server as JupyterLab and loads the same extension,
but its page differs: one document per page, no status bar (the kernel's state is the
execution indicator in the notebook toolbar), no side panels to fold away. The board and chat
helpers (canvas mapping, pixel reads) are JupyterLab's, from classroom_page.py.
"""

from __future__ import annotations

from typing import Any

from .classroom_page import RUN_TIMEOUT_MS, NotebookPage, wait_until

NOTEBOOK7_APP_NAME = "Jupyter Notebook"  # page config `appName` (JupyterLab says "JupyterLab")
CELLS = ".jp-Notebook .jp-CodeCell"
APP_NAME_JS = "() => JSON.parse(document.getElementById('jupyter-config-data').textContent).appName"


class Notebook7Page(NotebookPage):
    """One browser context with one notebook open in Notebook 7's own UI."""

    def url(self) -> str:
        return f"{self.lab.url}notebooks/{self.notebook}?token={self.lab.token}"

    def open(self) -> None:
        self.page.goto(self.url(), timeout=60_000)
        self.page.locator(CELLS).first.wait_for(timeout=60_000)
        self.wait_kernel_idle()
        self.page.wait_for_timeout(500)
        self.accept_kernel_dialog()

    def accept_kernel_dialog(self) -> None:
        """On a loaded machine Notebook 7 may ask "Select Kernel" for a notebook whose kernel
        is starting: keep the proposed Python 3, as a person would."""
        dialog = self.page.locator(".jp-Dialog", has_text="Select Kernel")
        if dialog.count() and dialog.first.is_visible():
            dialog.locator(".jp-mod-accept").first.click()
            dialog.first.wait_for(state="detached")
            self.wait_kernel_idle()

    def app_name(self) -> str:
        return str(self.page.evaluate(APP_NAME_JS))

    def is_jupyterlab_shell(self) -> bool:
        """JupyterLab's shell (dock panel and status bar) is on this page."""
        return bool(self.page.locator("#jp-main-dock-panel, #jp-main-statusbar").count())

    def wait_kernel_idle(self, timeout_ms: int = RUN_TIMEOUT_MS) -> None:
        """The notebook toolbar's execution indicator says the kernel is idle."""
        self.page.locator('.jp-Notebook-ExecutionIndicator[data-status="idle"]').first.wait_for(
            timeout=timeout_ms
        )

    # --- cells ------------------------------------------------------------------------

    def cell(self, index: int) -> Any:
        return self.page.locator(CELLS).nth(index)

    def prompt(self, index: int) -> str:
        return (self.cell(index).locator(".jp-InputArea-prompt").text_content() or "").strip()

    def _press_run(self, index: int) -> None:
        self.accept_kernel_dialog()
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
        for _ in range(3):
            self._press_run(index)
            try:
                wait_until(lambda: self.prompt(index) != before, 10, f"cell {index} starts")
                break
            except AssertionError:
                continue
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

    # --- the classroom ----------------------------------------------------------------

    def wait_attached(self, timeout_ms: int = 90_000) -> None:
        """Board, chat and participants are on the page's classroom socket."""
        for view in (".jc-board", ".jc-chat", ".jc-participants"):
            self.page.locator(f"{view}[data-state='attached']").wait_for(timeout=timeout_ms)

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

    def shows_ink(self, x: float, y: float, color: str, r: int = 3) -> bool:
        return self.ink(x, y, color, r=r) > 0

    def choose_color(self, color: str) -> None:
        self.page.locator(".jc-board .jc-board-color").fill(color)

    def chat_box(self) -> Any:
        return self.page.locator(".jc-chat input[type=text]")

    def chat_message(self, text: str) -> Any:
        return self.page.locator(".jc-chat .jc-chat-message", has_text=text)
