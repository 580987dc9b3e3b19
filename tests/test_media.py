"""aiortc peers in rooms: real frames through the real server's signaling (loopback)."""

from __future__ import annotations

import asyncio
import time

import av
import numpy as np
import pytest
from aiortc import RTCPeerConnection, RTCSessionDescription

from jupyter_classroom import ClassroomError, Client
from jupyter_classroom.media import (
    ColorTrack,
    FrameTrack,
    MediaPeer,
    TestPatternTrack,
    figure_renderer,
    is_polite,
    read_counter,
)

from .helpers import mean_colour, wait_for

pytestmark = pytest.mark.timeout(90)


async def test_two_peers_exchange_frames(connection, peers):
    alice, bob = await connection("alice"), await connection("bob")
    room = await alice.create_room("video")
    a = MediaPeer(alice, room.id)
    peers.append(a)
    await a.start()
    await a.publish(ColorTrack((220, 30, 40), fps=15))

    b = MediaPeer(bob)
    peers.append(b)
    await b.publish(TestPatternTrack(fps=15))
    joined_at = time.monotonic()
    await b.join(room.id)
    a_id, b_id = a.member_id, b.member_id

    at_b = await b.wait_for_track(a_id, "video", timeout=10)
    await at_b.wait_frames(30, timeout=15)
    assert at_b.first_frame_at is not None
    first_frame = at_b.first_frame_at - joined_at
    print(f"\njoin to first frame: {first_frame * 1000:.0f} ms")
    assert first_frame < 5
    # a solid colour arrives as that colour, within codec tolerance
    assert np.abs(mean_colour(at_b) - (220, 30, 40)).max() < 20

    at_a = await a.wait_for_track(b_id, "video", timeout=10)
    await at_a.wait_frames(30, timeout=15)
    first = read_counter(at_a.last_frame)  # type: ignore[arg-type]
    await at_a.wait_frames(at_a.frames + 10, timeout=10)
    assert read_counter(at_a.last_frame) > first  # type: ignore[arg-type]
    # one connection each way, both connected
    assert a.links[b_id].state == "connected" and b.links[a_id].state == "connected"


async def test_mesh_of_three(connection, peers):
    conns = [await connection(n) for n in ("ann", "ben", "cid")]
    room = await conns[0].create_room("mesh")
    mesh: list[MediaPeer] = []
    for conn, colour in zip(conns, [(255, 0, 0), (0, 255, 0), (0, 0, 255)], strict=True):
        peer = MediaPeer(conn)
        peers.append(peer)
        mesh.append(peer)
        await peer.publish(ColorTrack(colour, fps=10))
        if conn is conns[0]:
            peer.room_id = room.id
            await peer.start()
        else:
            await peer.join(room.id)
    ids = [p.member_id for p in mesh]
    colours = dict(zip(ids, [(255, 0, 0), (0, 255, 0), (0, 0, 255)], strict=True))
    for peer in mesh:
        for other in ids:
            if other == peer.member_id:
                continue
            received = await peer.wait_for_track(other, timeout=15)
            await received.wait_frames(10, timeout=15)
            assert np.abs(mean_colour(received) - colours[other]).max() < 30
        assert sorted(peer.links) == sorted(i for i in ids if i != peer.member_id)


