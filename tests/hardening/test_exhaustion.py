"""Issue 16, item 9: one person cannot exhaust the server or the room by opening more
sockets, churning through rooms, flooding signaling or taking every room; room-list changes
can be had as diffs; empty unlisted rooms go early. Run over both stores."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
import socketio

from ..helpers import text_op
from ..peers import Peer
from .figures import record
from .identity import token_of
from .multiuser import as_user, jp_server_config, redis_url, store_kind

__all__ = ["as_user", "jp_server_config", "redis_url", "store_kind"]


async def room_with(as_user: Any, n: int, **create: Any) -> tuple[Peer, list[Peer], str]:
    """A room of user 'host' with ``n`` sockets of user 'member' (n clients) in it."""
    host = await as_user("host")
    room_id = (await host.create("crowd", **create))["room"]["id"]
    sockets = [await as_user("member") for _ in range(n)]
    for peer in sockets:
        await peer.join(room_id)
    return host, sockets, room_id


@pytest.mark.parametrize("classroom_config", [{"chat_backlog": 40}])
async def test_chat_flood_from_many_sockets_of_one_user(as_user, classroom_config):
    host, sockets, room_id = await room_with(as_user, 10)
    await host.ok("chat:send", {"room_id": room_id, "text": "the teacher's message"})
    started = time.monotonic()

    async def flood(peer: Peer, n: int) -> list[dict[str, Any]]:
        payload = {"room_id": room_id, "text": f"spam {n}"}
        return [await peer.call("chat:send", payload) for _ in range(10)]

    acks = [a for batch in await asyncio.gather(*(flood(p, n) for n, p in enumerate(sockets)))
            for a in batch]  # fmt: skip
    elapsed = time.monotonic() - started
    accepted = sum(1 for a in acks if a["ok"])
    limited = [a["error"] for a in acks if not a["ok"]]
    assert {e["code"] for e in limited} == {"rate_limited"}
    assert "all your connections together" in limited[0]["message"]
    assert accepted <= 20 + 5 * elapsed + 1  # one person's burst and rate, not ten sockets'
    # the teacher's message is still in the backlog a late joiner gets
    late = await as_user("outsider")
    chat = (await late.join(room_id))["chat"]
    assert "the teacher's message" in [m["text"] for m in chat]
    record("chat_flood_ten_sockets", sent=100, accepted=accepted, seconds=round(elapsed, 2))


@pytest.mark.parametrize("classroom_config", [{"ops_per_second": 20, "media_per_second": 2}])
async def test_ops_and_media_states_per_person(as_user, classroom_config):
    _, sockets, room_id = await room_with(as_user, 5)
    started = time.monotonic()

    async def burst(peer: Peer, n: int) -> tuple[int, int]:
        ops = [await peer.call("board:op", {"room_id": room_id, "op": text_op(f"o{n}-{i}")})
               for i in range(20)]  # fmt: skip
        media = [await peer.call("rtc:media", {"room_id": room_id, "audio": True, "video": i % 2 == 0})
                 for i in range(10)]  # fmt: skip
        return sum(a["ok"] for a in ops), sum(a["ok"] for a in media)

    results = await asyncio.gather(*(burst(p, n) for n, p in enumerate(sockets)))
    elapsed = time.monotonic() - started
    assert sum(r[0] for r in results) <= 40 + 20 * elapsed + 1  # 100 sent
    assert sum(r[1] for r in results) <= 20 + 2 * elapsed + 1  # 50 sent


@pytest.mark.parametrize("classroom_config", [{"max_sockets_per_user": 3}])
async def test_socket_cap_per_user(server, as_user, classroom_config):
    kept = [await as_user("member") for _ in range(3)]
    refused = Peer(server, headers={"Authorization": f"token {token_of('member')}"},
                   use_jupyter_token=False)  # fmt: skip
    errors: list[Any] = []
    refused.sio.on("connect_error", lambda data: errors.append(data))
    with pytest.raises(socketio.exceptions.ConnectionError):
        await refused.connect()
    assert errors and errors[0]["data"]["code"] == "rate_limited"
    assert "3 connections" in errors[0]["message"]
    # other people are not counted against this one
    assert (await (await as_user("host")).ok("room:list"))["ok"]
    # a socket closed makes room for another
    await kept[0].disconnect()
    for _ in range(50):
        if len(server.app.room_server.limits.sockets.get("member", ())) < 3:
            break
        await asyncio.sleep(0.05)
    await (await as_user("member")).ok("room:list")


def as_owner(server: Any, connect: Any) -> Any:
    """Sockets of the server's own user (the kernel token): a single-user server's class."""

    async def owner(name: str, client_id: str) -> Peer:
        return await connect(name, client_id=client_id, auth={"token": server.kernel_token},
                             use_jupyter_token=False)  # fmt: skip

    return owner


@pytest.mark.parametrize("classroom_config", [{"max_sockets_per_user": 2}])
async def test_the_owner_counts_per_client(server, connect, classroom_config):
    # On a single-user server everyone is the owner: the cap is per client, so a class can
    # share the server while one client still cannot open sockets without end.
    owner = as_owner(server, connect)
    first = [await owner(f"a{i}", "laptop-a") for i in range(2)]
    others = [await owner(f"b{i}", f"laptop-b{i}") for i in range(4)]
    assert len(first) == 2 and len(others) == 4
    with pytest.raises(socketio.exceptions.ConnectionError):
        await owner("a2", "laptop-a")


@pytest.mark.parametrize("classroom_config", [{"joins_per_second": 5}])
async def test_join_leave_churn_and_list_broadcasts(as_user, classroom_config):
    host, idle = await as_user("host"), await as_user("outsider")
    room_id = (await host.create("churn"))["room"]["id"]
    churner = await as_user("member")
    await asyncio.sleep(0.6)
    idle.drain("room:list_changed")
    started = time.monotonic()
    outcomes = []
    for _ in range(100):
        joined = await churner.call("room:join", {"room_id": room_id})
        left = await churner.call("room:leave", {"room_id": room_id})
        outcomes += [joined, left]
    elapsed = time.monotonic() - started
    await asyncio.sleep(1.0)  # the last coalesced list goes out
    lists = idle.drain("room:list_changed")
    accepted = sum(1 for a in outcomes if a["ok"])
    assert accepted <= 75 + 5 * elapsed + 2  # burst of 15x the rate, then the rate
    limited = [a["error"] for a in outcomes if not a["ok"] and a["error"]["code"] == "rate_limited"]
    assert limited and "joins and leaves" in limited[0]["message"]
    # however fast the churn, an idle socket gets at most two whole lists a second
    assert len(lists) <= (elapsed + 1.0) / 0.5 + 2
    record("join_leave_churn", pairs_tried=100, accepted=accepted, seconds=round(elapsed, 2),
           lists_to_an_idle_socket=len(lists))  # fmt: skip


@pytest.mark.parametrize(
    "classroom_config",
    [{"signals_per_second": 10, "bytes_per_second": 256 * 1024, "bytes_burst": 1024 * 1024}],
)
async def test_signaling_flood(as_user, classroom_config):
    host, (attacker,), room_id = await room_with(as_user, 1)
    victim_id = (await host.ok("room:join", {"room_id": room_id}))["you"]["id"]
    sdp = "v=0\r\n" + "a=x\r\n" * (60_000 // 5)  # ~60 KB offers
    started = time.monotonic()
    acks = [
        await attacker.call("rtc:signal",
                            {"room_id": room_id, "to": victim_id, "data": {"type": "offer", "sdp": sdp}})
        for _ in range(100)
    ]  # fmt: skip
    elapsed = time.monotonic() - started
    accepted = sum(1 for a in acks if a["ok"])
    assert {a["error"]["code"] for a in acks if not a["ok"]} == {"rate_limited"}
    assert accepted * 60_000 <= 1024 * 1024 + 256 * 1024 * elapsed + 60_000
    await asyncio.sleep(0.3)
    assert len(host.drain("rtc:signal")) == accepted  # the victim got only what was accepted
    record("signal_flood", offers_of_60kb=100, accepted=accepted, seconds=round(elapsed, 2))


async def test_room_list_diffs(server, as_user):
    differ = Peer(server, auth={"list_diff": True},
                  headers={"Authorization": f"token {token_of('outsider')}"},
                  use_jupyter_token=False)  # fmt: skip
    await differ.connect()
    try:
        whole = await as_user("admin")
        host, member = await as_user("host"), await as_user("member")
        room_id = (await host.create("diffed"))["room"]["id"]
        diff = await differ.next("room:list_diff")
        assert [r["id"] for r in diff["added"]] == [room_id]
        assert diff["updated"] == [] and diff["removed"] == []
        assert (await whole.next("room:list_changed"))["rooms"][0]["id"] == room_id
        await member.join(room_id)
        diff = await differ.next("room:list_diff")
        assert diff["added"] == [] and diff["removed"] == []
        assert [(r["id"], r["members"]) for r in diff["updated"]] == [(room_id, 2)]
        await host.ok("room:close", {"room_id": room_id})
        diff = await differ.next("room:list_diff")
        assert diff == {"added": [], "updated": [], "removed": [room_id]}
        # the socket that asked for diffs gets no whole lists; the others still do
        while (await whole.next("room:list_changed"))["rooms"]:
            pass
        assert differ.received["room:list_changed"] == []
    finally:
        await differ.disconnect()


@pytest.mark.parametrize("classroom_config", [{"max_rooms": 4, "room_reserve": 2,
                                               "admin_users": ["admin"]}])  # fmt: skip
async def test_students_cannot_take_the_instructors_rooms(as_user, classroom_config):
    student = await as_user("member")
    await student.create("one")
    await student.create("two")
    ack = await student.call("room:create", {"title": "three"})
    assert ack["error"]["code"] == "rate_limited" and "server" in ack["error"]["message"]
    teacher = await as_user("admin")
    await teacher.create("lesson")
    await teacher.create("breakout")


@pytest.mark.parametrize("classroom_config", [{"max_rooms_per_user": 2}])
async def test_owner_room_quota_counts_per_client(server, connect, classroom_config):
    # single-user server: every client is the owner; one client's rooms are its own quota
    owner = as_owner(server, connect)
    student = await owner("student", "student-kernel")
    await student.create("one")
    await student.create("two")
    assert await student.error("room:create", {"title": "three"}) == "rate_limited"
    teacher = await owner("teacher", "teacher-kernel")
    await teacher.create("lesson")


@pytest.mark.parametrize("classroom_config", [{"empty_unlisted_room_ttl": 0.5}])
async def test_empty_unlisted_rooms_expire_sooner(server, as_user, classroom_config):
    host = await as_user("host")
    hidden = (await host.create("scratch", listed=False))["room"]["id"]
    listed = (await host.create("lesson"))["room"]["id"]
    await host.ok("room:leave", {"room_id": hidden})
    await host.ok("room:leave", {"room_id": listed})
    # the server's housekeeping loop (started with the server; pytest-jupyter does not start
    # extensions, so the test runs it)
    sweeper = asyncio.ensure_future(server.app._sweep_empty_rooms())
    try:
        deadline = time.monotonic() + 10
        while await server.app.store.get_room(hidden) is not None:
            assert time.monotonic() < deadline, "the empty unlisted room was kept"
            await asyncio.sleep(0.1)
    finally:
        sweeper.cancel()
    assert await host.error("room:join", {"room_id": hidden}) == "not_found"
    await host.join(listed)  # the listed one is kept for empty_room_ttl
