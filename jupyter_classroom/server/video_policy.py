"""The host's lecture controls: ``rtc:policy`` (students may publish or not; the lecture
layout) and ``rtc:mute_all``. A part of :class:`~.events.RoomServer`.

The policy is kept in the Store with the room (every process reads it: a student's
``rtc:publish`` may reach another process than the host's ``rtc:policy``), sent to the room as
``rtc:policy`` when it changes and given in join/create/attach acks (``video_policy``).

What the server enforces when ``students_publish`` is false, for members other than the host:

- SFU: ``rtc:publish`` is refused (``forbidden``) and the feeds already published are stopped
  in Janus (on every process: a Janus kick for those published through another one).
- mesh: the server cannot reach into peer-to-peer media, but every connection's media is
  negotiated through it. It refuses (``forbidden``) a member's ``rtc:signal`` offer or answer
  whose SDP would *send* audio or video (an ``m=audio``/``m=video`` section that is
  ``sendrecv``/``sendonly``, the default, with a port); a receive-only offer or answer still
  goes through, so a student that only watches keeps the host's video. Connections negotiated
  before the change keep flowing until renegotiated: a compliant client stops its tracks on
  hearing ``rtc:policy`` (the labextension and the Python peers do), and can negotiate sending
  media again only once the host allows it.

``rtc:mute_all`` only asks: microphones are the members' (a member may turn it on again while
publishing is allowed).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Collection
from typing import Any

import socketio

from .. import protocol as p
from ..protocol import ErrorCode, Event, ProtocolError, ok_ack
from ..rooms import Rooms
from ..sfu.janus_api import JanusError
from ..sfu.service import Sfu
from ..sfu.videoroom import SfuUnavailable
from .channels import Session, room_channel
from .quotas import PersonLimits

Handler = Callable[[str, Session, Any], Awaitable[dict[str, Any]]]

DEFAULT_POLICY: dict[str, bool] = {"students_publish": True, "lecture": False}
SENDING = ("sendrecv", "sendonly")


def sdp_sends_media(sdp: str) -> bool:
    """Whether an offer/answer ``sdp`` negotiates sending audio or video: an ``m=audio`` or
    ``m=video`` section with a non-zero port whose direction is sendrecv (the default when
    the section says none) or sendonly. (A session-level direction applies to sections that
    name none.)"""
    session_direction = "sendrecv"
    sections: list[tuple[str, str, str | None]] = []  # (kind, port, direction)
    for raw in sdp.splitlines():
        line = raw.strip()
        if line.startswith("m="):
            fields = line[2:].split()
            sections.append(
                (fields[0] if fields else "", fields[1] if len(fields) > 1 else "0", None)
            )
        elif line[2:] in ("sendrecv", "sendonly", "recvonly", "inactive") and line.startswith("a="):
            if sections:
                kind, port, _ = sections[-1]
                sections[-1] = (kind, port, line[2:])
            else:
                session_direction = line[2:]
    return any(
        kind in ("audio", "video") and port != "0" and (direction or session_direction) in SENDING
        for kind, port, direction in sections
    )


class VideoPolicyEvents:
    """``rtc:policy`` and ``rtc:mute_all``; the checks rtc:publish and rtc:signal use."""

    sio: socketio.AsyncServer
    rooms: Rooms
    limits: PersonLimits
    sfu: Sfu | None

    def video_policy_handlers(self) -> dict[str, Handler]:
        return {Event.RTC_POLICY: self.rtc_policy, Event.RTC_MUTE_ALL: self.rtc_mute_all}

    async def room_video_policy(self, room_id: str) -> dict[str, bool]:
        raw = await self.rooms.store.video_policy(room_id)
        return {**DEFAULT_POLICY, **(json.loads(raw) if raw else {})}

    async def with_video_policy(self, ack: dict[str, Any], room_id: str) -> dict[str, Any]:
        ack["video_policy"] = await self.room_video_policy(room_id)
        return ack

    async def may_publish(self, room_id: str, member_id: str) -> bool:
        """Whether ``member_id`` may send audio/video in the room now."""
        if (await self.room_video_policy(room_id))["students_publish"]:
            return True
        room = await self.rooms.store.get_room(room_id)
        return room is not None and room.host_id == member_id

    async def require_may_publish(self, room_id: str, member_id: str) -> None:
        if not await self.may_publish(room_id, member_id):
            raise ProtocolError(
                ErrorCode.FORBIDDEN, "the host does not let students publish in this room now"
            )

    async def check_signal(self, room_id: str, member_id: str, data: p.RtcData) -> None:
        """A mesh offer/answer that would send media, from a member that may not publish:
        refused (module docstring)."""
        if data.type in ("offer", "answer") and data.sdp and sdp_sends_media(data.sdp):
            await self.require_may_publish(room_id, member_id)

    async def rtc_policy(self, sid: str, session: Session, req: p.RtcPolicy) -> dict[str, Any]:
        self.limits.take_churn(session.limit_key)
        host_id = session.rooms.get(req.room_id)
        await self.rooms.require_host(req.room_id, host_id, sid)
        async with self.rooms.store.room_lock(f"{req.room_id}:policy"):
            policy = await self.room_video_policy(req.room_id)
            if req.students_publish is not None:
                policy["students_publish"] = req.students_publish
            if req.lecture is not None:
                policy["lecture"] = req.lecture
            if not await self.rooms.store.set_video_policy(req.room_id, json.dumps(policy)):
                raise ProtocolError(ErrorCode.NOT_FOUND, f"there is no room {req.room_id!r}")
            # the room hears each change in the order the Store took them
            event = {"room_id": req.room_id, **policy}
            await self.sio.emit(Event.RTC_POLICY, event, to=room_channel(req.room_id))
        if not policy["students_publish"]:
            await self._stop_student_feeds(req.room_id, host_id or "")
        return ok_ack(**policy)

    async def _stop_student_feeds(self, room_id: str, host_id: str) -> None:
        """Unpublish every feed but the host's, in Janus: those through this process, and
        (a kick) those through other processes."""
        sfu = self.sfu
        if sfu is None:
            return
        try:
            stopped = False
            for member_id in await sfu.rooms.publishers(room_id, without=(host_id,)):
                dropped = await sfu.rooms.unpublish(room_id, member_id)
                stopped = await sfu.rooms.kick_elsewhere(room_id, member_id) or dropped or stopped
        except (JanusError, SfuUnavailable) as exc:
            raise ProtocolError(
                ErrorCode.INTERNAL, f"the policy is kept but the video server failed: {exc}"
            ) from exc
        if stopped:
            await self._send_publishers(room_id)

    async def _send_publishers(self, room_id: str, without: Collection[str] = ()) -> None:
        raise NotImplementedError  # SfuEvents (a subclass) announces the publishers

    async def rtc_mute_all(self, sid: str, session: Session, req: p.RoomRef) -> dict[str, Any]:
        self.limits.take_churn(session.limit_key)
        host_id = session.rooms.get(req.room_id)
        await self.rooms.require_host(req.room_id, host_id, sid)
        event = {"room_id": req.room_id, "by": host_id}
        await self.sio.emit(Event.RTC_MUTE_ALL, event, to=room_channel(req.room_id), skip_sid=sid)
        return ok_ack()
