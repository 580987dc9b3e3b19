"""The `board:ops` extension: sockets that connect with `auth.batch` get a room's ops as lists."""

from __future__ import annotations

import asyncio
import time

from jupyter_classroom.server import batching
from jupyter_classroom.server.batching import OpBatcher

from .helpers import host_and_python_member, stroke


async def room_of_three(connect):
    """alice (host, one op per event), bob (batched), carol (one op per event)."""
    alice = await connect("alice")
    bob = await connect("bob", auth={"batch": True})
    carol = await connect("carol")
    created = await alice.create("batched")
    room_id = created["room"]["id"]
    bob_id = (await bob.join(room_id))["you"]["id"]
    await carol.join(room_id)
    return alice, bob, carol, room_id, created["you"]["id"], bob_id


async def test_batched_socket_gets_lists_others_get_each_op(connect):
    alice, bob, carol, room_id, alice_id, bob_id = await room_of_three(connect)
    seqs = [
        (await alice.ok("board:op", {"room_id": room_id, "op": stroke(f"s{i}", (i, i))}))["seq"]
        for i in range(5)
    ]
    seqs.append((await bob.ok("board:op", {"room_id": room_id, "op": stroke("b", (9, 9))}))["seq"])

    batched: list[dict] = []
    while len(batched) < 6:
        frame = await bob.next("board:ops")
        assert set(frame) == {"room_id", "ops"} and frame["room_id"] == room_id
        batched += frame["ops"]
    # every op once, in seq order, as the server stores it; bob's own op included
    assert [op["seq"] for op in batched] == seqs == list(range(1, 7))
    assert [op["author"] for op in batched] == [alice_id] * 5 + [bob_id]
    assert batched[0]["op"]["points"] == [[0, 0]] and batched[0]["ts"].endswith("Z")
    assert set(batched[0]) == {"seq", "author", "ts", "op"}
    await bob.nothing("board:op")

    # the others still get one board:op per op, never their own
    assert [(await carol.next("board:op"))["seq"] for _ in range(6)] == seqs
    assert (await alice.next("board:op"))["seq"] == 6
    await alice.nothing("board:op")
    await carol.nothing("board:ops")


async def test_gathered_ops_arrive_before_the_room_closes(connect):
    alice, bob, _, room_id, _, _ = await room_of_three(connect)
    await alice.ok("board:op", {"room_id": room_id, "op": stroke("last", (1, 1))})
    await alice.ok("room:close", {"room_id": room_id})
    await bob.next("room:closed")
    assert bob.log.index("board:ops") < bob.log.index("room:closed")
    assert [op["seq"] for op in bob.received["board:ops"][0]["ops"]] == [1]


async def test_ops_of_a_member_arrive_before_it_leaves(connect):
    alice, bob, _, room_id, alice_id, _ = await room_of_three(connect)
    await alice.ok("board:op", {"room_id": room_id, "op": stroke("bye", (1, 1))})
    await alice.disconnect()
    left = await bob.next("room:member_left")
    assert left["member_id"] == alice_id
    assert bob.log.index("board:ops") < bob.log.index("room:member_left")


async def test_a_video_socket_gets_no_board_traffic(connect):
    alice, bob, _, room_id, _, bob_id = await room_of_three(connect)
    ticket = (await bob.ok("room:ticket", {"room_id": room_id}))["ticket"]
    video = await connect("bob-video")
    assert (await video.ok("room:attach", {"ticket": ticket}))["you"]["id"] == bob_id
    await alice.ok("board:op", {"room_id": room_id, "op": stroke("s", (1, 1))})
    await alice.sio.emit("board:cursor", {"room_id": room_id, "x": 3, "y": 4})
    await bob.next("board:ops")
    await bob.next("board:cursor")
    # room events still reach it (it lives for the room's video)
    dave = await connect("dave")
    await dave.join(room_id)
    await video.next("room:member_joined")
    assert not {"board:op", "board:ops", "board:cursor"} & set(video.log)


async def test_the_tick_lengthens_while_the_loop_is_behind_and_recovers():
    sent: list[tuple[str, list]] = []

    async def send(room_id: str, ops: list) -> None:
        sent.append((room_id, ops))

    batcher = OpBatcher(send, min_interval=0.01, max_interval=0.1)
    # a loop kept busy (the process at a whole core, each tick's timer late): the tick grows
    for n in range(8):
        batcher.add("r", {"seq": 2 * n + 1})
        batcher.add("r", {"seq": 2 * n + 2})
        busy_until = time.perf_counter() + 0.03
        while time.perf_counter() < busy_until:  # on purpose: the loop is blocked past the tick
            pass
        await asyncio.sleep(0)
        await asyncio.sleep(0.001)
    busy = batcher.interval
    assert busy > 2 * batcher.min_interval
    # every op went out once, in order, in lists
    await batcher.flush("r")
    assert [op["seq"] for _, ops in sent for op in ops] == list(range(1, 17))
    assert {room for room, _ in sent} == {"r"}
    # an idle loop: ticks on time bring it back to the minimum
    for _ in range(40):
        batcher.add("r", {"seq": 0})
        await asyncio.sleep(batcher.interval + 0.005)
    assert batcher.interval < busy / 2


class FakeClock:
    """batching.py's ``time``: wall and CPU time moved by the test."""

    def __init__(self) -> None:
        self.wall = self.cpu = 0.0

    def monotonic(self) -> float:
        return self.wall

    def process_time(self) -> float:
        return self.cpu

    def run(self, batcher: OpBatcher, share: float, seconds: float = 2.0) -> float:
        """``seconds`` of ticks on time every 5 ms using ``share`` of a core: the tick then."""
        for _ in range(round(seconds / 0.005)):
            self.wall += 0.005
            self.cpu += 0.005 * share
            batcher._adapt(0.0)
        return batcher.interval


