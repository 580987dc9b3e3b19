"""The host's lecture controls through a real server (mesh; the SFU's enforcement with a real
Janus is in tests/test_sfu.py): ``rtc:policy`` and ``rtc:mute_all`` — who may, who hears,
bad input — the mesh's enforcement on ``rtc:signal``, and the Python mesh peer
(``MediaPeer``, real aiortc connections) obeying them."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import numpy as np
import pytest
from aiortc import RTCPeerConnection
from aiortc.mediastreams import AudioStreamTrack
from aiortc.stats import RTCOutboundRtpStreamStats

from jupyter_classroom import ClassroomError, Client, Connection
from jupyter_classroom import protocol as p
from jupyter_classroom.media import ColorTrack, MediaPeer, ReceivedTrack
from jupyter_classroom.protocol import ProtocolError
from jupyter_classroom.server.video_policy import sdp_sends_media
from jupyter_classroom.widgets import Classroom

from .conftest import MakeConnection
from .helpers import mean_colour, wait_for
from .peers import Peer
from .test_protocol_typescript import ack_conforms, conforms

Connect = Callable[..., Awaitable[Peer]]

SENDING_OFFER = (
    "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"
    "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:0\r\na=sendrecv\r\n"
    "m=video 9 UDP/TLS/RTP/SAVPF 96\r\na=mid:1\r\na=recvonly\r\n"
)
WATCHING_OFFER = SENDING_OFFER.replace("a=sendrecv", "a=recvonly")


def test_sdp_sends_media() -> None:
    assert sdp_sends_media(SENDING_OFFER)
    assert not sdp_sends_media(WATCHING_OFFER)
    # no direction: sendrecv (RFC 4566), unless the session level says otherwise
    bare = "v=0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\na=mid:0\r\n"
    assert sdp_sends_media(bare)
    assert not sdp_sends_media("v=0\r\na=inactive\r\n" + bare[5:])
    assert sdp_sends_media(WATCHING_OFFER.replace("a=recvonly", "a=sendonly", 1))
    # a rejected section (port 0) and data channels send no media
    assert not sdp_sends_media(SENDING_OFFER.replace("m=audio 9", "m=audio 0"))
    assert not sdp_sends_media("v=0\r\nm=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\n")


async def class_with_outsider(connect: Connect) -> tuple[Peer, Peer, Peer, str, dict[str, str]]:
    host, bob, mallory = await connect("host"), await connect("bob"), await connect("mallory")
    created = await host.create("lecture")
    room_id = created["room"]["id"]
    assert created["video_policy"] == {"students_publish": True, "lecture": False}
    ids = {"host": created["you"]["id"], "bob": (await bob.join(room_id))["you"]["id"]}
    await mallory.create("elsewhere")
    return host, bob, mallory, room_id, ids


async def test_only_the_host_sets_the_policy_and_the_room_hears_it(connect: Connect) -> None:
    host, bob, mallory, room_id, ids = await class_with_outsider(connect)
    ack = await host.ok("rtc:policy", {"room_id": room_id, "students_publish": False})
    ack_conforms(p.Event.RTC_POLICY, dict(ack))
    assert ack["students_publish"] is False and ack["lecture"] is False
    for peer in (host, bob):
        event = await peer.next("rtc:policy")
        conforms(p.EVENTS[p.Event.RTC_POLICY], event)
        assert event == {"room_id": room_id, "students_publish": False, "lecture": False}
    # an absent field stays as it is
    ack = await host.ok("rtc:policy", {"room_id": room_id, "lecture": True})
    assert (ack["students_publish"], ack["lecture"]) == (False, True)
    assert (await bob.next("rtc:policy"))["lecture"] is True
    # who joins later reads it in the ack
    carol = await connect("carol")
    joined = await carol.join(room_id)
    assert joined["video_policy"] == {"students_publish": False, "lecture": True}
    ticket = (await bob.ok("room:ticket", {"room_id": room_id}))["ticket"]
    page = await connect("bob's page")
    attached = await page.ok("room:attach", {"ticket": ticket})
    assert attached["video_policy"] == {"students_publish": False, "lecture": True}
    # a student, an outsider, bad input
    assert await bob.error("rtc:policy", {"room_id": room_id, "lecture": False}) == "forbidden"
    assert await mallory.error("rtc:policy", {"room_id": room_id, "lecture": False}) == (
        "not_member"
    )
    for bad in (
        {"room_id": room_id, "students_publish": "no"},
        {"room_id": room_id, "lecture": 1},
        {"students_publish": True},
        {"room_id": "", "lecture": True},
        [room_id],
    ):
        assert await host.error("rtc:policy", bad) == "bad_request", bad
    await mallory.nothing("rtc:policy")
    assert len(bob.drain("rtc:policy")) == 0


async def test_mute_all_reaches_the_rooms_members_only(connect: Connect) -> None:
    host, bob, mallory, room_id, ids = await class_with_outsider(connect)
    ack = await host.ok("rtc:mute_all", {"room_id": room_id})
    ack_conforms(p.Event.RTC_MUTE_ALL, dict(ack))
    event = await bob.next("rtc:mute_all")
    conforms(p.EVENTS[p.Event.RTC_MUTE_ALL], event)
    assert event == {"room_id": room_id, "by": ids["host"]}
    await host.nothing("rtc:mute_all")  # (not the socket that asked)
    await mallory.nothing("rtc:mute_all")
    assert await bob.error("rtc:mute_all", {"room_id": room_id}) == "forbidden"
    assert await mallory.error("rtc:mute_all", {"room_id": room_id}) == "not_member"
    assert await host.error("rtc:mute_all", {"room": room_id}) == "bad_request"
    assert await host.error("rtc:mute_all", {"room_id": "no such room"}) == "bad_request"


def signal(room_id: str, to: str, kind: str, sdp: str) -> dict[str, Any]:
    return {"room_id": room_id, "to": to, "data": {"type": kind, "sdp": sdp}}


async def test_the_mesh_refuses_media_from_students_that_may_not_publish(
    connect: Connect,
) -> None:
    host, bob, _, room_id, ids = await class_with_outsider(connect)
    await host.ok("rtc:policy", {"room_id": room_id, "students_publish": False})
    # the host still offers its media; the student answers receive-only: it watches
    await host.ok("rtc:signal", signal(room_id, ids["bob"], "offer", SENDING_OFFER))
    assert (await bob.next("rtc:signal"))["data"]["sdp"] == SENDING_OFFER
    await bob.ok("rtc:signal", signal(room_id, ids["host"], "answer", WATCHING_OFFER))
    assert (await host.next("rtc:signal"))["from"] == ids["bob"]
    # an offer or answer that would send media is refused and reaches nobody
    for kind in ("offer", "answer"):
        refused = await bob.error("rtc:signal", signal(room_id, ids["host"], kind, SENDING_OFFER))
        assert refused == "forbidden"
    await host.nothing("rtc:signal")
    # candidates and byes still go through
    bye = {"room_id": room_id, "to": ids["host"], "data": {"type": "bye"}}
    await bob.ok("rtc:signal", bye)
    assert (await host.next("rtc:signal"))["data"] == {"type": "bye"}
    # allowed again: the student sends
    await host.ok("rtc:policy", {"room_id": room_id, "students_publish": True})
    await bob.ok("rtc:signal", signal(room_id, ids["host"], "offer", SENDING_OFFER))
    assert (await host.next("rtc:signal"))["data"]["type"] == "offer"


async def test_python_connection_lecture_controls(connection: Any) -> None:
    alice, bob = await connection("alice"), await connection("bob")
    room = await alice.create_room("lecture")
    await bob.join(room.id)
    heard: list[dict[str, Any]] = []
    bob.on(p.Event.RTC_MUTE_ALL, heard.append)
    policy = await alice.set_video_policy(room.id, students_publish=False)
    assert policy == {"students_publish": False, "lecture": False}
    assert await alice.set_video_policy(room.id, lecture=True) == {
        "students_publish": False,
        "lecture": True,
    }
    await alice.mute_all(room.id)
    with pytest.raises(ClassroomError) as refused:
        await bob.mute_all(room.id)
    assert refused.value.code == "forbidden"
    await wait_for(lambda: heard)
    assert heard[0]["room_id"] == room.id


async def test_classroom_lecture_controls(server: Any) -> None:
    clients = [
        await asyncio.to_thread(Client, server.url, server.kernel_token, name=name)
        for name in ("teacher", "ann")
    ]
    try:
        teacher = await asyncio.to_thread(
            Classroom.create, "Lecture", client=clients[0], mode="kernel"
        )
        ann = await asyncio.to_thread(
            Classroom.join, teacher.room_id, client=clients[1], mode="kernel"
        )
        muted: list[dict[str, Any]] = []
        ann.client.on(p.Event.RTC_MUTE_ALL, muted.append)
        policy = await asyncio.to_thread(teacher.lecture, True, students_publish=False)
        assert policy == {"students_publish": False, "lecture": True}
        # the student's replica follows rtc:policy
        room = ann.client.connection.rooms[ann.room_id]
        await wait_for(lambda: room.video_policy == policy)
        await asyncio.to_thread(teacher.mute_all)
        await wait_for(lambda: muted)
        with pytest.raises(ClassroomError) as refused:
            await asyncio.to_thread(ann.lecture, False)
        assert refused.value.code == "forbidden"
        for classroom in (teacher, ann):
            classroom.close()
    finally:
        for client in clients:
            await asyncio.to_thread(client.close)


# -------------------------------------------------------------------------------------------
# the Python mesh peer obeys (MediaPeer: real aiortc connections through the server)

RED, GREEN = (220, 30, 40), (30, 200, 40)


Checked = list[tuple[str, str, bool]]  # (member, offer or answer, whether it sends media)


def watch_signals(server: Any, monkeypatch: pytest.MonkeyPatch) -> tuple[Checked, Checked]:
    """The offers/answers the server's check saw, and those it refused (the server's own
    check, wrapped)."""
    room_server = server.app.room_server
    check = room_server.check_signal
    seen: Checked = []
    refusals: Checked = []

    async def checked(room_id: str, member_id: str, data: p.RtcData) -> None:
        entry = (member_id, data.type, bool(data.sdp and sdp_sends_media(data.sdp)))
        if data.type in ("offer", "answer"):
            seen.append(entry)
        try:
            await check(room_id, member_id, data)
        except ProtocolError:
            refusals.append(entry)
            raise

    monkeypatch.setattr(room_server, "check_signal", checked)
    return seen, refusals


async def sent_bytes(pc: RTCPeerConnection) -> int:
    stats = await pc.getStats()
    return sum(s.bytesSent for s in stats.values() if isinstance(s, RTCOutboundRtpStreamStats))


async def stopped(received: ReceivedTrack) -> None:
    """Wait until ``received`` gets no more frames for a second (what was on its way has
    come; a busy machine decodes late), then check that none follow."""
    last = -1
    for _ in range(20):
        if received.frames == last:
            break
        last = received.frames
        await asyncio.sleep(1.0)
    await asyncio.sleep(1.0)
    assert received.frames == last, received


async def flowing(received: ReceivedTrack, more: int = 10) -> None:
    await received.wait_frames(received.frames + more, timeout=20)


async def teacher_on_camera(
    connection: MakeConnection, peers: list[Any]
) -> tuple[Connection, Connection, Any, MediaPeer]:
    """Alice's room with her MediaPeer sending red, and Bob connected (not yet a member)."""
    alice, bob = await connection("alice"), await connection("bob")
    room = await alice.create_room("lecture")
    host = MediaPeer(alice, room.id)
    peers.append(host)
    await host.start()
    await host.publish(ColorTrack(RED, fps=15))
    return alice, bob, room, host


