"""What every room-server process shares of a classroom room's Janus VideoRoom.

With several processes on one Redis and one external Janus (a hub deployment), the members of
one classroom room may reach different processes; they must all land in the same VideoRoom.
So its id, ``secret`` (to destroy it, kick from it) and ``pin`` (to join it) are drawn once,
by the first process that needs them, and kept in the Store (:meth:`Store.swap_video_room`,
an atomic compare-and-set): every other process reads them there. They never leave the room
servers. Without a shared Store (one process, or the tests of :mod:`.videoroom` alone) a
:class:`LocalRegistry` keeps them in memory.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from typing import Protocol


def new_janus_id() -> int:
    """A random VideoRoom id: 52 bits (exact in JSON numbers), never 0."""
    return secrets.randbelow(2**52) + 1


@dataclass(frozen=True)
class RoomKeys:
    """A VideoRoom's id in Janus and the secrets that open it."""

    janus_id: int
    secret: str
    pin: str

    @classmethod
    def new(cls) -> RoomKeys:
        return cls(new_janus_id(), secrets.token_urlsafe(24), secrets.token_urlsafe(24))

    def dumps(self) -> str:
        return json.dumps({"id": self.janus_id, "secret": self.secret, "pin": self.pin})

    @classmethod
    def loads(cls, raw: str) -> RoomKeys:
        data = json.loads(raw)
        return cls(int(data["id"]), str(data["secret"]), str(data["pin"]))


class Registry(Protocol):
    """Where the VideoRoom records live: the Store (:class:`~jupyter_classroom.store.Store`
    has these two methods) or a :class:`LocalRegistry`."""

    async def video_room(self, room_id: str) -> str | None: ...

    async def swap_video_room(
        self, room_id: str, expected: str | None, new: str | None
    ) -> str | None: ...


class LocalRegistry:
    """The records in this process only (no rooms to check: every room exists)."""

    def __init__(self) -> None:
        self.records: dict[str, str] = {}

    async def video_room(self, room_id: str) -> str | None:
        return self.records.get(room_id)

    async def swap_video_room(
        self, room_id: str, expected: str | None, new: str | None
    ) -> str | None:
        now = self.records.get(room_id)
        if now != expected:
            return now
        if new is None:
            self.records.pop(room_id, None)
        else:
            self.records[room_id] = new
        return new
