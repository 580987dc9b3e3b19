"""Rooms: create, list, join with password, leave, update, kick, close, host hand-over."""

from __future__ import annotations

import asyncio

import pytest

ROOM_INFO_KEYS = {
    "id",
    "title",
    "host",
    "members",
    "locked",
    "board_locked",
    "created_at",
    "max_members",
}
MEMBER_KEYS = {"id", "name", "color", "role"}


async def test_create_ack_and_list(connect):
    alice, watcher = await connect("alice"), await connect("watcher")
    ack = await alice.create("Linear algebra", password="pw", max_members=30)
    room, you = ack["room"], ack["you"]
    assert set(room) == ROOM_INFO_KEYS and set(you) == MEMBER_KEYS
    assert room["title"] == "Linear algebra" and room["locked"] is True and room["members"] == 1
    assert room["host"] == {"id": you["id"], "name": "alice"} and room["max_members"] == 30
    assert room["created_at"].endswith("Z") and you["role"] == "host"
    assert ack["members"] == [you] and ack["chat"] == []
    assert ack["board"] == {"seq": 0, "ops": [], "complete": True}
    assert "password" not in str(ack) and "argon2" not in str(ack)
    # everyone connected hears the list change
    changed = await watcher.next("room:list_changed")
    assert [r["id"] for r in changed["rooms"]] == [room["id"]]
    assert (await watcher.ok("room:list"))["rooms"][0] == changed["rooms"][0]


async def test_unlisted_rooms_are_not_listed_but_joinable(connect):
    alice, bob = await connect("alice"), await connect("bob")
    room_id = (await alice.create("secret", listed=False))["room"]["id"]
    assert (await bob.ok("room:list"))["rooms"] == []
    await bob.join(room_id)


async def test_join_with_password(connect):
    alice, bob = await connect("alice"), await connect("bob")
    room_id = (await alice.create("pw room", password="right"))["room"]["id"]
    assert await bob.error("room:join", {"room_id": room_id}) == "bad_password"
    assert await bob.error("room:join", {"room_id": room_id, "password": "wrong"}) == "bad_password"
    await alice.nothing("room:member_joined")
    ack = await bob.join(room_id, password="right")
    assert ack["you"]["role"] == "member" and ack["room"]["members"] == 2
    assert {m["name"] for m in ack["members"]} == {"alice", "bob"}
    joined = await alice.next("room:member_joined")
    assert joined == {"room_id": room_id, "member": ack["you"]}


async def test_join_twice_is_idempotent(connect):
    alice, bob = await connect("alice"), await connect("bob")
    room_id = (await alice.create("twice"))["room"]["id"]
    first = await bob.join(room_id)
    second = await bob.join(room_id)
    assert first["you"] == second["you"] and second["room"]["members"] == 2
    await alice.next("room:member_joined")
    await alice.nothing("room:member_joined")


async def test_join_errors(connect):
    alice, bob, carol = await connect("alice"), await connect("bob"), await connect("carol")
    assert await bob.error("room:join", {"room_id": "nosuchroom"}) == "not_found"
    room_id = (await alice.create("tiny", max_members=2))["room"]["id"]
    await bob.join(room_id)
    assert await carol.error("room:join", {"room_id": room_id}) == "room_full"


async def test_wrong_passwords_are_throttled(connect):
    alice, bob = await connect("alice"), await connect("bob")
    room_id = (await alice.create("guarded", password="right"))["room"]["id"]
    for _ in range(5):
        assert (
            await bob.error("room:join", {"room_id": room_id, "password": "guess"})
            == "bad_password"
        )
    # the right password no longer helps until the lockout ends
    assert await bob.error("room:join", {"room_id": room_id, "password": "right"}) == "rate_limited"


async def test_leave(connect):
    alice, bob = await connect("alice"), await connect("bob")
    room_id = (await alice.create("leaving"))["room"]["id"]
    bob_id = (await bob.join(room_id))["you"]["id"]
    await bob.ok("room:leave", {"room_id": room_id})
    left = await alice.next("room:member_left")
    assert left == {"room_id": room_id, "member_id": bob_id, "reason": "left"}
    assert await bob.error("chat:send", {"room_id": room_id, "text": "hi"}) == "not_member"
    assert await bob.error("room:leave", {"room_id": room_id}) == "not_member"


async def test_update_by_host_and_not_by_member(connect):
    alice, bob, carol = await connect("alice"), await connect("bob"), await connect("carol")
    room_id = (await alice.create("before"))["room"]["id"]
    await bob.join(room_id)
    assert await bob.error("room:update", {"room_id": room_id, "title": "hijacked"}) == "forbidden"
    ack = await alice.ok(
        "room:update",
        {"room_id": room_id, "title": "after", "password": "new", "board_locked": True},
    )
    assert ack["room"]["title"] == "after" and ack["room"]["locked"] and ack["room"]["board_locked"]
    updated = await bob.next("room:updated")
    assert updated == {"room": ack["room"]}
    assert await carol.error("room:join", {"room_id": room_id, "password": "old"}) == "bad_password"
    await carol.join(room_id, password="new")
    ack = await alice.ok("room:update", {"room_id": room_id, "password": None})
    assert ack["room"]["locked"] is False and ack["room"]["title"] == "after"