async def test_bye_leave_and_close_tear_down(connection, peers):
    alice, bob, carol = (
        await connection("alice"),
        await connection("bob"),
        await connection("carol"),
    )
    room = await alice.create_room("teardown")
    a = MediaPeer(alice, room.id)
    peers.append(a)
    await a.start()
    await a.publish(TestPatternTrack(fps=15))
    b, c = MediaPeer(bob), MediaPeer(carol)
    peers.extend([b, c])
    await b.join(room.id)
    await c.join(room.id)
    at_b = await b.wait_for_track(a.member_id)
    at_c = await c.wait_for_track(a.member_id)
    await at_b.wait_frames(5, timeout=15)
    await at_c.wait_frames(5, timeout=15)

    # bye: bob's peer closes; alice drops her connection to bob
    b_id, pc_to_b, pc_at_b = b.member_id, a.links[b.member_id].pc, b.links[a.member_id].pc
    await b.close()
    assert pc_at_b.connectionState == "closed" and not b.links
    await wait_for(lambda: b_id not in a.links)
    assert pc_to_b.connectionState == "closed"
    await at_b.wait_ended(5)
    frames = at_b.frames
    await asyncio.sleep(0.5)
    assert at_b.frames == frames

    # leaving the room: alice's link to carol goes (room:member_left), and carol's own
    c_id, pc_to_c, pc_at_c = c.member_id, a.links[c.member_id].pc, c.links[a.member_id].pc
    await carol.leave(room.id)
    await wait_for(lambda: c_id not in a.links and not c.links)
    await wait_for(
        lambda: pc_to_c.connectionState == "closed" and pc_at_c.connectionState == "closed"
    )
    await at_c.wait_ended(5)
    frames = at_c.frames
    await asyncio.sleep(0.5)
    assert at_c.frames == frames

    # room:closed: bob (peer started again) loses his link when the host closes the room
    b2 = MediaPeer(bob, room.id)
    peers.append(b2)
    await b2.start()
    at_b2 = await b2.wait_for_track(a.member_id)
    await at_b2.wait_frames(5, timeout=15)
    pc_at_b2 = b2.links[a.member_id].pc
    await alice.request("room:close", {"room_id": room.id})
    await wait_for(lambda: not b2.links and not a.links)
    await wait_for(lambda: pc_at_b2.connectionState == "closed")


async def test_signaling_a_member_of_another_room_is_refused(connection, peers):
    alice, bob = await connection("alice"), await connection("bob")
    room = await alice.create_room("mine")
    other = await bob.create_room("theirs")
    a = MediaPeer(alice, room.id)
    peers.append(a)
    await a.start()
    with pytest.raises(ClassroomError) as info:
        await a.connect(other.you["id"])
    assert info.value.code == "not_found"
    assert other.you["id"] not in a.links
    with pytest.raises(ClassroomError) as info:
        await a.signal(other.you["id"], {"type": "bye"})
    assert info.value.code == "not_found"


async def test_record_writes_a_file_av_can_decode(connection, peers, tmp_path):
    alice, bob = await connection("alice"), await connection("bob")
    room = await alice.create_room("record")
    a = MediaPeer(alice, room.id)
    peers.append(a)
    await a.start()
    await a.publish(TestPatternTrack(fps=15))
    b = MediaPeer(bob)
    peers.append(b)
    await b.join(room.id)
    path = tmp_path / "lesson.mp4"
    recording = await b.record(a.member_id, path)  # before the track arrives: it waits
    received = await b.wait_for_track(a.member_id)
    await received.wait_frames(received.frames + 20, timeout=15)
    assert recording.started
    await recording.stop()
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        decoded = [f for f in container.decode(stream)]
    assert len(decoded) >= 10
    assert (decoded[0].width, decoded[0].height) == (320, 240)
    numbers = [read_counter(f) for f in decoded]
    assert numbers[-1] > numbers[0]


@pytest.mark.parametrize("publisher_polite", [True, False])
async def test_offer_sent_before_the_peer_listened(connection, peers, publisher_polite):
    """A member whose peer starts after it joined missed the publisher's offer; the
    collision rules (and the impolite side's timeout) still connect them."""
    first, second = await connection("first"), await connection("second")
    room = await first.create_room("late start")
    await second.join(room.id)
    ids = {first.rooms[room.id].you["id"]: first, second.rooms[room.id].you["id"]: second}
    ordered = sorted(ids)  # ordered[1] is polite towards ordered[0]
    pub_conn = ids[ordered[1]] if publisher_polite else ids[ordered[0]]
    sub_conn = second if pub_conn is first else first
    # the publisher's peer knows the subscriber: offers to it at once (nobody listens yet)
    publisher = MediaPeer(pub_conn, room.id)
    peers.append(publisher)
    await publisher.publish(ColorTrack((0, 0, 255), fps=15))
    await publisher.start()
    assert is_polite(publisher.member_id, sub_conn.rooms[room.id].you["id"]) is publisher_polite
    await asyncio.sleep(0.2)
    subscriber = MediaPeer(sub_conn, room.id)
    peers.append(subscriber)
    await subscriber.start()
    received = await subscriber.wait_for_track(publisher.member_id, timeout=10)
    await received.wait_frames(10, timeout=10)
    assert np.abs(mean_colour(received) - (0, 0, 255)).max() < 20


