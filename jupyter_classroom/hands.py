"""Raised hands: an ordered queue per room, kept in the Store so every process (and every
late joiner) sees the same one.

Pure logic over :class:`~jupyter_classroom.rooms.Rooms` and its Store, like the room logic:
each method checks who asks, changes the queue in one atomic Store step, and returns what
happened; the Socket.IO layer (``server/lesson_events.py``) tells the room.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from . import protocol as p
from .protocol import ErrorCode, ProtocolError
from .rooms import Rooms, utc_now


@dataclass(frozen=True)
class HandChange:
    """The queue after a request; ``changed`` says whether the room must hear it."""

    room_id: str
    hands: list[dict[str, Any]]
    changed: bool
    taken: dict[str, Any] | None = None  # hand:take: the hand taken (None: queue was empty)


class Hands:
    def __init__(self, rooms: Rooms) -> None:
        self.rooms = rooms
        self.store = rooms.store

    async def queue(self, room_id: str) -> list[dict[str, Any]]:
        return await self.store.hands(room_id)

    async def raise_hand(self, member_id: str | None, sid: str, room_id: str) -> HandChange:
        """Idempotent: a hand raised again keeps its first place."""
        await self.rooms.require_member(room_id, member_id, sid)
        assert member_id is not None
        member = await self.store.get_member(room_id, member_id)
        assert member is not None
        hand = {"member_id": member_id, "name": member.name, "raised_at": utc_now()}
        changed = await self.store.raise_hand(room_id, hand)
        return HandChange(room_id, await self.store.hands(room_id), changed)

    async def lower_hand(self, member_id: str | None, sid: str, req: p.HandTarget) -> HandChange:
        """Your own hand, or (the host) anyone's; a hand not raised is no error."""
        room = await self.rooms.require_member(req.room_id, member_id, sid)
        target = req.member_id or member_id
        if target != member_id and room.host_id != member_id:
            raise ProtocolError(
                ErrorCode.FORBIDDEN, "only the host may lower another member's hand"
            )
        lowered = await self.store.lower_hand(req.room_id, target)
        return HandChange(req.room_id, await self.store.hands(req.room_id), lowered is not None)

    async def take_hand(self, member_id: str | None, sid: str, req: p.HandTarget) -> HandChange:
        """The host takes the first hand, or ``req.member_id``'s (``not_found`` if it is not
        raised); an empty queue gives ``taken: None``."""
        await self.rooms.require_host(req.room_id, member_id, sid)
        taken = await self.store.lower_hand(req.room_id, req.member_id)
        if taken is None and req.member_id is not None:
            raise ProtocolError(
                ErrorCode.NOT_FOUND, f"member {req.member_id!r} has no hand raised in this room"
            )
        hands = await self.store.hands(req.room_id)
        return HandChange(req.room_id, hands, taken is not None, taken)

    async def member_gone(self, room_id: str, member_id: str) -> HandChange:
        """A member departed (left, kicked, last socket gone): their hand goes with them."""
        lowered = await self.store.lower_hand(room_id, member_id)
        if lowered is None:
            return HandChange(room_id, [], False)
        return HandChange(room_id, await self.store.hands(room_id), True)
