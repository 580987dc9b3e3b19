"""Bounded latency under overload (issue 18): a tick's extends of a stroke merged without
losing a point, cursors of a tick coalesced, batched sockets paced by their op budget, a
flooding socket's unread messages bounded, and drawers told when their ink is late.

Overload is induced deterministically: ticks held back and flushed by the test, a tick whose
work blocks the loop for longer than the notice threshold (``OpBatcher.before_flush``), a
request handler held on a gate while its socket floods."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from jupyter_classroom.client.connection import expand_merged
from jupyter_classroom.protocol import MAX_POINTS
from jupyter_classroom.server.batching import OpBatcher
from jupyter_classroom.server.coalesce import coalesce
from jupyter_classroom.server.handler import RECEIVE_BACKLOG

from .helpers import host_and_python_member, stroke


def extend(op_id: str, target: str, *points: tuple[float, float]) -> dict[str, Any]:
    return {"type": "extend", "id": op_id, "target": target, "points": [list(p) for p in points]}


@contextmanager
def ticks_held(batcher: OpBatcher, room_id: str) -> Iterator[None]:
    """No tick of ``room_id`` fires by itself (the test flushes): its last frame is 'now'
    and the tick is long."""
    saved = batcher.min_interval, batcher.max_interval, batcher.interval
    batcher.min_interval = batcher.max_interval = batcher.interval = 60.0
    batcher._sent_at[room_id] = asyncio.get_running_loop().time()
    try:
        yield
    finally:
        batcher.min_interval, batcher.max_interval, batcher.interval = saved


@contextmanager
def held_board_ops(room_server: Any) -> Iterator[None]:
    """``board:op`` handling waits until the block ends (then goes on as before): the
    requests, and what the socket sends after them, pile up meanwhile."""
    gate = asyncio.Event()
    handler = room_server._handlers["board:op"]

    async def held(sid: str, session: Any, req: Any) -> dict[str, Any]:
        await gate.wait()
        return await handler(sid, session, req)

    room_server._handlers["board:op"] = held
    try:
        yield
    finally:
        room_server._handlers["board:op"] = handler
        gate.set()


def key(board_op: dict[str, Any]) -> tuple[Any, ...]:
    return board_op["seq"], board_op["author"], board_op["op"]


async def room_with_listeners(connect: Any) -> tuple[Any, Any, Any, str]:
    """alice (host, stock socket, draws), bob (batched), carol (stock)."""
    alice = await connect("alice")
    bob = await connect("bob", auth={"batch": True})
    carol = await connect("carol")
    room_id = (await alice.create("overload"))["room"]["id"]
    await bob.join(room_id)
    await carol.join(room_id)
    return alice, bob, carol, room_id


# a tick's ops: s1's extends run across s2's ops (other strokes pass), an erase ends every run
BURST = [
    stroke("s1", (0, 0)),
    extend("e1", "s1", (1, 1), (2, 2)),
    extend("e2", "s1", (3, 3)),
    stroke("s2", (9, 9)),
    extend("e3", "s2", (8, 8)),
    extend("e4", "s1", (4, 4)),
    extend("e5", "s1", (5, 5), (6, 6)),
    {"type": "erase", "id": "x1", "target": "s2"},
    extend("e6", "s1", (7, 7)),
    extend("e7", "s1", (8, 8)),
]


async def test_a_ticks_extends_merge_and_expand_to_exactly_the_stored_ops(connect, server):
    alice, bob, carol, room_id = await room_with_listeners(connect)
    batcher = server.app.room_server.batcher
    with ticks_held(batcher, room_id):
        ack = await alice.ok("board:ops", {"room_id": room_id, "ops": BURST})
        assert [r["seq"] for r in ack["results"]] == list(range(1, 11))
        # the stock socket gets every op at once, as stored, nothing merged
        stored = [await carol.next("board:op") for _ in range(10)]
        assert all("merged" not in op for op in stored)
        assert [op["seq"] for op in stored] == list(range(1, 11))
        await bob.nothing("board:ops", wait=0.1)  # held: the tick has not come
        await batcher.flush(room_id)
    listed = (await bob.next("board:ops"))["ops"]
    # e1, e2, e4, e5 became one op standing at e5's seq; e6, e7 one at e7's
    assert [op["seq"] for op in listed] == [1, 4, 5, 7, 8, 10]
    assert [op["op"]["id"] for op in listed] == ["s1", "s2", "e3", "e5", "x1", "e7"]
    merged = listed[3]
    assert merged["merged"] == [
        {"seq": 2, "id": "e1", "points": 2},
        {"seq": 3, "id": "e2", "points": 1},
        {"seq": 6, "id": "e4", "points": 1},
    ]
    assert merged["op"]["points"] == [[1, 1], [2, 2], [3, 3], [4, 4], [5, 5], [6, 6]]
    assert listed[5]["merged"] == [{"seq": 9, "id": "e6", "points": 1}]
    # expanded, the list is the stored ops exactly: every point once, in order, every seq
    expected = [{k: v for k, v in op.items() if k != "room_id"} for op in stored]
    assert [key(op) for op in expand_merged(listed)] == [key(op) for op in expected]


def test_coalesce_keeps_authors_apart_and_leaves_its_input_alone():
    ops = [
        {"seq": 1, "author": "a", "ts": "t", "op": stroke("s", (0, 0))},
        {"seq": 2, "author": "a", "ts": "t", "op": extend("e1", "s", (1, 1))},
        {"seq": 3, "author": "b", "ts": "t", "op": extend("e2", "s", (2, 2))},  # not a's
        {"seq": 4, "author": "b", "ts": "t", "op": extend("e3", "s", (3, 3))},
        {"seq": 5, "author": "a", "ts": "t", "op": {"type": "undo", "id": "u", "target": "e1"}},
        {"seq": 6, "author": "b", "ts": "t", "op": extend("e4", "s", (4, 4))},
    ]
    before = repr(ops)
    out = coalesce(ops)
    assert repr(ops) == before
    assert [(op["seq"], op.get("merged")) for op in out] == [
        (1, None),
        (2, None),
        (4, [{"seq": 3, "id": "e2", "points": 1}]),
        (5, None),
        (6, None),  # the undo ended the run
    ]
    assert [key(op) for op in expand_merged(out)] == [key(op) for op in ops]
    quiet = ops[:2]
    assert coalesce(quiet) is quiet  # nothing to merge: the list as it was
    # a merged op stays a valid extend: at most MAX_POINTS points
    half = [(float(i), 0.0) for i in range(MAX_POINTS // 2 + 1)]
    big = [
        {"seq": 1, "author": "a", "ts": "t", "op": stroke("s", (0, 0))},
        {"seq": 2, "author": "a", "ts": "t", "op": extend("e1", "s", *half)},
        {"seq": 3, "author": "a", "ts": "t", "op": extend("e2", "s", *half)},
        {"seq": 4, "author": "a", "ts": "t", "op": extend("e3", "s", (1, 1))},
    ]
    out = coalesce(big)
    assert [(op["seq"], len(op["op"]["points"])) for op in out] == [
        (1, 1),
        (2, len(half)),
        (4, len(half) + 1),
    ]
    assert [key(op) for op in expand_merged(out)] == [key(op) for op in big]


async def test_since_after_a_merged_list_fetches_the_rest_once(connect, server):
    alice, bob, _, room_id = await room_with_listeners(connect)
    batcher = server.app.room_server.batcher
    with ticks_held(batcher, room_id):
        await alice.ok("board:ops", {"room_id": room_id, "ops": BURST[:6]})
        await batcher.flush(room_id)
        first = (await bob.next("board:ops"))["ops"]
        assert any("merged" in op for op in first)
        # more ink while bob is away; the list bob took ended at a merged op's seq
        since = first[-1]["seq"]
        assert since == 6 and first[-1]["merged"]
        await alice.ok("board:ops", {"room_id": room_id, "ops": BURST[6:]})
        await batcher.flush(room_id)
    synced = (await bob.ok("board:sync", {"room_id": room_id, "since": since}))["board"]
    assert not synced["complete"]
    got = expand_merged(first) + synced["ops"]
    assert [op["seq"] for op in got] == list(range(1, 11))  # none missed, none twice
    points = [p for op in got if op["op"].get("target") == "s1" for p in op["op"]["points"]]
    assert points == [[1, 1], [2, 2], [3, 3], [4, 4], [5, 5], [6, 6], [7, 7], [8, 8]]


async def test_the_python_replica_applies_a_merged_list_and_resyncs_without_doubles(
    connect, server
):
    async with host_and_python_member(server, connect, "python merged") as (alice, room_id, bob):
        batcher = server.app.room_server.batcher
        with ticks_held(batcher, room_id):
            await alice.ok("board:ops", {"room_id": room_id, "ops": BURST})
            await batcher.flush(room_id)
        room = bob.connection.rooms[room_id]
        for _ in range(100):
            if room.seq == 10:
                break
            await asyncio.sleep(0.05)
        assert [op["seq"] for op in room.ops] == list(range(1, 11)) and not room.ahead
        assert [op["op"]["id"] for op in room.ops][1:3] == ["e1", "e2"]
        # a resync from the replica's seq adds nothing
        await asyncio.to_thread(lambda: bob.submit(bob.connection.sync_board(room_id)).result())
        assert [op["seq"] for op in room.ops] == list(range(1, 11))
        points = [p for o in room.ops if o["op"].get("target") == "s1" for p in o["op"]["points"]]
        assert points == [[1, 1], [2, 2], [3, 3], [4, 4], [5, 5], [6, 6], [7, 7], [8, 8]]


async def test_a_tick_sends_each_members_latest_cursor_to_batched_sockets(connect, server):
    alice, bob, carol, room_id = await room_with_listeners(connect)
    batcher = server.app.room_server.batcher
    with ticks_held(batcher, room_id):
        for x in range(1, 6):
            await alice.sio.emit("board:cursor", {"room_id": room_id, "x": x, "y": 0})
            await asyncio.sleep(0.05)  # past the per-socket cursor interval: each one goes
        # the stock socket gets them as they come (throttled per socket), the last among them
        seen = [await carol.next("board:cursor")]
        while seen[-1]["x"] != 5:
            seen.append(await carol.next("board:cursor"))
        await bob.nothing("board:cursor", wait=0.05)
        await batcher.flush(room_id)
    cursor = await bob.next("board:cursor")
    assert (cursor["x"], cursor["y"]) == (5, 0)
    await bob.nothing("board:cursor", wait=0.2)  # the latest only
    await alice.nothing("board:cursor", wait=0)  # never one's own


async def test_drawers_hear_their_ink_is_delayed_and_when_it_is_not(connect, server):
    async with host_and_python_member(server, connect, "python delayed") as (alice, room_id, bob):
        heard: list[dict[str, Any]] = []
        bob.on("board:delayed", heard.append)
        batcher = server.app.room_server.batcher
        watcher = await connect("watcher", auth={"batch": True})
        await watcher.join(room_id)
        # the tick's work blocks the loop for longer than the notice threshold
        stall = batcher.delay_notice + 0.1
        batcher.before_flush = lambda _room: time.sleep(stall)
        try:
            await asyncio.to_thread(bob.ops, [stroke("late", (1, 1))])
            await watcher.next("board:ops")
        finally:
            batcher.before_flush = None
        room = bob.connection.rooms[room_id]
        for _ in range(100):
            if heard:
                break
            await asyncio.sleep(0.05)
        assert heard[0]["room_id"] == room_id and heard[0]["delay_ms"] >= stall * 1000
        assert room.delay_ms == heard[0]["delay_ms"]
        # the host drew nothing: only drawers hear it
        await alice.nothing("board:delayed", wait=0.1)
        await watcher.nothing("board:delayed", wait=0)
        # ink on time again (or a quiet room): a board:delayed with 0
        await asyncio.to_thread(bob.ops, [stroke("on-time", (2, 2))])
        for _ in range(100):
            if heard[-1]["delay_ms"] == 0:
                break
            await asyncio.sleep(0.05)
        assert heard[-1] == {"room_id": room_id, "delay_ms": 0}
        assert room.delay_ms == 0


async def test_a_drawer_whose_ops_wait_unread_hears_its_ink_is_delayed(connect, server):
    """The process behind a drawer's socket holds its reading back (RECEIVE_BACKLOG): its ops
    wait before any tick, and the drawer hears board:delayed for it, then delay_ms 0."""
    alice = await connect("alice")
    room_id = (await alice.create("held"))["room"]["id"]
    watcher = await connect("watcher", auth={"batch": True})
    await watcher.join(room_id)
    room_server = server.app.room_server
    acks: list[Any] = []
    stall = room_server.batcher.delay_notice + 0.2
    with held_board_ops(room_server):
        for i in range(2 * RECEIVE_BACKLOG):
            await alice.sio.emit(
                "board:op",
                {"room_id": room_id, "op": stroke(f"w{i}", (i, i))},
                callback=lambda ack: acks.append(ack),
            )
        await asyncio.sleep(stall)  # the socket's reading is held back meanwhile
    delayed = await alice.next("board:delayed", timeout=10)
    assert delayed["room_id"] == room_id and delayed["delay_ms"] >= stall * 1000 * 0.5
    await watcher.nothing("board:delayed", wait=0)  # a watcher drew nothing
    # once the ops are read on time again, a quiet second clears it
    assert (await alice.next("board:delayed", timeout=10)) == {"room_id": room_id, "delay_ms": 0}
    for _ in range(200):
        if len(acks) == 2 * RECEIVE_BACKLOG:
            break
        await asyncio.sleep(0.05)
    assert [ack["seq"] for ack in acks] == list(range(1, 2 * RECEIVE_BACKLOG + 1))


@pytest.mark.parametrize("classroom_config", [{"ops_per_second": 20.0}])  # bursts of 40
async def test_a_batched_socket_over_its_op_budget_waits_a_stock_one_is_refused(connect):
    alice = await connect("alice", auth={"batch": True})
    carol = await connect("carol")
    room_id = (await alice.create("budget"))["room"]["id"]
    await carol.join(room_id)
    burst = [stroke(f"a{i}", (1, 1)) for i in range(40)]
    ack = await alice.ok("board:ops", {"room_id": room_id, "ops": burst})
    assert all("seq" in r for r in ack["results"])
    # the budget is spent: the next ones wait for it (a later ack), none refused
    more = [stroke(f"b{i}", (1, 1)) for i in range(5)]
    ack = await alice.ok("board:ops", {"room_id": room_id, "ops": more})
    assert all("seq" in r for r in ack["results"]), ack
    # more than the budget gives within the wait: refused op by op, as a stock socket is
    many = [stroke(f"c{i}", (1, 1)) for i in range(30)]
    ack = await alice.ok("board:ops", {"room_id": room_id, "ops": many})
    assert "rate_limited" in {r.get("error", {}).get("code") for r in ack["results"]}
    # a stock socket past its burst is refused at once
    codes = [
        (await carol.call("board:op", {"room_id": room_id, "op": stroke(f"k{i}", (1, 1))}))
        for i in range(80)
    ]
    assert codes[0]["ok"] and not codes[-1]["ok"]
    assert codes[-1]["error"]["code"] == "rate_limited"


async def test_a_flooding_socket_has_at_most_a_bounded_backlog_read(connect, server):
    alice = await connect("alice")
    room_id = (await alice.create("flood"))["room"]["id"]
    room_server = server.app.room_server
    acks: list[Any] = []
    with held_board_ops(room_server):
        for i in range(4 * RECEIVE_BACKLOG):
            await alice.sio.emit(
                "board:op",
                {"room_id": room_id, "op": stroke(f"f{i}", (i, i))},
                callback=lambda ack: acks.append(ack),
            )
        sid = next(iter(room_server.sessions))
        tornado_handler = room_server.sio.get_environ(sid)["tornado.handler"]
        for _ in range(200):
            if tornado_handler.receive_queue.qsize() >= RECEIVE_BACKLOG:
                break
            await asyncio.sleep(0.02)
        await asyncio.sleep(0.3)  # whatever the client sent meanwhile stays unread
        assert tornado_handler.receive_queue.qsize() == RECEIVE_BACKLOG
        assert not acks
    for _ in range(200):
        if len(acks) == 4 * RECEIVE_BACKLOG:
            break
        await asyncio.sleep(0.05)
    assert [ack["seq"] for ack in acks] == list(range(1, 4 * RECEIVE_BACKLOG + 1))
