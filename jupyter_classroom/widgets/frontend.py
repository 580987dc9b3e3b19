"""What the kernel knows about the browser side: is our JupyterLab extension there, and the
ticket service through which a browser view becomes the kernel's member on its own socket.

The extension is looked up where Jupyter looks for prebuilt extensions
(``jupyter_core.paths.jupyter_path("labextensions")``), which holds it both in an editable
install and in an installed wheel (``share/jupyter/labextensions/jupyter-classroom``).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from ipywidgets import DOMWidget, Widget
from traitlets import Unicode

from .._version import __version__
from ..client import Client
from ..protocol import Event
from ._runtime import describe, submit

MODULE = "jupyter-classroom"
MODULE_VERSION = f"^{__version__}"
BOARD_MODE_ENV = "JUPYTER_CLASSROOM_BOARD"  # "kernel" forces the kernel-drawn board


def labextension_dirs() -> list[Path]:
    from jupyter_core.paths import jupyter_path

    return [Path(p) / MODULE for p in jupyter_path("labextensions")]


def labextension_installed() -> bool:
    """Whether JupyterLab / Notebook 7 served from this environment has our extension."""
    for folder in labextension_dirs():
        try:
            package = json.loads((folder / "package.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if package.get("name") == MODULE and package.get("jupyterlab", {}).get("_build"):
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
