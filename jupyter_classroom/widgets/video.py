"""The video slot: the model of the browser video view (the JupyterLab extension).

Media never passes through the kernel: the browser view asks this model for a one-time
``room:ticket``, opens its own socket to the room server with it and runs WebRTC itself,
so a busy kernel never delays signaling.
"""

from __future__ import annotations

from typing import Any

from ipywidgets import DOMWidget
from traitlets import Unicode

from ..client import Client
from .frontend import MODULE, MODULE_VERSION, labextension_installed, serve_tickets

__all__ = ["Video", "labextension_installed"]


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
        serve_tickets(self, client, room_id)
