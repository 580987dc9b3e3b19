"""The relay behind a published track (jupyter_classroom/media/fanout.py) with real aiortc
connections on loopback: a reader its sender gave up (a mute, a lecture) must leave the
source, or the source goes on pulling frames for nobody."""

from __future__ import annotations

import asyncio
import fractions

import pytest
from aiortc import MediaStreamTrack, RTCPeerConnection
from av import VideoFrame

from jupyter_classroom.media.fanout import ConnectionTrack, Fanout

from .helpers import wait_for

pytestmark = pytest.mark.timeout(60)


class GatedTrack(MediaStreamTrack):
    """A camera that sends a frame only when ``release()`` lets one go (a stalled source, a
    relayed track whose sender went quiet): a read of it may wait as long as the test likes."""

    kind = "video"

    def __init__(self) -> None:
        super().__init__()
        self.gate: asyncio.Queue[None] = asyncio.Queue()
        self.sent = 0
        self.waiting = False

    def release(self) -> None:
        self.gate.put_nowait(None)

    async def recv(self) -> VideoFrame:
        self.waiting = True
        try:
            await self.gate.get()
        finally:
            self.waiting = False
        frame = VideoFrame(width=64, height=48, format="yuv420p")
        frame.pts, frame.time_base = self.sent * 3000, fractions.Fraction(1, 90000)
        self.sent += 1
        return frame


async def connected_pair(track: MediaStreamTrack) -> tuple[RTCPeerConnection, RTCPeerConnection]:
    sender, receiver = RTCPeerConnection(), RTCPeerConnection()
    sender.addTrack(track)
    await sender.setLocalDescription(await sender.createOffer())
    await receiver.setRemoteDescription(sender.localDescription)
    await receiver.setLocalDescription(await receiver.createAnswer())
    await sender.setRemoteDescription(receiver.localDescription)
    return sender, receiver


async def test_a_retired_reader_whose_connection_closes_leaves_its_source() -> None:
    camera = GatedTrack()
    fanout = Fanout()
    reader = fanout.subscribe(camera)
    assert isinstance(reader, ConnectionTrack)
    sender, receiver = await connected_pair(reader)
    try:
        (source,) = fanout._sources.values()
        # the sender reads a frame, then waits on the next one, which the camera holds back
        camera.release()
        await wait_for(lambda: camera.sent == 1 and camera.waiting and reader._reading)
        # a mute: the sender is emptied (aiortc lets its read under way go on) and its reader
        # retired; then the connection closes (a lecture, a bye) before any frame came
        (rtp_sender,) = sender.getSenders()
        rtp_sender.replaceTrack(None)
        reader.retire()
        await sender.close()
        await asyncio.sleep(0.1)
        # nobody will read it again: it ended, and the source reads for nobody
        assert reader.readyState == "ended"
        assert not source.readers
        assert source.task is None
    finally:
        await sender.close()
        await receiver.close()
        await fanout.close()


async def test_a_retired_reader_ends_with_the_frame_its_sender_waited_for() -> None:
    """The read under way when the reader retires ends with a frame (a sender whose read
    fails stops for good); the reader then ends and leaves the source."""
    camera = GatedTrack()
    fanout = Fanout()
    reader = fanout.subscribe(camera)
    (source,) = fanout._sources.values()
    read = asyncio.ensure_future(reader.recv())
    await wait_for(lambda: camera.waiting and reader._reading)
    reader.retire()
    assert reader.readyState == "live"
    camera.release()
    frame = await asyncio.wait_for(read, 5)
    assert isinstance(frame, VideoFrame)
    assert reader.readyState == "ended" and not source.readers and source.task is None
    await fanout.close()
