"""Video through a real Janus (the SFU), signaled through the room server's socket.

Janus gathers no loopback ICE candidates, so it runs in a network namespace the test makes
(tests/netns.py) with a veth pair: the room server starts it there as its managed Janus
(``janus_command_prefix = ip netns exec ...``), the aiortc peers run in the test process and
reach it over the veth only. Janus's API is a Unix socket in a private directory, which the
room server reaches across the namespace.
"""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from jupyter_classroom import ClassroomError
from jupyter_classroom.media import ColorTrack, SfuPeer
from jupyter_classroom.protocol import Event
from jupyter_classroom.sfu.config import JanusConfig, JanusSettings
from jupyter_classroom.sfu.janus_api import JanusSession

from .conftest import MakeConnection
from .helpers import mean_colour, wait_for
from .netns import Namespace, veth_namespace

pytestmark = pytest.mark.timeout(120)

RED = (220, 30, 40)


@pytest.fixture(scope="module")
def namespace() -> Iterator[Namespace]:
    with veth_namespace() as ns:
        yield ns


@pytest.fixture
def classroom_config(namespace: Namespace) -> dict[str, Any]:
    return {
        "video_mode": "sfu",
        "janus_command_prefix": namespace.prefix(),
        "janus_interface": namespace.inside_ip,
        "janus_ice_enforce_list": namespace.inside_ip,
        "janus_rtp_ports": [41000, 41999],
    }


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
    await wait_for(lambda: sfu.rooms.publishers(room_id) == both)
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


async def test_one_stream_up_whoever_watches(server, connection, peers):
    """One publisher, several watchers: each decodes the publisher's colour, and the
    publisher still sends one stream on one connection (Janus forwards the rest)."""
    teacher, student = await two_in_a_room(connection, peers)
    watchers = [student]
    for n in range(3):
        conn = await connection(f"student{n}")
        await conn.join(teacher.room_id)
        watcher = SfuPeer(conn, teacher.room_id)
        peers.append(watcher)
        watchers.append(watcher)
    await teacher.publish(ColorTrack(RED, fps=15))
    for watcher in watchers:
        received = await watcher.wait_for_track(teacher.member_id, timeout=30)
        await received.wait_frames(5, timeout=30)
        assert np.allclose(mean_colour(received), RED, atol=25)
    assert teacher.sending is not None
    senders = [s for s in teacher.sending.getSenders() if s.track is not None]
    assert len(senders) == 1  # one video track, one connection: to the SFU
    participants = await server.app.sfu.rooms.participants(teacher.room_id)
    assert [p["display"] for p in participants if p["publisher"]] == [teacher.member_id]


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
