"""``SfuPeer``: a room member that publishes and watches video through the room's SFU.

Where :class:`~.peer.MediaPeer` opens one connection per remote member (the mesh), an
``SfuPeer`` sends its camera once, to the SFU (``rtc:publish``), and opens one receiving
connection per member it watches (``rtc:subscribe``, then ``rtc:subscribe_answer``). All of it
goes through the member's own socket: the room server drives Janus, the peer never sees it.

It watches every publisher the room announces (``rtc:publishers``) unless ``watch=False``;
after the SFU restarted (``reset``) it publishes again what it published.

It obeys the host's lecture controls: when the room's ``rtc:policy`` says students may not
publish it stops sending (the server stopped its feed in Janus already, and refuses
``rtc:publish`` until the host allows it: :meth:`publish` raises ``forbidden`` meanwhile);
``rtc:mute_all`` turns its microphone off (:meth:`unmute` turns it on again).

It publishes one layer of video (aiortc has no simulcast); of a browser publisher, which
sends two, it may take the small one (:meth:`set_layer`).

In a room whose video is still a mesh (``video_mode = "auto"`` below its threshold) it waits:
what it publishes goes to the SFU, and it starts watching, when the room hears ``rtc:mode``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Literal

from aiortc import (
    MediaStreamTrack,
    RTCConfiguration,
    RTCIceServer,
    RTCPeerConnection,
    RTCSessionDescription,
)
from aiortc.contrib.media import MediaRelay

from ..client.connection import ClassroomError, Connection
from ..protocol import Event
from ..tasks import TaskSet
from .received import ReceivedTrack, ReceivedTracks
from .tracks import file_tracks

log = logging.getLogger("jupyter_classroom.media")

Source = MediaStreamTrack | str | os.PathLike[str]


class SfuPeer(ReceivedTracks):
    """SFU media for one member of one joined room, on the loop of its ``connection``."""

    def __init__(
        self,
        connection: Connection,
        room_id: str,
        *,
        ice_servers: Iterable[RTCIceServer] = (),
        watch: bool = True,
    ) -> None:
        self.connection = connection
        self.room_id = room_id
        self.watch = watch
        self.configuration = RTCConfiguration(iceServers=list(ice_servers))
        self.published: list[MediaStreamTrack] = []
        self.publishers: list[str] = []  # as the room last announced them
        self.tracks: dict[str, list[ReceivedTrack]] = {}
        self.closed = False
        self._outgoing: RTCPeerConnection | None = None
        self._incoming: dict[str, RTCPeerConnection] = {}
        self._relay_in = MediaRelay()
        self._relay_out = MediaRelay()  # a source outlives the connections that send it
        self._opened: list[MediaStreamTrack] = []
        self._tasks = TaskSet("sfu media task", log)
        self._following = asyncio.Lock()  # one change of the publishers at a time
        self.muted = False  # the microphone is off (mute_all, or mute())
        self._listeners = [
            (Event.RTC_POLICY, self._on_policy),
            (Event.RTC_MUTE_ALL, self._on_mute_all),
            (Event.RTC_MODE, self._on_mode),
            (Event.RTC_PUBLISHERS, self._on_publishers),
            (Event.ROOM_MEMBER_LEFT, self._on_member_left),
            (Event.ROOM_CLOSED, self._on_room_closed),
        ]
        for event, listener in self._listeners:
            connection.on(event, listener)

    @property
    def member_id(self) -> str:
        room = self.connection.rooms.get(self.room_id)
        if room is None:
            raise ClassroomError("not_member", "the SFU peer's room is not joined")
        return str(room.you["id"])

    def _connection(self) -> RTCPeerConnection:
        return RTCPeerConnection(self.configuration)

    async def start(self) -> list[str]:
        """Ask who publishes now (a member that joined after the announcements) and, with
        ``watch``, watch them; later announcements are followed as they come."""
        if not self.on_sfu:
            return []  # a mesh room: rtc:mode starts it
        ack = await self.connection.request(Event.RTC_PUBLISHERS, {"room_id": self.room_id})
        self._on_publishers({"room_id": self.room_id, "publishers": ack["publishers"]})
        return list(self.publishers)

    # ---------------------------------------------------------------------------------------
    # publishing

    async def publish(self, *sources: Source) -> list[MediaStreamTrack]:
        """Send these tracks (or a media file's) through the SFU, replacing what it sent."""
        tracks: list[MediaStreamTrack] = []
        for source in sources:
            if isinstance(source, (str, Path, os.PathLike)):
                opened = file_tracks(source)
                self._opened.extend(opened)
                tracks.extend(opened)
            else:
                tracks.append(source)
        self.published = tracks
        if self.on_sfu:
            await self._send_published()
        # (else rtc:mode sends them)
        return tracks

    @property
    def on_sfu(self) -> bool:
        """Whether the room's video goes through the SFU now (else it is a mesh, for now)."""
        room = self.connection.rooms.get(self.room_id)
        return room is not None and room.video_mode == "sfu"

    def _on_mode(self, payload: dict[str, Any]) -> None:
        if self._mine(payload) and payload.get("mode") == "sfu":
            self._tasks.spawn(self._to_sfu())

    async def _to_sfu(self) -> None:
        """The room went to the SFU: publish what waited, watch who publishes."""
        if self.published and self.may_publish:
            await self._send_published()
        if self.watch:
            await self.start()

    async def _send_published(self) -> None:
        await self._close_outgoing()
        pc = self._outgoing = self._connection()
        for track in self.published:
            pc.addTrack(self._relay_out.subscribe(track, buffered=False))
        await pc.setLocalDescription(await pc.createOffer())  # gathers every candidate
        try:
            ack = await self.connection.request(
                Event.RTC_PUBLISH, {"room_id": self.room_id, "sdp": pc.localDescription.sdp}
            )
        except ClassroomError:
            await self._close_outgoing()
            raise
        await pc.setRemoteDescription(RTCSessionDescription(ack["sdp"], "answer"))
        if self.muted:
            self._send_audio(False)

    # ---------------------------------------------------------------------------------------
    # the host's lecture controls

    @property
    def may_publish(self) -> bool:
        """Whether the room's policy (rtc:policy, as the connection's replica holds it) lets
        this member publish: the host always may."""
        room = self.connection.rooms.get(self.room_id)
        return room is None or room.is_host or room.video_policy["students_publish"]

    def _on_policy(self, payload: dict[str, Any]) -> None:
        if not self._mine(payload):
            return
        if not self.may_publish and self._outgoing is not None:
            # Janus's feed is gone already (the server stopped it): only our side is left
            self._tasks.spawn(self._close_outgoing())

    def _on_mute_all(self, payload: dict[str, Any]) -> None:
        if self._mine(payload) and payload.get("by") != self.member_id:
            self.mute()

    def _send_audio(self, on: bool) -> None:
        pc = self._outgoing
        if pc is None:
            return
        audio = [t for t in self.published if t.kind == "audio"]
        for sender in pc.getSenders():
            if sender.kind == "audio" and audio:
                sender.replaceTrack(
                    self._relay_out.subscribe(audio[0], buffered=False) if on else None
                )

    def mute(self) -> None:
        """Turn the microphone off: the audio sender sends nothing (the video goes on)."""
        self.muted = True
        self._send_audio(False)

    def unmute(self) -> None:
        """Turn the microphone on again (refused while the host lets no student publish)."""
        if not self.may_publish:
            raise ClassroomError("forbidden", "the host does not let students publish now")
        self.muted = False
        self._send_audio(True)

    async def unpublish(self) -> None:
        """Stop sending (the room hears it in ``rtc:publishers``)."""
        self.published = []
        await self._close_outgoing()
        await self.connection.request(Event.RTC_UNPUBLISH, {"room_id": self.room_id})

    async def _close_outgoing(self) -> None:
        pc, self._outgoing = self._outgoing, None
        if pc is not None:
            await pc.close()

    @property
    def sending(self) -> RTCPeerConnection | None:
        """The connection to the SFU it publishes on (for its stats)."""
        return self._outgoing

    def receiving(self, member_id: str) -> RTCPeerConnection | None:
        """The connection ``member_id``'s stream comes down on, if watched (for its stats)."""
        return self._incoming.get(member_id)

    # ---------------------------------------------------------------------------------------
    # watching

    async def subscribe(self, member_id: str) -> None:
        """Watch ``member_id`` through the SFU (ClassroomError ``not_found`` when it does
        not publish); its tracks arrive in ``tracks[member_id]``."""
        await self._close_incoming(member_id)
        pc = self._incoming[member_id] = self._connection()

        @pc.on("track")
        def on_track(track: MediaStreamTrack) -> None:
            received = ReceivedTrack(member_id, track, self._relay_in)
            self.tracks.setdefault(member_id, []).append(received)

        try:
            ack = await self.connection.request(
                Event.RTC_SUBSCRIBE, {"room_id": self.room_id, "member_id": member_id}
            )
            await pc.setRemoteDescription(RTCSessionDescription(ack["sdp"], "offer"))
            await pc.setLocalDescription(await pc.createAnswer())
            await self.connection.request(
                Event.RTC_SUBSCRIBE_ANSWER,
                {"room_id": self.room_id, "member_id": member_id, "sdp": pc.localDescription.sdp},
            )
        except BaseException:
            await self._close_incoming(member_id)
            raise

    async def set_layer(self, member_id: str, layer: Literal["high", "low"]) -> None:
        """Take the ``high`` (full) or ``low`` (a quarter of the size) simulcast layer of
        ``member_id``, which this peer watches (``rtc:layer``; ClassroomError ``not_found``
        when it does not). Browsers publish both layers; an aiortc publisher sends one (aiortc
        has no simulcast), which its watchers get whichever layer they ask for."""
        await self.connection.request(
            Event.RTC_LAYER, {"room_id": self.room_id, "publisher": member_id, "layer": layer}
        )

    async def unsubscribe(self, member_id: str) -> None:
        await self._close_incoming(member_id)

    async def _close_incoming(self, member_id: str) -> None:
        pc = self._incoming.pop(member_id, None)
        if pc is not None:
            await pc.close()
        for received in self.tracks.pop(member_id, []):
            await received.stop()

    # ---------------------------------------------------------------------------------------
    # room events

    def _mine(self, payload: dict[str, Any]) -> bool:
        return not self.closed and payload.get("room_id") == self.room_id

    def _on_publishers(self, payload: dict[str, Any]) -> None:
        if not self._mine(payload):
            return
        self.publishers = [str(m) for m in payload.get("publishers", [])]
        if payload.get("reset"):
            self._tasks.spawn(self._after_reset())
        elif self.watch:  # each announcement in turn: a republished stream is one out, one in
            self._tasks.spawn(self._follow_publishers(list(self.publishers)))

    async def _follow_publishers(self, publishers: list[str]) -> None:
        async with self._following:
            await self._follow(publishers)

    async def _follow(self, publishers: list[str]) -> None:
        me = self.member_id
        for gone in [m for m in self._incoming if m not in publishers]:
            await self._close_incoming(gone)
        for member_id in publishers:
            if member_id != me and member_id not in self._incoming:
                try:
                    await self.subscribe(member_id)
                except ClassroomError as exc:  # it stopped meanwhile
                    log.info("sfu: could not watch %s: %s", member_id, exc)

    async def _after_reset(self) -> None:
        """The SFU lost every stream: publish again; watch again when the room says who."""
        async with self._following:
            for member_id in list(self._incoming):
                await self._close_incoming(member_id)
        if self.published:
            await self._send_published()

    def _on_member_left(self, payload: dict[str, Any]) -> None:
        if self._mine(payload) and payload.get("member_id") in self._incoming:
            self._tasks.spawn(self._close_incoming(str(payload["member_id"])))

    def _on_room_closed(self, payload: dict[str, Any]) -> None:
        if self._mine(payload):
            self._tasks.spawn(self._close_all())

    # ---------------------------------------------------------------------------------------
    # closing

    async def _close_all(self) -> None:
        await self._close_outgoing()
        for member_id in list(self._incoming):
            await self._close_incoming(member_id)

    async def close(self) -> None:
        """Close every connection and stop listening; the room hears the stream end when
        the server tears it down (leave) or, while still a member, at once (unpublish)."""
        if self.closed:
            return
        if self._outgoing is not None and self.room_id in self.connection.rooms:
            with contextlib.suppress(ClassroomError):
                await self.connection.request(Event.RTC_UNPUBLISH, {"room_id": self.room_id})
        self.closed = True
        for event, listener in self._listeners:
            self.connection.off(event, listener)
        await self._close_all()
        await self._tasks.cancel_all()
        for track in self._opened:
            track.stop()

    async def __aenter__(self) -> SfuPeer:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def __repr__(self) -> str:
        return f"<SfuPeer room={self.room_id} watching={list(self._incoming)}>"
