"""``Recording``: a member's received tracks written to a file with aiortc's MediaRecorder.

A container's streams are fixed once writing starts, so a recording begins when the member's
tracks are known: at once if they are already flowing, else as soon as they arrive (all the
tracks of one negotiation arrive together, in one loop turn).
"""

from __future__ import annotations

import asyncio
import logging
import os

from aiortc import MediaStreamTrack
from aiortc.contrib.media import MediaRecorder

from ..tasks import TaskSet
from .received import ReceivedTrack

_starts = TaskSet("recording start", logging.getLogger("jupyter_classroom.media"))


class Recording:
    """Frames from ``member_id`` being written to ``path`` (the format follows the suffix:
    ``.mp4``/``.mkv`` H.264, ``.webm`` VP8, ``frame-%3d.png`` images)."""

    def __init__(
        self, member_id: str, path: str | os.PathLike[str], *, format: str | None = None,
        options: dict[str, str] | None = None,
    ) -> None:  # fmt: skip
        self.member_id = member_id
        self.path = os.fspath(path)
        self.recorder = MediaRecorder(self.path, format=format, options=options)
        self.tracks: list[ReceivedTrack] = []
        self._readers: list[MediaStreamTrack] = []
        self.started = False
        self.stopped = False
        self._start_scheduled = False

    def add(self, track: ReceivedTrack) -> None:
        """Record ``track`` too; it starts with the others on the next loop turn."""
        if self.started or self.stopped or track in self.tracks:
            return
        self.tracks.append(track)
        reader = track.subscribe(buffered=True)
        self._readers.append(reader)
        self.recorder.addTrack(reader)
        if not self._start_scheduled:
            self._start_scheduled = True
            asyncio.get_running_loop().call_soon(lambda: _starts.spawn(self._start()))

    async def _start(self) -> None:
        if not self.stopped and not self.started:
            self.started = True
            await self.recorder.start()

    async def stop(self) -> None:
        """Finish the file (flush the encoder, write the trailer). Idempotent."""
        if self.stopped:
            return
        self.stopped = True
        try:
            await self.recorder.stop()
        finally:
            for reader in self._readers:
                reader.stop()  # else the relay keeps queueing frames for it

    def __repr__(self) -> str:
        state = "stopped" if self.stopped else "recording" if self.started else "waiting"
        return f"<Recording of {self.member_id} to {self.path!r} {state}>"
