"""Who a socket is to the server, and the Socket.IO channels (rooms) a broadcast goes to.

A room's sockets are in ``room:<id>`` (membership events, chat); those that take its board
live in ``board:<id>`` (one ``board:op`` per op) or ``batched:<id>`` (``board:ops`` lists); each
member's sockets in ``member:<room>:<member>`` (direct messages, signaling, its own departure).
Sockets enter and leave these only through :class:`SocketChannels`, on the word of the room
logic's presence (:mod:`jupyter_classroom.presence`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import socketio

from ..presence import Feed
from ..rooms import Identity


def room_channel(room_id: str) -> str:
    return f"room:{room_id}"


def board_channel(room_id: str, batched: bool) -> str:
    """The room's sockets that get each op as a ``board:op`` (or, ``batched``, in
    ``board:ops`` lists). A video socket (``room:attach``) is in neither."""
    return f"{'batched' if batched else 'board'}:{room_id}"


def board_channels(room_id: str) -> list[str]:
    return [board_channel(room_id, False), board_channel(room_id, True)]


def member_channel(room_id: str, member_id: str) -> str:
    return f"member:{room_id}:{member_id}"


@dataclass
class Session:
    """What the server knows about one connected socket."""

    identity: Identity
    # room_id -> member_id: a read-only view of the presence's seats (Presence.connect)
    rooms: Mapping[str, str] = field(default_factory=dict)
    limit_key: str = ""  # the person this socket counts for (server/quotas.py)
    cursor_sent: float = 0.0
    cursor_pending: dict[str, Any] | None = None
    cursor_timer: bool = False
    batched: bool = False  # auth.batch: this socket takes board ops as `board:ops` lists


ROOM_PREFIX = room_channel("")


class SocketChannels:
    """The presence's :class:`~jupyter_classroom.presence.Channels` on a python-socketio
    server: a socket on another process is entered or left through the pub/sub manager.

    ``left`` is told of every socket of this process that leaves a room's channel, whoever
    decided it (this process, or another one through the relay; see fanout.py), so that the
    presence here lets go of its seat.
    """

    def __init__(
        self, sio: socketio.AsyncServer, left: Callable[[str, str, bool], Awaitable[None]]
    ) -> None:
        self.sio = sio
        self._left = left

    async def enter(self, sid: str, room_id: str, member_id: str, feed: Feed) -> None:
        await self.sio.enter_room(sid, room_channel(room_id))
        if feed != "video":
            await self.sio.enter_room(sid, board_channel(room_id, feed == "batched"))
        await self.sio.enter_room(sid, member_channel(room_id, member_id))

    async def follow(self, sid: str, room_id: str, feed: Feed, live: bool) -> None:
        if live:
            await self.sio.enter_room(sid, board_channel(room_id, feed == "batched"))
        else:
            for channel in board_channels(room_id):
                await self.sio.leave_room(sid, channel)

    async def leave_room(self, sid: str, room_id: str) -> None:
        for channel in (room_channel(room_id), *board_channels(room_id)):
            await self.sio.leave_room(sid, channel)

    async def leave_member(self, sid: str, room_id: str, member_id: str) -> None:
        await self.sio.leave_room(sid, member_channel(room_id, member_id))

    async def close(self, room_id: str) -> None:
        for channel in (room_channel(room_id), *board_channels(room_id)):
            await self.sio.close_room(channel)

    async def channel_left(self, sid: str, channel: str, closing: bool) -> None:
        """The manager's word that ``sid`` left ``channel`` (``closing``: it was closed)."""
        if channel.startswith(ROOM_PREFIX):
            await self._left(sid, channel[len(ROOM_PREFIX) :], closing)
