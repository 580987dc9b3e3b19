"""Video through a real Janus (the SFU), signaled through the room server's socket.

Janus gathers no loopback ICE candidates, so it runs in a network namespace the test makes
(tests/netns.py) with a veth pair: the room server starts it there as its managed Janus
(``janus_command_prefix = ip netns exec ...``), the aiortc peers run in the test process and
reach it over the veth only. Janus's API is a Unix socket in a private directory, which the
room server reaches across the namespace. The tests of several room servers sharing one Janus
run it themselves (an external Janus to the servers), in the same namespace.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
from collections.abc import AsyncIterator, Awaitable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from aiortc import RTCPeerConnection
from aiortc.mediastreams import AudioStreamTrack
from aiortc.stats import RTCOutboundRtpStreamStats, RTCTransportStats

from jupyter_classroom import ClassroomError, Connection
from jupyter_classroom.media import ColorTrack, SfuPeer
from jupyter_classroom.protocol import Event
from jupyter_classroom.sfu.config import JanusConfig, JanusSettings
from jupyter_classroom.sfu.janus_api import JanusSession
from jupyter_classroom.sfu.process import ManagedJanus
from jupyter_classroom.sfu.shared import LocalRegistry, RoomKeys
from jupyter_classroom.sfu.videoroom import VideoRooms

from .conftest import MakeConnection
from .helpers import mean_colour, wait_for
from .netns import Namespace, veth_namespace
from .redis_server import running_redis
from .test_scaleout import HEADERS as SCALEOUT_HEADERS
from .test_scaleout import room_servers

pytestmark = pytest.mark.timeout(120)

RED = (220, 30, 40)


@pytest.fixture(scope="module")
def namespace() -> Iterator[Namespace]:
    with veth_namespace() as ns:
        yield ns


@pytest.fixture
def classroom_config(namespace: Namespace, request: pytest.FixtureRequest) -> dict[str, Any]:
    # parametrize("classroom_config", [{...}], indirect=True): a test's settings over these
    own: dict[str, Any] = getattr(request, "param", {})
    return {**namespace.sfu_config((41000, 41999)), **own}


def listening_tcp(ns: Namespace) -> str:
    result = subprocess.run([*ns.prefix(), "ss", "-Hltn"], capture_output=True, text=True)
    return result.stdout.strip()


async def two_in_a_room(
    connection: MakeConnection, peers: list[SfuPeer]
) -> tuple[SfuPeer, SfuPeer]:
    alice, bob = await connection("alice"), await connection("bob")
    room = await alice.create_room("lecture")
    await bob.join(room.id)
    teacher, student = SfuPeer(alice, room.id), SfuPeer(bob, room.id)
    peers.extend([teacher, student])
    return teacher, student


# -------------------------------------------------------------------------------------------
# the generated configuration


def test_config_loads_videoroom_and_websockets_only(tmp_path: Path) -> None:
    config = JanusConfig.create(JanusSettings(rtp_ports=(30000, 30099)), str(tmp_path))
    assert sorted(p.name for p in (config.root / "plugins").iterdir()) == ["libjanus_videoroom.so"]
    assert sorted(p.name for p in (config.root / "transports").iterdir()) == [
        "libjanus_websockets.so"
    ]
    assert not any((config.root / "events").iterdir())
    assert not any((config.root / "loggers").iterdir())
    for link in (config.root / "plugins").iterdir():
        assert link.resolve().exists(), "the Debian package's library is where we link"
    main = config.main_config.read_text()
    assert f'plugins_folder = "{config.root / "plugins"}"' in main
    assert 'rtp_port_range = "30000-30099"' in main
    websockets = (config.configs / "janus.transport.websockets.jcfg").read_text()
    assert f'ws_unix = "{config.api_socket}"' in websockets
    assert "admin_ws = false" in websockets and "wss = false" in websockets
    assert "ws_port" not in websockets and "ws_ip" not in websockets
    assert config.admin_key in (config.configs / "janus.plugin.videoroom.jcfg").read_text()
    assert oct(config.root.stat().st_mode & 0o777) == "0o700"


def test_config_nat_and_interface(tmp_path: Path) -> None:
    settings = JanusSettings(nat_1_1_mapping="203.0.113.7", interface="10.0.0.5",
                             ice_enforce_list="eth0")  # fmt: skip
    main = JanusConfig.create(settings, str(tmp_path)).main_config.read_text()
    assert 'nat_1_1_mapping = "203.0.113.7"' in main
    assert 'interface = "10.0.0.5"' in main
    assert 'ice_enforce_list = "eth0"' in main
    plain = JanusConfig.create(JanusSettings(), str(tmp_path)).main_config.read_text()
    assert "nat_1_1_mapping" not in plain and "interface =" not in plain


# -------------------------------------------------------------------------------------------
# a real Janus, through the room server


async def test_publish_and_watch_through_janus(server, connection, peers, namespace):
    teacher, student = await two_in_a_room(connection, peers)
    announced: list[dict[str, Any]] = []
    student.connection.on(Event.RTC_PUBLISHERS, announced.append)
    await teacher.publish(ColorTrack(RED, fps=15))
    received = await student.wait_for_track(teacher.member_id, timeout=20)
    await received.wait_frames(10, timeout=20)
    colour = mean_colour(received)
    assert np.allclose(colour, RED, atol=25), colour
    assert announced[-1]["publishers"] == [teacher.member_id]

    sfu = server.app.sfu
    managed = sfu.managed
    assert managed is not None and managed.running
    # what the managed Janus loaded and exposes: the VideoRoom over a Unix socket, no TCP
    session = await JanusSession.open(managed.api_url)
    try:
        info = await session.server_info()
    finally:
        await session.close()
    assert list(info["plugins"]) == ["janus.plugin.videoroom"]
    assert list(info["transports"]) == ["janus.transport.websockets"]
    assert listening_tcp(namespace) == ""
    # the teacher's camera reaches Janus once, whoever watches
    participants = await sfu.rooms.participants(teacher.room_id)
    assert [(p["display"], p["publisher"]) for p in participants] == [(teacher.member_id, True)]


async def test_publishing_again_replaces_the_stream(connection, peers):
    teacher, student = await two_in_a_room(connection, peers)
    await teacher.publish(ColorTrack(RED, fps=15))
    first = await student.wait_for_track(teacher.member_id, timeout=20)
    await first.wait_frames(3, timeout=20)
    green = (30, 200, 40)
    await teacher.publish(ColorTrack(green, fps=15))
    await wait_for(
        lambda: (video := student.video(teacher.member_id)) is not None and video is not first,
        timeout=20,
    )
    again = student.video(teacher.member_id)
    assert again is not None
    await again.wait_frames(5, timeout=20)
    assert np.allclose(mean_colour(again), green, atol=25)


async def test_only_members_reach_the_video_room(connection, peers):
    teacher, student = await two_in_a_room(connection, peers)
    await teacher.publish(ColorTrack(RED, fps=15))
    await student.wait_for_track(teacher.member_id, timeout=20)
    outsider = await connection("mallory")
    await outsider.create_room("elsewhere")
    room = {"room_id": teacher.room_id}
    for event, payload in [
        (Event.RTC_SUBSCRIBE, {**room, "member_id": teacher.member_id}),
        (Event.RTC_PUBLISH, {**room, "sdp": "v=0\r\n"}),
        (Event.RTC_SUBSCRIBE_ANSWER, {**room, "member_id": teacher.member_id, "sdp": "v=0"}),
        (Event.RTC_UNPUBLISH, room),
    ]:
        with pytest.raises(ClassroomError) as refused:
            await outsider.request(event, payload)
        assert refused.value.code == "not_member", event
    # a member watching someone who does not publish, or sending a broken SDP
    with pytest.raises(ClassroomError) as refused:
        await teacher.connection.request(
            Event.RTC_SUBSCRIBE, {**room, "member_id": student.member_id}
        )
    assert refused.value.code == "not_found"
    with pytest.raises(ClassroomError) as refused:
        await student.connection.request(Event.RTC_PUBLISH, {**room, "sdp": "not an sdp"})
    assert refused.value.code == "bad_request"
    assert "video server" in refused.value.message


async def test_kick_and_disconnect_end_the_streams_in_janus(server, connection, peers):
    teacher, student = await two_in_a_room(connection, peers)
    await teacher.publish(ColorTrack(RED, fps=15))
    await student.publish(ColorTrack((30, 200, 40), fps=15))
    received = await teacher.wait_for_track(student.member_id, timeout=20)
    await student.wait_for_track(teacher.member_id, timeout=20)
    sfu = server.app.sfu
    room_id = teacher.room_id
    janus_id = sfu.rooms.rooms[room_id].janus_id
    both = sorted([teacher.member_id, student.member_id])
    await wait_for(lambda: sfu.rooms.live_here(room_id) == both)
    announced: list[dict[str, Any]] = []
    teacher.connection.on(Event.RTC_PUBLISHERS, announced.append)

    await teacher.connection.request(
        Event.ROOM_KICK, {"room_id": room_id, "member_id": student.member_id}
    )
    await wait_for(lambda: announced and announced[-1]["publishers"] == [teacher.member_id])
    listed = await janus_request({"request": "listparticipants", "room": janus_id}, sfu)
    assert [p["display"] for p in listed["participants"]] == [teacher.member_id]
    await received.wait_ended(timeout=10)

    # the teacher's socket goes: nobody uses the VideoRoom, which goes from Janus
    await teacher.connection.close()
    await wait_for(lambda: room_id not in sfu.rooms.rooms)
    assert (await janus_request({"request": "exists", "room": janus_id}, sfu))["exists"] is False


async def test_a_late_joiner_asks_who_publishes(connection, peers):
    teacher, student = await two_in_a_room(connection, peers)
    await teacher.publish(ColorTrack(RED, fps=15))
    await student.wait_for_track(teacher.member_id, timeout=20)
    carol = await connection("carol")
    await carol.join(teacher.room_id)
    late = SfuPeer(carol, teacher.room_id)
    peers.append(late)
    assert await late.start() == [teacher.member_id]
    received = await late.wait_for_track(teacher.member_id, timeout=20)
    await received.wait_frames(5, timeout=20)
    assert np.allclose(mean_colour(received), RED, atol=25)


# one publisher, twenty watchers: small frames, so twenty aiortc decoders fit on two cores
CLASS_SIZE = 20
SMALL = {"width": 160, "height": 120, "fps": 10}
WINDOW_FRAMES = 30  # each measurement spans this many frames of the publisher's camera


class GrainyColorTrack(ColorTrack):
    """The publisher's colour with grain that changes every frame: each frame carries a
    real payload (as a camera's does), not the few bytes of an unchanging solid colour."""

    def __init__(self, color: tuple[int, int, int], **kwargs: Any) -> None:
        super().__init__(color, **kwargs)
        grain = np.random.default_rng(13).integers(-20, 21, (8, *self._array.shape))
        self._grainy = [np.clip(self._array + g, 0, 255).astype(np.uint8) for g in grain]

    def render(self) -> np.ndarray:
        return self._grainy[self.frames_sent % len(self._grainy)]


async def video_bytes_sent(pc: RTCPeerConnection) -> int:
    """The RTP bytes a connection has sent for its video (aiortc's outbound-rtp stats)."""
    stats = await pc.getStats()
    return sum(s.bytesSent for s in stats.values()
               if isinstance(s, RTCOutboundRtpStreamStats) and s.kind == "video")  # fmt: skip


async def bytes_received(pc: RTCPeerConnection) -> int:
    """What a connection's transport has received (media, RTCP and ICE checks)."""
    stats = await pc.getStats()
    return sum(s.bytesReceived for s in stats.values() if isinstance(s, RTCTransportStats))


def veth_received(ns: Namespace) -> int:
    """Bytes the test's end of the veth has received: everything Janus sent."""
    found = subprocess.run(["ip", "-o", "-4", "addr", "show", "to", ns.outside_ip],
                           capture_output=True, text=True, check=True).stdout.split()  # fmt: skip
    return int(Path(f"/sys/class/net/{found[1]}/statistics/rx_bytes").read_text())


@dataclass
class Window:
    """What crossed the wire while the publisher's camera produced ``frames`` frames."""

    frames: int
    published: int  # RTP bytes the publisher sent (its one stream)
    forwarded: int  # bytes Janus sent out on the veth (every watcher's copy)

    @property
    def fan_out(self) -> float:
        return self.forwarded / self.published


async def measure(camera: ColorTrack, sending: RTCPeerConnection, ns: Namespace) -> Window:
    start_frame = camera.frames_sent
    published, forwarded = await video_bytes_sent(sending), veth_received(ns)
    await wait_for(lambda: camera.frames_sent >= start_frame + WINDOW_FRAMES, timeout=60)
    return Window(
        camera.frames_sent - start_frame,
        await video_bytes_sent(sending) - published,
        veth_received(ns) - forwarded,
    )


async def watch(connection: MakeConnection, name: str, room_id: str, peers: list[Any]) -> SfuPeer:
    conn = await connection(name)
    await conn.join(room_id)
    watcher = SfuPeer(conn, room_id)
    peers.append(watcher)
    await watcher.start()
    return watcher


@pytest.mark.timeout(240)
async def test_twenty_watchers_cost_the_publisher_one_stream(
    server: Any, connection: MakeConnection, peers: list[Any], namespace: Namespace
) -> None:
    """One aiortc publisher and twenty aiortc watchers through our signaling and Janus: each
    watcher decodes the publisher's colour; what the publisher sends per frame stays that of
    one stream (a mesh would send twenty copies); Janus sends one copy per watcher, and a
    watcher that leaves the room stops costing anything."""
    teacher, first = await two_in_a_room(connection, peers)
    camera = GrainyColorTrack(RED, **SMALL)
    await teacher.publish(camera)
    received = await first.wait_for_track(teacher.member_id, timeout=20)
    await received.wait_frames(5, timeout=20)
    assert teacher.sending is not None
    alone = await measure(camera, teacher.sending, namespace)

    others = await asyncio.gather(*[
        watch(connection, f"student{n}", teacher.room_id, peers) for n in range(CLASS_SIZE - 1)
    ])  # fmt: skip
    watchers = [first, *others]
    for watcher in watchers:
        video = await watcher.wait_for_track(teacher.member_id, timeout=60)
        await video.wait_frames(5, timeout=60)
        assert np.allclose(mean_colour(video), RED, atol=25), (watcher, mean_colour(video))
    sfu = server.app.sfu
    room = sfu.rooms.rooms[teacher.room_id]
    assert len(room.subscribers) == CLASS_SIZE
    # every watcher's first keyframe is behind us: measure the steady stream
    settled = camera.frames_sent + 10
    await wait_for(lambda: camera.frames_sent >= settled)
    whole_class = await measure(camera, teacher.sending, namespace)

    # the publisher's upload per frame does not grow with the class (a mesh: twenty times)
    assert whole_class.published / whole_class.frames < 1.5 * alone.published / alone.frames, (
        alone, whole_class)  # fmt: skip
    assert len([s for s in teacher.sending.getSenders() if s.track is not None]) == 1
    participants = await sfu.rooms.participants(teacher.room_id)
    assert [p["display"] for p in participants if p["publisher"]] == [teacher.member_id]
    # ... while Janus sends a copy to every watcher
    assert whole_class.fan_out > 0.75 * CLASS_SIZE, whole_class
    assert whole_class.fan_out > 10 * alone.fan_out, (alone, whole_class)

    # half the class leaves the room (their own connections stay open): Janus stops sending
    # to them and drops their subscriptions; the others watch on
    leaving, staying = watchers[CLASS_SIZE // 2 :], watchers[: CLASS_SIZE // 2]
    await asyncio.gather(*[w.connection.leave(teacher.room_id) for w in leaving])
    await wait_for(lambda: len(room.subscribers) == len(staying))
    assert {member for member, _ in room.subscribers} == {w.member_id for w in staying}
    left_pcs = [w.receiving(teacher.member_id) for w in leaving]
    assert all(left_pcs)
    await measure(camera, teacher.sending, namespace)  # what was on its way has arrived
    before = [await bytes_received(pc) for pc in left_pcs if pc]
    half_class = await measure(camera, teacher.sending, namespace)
    assert [await bytes_received(pc) for pc in left_pcs if pc] == before
    assert half_class.fan_out < 0.7 * whole_class.fan_out, (whole_class, half_class)
    for watcher in staying:
        still = watcher.video(teacher.member_id)
        assert still is not None and not still.ended
        frames = still.frames
        await still.wait_frames(frames + 3, timeout=20)


async def test_recalled_breakouts_take_their_video_rooms_from_janus(server, connection, peers):
    """A breakout room's VideoRoom goes from Janus when the host recalls the groups, even while
    its members are still connected (they go back to the main room)."""
    host, student = await connection("alice"), await connection("bob")
    room = await host.create_room("lecture")
    joined = await student.join(room.id)
    opened = await host.open_breakouts(room.id, groups=[[joined.you["id"]]])
    group_id = opened["breakouts"][0]["room_id"]
    await student.join(group_id)
    publisher = SfuPeer(student, group_id)
    peers.extend([publisher])
    await publisher.publish(ColorTrack(RED, fps=15))
    sfu = server.app.sfu
    await wait_for(lambda: sfu.rooms.live_here(group_id) == [publisher.member_id])
    janus_id = sfu.rooms.rooms[group_id].janus_id

    await host.request(Event.BREAKOUT_RECALL, {"room_id": room.id})
    await wait_for(lambda: group_id not in sfu.rooms.rooms)
    assert (await janus_request({"request": "exists", "room": janus_id}, sfu))["exists"] is False


async def janus_request(body: dict[str, Any], sfu: Any) -> dict[str, Any]:
    """Ask the room server's Janus directly, on a session of the test's own."""
    session = await JanusSession.open(sfu.managed.api_url)
    try:
        handle = await session.attach()
        return (await handle.message(body)).data
    finally:
        await session.close()


async def test_janus_killed_comes_back_and_video_resumes(server, connection, peers):
    teacher, student = await two_in_a_room(connection, peers)
    await teacher.publish(ColorTrack(RED, fps=15))
    first = await student.wait_for_track(teacher.member_id, timeout=20)
    await first.wait_frames(5, timeout=20)
    sfu = server.app.sfu
    managed = sfu.managed
    old_pid = managed.process.pid
    resets: list[dict[str, Any]] = []
    student.connection.on(
        Event.RTC_PUBLISHERS, lambda e: resets.append(e) if e.get("reset") else None
    )

    os.kill(old_pid, signal.SIGKILL)  # a process this test's server started
    await wait_for(lambda: resets, timeout=30)
    assert managed.running and managed.process.pid != old_pid
    assert sfu.rooms.resets == 1
    janus_id = sfu.rooms.rooms[teacher.room_id].janus_id  # made again in the new Janus
    assert (await janus_request({"request": "exists", "room": janus_id}, sfu))["exists"] is True
    # the teacher publishes again by itself; the student watches the new stream
    await wait_for(
        lambda: (video := student.video(teacher.member_id)) is not None and video is not first,
        timeout=30,
    )
    again = student.video(teacher.member_id)
    assert again is not None
    await again.wait_frames(10, timeout=20)
    assert np.allclose(mean_colour(again), RED, atol=25)


@pytest.mark.parametrize("classroom_config", [{}])
async def test_mesh_mode_refuses_the_sfu_events(server, connection):
    alice = await connection("alice")
    room = await alice.create_room("mesh")
    with pytest.raises(ClassroomError) as refused:
        await alice.request(Event.RTC_PUBLISH, {"room_id": room.id, "sdp": "v=0"})
    assert refused.value.code == "forbidden"
    assert server.app.sfu is None


# -------------------------------------------------------------------------------------------
# several room servers sharing one external Janus (a hub deployment)


@pytest.fixture
async def external_janus(namespace: Namespace) -> AsyncIterator[ManagedJanus]:
    """A Janus the test runs (with the configuration a managed one gets), in the namespace:
    to the room servers it is an external Janus (``janus_url``)."""
    settings = JanusSettings(rtp_ports=(41000, 41999), interface=namespace.inside_ip,
                             ice_enforce_list=namespace.inside_ip)  # fmt: skip
    janus = ManagedJanus(settings, command_prefix=namespace.prefix())
    await janus.ensure_running()
    yield janus
    await janus.stop()


async def janus_rooms(janus: ManagedJanus) -> dict[int, list[str]]:
    """Every VideoRoom of this Janus (private ones too: we hold the admin key), with the
    displays (member ids) of its publishers."""
    session = await JanusSession.open(janus.api_url)
    try:
        handle = await session.attach()
        listed = await handle.message({"request": "list", "admin_key": janus.admin_key})
        rooms = {}
        for room in listed.data["list"]:
            found = await handle.message({"request": "listparticipants", "room": room["room"]})
            rooms[room["room"]] = sorted(p["display"] for p in found.data["participants"])
        return rooms
    finally:
        await session.close()


async def test_two_room_servers_share_one_janus(
    external_janus: ManagedJanus, peers: list[Any]
) -> None:
    """Two room-server processes sharing Redis and one Janus (docs/sfu.md, "JupyterHub"):
    each classroom room's VideoRoom is its own in Janus; each process's members see their
    room's camera; one room closing leaves the other streaming."""
    options = ("--ClassroomApp.video_mode=sfu",
               f"--ClassroomApp.janus_url={external_janus.api_url}",
               f"--ClassroomApp.janus_admin_key={external_janus.admin_key}")  # fmt: skip
    green = (30, 200, 40)
    with running_redis() as redis_url, room_servers(redis_url, 2, *options) as servers:
        classes = []
        for n, (server, colour) in enumerate(zip(servers, (RED, green), strict=True)):
            url = server.info.origin + "/"
            teacher = Connection(url, headers=SCALEOUT_HEADERS, name=f"teacher{n}")
            student = Connection(url, headers=SCALEOUT_HEADERS, name=f"student{n}")
            for conn in (teacher, student):
                await conn.connect()
            room = await teacher.create_room(f"class {n}")
            await student.join(room.id)
            sending, watching = SfuPeer(teacher, room.id), SfuPeer(student, room.id)
            peers.extend([sending, watching, teacher, student])
            await sending.publish(ColorTrack(colour, fps=15))
            classes.append((sending, watching, colour))
        for sending, watching, colour in classes:
            video = await watching.wait_for_track(sending.member_id, timeout=30)
            await video.wait_frames(5, timeout=30)
            assert np.allclose(mean_colour(video), colour, atol=25)
        rooms = await janus_rooms(external_janus)
        assert sorted(rooms.values()) == sorted([[s.member_id] for s, _, _ in classes]), rooms

        # the first class ends: its VideoRoom goes from Janus, the second streams on
        for conn in (classes[0][0].connection, classes[0][1].connection):
            await conn.close()
        sending, watching, colour = classes[1]
        for _ in range(200):
            if len(rooms := await janus_rooms(external_janus)) == 1:
                break
            await asyncio.sleep(0.1)
        assert list(rooms.values()) == [[sending.member_id]], rooms
        still = watching.video(sending.member_id)
        assert still is not None
        await still.wait_frames(still.frames + 5, timeout=20)
        assert np.allclose(mean_colour(still), colour, atol=25)


async def offer(pc: RTCPeerConnection) -> str:
    pc.addTrack(ColorTrack(RED, fps=5))
    await pc.setLocalDescription(await pc.createOffer())
    return str(pc.localDescription.sdp)


async def test_a_room_id_taken_in_janus_is_never_shared(external_janus: ManagedJanus) -> None:
    """VideoRoom ids are random, but an external Janus may already hold one: another
    deployment's (its secret is not ours: this room takes another id, for every process,
    and leaves that one alone). After this process's connection drops while Janus runs on,
    the room is found again under its id (it opens with our secret) and not made anew."""

    def connect() -> Awaitable[JanusSession]:
        return JanusSession.open(external_janus.api_url)

    one = VideoRooms(connect, admin_key=external_janus.admin_key)
    other_keys = LocalRegistry()  # another deployment: its own Store
    other = VideoRooms(connect, admin_key=external_janus.admin_key, registry=other_keys)
    pcs = [RTCPeerConnection() for _ in range(3)]
    try:
        await one.publish("room-a", "m1", await offer(pcs[0]))
        taken = one.rooms["room-a"].janus_id
        drawn = RoomKeys(taken, "not one's secret", "pin")  # as if the random ids had met
        other_keys.records["room-b"] = drawn.dumps()
        await other.publish("room-b", "m2", await offer(pcs[1]))
        moved = other.rooms["room-b"].janus_id
        assert moved != taken
        assert RoomKeys.loads(other_keys.records["room-b"]).janus_id == moved  # for all
        rooms = await janus_rooms(external_janus)
        assert rooms[taken] == ["m1"] and rooms[moved] == ["m2"], rooms

        # the connection drops while Janus runs on: the room is there still, under its id
        assert other.session is not None
        await other.session.close()
        await wait_for(lambda: other.resets == 1 and other.rooms["room-b"].created)
        assert other.rooms["room-b"].janus_id == moved
        await other.publish("room-b", "m2", await offer(pcs[2]))
        rooms = await janus_rooms(external_janus)
        assert rooms[taken] == ["m1"] and rooms[moved] == ["m2"], rooms
    finally:
        await one.close()
        await other.close()
        for pc in pcs:
            await pc.close()


# -------------------------------------------------------------------------------------------
# one classroom room whose members reach different room-server processes


async def video_mode_on(url: str, member: Connection, room_id: str) -> str:
    """The room's mode as process ``url`` tells it: a video socket of ``member`` (a page's
    video view) attached there with a ticket reads it in its ack."""
    ticket = (await member.request(Event.ROOM_TICKET, {"room_id": room_id}))["ticket"]
    page = Connection(url, headers=SCALEOUT_HEADERS, name="video view")
    await page.connect()
    try:
        ack = await page.request(Event.ROOM_ATTACH, {"ticket": ticket, "board": False})
        return str(ack["video"]["mode"])
    finally:
        await page.close()


async def sees(watcher: SfuPeer, member_id: str, colour: tuple[int, int, int],
               other_than: Any = None) -> Any:  # fmt: skip
    """Wait until ``watcher`` decodes frames from ``member_id`` (on a track other than
    ``other_than``: a new stream) and check their colour; the track."""

    def arriving() -> bool:
        video = watcher.video(member_id)
        return video is not None and video is not other_than and video.frames >= 5

    await wait_for(arriving, timeout=45, message=f"{watcher} sees no video of {member_id}")
    video = watcher.video(member_id)
    assert video is not None
    assert np.allclose(mean_colour(video), colour, atol=25), (watcher, mean_colour(video))
    return video


def shared_janus_options(janus: ManagedJanus, mode: str = "sfu") -> tuple[str, ...]:
    return (f"--ClassroomApp.video_mode={mode}", f"--ClassroomApp.janus_url={janus.api_url}",
            f"--ClassroomApp.janus_admin_key={janus.admin_key}")  # fmt: skip


@dataclass
class SplitClass:
    """One classroom room whose members reach two room-server processes: the teacher and a
    student on A, another student on B."""

    urls: tuple[str, str]
    teacher: Connection
    student_a: Connection
    student_b: Connection
    room_id: str


@contextlib.asynccontextmanager
async def split_class(
    janus: ManagedJanus, peers: list[Any], *options: str
) -> AsyncIterator[SplitClass]:
    with running_redis() as redis_url, room_servers(redis_url, 2, *options) as servers:
        urls = (servers[0].info.origin + "/", servers[1].info.origin + "/")

        async def connect(url: str, name: str) -> Connection:
            conn = Connection(url, headers=SCALEOUT_HEADERS, name=name)
            await conn.connect()
            peers.append(conn)
            return conn

        teacher = await connect(urls[0], "teacher")
        student_a, student_b = (
            await connect(urls[0], "student A"),
            await connect(urls[1], "student B"),
        )
        room = await teacher.create_room("lecture")
        yield SplitClass(urls, teacher, student_a, student_b, room.id)


async def test_a_rooms_video_mode_is_decided_once_for_every_room_server(
    external_janus: ManagedJanus, peers: list[Any]
) -> None:
    """ "auto" with two room-server processes: the member that makes the room big enough
    arrives on B, the room goes to the SFU for both processes (each says so in its acks) and
    the members on A hear ``rtc:mode``."""
    options = (*shared_janus_options(external_janus, "auto"), "--ClassroomApp.sfu_threshold=3")
    async with split_class(external_janus, peers, *options) as c:
        switches: list[dict[str, Any]] = []
        c.teacher.on(Event.RTC_MODE, switches.append)
        await c.student_a.join(c.room_id)
        modes = [await video_mode_on(url, c.teacher, c.room_id) for url in c.urls]
        assert modes == ["mesh", "mesh"]
        await c.student_b.join(c.room_id)  # the third member, on B
        await wait_for(lambda: switches, message="the teacher on A hears no rtc:mode")
        assert switches == [{"room_id": c.room_id, "mode": "sfu"}]
        modes = [await video_mode_on(url, c.student_a, c.room_id) for url in c.urls]
        assert modes == ["sfu", "sfu"]


@pytest.mark.timeout(180)
async def test_one_classroom_room_is_one_video_room_across_room_servers(
    external_janus: ManagedJanus, peers: list[Any]
) -> None:
    """Two room-server processes on one Redis and one Janus, one classroom room with members
    on both: one VideoRoom in Janus. The teacher's camera (published through A) is decoded by
    the watchers on A and B, the student's on B by the teacher on A; either process lists
    both publishers; the only member on B, kicked through A, stops publishing and watching
    while the VideoRoom stays for the others; the room closing removes it from Janus."""
    green = (30, 200, 40)
    async with split_class(external_janus, peers, *shared_janus_options(external_janus)) as c:
        for student in (c.student_a, c.student_b):
            await student.join(c.room_id)
        sending = SfuPeer(c.teacher, c.room_id)
        on_a, on_b = SfuPeer(c.student_a, c.room_id), SfuPeer(c.student_b, c.room_id)
        peers[:0] = [sending, on_a, on_b]  # closed before their connections
        for watcher in (on_a, on_b):
            await watcher.start()
        await sending.publish(ColorTrack(RED, fps=15))
        for watcher in (on_a, on_b):
            await sees(watcher, sending.member_id, RED)
        await on_b.publish(ColorTrack(green, fps=15))  # through B, to the teacher on A
        await sees(sending, on_b.member_id, green)
        both = sorted([sending.member_id, on_b.member_id])
        rooms = await janus_rooms(external_janus)
        assert list(rooms.values()) == [both], rooms
        (janus_id,) = rooms
        for conn in (c.student_a, c.student_b):  # asked on either process
            listed = await conn.request(Event.RTC_PUBLISHERS, {"room_id": c.room_id})
            assert listed["publishers"] == both

        # B's only member is kicked by the host on A: its feed leaves the VideoRoom and
        # Janus stops sending to it (its connections stay open), the others watch on
        kicked = on_b.receiving(sending.member_id)
        assert kicked is not None
        await c.teacher.request(
            Event.ROOM_KICK, {"room_id": c.room_id, "member_id": on_b.member_id}
        )
        await wait_for(lambda: on_a.publishers == [sending.member_id])
        assert await janus_rooms(external_janus) == {janus_id: [sending.member_id]}
        await asyncio.sleep(1.0)  # what was on its way has arrived
        before = await bytes_received(kicked)
        still = on_a.video(sending.member_id)
        assert still is not None
        await still.wait_frames(still.frames + 15, timeout=20)
        assert await bytes_received(kicked) == before

        # the room closes (through A): its VideoRoom goes from Janus
        await c.teacher.request(Event.ROOM_CLOSE, {"room_id": c.room_id})
        for _ in range(200):
            if not (rooms := await janus_rooms(external_janus)):
                break
            await asyncio.sleep(0.1)
        assert rooms == {}


@pytest.mark.timeout(180)
async def test_a_shared_video_room_comes_back_once_after_janus_restarts(
    external_janus: ManagedJanus, peers: list[Any]
) -> None:
    """Janus killed under two room-server processes that both stream in one classroom room:
    the VideoRoom is made again once, under the id it had, and every watcher decodes the new
    streams (the teacher's through A, the student's through B)."""
    green = (30, 200, 40)
    async with split_class(external_janus, peers, *shared_janus_options(external_janus)) as c:
        for student in (c.student_a, c.student_b):
            await student.join(c.room_id)
        sending = SfuPeer(c.teacher, c.room_id)
        on_a, on_b = SfuPeer(c.student_a, c.room_id), SfuPeer(c.student_b, c.room_id)
        peers[:0] = [sending, on_a, on_b]
        await sending.publish(ColorTrack(RED, fps=15))
        await on_b.publish(ColorTrack(green, fps=15))
        red = {watcher: await sees(watcher, sending.member_id, RED) for watcher in (on_a, on_b)}
        seen_green = await sees(sending, on_b.member_id, green)
        rooms = await janus_rooms(external_janus)
        (janus_id,) = rooms

        assert external_janus.process is not None
        old_pid = external_janus.process.pid
        os.kill(old_pid, signal.SIGKILL)  # the Janus this test started
        await wait_for(lambda: external_janus.running and external_janus.process.pid != old_pid,
                       timeout=30)  # fmt: skip
        for watcher, before in red.items():
            await sees(watcher, sending.member_id, RED, other_than=before)
        await sees(sending, on_b.member_id, green, other_than=seen_green)
        rooms = await janus_rooms(external_janus)
        assert rooms == {janus_id: sorted([sending.member_id, on_b.member_id])}, rooms


# -------------------------------------------------------------------------------------------
# the host's lecture controls (rtc:policy, rtc:mute_all; tests/test_video_policy.py: the mesh)


async def test_students_publishing_off_stops_their_feeds_in_janus(server, connection, peers):
    teacher, student = await two_in_a_room(connection, peers)
    await teacher.publish(ColorTrack(RED, fps=15))
    await student.publish(ColorTrack((30, 200, 40), fps=15), AudioStreamTrack())
    await teacher.wait_for_track(student.member_id, timeout=20)
    watched = await student.wait_for_track(teacher.member_id, timeout=20)
    announced: list[dict[str, Any]] = []
    teacher.connection.on(Event.RTC_PUBLISHERS, announced.append)

    # a student may not: refused; the host switches it off
    with pytest.raises(ClassroomError) as refused:
        await student.connection.set_video_policy(student.room_id, students_publish=False)
    assert refused.value.code == "forbidden"
    policy = await teacher.connection.set_video_policy(teacher.room_id, students_publish=False)
    assert policy == {"students_publish": False, "lecture": False}
    # Janus carries the teacher's feed only; the room hears it, the student stops sending
    await wait_for(lambda: announced and announced[-1]["publishers"] == [teacher.member_id])
    participants = await server.app.sfu.rooms.participants(teacher.room_id)
    assert [(p["display"], p["publisher"]) for p in participants] == [(teacher.member_id, True)]
    await wait_for(lambda: not student.may_publish and student.sending is None)
    assert teacher.may_publish
    # the student goes on watching the teacher, and may not publish again
    frames = watched.frames
    await wait_for(lambda: watched.frames > frames + 5, timeout=20)
    with pytest.raises(ClassroomError) as refused:
        await student.publish(ColorTrack((30, 200, 40), fps=15))
    assert refused.value.code == "forbidden"
    assert student.sending is None
    # allowed again: the student publishes and the teacher watches it
    await teacher.connection.set_video_policy(teacher.room_id, students_publish=True)
    await wait_for(lambda: student.may_publish)
    await student.publish(ColorTrack((30, 200, 40), fps=15), AudioStreamTrack())
    await wait_for(lambda: student.member_id in announced[-1]["publishers"], timeout=20)

    # mute all: the student's audio sender sends nothing, its video goes on; the teacher's
    # own microphone is untouched
    await teacher.connection.mute_all(teacher.room_id)
    await wait_for(lambda: student.muted)
    assert not teacher.muted
    sending = student.sending
    assert sending is not None
    tracks = {s.kind: s.track for s in sending.getSenders()}
    assert tracks["audio"] is None and tracks["video"] is not None
    student.unmute()
    assert {s.kind: s.track for s in sending.getSenders()}["audio"] is not None


@pytest.mark.parametrize(
    "classroom_config", [{"video_mode": "auto", "sfu_threshold": 3}], indirect=True
)
async def test_an_sfu_peer_follows_the_room_to_the_sfu(connection, peers):
    """In a mesh room an SfuPeer waits; when the room goes to the SFU (rtc:mode) it
    publishes there, and a member arriving later watches it."""
    alice, bob, carol = [await connection(n) for n in ("alice", "bob", "carol")]
    room = await alice.create_room("growing")
    await bob.join(room.id)
    teacher = SfuPeer(alice, room.id)
    peers.append(teacher)
    assert not teacher.on_sfu and await teacher.start() == []
    await teacher.publish(ColorTrack(RED, fps=15))
    assert teacher.sending is None  # a mesh room: nothing goes to Janus yet
    await carol.join(room.id)  # the third member: the room goes to the SFU
    await wait_for(lambda: teacher.on_sfu and teacher.sending is not None, timeout=20)
    student = SfuPeer(carol, room.id)
    peers.append(student)
    assert student.on_sfu
    await student.start()
    received = await student.wait_for_track(teacher.member_id, timeout=20)
    await received.wait_frames(5, timeout=20)
    assert np.allclose(mean_colour(received), RED, atol=25)


@pytest.mark.timeout(180)
async def test_students_publishing_off_reaches_feeds_through_another_room_server(
    external_janus: ManagedJanus, peers: list[Any]
) -> None:
    """The host on A stops students publishing: the feed of a student publishing through B
    leaves Janus (a kick), B refuses that student's next rtc:publish (the policy is in
    Redis); B's student hears the policy, a later join's ack carries it."""
    green = (30, 200, 40)
    async with split_class(external_janus, peers, *shared_janus_options(external_janus)) as c:
        await c.student_b.join(c.room_id)
        sending, on_b = SfuPeer(c.teacher, c.room_id), SfuPeer(c.student_b, c.room_id)
        peers[:0] = [sending, on_b]
        await sending.publish(ColorTrack(RED, fps=15))
        await on_b.publish(ColorTrack(green, fps=15))
        await sees(sending, on_b.member_id, green)
        await sees(on_b, sending.member_id, RED)
        await c.teacher.set_video_policy(c.room_id, students_publish=False)
        await wait_for(
            lambda: on_b.publishers == [sending.member_id] and on_b.sending is None, timeout=20
        )
        assert list((await janus_rooms(external_janus)).values()) == [[sending.member_id]]
        with pytest.raises(ClassroomError) as refused:
            await on_b.publish(ColorTrack(green, fps=15))
        assert refused.value.code == "forbidden"
        # the member on B heard it; a later join reads it in the ack
        await c.student_a.join(c.room_id)
        assert c.student_a.rooms[c.room_id].video_policy["students_publish"] is False
        assert c.student_b.rooms[c.room_id].video_policy["students_publish"] is False
