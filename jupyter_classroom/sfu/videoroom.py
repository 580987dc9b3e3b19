"""One Janus VideoRoom per classroom room, driven by the room server.

The classroom's members never talk to Janus: the room server publishes and subscribes for
them (:mod:`jupyter_classroom.server.sfu_events`) with the SDP they send through our socket.
Each classroom room gets a VideoRoom with a random numeric id, a random ``secret`` (to destroy
it) and a random ``pin`` (to join it): none of them leaves the server, so only the room
server, which checks membership first, reaches a room's media.

Janus state is per session: when the connection to Janus ends (Janus stopped or restarted)
every publisher and subscriber is gone. :class:`VideoRooms` then connects again, creates the
rooms it knew afresh and tells the owner (``on_reset``), whose members publish again.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from .janus_api import JanusClosed, JanusError, JanusHandle, JanusSession

log = logging.getLogger("jupyter_classroom.sfu")

Connect = Callable[[], Awaitable[JanusSession]]
OnRoom = Callable[[str], Awaitable[None]]
OnChange = Callable[[str, list[str]], Awaitable[None]]
MAX_PUBLISHERS = 1000  # Janus's own cap per VideoRoom; ours is the room's max_members
RECONNECT_DELAYS = (0.2, 0.5, 1.0, 2.0, 5.0)


def janus_jsep(kind: str, sdp: str) -> dict[str, Any]:
    # aiortc and browsers that gather first send every candidate inside the SDP
    return {"type": kind, "sdp": sdp, "trickle": False}


@dataclass
class Publisher:
    member_id: str
    handle: JanusHandle
    feed: int  # the publisher's id in the VideoRoom
    # set when its media reaches Janus (``webrtcup``): Janus lets nobody watch it before
    live: asyncio.Event = field(default_factory=asyncio.Event)


@dataclass
class VideoRoom:
    """A classroom room's VideoRoom and who publishes and watches in it."""

    room_id: str
    janus_id: int = field(default_factory=lambda: secrets.randbelow(2**52) + 1)
    secret: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    pin: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    created: bool = False
    publishers: dict[str, Publisher] = field(default_factory=dict)
    # (subscriber member, publisher member) -> the subscriber's handle
    subscribers: dict[tuple[str, str], JanusHandle] = field(default_factory=dict)
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


class SfuUnavailable(Exception):
    """Janus cannot be reached (or refused): the request fails, the room stays as it was."""


