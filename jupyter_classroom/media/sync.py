"""``SyncMediaPeer``: a MediaPeer driven from notebook cells.

A ``Client`` runs its socket on its own loop thread, and aiortc objects belong to the loop
that made them, so the peer lives on that loop too; these blocking methods hand each call
over and wait for it, and callbacks run on the client's thread.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Coroutine
from typing import TYPE_CHECKING, Any, TypeVar

from aiortc import MediaStreamTrack

from .link import PeerLink
from .received import ReceivedTrack
from .recording import Recording

if TYPE_CHECKING:
    from ..client.client import Client
    from .peer import MediaPeer, Source, TrackCallback

T = TypeVar("T")


class SyncRecording:
    """A :class:`Recording` with a blocking ``stop()``."""

    def __init__(self, peer: SyncMediaPeer, recording: Recording) -> None:
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


class SyncMediaPeer:
    """The blocking face of a :class:`MediaPeer` running on ``client``'s loop; the peer
    itself is ``.aio`` (for coroutines on that loop)."""

    def __init__(
        self, client: Client, room_id: str | None = None, *, timeout: float = 15.0,
        **kwargs: Any,
    ) -> None:  # fmt: skip
        self.client = client
        self.timeout = timeout
        room_id = room_id or client.room.id
        self.aio: MediaPeer = self._call(self._make(client, room_id, kwargs))

    @staticmethod
    async def _make(client: Client, room_id: str, kwargs: dict[str, Any]) -> MediaPeer:
        from .peer import MediaPeer

        peer = MediaPeer(client.connection, room_id, **kwargs)
        await peer.start()
        return peer

    def _call(self, coro: Coroutine[Any, Any, T], timeout: float | None = None) -> T:
        loop = self.client._loop.loop
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            coro.close()
            raise RuntimeError("a SyncMediaPeer call would block its own loop: use .aio")
        return self.client._loop.submit(coro).result(timeout or self.timeout)

    # ---------------------------------------------------------------------------------------

    @property
    def member_id(self) -> str:
        return self.aio.member_id

    @property
    def tracks(self) -> dict[str, list[ReceivedTrack]]:
        """Received tracks by member id (a snapshot)."""
        return {member: list(tracks) for member, tracks in self.aio.tracks.items()}

    @property
    def links(self) -> dict[str, PeerLink]:
        return dict(self.aio.links)

    def publish(self, source: Source) -> list[MediaStreamTrack]:
        """Send a track, or a media file's tracks, to every member."""
        return self._call(self.aio.publish(source))

    def unpublish(self, track: MediaStreamTrack) -> None:
        self._call(self.aio.unpublish(track))

    def connect(self, member_id: str) -> PeerLink:
        return self._call(self.aio.connect(member_id))

    def on_track(self, callback: TrackCallback, *, replay: bool = True) -> None:
        """``callback(received_track)`` on the client's thread for each new track (and,
        with ``replay``, for the live tracks already received)."""

        async def register() -> None:
            self.aio.on_track(callback, replay=replay)

        self._call(register())

    def video(self, member_id: str) -> ReceivedTrack | None:
        return self.aio.video(member_id)

    def wait_for_track(
        self, member_id: str, kind: str = "video", timeout: float = 10.0
    ) -> ReceivedTrack:
        return self._call(self.aio.wait_for_track(member_id, kind, timeout), timeout + 5)

    def wait_frames(
        self, member_id: str, count: int, *, kind: str = "video", timeout: float = 10.0
    ) -> ReceivedTrack:
        """Wait until ``count`` frames of ``member_id``'s ``kind`` track have arrived."""

        async def wait() -> ReceivedTrack:
            loop = asyncio.get_running_loop()
            deadline = loop.time() + timeout
            received = await self.aio.wait_for_track(member_id, kind, timeout)
            await received.wait_frames(count, max(0.0, deadline - loop.time()))
            return received

        return self._call(wait(), timeout + 5)

    def record(self, member_id: str, path: str | os.PathLike[str], **kwargs: Any) -> SyncRecording:
        """Record what ``member_id`` sends; ``.stop()`` the result to finish the file."""
        return SyncRecording(self, self._call(self.aio.record(member_id, path, **kwargs)))

    def close(self) -> None:
        """``bye`` to everyone, close every connection, finish recordings."""
        self._call(self.aio.close())

    def __enter__(self) -> SyncMediaPeer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return repr(self.aio).replace("<MediaPeer", "<SyncMediaPeer", 1)
