"""Faults of the Redis deployment: a room-server restart, and Redis itself stalling."""

from __future__ import annotations

import asyncio
import signal
import time
from collections.abc import Iterator

import psutil
import pytest

from ..helpers import stroke
from ..peers import Peer
from ..redis_server import running_redis
from ..test_scaleout import room_servers
from .figures import record


@pytest.fixture
def redis_url() -> Iterator[str]:
    with running_redis() as url:
        yield url


def redis_process(url: str) -> psutil.Process:
    port = url.rsplit(":", 1)[1].split("/")[0]
    for process in psutil.process_iter(["name", "cmdline"]):
        if process.info["name"] == "redis-server" and port in " ".join(
            process.info["cmdline"] or []
        ):
            return process
    raise LookupError("redis-server not found")


async def peer(server, name: str) -> Peer:
    p = Peer(server.info, name=name)
    await p.connect()
    return p


async def test_room_server_restart_keeps_rooms_and_boards(redis_url):
    with room_servers(redis_url, count=1) as (first,):
        host = await peer(first, "host")
        room_id = (await host.create("Survives", password="pw"))["room"]["id"]
        for i in range(20):
            await host.ok("board:op", {"room_id": room_id, "op": stroke(f"s{i}", (i, i))})
        await host.ok("chat:send", {"room_id": room_id, "text": "before the restart"})
        first.kill()  # SIGKILL, no goodbye
    with room_servers(redis_url, count=1) as (second,):
        student = await peer(second, "student")
        assert [r["id"] for r in (await student.ok("room:list"))["rooms"]] == [room_id]
        assert (
            await student.error("room:join", {"room_id": room_id, "password": "no"})
            == "bad_password"
        )
        joined = await student.join(room_id, password="pw")
        assert [o["op"]["id"] for o in joined["board"]["ops"]] == [f"s{i}" for i in range(20)]
        assert [m["text"] for m in joined["chat"]] == ["before the restart"]
        assert (await student.ok("board:op", {"room_id": room_id, "op": stroke("after", (1, 1))}))[
            "seq"
        ] == 21
        await student.disconnect()


@pytest.mark.timeout(180)
async def test_redis_stalled_for_10_seconds(redis_url):
    with room_servers(redis_url, count=2) as (p1, p2):
        alice, bob = await peer(p1, "alice"), await peer(p2, "bob")
        room_id = (await alice.create("Outage"))["room"]["id"]
        await bob.join(room_id)
        await alice.ok("chat:send", {"room_id": room_id, "text": "before"})
        assert (await bob.next("chat:message"))["text"] == "before"
        redis = redis_process(redis_url)
        redis.send_signal(signal.SIGSTOP)  # Redis answers nothing for 10 s
        stalled_at = time.monotonic()
        try:
            # requests during the outage: answered (late, or with an error), never lost in a hang
            during = asyncio.ensure_future(
                alice.call("chat:send", {"room_id": room_id, "text": "during"})
            )
            await asyncio.sleep(10)
        finally:
            redis.send_signal(signal.SIGCONT)
        ack = await asyncio.wait_for(during, 30)
        answered_after = time.monotonic() - stalled_at
        assert ack["ok"] or ack["error"]["code"] == "internal"
        # cross-process delivery resumes
        await alice.ok("chat:send", {"room_id": room_id, "text": "after"})
        texts = []
        while "after" not in texts:
            texts.append((await bob.next("chat:message", timeout=20))["text"])
        assert texts[-1] == "after" and texts.count("after") == 1
        seqs = [
            (await bob.ok("board:op", {"room_id": room_id, "op": stroke("b1", (1, 1))}))["seq"],
            (await alice.ok("board:op", {"room_id": room_id, "op": stroke("a1", (1, 1))}))["seq"],
        ]
        assert seqs == [1, 2]
        record(
            "redis_stall",
            stalled_s=10,
            during_request_ok=bool(ack["ok"]),
            answered_after_s=round(answered_after, 1),
        )
        for p in (alice, bob):
            await p.disconnect()
