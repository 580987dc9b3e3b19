"""Media peers driven from notebook cells: :func:`video_peer`, ``SyncMediaPeer`` (the mesh)
and ``SyncSfuPeer`` (through the SFU), one blocking API for both.

A ``Client`` runs its socket on its own loop thread, and aiortc objects belong to the loop
that made them, so the peer lives on that loop too; these blocking methods hand each call
over and wait for it, and callbacks run on the client's thread.
"""

from __future__ import annotations

import asyncio
import os
from abc import ABC, abstractmethod
from collections.abc import Coroutine, Iterable
from typing import TYPE_CHECKING, Any, TypeVar

from aiortc import MediaStreamTrack, RTCIceServer

from .link import PeerLink
from .received import ReceivedTrack, TrackCallback, TrackWatch
from .recording import Recording
from .sfu_peer import SfuPeer

if TYPE_CHECKING:
    from ..client.client import Client
    from .peer import MediaPeer, PolicyCallback, Source

T = TypeVar("T")


def video_peer(
    client: Client, room_id: str | None = None, *, ice_servers: Iterable[RTCIceServer] = (),
    timeout: float = 15.0,
) -> SyncPeer:  # fmt: skip
    """A started video peer for ``client``'s current room (or ``room_id``), of the kind the
    room's video takes: peer to peer (:class:`SyncMediaPeer`) in a mesh room, through the
    SFU (:class:`SyncSfuPeer`) in a room whose mode is ``"sfu"``. Both offer the same
    blocking API (:class:`SyncPeer`), so a notebook works with either."""
    room = client.connection.rooms.get(room_id or client.room.id)
    if room is not None and room.video_mode == "sfu":
        return SyncSfuPeer(client, room_id, ice_servers=ice_servers, timeout=timeout)
    return SyncMediaPeer(client, room_id, ice_servers=ice_servers, timeout=timeout)


class SyncRecording:
    """A :class:`Recording` with a blocking ``stop()``."""

    def __init__(self, peer: SyncPeer, recording: Recording) -> None:
        self._peer = peer
        self.recording = recording

    @property
    def path(self) -> str:
        return self.recording.path

    @property
    def started(self) -> bool:
        return self.recording.started

    def stop(self) -> str:
        """Finish the file; returns its path."""
        self._peer._call(self.recording.stop())
        return self.recording.path

    def __repr__(self) -> str:
        return repr(self.recording)


class SyncPeer(ABC):
    """The blocking face of a media peer running on ``client``'s loop (``.aio``, for
    coroutines on that loop)."""

    mode: str  # "mesh" or "sfu": how its video goes
    aio: MediaPeer | SfuPeer

    def __init__(self, client: Client, timeout: float) -> None:
        self.client = client
        self.timeout = timeout

    def _call(self, coro: Coroutine[Any, Any, T], timeout: float | None = None) -> T:
        loop = self.client._loop.loop
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            coro.close()
            raise RuntimeError(f"a {type(self).__name__} call would block its own loop: use .aio")
        return self.client._loop.submit(coro).result(timeout or self.timeout)

    # ---------------------------------------------------------------------------------------
    # the same for both kinds

    @property
    def member_id(self) -> str:
        return self.aio.member_id

    @property
    def tracks(self) -> dict[str, list[ReceivedTrack]]:
        """Received tracks by member id (a snapshot)."""
        return {member: list(tracks) for member, tracks in self.aio.tracks.items()}

    @property
    def published(self) -> list[MediaStreamTrack]:
        return list(self.aio.published)

    @property
    def may_publish(self) -> bool:
        """Whether the host lets this member send its camera and microphone now (the host
        always may; see ``Classroom.lecture``)."""
        return self.aio.may_publish

    @property
    def muted(self) -> bool:
        """Whether its microphone is off (``mute()``, or the host's Mute all)."""
        return self.aio.muted

    def mute(self) -> None:
        self._call(_run(self.aio.mute))

    def unmute(self) -> None:
        """Turn the microphone on again (``forbidden`` while the host lets no student
        publish)."""
        self._call(_run(self.aio.unmute))

    def video(self, member_id: str) -> ReceivedTrack | None:
        """The live video track from ``member_id``, if one is arriving."""
        return self.aio.video(member_id)

    def wait_for_track(
        self, member_id: str, kind: str = "video", timeout: float = 10.0,
        *, other_than: Iterable[ReceivedTrack] = (),
    ) -> ReceivedTrack:  # fmt: skip
        """Wait for the newest live ``kind`` track from ``member_id`` but ``other_than``."""
        coro = self.aio.wait_for_track(member_id, kind, timeout, other_than=list(other_than))
        return self._call(coro, timeout + 5)

    def wait_frames(
        self, member_id: str, count: int, *, kind: str = "video", timeout: float = 10.0,
        other_than: Iterable[ReceivedTrack] = (),
    ) -> ReceivedTrack:  # fmt: skip
        """Wait until ``count`` frames of ``member_id``'s ``kind`` track have arrived (the
        newest track but ``other_than``: a track that came after a change)."""
        excluded = list(other_than)

        async def wait() -> ReceivedTrack:
            loop = asyncio.get_running_loop()
            deadline = loop.time() + timeout
            received = await self.aio.wait_for_track(member_id, kind, timeout, other_than=excluded)
            await received.wait_frames(count, max(0.0, deadline - loop.time()))
            return received

        return self._call(wait(), timeout + 5)

    def __enter__(self) -> SyncPeer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---------------------------------------------------------------------------------------
    # each kind its own way

    @abstractmethod
    def publish(self, source: Source) -> list[MediaStreamTrack]:
        """Send a track, or a media file's tracks, too; returns the tracks."""

    @abstractmethod
    def unpublish(self, track: MediaStreamTrack) -> None:
        """Stop sending ``track``."""

    @abstractmethod
    def on_track(self, callback: TrackCallback, *, replay: bool = True) -> None:
        """``callback(received_track)`` on the client's thread for each new track (and,
        with ``replay``, for the live tracks already received)."""

    @abstractmethod
    def record(self, member_id: str, path: str | os.PathLike[str], **kwargs: Any) -> SyncRecording:
        """Record what ``member_id`` sends (from when its tracks arrive, if they have not
        yet); ``.stop()`` the result to finish the file."""

    @abstractmethod
    def close(self) -> None:
        """Hang up: close every connection, finish the recordings."""

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.mode} {self.aio!r}>"


