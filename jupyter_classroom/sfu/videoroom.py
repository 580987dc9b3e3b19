"""One Janus VideoRoom per classroom room, driven by the room servers.

The classroom's members never talk to Janus: the room server publishes and subscribes for
them (:mod:`jupyter_classroom.server.sfu_events`) with the SDP they send through our socket.
Each classroom room gets a VideoRoom with a random numeric id, a random ``secret`` (to destroy
it, kick from it) and a random ``pin`` (to join it): none of them leaves the servers, so only
a room server, which checks membership first, reaches a room's media.

Several room-server processes may serve one classroom room (a hub deployment on Redis): the
VideoRoom's keys are drawn once and shared through the Store (:mod:`.shared`), each process
makes sure the room exists in Janus (``create``; "already exists" with our secret is the same
room, made by another process) and keeps the handles of its own members. Who publishes is
Janus's ``listparticipants`` (every process's publishers, the display being the member id),
and a member on one process watches a publisher on another by its feed id there.

Janus state is per session: when the connection to Janus ends (Janus stopped or restarted)
this process's publishers and subscribers are gone. :class:`VideoRooms` then connects again,
makes the rooms it served exist again under the same keys and tells the owner (``on_reset``):
the whole room when it made the VideoRoom afresh (Janus lost it), else only the members whose
streams went through this process.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass, field
from typing import Any

from .janus_api import JanusClosed, JanusError, JanusHandle, JanusSession
from .shared import LocalRegistry, Registry, RoomKeys

log = logging.getLogger("jupyter_classroom.sfu")

Connect = Callable[[], Awaitable[JanusSession]]
OnChange = Callable[[str], Awaitable[None]]
# (room id, the members to tell, or None: everyone in the room)
OnReset = Callable[[str, list[str] | None], Awaitable[None]]
MAX_PUBLISHERS = 1000  # Janus's own cap per VideoRoom; ours is the room's max_members
RECONNECT_DELAYS = (0.2, 0.5, 1.0, 2.0, 5.0)
NO_SUCH_ROOM = 426  # JANUS_VIDEOROOM_ERROR_NO_SUCH_ROOM
ROOM_EXISTS = 427  # JANUS_VIDEOROOM_ERROR_ROOM_EXISTS
NO_SUCH_FEED = 428  # JANUS_VIDEOROOM_ERROR_NO_SUCH_FEED
UNAUTHORIZED = 433  # JANUS_VIDEOROOM_ERROR_UNAUTHORIZED
CREATE_ATTEMPTS = 4
FEED_POLL = 0.1  # seconds between two looks for another process's publisher going live


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
    """A classroom room's VideoRoom as this process uses it: its keys (shared) and the
    handles of this process's members."""

    room_id: str
    keys: RoomKeys | None = None
    created: bool = False  # known to exist in Janus on the current session
    publishers: dict[str, Publisher] = field(default_factory=dict)
    # (subscriber member, publisher member) -> the subscriber's handle
    subscribers: dict[tuple[str, str], JanusHandle] = field(default_factory=dict)
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    @property
    def janus_id(self) -> int:
        return self.keys.janus_id if self.keys else 0

    def members(self) -> set[str]:
        """Who publishes or watches through this process."""
        return set(self.publishers) | {m for m, _ in self.subscribers}

    def handles(self) -> list[JanusHandle]:
        return [p.handle for p in self.publishers.values()] + list(self.subscribers.values())


class SfuUnavailable(Exception):
    """Janus cannot be reached (or refused): the request fails, the room stays as it was."""


