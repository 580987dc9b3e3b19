"""The video slot: the model of the browser video view (the JupyterLab extension).

Media never passes through the kernel: the browser view asks this model for a one-time
``room:ticket``, opens its own socket to the room server with it and runs WebRTC itself,
so a busy kernel never delays signaling.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ipywidgets import DOMWidget
from traitlets import Unicode

from .._version import __version__
from ..client import Client
from ..protocol import Event
from ._runtime import describe, submit

MODULE = "jupyter-classroom"
MODULE_VERSION = f"^{__version__}"


def labextension_installed() -> bool:
    return (Path(__file__).parent.parent / "labextension" / "package.json").exists()


class Video(DOMWidget):
    _model_name = Unicode("VideoModel").tag(sync=True)
    _view_name = Unicode("VideoView").tag(sync=True)
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
        self.client = client
        self.on_msg(self._on_view_message)

    def _on_view_message(self, _: Any, content: dict[str, Any], buffers: list[Any]) -> None:
        if content.get("type") != "ticket_request":
            return
        # Echo the view's request id: several views of one widget tell their replies apart.
        reply = {"request_id": content["request_id"]} if "request_id" in content else {}
        submit(
            self.client,
            self.client.connection.request(Event.ROOM_TICKET, {"room_id": self.room_id}),
            on_done=lambda ack: self.send({"type": "ticket", "ticket": ack["ticket"], **reply}),
            on_error=lambda e: self.send({"type": "ticket_error", "message": describe(e), **reply}),
        )
