"""Chat: room messages, direct messages and the backlog."""

from __future__ import annotations

import pytest

MESSAGE_KEYS = {"id", "room_id", "from", "to", "text", "ts"}


async def three_in_a_room(connect):
    alice, bob, carol = await connect("alice"), await connect("bob"), await connect("carol")
    ack = await alice.create("chat")
    room_id = ack["room"]["id"]
    ids = {"alice": ack["you"]["id"]}
    ids["bob"] = (await bob.join(room_id))["you"]["id"]
    ids["carol"] = (await carol.join(room_id))["you"]["id"]
    return alice, bob, carol, room_id, ids


async def test_room_message_reaches_everyone(connect):
    alice, bob, carol, room_id, ids = await three_in_a_room(connect)
    ack = await bob.ok("chat:send", {"room_id": room_id, "text": "<script>alert(1)</script>"})
    message = ack["message"]
    assert set(message) == MESSAGE_KEYS and message["to"] is None
    assert message["from"] == {"id": ids["bob"], "name": "bob"}
    assert message["text"] == "<script>alert(1)</script>"  # stored and relayed verbatim
    for peer in (alice, bob, carol):
        assert await peer.next("chat:message") == message


async def test_direct_message_reaches_only_sender_and_target(connect):
    alice, bob, carol, room_id, ids = await three_in_a_room(connect)
    ack = await alice.ok("chat:send", {"room_id": room_id, "text": "psst", "to": ids["bob"]})
    assert ack["message"]["to"] == ids["bob"]
    assert (await bob.next("chat:message"))["text"] == "psst"
    assert (await alice.next("chat:message"))["text"] == "psst"
    await carol.nothing("chat:message")
    # the backlog keeps it only for its two members
    await bob.ok("chat:send", {"room_id": room_id, "text": "to all"})
    dave = await connect("dave")
    assert [m["text"] for m in (await dave.join(room_id))["chat"]] == ["to all"]
    await carol.disconnect()
    carol2 = await connect("carol")
    assert [m["text"] for m in (await carol2.join(room_id))["chat"]] == ["to all"]
    await alice.ok("room:leave", {"room_id": room_id})
    assert [m["text"] for m in (await alice.join(room_id))["chat"]] == ["psst", "to all"]


async def test_chat_errors(connect):
    alice, bob, carol, room_id, ids = await three_in_a_room(connect)
    outsider = await connect("mallory")
    assert await outsider.error("chat:send", {"room_id": room_id, "text": "hi"}) == "not_member"
    assert (
        await alice.error("chat:send", {"room_id": room_id, "text": "hi", "to": "mnobody"})
        == "not_found"
    )
    assert await alice.error("chat:send", {"room_id": room_id, "text": ""}) == "bad_request"
    assert await alice.error("chat:send", {"room_id": room_id, "text": "x" * 4001}) == "too_large"
    await alice.nothing("chat:message")


@pytest.mark.parametrize("classroom_config", [{"chat_backlog": 5, "chats_per_second": 100}])
async def test_backlog_is_bounded(connect, classroom_config):
    alice = await connect("alice")
    room_id = (await alice.create("chatty"))["room"]["id"]
    for i in range(8):
        await alice.ok("chat:send", {"room_id": room_id, "text": f"m{i}"})
    bob = await connect("bob")
    assert [m["text"] for m in (await bob.join(room_id))["chat"]] == [f"m{i}" for i in range(3, 8)]


async def test_chat_rate_limit(connect):
    alice = await connect("alice")
    room_id = (await alice.create("flood"))["room"]["id"]
    codes = [
        (await alice.call("chat:send", {"room_id": room_id, "text": "spam"})).get("ok")
        for _ in range(40)
    ]
    assert codes.count(True) < 40
    assert (await alice.error("chat:send", {"room_id": room_id, "text": "spam"})) == "rate_limited"
