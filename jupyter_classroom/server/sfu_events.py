"""Video through the SFU on the Socket.IO layer: ``rtc:publish``, ``rtc:subscribe``,
``rtc:subscribe_answer``, ``rtc:layer``, ``rtc:unpublish`` and the ``rtc:publishers`` the
room hears.

A part of :class:`~.events.RoomServer`. Members never talk to Janus: their SDP comes through
this socket, membership is checked here, and the VideoRooms (:mod:`jupyter_classroom.sfu`)
drive Janus. A member's streams end when it leaves the room (left, kicked, disconnected) and a
room's VideoRoom goes when the room closes or nobody is left in it.

With several room-server processes (Redis), the members of one room share one VideoRoom
whichever process they reach: its keys and the room's mode are in the Store, who publishes is
Janus's list, and announcements go through the room's channel (every process's sockets).

Which video a room uses (its *mode*) is decided here too: with ``video_mode = "sfu"`` every
room is on the SFU; with ``"auto"`` a room starts as a mesh and goes to the SFU once its
present members reach ``sfu_threshold`` (then stays there until it closes; the Store keeps the
decision, so all processes agree). Members learn the
mode in their join/create/attach ack (``video: {mode}``) and hear ``rtc:mode`` when it switches.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable, Collection
from typing import Any

import socketio

from .. import protocol as p
from ..protocol import ErrorCode, Event, ProtocolError, ok_ack
from ..rooms import Rooms
from ..sfu.janus_api import JanusClosed, JanusError
from ..sfu.service import Sfu
from ..sfu.videoroom import SfuUnavailable, VideoRooms
from ..store import MemoryStore
from .channels import ROOM_PREFIX, Session, member_channel, room_channel
from .quotas import PersonLimits
from .video_policy import VideoPolicyEvents

log = logging.getLogger("jupyter_classroom.sfu")

Handler = Callable[[str, Session, Any], Awaitable[dict[str, Any]]]


class SfuEvents(VideoPolicyEvents):
    """The SFU's events; ``use_sfu`` switches them on (``video_mode`` "sfu" or "auto"). The
    host's lecture controls (video_policy.py) come with them, for the mesh too."""

    sio: socketio.AsyncServer
    rooms: Rooms
    limits: PersonLimits
    sessions: dict[str, Session]
    sfu: Sfu | None = None
    _announce_locks: weakref.WeakValueDictionary[str, asyncio.Lock]

    def use_sfu(self, sfu: Sfu) -> None:
        self.sfu = sfu
        self._announce_locks = weakref.WeakValueDictionary()
        # what every process must agree on (a room's VideoRoom, its mode) is in the Store
        sfu.rooms.registry = self.rooms.store
        sfu.rooms.rooms_outlive_process = not isinstance(self.rooms.store, MemoryStore)
        sfu.rooms.on_change = self._send_publishers
        sfu.rooms.on_reset = self._send_reset
        # A member kicked through another process leaves this one's room channel (the
        # presence's relay, fanout.py) without a departure here: its streams through this
        # process must end too, or it would go on watching.
        manager = self.sio.manager
        earlier = getattr(manager, "on_leave", None)
        if earlier is not None:

            async def on_leave(sid: str, channel: str, closing: bool) -> None:
                streaming = self._streaming_member(sid, channel)
                await earlier(sid, channel, closing)
                if streaming is not None:  # (a closing room: its VideoRoom goes anyway)
                    await self._sfu_socket_left(*streaming, announce=not closing)

            manager.on_leave = on_leave

    def _streaming_member(self, sid: str, channel: str) -> tuple[str, str] | None:
        """(room, member) when ``sid`` leaves a room's channel as a member that publishes or
        watches through this process."""
        session = self.sessions.get(sid)
        if self.sfu is None or session is None or not channel.startswith(ROOM_PREFIX):
            return None
        room_id = channel[len(ROOM_PREFIX) :]
        member_id = session.rooms.get(room_id)
        room = self.sfu.rooms.rooms.get(room_id)
        if member_id is None or room is None or member_id not in room.members():
            return None
        return room_id, member_id

    async def _sfu_socket_left(self, room_id: str, member_id: str, announce: bool) -> None:
        if self.sfu is None or await self.rooms.presence.is_present(room_id, member_id):
            return  # (one of its sockets went; it is still in the room)
        try:
            if await self.sfu.rooms.leave(room_id, member_id) and announce:
                await self._send_publishers(room_id, without=(member_id,))
            self.sfu.rooms.forget(room_id)
        except (JanusError, SfuUnavailable) as exc:
            log.warning("sfu: ending %s's streams in %s: %s", member_id, room_id, exc)

    def sfu_handlers(self) -> dict[str, Handler]:
        return {
            Event.RTC_PUBLISH: self.rtc_publish,
            Event.RTC_SUBSCRIBE: self.rtc_subscribe,
            Event.RTC_SUBSCRIBE_ANSWER: self.rtc_subscribe_answer,
            Event.RTC_UNPUBLISH: self.rtc_unpublish,
            Event.RTC_LAYER: self.rtc_layer,
            Event.RTC_PUBLISHERS: self.rtc_publishers,
            **self.video_policy_handlers(),  # rtc:policy, rtc:mute_all (mesh or SFU)
        }

    async def _sfu_member(self, sid: str, session: Session, room_id: str, sdp: str = "") -> str:
        """The SFU, for a present member of ``room_id``: its member id (else a refusal)."""
        # Each request is a signal: counted and weighed per person like rtc:signal.
        self.limits.take(self.limits.signals, session.limit_key, "signaling messages")
        if sdp:
            self.limits.take_bytes(session.limit_key, len(sdp))
        member_id = session.rooms.get(room_id)
        await self.rooms.require_member(room_id, member_id, sid)
        if self.sfu is None:
            raise ProtocolError(
                ErrorCode.FORBIDDEN,
                "this server's video is a mesh (ClassroomApp.video_mode = 'mesh'): use rtc:signal",
            )
        return member_id or ""

    @property
    def _video_rooms(self) -> VideoRooms:
        assert self.sfu is not None
        return self.sfu.rooms

    async def rtc_publish(self, sid: str, session: Session, req: p.RtcPublish) -> dict[str, Any]:
        member_id = await self._sfu_member(sid, session, req.room_id, req.sdp)
        await self.require_may_publish(req.room_id, member_id)
        async with janus_errors():
            answer = await self._video_rooms.publish(req.room_id, member_id, req.sdp)
            # the host may have stopped students publishing meanwhile (its rtc:policy saw
            # no feed of this member yet): this one ends too
            if not await self.may_publish(req.room_id, member_id):
                await self._video_rooms.unpublish(req.room_id, member_id)
                await self.require_may_publish(req.room_id, member_id)
        # the room hears of it when its media reaches Janus (VideoRooms.on_change)
        return ok_ack(sdp=answer)

    async def rtc_subscribe(
        self, sid: str, session: Session, req: p.RtcSubscribe
    ) -> dict[str, Any]:
        member_id = await self._sfu_member(sid, session, req.room_id)
        if req.member_id == member_id:
            raise ProtocolError(ErrorCode.BAD_REQUEST, "a member does not subscribe to itself")
        async with janus_errors(missing="that member publishes nothing in this room"):
            offer = await self._video_rooms.subscribe(req.room_id, member_id, req.member_id)
        return ok_ack(sdp=offer)

    async def rtc_subscribe_answer(
        self, sid: str, session: Session, req: p.RtcSubscribeAnswer
    ) -> dict[str, Any]:
        member_id = await self._sfu_member(sid, session, req.room_id, req.sdp)
        async with janus_errors(missing="no subscription to that member: send rtc:subscribe first"):
            await self._video_rooms.start(req.room_id, member_id, req.member_id, req.sdp)
        return ok_ack()

    async def rtc_layer(self, sid: str, session: Session, req: p.RtcLayer) -> dict[str, Any]:
        """A watcher takes the high or low simulcast layer of a publisher it watches (a
        small tile, a weak connection): Janus's ``configure`` on its subscriber handle."""
        member_id = await self._sfu_member(sid, session, req.room_id)
        if req.publisher == member_id:
            raise ProtocolError(ErrorCode.BAD_REQUEST, "a member does not watch itself")
        async with janus_errors(missing="you do not watch that member: send rtc:subscribe first"):
            await self._video_rooms.set_layer(req.room_id, member_id, req.publisher, req.layer)
        return ok_ack()

    async def rtc_unpublish(self, sid: str, session: Session, req: p.RoomRef) -> dict[str, Any]:
        member_id = await self._sfu_member(sid, session, req.room_id)
        async with janus_errors():
            if await self._video_rooms.unpublish(req.room_id, member_id):
                await self._send_publishers(req.room_id, without=(member_id,))
        return ok_ack()

    async def rtc_publishers(self, sid: str, session: Session, req: p.RoomRef) -> dict[str, Any]:
        # what a member that arrives after the announcements asks first
        await self._sfu_member(sid, session, req.room_id)
        return ok_ack(publishers=await self._video_rooms.publishers(req.room_id))

    # ---------------------------------------------------------------------------------------
    # the room's video mode

    async def video_mode(self, room_id: str) -> str:
        """``"sfu"`` when the room's video goes through Janus, else ``"mesh"`` (the Store
        holds the room's decision, so every process says the same)."""
        if self.sfu is None:
            return "mesh"
        if self.sfu.settings.mode == "sfu" or await self.rooms.store.video_mode(room_id) == "sfu":
            return "sfu"
        return "mesh"

    async def with_video(self, ack: dict[str, Any], room_id: str) -> dict[str, Any]:
        """A join/create/attach ack with the room's video mode (a mesh-only server adds
        nothing: clients take a missing ``video`` for the mesh) and its ``video_policy``."""
        if self.sfu is not None:
            ack["video"] = {"mode": await self.video_mode(room_id)}
        return await self.with_video_policy(ack, room_id)

    async def sfu_after_arrival(self, sid: str, room_id: str, present: int) -> None:
        """A member arrived (``present`` members now, on every process): with ``"auto"``, a
        room reaching the threshold goes to the SFU and its other members hear ``rtc:mode``
        (the arriving socket reads the mode in its ack). The Store decides once: of two
        processes seeing the threshold at once, one switches the room and tells it."""
        sfu = self.sfu
        if sfu is None or sfu.settings.mode != "auto" or present < sfu.settings.threshold:
            return
        if await self.rooms.store.set_video_mode(room_id, "sfu"):
            log.info("sfu: room %s has %d members: its video goes to the SFU", room_id, present)
            payload = {"room_id": room_id, "mode": "sfu"}
            await self.sio.emit(Event.RTC_MODE, payload, to=room_channel(room_id), skip_sid=sid)

    # ---------------------------------------------------------------------------------------
    # hooks of the room's life (events.py calls them)

    async def sfu_after_departure(self, room_id: str, member_id: str) -> None:
        """``member_id`` is out of the room: its streams end, here and on other processes
        (it may have left through this one while publishing through another). When nobody
        is left in the room on any process, its VideoRoom goes."""
        if self.sfu is None:
            return
        rooms = self.sfu.rooms
        try:
            published = await rooms.leave(room_id, member_id)
            if await rooms.kick_elsewhere(room_id, member_id) or published:
                await self._send_publishers(room_id, without=(member_id,))
            members = await self.rooms.store.get_members(room_id)
            if not any(member.present for member in members):
                await rooms.close_room(room_id)  # made again on the next publish
            else:
                rooms.forget(room_id)  # (when nobody uses it through this process)
        except (JanusError, SfuUnavailable) as exc:
            log.warning("sfu: ending %s's streams in %s: %s", member_id, room_id, exc)

    async def sfu_room_closed(self, room_id: str) -> None:
        if self.sfu is not None:
            try:
                await self.sfu.rooms.close_room(room_id)
            except (JanusError, SfuUnavailable) as exc:
                log.warning("sfu: closing the VideoRoom of %s: %s", room_id, exc)

    @contextlib.asynccontextmanager
    async def _announcing(self, room_id: str) -> AsyncIterator[None]:
        """One announcement of a room at a time, on every process: each lists the publishers
        and sends the list (a Redis publish) before the next lists, so members hear the
        lists in the order they were made and the last one is the latest."""
        lock = self._announce_locks.get(room_id)
        if lock is None:
            lock = self._announce_locks[room_id] = asyncio.Lock()
        async with lock, self.rooms.store.room_lock(f"{room_id}:sfu"):
            yield

    async def _send_publishers(self, room_id: str, without: Collection[str] = ()) -> None:
        if self.sfu is None:
            return
        try:
            async with self._announcing(room_id):
                publishers = await self.sfu.rooms.publishers(room_id, without)
                payload = {"room_id": room_id, "publishers": publishers, "reset": False}
                await self.sio.emit(Event.RTC_PUBLISHERS, payload, to=room_channel(room_id))
        except Exception:  # (Redis's lock out of reach) the room's next change says it
            log.exception("sfu: announcing the publishers of %s failed", room_id)

    async def _send_reset(self, room_id: str, members: list[str] | None) -> None:
        """Janus lost streams: the whole room (``members`` None: the VideoRoom was made
        afresh) or these members (their streams went through this process) publish again;
        then everyone hears who still publishes, to watch again."""
        payload = {"room_id": room_id, "publishers": [], "reset": True}
        if members is None:
            channels = [room_channel(room_id)]
        else:
            channels = [member_channel(room_id, member) for member in members]
        async with self._announcing(room_id):
            await self.sio.emit(Event.RTC_PUBLISHERS, payload, to=channels)
        await self._send_publishers(room_id)


@contextlib.asynccontextmanager
async def janus_errors(missing: str | None = None) -> AsyncIterator[None]:
    """Janus's refusals as protocol errors: a bad SDP is the client's ``bad_request``; Janus
    out of reach is ``internal``, with a sentence saying so; with ``missing``, the
    VideoRooms' KeyError (no such feed or subscription) is ``not_found`` saying that."""
    try:
        yield
    except KeyError:
        if missing is None:
            raise
        raise ProtocolError(ErrorCode.NOT_FOUND, missing) from None
    except (SfuUnavailable, JanusClosed) as exc:
        raise ProtocolError(ErrorCode.INTERNAL, f"{exc}; try again shortly") from exc
    except JanusError as exc:
        raise ProtocolError(
            ErrorCode.BAD_REQUEST, f"the video server refused this: {exc.reason}"
        ) from exc