async def test_publish_after_connecting_renegotiates(connection, peers):
    alice, bob = await connection("alice"), await connection("bob")
    room = await alice.create_room("renegotiate")
    a = MediaPeer(alice, room.id)
    peers.append(a)
    await a.start()
    await a.publish(ColorTrack((255, 255, 0), fps=15))
    b = MediaPeer(bob)
    peers.append(b)
    await b.join(room.id)
    await (await b.wait_for_track(a.member_id)).wait_frames(5, timeout=15)
    pc = a.links[b.member_id].pc
    await b.publish(ColorTrack((0, 255, 255), fps=15))  # on the established connection
    received = await a.wait_for_track(b.member_id, timeout=10)
    await received.wait_frames(10, timeout=10)
    assert np.abs(mean_colour(received) - (0, 255, 255)).max() < 20
    assert a.links[b.member_id].pc is pc  # the same connection, renegotiated


async def test_browser_style_offer_with_trickled_candidates(server, connect, connection, peers):
    """A stock socket.io client plays the browser: its offer carries no candidates, they
    follow one by one (``candidate:`` lines), then end-of-candidates."""
    browser = await connect("browser")
    ack = await browser.create("trickle")
    room_id, browser_id = ack["room"]["id"], ack["you"]["id"]
    alice = await connection("alice")
    await alice.join(room_id)
    a = MediaPeer(alice, room_id)
    peers.append(a)
    await a.publish(ColorTrack((0, 200, 0), fps=15))
    await a.start()  # offers to the browser, which (polite or not) answers below instead
    offer = await browser.next("rtc:signal")
    assert offer["data"]["type"] == "offer" and offer["from"] == a.member_id

    pc = RTCPeerConnection()
    try:
        pc.addTransceiver("video", direction="sendrecv").sender.replaceTrack(
            ColorTrack((200, 0, 200), fps=15)
        )
        seen = []
        pc.on("track", seen.append)
        if is_polite(browser_id, a.member_id):
            # polite browser: take alice's offer and answer (trickling our candidates)
            await pc.setRemoteDescription(RTCSessionDescription(**offer["data"]))
            await pc.setLocalDescription(await pc.createAnswer())
        else:
            # impolite browser: ignore alice's offer, send our own; alice must yield
            await pc.setLocalDescription(await pc.createOffer())
        sdp = pc.localDescription.sdp
        lines = sdp.split("\r\n")
        bare = "\r\n".join(
            line
            for line in lines
            if not line.startswith("a=candidate") and line != "a=end-of-candidates"
        )
        candidates = [line[2:] for line in lines if line.startswith("a=candidate")]
        signal = {"room_id": room_id, "to": a.member_id}
        await browser.ok(
            "rtc:signal", {**signal, "data": {"type": pc.localDescription.type, "sdp": bare}}
        )
        for line in candidates:
            data = {
                "type": "candidate",
                "candidate": {"candidate": line, "sdpMid": "0", "sdpMLineIndex": 0},
            }
            await browser.ok("rtc:signal", {**signal, "data": data})
        end = {
            "type": "candidate",
            "candidate": {"candidate": "", "sdpMid": "0", "sdpMLineIndex": 0},
        }
        await browser.ok("rtc:signal", {**signal, "data": end})
        if pc.localDescription.type == "offer":
            while True:
                answer = await browser.next("rtc:signal", timeout=10)
                if answer["data"]["type"] == "answer":
                    break
            await pc.setRemoteDescription(RTCSessionDescription(**answer["data"]))
        received = await a.wait_for_track(browser_id, timeout=10)
        await received.wait_frames(10, timeout=10)
        assert np.abs(mean_colour(received) - (200, 0, 200)).max() < 20
        await wait_for(lambda: bool(seen))
    finally:
        await pc.close()


