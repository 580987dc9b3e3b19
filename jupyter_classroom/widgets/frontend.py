"""What the kernel knows about the browser side: is our JupyterLab extension there, and the
ticket service through which a browser view becomes the kernel's member on its own socket.

The extension is looked up where Jupyter looks for prebuilt extensions
(``jupyter_core.paths.jupyter_path("labextensions")``), which holds it both in an editable
install and in an installed wheel (``share/jupyter/labextensions/jupyter-live-classroom``).

That the extension is installed where the server runs does not mean the front-end showing
the notebook loads it (VS Code, Colab, classic Notebook 6, JupyterLab with the extension
disabled show "Failed to load model class"). :class:`BrowserFallback` finds that out from
the views themselves and puts a kernel-drawn widget in place of the browser one.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ipywidgets import HTML, DOMWidget, VBox, Widget
from traitlets import Unicode

from .._version import __version__
from ..client import Client
from ..names import BOARD_MODE_ENV, LABEXTENSION, WIDGET_MODULE
from ..protocol import Event
from ._runtime import describe, submit

MODULE = WIDGET_MODULE
MODULE_VERSION = f"^{__version__}"

# How long a browser view has to say it loaded, counted from when the kernel is free to read
# its messages after the widget was shown; then how long queued messages get to arrive.
VIEW_GRACE = 5.0
VIEW_SETTLE = 0.5
# What a view sends that only a loaded view of ours sends: the board's and panels' `rendered`
# (page/view-link, board/view) and any view's `ticket_request` (kernel-ticket.ts).
VIEW_SIGNS = frozenset({"rendered", "ticket_request"})


def labextension_dirs() -> list[Path]:
    from jupyter_core.paths import jupyter_path

    return [Path(p) / LABEXTENSION for p in jupyter_path("labextensions")]


def labextension_installed() -> bool:
    """Whether JupyterLab / Notebook 7 served from this environment has our extension."""
    for folder in labextension_dirs():
        try:
            package = json.loads((folder / "package.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if package.get("name") == LABEXTENSION and package.get("jupyterlab", {}).get("_build"):
            return True
    return False


def board_mode(requested: str | None = None) -> str:
    """``"browser"`` (the extension draws the board) or ``"kernel"`` (the kernel does)."""
    mode = requested or os.environ.get(BOARD_MODE_ENV) or ""
    if mode in ("browser", "kernel"):
        return mode
    if mode:
        raise ValueError(f"board mode is 'browser' or 'kernel', not {mode!r}")
    return "browser" if labextension_installed() else "kernel"


def serve_tickets(widget: Widget, client: Client, room_id: str) -> None:
    """Answer the widget's views' ``ticket_request`` messages with a one-time ``room:ticket``.

    The reply echoes the view's ``request_id``: several views of one widget (a notebook open
    twice, a reload) tell their replies apart.
    """

    def on_message(_: Any, content: dict[str, Any], buffers: list[Any]) -> None:
        if not isinstance(content, dict) or content.get("type") != "ticket_request":
            return
        reply = {"request_id": content["request_id"]} if "request_id" in content else {}
        submit(
            client,
            client.connection.request(Event.ROOM_TICKET, {"room_id": room_id}),
            on_done=lambda ack: widget.send({"type": "ticket", "ticket": ack["ticket"], **reply}),
            on_error=lambda e: widget.send(
                {"type": "ticket_error", "message": describe(e), **reply}
            ),
        )

    widget.on_msg(on_message)


class PageSocketView(DOMWidget):
    """A widget whose browser view runs on the page's socket; the kernel only hands it tickets.

    The subclass names its model and view (``_model_name``, ``_view_name``). It may also
    derive from another ``DOMWidget`` (put this class first so its module traits win).
    """

    _model_module = Unicode(MODULE).tag(sync=True)
    _view_module = Unicode(MODULE).tag(sync=True)
    _model_module_version = Unicode(MODULE_VERSION).tag(sync=True)
    _view_module_version = Unicode(MODULE_VERSION).tag(sync=True)

    room_id = Unicode("").tag(sync=True)
    member_id = Unicode("").tag(sync=True)
    socket_path = Unicode("").tag(sync=True)

    def __init__(self, client: Client, room_id: str, **kwargs: Any) -> None:
        room = client.connection.rooms[room_id]
        super().__init__(
            room_id=room_id,
            member_id=room.you["id"],
            socket_path=client.connection.socket_path,
            **kwargs,
        )
        serve_tickets(self, client, room_id)


class ViewWatch:
    """Whether a front-end loaded a widget's browser view; calls ``missing`` once if none did.

    :meth:`start` (when the widget is shown) counts :data:`VIEW_GRACE` from when the kernel
    is next free: it schedules on the running event loop (the kernel's), which a cell holds
    up, and a view's messages wait in the kernel's shell queue behind that cell. When the
    grace is over it looks again :data:`VIEW_SETTLE` later, and again as long as the loop was
    held up meanwhile (a cell ran), so messages that queued behind cells are read first.
    """

    def __init__(self, view: Widget, missing: Callable[[], None]) -> None:
        self.view = view
        self.loaded = False
        self._missing = missing
        self._started = False
        self._finished = False
        view.on_msg(self._on_view_message)

    def _on_view_message(self, _: Any, content: Any, buffers: list[Any]) -> None:
        if isinstance(content, dict) and content.get("type") in VIEW_SIGNS:
            self.loaded = True

    def start(self) -> None:
        if self._started or self.loaded:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return  # no event loop here (plain Python): no front-end to wait for either
        self._started = True
        # call_soon runs once the cell that showed the widget has ended
        loop.call_soon(lambda: loop.call_later(VIEW_GRACE, self._look_again, loop))

    def _look_again(self, loop: asyncio.AbstractEventLoop) -> None:
        if not self._settled():
            due = loop.time() + VIEW_SETTLE
            loop.call_later(VIEW_SETTLE, self._decide, loop, due)

    def _decide(self, loop: asyncio.AbstractEventLoop, due: float) -> None:
        if self._settled():
            return
        if loop.time() > due + VIEW_SETTLE:  # a cell held the loop: its queue goes first
            self._look_again(loop)
            return
        self._finished = True
        self._missing()

    def _settled(self) -> bool:
        return self.loaded or self._finished or self.view.comm is None


class BrowserFallback(VBox):
    """A box showing one browser view, which puts a kernel-drawn widget in its place where
    the front-end cannot load the view.

    The subclass calls :meth:`_watch_view` with its view and makes the replacement in
    :meth:`_kernel_drawn`. Showing the box (IPython's display, or :meth:`expect_view` for a
    box inside a container of your own) starts a :class:`ViewWatch`; if no view says it
    loaded in time, the box's children become a line saying so and the kernel-drawn widget,
    ``mode`` becomes ``"kernel"`` and the browser view is closed. The switch is one way: a
    front-end that loads our extension and opens the notebook later shows the kernel-drawn
    widget too (it works there, only the kernel draws it).
    """

    mode = "browser"
    kernel_drawn: Widget | None = None
    _view_watch: ViewWatch | None = None
    _view_what = "view"

    def _watch_view(self, view: PageSocketView, what: str) -> None:
        self._view_what = what
        self._view_watch = ViewWatch(view, self._fall_back)

    def expect_view(self) -> None:
        """Start waiting for a browser view (called when this box, or a Classroom, is shown)."""
        if self._view_watch is not None:
            self._view_watch.start()

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        self.expect_view()
        return super()._repr_mimebundle_(**kwargs)

    def _kernel_drawn(self) -> Widget:
        raise NotImplementedError

    def _fall_back(self) -> None:
        if self.kernel_drawn is not None or self.comm is None or self._view_watch is None:
            return
        self.kernel_drawn = self._kernel_drawn()
        self.mode = "kernel"
        note = HTML(
            f"<i>This front-end could not load the classroom's browser {self._view_what}; "
            "the kernel draws it.</i>"
        )
        note.add_class("jc-fallback-note")
        self.children = [note, self.kernel_drawn]
        self.add_class("jc-fell-back")
        self._view_watch.view.close()

    def close(self) -> None:
        if self.kernel_drawn is not None:
            self.kernel_drawn.close()
        super().close()
