"""Signaling, tickets and attach, announcements."""

from __future__ import annotations

import pytest


async def test_rtc_signal_reaches_only_its_target(connect):
    alice, bob, carol = await connect("alice"), await connect("bob"), await connect("carol")
    ack = await alice.create("video")
    room_id, alice_id = ack["room"]["id"], ack["you"]["id"]
    bob_id = (await bob.join(room_id))["you"]["id"]
    await carol.join(room_id)
    data = {"type": "offer", "sdp": "v=0\r\n"}
    assert await alice.ok("rtc:signal", {"room_id": room_id, "to": bob_id, "data": data}) == {
        "ok": True
    }
    assert await bob.next("rtc:signal") == {"room_id": room_id, "from": alice_id, "data": data}
    await carol.nothing("rtc:signal")
    await alice.nothing("rtc:signal", wait=0)
    candidate = {
        "type": "candidate",
        "candidate": {
            "candidate": "candidate:1 1 udp 1 127.0.0.1 9 typ host",
            "sdpMid": "0",
            "sdpMLineIndex": 0,
        },
    }
    await bob.ok("rtc:signal", {"room_id": room_id, "to": alice_id, "data": candidate})
    assert (await alice.next("rtc:signal"))["data"]["candidate"]["sdpMid"] == "0"


async def test_rtc_signal_refused_outside_the_room(connect):
    alice, bob, outsider = await connect("alice"), await connect("bob"), await connect("out")
    room_a = (await alice.create("a"))["room"]["id"]
    bob_id = (await bob.create("b"))["you"]["id"]  # bob is in another room
    other_room = (await outsider.create("c"))["room"]["id"]
    bye = {"type": "bye"}
    assert (
        await outsider.error("rtc:signal", {"room_id": room_a, "to": bob_id, "data": bye})
        == "not_member"
    )
    assert (
        await alice.error("rtc:signal", {"room_id": room_a, "to": bob_id, "data": bye})
        == "not_found"
    )
    assert (
        await alice.error("rtc:signal", {"room_id": other_room, "to": bob_id, "data": bye})
        == "not_member"
    )
    assert (
        await alice.error(
            "rtc:signal", {"room_id": room_a, "to": bob_id, "data": {"type": "hello"}}
        )
        == "bad_request"
    )
    await bob.nothing("rtc:signal")


async def test_media_state_reaches_the_room_or_one_member(connect):
    alice, bob, carol = await connect("alice"), await connect("bob"), await connect("carol")
    ack = await alice.create("video")
    room_id, alice_id = ack["room"]["id"], ack["you"]["id"]
    bob_id = (await bob.join(room_id))["you"]["id"]
    carol_id = (await carol.join(room_id))["you"]["id"]
    bob_video = await connect("bob-video")  # bob's browser video view, attached
    ticket = (await bob.ok("room:ticket", {"room_id": room_id}))["ticket"]
    await bob_video.ok("room:attach", {"ticket": ticket})

    # alice mutes: the whole room hears it, bob's video socket included, alice does not
    muted = {"room_id": room_id, "audio": False, "video": True}
    assert await alice.ok("rtc:media", muted) == {"ok": True}
    heard = {"room_id": room_id, "from": alice_id, "audio": False, "video": True}
    for peer in (bob, bob_video, carol):
        assert await peer.next("rtc:media") == heard
    await alice.nothing("rtc:media", wait=0.2)

    # carol's view just connected to bob: bob tells her alone
    await bob_video.ok("rtc:media", {**muted, "audio": True, "to": carol_id})
    assert await carol.next("rtc:media") == {**heard, "from": bob_id, "audio": True}
    await alice.nothing("rtc:media", wait=0.2)

    # refusals: not a member, no such member, a malformed state
    outsider = await connect("outsider")
    assert await outsider.error("rtc:media", muted) == "not_member"
    assert await alice.error("rtc:media", {**muted, "to": "m000"}) == "not_found"
    assert await alice.error("rtc:media", {**muted, "audio": "off"}) == "bad_request"
    await carol.nothing("rtc:media", wait=0.2)
    # a burst beyond the allowance (5/s, bursts of 20) is refused, not spread to the room
    codes = [(await alice.call("rtc:media", muted)).get("ok") for _ in range(30)]
    assert codes.count(True) < 30 and codes[-1] is not True


