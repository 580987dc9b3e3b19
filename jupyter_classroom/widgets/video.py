"""The video slot: the model of the browser video view (the JupyterLab extension).

Media never passes through the kernel: the browser view asks this model for a one-time
``room:ticket``, opens its own socket to the room server with it and runs WebRTC itself,
so a busy kernel never delays signaling.
"""

from __future__ import annotations

from typing import Any

from traitlets import Unicode

from ..client import Client
from .frontend import PageSocketView, labextension_installed

__all__ = ["Video", "labextension_installed"]


class Video(PageSocketView):
    _model_name = Unicode("VideoModel").tag(sync=True)
    _view_name = Unicode("VideoView").tag(sync=True)

    def __init__(self, client: Client, room_id: str, **kwargs: Any) -> None:
        super().__init__(client, room_id, **kwargs)
        self.client = client
