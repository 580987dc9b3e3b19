"""Hands and breakouts across two real room-server processes sharing one real Redis (the
processes and fixtures of tests/test_scaleout.py)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest

from .helpers import stroke
from .peers import Peer
from .test_scaleout import ServerProcess, cluster, connect, redis_url  # noqa: F401

pytestmark = pytest.mark.timeout(180)

Connect = Callable[..., Awaitable[Peer]]


async def test_a_hand_raised_on_one_process_is_seen_on_the_other(
    cluster: list[ServerProcess],  # noqa: F811
    connect: Connect,  # noqa: F811
) -> None:
    p1, p2 = cluster
    host = await connect(p1, "host")
    room_id = (await host.create("Hands across"))["room"]["id"]
    student = await connect(p2, "student")
    student_id = (await student.join(room_id))["you"]["id"]
    raised = await student.ok("hand:raise", {"room_id": room_id})
    assert [h["member_id"] for h in raised["hands"]] == [student_id]
    assert (await host.next("hand:queue"))["hands"] == raised["hands"]
    # a late joiner on the first process gets the queue from the shared store
    late = await connect(p1, "late")
    assert (await late.join(room_id))["hands"] == raised["hands"]
    # taken on p1, heard by the member on p2
    taken = await host.ok("hand:take", {"room_id": room_id})
    assert taken["taken"] == raised["hands"][0] and taken["hands"] == []
    host_id = (await host.ok("room:list"))["rooms"][0]["host"]["id"]
    assert await student.next("hand:taken") == {
        "room_id": room_id, "member_id": student_id, "by": host_id,
    }  # fmt: skip
    assert (await student.next("hand:queue"))["hands"] == raised["hands"]  # its own raise
    assert (await student.next("hand:queue"))["hands"] == []


async def test_breakouts_opened_on_one_process_work_on_the_other(
    cluster: list[ServerProcess],  # noqa: F811
    connect: Connect,  # noqa: F811
) -> None:
    p1, p2 = cluster
    host = await connect(p1, "host")
    room_id = (await host.create("Breakouts across"))["room"]["id"]
    near, far = await connect(p1, "near"), await connect(p2, "far")
    near_id = (await near.join(room_id))["you"]["id"]
    far_id = (await far.join(room_id))["you"]["id"]
    groups = [[near_id], [far_id]]
    opened = await host.ok("breakout:open", {"room_id": room_id, "groups": groups})
    assert (await far.next("breakout:opened"))["breakouts"] == opened["breakouts"]
    one, two = (b["room_id"] for b in opened["breakouts"])
    assert await far.error("room:join", {"room_id": one}) == "forbidden"
    await far.join(two)
    await far.ok("board:op", {"room_id": two, "op": stroke("far-1")})
    await host.ok("breakout:broadcast", {"room_id": room_id, "text": "hello"})
    assert (await far.next("chat:message"))["room_id"] == two
    await host.ok("breakout:recall", {"room_id": room_id})
    assert await far.next("room:closed") == {"room_id": two, "reason": "recalled"}
    assert (await far.next("breakout:closed"))["room_id"] == room_id
    kept = await far.ok("breakout:board", {"room_id": room_id, "breakout_id": two})
    assert [o["op"]["id"] for o in kept["board"]["ops"]] == ["far-1"]
