"""``MediaPeer``: a room member that sends and receives WebRTC media from Python (aiortc).

It is the browsers' video view without a browser: one ``PeerLink`` per remote member it
exchanges media with, signaled over ``rtc:signal`` through the member's own ``Connection``,
so tests and demo notebooks can publish a track, watch what arrives and record it.

It obeys the host's lecture controls as the browser view does: while the room's policy lets
no student publish (``rtc:policy``) and its member is not the host, it sends nothing (its
connections are renegotiated receive-only, which the server lets through) and keeps watching;
once allowed again it sends what it publishes. ``rtc:mute_all`` empties its audio senders
(:meth:`unmute` fills them again). Like the page, it tells the room with ``rtc:media`` whether
its microphone and camera are on. ``may_publish``, ``muted`` and :meth:`on_may_publish` show
the state to a notebook.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Awaitable, Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aiortc import MediaStreamTrack, RTCConfiguration, RTCIceServer
from aiortc.contrib.media import MediaRelay

from ..client.connection import ClassroomError, Connection, RoomState
from ..protocol import Event
from ..tasks import TaskSet
from .fanout import Fanout
from .link import LinkClosed, PeerLink
from .received import ReceivedTrack, ReceivedTracks
from .recording import Recording
from .signals import Signal, is_polite
from .tracks import file_tracks

if TYPE_CHECKING:
    from ..client.client import Client
    from .sync import SyncMediaPeer

log = logging.getLogger("jupyter_classroom.media")

TrackCallback = Callable[[ReceivedTrack], Any]
PolicyCallback = Callable[[bool], Any]
Source = MediaStreamTrack | str | os.PathLike[str]


class MediaPeer(ReceivedTracks):
    """WebRTC media for one member of one room, on the loop of its ``connection``.

    ``MediaPeer(connection, room_id)`` for a room the connection has joined (then ``await
    peer.start()``), or ``await MediaPeer(connection).join(room_id, password)``, which listens
    before it joins so no early offer is missed. From a notebook, use
    :meth:`for_client`.

    At start it offers to every member present (to receive what they publish, and send what
    it publishes); afterwards it answers offers, and offers to newcomers while it publishes.
    """

    def __init__(
        self,
        connection: Connection,
        room_id: str | None = None,
        *,
        ice_servers: Iterable[RTCIceServer] = (),
        receive: tuple[str, ...] = ("audio", "video"),
        offer_timeout: float = 1.0,
    ) -> None:
        self.connection = connection
        self.room_id = room_id
        self.links: dict[str, PeerLink] = {}
        self.tracks: dict[str, list[ReceivedTrack]] = {}
        self.published: list[MediaStreamTrack] = []
        self.recordings: list[Recording] = []
        self.receive = receive
        self.offer_timeout = offer_timeout
        self.configuration = RTCConfiguration(iceServers=list(ice_servers))
        self.started = False
        self.closed = False
        self._member_id: str | None = None
        self._reconnecting = False
        self._relay = MediaRelay()  # received tracks to their readers
        self._fanout = Fanout()  # published tracks to the connections
        self._track_callbacks: list[TrackCallback] = []
        self._waiting_recordings: list[Recording] = []
        self._tasks = TaskSet("media task", log)
        self._opened: list[MediaStreamTrack] = []  # tracks of files it opened
        self.muted = False  # the microphone is off (rtc:mute_all, or mute())
        self._allowed: bool | None = None  # may_publish as last acted on
        self._policy_callbacks: list[PolicyCallback] = []
        self._announced: tuple[bool, bool] | None = None  # the last rtc:media to the room
        self._listeners: list[tuple[str, Callable[[dict[str, Any]], Any]]] = [
            (Event.RTC_SIGNAL, self._on_signal),
            (Event.ROOM_MEMBER_JOINED, self._on_member_joined),
            (Event.ROOM_MEMBER_LEFT, self._on_member_left),
            (Event.ROOM_CLOSED, self._on_room_closed),
            (Event.RTC_POLICY, self._on_policy),
            (Event.ROOM_UPDATED, self._on_policy),  # the host role moved
            (Event.RTC_MUTE_ALL, self._on_mute_all),
            ("disconnect", self._on_disconnect),
            ("resync", self._on_resync),
        ]
        for event, listener in self._listeners:
            connection.on(event, listener)

    @classmethod
    def for_client(cls, client: Client, room_id: str | None = None, **kwargs: Any) -> SyncMediaPeer:
        """A started peer for ``client``'s current room (or ``room_id``) with a blocking API
        for notebook cells; its work runs on the client's own loop thread."""
        from .sync import SyncMediaPeer

        return SyncMediaPeer(client, room_id, **kwargs)

    # ---------------------------------------------------------------------------------------
    # the room

    @property
    def room(self) -> RoomState:
        if self.room_id is None or self.room_id not in self.connection.rooms:
            raise ClassroomError("not_member", "the media peer's room is not joined")
        return self.connection.rooms[self.room_id]

    @property
    def member_id(self) -> str:
        if self._member_id is None:
            self._member_id = str(self.room.you["id"])
        return self._member_id

    async def join(self, room_id: str, password: str | None = None) -> RoomState:
        """Join ``room_id`` and start (signals that arrive meanwhile are kept)."""
        self.room_id = room_id
        room = await self.connection.join(room_id, password)
        await self.start()
        return room

    async def start(self) -> None:
        """Offer to every member present. Errors for one member are logged, not raised."""
        if self.room_id is None:
            raise ClassroomError("not_member", "join a room first")
        self.started = True
        self._allowed = self.may_publish
        others = [m for m in self.room.members if m != self.member_id]
        await asyncio.gather(*(self._connect_quietly(m) for m in others))
        self._announce()

    async def connect(self, member_id: str) -> PeerLink:
        """Open (or reuse) the link with ``member_id`` and offer; raises ClassroomError when
        the server refuses the signal (``not_found``: no such member in this room)."""
        if self.closed:
            raise LinkClosed("the media peer is closed")
        if member_id == self.member_id:
            raise ValueError("a member does not connect to itself")
        link = self._link(member_id)
        try:
            await link.negotiate()
        except ClassroomError:
            await link.close(send_bye=False)
            raise
        return link

    async def signal(self, member_id: str, data: Signal) -> None:
        """Send one raw ``rtc:signal`` to ``member_id`` (what the links use)."""
        if self.room_id is None:
            raise ClassroomError("not_member", "join a room first")
        await self.connection.request(
            Event.RTC_SIGNAL, {"room_id": self.room_id, "to": member_id, "data": data}
        )

    async def _connect_quietly(self, member_id: str) -> None:
        try:
            await self.connect(member_id)
        except Exception as exc:
            log.warning("media: could not connect to %s: %r", member_id, exc)

    def _link(self, member_id: str) -> PeerLink:
        link = self.links.get(member_id)
        if link is None or link.closed:

            async def send(data: Signal) -> None:
                await self.signal(member_id, data)

            link = PeerLink(
                member_id,
                polite=lambda: is_polite(self.member_id, member_id),
                send=send,
                sources=lambda: self.published,
                subscribe=self._fanout.subscribe,
                configuration=self.configuration,
                on_track=self._on_link_track,
                on_closed=self._on_link_closed,
                receive=self.receive,
                offer_timeout=self.offer_timeout,
                may_send=lambda: self.may_publish,
                muted=lambda: self.muted,
            )
            self.links[member_id] = link
        return link

    # ---------------------------------------------------------------------------------------
    # publishing

    async def publish(
        self, source: Source, *, settle_timeout: float = 5.0
    ) -> list[MediaStreamTrack]:
        """Send a track (or a media file's tracks, given a path) to every member connected
        now or later. One source feeds every connection through a relay.

        Returns once every connected member has been offered the new track (so it has
        seen it arrive), or after ``settle_timeout``. While the host lets no student
        publish (``may_publish`` is false) the tracks wait, and go when it does."""
        if isinstance(source, (str, Path, os.PathLike)):
            tracks = file_tracks(source)
            self._opened.extend(tracks)
        else:
            tracks = [source]
        for track in tracks:
            if track not in self.published:
                self.published.append(track)
        if self.started and not self.may_publish:
            self._announce()
        elif self.started:
            settling = []
            for link in list(self.links.values()):
                connected = link.state == "connected"
                for track in tracks:
                    future = link.add_source(track)
                    if connected:
                        settling.append(future)
            if settling:
                await asyncio.wait(settling, timeout=settle_timeout)
            others = [m for m in self.room.members if m != self.member_id]
            await asyncio.gather(*(self._connect_quietly(m) for m in others))
            self._announce()
        return tracks

    async def unpublish(self, track: MediaStreamTrack) -> None:
        """Stop sending ``track`` (it ends at every receiver)."""
        if track in self.published:
            self.published.remove(track)
        track.stop()
        if self.started:
            self._announce()

    # ---------------------------------------------------------------------------------------
    # the host's lecture controls, and what the room is told (rtc:media)

    @property
    def may_publish(self) -> bool:
        """Whether the room's policy (``rtc:policy``, as the connection's replica holds it)
        lets this member send its tracks: the host always may."""
        room = self.connection.rooms.get(self.room_id or "")
        return room is None or room.is_host or bool(room.video_policy["students_publish"])

    def on_may_publish(self, callback: PolicyCallback) -> None:
        """Call ``callback(may_publish)`` whenever the host lets this member publish, or
        stops letting it (may be a coroutine function)."""
        self._policy_callbacks.append(callback)

    def mute(self) -> None:
        """Turn the microphone off: the audio senders send nothing (the video goes on)."""
        self.muted = True
        self._apply_mute()

    def unmute(self) -> None:
        """Turn the microphone on again (``forbidden`` while the host lets no student
        publish)."""
        if not self.may_publish:
            raise ClassroomError("forbidden", "the host does not let students publish now")
        self.muted = False
        self._apply_mute()

    def _apply_mute(self) -> None:
        for link in self.links.values():
            link.apply_mute()
        if self.started:
            self._announce()

    def _on_policy(self, payload: dict[str, Any]) -> None:
        """rtc:policy, or the host role moving (room:updated): act when this member's
        permission changed. The replica is up to date when listeners run."""
        room = payload.get("room")
        room_id = room.get("id") if isinstance(room, dict) else payload.get("room_id")
        if self.closed or room_id != self.room_id or not self.started:
            return
        allowed = self.may_publish
        if allowed == self._allowed:
            return
        self._allowed = allowed
        log.info("media: publishing %s in %s", "allowed" if allowed else "stopped", room_id)
        for link in list(self.links.values()):
            link.sending_changed()  # receive-only now, or sending again
        for member_id in [m for m in self.room.members if m != self.member_id]:
            if member_id not in self.links:  # (a refusal that crossed the change dropped it)
                self._spawn(self._connect_quietly(member_id))
        self._announce()
        for callback in self._policy_callbacks:
            try:
                result = callback(allowed)
                if asyncio.iscoroutine(result):
                    self._spawn(result)
            except Exception:
                log.exception("media: on_may_publish callback failed")

    def _on_mute_all(self, payload: dict[str, Any]) -> None:
        room = self.connection.rooms.get(self.room_id or "")
        # (the host's own other sockets hear it too: its page asked)
        if self._mine(payload) and room is not None and payload.get("by") != room.you["id"]:
            self.mute()

    def media_state(self) -> tuple[bool, bool]:
        """(audio, video): whether its microphone and camera are on, as the room is told:
        a live track of the kind it may send (and, for audio, is not muted)."""
        if not self.may_publish:
            return False, False
        live = {t.kind for t in self.published if t.readyState == "live"}
        return "audio" in live and not self.muted, "video" in live

    def _announce(self, to: str | None = None) -> None:
        """``rtc:media`` to the room when the state changed (or to ``to``, who just came)."""
        if self.closed or self.room_id not in self.connection.rooms:
            return
        audio, video = self.media_state()
        if to is None:
            if self._announced == (audio, video):
                return
            self._announced = (audio, video)
        payload: dict[str, Any] = {"room_id": self.room_id, "audio": audio, "video": video}
        if to is not None:
            payload["to"] = to
        self._spawn(self._send_media(payload))

    async def _send_media(self, payload: dict[str, Any]) -> None:
        try:
            await self.connection.request(Event.RTC_MEDIA, payload)
        except ClassroomError as exc:  # (rate_limited, or the member just left): tiles only
            log.debug("media: rtc:media not sent: %s", exc)

    # ---------------------------------------------------------------------------------------
    # receiving

    def on_track(self, callback: TrackCallback, *, replay: bool = True) -> None:
        """Call ``callback(received_track)`` for each track a member starts sending (may be
        a coroutine function); with ``replay``, at once for the live tracks already
        received, since a peer may connect before the callback is registered."""
        self._track_callbacks.append(callback)
        if replay:
            for received in [t for ts in self.tracks.values() for t in ts if not t.ended]:
                self._call_back(callback, received)

    def _call_back(self, callback: TrackCallback, received: ReceivedTrack) -> None:
        try:
            result = callback(received)
            if asyncio.iscoroutine(result):
                self._spawn(result)
        except Exception:
            log.exception("media: on_track callback failed")

    async def record(
        self, member_id: str, path: str | os.PathLike[str], *, format: str | None = None,
        options: dict[str, str] | None = None,
    ) -> Recording:  # fmt: skip
        """Record what ``member_id`` sends to ``path`` (starting when its tracks arrive, if
        they have not yet); ``await recording.stop()`` finishes the file."""
        recording = Recording(member_id, path, format=format, options=options)
        self.recordings.append(recording)
        live = [t for t in self.tracks.get(member_id, []) if not t.ended]
        if live:
            for received in live:
                recording.add(received)
        else:
            self._waiting_recordings.append(recording)
        return recording

    def _on_link_track(self, link: PeerLink, track: MediaStreamTrack) -> None:
        received = ReceivedTrack(link.remote_id, track, self._relay)
        self.tracks.setdefault(link.remote_id, []).append(received)
        for recording in self._waiting_recordings:
            if recording.member_id == link.remote_id:
                recording.add(received)  # it starts next loop turn, with its siblings
        self._waiting_recordings = [r for r in self._waiting_recordings if not r.tracks]
        for callback in self._track_callbacks:
            self._call_back(callback, received)

    def _on_link_closed(self, link: PeerLink) -> None:
        if self.links.get(link.remote_id) is link:
            del self.links[link.remote_id]

    # ---------------------------------------------------------------------------------------
    # room events (listeners on the connection, called in arrival order)

    def _mine(self, payload: dict[str, Any]) -> bool:
        return not self.closed and payload.get("room_id") == self.room_id

    def _on_signal(self, payload: dict[str, Any]) -> None:
        if not self._mine(payload):
            return
        sender, data = str(payload.get("from")), payload.get("data") or {}
        link = self.links.get(sender)
        if link is None or link.closed:
            if data.get("type") != "offer":
                return  # an answer, candidate or bye for a link that is gone
            link = self._link(sender)
        link.post_signal(data)

    def _on_member_joined(self, payload: dict[str, Any]) -> None:
        if not self._mine(payload) or not self.started:
            return
        member_id = str(payload["member"]["id"])
        stale = self.links.pop(member_id, None)
        if stale is not None:  # the same member back (a reconnect): start over
            self._spawn(stale.close(send_bye=False))
        if self.published and self.may_publish:
            self._spawn(self._connect_quietly(member_id))
        if member_id != self._member_id:
            self._announce(to=member_id)  # it cannot know yet whether we are muted

    def _on_member_left(self, payload: dict[str, Any]) -> None:
        if not self._mine(payload):
            return
        member_id = str(payload["member_id"])
        if member_id == self._member_id or self.room_id not in self.connection.rooms:
            # it was us (left, kicked): out of the room
            self._spawn(self._close_links(send_bye=False))
            return
        link = self.links.pop(member_id, None)
        if link is not None:
            self._spawn(link.close(send_bye=False))

    def _on_room_closed(self, payload: dict[str, Any]) -> None:
        if self._mine(payload):
            self._spawn(self._close_links(send_bye=False))

    def _on_disconnect(self, payload: dict[str, Any]) -> None:
        self._reconnecting = True

    def _on_resync(self, payload: dict[str, Any]) -> None:
        """Back in the room after a reconnect: the others dropped us when our socket went
        (``room:member_left``), so connect afresh."""
        if self._mine(payload) and self._reconnecting and self.started:
            self._reconnecting = False
            self._spawn(self._restart())

    async def _restart(self) -> None:
        await self._close_links(send_bye=False)
        self._announced = None  # what we said while away may be lost: say it again
        await self.start()

    def _spawn(self, coro: Awaitable[Any]) -> None:
        self._tasks.spawn(coro)

    # ---------------------------------------------------------------------------------------
    # closing

    async def _close_links(self, *, send_bye: bool) -> None:
        links = list(self.links.values())
        self.links.clear()
        await asyncio.gather(*(link.close(send_bye=send_bye) for link in links))

    async def close(self) -> None:
        """Say ``bye`` to every connected member, close every connection, finish the
        recordings and stop listening. The connection itself stays open, and so do the
        tracks it was given to publish (``unpublish`` stops one); files it opened close."""
        if self.closed:
            return
        await self._close_links(send_bye=self.room_id in self.connection.rooms)
        self.closed = True
        for event, listener in self._listeners:
            self.connection.off(event, listener)
        for recording in self.recordings:
            try:
                await recording.stop()
            except Exception:
                log.exception("media: could not finish %s", recording)
        await asyncio.gather(*(t.stop() for ts in self.tracks.values() for t in ts))
        await self._fanout.close()
        for track in self._opened:
            track.stop()  # a media file's player thread ends with its tracks

    async def __aenter__(self) -> MediaPeer:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def __repr__(self) -> str:
        return f"<MediaPeer room={self.room_id} links={list(self.links)}>"
