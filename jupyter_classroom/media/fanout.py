"""``Fanout``: one published track feeding every peer connection.

A track's ``recv()`` hands each frame to one reader, so a source sent to several members
needs a relay. aiortc's ``MediaRelay`` would do, but it keeps reading a source until the
source ends, past the last reader, and offers no way to stop it; this one reads a source only
while some connection reads it, and stops on ``close()``.

Every connection gets the same frame object, and each connection's encoder runs in a thread
of its own and converts a non-YUV frame *in place* (PyAV caches a converter on the frame):
two encoders converting one frame at once crash the process. So each connection's reader
converts frames to the encoders' ``yuv420p`` with a converter of its own, and the encoders
only ever read shared frames.
"""

from __future__ import annotations

import asyncio
import contextlib

from aiortc import MediaStreamTrack
from aiortc.mediastreams import MediaStreamError
from av import VideoFrame
from av.frame import Frame
from av.packet import Packet
from av.video.reformatter import VideoReformatter


class ConnectionTrack(MediaStreamTrack):
    """One connection's reader of a published source: always the newest frame (a
    connection that falls behind skips frames rather than lag), video as yuv420p."""

    def __init__(self, source: _Source) -> None:
        super().__init__()
        self.kind = source.track.kind
        self._source: _Source | None = source
        self._frame: Frame | Packet | None = None
        self._new_frame = asyncio.Event()
        self._reformatter = VideoReformatter()
        self._reading = False
        self._retiring = False

    def _put(self, frame: Frame | Packet | None) -> None:
        self._frame = frame
        self._new_frame.set()

    async def recv(self) -> Frame | Packet:
        if self.readyState != "live" or self._source is None:
            raise MediaStreamError
        self._source.start()
        self._reading = True
        try:
            await self._new_frame.wait()
        except asyncio.CancelledError:
            if self._retiring:  # its sender stopped (the connection closed): nobody reads it
                self.stop()
            raise
        finally:
            self._reading = False
        self._new_frame.clear()
        frame = self._frame
        if frame is None:
            self.stop()
            raise MediaStreamError
        if self._retiring:
            self.stop()  # its sender took it off (retire): this was the read it was waiting on
        if isinstance(frame, VideoFrame) and frame.format.name != "yuv420p":
            converted = self._reformatter.reformat(frame, format="yuv420p")
            converted.pts, converted.time_base = frame.pts, frame.time_base
            return converted
        return frame

    def retire(self) -> None:
        """Its sender no longer reads it (``replaceTrack``, a mute): stop, but let a read
        under way end with a frame. A sender whose read ends in an error stops for good,
        and could not send again after an unmute."""
        if self._reading:
            self._retiring = True
        else:
            self.stop()

    def stop(self) -> None:
        super().stop()
        if self._source is not None:
            self._source.remove(self)
            self._source = None
        self._put(None)


class _Source:
    """One published track and the connections reading it."""

    def __init__(self, track: MediaStreamTrack) -> None:
        self.track = track
        self.readers: set[ConnectionTrack] = set()
        self.task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self.task is None or self.task.done():
            self.task = asyncio.ensure_future(self._run())

    def remove(self, reader: ConnectionTrack) -> None:
        self.readers.discard(reader)
        if not self.readers and self.task is not None:
            self.task.cancel()  # nobody reads: stop pulling frames
            self.task = None

    async def _run(self) -> None:
        frame: Frame | Packet | None
        while True:
            try:
                frame = await self.track.recv()
            except MediaStreamError:
                frame = None
            for reader in list(self.readers):
                reader._put(frame)
            if frame is None:
                return


class Fanout:
    """Readers of published tracks, one per connection."""

    def __init__(self) -> None:
        self._sources: dict[MediaStreamTrack, _Source] = {}

    def subscribe(self, track: MediaStreamTrack) -> MediaStreamTrack:
        source = self._sources.get(track)
        if source is None:
            source = self._sources[track] = _Source(track)
        reader = ConnectionTrack(source)
        source.readers.add(reader)
        return reader

    async def close(self) -> None:
        """Stop reading every source (the readers end)."""
        sources, self._sources = list(self._sources.values()), {}
        for source in sources:
            for reader in list(source.readers):
                reader.stop()
            if source.task is not None:
                source.task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await source.task
