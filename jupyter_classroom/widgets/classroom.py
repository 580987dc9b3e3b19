"""``Classroom``: one room's whiteboard, chat, participants and video in one widget.

Where the JupyterLab extension is installed (``mode="browser"``) the board, chat,
participants and video are browser views sharing the page's one classroom socket, so none of
them waits for the kernel; elsewhere (``mode="kernel"``) the kernel draws board, chat and
participants. ``mode=`` or ``$JUPYTER_CLASSROOM_BOARD`` overrides the choice. Browser parts
that the front-end showing the notebook cannot load become kernel-drawn a few seconds after
the classroom is shown (see ``frontend.BrowserFallback``); the video slot then says that
video needs the extension (video has no kernel-drawn fallback).
"""

from __future__ import annotations

import html
from typing import Any, cast

from ipywidgets import HTML, HBox, Layout, VBox

from ..client import Client
from ..protocol import Event
from ._runtime import ClientListeners
from .chat import Chat
from .frontend import BrowserFallback, ViewWatch, board_mode
from .notebook_share import NotebookSharing
from .page_views import PageMembership, PageSocketView
from .participants import Participants
from .video import Video, labextension_installed
from .whiteboard import Whiteboard

NO_VIDEO = "Video needs the jupyter-live-classroom JupyterLab extension"


class Classroom(NotebookSharing, VBox):
    """A room as a person sees it. Make one with :meth:`create` or :meth:`join`."""

    def __init__(
        self, client: Client, room_id: str, *, mode: str | None = None, **kwargs: Any
    ) -> None:
        self.client = client
        self.room_id = room_id
        mode = board_mode(mode)
        self.header = HTML()
        self.board = Whiteboard(client, room_id, mode=mode)
        self.chat = Chat(client, room_id, mode=mode, layout=Layout(flex="2"))
        self.participants = Participants(
            client, room_id, mode=mode, layout=Layout(flex="1", min_width="220px")
        )
        self.video: Video | HTML
        self._video_watch: ViewWatch | None = None
        if labextension_installed():
            self.video = Video(client, room_id)
            self._video_watch = ViewWatch(self.video, self._video_missing)
        else:
            self.video = HTML(f"<i>{NO_VIDEO}.</i>")
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
        # a page whose panel is in this room already offers its membership: one person, one
        # member (page_views.PageMembership)
        parts = (
            getattr(self.board, "canvas", None),
            getattr(self.chat, "panel", None),
            getattr(self.participants, "panel", None),
            self.video,
        )
        self._membership = PageMembership(
            client, room_id, [part for part in parts if isinstance(part, PageSocketView)]
        )

    @property
    def mode(self) -> str:
        """``"browser"`` or ``"kernel"``: who draws the board (it turns ``"kernel"`` where
        the front-end could not load the browser views)."""
        return self.board.mode

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        # Shown: the browser parts wait for their views (see frontend.BrowserFallback).
        for part in (self.board, self.chat, self.participants):
            if isinstance(part, BrowserFallback):
                part.expect_view()
        if self._video_watch is not None:
            self._video_watch.start()
        return super()._repr_mimebundle_(**kwargs)

    def _video_missing(self) -> None:
        """No front-end loaded the video view: say so in its place (video has no kernel
        fallback)."""
        shown = self.video
        self.video = HTML(f"<i>{NO_VIDEO}, which this front-end did not load.</i>")
        self.video.add_class("jc-fallback-note")
        children = cast(VBox, self).children  # (mypy cannot type it on this class)
        self.children = [self.video if child is shown else child for child in children]
        shown.close()

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
        self._membership.close()
        self._stop_watch()  # a notebook shared with watch=True (notebook_share.py)
        for part in (self.board, self.chat, self.participants, self.video):
            part.close()
        super().close()

    def leave(self) -> None:
        self.client.leave(self.room_id)
        self._update_header()

    # the tools of a lesson: hands and breakouts

    @property
    def hands(self) -> list[dict[str, Any]]:
        """The raised hands ``{member_id, name, raised_at}``, first raised first."""
        room = self.client.connection.rooms.get(self.room_id)
        return list(room.hands) if room is not None else []

    def lecture(
        self, on: bool | None = True, *, students_publish: bool | None = None
    ) -> dict[str, bool]:
        """(The host) the lecture layout (your tile large at everyone) on or off (None:
        unchanged), and whether students may send their camera and microphone; the room's
        video policy ``{students_publish, lecture}``."""
        return self.client.set_video_policy(
            students_publish=students_publish, lecture=on, room_id=self.room_id
        )

    def mute_all(self) -> None:
        """(The host) turn every other member's microphone off (each may turn it on again)."""
        self.client.mute_all(room_id=self.room_id)

    def raise_hand(self) -> list[dict[str, Any]]:
        """Raise your hand (again: it keeps its place); the queue."""
        return self.client.raise_hand(room_id=self.room_id)

    def lower_hand(self, member: str | None = None) -> list[dict[str, Any]]:
        """Lower your hand, or (the host) ``member``'s (a member id); the queue."""
        return self.client.lower_hand(member, room_id=self.room_id)

    def take_hand(self, member: str | None = None) -> dict[str, Any] | None:
        """(The host) take the first hand, or ``member``'s: that member is told. The hand, or
        None when no hand is up."""
        return self.client.take_hand(member, room_id=self.room_id)

    def breakout(
        self,
        groups: list[list[str]] | None = None,
        *,
        count: int | None = None,
        minutes: float | None = None,
        copy_board: bool = False,
    ) -> list[dict[str, Any]]:
        """(The host) open breakout rooms: ``groups`` of member ids, or the members but you at
        random into ``count`` groups (2 by default); ``minutes``: the server brings everyone
        back then; ``copy_board``: each group starts with a copy of this board. The breakouts
        ``{room_id, title, members}``; members join theirs from the panel or with
        ``Classroom.join(room_id)``."""
        opened = self.client.open_breakouts(
            groups=groups, count=count, minutes=minutes, copy_board=copy_board,
            room_id=self.room_id,
        )  # fmt: skip
        return list(opened["breakouts"])

    @property
    def breakouts(self) -> list[dict[str, Any]]:
        """The open breakouts (none: ``[]``)."""
        room = self.client.connection.rooms.get(self.room_id)
        return list(room.breakouts["breakouts"]) if room and room.breakouts else []

    def broadcast(self, text: str) -> None:
        """(The host) a chat message into every open breakout room."""
        self.client.broadcast(text, room_id=self.room_id)

    def recall(self) -> list[dict[str, Any]]:
        """(The host) bring everyone back; each group's board stays readable with
        :meth:`breakout_board`. The breakouts closed."""
        return self.client.recall(room_id=self.room_id)

    def breakout_board(self, breakout_id: str) -> dict[str, Any]:
        """A breakout's board ``{seq, ops, complete}`` (ops as in the protocol): any member's
        after recall; while breakouts are open, the host's only."""
        return self.client.breakout_board(breakout_id, room_id=self.room_id)
