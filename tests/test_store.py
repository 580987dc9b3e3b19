"""The Store interface, one suite over the in-memory and the Redis store (a real redis-server)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest

from jupyter_classroom.board import visible_objects
from jupyter_classroom.store import MemberRecord, MemoryStore, RoomRecord, Store
from jupyter_classroom.store.base import BoardSlice, OpMeta, RoomLimitReached, Ticket

from .helpers import stroke
from .redis_server import running_redis

try:  # only the Redis half of the suite needs the redis package (running_redis skips it)
    from redis.asyncio import Redis

    from jupyter_classroom.store.redis import LockTimeout, RedisStore
except ImportError:
    pass


@pytest.fixture(scope="module")
def redis_url() -> Iterator[str]:
    with running_redis() as url:
        yield url


def make_redis(url: str, **kwargs: Any) -> RedisStore:
    return RedisStore(url, prefix=f"jc-test-{uuid.uuid4().hex[:8]}:", **kwargs)


@pytest.fixture(params=["memory", "redis"])
def make_store(request: pytest.FixtureRequest) -> Callable[..., Store]:
    """``make_store(extend_window=...)``: a fresh, empty store of the parametrized kind."""

    def _make(**kwargs: Any) -> Store:
        if request.param == "memory":
            return MemoryStore(**kwargs)
        return make_redis(request.getfixturevalue("redis_url"), **kwargs)

    return _make


@pytest.fixture
async def store(make_store: Callable[..., Store]) -> AsyncIterator[Store]:
    store = make_store()
    yield store
    await store.close()


def room(room_id: str = "r1", **fields: Any) -> RoomRecord:
    base: dict[str, Any] = {
        "id": room_id,
        "title": "Linear algebra",
        "host_id": "mhost",
        "owner": "teacher",
        "created_at": "2026-01-01T00:00:00.000Z",
        "max_members": 30,
    }
    return RoomRecord(**{**base, **fields})


def member(member_id: str, *sockets: str, order: int = 0) -> MemberRecord:
    return MemberRecord(
        id=member_id,
        name=member_id.upper(),
        color="#e6194b",
        user="u-" + member_id,
        sockets=set(sockets),
        present_order=order,
    )


def extend(op_id: str, target: str, *points: tuple[float, float]) -> dict[str, Any]:
    return {"type": "extend", "id": op_id, "target": target, "points": [list(p) for p in points]}


def message(n: int, to: str | None = None) -> dict[str, Any]:
    return {
        "id": f"c{n}",
        "room_id": "r1",
        "from": {"id": "ma", "name": "A"},
        "to": to,
        "text": f"hello {n} \u00e9\u263a",
        "ts": "t",
    }


# ---------------------------------------------------------------------------------------------
# rooms and members


async def test_rooms_add_get_save_iterate_delete(store: Store) -> None:
    assert await store.get_room("r1") is None
    await store.add_room(room("r1", password_hash="$argon2id$v=19$xyz", banned={"mx"}))
    await store.add_room(room("r2", listed=False))
    await store.add_room(room("r3"))
    got = await store.get_room("r1")
    assert got == room("r1", password_hash="$argon2id$v=19$xyz", banned={"mx"})
    assert [r.id async for r in store.iter_rooms()] == ["r1", "r2", "r3"]

    got.title, got.board_locked, got.empty_since = "Calculus", True, 1234.5
    got.banned.add("my")
    await store.save_room(got)
    again = await store.get_room("r1")
    assert again is not None
    assert (again.title, again.board_locked, again.empty_since) == ("Calculus", True, 1234.5)
    assert again.banned == {"mx", "my"}

    await store.save_member("r2", member("ma", "s1"))
    await store.append_op("r2", "ma", "t", stroke("s1", (1, 1)))
    await store.append_chat("r2", message(1), 10)
    await store.delete_room("r2")
    assert await store.get_room("r2") is None
    assert await store.get_members("r2") == []
    assert [r.id async for r in store.iter_rooms()] == ["r1", "r3"]
    await store.delete_room("r2")  # idempotent
    await store.save_room(room("r2"))  # saving a deleted room does not bring it back
    assert await store.get_room("r2") is None
    with pytest.raises(KeyError):
        await store.append_op("r2", "ma", "t", stroke("s2", (1, 1)))


async def test_members_keep_their_order_and_fields(store: Store) -> None:
    await store.add_room(room())
    for member_id in ("mc", "ma", "mb"):
        await store.save_member("r1", member(member_id, f"sid-{member_id}"))
    changed = member("ma", "sid-x", "sid-y", order=7)
    await store.save_member("r1", changed)
    assert [m.id for m in await store.get_members("r1")] == ["mc", "ma", "mb"]
    assert await store.get_member("r1", "ma") == changed
    assert (await store.get_member("r1", "ma")).present  # type: ignore[union-attr]
    await store.save_member("r1", member("mb"))
    mb = await store.get_member("r1", "mb")
    assert mb is not None and not mb.present and mb.sockets == set()

    await store.delete_member("r1", "mc")
    assert await store.get_member("r1", "mc") is None
    await store.save_member("r1", member("mc"))  # back, now last
    assert [m.id for m in await store.get_members("r1")] == ["ma", "mb", "mc"]
    assert await store.get_member("nope", "ma") is None
    await store.save_member("nope", member("ma"))  # no such room: nothing stored
    assert await store.get_members("nope") == []

    assert [await store.next_present_order("r1") for _ in range(3)] == [1, 2, 3]


# ---------------------------------------------------------------------------------------------
# the board


async def test_append_op_assigns_seq_and_rejects_duplicate_ids(store: Store) -> None:
    await store.add_room(room())
    first = await store.append_op("r1", "ma", "2026-01-01T00:00:00Z", stroke("s1", (0.1, 0.2)))
    assert first == {
        "seq": 1,
        "author": "ma",
        "ts": "2026-01-01T00:00:00Z",
        "op": stroke("s1", (0.1, 0.2)),
    }
    assert await store.append_op("r1", "mb", "t", stroke("s1", (5, 5))) is None
    second = await store.append_op("r1", "mb", "t", {"type": "clear", "id": "c1"})
    assert second is not None and second["seq"] == 2  # the duplicate used no seq
    assert await store.op_meta("r1", "s1") == OpMeta(author="ma", type="stroke", seq=1)
    assert await store.op_meta("r1", "c1") == OpMeta(author="mb", type="clear", seq=2)
    assert await store.op_meta("r1", "zz") is None
    board = await store.board("r1")
    assert board.complete and board.seq == 2 and board.ops == [first, second]
    assert await store.board_size("r1") == 2


async def test_concurrent_appends_get_distinct_seqs_and_one_wins_a_duplicate(store: Store) -> None:
    await store.add_room(room())
    results = await asyncio.gather(
        *(store.append_op("r1", f"m{i % 3}", "t", stroke(f"s{i}", (i, i))) for i in range(40)),
        *(store.append_op("r1", "mx", "t", stroke("dup", (9, 9))) for _ in range(10)),
    )
    accepted = [r for r in results if r is not None]
    assert len(accepted) == 41 and results[40:].count(None) == 9
    assert sorted(r["seq"] for r in accepted) == list(range(1, 42))
    board = await store.board("r1")
    assert [o["seq"] for o in board.ops] == list(range(1, 42))
    assert sorted(o["op"]["id"] for o in board.ops) == sorted(
        [f"s{i}" for i in range(40)] + ["dup"]
    )


async def test_board_since(store: Store) -> None:
    await store.add_room(room())
    ops = [await store.append_op("r1", "ma", "t", stroke(f"s{i}", (i, i))) for i in range(1, 6)]
    delta = await store.board("r1", since=3)
    assert (delta.seq, delta.complete, delta.ops) == (5, False, ops[3:])
    caught_up = await store.board("r1", since=5)
    assert (caught_up.seq, caught_up.complete, caught_up.ops) == (5, False, [])
    assert (await store.board("r1", since=0)).ops == ops
    ahead = await store.board("r1", since=9)  # a since the board never had: the whole board
    assert ahead.complete and ahead.ops == ops
    assert (await store.board("r1", since=None)).complete


async def test_extends_fold_after_the_window(make_store: Callable[..., Store]) -> None:
    store = make_store(extend_window=3)
    try:
        await store.add_room(room())
        await store.append_op("r1", "ma", "t", stroke("a", (0, 0)))  # 1
        await store.append_op("r1", "mb", "t", stroke("b", (100, 100)))  # 2
        await store.append_op("r1", "ma", "t", extend("a1", "a", (1, 1)))  # 3
        await store.append_op("r1", "mb", "t", extend("b1", "b", (101, 101)))  # 4
        await store.append_op("r1", "ma", "t", extend("x1", "nowhere", (7, 7)))  # 5, orphan
        before = (await store.board("r1")).ops
        assert len(before) == 5 and await store.board_size("r1") == 2
        six = await store.append_op("r1", "ma", "t", extend("a2", "a", (2, 2.5)))  # 4 > 3: fold
        board = await store.board("r1")
        assert board.complete and board.seq == 6
        assert [o["op"]["id"] for o in board.ops] == ["a", "b", "x1"]
        assert [o["seq"] for o in board.ops] == [1, 2, 5]
        assert board.ops[0]["op"]["points"] == [[0, 0], [1, 1], [2, 2.5]]
        assert board.ops[1]["op"]["points"] == [[100, 100], [101, 101]]
        assert visible_objects(board.ops) == visible_objects([*before, six])
        assert await store.board_size("r1") == 3
        # a since older than the fold cannot get an exact delta: the whole (folded) board
        assert (await store.board("r1", since=4)).complete
        assert (await store.board("r1", since=6)) == BoardSlice(6, [], False)
        # ids stay taken and metadata stays after the fold
        assert await store.append_op("r1", "ma", "t", extend("a1", "a", (3, 3))) is None
        assert await store.op_meta("r1", "a1") == OpMeta(author="ma", type="extend", seq=3)
        seven = await store.append_op("r1", "ma", "t", extend("a3", "a", (3, 3)))  # 7
        delta = await store.board("r1", since=6)
        assert (delta.complete, delta.ops) == (False, [seven])
        assert await store.board_size("r1") == 3
        drawn = visible_objects((await store.board("r1")).ops)
        assert drawn[0]["points"] == [[0, 0], [1, 1], [2, 2.5], [3, 3]]
    finally:
        await store.close()


async def test_folding_loses_no_point_under_concurrent_drawing(
    make_store: Callable[..., Store],
) -> None:
    store = make_store(extend_window=5)
    try:
        await store.add_room(room())
        strokes = ["p", "q", "r"]
        for name in strokes:
            await store.append_op("r1", "m" + name, "t", stroke(name, (0, 0)))

        async def draw(name: str) -> None:
            for i in range(1, 41):
                await store.append_op("r1", "m" + name, "t", extend(f"{name}{i}", name, (i, i)))

        await asyncio.gather(*(draw(name) for name in strokes))
        board = await store.board("r1")
        assert board.seq == 3 + 3 * 40
        drawn = {o["id"]: o["points"] for o in visible_objects(board.ops)}
        for name in strokes:
            assert drawn[name] == [[0, 0]] + [[i, i] for i in range(1, 41)]
        assert await store.board_size("r1") == 3
    finally:
        await store.close()


# ---------------------------------------------------------------------------------------------
# chat, tickets, join failures


async def test_chat_backlog_is_bounded(store: Store) -> None:
    await store.add_room(room())
    for n in range(12):
        await store.append_chat("r1", message(n, to="mb" if n == 11 else None), backlog=5)
    assert [m["id"] for m in await store.chat("r1")] == [f"c{n}" for n in range(7, 12)]
    assert (await store.chat("r1"))[-1] == message(11, to="mb")
    with pytest.raises(KeyError):
        await store.chat("nope")


async def test_tickets_are_one_time_and_expire(store: Store) -> None:
    await store.put_ticket("tk-1", Ticket("r1", "ma", "alice"), ttl=30)
    await store.put_ticket("tk-2", Ticket("r1", "mb", "bob"), ttl=0.05)
    assert await store.take_ticket("tk-1") == Ticket("r1", "ma", "alice")
    assert await store.take_ticket("tk-1") is None
    await asyncio.sleep(0.2)
    assert await store.take_ticket("tk-2") is None
    assert await store.take_ticket("never") is None


async def test_join_failures_count_reset_and_expire(store: Store) -> None:
    assert await store.join_failures("eve", "r1") == 0
    assert [await store.add_join_failure("eve", "r1", window=30) for _ in range(3)] == [1, 2, 3]
    assert await store.join_failures("eve", "r1") == 3
    assert await store.join_failures("eve", "r2") == 0
    assert await store.join_failures("bob", "r1") == 0
    await store.reset_join_failures("eve", "r1")
    assert await store.join_failures("eve", "r1") == 0
    await store.add_join_failure("eve", "r2", window=0.1)
    assert await store.add_join_failure("eve", "r2", window=0.1) == 2
    await asyncio.sleep(0.25)
    assert await store.join_failures("eve", "r2") == 0
    assert await store.add_join_failure("eve", "r2", window=0.1) == 1  # a new window


async def test_a_reserved_join_attempt_can_be_refunded(store: Store) -> None:
    for _ in range(2):
        await store.add_join_failure("eve", "r1", window=30)
    await store.refund_join_failure("eve", "r1")
    assert await store.join_failures("eve", "r1") == 1
    await store.refund_join_failure("eve", "r1")
    await store.refund_join_failure("eve", "r1")  # never below zero
    assert await store.join_failures("eve", "r1") == 0
    assert await store.add_join_failure("eve", "r1", window=30) == 1


# ---------------------------------------------------------------------------------------------
# the room lock


async def exclusive_increments(stores: list[Store], tasks: int = 8) -> tuple[int, int]:
    """Run read-modify-write cycles under the room lock; return (final count, max overlap)."""
    inside = 0
    overlap = 0

    async def work(store: Store) -> None:
        nonlocal inside, overlap
        for _ in range(5):
            async with store.room_lock("r1"):
                inside += 1
                overlap = max(overlap, inside)
                found = await store.get_room("r1")
                assert found is not None
                await asyncio.sleep(0.001)
                found.max_members += 1
                await store.save_room(found)
                inside -= 1

    await asyncio.gather(*(work(stores[i % len(stores)]) for i in range(tasks)))
    final = await stores[0].get_room("r1")
    assert final is not None
    return final.max_members, overlap


async def test_room_lock_is_mutually_exclusive(store: Store) -> None:
    await store.add_room(room(max_members=0))
    assert await exclusive_increments([store]) == (40, 1)


async def test_redis_lock_excludes_other_processes(redis_url: str) -> None:
    """Two RedisStores (as in two processes) on one Redis share each room's lock."""
    first = make_redis(redis_url)
    second = RedisStore(redis_url, prefix=first.prefix)
    try:
        await first.add_room(room(max_members=0))
        assert await exclusive_increments([first, second], tasks=10) == (50, 1)
    finally:
        await first.close()
        await second.close()


