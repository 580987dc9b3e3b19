"""Video sources a Python peer can publish: a solid colour, a numbered test pattern, frames
rendered by any callable (a live matplotlib figure), or a media file.

Every generated track is paced by the wall clock at its own frame rate, with a 90 kHz
timestamp as WebRTC expects, so a slow renderer drops the rate rather than the sync.
"""

from __future__ import annotations

import asyncio
import fractions
import os
import time
from collections.abc import Callable
from typing import Any

import numpy as np
from aiortc import MediaStreamTrack
from aiortc.contrib.media import MediaPlayer
from aiortc.mediastreams import MediaStreamError
from av import VideoFrame

VIDEO_CLOCK_RATE = 90_000
VIDEO_TIME_BASE = fractions.Fraction(1, VIDEO_CLOCK_RATE)

RGB = tuple[int, int, int]
Renderer = Callable[[], np.ndarray]

COUNTER_BITS = 16
COUNTER_BLOCK = 16  # pixels per bit: large enough to survive VP8 at a low bitrate


class PacedVideoTrack(MediaStreamTrack):
    """A video track that produces one RGB frame per ``1/fps`` seconds from :meth:`render`."""

    kind = "video"

    def __init__(self, *, fps: float = 30.0) -> None:
        super().__init__()
        if fps <= 0:
            raise ValueError("fps must be positive")
        self.fps = fps
        self.frames_sent = 0
        self._start: float | None = None

    def render(self) -> np.ndarray:
        """The next frame, an ``(height, width, 3)`` uint8 RGB array."""
        raise NotImplementedError

    async def next_frame_array(self) -> np.ndarray:
        return self.render()

    async def recv(self) -> VideoFrame:
        if self.readyState != "live":
            raise MediaStreamError
        now = time.monotonic()
        if self._start is None:
            self._start = now
        else:
            due = self._start + self.frames_sent / self.fps
            if due > now:
                await asyncio.sleep(due - now)
            elif now - due > 1.0:  # far behind (a stalled loop): skip, don't burst
                self._start = now - self.frames_sent / self.fps
        array = even_size(await self.next_frame_array())
        # converted once here, not by each connection's encoder
        frame = VideoFrame.from_ndarray(array, format="rgb24").reformat(format="yuv420p")
        frame.pts = int(self.frames_sent * VIDEO_CLOCK_RATE / self.fps)
        frame.time_base = VIDEO_TIME_BASE
        self.frames_sent += 1
        return frame


class ColorTrack(PacedVideoTrack):
    """Frames of one solid colour (``color`` is an RGB tuple or ``"#rrggbb"``)."""

    def __init__(
        self, color: RGB | str = (255, 0, 0), *, width: int = 320, height: int = 240,
        fps: float = 30.0,
    ) -> None:  # fmt: skip
        super().__init__(fps=fps)
        self.color = parse_color(color)
        self._array = np.empty((height, width, 3), dtype=np.uint8)
        self._array[:] = self.color

    def render(self) -> np.ndarray:
        return self._array


class TestPatternTrack(PacedVideoTrack):
    """Moving colour bars with the frame number written as a row of black/white blocks
    across the top, so a receiver can tell real, successive frames apart
    (:func:`read_counter`)."""

    __test__ = False  # not a pytest class

    BARS: tuple[RGB, ...] = (
        (255, 255, 255), (255, 255, 0), (0, 255, 255), (0, 255, 0),
        (255, 0, 255), (255, 0, 0), (0, 0, 255), (0, 0, 0),
    )  # fmt: skip

    def __init__(self, *, width: int = 320, height: int = 240, fps: float = 30.0) -> None:
        if width < COUNTER_BITS * COUNTER_BLOCK or height < 2 * COUNTER_BLOCK:
            raise ValueError(f"a test pattern needs at least {COUNTER_BITS * COUNTER_BLOCK}x32")
        super().__init__(fps=fps)
        bar = width // len(self.BARS) + 1
        row = np.repeat(np.array(self.BARS, dtype=np.uint8), bar, axis=0)[:width]
        self._bars = np.broadcast_to(row, (height, width, 3))

    def render(self) -> np.ndarray:
        shift = (self.frames_sent * 4) % self._bars.shape[1]
        array = np.roll(self._bars, shift, axis=1).copy()
        write_counter(array, self.frames_sent)
        return array


