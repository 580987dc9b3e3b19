"""What a person does in a Notebook 7 page (``/notebooks/<path>``) with a classroom in it.

Notebook 7 is served by the same Jupyter server as JupyterLab and loads the same extension,
but its page differs: one document per page, no status bar (the kernel's state is the
execution indicator in the notebook toolbar), no side panels to fold away, and on a loaded
machine a "Select Kernel" dialog may come up. Everything else (cells, board, chat) is the same
interface as JupyterLab's page, from classroom_page.py.
"""

from __future__ import annotations

from .classroom_page import CELLS, RUN_TIMEOUT_MS, NotebookPage

NOTEBOOK7_APP_NAME = "Jupyter Notebook"  # page config `appName` (JupyterLab says "JupyterLab")


class Notebook7Page(NotebookPage):
    """One browser context with one notebook open in Notebook 7's own UI."""

    def url(self) -> str:
        return f"{self.lab.url}notebooks/{self.notebook}?token={self.lab.token}"

    def open(self) -> None:
        self.page.goto(self.url(), timeout=60_000)
        self._wait_loaded()

    def reload(self) -> None:
        self.page.reload(timeout=60_000)
        self._wait_loaded()

    def _wait_loaded(self) -> None:
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

    def wait_kernel_idle(self, timeout_ms: int = RUN_TIMEOUT_MS) -> None:
        """The notebook toolbar's execution indicator says the kernel is idle."""
        self.page.locator('.jp-Notebook-ExecutionIndicator[data-status="idle"]').first.wait_for(
            timeout=timeout_ms
        )

    def _press_run(self, index: int) -> None:
        self.accept_kernel_dialog()
        super()._press_run(index)