def test_the_tick_aims_at_a_share_of_a_core_within_a_latency_target(monkeypatch):
    """Busy, the tick lengthens to the target and holds there (rather than spending what CPU
    is spare on shorter ticks, or swinging between the extremes); only an overloaded process
    goes past it; an idle one comes back to the shortest tick."""
    clock = FakeClock()
    monkeypatch.setattr(batching, "time", clock)

    async def send(room_id: str, ops: list) -> None:
        pass

    batcher = OpBatcher(send)
    assert clock.run(batcher, 0.3) == batcher.min_interval  # one busy room: the shortest
    assert clock.run(batcher, 0.7) == batcher.target_interval  # ten: the target, no further
    assert clock.run(batcher, 0.7) == batcher.target_interval
    assert clock.run(batcher, 0.5, 0.5) == batcher.target_interval  # in the band: held
    assert clock.run(batcher, 0.95) == batcher.max_interval  # overloaded: the longest
    assert clock.run(batcher, 0.7) == batcher.target_interval  # keeping up: the target
    assert clock.run(batcher, 0.95) == batcher.max_interval
    assert clock.run(batcher, 0.2) == batcher.min_interval  # idle again
    # a stall makes every room's tick late at once: one step, not one per room
    for _ in range(10):
        batcher._adapt(0.03)
    assert batcher.interval == batcher.min_interval * 1.25
    clock.wall += 2 * batching.LATE_STEP
    batcher._adapt(0.03)
    assert batcher.interval == batcher.min_interval * 1.25 * 1.25


async def test_an_op_after_a_quiet_tick_goes_at_once_a_burst_waits_for_the_tick():
    sent: list[tuple[float, list[int]]] = []
    loop = asyncio.get_running_loop()

    async def send(room_id: str, ops: list) -> None:
        sent.append((loop.time(), [op["seq"] for op in ops]))

    batcher = OpBatcher(send, min_interval=0.5, max_interval=1.0)
    batcher.busy_share = 2.0  # never "busy": the tick stays at min_interval
    batcher.add("r", {"seq": 1})
    batcher.add("r", {"seq": 2})  # read in the same turn: the same frame
    for _ in range(3):
        await asyncio.sleep(0)
    assert [seqs for _, seqs in sent] == [[1, 2]]  # within three turns: no tick waited
    batcher.add("r", {"seq": 3})  # within the tick of that frame: waits for it
    batcher.add("r", {"seq": 4})
    await asyncio.sleep(0.1)
    assert len(sent) == 1
    await asyncio.sleep(0.6)
    assert sent[1][1] == [3, 4] and sent[1][0] - sent[0][0] >= 0.5


async def test_a_client_batch_is_ruled_on_op_by_op_in_order(connect, server):
    alice, bob, carol, room_id, _, bob_id = await room_of_three(connect)
    clear = {"type": "clear", "id": "c1"}  # host only: bob may not
    extend = {"type": "extend", "id": "e1", "target": "b1", "points": [[5, 5]]}
    orphan = {"type": "extend", "id": "e2", "target": "nope", "points": [[6, 6]]}
    ops = [stroke("b1", (1, 1)), extend, clear, orphan, stroke("b1", (2, 2))]
    ack = await bob.ok("board:ops", {"room_id": room_id, "ops": ops})
    assert [r.get("seq") for r in ack["results"]] == [1, 2, None, None, None]
    codes = [r["error"]["code"] for r in ack["results"][2:]]
    assert codes == ["forbidden", "not_found", "conflict"]
    assert all(r["error"]["message"] for r in ack["results"][2:])
    # the others get the accepted ones, as if sent alone
    assert [(await carol.next("board:op"))["op"]["id"] for _ in range(2)] == ["b1", "e1"]
    await carol.nothing("board:op")
    listed = (await bob.next("board:ops"))["ops"]
    assert [o["seq"] for o in listed] == [1, 2] and {o["author"] for o in listed} == {bob_id}

    # the frame itself is checked whole
    assert await bob.error("board:ops", {"room_id": room_id, "ops": []}) == "bad_request"
    bad = [stroke("b2", (1, 1)), {"type": "stroke", "id": "b3"}]
    assert await bob.error("board:ops", {"room_id": room_id, "ops": bad}) == "bad_request"
    many = [stroke(f"m{i}", (1, 1)) for i in range(257)]
    assert await bob.error("board:ops", {"room_id": room_id, "ops": many}) == "too_large"
    stranger = await connect("mallory")
    refused = await stranger.ok("board:ops", {"room_id": room_id, "ops": [stroke("x", (1, 1))]})
    assert refused["results"][0]["error"]["code"] == "not_member"
    await carol.nothing("board:op")


async def test_the_python_client_puts_several_ops_in_one_message(connect, server):
    from jupyter_classroom.client import ClassroomError

    async with host_and_python_member(server, connect, "python batch") as (alice, room_id, bob):
        ops = [stroke("p1", (1, 1)), {"type": "clear", "id": "c1"}, stroke("p2", (2, 2))]
        outcomes = await asyncio.to_thread(bob.ops, ops)
        assert outcomes[0] == 1 and outcomes[2] == 2
        assert isinstance(outcomes[1], ClassroomError) and outcomes[1].code == "forbidden"
        # the replica has its own ops as the server stores them
        room = bob.connection.rooms[room_id]
        assert [o["op"]["id"] for o in room.ops] == ["p1", "p2"]
        heard = [(await alice.next("board:op"))["op"]["id"] for _ in range(2)]
        assert heard == ["p1", "p2"]
