"""Video through the SFU on the Socket.IO layer: ``rtc:publish``, ``rtc:subscribe``,
``rtc:subscribe_answer``, ``rtc:unpublish`` and the ``rtc:publishers`` the room hears.

A part of :class:`~.events.RoomServer`. Members never talk to Janus: their SDP comes through
this socket, membership is checked here, and the VideoRooms (:mod:`jupyter_classroom.sfu`)
drive Janus. A member's streams end when it leaves the room (left, kicked, disconnected) and a
room's VideoRoom goes when the room closes or nobody uses it any more.

Which video a room uses (its *mode*) is decided here too: with ``video_mode = "sfu"`` every
room is on the SFU; with ``"auto"`` a room starts as a mesh and goes to the SFU once its
present members reach ``sfu_threshold`` (then stays there until it closes). Members learn the
mode in their join/create/attach ack (``video: {mode}``) and hear ``rtc:mode`` when it switches.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import socketio

from .. import protocol as p
from ..protocol import ErrorCode, Event, ProtocolError, ok_ack
from ..rooms import Rooms
from ..sfu.janus_api import JanusClosed, JanusError
from ..sfu.service import Sfu
from ..sfu.videoroom import SfuUnavailable, VideoRooms
from .channels import Session, room_channel
from .quotas import PersonLimits

log = logging.getLogger("jupyter_classroom.sfu")

Handler = Callable[[str, Session, Any], Awaitable[dict[str, Any]]]


class SfuEvents:
    """The SFU's events; ``use_sfu`` switches them on (``video_mode`` "sfu" or "auto")."""

    sio: socketio.AsyncServer
    rooms: Rooms
    limits: PersonLimits
    sfu: Sfu | None = None
    # "auto": the rooms whose video went to the SFU (in this process; they stay until closed)
    _sfu_rooms: set[str]

    def use_sfu(self, sfu: Sfu) -> None:
        self.sfu = sfu
        self._sfu_rooms = set()
        sfu.rooms.on_change = self._send_publishers
        sfu.rooms.on_reset = self._send_reset

    def sfu_handlers(self) -> dict[str, Handler]:
        return {
            Event.RTC_PUBLISH: self.rtc_publish,
            Event.RTC_SUBSCRIBE: self.rtc_subscribe,
            Event.RTC_SUBSCRIBE_ANSWER: self.rtc_subscribe_answer,
            Event.RTC_UNPUBLISH: self.rtc_unpublish,
            Event.RTC_PUBLISHERS: self.rtc_publishers,
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
        async with janus_errors():
            answer = await self._video_rooms.publish(req.room_id, member_id, req.sdp)
        # the room hears of it when its media reaches Janus (VideoRooms.on_change)
        return ok_ack(sdp=answer)

    async def rtc_subscribe(
        self, sid: str, session: Session, req: p.RtcSubscribe
    ) -> dict[str, Any]:
        member_id = await self._sfu_member(sid, session, req.room_id)
        if req.member_id == member_id:
            raise ProtocolError(ErrorCode.BAD_REQUEST, "a member does not subscribe to itself")
        try:
            async with janus_errors():
                offer = await self._video_rooms.subscribe(req.room_id, member_id, req.member_id)
        except KeyError:
            raise ProtocolError(
                ErrorCode.NOT_FOUND, "that member publishes nothing in this room"
            ) from None
        return ok_ack(sdp=offer)

    async def rtc_subscribe_answer(
        self, sid: str, session: Session, req: p.RtcSubscribeAnswer
    ) -> dict[str, Any]:
        member_id = await self._sfu_member(sid, session, req.room_id, req.sdp)
        try:
            async with janus_errors():
                await self._video_rooms.start(req.room_id, member_id, req.member_id, req.sdp)
        except KeyError:
            raise ProtocolError(
                ErrorCode.NOT_FOUND, "no subscription to that member: send rtc:subscribe first"
            ) from None
        return ok_ack()

    async def rtc_unpublish(self, sid: str, session: Session, req: p.RoomRef) -> dict[str, Any]:
        member_id = await self._sfu_member(sid, session, req.room_id)
        async with janus_errors():
            if await self._video_rooms.unpublish(req.room_id, member_id):
                await self._send_publishers(req.room_id)
        return ok_ack()

    async def rtc_publishers(self, sid: str, session: Session, req: p.RoomRef) -> dict[str, Any]:
        # what a member that arrives after the announcements asks first
        await self._sfu_member(sid, session, req.room_id)
        return ok_ack(publishers=self._video_rooms.publishers(req.room_id))

    # ---------------------------------------------------------------------------------------
    # the room's video mode

    def video_mode(self, room_id: str) -> str:
        """``"sfu"`` when the room's video goes through Janus, else ``"mesh"``."""
        if self.sfu is None:
            return "mesh"
        if self.sfu.settings.mode == "sfu" or room_id in self._sfu_rooms:
            return "sfu"
        return "mesh"

    def with_video(self, ack: dict[str, Any], room_id: str) -> dict[str, Any]:
        """A join/create/attach ack with the room's video mode (a mesh-only server adds
        nothing: clients take a missing ``video`` for the mesh)."""
        if self.sfu is not None:
            ack["video"] = {"mode": self.video_mode(room_id)}
        return ack

    async def sfu_after_arrival(self, sid: str, room_id: str, present: int) -> None:
        """A member arrived (``present`` members now): with ``"auto"``, a room reaching the
        threshold goes to the SFU and its other members hear ``rtc:mode`` (the arriving
        socket reads the mode in its ack)."""
        sfu = self.sfu
        if sfu is None or sfu.settings.mode != "auto" or room_id in self._sfu_rooms:
            return
        if present >= sfu.settings.threshold:
            self._sfu_rooms.add(room_id)
            log.info("sfu: room %s has %d members: its video goes to the SFU", room_id, present)
            payload = {"room_id": room_id, "mode": "sfu"}
            await self.sio.emit(Event.RTC_MODE, payload, to=room_channel(room_id), skip_sid=sid)

    # ---------------------------------------------------------------------------------------
    # hooks of the room's life (events.py calls them)

    async def sfu_after_departure(self, room_id: str, member_id: str) -> None:
        """``member_id`` is out of the room: its stream and its subscriptions end."""
        if self.sfu is None:
            return
        try:
            if await self.sfu.rooms.leave(room_id, member_id):
                await self._send_publishers(room_id)
            if self.sfu.rooms.idle(room_id):
                await self.sfu.rooms.close_room(room_id)  # made again on the next publish
        except (JanusError, SfuUnavailable) as exc:
            log.warning("sfu: ending %s's streams in %s: %s", member_id, room_id, exc)

    async def sfu_room_closed(self, room_id: str) -> None:
        if self.sfu is not None:
            self._sfu_rooms.discard(room_id)
            try:
                await self.sfu.rooms.close_room(room_id)
            except (JanusError, SfuUnavailable) as exc:
                log.warning("sfu: closing the VideoRoom of %s: %s", room_id, exc)

    async def _send_publishers(
        self, room_id: str, publishers: list[str] | None = None, reset: bool = False
    ) -> None:
        if publishers is None:
            publishers = self.sfu.rooms.publishers(room_id) if self.sfu else []
        payload = {"room_id": room_id, "publishers": publishers, "reset": reset}
        await self.sio.emit(Event.RTC_PUBLISHERS, payload, to=room_channel(room_id))

    async def _send_reset(self, room_id: str) -> None:
        await self._send_publishers(room_id, [], reset=True)


@contextlib.asynccontextmanager
async def janus_errors() -> AsyncIterator[None]:
    """Janus's refusals as protocol errors: a bad SDP is the client's ``bad_request``; Janus
    out of reach is ``internal``, with a sentence saying so."""
    try:
        yield
    except (SfuUnavailable, JanusClosed) as exc:
        raise ProtocolError(ErrorCode.INTERNAL, f"{exc}; try again shortly") from exc
    except JanusError as exc:
        raise ProtocolError(
            ErrorCode.BAD_REQUEST, f"the video server refused this: {exc.reason}"
        ) from exc
