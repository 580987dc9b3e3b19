"""``Settings``: what the room server is configured with, in one frozen object.

``ClassroomApp`` builds it once from its traits (``ClassroomApp.make_settings``); the room
logic, the Socket.IO layer and the app's housekeeping read it, and nothing else.

Every default is written once, in a dataclass here or in the one it holds (:class:`Limits`
for the room logic, :class:`Quotas` for what one person may take); each ``ClassroomApp``
trait takes its default from there (``Int(Limits.max_rooms, ...)``). A setting whose default
depends on where the server runs (``kernel_user``, ``allow_display_name``, ``kernel_token``)
is decided by the app when it builds the settings.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .. import protocol as p
from ..rooms import Limits
from ..store.base import EXTEND_WINDOW
from .quotas import Quotas


@dataclass(frozen=True)
class Settings:
    limits: Limits = field(
        default_factory=Limits
    )  # rooms, members, boards, chat, passwords (rooms.py)
    quotas: Quotas = field(
        default_factory=Quotas
    )  # rates, bytes and sockets per person (server/quotas.py)

    # who is who: the inputs of the server's policy (policy.py)
    kernel_user: str = ""  # the owner: the user of sockets holding the kernel token
    kernel_token: str = ""  # the token kernels enter with; "": none (a hub service)
    allow_display_name: bool = True  # clients may choose their display name (auth.name)
    admin_users: frozenset[str] = frozenset()
    instructor_users: frozenset[str] | None = None  # None: everyone may create rooms
    hub_instructor_group: str = "instructors"

    # video
    ice_servers: tuple[dict[str, Any], ...] = ()
    max_publishers: int = 6

    # sockets
    max_message_size: int = p.MAX_FRAME  # a larger websocket frame closes its socket
    slow_grace: float = 10.0  # seconds a socket may hold Quotas.max_send_buffer unsent

    # housekeeping
    extend_window: int = EXTEND_WINDOW
    empty_room_ttl: float = 3600.0
    empty_unlisted_room_ttl: float = 300.0  # at most empty_room_ttl
    process_ttl: float = 30.0
    gc_young_threshold: int = 10_000