async def _run(function: Any, *args: Any) -> Any:
    """``function(*args)`` on the peer's loop (its state belongs to that loop)."""
    return function(*args)


class SyncMediaPeer(SyncPeer):
    """:class:`MediaPeer` (the mesh) from notebook cells."""

    mode = "mesh"
    aio: MediaPeer

    def __init__(
        self, client: Client, room_id: str | None = None, *, timeout: float = 15.0,
        **kwargs: Any,
    ) -> None:  # fmt: skip
        super().__init__(client, timeout)
        room_id = room_id or client.room.id
        self.aio = self._call(self._make(client, room_id, kwargs))

    @staticmethod
    async def _make(client: Client, room_id: str, kwargs: dict[str, Any]) -> MediaPeer:
        from .peer import MediaPeer

        peer = MediaPeer(client.connection, room_id, **kwargs)
        await peer.start()
        return peer

    @property
    def links(self) -> dict[str, PeerLink]:
        return dict(self.aio.links)

    def publish(self, source: Source) -> list[MediaStreamTrack]:
        """Send a track, or a media file's tracks, to every member (while the host lets no
        student publish, they wait and go when it does)."""
        return self._call(self.aio.publish(source))

    def unpublish(self, track: MediaStreamTrack) -> None:
        self._call(self.aio.unpublish(track))

    def connect(self, member_id: str) -> PeerLink:
        return self._call(self.aio.connect(member_id))

    def on_track(self, callback: TrackCallback, *, replay: bool = True) -> None:
        self._call(_run(lambda: self.aio.on_track(callback, replay=replay)))

    def on_may_publish(self, callback: PolicyCallback) -> None:
        """``callback(may_publish)`` on the client's thread when the host lets this member
        publish, or stops letting it."""
        self._call(_run(self.aio.on_may_publish, callback))

    def record(self, member_id: str, path: str | os.PathLike[str], **kwargs: Any) -> SyncRecording:
        return SyncRecording(self, self._call(self.aio.record(member_id, path, **kwargs)))

    def close(self) -> None:
        """``bye`` to everyone, close every connection, finish recordings."""
        self._call(self.aio.close())


class SyncSfuPeer(SyncPeer):
    """:class:`SfuPeer` (through the SFU) from notebook cells. It watches every member who
    publishes; ``publish`` adds a track to what it sends (the SFU gets them all again, in
    one stream, so the others' views of it start over)."""

    mode = "sfu"
    aio: SfuPeer

    def __init__(
        self, client: Client, room_id: str | None = None, *, timeout: float = 15.0,
        ice_servers: Iterable[RTCIceServer] = (),
    ) -> None:  # fmt: skip
        super().__init__(client, timeout)
        room_id = room_id or client.room.id
        self.aio = self._call(self._make(client, room_id, ice_servers))
        self._watch = TrackWatch(self.aio)
        self._recordings: list[Recording] = []

    @staticmethod
    async def _make(client: Client, room_id: str, ice_servers: Iterable[RTCIceServer]) -> SfuPeer:
        peer = SfuPeer(client.connection, room_id, ice_servers=ice_servers)
        await peer.start()
        return peer

    def publish(self, source: Source) -> list[MediaStreamTrack]:
        """Send a track, or a media file's tracks, too (``forbidden`` while the host lets no
        student publish)."""
        before = len(self.aio.published)
        tracks = self._call(self.aio.publish(*self.aio.published, source))
        return tracks[before:]

    def unpublish(self, track: MediaStreamTrack) -> None:
        rest = [t for t in self.aio.published if t is not track]
        self._call(self.aio.publish(*rest) if rest else self.aio.unpublish())

    def on_track(self, callback: TrackCallback, *, replay: bool = True) -> None:
        self._call(_run(lambda: self._watch.add(callback, replay=replay)))

    def record(self, member_id: str, path: str | os.PathLike[str], **kwargs: Any) -> SyncRecording:
        async def start() -> Recording:
            recording = Recording(member_id, path, **kwargs)
            self._recordings.append(recording)
            live = [t for t in self.aio.tracks.get(member_id, []) if not t.ended]
            for received in live:
                recording.add(received)
            if not live:  # the tracks of one subscription arrive together: the first ones

                def arrived(received: ReceivedTrack) -> None:
                    if received.member_id == member_id:
                        recording.add(received)  # (ignored once it started)

                self._watch.add(arrived, replay=False)
            return recording

        return SyncRecording(self, self._call(start()))

    def close(self) -> None:
        """Stop publishing and watching, finish recordings."""

        async def close() -> None:
            await self._watch.close()
            for recording in self._recordings:
                await recording.stop()
            await self.aio.close()

        self._call(close())