class FrameTrack(PacedVideoTrack):
    """Frames rendered from Python: ``render()`` returns an RGB array (see
    :func:`figure_renderer` for a live matplotlib figure).

    ``in_thread`` runs the renderer in a worker thread, so a slow plot does not hold up
    the event loop that carries signaling and every other track.
    """

    def __init__(self, render: Renderer, *, fps: float = 10.0, in_thread: bool = True) -> None:
        super().__init__(fps=fps)
        self._render = render
        self.in_thread = in_thread

    def render(self) -> np.ndarray:
        return self._render()

    async def next_frame_array(self) -> np.ndarray:
        if self.in_thread:
            return await asyncio.to_thread(self._render)
        return self._render()


def figure_renderer(figure: Any, update: Callable[[Any], None] | None = None) -> Renderer:
    """A renderer for :class:`FrameTrack` that draws a matplotlib ``Figure`` (after calling
    ``update(figure)``, e.g. to set new data on its lines) into an RGB array.

    Use a ``matplotlib.figure.Figure`` made directly, not through ``pyplot``: it is drawn
    off the kernel's thread.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = FigureCanvasAgg(figure)

    def render() -> np.ndarray:
        if update is not None:
            update(figure)
        canvas.draw()
        return np.asarray(canvas.buffer_rgba())[..., :3].copy()

    return render


def file_tracks(
    path: str | os.PathLike[str], *, loop: bool = False, video: bool = True,
    audio: bool = True, **options: Any,
) -> list[MediaStreamTrack]:  # fmt: skip
    """The tracks of a media file (aiortc ``MediaPlayer``); ``loop`` replays it forever."""
    player = MediaPlayer(os.fspath(path), loop=loop, **options)
    tracks: list[MediaStreamTrack] = []
    if video and player.video is not None:
        tracks.append(player.video)
    if audio and player.audio is not None:
        tracks.append(player.audio)
    if not tracks:
        raise ValueError(f"{path} has no {'video' if video else 'audio'} to publish")
    return tracks


def parse_color(color: RGB | str) -> RGB:
    if isinstance(color, str):
        text = color.lstrip("#")
        if len(text) != 6:
            raise ValueError(f"not a #rrggbb colour: {color!r}")
        return (int(text[0:2], 16), int(text[2:4], 16), int(text[4:6], 16))
    r, g, b = (int(c) for c in color)
    return (r, g, b)


def even_size(array: np.ndarray) -> np.ndarray:
    """Crop to even dimensions and RGB uint8 (the encoders work on 4:2:0 chroma)."""
    if array.ndim != 3 or array.shape[2] not in (3, 4):
        raise ValueError(f"a frame must be an (h, w, 3) RGB array, not {array.shape}")
    height, width = array.shape[0] & ~1, array.shape[1] & ~1
    if height == 0 or width == 0:
        raise ValueError("a frame must be at least 2x2 pixels")
    array = array[:height, :width, :3]
    if array.dtype != np.uint8:
        array = np.clip(array, 0, 255).astype(np.uint8)
    return np.ascontiguousarray(array)


def write_counter(array: np.ndarray, value: int) -> None:
    """Write ``value`` (mod 2**16) as 16 black/white blocks along the top-left edge."""
    for bit in range(COUNTER_BITS):
        level = 255 if (value >> bit) & 1 else 0
        x = bit * COUNTER_BLOCK
        array[:COUNTER_BLOCK, x : x + COUNTER_BLOCK] = level


def read_counter(frame: VideoFrame | np.ndarray) -> int:
    """The frame number a :class:`TestPatternTrack` wrote, read back from a received frame."""
    array = frame.to_ndarray(format="rgb24") if isinstance(frame, VideoFrame) else frame
    value = 0
    half = COUNTER_BLOCK // 2
    for bit in range(COUNTER_BITS):
        x = bit * COUNTER_BLOCK
        # the centre of each block: codec ringing stays at the edges
        block = array[
            half // 2 : COUNTER_BLOCK - half // 2, x + half // 2 : x + COUNTER_BLOCK - half // 2
        ]
        if float(block.mean()) > 127:
            value |= 1 << bit
    return value
