"""Issue 16, item 1: a board's bytes are bounded, and so are one member's images and bytes
per second, on both stores (the count lives in the store, atomically with the append)."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from jupyter_classroom.store import MemoryStore, RoomRecord, Store
from jupyter_classroom.store.base import BoardBudgetExceeded, ByteBudget

from ..helpers import stroke
from .figures import record
from .multiuser import as_user, jp_server_config, redis_url, store_kind

__all__ = ["as_user", "jp_server_config", "redis_url", "store_kind"]

KB = 1024


def image(op_id: str, kb: int = 150) -> dict[str, Any]:
    src = "data:image/png;base64," + "A" * (kb * KB - 22)
    return {"type": "image", "id": op_id, "x": 0, "y": 0, "w": 10, "h": 10, "src": src}


LOOSE = {"bytes_per_second": 1e9, "bytes_burst": 1e9, "ops_per_second": 10_000}


@pytest.mark.parametrize(
    "classroom_config", [{**LOOSE, "max_board_bytes": 1024 * KB, "max_image_bytes_per_member": 0}]
)
async def test_board_byte_budget(as_user, server, classroom_config):
    host, member = await as_user("host"), await as_user("member")
    room_id = (await host.create("budget"))["room"]["id"]
    await member.join(room_id)
    accepted, refusal = 0, None
    for i in range(20):  # 20 x 150 KB = 3 MB offered to a 1 MB board
        ack = await host.call("board:op", {"room_id": room_id, "op": image(f"i{i}")})
        if not ack["ok"]:
            refusal = ack["error"]
            break
        accepted += 1
    assert accepted == 6  # 6 x ~150 KB fit in 1 MB, the 7th does not
    assert refusal is not None and refusal["code"] == "too_large"
    assert "MB" in refusal["message"] and "new room" in refusal["message"]
    # nothing of the refused op was kept, and the board's count is its ops' bytes
    board = (await member.ok("room:join", {"room_id": room_id}))["board"]
    assert [o["op"]["id"] for o in board["ops"]] == [f"i{i}" for i in range(6)]
    used = await server.app.store.board_bytes(room_id)
    assert 6 * 150 * KB <= used <= 1024 * KB
    # small ops that still fit go on; the member is refused like the host
    assert await member.error("board:op", {"room_id": room_id, "op": image("m")}) == "too_large"
    await member.ok("board:op", {"room_id": room_id, "op": stroke("s")})


@pytest.mark.parametrize("classroom_config", [{**LOOSE, "max_image_bytes_per_member": 400 * KB}])
async def test_image_quota_per_member(as_user, server, classroom_config):
    host, member = await as_user("host"), await as_user("member")
    room_id = (await host.create("images"))["room"]["id"]
    await member.join(room_id)
    await member.ok("board:op", {"room_id": room_id, "op": image("m1")})
    await member.ok("board:op", {"room_id": room_id, "op": image("m2")})
    ack = await member.call("board:op", {"room_id": room_id, "op": image("m3")})
    assert ack["error"]["code"] == "too_large" and "your images" in ack["error"]["message"]
    # a second socket of the same member counts against the same quota
    again = await as_user("member", client_id=member.auth["client_id"])
    await again.join(room_id)
    assert await again.error("board:op", {"room_id": room_id, "op": image("m4")}) == "too_large"
    # the member may still draw, and the host has a quota of their own
    await member.ok("board:op", {"room_id": room_id, "op": stroke("s")})
    await host.ok("board:op", {"room_id": room_id, "op": image("h1")})
    member_id = (await member.ok("room:join", {"room_id": room_id}))["you"]["id"]
    assert await server.app.store.board_bytes(room_id, member_id) < 400 * KB


RATE = 200 * KB
BURST = 400 * KB


@pytest.mark.parametrize(
    "classroom_config",
    [{"bytes_per_second": RATE, "bytes_burst": BURST, "max_image_bytes_per_member": 0}],
)
async def test_bytes_per_second_per_person_across_sockets(as_user, classroom_config):
    host = await as_user("host")
    room_id = (await host.create("bandwidth"))["room"]["id"]
    sockets = [await as_user("member") for _ in range(4)]  # one person, four clients
    for peer in sockets:
        await peer.join(room_id)
    started = time.monotonic()

    async def send(peer: Any, n: int) -> list[dict[str, Any]]:
        return [
            await peer.call("board:op", {"room_id": room_id, "op": image(f"{n}-{i}", 100)})
            for i in range(6)
        ]

    acks = [a for acks in await asyncio.gather(*(send(p, n) for n, p in enumerate(sockets)))
            for a in acks]  # fmt: skip
    elapsed = time.monotonic() - started
    accepted = sum(1 for a in acks if a["ok"])
    limited = [a["error"] for a in acks if not a["ok"]]
    assert limited and all(e["code"] == "rate_limited" for e in limited)
    assert "KB/s" in limited[0]["message"] and "try again in" in limited[0]["message"]
    # per socket, each of the four would have had its own 400 KB burst: 24 images in all
    assert accepted * 100 * KB <= BURST + RATE * elapsed + 100 * KB
    # another person is not held back by this one
    await host.ok("board:op", {"room_id": room_id, "op": image("h", 100)})
    record("bytes_per_person", offered_kb=2400, accepted_kb=accepted * 100,
           seconds=round(elapsed, 2), rate_kb_s=RATE // KB, burst_kb=BURST // KB)  # fmt: skip


# ------------------------------------------------------------------------------------------
# the store's count, on both stores


@pytest.fixture(params=["memory", "redis"])
async def store(request: pytest.FixtureRequest) -> AsyncIterator[Store]:
    if request.param == "memory":
        made: Store = MemoryStore()
    else:
        from jupyter_classroom.store.redis import RedisStore

        url = request.getfixturevalue("redis_url")
        made = RedisStore(url, prefix=f"jc-quota-{uuid.uuid4().hex[:8]}:")
    yield made
    await made.close()


def a_room(room_id: str = "r1") -> RoomRecord:
    return RoomRecord(room_id, "t", "mhost", "teacher", "2026-01-01T00:00:00.000Z", 30)


async def test_store_counts_bytes_atomically(store: Store) -> None:
    await store.add_room(a_room())
    append: Callable[..., Any] = store.append_op
    budget = ByteBudget(size=100, image=True, board=1000, author_images=600)
    # twenty appends race for a budget of ten: exactly ten get in
    results = await asyncio.gather(
        *(append("r1", f"m{i % 2}", "ts", stroke(f"s{i}"), ByteBudget(size=100, board=1000))
          for i in range(20)),
        return_exceptions=True,
    )  # fmt: skip
    assert sum(1 for r in results if isinstance(r, dict)) == 10
    assert all(isinstance(r, BoardBudgetExceeded) and r.which == "board" for r in results
               if not isinstance(r, dict))  # fmt: skip
    assert await store.board_bytes("r1") == 1000
    assert (await store.board("r1")).seq == 10  # refused ops took no seq
    # an author's images
    await store.add_room(a_room("r2"))
    for i in range(6):
        await append("r2", "ma", "ts", image(f"a{i}", 1), budget)
    with pytest.raises(BoardBudgetExceeded) as refused:
        await append("r2", "ma", "ts", image("a6", 1), budget)
    assert refused.value.which == "images" and refused.value.used == 600
    assert await store.board_bytes("r2", "ma") == 600
    assert await store.board_bytes("r2", "mb") == 0
    await append("r2", "mb", "ts", image("b0", 1), budget)  # another author's own quota
    assert await store.board_bytes("r2") == 700
    # a duplicate id is refused before anything is counted
    assert await append("r2", "mb", "ts", image("b0", 1), budget) is None
    assert await store.board_bytes("r2") == 700
    # deleting the room forgets its counts
    await store.delete_room("r2")
    await store.add_room(a_room("r2"))
    assert await store.board_bytes("r2") == 0
