"""The board on demand: a socket that does not follow the board live (`board:follow`) and
fetches it when it needs it (`board:sync`). A kernel whose board the page draws works so, and
the room's fan-out then pays for one socket per member, not two."""

from __future__ import annotations

import asyncio

from .helpers import host_and_python_member, stroke, wait_for


async def room_of_two(connect, **auth):
    alice = await connect("alice")
    kernel = await connect("bob-kernel", auth={"batch": True, **auth})
    created = await alice.create("on demand")
    room_id = created["room"]["id"]
    await kernel.join(room_id)
    return alice, kernel, room_id


async def test_a_socket_off_the_live_board_gets_no_board_traffic_and_syncs(connect):
    alice, kernel, room_id = await room_of_two(connect)
    await alice.ok("board:op", {"room_id": room_id, "op": stroke("s1", (1, 1))})
    await kernel.next("board:ops")

    assert await kernel.ok("board:follow", {"room_id": room_id, "live": False}) == {"ok": True}
    for i in range(2, 5):
        await alice.ok("board:op", {"room_id": room_id, "op": stroke(f"s{i}", (i, i))})
    await alice.sio.emit("board:cursor", {"room_id": room_id, "x": 3, "y": 4})
    await alice.ok("chat:send", {"room_id": room_id, "text": "still here"})
    # the room's other events still come; the board does not
    assert (await kernel.next("chat:message"))["text"] == "still here"
    await kernel.nothing("board:ops")
    await kernel.nothing("board:cursor", wait=0)

    # on demand: the ops after what it has, then the whole board
    delta = (await kernel.ok("board:sync", {"room_id": room_id, "since": 1}))["board"]
    assert [o["op"]["id"] for o in delta["ops"]] == ["s2", "s3", "s4"]
    assert (delta["seq"], delta["complete"]) == (4, False)
    whole = (await kernel.ok("board:sync", {"room_id": room_id}))["board"]
    assert [o["seq"] for o in whole["ops"]] == [1, 2, 3, 4] and whole["complete"]
    assert (await kernel.ok("board:sync", {"room_id": room_id, "since": 4}))["board"]["ops"] == []

    # live again: the next op arrives as before
    await kernel.ok("board:follow", {"room_id": room_id, "live": True})
    await alice.ok("board:op", {"room_id": room_id, "op": stroke("s5", (5, 5))})
    assert [o["op"]["id"] for o in (await kernel.next("board:ops"))["ops"]] == ["s5"]


async def test_a_rejoin_follows_the_board_live_again(connect):
    alice, kernel, room_id = await room_of_two(connect)
    await kernel.ok("board:follow", {"room_id": room_id, "live": False})
    await kernel.ok("room:join", {"room_id": room_id, "since": 0})
    await alice.ok("board:op", {"room_id": room_id, "op": stroke("s1", (1, 1))})
    assert [o["seq"] for o in (await kernel.next("board:ops"))["ops"]] == [1]


async def test_only_members_board_sockets_follow_or_sync(connect):
    alice, kernel, room_id = await room_of_two(connect)
    stranger = await connect("mallory")
    for event, payload in (
        ("board:follow", {"room_id": room_id, "live": True}),
        ("board:sync", {"room_id": room_id}),
    ):
        assert await stranger.error(event, payload) == "not_member"
    assert await stranger.error("board:sync", {"room_id": "nope"}) == "not_found"

    # a video socket (attached without the board) may not take the board this way
    ticket = (await kernel.ok("room:ticket", {"room_id": room_id}))["ticket"]
    video = await connect("bob-video")
    await video.ok("room:attach", {"ticket": ticket})
    assert await video.error("board:follow", {"room_id": room_id, "live": True}) == "forbidden"
    assert await video.error("board:sync", {"room_id": room_id}) == "forbidden"
    await alice.ok("board:op", {"room_id": room_id, "op": stroke("s1", (1, 1))})
    await kernel.next("board:ops")
    await video.nothing("board:ops", wait=0.2)

    for payload in ({"room_id": room_id}, {"room_id": room_id, "live": "no"}):
        assert await kernel.error("board:follow", payload) == "bad_request"
    assert await kernel.error("board:sync", {"room_id": room_id, "since": -1}) == "bad_request"


async def test_the_python_client_fetches_a_board_it_does_not_follow(server, connect):
    async with host_and_python_member(server, connect, "on demand") as (alice, room_id, bob):
        room = bob.connection.rooms[room_id]
        await asyncio.wrap_future(bob.submit(bob.connection.follow_board(room_id, False)))
        assert not room.live
        await alice.ok("board:op", {"room_id": room_id, "op": stroke("a1", (1, 1))})
        # bob's own op is acked past the gap the unfollowed a1 leaves: no resync chases it
        await asyncio.to_thread(bob.op, stroke("b1", (2, 2)))
        await asyncio.sleep(2.5)  # longer than the client's gap timer
        assert [o["seq"] for o in room.ops] == [] and sorted(room.ahead) == [2]

        await asyncio.to_thread(bob.sync_board, room_id)
        assert [o["op"]["id"] for o in room.ops] == ["a1", "b1"] and not room.ahead

        # a Python listener of board events makes it follow live again
        heard: list[str] = []
        await alice.ok("board:op", {"room_id": room_id, "op": stroke("a2", (3, 3))})
        bob.on("board:op", lambda op: heard.append(op["op"]["id"]))
        await wait_for(lambda: room.live and len(room.ops) == 3)
        await alice.ok("board:op", {"room_id": room_id, "op": stroke("a3", (4, 4))})
        await wait_for(lambda: heard == ["a3"])
        assert [o["seq"] for o in room.ops] == [1, 2, 3, 4]
