"""Who a socket is to the server, and the Socket.IO channels (rooms) a broadcast goes to.

A room's sockets are in ``room:<id>`` (membership events, chat); those that take its board
live in ``board:<id>`` (one ``board:op`` per op) or ``batched:<id>`` (``board:ops`` lists); each
member's sockets in ``member:<room>:<member>`` (direct messages, signaling, its own departure).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

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
    rooms: dict[str, str] = field(default_factory=dict)  # room_id -> member_id
    limit_key: str = ""  # the person this socket counts for (server/quotas.py)
    cursor_sent: float = 0.0
    cursor_pending: dict[str, Any] | None = None
    cursor_timer: bool = False
    batched: bool = False  # auth.batch: this socket takes board ops as `board:ops` lists
    video_rooms: set[str] = field(default_factory=set)  # rooms attached without the board
