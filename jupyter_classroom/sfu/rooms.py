"""The VideoRooms' existence in Janus: one per classroom room, under keys shared by every
room-server process (:mod:`.shared`), made when first needed, made again under the same keys
after Janus came back, destroyed once when the classroom room closes; and what Janus lists
in them (its publishers, whichever process they publish through)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Collection
from typing import Any

from .janus_api import JanusError, JanusSession
from .session import Connect, JanusLink
from .shared import LocalRegistry, Registry, RoomKeys
from .state import NO_SUCH_ROOM, ROOM_EXISTS, UNAUTHORIZED, SfuUnavailable, VideoRoom

log = logging.getLogger("jupyter_classroom.sfu")

# (room id, the members to tell, or None: everyone in the room)
OnReset = Callable[[str, list[str] | None], Awaitable[None]]
MAX_PUBLISHERS = 1000  # Janus's own cap per VideoRoom; ours is the room's max_members
RECONNECT_DELAYS = (0.2, 0.5, 1.0, 2.0, 5.0)
CREATE_ATTEMPTS = 4


class RoomDirectory(JanusLink):
    """The VideoRooms this process uses and their life in Janus (see :class:`VideoRooms`)."""

    def __init__(
        self, connect: Connect, *, admin_key: str = "", registry: Registry | None = None,
        shared: bool = False, on_reset: OnReset | None = None,
    ) -> None:  # fmt: skip
        super().__init__(connect)
        self.admin_key = admin_key
        self.registry: Registry = registry or LocalRegistry()
        self.shared = shared
        # the classroom rooms live on after this process (a shared Store): so do their
        # VideoRooms when it stops
        self.rooms_outlive_process = False
        self.on_reset = on_reset
        self.rooms: dict[str, VideoRoom] = {}
        self.resets = 0  # how many times Janus went away and rooms were made again

    async def _watch(self, session: JanusSession) -> None:
        """When the session ends without our asking: forget its state, make the rooms exist
        again on a new session and tell the owner who must publish again."""
        await session.closed.wait()
        if self._closing:
            return
        log.warning("sfu: the connection to Janus ended; making the video rooms again")
        self.resets += 1
        lost: dict[str, set[str]] = {}
        for room in self.rooms.values():
            lost[room.room_id] = room.members()
            room.created = False
            room.publishers.clear()
            room.subscribers.clear()
        afresh: dict[str, bool] = {}
        for attempt, delay in enumerate((0.0, *RECONNECT_DELAYS)):
            await asyncio.sleep(delay)
            if self._closing:
                return
            try:
                await self._session()
                for room in list(self.rooms.values()):
                    async with room.lock:
                        if room.room_id not in afresh:
                            afresh[room.room_id] = await self._ensure_created(room)
                break
            except (SfuUnavailable, JanusError) as exc:
                log.warning("sfu: Janus not back yet (attempt %d): %s", attempt + 1, exc)
        if self.on_reset is None:
            return
        for room_id, members in lost.items():
            # made afresh: Janus had lost it, every process's streams with it; else only
            # ours went (this connection dropped, or another process made it first)
            told = None if afresh.get(room_id) else sorted(members)
            if told == []:
                continue
            try:
                await self.on_reset(room_id, told)
            except Exception:
                log.exception("sfu: announcing the reset of %s failed", room_id)

    # ---------------------------------------------------------------------------------------
    # making a room exist

    async def _keys(self, room: VideoRoom) -> RoomKeys:
        """The room's shared keys, drawn here when no process drew them yet."""
        raw = await self.registry.video_room(room.room_id)
        if raw is None:
            raw = await self.registry.swap_video_room(room.room_id, None, RoomKeys.new().dumps())
            if raw is None:
                raise SfuUnavailable("the room is closed")
        keys = RoomKeys.loads(raw)
        if room.keys != keys:  # (another process destroyed it and it was made again)
            for handle in room.handles():
                await handle.detach()
            room.publishers.clear()
            room.subscribers.clear()
            room.keys, room.created = keys, False
        return keys

    async def _ensure_created(self, room: VideoRoom) -> bool:
        """Make sure the room exists in Janus; whether this call made it afresh."""
        await self._guard(self._session())
        keys = await self._keys(room)
        if room.created:
            return False
        fresh = False
        for _ in range(CREATE_ATTEMPTS):
            try:
                await self._ask(self._create_body(keys))
                fresh = True
                break
            except JanusError as exc:
                if exc.code != ROOM_EXISTS:
                    raise
            if await self._is_ours(keys):  # another process made it: the same room
                break
            keys = await self._move(room, keys)
        else:
            raise SfuUnavailable("Janus has a video room of that id already")
        room.created = True
        return fresh

    def _create_body(self, keys: RoomKeys) -> dict[str, Any]:
        body: dict[str, Any] = {
            "request": "create",
            "room": keys.janus_id,
            "secret": keys.secret,
            "pin": keys.pin,
            "is_private": True,
            "permanent": False,
            "publishers": MAX_PUBLISHERS,
            "audiocodec": "opus",
            # VP8: what browsers simulcast (their offer's rids) and Janus switches layers of
            "videocodec": "vp8",
            "description": "classroom",
        }
        if self.admin_key:
            body["admin_key"] = self.admin_key
        return body

    async def _is_ours(self, keys: RoomKeys) -> bool:
        """Whether the VideoRoom of this id opens with our secret (an empty ``edit``)."""
        try:
            await self._ask({"request": "edit", "room": keys.janus_id, "secret": keys.secret})
        except JanusError as exc:
            if exc.code != UNAUTHORIZED:
                raise
            return False
        return True

    async def _move(self, room: VideoRoom, taken: RoomKeys) -> RoomKeys:
        """Someone else's VideoRoom has our id (another deployment on this Janus): the room
        takes new keys, for every process (unless one moved it already)."""
        log.warning("sfu: VideoRoom id %d is taken in Janus: drawing another", taken.janus_id)
        raw = await self.registry.swap_video_room(
            room.room_id, taken.dumps(), RoomKeys.new().dumps()
        )
        if raw is None:
            raise SfuUnavailable("the room is closed")
        room.keys = RoomKeys.loads(raw)
        return room.keys

    def _room(self, room_id: str) -> VideoRoom:
        room = self.rooms.get(room_id)
        if room is None:
            room = self.rooms[room_id] = VideoRoom(room_id)
        return room

    # ---------------------------------------------------------------------------------------
    # what is in a room

    def live_here(self, room_id: str) -> list[str]:
        """The members publishing through this process whose media is live in Janus."""
        room = self.rooms.get(room_id)
        if room is None:
            return []
        return sorted(m for m, p in room.publishers.items() if p.live.is_set())

    async def publishers(self, room_id: str, without: Collection[str] = ()) -> list[str]:
        """Every member whose media is live in the room's VideoRoom, whichever process it
        publishes through (``without``: members known to have just stopped)."""
        try:
            listed = {str(p["display"]) for p in await self.participants(room_id)
                      if p.get("publisher") is True and p.get("display")}  # fmt: skip
        except (SfuUnavailable, JanusError):  # Janus away: what this process knows
            listed = set()
        return sorted((listed | set(self.live_here(room_id))) - set(without))

    def idle(self, room_id: str) -> bool:
        """Whether nobody publishes or watches in the room through this process."""
        room = self.rooms.get(room_id)
        return room is not None and not room.publishers and not room.subscribers

    async def participants(self, room_id: str) -> list[dict[str, Any]]:
        """What Janus itself lists in the room (``listparticipants``): its publishers."""
        raw = await self.registry.video_room(room_id)
        if raw is None:
            return []
        try:
            reply = await self._ask(
                {"request": "listparticipants", "room": RoomKeys.loads(raw).janus_id}
            )
        except JanusError as exc:
            if exc.code == NO_SUCH_ROOM:
                return []
            raise
        return list(reply.get("participants", []))

    # ---------------------------------------------------------------------------------------
    # the end of a room

    def forget(self, room_id: str) -> None:
        """This process serves nobody in the room any more: its state goes, the VideoRoom
        stays for the other processes' members."""
        room = self.rooms.get(room_id)
        if room is not None and not room.publishers and not room.subscribers:
            del self.rooms[room_id]

    async def close_room(self, room_id: str) -> bool:
        """The classroom room closed (or nobody is left in it): its VideoRoom goes from Janus,
        for every process. Whether this call destroyed it (of several processes closing the
        room at once, one does)."""
        room = self.rooms.pop(room_id, None)
        if room is not None:
            async with room.lock:
                handles = room.handles()
                room.publishers.clear()
                room.subscribers.clear()
                for handle in handles:
                    await handle.detach()
        raw = await self.registry.video_room(room_id)
        if raw is None or await self.registry.swap_video_room(room_id, raw, None) is not None:
            return False  # none, or another process took it first
        if not self.connected and not self.shared:  # a managed Janus not running: no room
            return False
        keys = RoomKeys.loads(raw)
        try:
            await self._ask({"request": "destroy", "room": keys.janus_id, "secret": keys.secret})
        except JanusError as exc:
            if exc.code != NO_SUCH_ROOM:
                log.warning("sfu: destroying the VideoRoom of %s: %s", room_id, exc)
            return False
        return True