async def test_redis_lock_wait_is_bounded_and_a_dead_holders_lease_ends(redis_url: str) -> None:
    store = make_redis(redis_url, lock_ttl=0.3, lock_wait=0.2)
    try:
        await store.add_room(room())
        # a holder that died: its token is in Redis with its lease, nobody will release it
        lock_key = f"{store.prefix}room:r1:lock"
        await store.redis.set(lock_key, "dead-holder", px=600)
        with pytest.raises(LockTimeout):
            async with store.room_lock("r1"):
                pass
        await asyncio.sleep(0.5)
        async with store.room_lock("r1"):
            assert await store.redis.get(lock_key) not in (None, "dead-holder")
            await asyncio.sleep(0.5)  # longer than the lease: it is renewed while held
            assert await store.redis.get(lock_key) not in (None, "dead-holder")
        assert await store.redis.get(lock_key) is None
        # a release never removes a lock that another holder took over
        async with store.room_lock("r1"):
            await store.redis.set(lock_key, "someone-else")
        assert await store.redis.get(lock_key) == "someone-else"
    finally:
        await store.close()


# ---------------------------------------------------------------------------------------------
# Redis specifics


async def test_redis_keys_are_namespaced_and_secrets_hashed(redis_url: str) -> None:
    store = make_redis(redis_url, extend_window=1)
    other = make_redis(redis_url)
    try:
        await store.add_room(room(password_hash="$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA"))
        await other.add_room(room())
        await store.save_member("r1", member("ma", "sid"))
        await store.append_op("r1", "ma", "t", stroke("s", (1, 1)))
        await store.append_op("r1", "ma", "t", extend("e1", "s", (2, 2)))
        await store.append_op("r1", "ma", "t", extend("e2", "s", (3, 3)))
        await store.append_chat("r1", message(1), 5)
        await store.put_ticket("secret-ticket", Ticket("r1", "ma", "u-ma"), ttl=30)
        await store.add_join_failure("eve", "r1", window=30)
        keys = [key async for key in store.redis.scan_iter(match="*")]
        mine = [key for key in keys if key.startswith(store.prefix)]
        assert len(mine) >= 8
        assert all(key.startswith((store.prefix, other.prefix, "jc-test-")) for key in keys)
        assert not any("secret-ticket" in key or "eve" in key for key in keys)
        record = await store.redis.hget(f"{store.prefix}room:r1", "record")
        assert record is not None and "$argon2id$" in record
        assert [r.id async for r in other.iter_rooms()] == ["r1"]
        assert (await other.board("r1")).ops == []  # the other namespace's r1 is untouched
        # the room's keys go with it; its lock key is not left behind either
        await store.delete_room("r1")
        left = [key async for key in store.redis.scan_iter(match=f"{store.prefix}room:*")]
        assert left == []
    finally:
        await store.close()
        await other.close()


