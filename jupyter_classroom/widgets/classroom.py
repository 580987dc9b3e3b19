"""``Classroom``: one room's whiteboard, chat, participants and video in one widget.

Where the JupyterLab extension is installed (``mode="browser"``) the board, chat,
participants and video are browser views sharing the page's one classroom socket, so none of
them waits for the kernel; elsewhere (``mode="kernel"``) the kernel draws board, chat and
participants. ``mode=`` or ``$JUPYTER_CLASSROOM_BOARD`` overrides the choice.
"""

from __future__ import annotations

import html
from typing import Any

from ipywidgets import HTML, HBox, Layout, VBox

from ..client import Client
from ..protocol import Event
from ._runtime import ClientListeners
from .chat import Chat
from .frontend import board_mode
from .participants import Participants
from .video import Video, labextension_installed
from .whiteboard import Whiteboard


class Classroom(VBox):
    """A room as a person sees it. Make one with :meth:`create` or :meth:`join`."""

    def __init__(
        self, client: Client, room_id: str, *, mode: str | None = None, **kwargs: Any
    ) -> None:
        self.client = client
        self.room_id = room_id
        self.mode = board_mode(mode)
        self.header = HTML()
        self.board = Whiteboard(client, room_id, mode=self.mode)
        self.chat = Chat(client, room_id, mode=self.mode, layout=Layout(flex="2"))
        self.participants = Participants(
            client, room_id, mode=self.mode, layout=Layout(flex="1", min_width="220px")
        )
        self.video: Video | HTML
        if labextension_installed():
            self.video = Video(client, room_id)
        else:
            self.video = HTML("<i>Video needs the jupyter-classroom JupyterLab extension.</i>")
        self._listeners = ClientListeners(
            client,
            *(
                (event, self._update_header)
                for event in (Event.ROOM_UPDATED, Event.ROOM_CLOSED, Event.ROOM_MEMBER_LEFT)
            ),
        )
        super().__init__(
            [self.header, self.board, HBox([self.chat, self.participants]), self.video], **kwargs
        )
        self.add_class("jc-classroom")
        self._update_header()

    @classmethod
    def create(
        cls,
        title: str,
        password: str | None = None,
        *,
        name: str | None = None,
        listed: bool = True,
        client: Client | None = None,
        mode: str | None = None,
    ) -> Classroom:
        """Open a new room (you are its host) and show it."""
        client = client or Client(name=name)
        room = client.create_room(title, password, listed=listed)
        return cls(client, room.id, mode=mode)

    @classmethod
    def join(
        cls,
        room_id: str,
        password: str | None = None,
        *,
        name: str | None = None,
        client: Client | None = None,
        mode: str | None = None,
    ) -> Classroom:
        """Enter an existing room and show it."""
        client = client or Client(name=name)
        room = client.join(room_id, password)
        return cls(client, room.id, mode=mode)

    def _update_header(self, data: dict[str, Any] | None = None) -> None:
        room = self.client.connection.rooms.get(self.room_id)
        if room is None:
            self.header.value = "<h3>This room has closed, or you are no longer in it.</h3>"
            return
        lock = (
            ' <small class="jc-locked" style="border:1px solid #999;border-radius:3px;padding:0 3px">password</small>'
            if room.info["locked"]
            else ""
        )
        role = "host" if room.is_host else "member"
        self.header.value = (
            f"<h3 style='margin:4px 0'>{html.escape(room.info['title'])}{lock}</h3>"
            f"<small>You are {html.escape(room.you['name'])} ({role}). "
            f"Room id <code>{room.id}</code></small>"
        )

    def close(self) -> None:
        self._listeners.remove()
        for part in (self.board, self.chat, self.participants, self.video):
            part.close()
        super().close()

    def leave(self) -> None:
        self.client.leave(self.room_id)
        self._update_header()