class VideoRooms:
    """The VideoRooms this room server uses, on one Janus session at a time.

    ``connect`` opens a session (starting a managed Janus first when need be); ``admin_key``
    is the VideoRoom plugin's, if it has one; ``registry`` holds the rooms' keys (the Store,
    shared by every process). ``shared`` says Janus outlives this process and others use it
    (an external Janus): a room is then destroyed in it even when this process never
    connected. ``on_change(room_id)`` is awaited when this process's publishers changed (one
    went live, or ended by itself: a hangup), ``on_reset(room_id, members)`` after Janus came
    back without this process's streams.
    """

    def __init__(
        self, connect: Connect, *, admin_key: str = "", registry: Registry | None = None,
        shared: bool = False, on_change: OnChange | None = None, on_reset: OnReset | None = None,
        live_timeout: float = 10.0,
    ) -> None:  # fmt: skip
        self._connect = connect
        self.admin_key = admin_key
        self.registry: Registry = registry or LocalRegistry()
        self.shared = shared
        # the classroom rooms live on after this process (a shared Store): so do their
        # VideoRooms when it stops
        self.rooms_outlive_process = False
        self.on_change = on_change
        self.on_reset = on_reset
        self.live_timeout = live_timeout
        self._tasks: set[asyncio.Task[None]] = set()
        self.rooms: dict[str, VideoRoom] = {}
        self.session: JanusSession | None = None
        self._control: JanusHandle | None = None  # for create, list, kick, destroy
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
            session: JanusSession | None = None
            try:
                session = await self._connect()
                self._control = await session.attach()
            except Exception as exc:  # OSError, JanusError, a managed Janus that cannot start
                if session is not None:
                    await session.close()
                raise SfuUnavailable(f"the video server (Janus) cannot be reached: {exc}") from exc
            self.session = session
            self._watcher = asyncio.create_task(self._watch(self.session))
            return self.session

    async def _ask(self, body: dict[str, Any]) -> dict[str, Any]:
        """A request answered at once (create, edit, list, kick, destroy): its data."""
        await self._guard(self._session())
        assert self._control is not None
        return (await self._guard(self._control.message(body))).data

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
    # rooms

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

    async def _feed_elsewhere(self, room_id: str, publisher_id: str) -> int:
        """The feed id of ``publisher_id`` publishing through another process, once live
        (KeyError when it does not publish)."""
        deadline = asyncio.get_running_loop().time() + self.live_timeout
        while True:
            found = [p for p in await self.participants(room_id)
                     if p.get("display") == publisher_id]  # fmt: skip
            if not found:
                raise KeyError(publisher_id)
            live = [p for p in found if p.get("publisher") is True]
            if live:
                return int(live[-1]["id"])
            if asyncio.get_running_loop().time() > deadline:
                raise SfuUnavailable(f"{publisher_id}'s media did not reach the video server")
            await asyncio.sleep(FEED_POLL)

    # ---------------------------------------------------------------------------------------
    # publishing and subscribing

    async def _join(self, room: VideoRoom, handle: JanusHandle, body: dict[str, Any],
                    jsep: dict[str, Any] | None = None) -> Any:  # fmt: skip
        """A join on ``handle``; once more after making the room again when Janus has no
        such room (another process destroyed it under us)."""
        for attempt in range(2):
            assert room.keys is not None
            try:
                return await self._guard(handle.message(
                    {**body, "room": room.keys.janus_id, "pin": room.keys.pin}, jsep
                ))  # fmt: skip
            except JanusError as exc:
                if exc.code != NO_SUCH_ROOM or attempt:
                    raise
                room.created = False
                await self._ensure_created(room)
        raise AssertionError("unreachable")

    async def publish(self, room_id: str, member_id: str, offer: str) -> str:
        """Publish ``member_id``'s media (its SDP offer); Janus's answer. A member already
        publishing starts over (its old stream and its watchers end)."""
        room = self._room(room_id)
        async with room.lock:
            old = room.publishers.get(member_id)
            await self._drop_publisher(room, member_id)
            if old is not None and old.live.is_set():  # its watchers learn it ended
                self._notify(room_id)
            await self._guard(self._ensure_created(room))
            assert self.session is not None
            handle = await self._guard(self.session.attach(on_event=self._publisher_event(room_id)))
            try:
                joined = await self._join(
                    room, handle, {"request": "join", "ptype": "publisher", "display": member_id}
                )
                reply = await self._guard(handle.message(
                    {"request": "publish", "audio": True, "video": True},
                    janus_jsep("offer", offer),
                ))  # fmt: skip
            except BaseException:
                await handle.detach()
                raise
            if reply.jsep is None:
                await handle.detach()
                raise SfuUnavailable("Janus accepted the stream but sent no answer")
            room.publishers[member_id] = Publisher(member_id, handle, int(joined.data["id"]))
            return str(reply.jsep["sdp"])

    async def subscribe(self, room_id: str, member_id: str, publisher_id: str) -> str:
        """Start ``member_id`` watching ``publisher_id`` (publishing through this process or
        another): Janus's SDP offer (answer it with :meth:`start`). Raises KeyError when
        ``publisher_id`` does not publish."""
        room = self._room(room_id)
        publisher = room.publishers.get(publisher_id)
        if publisher is not None:
            try:  # its media may still be on the way (a subscriber that heard of it early)
                await asyncio.wait_for(publisher.live.wait(), self.live_timeout)
            except TimeoutError:
                raise SfuUnavailable(
                    f"{publisher_id}'s media did not reach the video server"
                ) from None
            feed = publisher.feed
        else:
            feed = await self._feed_elsewhere(room_id, publisher_id)
        async with room.lock:
            if publisher is not None and room.publishers.get(publisher_id) is not publisher:
                raise KeyError(publisher_id)
            stale = room.subscribers.pop((member_id, publisher_id), None)
            if stale is not None:
                await stale.detach()
            await self._guard(self._ensure_created(room))
            assert self.session is not None
            handle = await self._guard(self.session.attach())
            try:
                reply = await self._join(room, handle, {
                    "request": "join", "ptype": "subscriber", "streams": [{"feed": feed}],
                })  # fmt: skip
            except JanusError as exc:
                await handle.detach()
                if exc.code == NO_SUCH_FEED:  # it stopped meanwhile
                    raise KeyError(publisher_id) from None
                raise
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
        """``member_id`` left the room: its stream and what it watched through this process
        end. Whether it was publishing."""
        room = self.rooms.get(room_id)
        if room is None:
            return False
        async with room.lock:
            published = await self._drop_publisher(room, member_id)
            for key in [k for k in room.subscribers if k[0] == member_id]:
                await room.subscribers.pop(key).detach()
            return published

    async def kick_elsewhere(self, room_id: str, member_id: str) -> bool:
        """End ``member_id``'s streams published through other processes (it left the room
        through this one: kicked from here, or swept after its process died). Whether there
        were any."""
        raw = await self.registry.video_room(room_id)
        if raw is None:
            return False
        keys = RoomKeys.loads(raw)
        kicked = False
        for found in await self.participants(room_id):
            if found.get("display") != member_id:
                continue
            try:
                await self._ask({"request": "kick", "room": keys.janus_id,
                                 "secret": keys.secret, "id": found["id"]})  # fmt: skip
                kicked = True
            except JanusError as exc:  # it went by itself meanwhile
                log.info("sfu: kicking %s from %s: %s", member_id, room_id, exc)
        return kicked

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
        connected = self.session is not None and not self.session.closed.is_set()
        if not connected and not self.shared:  # a managed Janus that is not running: no room
            return False
        keys = RoomKeys.loads(raw)
        try:
            await self._ask({"request": "destroy", "room": keys.janus_id, "secret": keys.secret})
        except JanusError as exc:
            if exc.code != NO_SUCH_ROOM:
                log.warning("sfu: destroying the VideoRoom of %s: %s", room_id, exc)
            return False
        return True

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
            data = message.get("plugindata", {}).get("data", {})
            if kind == "webrtcup" and not publisher.live.is_set():
                publisher.live.set()
                self._notify(room_id)
            elif kind == "hangup" or data.get("leaving") == "ok":
                # its PeerConnection ended without an unpublish, or another process kicked it
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
        if self.on_change is not None:
            self._spawn(self.on_change(room_id))

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
        """The server stops: its own streams end. The VideoRooms stay for the classroom
        rooms, which outlive this process (others serve them, or it comes back); a managed
        Janus stops with the server and takes them along. With the Store in this process's
        memory the classroom rooms end with it, and their VideoRooms go."""
        for room_id, room in list(self.rooms.items()):
            if not self.rooms_outlive_process:  # one process, its Store in memory: they end
                await self.close_room(room_id)
                continue
            for handle in room.handles():
                await handle.detach()
        self.rooms.clear()
        self._closing = True
        if self.session is not None:
            await self.session.close()
        for task in [self._watcher, *self._tasks]:
            if task is not None:
                task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
