"""Widgets whose view runs in the browser on the page's one classroom socket.

The JupyterLab extension's chat and participants views (``ChatView``, ``ParticipantsView``
in the ``jupyter-classroom`` module) share the page's socket with the board and video views.
The kernel hands each view one thing: a one-time ticket (the comm's ``ticket_request``) to
attach that socket to this kernel's membership. From then on the view sends and receives by
itself, so chat and the host's controls work while the kernel runs a cell.
"""

from __future__ import annotations

from typing import Any

from ipywidgets import DOMWidget
from traitlets import Unicode

from ..client import Client
from .frontend import MODULE, MODULE_VERSION, serve_tickets


class PageSocketView(DOMWidget):
    """A browser view of a room on the page's socket; the kernel only hands it tickets."""

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


class ChatPanel(PageSocketView):
    """The browser chat: backlog, live messages, sending and direct messages."""

    _model_name = Unicode("ChatModel").tag(sync=True)
    _view_name = Unicode("ChatView").tag(sync=True)


class ParticipantsPanel(PageSocketView):
    """The browser participants list with the host's controls."""

    _model_name = Unicode("ParticipantsModel").tag(sync=True)
    _view_name = Unicode("ParticipantsView").tag(sync=True)