class VideoRooms:
    """The VideoRooms of this room server, on one Janus session at a time.

    ``connect`` opens a session (starting a managed Janus first when need be); ``admin_key``
    is the VideoRoom plugin's, if it has one. ``on_change(room_id, publishers)`` is awaited
    with the room's live publishers as they were when they changed (one went live, or ended by itself: a hangup), and
    ``on_reset(room_id)`` for each room after Janus came back without its publishers.
    """

    def __init__(
        self, connect: Connect, *, admin_key: str = "", on_change: OnChange | None = None,
        on_reset: OnRoom | None = None, live_timeout: float = 10.0,
    ) -> None:  # fmt: skip
        self._connect = connect
        self.admin_key = admin_key
        self.on_change = on_change
        self.on_reset = on_reset
        self.live_timeout = live_timeout
        self._tasks: set[asyncio.Task[None]] = set()
        self.rooms: dict[str, VideoRoom] = {}
        self.session: JanusSession | None = None
        self.resets = 0  # how many times Janus went away and rooms were made again
        self._session_lock = asyncio.Lock()
        self._watcher: asyncio.Task[None] | None = None
        self._closing = False

    # ---------------------------------------------------------------------------------------
    # the session

    async def _session(self) -> JanusSession:
        async with self._session_lock:
            if self.session is not None and not self.session.closed.is_set():
                return self.session
            if self._closing:
                raise SfuUnavailable("the video server is shutting down")
            try:
                self.session = await self._connect()
            except Exception as exc:  # OSError, JanusError, a managed Janus that cannot start
                raise SfuUnavailable(f"the video server (Janus) cannot be reached: {exc}") from exc
            self._watcher = asyncio.create_task(self._watch(self.session))
            return self.session

    async def _watch(self, session: JanusSession) -> None:
        """When the session ends without our asking: forget its state, make the rooms again
        on a new session and tell the owner."""
        await session.closed.wait()
        if self._closing:
            return
        log.warning("sfu: the connection to Janus ended; making the video rooms again")
        self.resets += 1
        for room in self.rooms.values():
            room.created = False
            room.publishers.clear()
            room.subscribers.clear()
        for attempt, delay in enumerate((0.0, *RECONNECT_DELAYS)):
            await asyncio.sleep(delay)
            if self._closing:
                return
            try:
                await self._session()
                for room in list(self.rooms.values()):
                    async with room.lock:
                        await self._ensure_created(room)
                break
            except (SfuUnavailable, JanusError) as exc:
                log.warning("sfu: Janus not back yet (attempt %d): %s", attempt + 1, exc)
        if self.on_reset is not None:
            for room_id in list(self.rooms):
                try:
                    await self.on_reset(room_id)
                except Exception:
                    log.exception("sfu: announcing the reset of %s failed", room_id)

    # ---------------------------------------------------------------------------------------
    # rooms

    async def _ensure_created(self, room: VideoRoom) -> JanusSession:
        session = await self._session()
        if room.created:
            return session
        handle = await session.attach()
        try:
            body: dict[str, Any] = {
                "request": "create",
                "room": room.janus_id,
                "secret": room.secret,
                "pin": room.pin,
                "is_private": True,
                "permanent": False,
                "publishers": MAX_PUBLISHERS,
                "audiocodec": "opus",
                "videocodec": "vp8",
                "description": "classroom",
            }
            if self.admin_key:
                body["admin_key"] = self.admin_key
            await handle.message(body)
        finally:
            await handle.detach()
        room.created = True
        return session

    def _room(self, room_id: str) -> VideoRoom:
        room = self.rooms.get(room_id)
        if room is None:
            room = self.rooms[room_id] = VideoRoom(room_id)
        return room

    def publishers(self, room_id: str) -> list[str]:
        """The members whose media is live in Janus (others can watch them)."""
        room = self.rooms.get(room_id)
        if room is None:
            return []
        return sorted(m for m, p in room.publishers.items() if p.live.is_set())

    def idle(self, room_id: str) -> bool:
        """Whether nobody publishes or watches in the room's VideoRoom."""
        room = self.rooms.get(room_id)
        return room is not None and not room.publishers and not room.subscribers

    async def participants(self, room_id: str) -> list[dict[str, Any]]:
        """What Janus itself lists in the room (``listparticipants``): for checks and tests."""
        room = self.rooms.get(room_id)
        if room is None or not room.created:
            return []
        session = await self._session()
        handle = await session.attach()
        try:
            reply = await handle.message({"request": "listparticipants", "room": room.janus_id})
        finally:
            await handle.detach()
        return list(reply.data.get("participants", []))

    # ---------------------------------------------------------------------------------------
    # publishing and subscribing

    async def publish(self, room_id: str, member_id: str, offer: str) -> str:
        """Publish ``member_id``'s media (its SDP offer); Janus's answer. A member already
        publishing starts over (its old stream and its watchers end)."""
        room = self._room(room_id)
        async with room.lock:
            old = room.publishers.get(member_id)
            await self._drop_publisher(room, member_id)
            if old is not None and old.live.is_set():  # its watchers learn it ended
                self._notify(room_id)
            session = await self._guard(self._ensure_created(room))
            handle = await self._guard(session.attach(on_event=self._publisher_event(room_id)))
            try:
                joined = await handle.message({
                    "request": "join", "ptype": "publisher", "room": room.janus_id,
                    "pin": room.pin, "display": member_id,
                })  # fmt: skip
                reply = await handle.message(
                    {"request": "publish", "audio": True, "video": True},
                    janus_jsep("offer", offer),
                )
            except BaseException:
                await handle.detach()
                raise
            if reply.jsep is None:
                await handle.detach()
                raise SfuUnavailable("Janus accepted the stream but sent no answer")
            room.publishers[member_id] = Publisher(member_id, handle, int(joined.data["id"]))
            return str(reply.jsep["sdp"])

    async def subscribe(self, room_id: str, member_id: str, publisher_id: str) -> str:
        """Start ``member_id`` watching ``publisher_id``: Janus's SDP offer (answer it with
        :meth:`start`). Raises KeyError when ``publisher_id`` does not publish."""
        room = self.rooms[room_id]
        publisher = room.publishers.get(publisher_id)
        if publisher is None:
            raise KeyError(publisher_id)
        try:  # its media may still be on the way (a subscriber that heard of it early)
            await asyncio.wait_for(publisher.live.wait(), self.live_timeout)
        except TimeoutError:
            raise SfuUnavailable(f"{publisher_id}'s media did not reach the video server") from None
        async with room.lock:
            if room.publishers.get(publisher_id) is not publisher:
                raise KeyError(publisher_id)
            stale = room.subscribers.pop((member_id, publisher_id), None)
            if stale is not None:
                await stale.detach()
            session = await self._guard(self._ensure_created(room))
            handle = await self._guard(session.attach())
            try:
                reply = await handle.message({
                    "request": "join", "ptype": "subscriber", "room": room.janus_id,
                    "pin": room.pin, "streams": [{"feed": publisher.feed}],
                })  # fmt: skip
            except BaseException:
                await handle.detach()
                raise
            if reply.jsep is None:
                await handle.detach()
                raise SfuUnavailable("Janus sent no offer for this stream")
            room.subscribers[(member_id, publisher_id)] = handle
            return str(reply.jsep["sdp"])

    async def start(self, room_id: str, member_id: str, publisher_id: str, answer: str) -> None:
        """``member_id``'s answer to the offer :meth:`subscribe` gave it. KeyError when
        there is no such subscription (it ended meanwhile, or never began)."""
        room = self.rooms[room_id]
        async with room.lock:
            handle = room.subscribers[(member_id, publisher_id)]
            await self._guard(handle.message({"request": "start"}, janus_jsep("answer", answer)))

    async def unpublish(self, room_id: str, member_id: str) -> bool:
        """Stop ``member_id``'s stream (its watchers' subscriptions end); whether it had one."""
        room = self.rooms.get(room_id)
        if room is None:
            return False
        async with room.lock:
            return await self._drop_publisher(room, member_id)

    async def leave(self, room_id: str, member_id: str) -> bool:
        """``member_id`` left the room: its stream and what it watched end. Whether it was
        publishing."""
        room = self.rooms.get(room_id)
        if room is None:
            return False
        async with room.lock:
            published = await self._drop_publisher(room, member_id)
            for key in [k for k in room.subscribers if k[0] == member_id]:
                await room.subscribers.pop(key).detach()
            return published

    async def close_room(self, room_id: str) -> None:
        """The classroom room closed: its VideoRoom goes."""
        room = self.rooms.pop(room_id, None)
        if room is None:
            return
        async with room.lock:
            handles = [p.handle for p in room.publishers.values()] + list(room.subscribers.values())
            room.publishers.clear()
            room.subscribers.clear()
            for handle in handles:
                await handle.detach()
            if room.created and self.session is not None and not self.session.closed.is_set():
                try:
                    handle = await self.session.attach()
                    try:
                        await handle.message(
                            {"request": "destroy", "room": room.janus_id, "secret": room.secret}
                        )
                    finally:
                        await handle.detach()
                except JanusError as exc:
                    log.warning("sfu: destroying the VideoRoom of %s: %s", room_id, exc)

    async def _drop_publisher(self, room: VideoRoom, member_id: str) -> bool:
        publisher = room.publishers.pop(member_id, None)
        if publisher is None:
            return False
        for key in [k for k in room.subscribers if k[1] == member_id]:
            await room.subscribers.pop(key).detach()
        await publisher.handle.detach()
        return True

    def _publisher_event(self, room_id: str) -> Callable[[JanusHandle, dict[str, Any]], None]:
        def on_event(handle: JanusHandle, message: dict[str, Any]) -> None:
            room = self.rooms.get(room_id)
            publisher = next(
                (p for p in room.publishers.values() if p.handle is handle), None
            ) if room else None  # fmt: skip
            if room is None or publisher is None:
                return
            kind = message.get("janus")
            if kind == "webrtcup" and not publisher.live.is_set():
                publisher.live.set()
                self._notify(room_id)
            elif kind == "hangup":  # its PeerConnection ended without an unpublish
                self._spawn(self._hung_up(room, publisher))

        return on_event

    async def _hung_up(self, room: VideoRoom, publisher: Publisher) -> None:
        async with room.lock:
            if room.publishers.get(publisher.member_id) is not publisher:
                return
            await self._drop_publisher(room, publisher.member_id)
        if publisher.live.is_set():
            self._notify(room.room_id)

    def _notify(self, room_id: str) -> None:
        if self.on_change is not None:  # the list as it is now, whenever the task runs
            self._spawn(self.on_change(room_id, self.publishers(room_id)))

    def _spawn(self, coro: Awaitable[None]) -> None:
        task: asyncio.Task[None] = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("sfu: a video-room task failed", exc_info=task.exception())

    @staticmethod
    async def _guard(awaitable: Awaitable[Any]) -> Any:
        try:
            return await awaitable
        except JanusClosed as exc:
            raise SfuUnavailable(f"the video server (Janus) went away: {exc.reason}") from exc

    async def close(self) -> None:
        """Close every room and the session (the server stops)."""
        for room_id in list(self.rooms):
            await self.close_room(room_id)
        self._closing = True
        if self.session is not None:
            await self.session.close()
        for task in [self._watcher, *self._tasks]:
            if task is not None:
                task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
