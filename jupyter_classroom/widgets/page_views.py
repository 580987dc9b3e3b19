"""Widgets whose view runs in the browser on the page's one classroom socket.

The JupyterLab extension's chat and participants views (``ChatView``, ``ParticipantsView``
in the ``jupyter-classroom`` module) share the page's socket with the board and video views.
The kernel hands each view one thing: a one-time ticket (the comm's ``ticket_request``) to
attach that socket to this kernel's membership. From then on the view sends and receives by
itself, so chat and the host's controls work while the kernel runs a cell.

One person, one member: a page whose side panel joined a room is that room's member already
(its own, by the tab's client id). When a notebook's kernel joins the same room and shows it,
the page's views send the kernel a one-time ticket of the page's membership
(``{type: "membership", ticket, member_id}``, the page's member; see page/session.ts);
:class:`PageMembership` then leaves the member the kernel joined as (handing it the host role
first, if it hosts) and attaches the kernel's socket to the page's member, so the room sees
one person. After a reconnect the kernel re-joins as its own member; it then
asks the views for the page's membership again (``{type: "membership_request"}``).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from typing import Any

from traitlets import Unicode

from ..client import ClassroomError, Client
from ..client.connection import RoomState
from ..protocol import Event
from ._runtime import ClientListeners, submit
from .frontend import PageSocketView

__all__ = ["ChatPanel", "PageMembership", "PageSocketView", "ParticipantsPanel"]

log = logging.getLogger("jupyter_classroom")


class PageMembership:
    """Takes the membership a page offers for ``room_id`` through the views of ``parts``
    (a Classroom's browser widgets): the kernel leaves its own member and attaches to the
    page's. The parts' ``member_id`` follow, so views rendered later share the page's link."""

    def __init__(self, client: Client, room_id: str, parts: Sequence[PageSocketView]) -> None:
        self.client = client
        self.room_id = room_id
        self.parts = list(parts)
        self.member_id: str | None = None  # the page's member, once taken
        self._busy = threading.Lock()  # one adoption at a time; offers meanwhile are dropped
        for part in self.parts:
            part.on_msg(self._on_view_message)
        self._listeners = ClientListeners(client, ("resync", self._on_resync))

    def close(self) -> None:
        self._listeners.remove()

    def _on_view_message(self, _: Any, content: Any, buffers: list[Any]) -> None:
        if not isinstance(content, dict) or content.get("type") != "membership":
            return
        ticket = content.get("ticket")
        page_member = content.get("member_id")  # the page's member, the ticket's
        if not isinstance(ticket, str) or not ticket or not self._busy.acquire(blocking=False):
            return
        submit(
            self.client,
            self._take(ticket, page_member if isinstance(page_member, str) else None),
            on_done=lambda _: self._busy.release(),
            on_error=self._failed,
        )

    def _failed(self, error: BaseException) -> None:
        self._busy.release()
        log.warning(
            "classroom: could not take the page's membership of %s: %s", self.room_id, error
        )

    async def _take(self, ticket: str, page_member: str | None = None) -> RoomState | None:
        """Leave the kernel's member for the ticket's (``page_member``, the page's): a host
        hands the role to it first, else leaving would pass it to whoever came next."""
        connection = self.client.connection
        room = connection.rooms.get(self.room_id)
        if room is None or room.you["id"] in (self.member_id, page_member):
            # the kernel left the room meanwhile, or it is the page's member already (a
            # second view's offer, or one to another Classroom of the room): leaving now
            # would take the page's member out
            return None
        own_id = room.you["id"]
        on_demand = self.room_id in connection._on_demand  # the browser draws the board
        if room.info["host"]["id"] == own_id and page_member in room.members:
            # (should the attach fail below, a kernel that created the room takes the role
            # back as it joins again: the server gives it back to the creator)
            await connection.request(
                Event.ROOM_UPDATE, {"room_id": self.room_id, "host": page_member}
            )
        # A socket is one member per room: the kernel's member goes first (a member who left
        # is let back in without the password, should the ticket fail below). The replica
        # stays meanwhile (its member_left forgot it), so a cell reading it sees no gap.
        await connection.request(Event.ROOM_LEAVE, {"room_id": self.room_id})
        connection.rooms.setdefault(self.room_id, room)
        try:
            ack = await connection.request(Event.ROOM_ATTACH, {"ticket": ticket, "board": True})
        except ClassroomError:
            await connection.join(self.room_id)  # back as the kernel's own member
            raise
        # the replica, as a join's, and the board followed as before (Connection's own steps)
        if on_demand:
            connection._on_demand.add(self.room_id)
        taken = connection._adopt(ack)
        taken.live = True  # an attach with the board takes it live, as a join does
        await connection._apply_follow(taken)
        self.member_id = taken.you["id"]
        log.info("classroom: kernel member %s of %s now shares the page's", own_id, self.room_id)
        for part in self.parts:
            part.member_id = self.member_id
        return taken

    def _on_resync(self, data: dict[str, Any]) -> None:
        """A reconnect re-joined the room as the kernel's own member: ask the page again."""
        room = self.client.connection.rooms.get(self.room_id)
        if data.get("room_id") != self.room_id or room is None or self.member_id is None:
            return
        if room.you["id"] != self.member_id:
            for part in self.parts:
                part.member_id = room.you["id"]
            request = {"type": "membership_request", "member_id": room.you["id"]}
            for part in self.parts:  # the chat's and participants' views answer it
                if isinstance(part, ChatPanel | ParticipantsPanel):
                    part.send(request)


class ChatPanel(PageSocketView):
    """The browser chat: backlog, live messages, sending and direct messages."""

    _model_name = Unicode("ChatModel").tag(sync=True)
    _view_name = Unicode("ChatView").tag(sync=True)


class ParticipantsPanel(PageSocketView):
    """The browser participants list with the host's controls."""

    _model_name = Unicode("ParticipantsModel").tag(sync=True)
    _view_name = Unicode("ParticipantsView").tag(sync=True)