async def test_redis_close_releases_connections(redis_url: str) -> None:
    monitor = Redis.from_url(redis_url, decode_responses=True)
    try:
        before = len(await monitor.client_list())
        store = make_redis(redis_url)
        await asyncio.gather(*(store.get_room(f"r{i}") for i in range(3)))
        assert len(await monitor.client_list()) > before
        await store.close()
        for _ in range(50):
            if len(await monitor.client_list()) == before:
                break
            await asyncio.sleep(0.02)
        assert len(await monitor.client_list()) == before
    finally:
        await monitor.aclose()


async def test_processes_that_stop_beating_are_found_with_their_sockets(store: Store) -> None:
    await store.heartbeat("p-alive", ttl=30)
    await store.heartbeat("p-dying", ttl=0.2)
    await store.track_socket("p-alive", "s1", "r1", "m1")
    await store.track_socket("p-dying", "s2", "r1", "m2")
    await store.track_socket("p-dying", "s3", "r2", "m2")
    await store.track_socket("p-dying", "s4", "r1", "m4")
    await store.untrack_socket("p-dying", "s4", "r1")  # it left before the process died
    await asyncio.sleep(0.4)
    dead = await store.dead_processes()
    if isinstance(store, MemoryStore):
        assert dead == {}  # one process: its sockets die with its store
        return
    assert list(dead) == ["p-dying"]
    assert sorted(dead["p-dying"]) == [("s2", "r1", "m2"), ("s3", "r2", "m2")]
    await store.forget_process("p-dying")
    assert await store.dead_processes() == {}