@pytest.mark.timeout(120)
async def test_a_mesh_media_peer_watches_only_in_a_lecture_and_mutes_on_mute_all(
    server: Any, connection: MakeConnection, peers: list[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    seen, refusals = watch_signals(server, monkeypatch)
    alice, bob, room, host = await teacher_on_camera(connection, peers)
    media_heard: list[dict[str, Any]] = []
    alice.on(p.Event.RTC_MEDIA, media_heard.append)
    student = MediaPeer(bob)
    peers.append(student)
    allowed_heard: list[bool] = []
    student.on_may_publish(allowed_heard.append)
    await student.publish(ColorTrack(GREEN, fps=15))
    await student.publish(AudioStreamTrack())
    await student.join(room.id)
    host_id, student_id = host.member_id, student.member_id

    def said(audio: bool, video: bool) -> bool:
        mine = [e for e in media_heard if e["from"] == student_id]
        return bool(mine) and (mine[-1]["audio"], mine[-1]["video"]) == (audio, video)

    student_video = await host.wait_for_track(student_id, "video", timeout=20)
    student_audio = await host.wait_for_track(student_id, "audio", timeout=20)
    await flowing(student_video)
    await flowing(student_audio)
    await wait_for(lambda: said(True, True))
    assert student.may_publish and host.may_publish

    # the lecture: the student's connection is renegotiated receive-only; nothing it sends
    policy = await alice.set_video_policy(room.id, students_publish=False, lecture=True)
    assert policy == {"students_publish": False, "lecture": True}
    await wait_for(lambda: not student.may_publish and allowed_heard == [False])
    link = student.links[host_id]
    await wait_for(
        lambda: (
            link.pc.signalingState == "stable"
            and link.pc.localDescription is not None
            and not sdp_sends_media(link.pc.localDescription.sdp)
            and not link.sending
        )
    )
    await wait_for(lambda: said(False, False))
    await stopped(student_video)
    await stopped(student_audio)
    before = await sent_bytes(link.pc)
    # it still watches the host, on the same connection
    watched = student.video(host_id)
    assert watched is not None and link is student.links[host_id]
    await flowing(watched)
    assert np.allclose(mean_colour(watched), RED, atol=25)
    assert await sent_bytes(link.pc) == before
    # what it publishes meanwhile waits; unmute is refused
    await student.publish(ColorTrack((40, 40, 220), fps=15))
    with pytest.raises(ClassroomError) as refused:
        student.unmute()
    assert refused.value.code == "forbidden"
    await asyncio.sleep(1.0)
    assert await sent_bytes(link.pc) == before and not link.sending
    # every offer/answer it made since was receive-only: the server refused none
    assert refusals == []
    lecture_offers = [sends for m, _, sends in seen if m == student_id]

    # allowed again: it sends again, on the same connection
    await alice.set_video_policy(room.id, students_publish=True)
    await wait_for(lambda: student.may_publish and allowed_heard == [False, True])
    await wait_for(lambda: said(True, True))
    await flowing(student_video)
    await flowing(student_audio)
    assert np.allclose(mean_colour(student_video), GREEN, atol=25)
    assert await sent_bytes(link.pc) > before

    # mute all: the student's audio stops, its video goes on; the host keeps its own
    await alice.mute_all(room.id)
    await wait_for(lambda: student.muted and said(False, True))
    assert not host.muted
    await stopped(student_audio)
    await flowing(student_video)
    student.unmute()
    await wait_for(lambda: said(True, True))
    await flowing(student_audio)
    assert refusals == []
    assert False in lecture_offers, seen  # its receive-only renegotiation went through


async def test_a_mesh_media_peer_joining_a_lecture_only_watches(
    server: Any, connection: MakeConnection, peers: list[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    seen, refusals = watch_signals(server, monkeypatch)
    alice, bob, room, host = await teacher_on_camera(connection, peers)
    await alice.set_video_policy(room.id, students_publish=False)
    student = MediaPeer(bob)
    peers.append(student)
    await student.publish(ColorTrack(GREEN, fps=15))
    await student.join(room.id)
    assert not student.may_publish and student.media_state() == (False, False)
    watched = await student.wait_for_track(host.member_id, timeout=20)
    await flowing(watched)
    assert np.allclose(mean_colour(watched), RED, atol=25)
    assert host.video(student.member_id) is None and not student.links[host.member_id].sending
    # (an offer, or an answer to the host's: both receive-only) and nothing refused
    described = [sends for m, _, sends in seen if m == student.member_id]
    assert described and not any(described) and refusals == []
    # allowed: its camera goes to the host
    await alice.set_video_policy(room.id, students_publish=True)
    received = await host.wait_for_track(student.member_id, timeout=20)
    await flowing(received)
    assert np.allclose(mean_colour(received), GREEN, atol=25)
    assert refusals == []


async def test_an_offer_crossing_the_lecture_is_refused_and_the_peer_starts_over(
    server: Any, connection: MakeConnection, peers: list[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The student's peer offers to send just as the host stops students' media (it has not
    heard rtc:policy yet): the server refuses; once it hears, the peer starts over with
    receive-only connections and watches the host again."""
    _, refusals = watch_signals(server, monkeypatch)
    alice, bob, room, host = await teacher_on_camera(connection, peers)
    heard = [True]

    class Unaware(MediaPeer):
        """A student's peer that believes it may publish until ``heard`` says otherwise."""

        @property
        def may_publish(self) -> bool:
            return heard[0]

    student = Unaware(bob)
    peers.append(student)
    await student.join(room.id)
    watched = await student.wait_for_track(host.member_id, timeout=20)
    await flowing(watched)
    await alice.set_video_policy(room.id, students_publish=False)
    await wait_for(lambda: not bob.rooms[room.id].video_policy["students_publish"])
    await student.publish(ColorTrack(GREEN, fps=15))
    await wait_for(lambda: bool(refusals))
    assert {(kind, sends) for _, kind, sends in refusals} == {("offer", True)}
    await watched.wait_ended(20)  # its refused connection went (bye)
    # it hears the policy (here: the next rtc:policy) and connects again, receive-only
    heard[0] = False
    await alice.set_video_policy(room.id, lecture=True)
    again = await student.wait_for_track(host.member_id, timeout=20, other_than=[watched])
    await flowing(again)
    assert np.allclose(mean_colour(again), RED, atol=25)
    assert host.video(student.member_id) is None
    refused = len(refusals)
    await asyncio.sleep(1.0)
    assert len(refusals) == refused