async def test_host_hands_over_explicitly(connect):
    alice, bob = await connect("alice"), await connect("bob")
    room_id = (await alice.create("handover"))["room"]["id"]
    bob_id = (await bob.join(room_id))["you"]["id"]
    ack = await alice.ok("room:update", {"room_id": room_id, "host": bob_id})
    assert ack["room"]["host"]["id"] == bob_id
    assert (await bob.next("room:updated"))["room"]["host"]["id"] == bob_id
    assert await alice.error("room:close", {"room_id": room_id}) == "forbidden"
    await bob.ok("room:close", {"room_id": room_id})


async def test_kick(connect):
    alice, bob, carol = await connect("alice"), await connect("bob"), await connect("carol")
    room_id = (await alice.create("strict"))["room"]["id"]
    alice_id = (await alice.ok("room:list"))["rooms"][0]["host"]["id"]
    bob_id = (await bob.join(room_id))["you"]["id"]
    await carol.join(room_id)
    assert await bob.error("room:kick", {"room_id": room_id, "member_id": alice_id}) == "forbidden"
    assert await carol.error("room:kick", {"room_id": room_id, "member_id": bob_id}) == "forbidden"
    await alice.ok("room:kick", {"room_id": room_id, "member_id": bob_id})
    expected = {"room_id": room_id, "member_id": bob_id, "reason": "kicked"}
    assert await bob.next("room:member_left") == expected
    assert await carol.next("room:member_left") == expected
    # the kicked member hears nothing more and cannot act or come back
    await alice.ok("chat:send", {"room_id": room_id, "text": "after the kick"})
    await carol.next("chat:message")
    assert bob.received["chat:message"] == []
    assert (
        await bob.error("board:op", {"room_id": room_id, "op": {"type": "clear", "id": "c1"}})
        == "not_member"
    )
    assert await bob.error("room:join", {"room_id": room_id}) == "forbidden"
    assert (
        await alice.error("room:kick", {"room_id": room_id, "member_id": "mnosuch"}) == "not_found"
    )


async def test_close(connect):
    alice, bob, outsider = await connect("alice"), await connect("bob"), await connect("out")
    room_id = (await alice.create("closing"))["room"]["id"]
    await bob.join(room_id)
    assert await bob.error("room:close", {"room_id": room_id}) == "forbidden"
    assert await outsider.error("room:close", {"room_id": room_id}) in ("not_member", "forbidden")
    outsider.drain("room:list_changed")
    await alice.ok("room:close", {"room_id": room_id})
    closed = await bob.next("room:closed")
    assert closed["room_id"] == room_id and closed["reason"]
    while (await outsider.next("room:list_changed"))["rooms"]:
        pass
    assert await bob.error("room:join", {"room_id": room_id}) == "not_found"
    assert await alice.error("room:close", {"room_id": room_id}) == "not_found"


async def test_host_disconnect_hands_host_to_longest_present(connect):
    alice, bob, carol = await connect("alice"), await connect("bob"), await connect("carol")
    room_id = (await alice.create("handover"))["room"]["id"]
    alice_id = (await alice.ok("room:list"))["rooms"][0]["host"]["id"]
    bob_id = (await bob.join(room_id))["you"]["id"]
    await carol.join(room_id)
    await alice.disconnect()
    left = await bob.next("room:member_left")
    assert left == {"room_id": room_id, "member_id": alice_id, "reason": "disconnected"}
    updated = await carol.next("room:updated")
    assert updated["room"]["host"] == {"id": bob_id, "name": "bob"}
    assert updated["room"]["members"] == 2
    # the room outlives its creator, and the new host has the host's powers
    await bob.ok("room:update", {"room_id": room_id, "board_locked": True})


async def test_reconnect_keeps_member_id(connect):
    alice = await connect("alice")
    bob = await connect("bob", client_id="bob-laptop")
    room_id = (await alice.create("stable ids"))["room"]["id"]
    first = (await bob.join(room_id))["you"]["id"]
    await bob.disconnect()
    await alice.next("room:member_left")
    bob_again = await connect("bob", client_id="bob-laptop")
    assert (await bob_again.join(room_id))["you"]["id"] == first


@pytest.mark.parametrize("classroom_config", [{"max_rooms_per_user": 2}])
async def test_rooms_per_user_limit(connect, classroom_config):
    alice = await connect("alice")
    await alice.create("one")
    await alice.create("two")
    assert await alice.error("room:create", {"title": "three"}) == "rate_limited"


async def test_list_changed_reaches_every_socket(connect):
    peers = [await connect(f"p{i}") for i in range(4)]
    await peers[0].create("for everyone")
    results = await asyncio.gather(*(peer.next("room:list_changed") for peer in peers))
    assert all(len(r["rooms"]) == 1 for r in results)