async def test_frames_rendered_from_python(connection, peers):
    from matplotlib.figure import Figure

    figure = Figure(figsize=(3.2, 2.4), dpi=100)
    axes = figure.add_subplot()
    (line,) = axes.plot([], [])
    axes.set_xlim(0, 50)
    axes.set_ylim(-1, 1)
    calls = []

    def update(fig: Figure) -> None:
        calls.append(1)
        x = np.arange(len(calls) % 50)
        line.set_data(x, np.sin(x / 5))

    alice, bob = await connection("alice"), await connection("bob")
    room = await alice.create_room("plot")
    a = MediaPeer(alice, room.id)
    peers.append(a)
    await a.start()
    await a.publish(FrameTrack(figure_renderer(figure, update), fps=10))
    b = MediaPeer(bob)
    peers.append(b)
    await b.join(room.id)
    received = await b.wait_for_track(a.member_id)
    await received.wait_frames(5, timeout=15)
    rgb = received.last_rgb()
    assert rgb is not None and rgb.shape == (240, 320, 3)
    assert rgb.mean() > 150  # a mostly white figure, not a blank frame


async def test_sync_peer_for_notebook_clients(server, tmp_path):
    def run() -> tuple[int, int]:
        teacher = Client(server.url, server.kernel_token, name="teacher")
        student = Client(server.url, server.kernel_token, name="student")
        try:
            room = teacher.create_room("sync video")
            student.join(room.id)
            camera = MediaPeer.for_client(teacher)
            camera.publish(TestPatternTrack(fps=15))
            viewer = MediaPeer.for_client(student)
            arrived = []
            viewer.on_track(arrived.append)
            recording = viewer.record(camera.member_id, tmp_path / "sync.mp4")
            received = viewer.wait_frames(camera.member_id, 20, timeout=15)
            path = recording.stop()
            assert arrived and arrived[0] is received
            viewer.close()
            camera.close()
            with av.open(path) as container:
                count = sum(1 for _ in container.decode(video=0))
            return received.frames, count
        finally:
            teacher.close()
            student.close()

    frames, recorded = await asyncio.to_thread(run)
    assert frames >= 20 and recorded >= 5


async def test_media_resumes_after_a_reconnect(server, connection, peers):
    alice, bob = await connection("alice"), await connection("bob")
    room = await alice.create_room("reconnect")
    a = MediaPeer(alice, room.id)
    peers.append(a)
    await a.start()
    await a.publish(ColorTrack((255, 128, 0), fps=15))
    b = MediaPeer(bob)
    peers.append(b)
    await b.join(room.id)
    before = await b.wait_for_track(a.member_id)
    await before.wait_frames(5, timeout=15)
    # bob's websocket drops (a network fault); the client reconnects and rejoins by itself
    sessions = server.app.room_server.sessions
    (sid,) = [s for s, sess in sessions.items() if sess.identity.name == "bob"]
    server.app.room_server.sio.get_environ(sid)["tornado.handler"].close()
    await before.wait_ended(15)
    await wait_for(lambda: b.video(a.member_id) is not None, timeout=20)
    after = b.video(a.member_id)
    assert after is not None and after is not before
    await after.wait_frames(10, timeout=15)
    assert np.abs(mean_colour(after) - (255, 128, 0)).max() < 20