async def test_ticket_lets_a_second_socket_act_as_the_member(connect):
    alice, bob = await connect("alice"), await connect("bob")
    ack = await alice.create("tickets")
    room_id, alice_id = ack["room"]["id"], ack["you"]["id"]
    bob_id = (await bob.join(room_id))["you"]["id"]
    await alice.next("room:member_joined")
    ticket = (await bob.ok("room:ticket", {"room_id": room_id}))["ticket"]
    video = await connect("bob's browser")
    attached = await video.ok("room:attach", {"ticket": ticket})
    assert attached["you"]["id"] == bob_id and attached["room"]["id"] == room_id
    assert {m["id"] for m in attached["members"]} == {alice_id, bob_id}
    assert attached["rtc"] == {"ice_servers": [], "max_publishers": 6}
    await alice.nothing("room:member_joined")  # the same member, not a new one
    # signals to bob reach both of bob's sockets; the attached socket can signal too
    await alice.ok("rtc:signal", {"room_id": room_id, "to": bob_id, "data": {"type": "bye"}})
    assert (await video.next("rtc:signal"))["from"] == alice_id
    await video.ok("rtc:signal", {"room_id": room_id, "to": alice_id, "data": {"type": "bye"}})
    assert (await alice.next("rtc:signal"))["from"] == bob_id
    # one-time
    other = await connect("thief")
    assert await other.error("room:attach", {"ticket": ticket}) == "unauthorized"
    # the member stays present while one of its sockets is connected
    await video.disconnect()
    await alice.nothing("room:member_left")
    await bob.disconnect()
    assert (await alice.next("room:member_left"))["reason"] == "disconnected"


async def test_ticket_needs_membership(connect):
    alice, outsider = await connect("alice"), await connect("out")
    room_id = (await alice.create("t"))["room"]["id"]
    assert await outsider.error("room:ticket", {"room_id": room_id}) == "not_member"


@pytest.mark.parametrize(
    "classroom_config", [{"ice_servers": [{"urls": "stun:stun.example.org"}], "max_publishers": 3}]
)
async def test_attach_carries_rtc_config(connect, classroom_config):
    alice, video = await connect("alice"), await connect("alice video")
    room_id = (await alice.create("ice"))["room"]["id"]
    ticket = (await alice.ok("room:ticket", {"room_id": room_id}))["ticket"]
    rtc = (await video.ok("room:attach", {"ticket": ticket}))["rtc"]
    assert rtc == {"ice_servers": [{"urls": "stun:stun.example.org"}], "max_publishers": 3}


@pytest.mark.parametrize(
    "classroom_config", [{"ice_servers": [{"urls": "stun:stun.example.org"}], "max_publishers": 3}]
)
async def test_join_and_create_carry_rtc_config(connect, classroom_config):
    # a page's own membership (the side panel's video) needs what a kernel's video socket gets
    alice, bob = await connect("alice"), await connect("bob")
    created = await alice.create("ice")
    joined = await bob.join(created["room"]["id"])
    expected = {"ice_servers": [{"urls": "stun:stun.example.org"}], "max_publishers": 3}
    assert created["rtc"] == expected
    assert joined["rtc"] == expected


async def test_announcement_reaches_every_socket(connect):
    admin, a, b = await connect("admin"), await connect("a"), await connect("b")
    await a.create("somewhere")
    assert await admin.ok("server:announce", {"text": "Server restarts at noon"}) == {"ok": True}
    for peer in (admin, a, b):
        announcement = await peer.next("server:announcement")
        assert announcement["text"] == "Server restarts at noon" and announcement["from"] == "admin"


@pytest.mark.parametrize("classroom_config", [{"admin_users": ["someone-else"]}])
async def test_announce_needs_admin(connect, classroom_config):
    user, other = await connect("user"), await connect("other")
    assert await user.error("server:announce", {"text": "hi"}) == "forbidden"
    await other.nothing("server:announcement")