async def test_room_limits_hold_when_creates_race(store: Store) -> None:
    async def add(room_id: str, owner: str) -> str:
        try:
            await store.add_room(room(room_id, owner=owner), max_rooms=5, max_per_owner=2)
            return "added"
        except RoomLimitReached as exc:
            return exc.which

    # ten creates by one owner at once: exactly two get a room
    results = await asyncio.gather(*(add(f"t{i}", "teacher") for i in range(10)))
    assert sorted(results) == ["added"] * 2 + ["owner"] * 8
    # others fill the server to five, then everyone is refused
    results = await asyncio.gather(*(add(f"o{i}", f"other{i}") for i in range(6)))
    assert sorted(results) == ["added"] * 3 + ["server"] * 3
    assert len([r async for r in store.iter_rooms()]) == 5
    # closing one of the teacher's rooms gives the teacher a place again
    teacher_rooms = [r.id async for r in store.iter_rooms() if r.owner == "teacher"]
    await store.delete_room(teacher_rooms[0])
    assert await add("t-again", "teacher") == "added"
    assert await add("t-more", "teacher") == "server"  # five again
    others = [r.id async for r in store.iter_rooms() if r.owner != "teacher"]
    await store.delete_room(others[0])
    assert await add("t-more", "teacher") == "owner"  # room on the server, not for them


async def test_a_whole_class_leaving_at_once_waits_for_redis_connections(redis_url: str):
    """More commands at once than the store's connections to Redis (a class of hundreds
    disconnecting together) wait for a free connection: none fails."""
    from jupyter_classroom.store.redis import MAX_CONNECTIONS

    store = make_redis(redis_url)
    try:
        sockets = [f"s{n}" for n in range(MAX_CONNECTIONS * 4)]
        await asyncio.gather(*(store.track_socket("p1", sid, "r1", "m1") for sid in sockets))
        await asyncio.gather(*(store.untrack_socket("p1", sid, "r1") for sid in sockets))
        assert await store.tracked_sockets() == {"p1": []}
    finally:
        await store.close()
