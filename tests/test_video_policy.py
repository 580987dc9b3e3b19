"""The host's lecture controls through a real server (mesh; the SFU's enforcement with a real
Janus is in tests/test_sfu.py): ``rtc:policy`` and ``rtc:mute_all`` — who may, who hears,
bad input — and the mesh's enforcement on ``rtc:signal``."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from jupyter_classroom import ClassroomError, Client
from jupyter_classroom import protocol as p
from jupyter_classroom.server.video_policy import sdp_sends_media
from jupyter_classroom.widgets import Classroom

from .helpers import wait_for
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
