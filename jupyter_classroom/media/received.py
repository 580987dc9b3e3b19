"""``ReceivedTrack``: one remote member's track, always drained, shared by any readers.

An aiortc remote track queues every decoded frame until someone reads it; unread, it grows
without bound. So each received track is read from the moment it arrives (counting frames
and keeping the latest one), and readers such as a recorder get their own copy through a
``MediaRelay`` instead of competing for frames.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import weakref
from collections.abc import Callable, Collection
from typing import Any

import numpy as np
from aiortc import MediaStreamTrack
from aiortc.contrib.media import MediaRelay
from aiortc.mediastreams import MediaStreamError
from av import AudioFrame, VideoFrame

from ..tasks import TaskSet

log = logging.getLogger("jupyter_classroom.media")


class ReceivedTrack:
    """A track received from ``member_id``: ``frames`` so far, the ``last_frame``, and
    ``first_frame_at`` (``time.monotonic()``)."""

    def __init__(self, member_id: str, track: MediaStreamTrack, relay: MediaRelay) -> None:
        self.member_id = member_id
        self.track = track  # read it through subscribe(), never directly
        self.kind: str = track.kind
        self.frames = 0
        self.first_frame_at: float | None = None
        self.last_frame: VideoFrame | AudioFrame | None = None
        self.created_at = time.monotonic()
        self._relay = relay
        self._ended = asyncio.Event()
        self._drain = asyncio.ensure_future(self._run(relay.subscribe(track, buffered=True)))

    @property
    def ended(self) -> bool:
        return self._ended.is_set()

    def subscribe(self, *, buffered: bool = True) -> MediaStreamTrack:
        """A new reader of this track's frames (a recorder, a display, a re-publisher)."""
        return self._relay.subscribe(self.track, buffered=buffered)

    def last_rgb(self) -> np.ndarray | None:
        """The latest video frame as an ``(h, w, 3)`` RGB array."""
        frame = self.last_frame
        if not isinstance(frame, VideoFrame):
            return None
        return frame.to_ndarray(format="rgb24")

    async def wait_frames(self, count: int, timeout: float = 10.0) -> int:
        """Wait until ``count`` frames have arrived (TimeoutError otherwise); returns frames."""
        deadline = time.monotonic() + timeout
        while self.frames < count:
            if self.ended:
                raise MediaStreamError(f"track ended after {self.frames} frames")
            if time.monotonic() > deadline:
                raise TimeoutError(f"{self.frames} of {count} frames in {timeout} s")
            await asyncio.sleep(0.02)
        return self.frames

    async def wait_ended(self, timeout: float = 10.0) -> None:
        await asyncio.wait_for(self._ended.wait(), timeout)

    async def _run(self, reader: MediaStreamTrack) -> None:
        try:
            while True:
                frame = await reader.recv()
                if self.first_frame_at is None:
                    self.first_frame_at = time.monotonic()
                if isinstance(frame, (VideoFrame, AudioFrame)):
                    self.last_frame = frame
                self.frames += 1
        except MediaStreamError:
            pass
        finally:
            self._ended.set()

    async def stop(self, grace: float = 1.0) -> None:
        """Stop draining: let the track end by itself (its connection is closing), for up to
        ``grace`` seconds, so aiortc's readers finish too; then stop waiting."""
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(asyncio.shield(self._ended.wait()), grace)
        self._drain.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._drain
        self._ended.set()

    def __repr__(self) -> str:
        state = "ended" if self.ended else "live"
        return f"<ReceivedTrack {self.kind} from {self.member_id} {state} frames={self.frames}>"


class ReceivedTracks:
    """What a media peer has received, by member: ``tracks[member_id]``, oldest first."""

    tracks: dict[str, list[ReceivedTrack]]

    def video(self, member_id: str) -> ReceivedTrack | None:
        """The live video track from ``member_id``, if one is arriving."""
        for received in reversed(self.tracks.get(member_id, [])):
            if received.kind == "video" and not received.ended:
                return received
        return None

    async def wait_for_track(
        self, member_id: str, kind: str = "video", timeout: float = 10.0,
        *, other_than: Collection[ReceivedTrack] = (),
    ) -> ReceivedTrack:  # fmt: skip
        """Wait for a live ``kind`` track from ``member_id``, the newest, and not one of
        ``other_than`` (say, the one it sent before a change; TimeoutError otherwise)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            for received in reversed(self.tracks.get(member_id, [])):
                if received.kind == kind and not received.ended and received not in other_than:
                    return received
            if loop.time() > deadline:
                raise TimeoutError(f"no {kind} track from {member_id} in {timeout} s")
            await asyncio.sleep(0.02)


TrackCallback = Callable[[ReceivedTrack], Any]


class TrackWatch:
    """Callbacks for each track a peer receives, for a peer without a track event of its own
    (``SfuPeer``): it looks at ``peer.tracks`` every ``interval`` seconds, on the peer's
    loop, as ``wait_for_track`` does, and stops with :meth:`close`."""

    def __init__(self, peer: ReceivedTracks, interval: float = 0.02) -> None:
        self.peer = peer
        self.interval = interval
        self._callbacks: list[TrackCallback] = []
        self._seen: weakref.WeakSet[ReceivedTrack] = weakref.WeakSet()  # already told
        self._task: asyncio.Task[None] | None = None
        self._tasks = TaskSet("on_track callback", log)

    def add(self, callback: TrackCallback, *, replay: bool = True) -> None:
        """``callback(received)`` for each track that arrives from now on and, with
        ``replay``, at once for the live tracks already received."""
        if not self._callbacks:  # the first: what is there now is not new
            self._seen = weakref.WeakSet(self._all())
        self._callbacks.append(callback)
        if replay:
            for received in self._all():
                if not received.ended:
                    self._call(callback, received)
        if self._task is None:
            self._task = asyncio.ensure_future(self._run())

    def _all(self) -> list[ReceivedTrack]:
        return [t for ts in list(self.peer.tracks.values()) for t in ts]

    async def _run(self) -> None:
        while True:
            for received in self._all():
                if received not in self._seen:
                    self._seen.add(received)
                    for callback in list(self._callbacks):
                        self._call(callback, received)
            await asyncio.sleep(self.interval)

    def _call(self, callback: TrackCallback, received: ReceivedTrack) -> None:
        try:
            result = callback(received)
            if asyncio.iscoroutine(result):
                self._tasks.spawn(result)
        except Exception:
            log.exception("media: on_track callback failed")

    async def close(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
