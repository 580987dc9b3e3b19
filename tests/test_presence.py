"""Presence: who is in which room is recorded by one owner (jupyter_classroom/presence.py).

Leaving, being kicked and a room closing take a socket's tracking row out of the shared store
at once, on whichever process the socket is (not only when it disconnects); and the sweep of
empty rooms takes the room lock a join takes, so a join racing it never lands in a room the
sweep then deletes.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

import pytest

from .peers import Peer, ServerInfo, peer_pool
from .redis_server import running_redis
from .test_scaleout import ServerProcess, room_servers

pytestmark = pytest.mark.timeout(180)


@pytest.fixture(scope="module")
def redis_url() -> Iterator[str]:
    with running_redis() as url:
        yield url


@pytest.fixture(scope="module")
def cluster(redis_url: str) -> Iterator[list[ServerProcess]]:
    with room_servers(redis_url) as servers:
        yield servers


@pytest.fixture
async def connect() -> AsyncIterator[Callable[..., Awaitable[Peer]]]:
    """``await connect(server_process, "alice")``: a Peer connected to that process."""
    async with peer_pool() as connect_to:

        async def _connect(server: ServerProcess, name: str) -> Peer:
            return await connect_to(server.info, name)

        yield _connect


async def tracked(redis_url: str) -> set[tuple[str, str]]:
    """The (room id, member id) of every socket row the processes keep in Redis."""
    from jupyter_classroom.store.redis import RedisStore

    store = RedisStore(redis_url)
    try:
        rows = await store.tracked_sockets()
    finally:
        await store.close()
    return {(room_id, member_id) for sockets in rows.values() for _, room_id, member_id in sockets}


async def until_tracked(redis_url: str, expected: set[tuple[str, str]]) -> None:
    """Wait for the rows to be ``expected`` (a departure decided on one process reaches the
    socket's own process through the pub/sub relay, a moment later)."""
    deadline = time.monotonic() + 10
    rows = await tracked(redis_url)
    while rows != expected and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
        rows = await tracked(redis_url)
    assert rows == expected


async def test_leave_kick_and_close_untrack_sockets_on_every_process(
    cluster: list[ServerProcess], redis_url: str, connect: Callable[..., Awaitable[Peer]]
) -> None:
    p1, p2 = cluster
    host = await connect(p1, "host")
    ack = await host.create("Tracked")
    room_id, host_id = ack["room"]["id"], ack["you"]["id"]
    peers = {name: await connect(server, name) for name, server in
             [("near", p1), ("far", p2), ("kid-near", p1), ("kid-far", p2)]}  # fmt: skip
    ids = {name: (await peer.join(room_id))["you"]["id"] for name, peer in peers.items()}
    await until_tracked(redis_url, {(room_id, m) for m in [host_id, *ids.values()]})

    # leaving, on either process
    await peers["near"].ok("room:leave", {"room_id": room_id})
    await peers["far"].ok("room:leave", {"room_id": room_id})
    await until_tracked(
        redis_url, {(room_id, m) for m in [host_id, ids["kid-near"], ids["kid-far"]]}
    )

    # a kick decided on p1, of sockets on p1 and on p2
    for kid in ("kid-near", "kid-far"):
        await host.ok("room:kick", {"room_id": room_id, "member_id": ids[kid]})
        left = await peers[kid].next("room:member_left")
        while left["member_id"] != ids[kid]:  # (near's and far's leaving came first)
            left = await peers[kid].next("room:member_left")
        assert left["reason"] == "kicked"
    await until_tracked(redis_url, {(room_id, host_id)})

    # a room closing untracks its sockets too (a watcher on the other process)
    watcher = await connect(p2, "watcher")
    watcher_id = (await watcher.join(room_id))["you"]["id"]
    await until_tracked(redis_url, {(room_id, host_id), (room_id, watcher_id)})
    await host.ok("room:close", {"room_id": room_id})
    assert (await watcher.next("room:closed"))["room_id"] == room_id
    await until_tracked(redis_url, set())
    # and the far socket is out of the closed room: its cursor is dropped, not relayed
    await watcher.sio.emit("board:cursor", {"room_id": room_id, "x": 1, "y": 1})
    await host.nothing("board:cursor", wait=0.2)


# ------------------------------------------------------------------------------------------
# the empty-room sweep against a join, interleaved on purpose (in-process server, memory)


@pytest.fixture
async def join_peer(server: ServerInfo) -> AsyncIterator[Callable[[str], Awaitable[Peer]]]:
    async with peer_pool() as connect_to:

        async def _connect(name: str) -> Peer:
            return await connect_to(server, name)

        yield _connect


@pytest.mark.parametrize("classroom_config", [{"empty_room_ttl": 0.2}])
async def test_a_join_racing_the_empty_room_sweep_never_lands_in_a_deleted_room(
    server: ServerInfo,
    join_peer: Callable[[str], Awaitable[Peer]],
    classroom_config: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    host = await join_peer("host")
    room_id = (await host.create("Swept"))["room"]["id"]
    await host.ok("room:leave", {"room_id": room_id})  # empty: the sweep will take it
    store = server.app.store
    deleting, release, deleted = asyncio.Event(), asyncio.Event(), asyncio.Event()
    contended = asyncio.Event()
    real_delete, real_lock = store.delete_room, store.room_lock
    holders = 0

    # The sweep is held just before its delete (its check passed); a join then runs. The
    # join either waits for the room lock the sweep holds (`contended`), or, if the sweep
    # holds none, gets through first: only then is the delete let go.
    async def held_delete(deleted_id: str) -> None:
        deleting.set()
        await release.wait()
        await real_delete(deleted_id)
        deleted.set()

    @contextlib.asynccontextmanager
    async def watched_lock(locked_id: str) -> AsyncIterator[None]:
        nonlocal holders
        if holders:
            contended.set()
        async with real_lock(locked_id):
            holders += 1
            try:
                yield
            finally:
                holders -= 1

    monkeypatch.setattr(store, "delete_room", held_delete)
    monkeypatch.setattr(store, "room_lock", watched_lock)
    sweeper = asyncio.ensure_future(server.app._sweep_empty_rooms())
    bob = await join_peer("bob")
    waiting = asyncio.ensure_future(contended.wait())
    try:
        await asyncio.wait_for(deleting.wait(), 10)
        join = asyncio.ensure_future(bob.call("room:join", {"room_id": room_id}))
        await asyncio.wait({join, waiting}, return_when=asyncio.FIRST_COMPLETED, timeout=10)
        release.set()
        ack = await join
        await asyncio.wait_for(deleted.wait(), 10)  # the sweep's delete, let go, is done
    finally:
        sweeper.cancel()
        waiting.cancel()
    exists = await store.get_room(room_id) is not None
    if ack["ok"]:
        assert exists, "the join landed in a room the sweep deleted"
    else:
        assert ack["error"]["code"] == "not_found" and not exists, ack