async def test_publish_a_media_file(connection, peers, tmp_path):
    path = tmp_path / "clip.mp4"
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=15)
        stream.width, stream.height, stream.pix_fmt = 320, 240, "yuv420p"
        picture = np.zeros((240, 320, 3), np.uint8)
        picture[:] = (40, 90, 200)
        for i in range(45):
            frame = av.VideoFrame.from_ndarray(picture, format="rgb24")
            frame.pts = i
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    alice, bob = await connection("alice"), await connection("bob")
    room = await alice.create_room("file")
    a = MediaPeer(alice, room.id)
    peers.append(a)
    await a.start()
    (track,) = await a.publish(path)
    assert track.kind == "video"
    b = MediaPeer(bob)
    peers.append(b)
    await b.join(room.id)
    received = await b.wait_for_track(a.member_id)
    await received.wait_frames(10, timeout=15)
    assert np.abs(mean_colour(received) - (40, 90, 200)).max() < 20


async def test_late_answer_after_taking_over_restarts_cleanly(connect, connection, peers):
    """The impolite side gives up on its unanswered offer and answers the other one; when
    the answer to its first offer turns up after all, it restarts (bye, fresh offer)."""
    # alice must be the impolite one (the smaller id): the browser is the one of eight with
    # the largest id (with one, a small id left twenty tries of alice all larger 1 time in 21)
    candidates = []
    for n in range(8):
        peer = await connect(f"browser{n}")
        ack = await peer.create(f"late answer {n}")
        candidates.append((ack["you"]["id"], ack["room"]["id"], n, peer))
    browser_id, room_id, _, browser = max(candidates, key=lambda c: c[0])
    for attempt in range(20):
        alice = await connection(f"alice{attempt}")
        room = await alice.join(room_id)
        if room.you["id"] < browser_id:
            break
        await alice.leave(room_id)
    else:
        raise AssertionError("no member id smaller than the browser's in 20 tries")
    a = MediaPeer(alice, room_id, offer_timeout=0.5)
    peers.append(a)
    await a.publish(ColorTrack((250, 250, 250), fps=15))
    await a.start()
    first_offer = await browser.next("rtc:signal")
    assert first_offer["data"]["type"] == "offer"
    signal = {"room_id": room_id, "to": a.member_id}
    pcs: list[RTCPeerConnection] = []
    try:
        # the browser offers too (a collision alice ignores), and is slow to answer hers
        own = RTCPeerConnection()
        pcs.append(own)
        own.addTransceiver("video", direction="recvonly")
        await own.setLocalDescription(await own.createOffer())
        await browser.ok(
            "rtc:signal", {**signal, "data": {"type": "offer", "sdp": own.localDescription.sdp}}
        )
        took_over = await browser.next("rtc:signal", timeout=5)  # after offer_timeout
        assert took_over["data"]["type"] == "answer"
        late = RTCPeerConnection()
        pcs.append(late)
        await late.setRemoteDescription(RTCSessionDescription(**first_offer["data"]))
        await late.setLocalDescription(await late.createAnswer())
        await browser.ok(
            "rtc:signal", {**signal, "data": {"type": "answer", "sdp": late.localDescription.sdp}}
        )
        # alice starts over: bye, then a fresh offer, which the browser answers
        assert (await browser.next("rtc:signal", timeout=5))["data"] == {"type": "bye"}
        fresh_offer = await browser.next("rtc:signal", timeout=5)
        assert fresh_offer["data"]["type"] == "offer"
        fresh = RTCPeerConnection()
        pcs.append(fresh)
        tracks = []
        fresh.on("track", tracks.append)
        await fresh.setRemoteDescription(RTCSessionDescription(**fresh_offer["data"]))
        await fresh.setLocalDescription(await fresh.createAnswer())
        await browser.ok(
            "rtc:signal", {**signal, "data": {"type": "answer", "sdp": fresh.localDescription.sdp}}
        )
        await wait_for(lambda: bool(tracks))
        video = next(t for t in tracks if t.kind == "video")
        frame = await asyncio.wait_for(video.recv(), 10)
        rgb = frame.to_ndarray(format="rgb24")
        assert rgb.mean() > 200
        assert a.links[browser_id].restarts == 1
    finally:
        for pc in pcs:
            await pc.close()
