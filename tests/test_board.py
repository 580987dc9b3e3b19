"""The board: ops with server seq, late join, since resync, lock, undo rules, cursors."""

from __future__ import annotations

import pytest

from .helpers import stroke


async def two_in_a_room(connect):
    alice, bob = await connect("alice"), await connect("bob")
    room_id = (await alice.create("board"))["room"]["id"]
    await bob.join(room_id)
    await alice.next("room:member_joined")
    return alice, bob, room_id


async def test_op_gets_seq_and_reaches_others_only(connect):
    alice, bob, room_id = await two_in_a_room(connect)
    ack = await alice.ok("board:op", {"room_id": room_id, "op": stroke("s1", (1, 2), (3, 4))})
    assert ack == {"ok": True, "seq": 1}
    got = await bob.next("board:op")
    assert got["seq"] == 1 and got["room_id"] == room_id and got["op"]["points"] == [[1, 2], [3, 4]]
    assert got["author"] == (await alice.ok("room:list"))["rooms"][0]["host"]["id"]
    assert got["ts"].endswith("Z")
    await alice.nothing("board:op")
    assert (await bob.ok("board:op", {"room_id": room_id, "op": stroke("s2", (5, 5))}))["seq"] == 2


async def test_every_op_kind_is_accepted(connect):
    alice, bob, room_id = await two_in_a_room(connect)
    png = "data:image/png;base64,iVBORw0KGgo="
    ops = [
        stroke("s1", (0, 0)),
        {"type": "extend", "id": "e1", "target": "s1", "points": [[1, 1], [2, 2]]},
        {
            "type": "shape",
            "id": "sh",
            "shape": "arrow",
            "x1": 0,
            "y1": 0,
            "x2": 10,
            "y2": 10,
            "color": "#000000",
            "width": 2,
            "fill": None,
        },
        {
            "type": "text",
            "id": "t",
            "x": 5,
            "y": 5,
            "text": "<b>x</b>",
            "color": "#000000",
            "size": 16,
        },
        {"type": "image", "id": "i", "x": 0, "y": 0, "w": 10, "h": 10, "src": png},
        {"type": "erase", "id": "er", "target": "t"},
        {"type": "undo", "id": "u", "target": "er"},
        {"type": "clear", "id": "c"},
    ]
    for seq, op in enumerate(ops, start=1):
        assert (await alice.ok("board:op", {"room_id": room_id, "op": op}))["seq"] == seq
        assert (await bob.next("board:op"))["op"] == op


async def test_late_joiner_gets_every_op_in_order(connect):
    alice, bob, room_id = await two_in_a_room(connect)
    for i in range(60):
        sender = alice if i % 2 else bob
        await sender.ok("board:op", {"room_id": room_id, "op": stroke(f"s{i}", (i, i))})
    carol = await connect("carol")
    board = (await carol.join(room_id))["board"]
    assert board["complete"] is True and board["seq"] == 60
    assert [op["seq"] for op in board["ops"]] == list(range(1, 61))
    assert [op["op"]["id"] for op in board["ops"]] == [f"s{i}" for i in range(60)]


async def test_since_returns_only_the_missing_ops(connect):
    alice, bob, room_id = await two_in_a_room(connect)
    for i in range(5):
        await alice.ok("board:op", {"room_id": room_id, "op": stroke(f"s{i}", (i, i))})
    board = (await bob.join(room_id, since=3))["board"]
    assert board["complete"] is False and board["seq"] == 5
    assert [op["seq"] for op in board["ops"]] == [4, 5]
    board = (await bob.join(room_id, since=5))["board"]
    assert board["ops"] == [] and board["complete"] is False


@pytest.mark.parametrize("classroom_config", [{"extend_window": 3}])
async def test_since_older_than_the_log_gets_the_whole_board(connect, classroom_config):
    alice, bob, room_id = await two_in_a_room(connect)
    await alice.ok("board:op", {"room_id": room_id, "op": stroke("s", (0, 0))})
    for i in range(5):  # more extends than the window: they get folded into the stroke
        op = {"type": "extend", "id": f"e{i}", "target": "s", "points": [[i + 1, i + 1]]}
        await alice.ok("board:op", {"room_id": room_id, "op": op})
    board = (await bob.join(room_id, since=2))["board"]
    assert board["complete"] is True and board["seq"] == 6
    assert board["ops"][0]["op"]["points"][:5] == [[0, 0], [1, 1], [2, 2], [3, 3], [4, 4]]


async def test_outsider_cannot_draw(connect):
    alice, _, room_id = await two_in_a_room(connect)
    outsider = await connect("mallory")
    assert (
        await outsider.error("board:op", {"room_id": room_id, "op": stroke("x", (1, 1))})
        == "not_member"
    )
    assert (
        await outsider.error("board:op", {"room_id": "nosuchroom", "op": stroke("x", (1, 1))})
        == "not_found"
    )
    assert (await alice.ok("board:op", {"room_id": room_id, "op": stroke("s1", (0, 0))}))[
        "seq"
    ] == 1


async def test_board_lock(connect):
    alice, bob, room_id = await two_in_a_room(connect)
    await alice.ok("room:update", {"room_id": room_id, "board_locked": True})
    assert (
        await bob.error("board:op", {"room_id": room_id, "op": stroke("b", (1, 1))}) == "forbidden"
    )
    assert (await alice.ok("board:op", {"room_id": room_id, "op": stroke("a", (1, 1))}))["seq"] == 1
    await alice.ok("room:update", {"room_id": room_id, "board_locked": False})
    assert (await bob.ok("board:op", {"room_id": room_id, "op": stroke("b", (1, 1))}))["seq"] == 2


async def test_op_rules(connect):
    alice, bob, room_id = await two_in_a_room(connect)
    await alice.ok("board:op", {"room_id": room_id, "op": stroke("a", (1, 1))})
    await bob.ok("board:op", {"room_id": room_id, "op": stroke("b", (1, 1))})
    send = lambda peer, op: peer.error("board:op", {"room_id": room_id, "op": op})  # noqa: E731
    assert await send(bob, stroke("a", (2, 2))) == "conflict"
    assert await send(bob, {"type": "undo", "id": "u1", "target": "a"}) == "forbidden"
    assert (
        await send(bob, {"type": "extend", "id": "e1", "target": "a", "points": [[1, 1]]})
        == "forbidden"
    )
    assert await send(bob, {"type": "clear", "id": "c1"}) == "forbidden"
    assert await send(bob, {"type": "erase", "id": "x1", "target": "nosuch"}) == "not_found"
    # the host may undo anyone's op; anyone may erase an object
    await alice.ok(
        "board:op", {"room_id": room_id, "op": {"type": "undo", "id": "u2", "target": "b"}}
    )
    await bob.ok(
        "board:op", {"room_id": room_id, "op": {"type": "erase", "id": "x2", "target": "a"}}
    )
    await alice.ok("board:op", {"room_id": room_id, "op": {"type": "clear", "id": "c2"}})


async def test_cursors_reach_the_others(connect):
    alice, bob, room_id = await two_in_a_room(connect)
    alice_id = (await alice.ok("room:list"))["rooms"][0]["host"]["id"]
    for x in range(20):  # a burst is coalesced, and the last position always arrives
        await alice.sio.emit("board:cursor", {"room_id": room_id, "x": x, "y": 7})
    positions = [await bob.next("board:cursor")]
    while positions[-1]["x"] != 19:
        positions.append(await bob.next("board:cursor"))
    assert positions[-1] == {"room_id": room_id, "member_id": alice_id, "x": 19, "y": 7}
    assert len(positions) < 20
    await alice.nothing("board:cursor")
