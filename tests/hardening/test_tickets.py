"""Tickets (issue 16, item 2): bound to the user who asked, rate limited per user, cheap to
issue; ``room:attach`` with ``board: true`` is a whole member socket."""

from __future__ import annotations

import time
from typing import Any

import pytest

from jupyter_classroom.store import MemoryStore
from jupyter_classroom.store.base import Ticket

from ..helpers import text_op
from .figures import record
from .multiuser import as_user, jp_server_config, redis_url, store_kind

__all__ = ["as_user", "jp_server_config", "redis_url", "store_kind"]  # fixtures used here

TICKETS_PER_USER = 4  # the burst; the refill is too slow to matter within a test


@pytest.fixture
def classroom_config() -> dict[str, Any]:
    return {"tickets_per_second": 0.001, "ticket_burst": TICKETS_PER_USER}


async def message(peer: Any, text: str) -> dict[str, Any]:
    """The next chat message with ``text`` that ``peer`` receives (earlier ones skipped)."""
    while True:
        received = await peer.next("chat:message")
        if received["text"] == text:
            return dict(received)


async def classroom(as_user: Any) -> tuple[Any, Any, str, str, str]:
    """A room of 'host', with 'member' joined: (host, member, room id, their member ids)."""
    host = await as_user("host")
    created = await host.create("Tickets")
    room_id = created["room"]["id"]
    member = await as_user("member")
    member_id = (await member.join(room_id))["you"]["id"]
    return host, member, room_id, created["you"]["id"], member_id


async def test_a_ticket_works_only_for_the_user_it_was_issued_to(as_user):
    host, member, room_id, host_id, member_id = await classroom(as_user)
    ticket = (await host.ok("room:ticket", {"room_id": room_id}))["ticket"]
    thief = await as_user("outsider")
    ack = await thief.call("room:attach", {"ticket": ticket})
    assert ack == {
        "ok": False,
        "error": {"code": "unauthorized", "message": "this ticket was issued to another user"},
    }
    # the thief got none of the host's powers
    assert await thief.error("chat:send", {"room_id": room_id, "text": "I am the host"}) == (
        "not_member"
    )
    kick = {"room_id": room_id, "member_id": member_id}
    assert await thief.error("room:kick", kick) == "not_member"
    await member.nothing("chat:message", wait=0.1)
    # the failed attempt spent the ticket (one-time, whoever presents it)
    own_page = await as_user("host")
    assert await own_page.error("room:attach", {"ticket": ticket}) == "unauthorized"
    # a fresh one works for another socket of the same user, as the same member
    ticket = (await host.ok("room:ticket", {"room_id": room_id}))["ticket"]
    attached = await own_page.ok("room:attach", {"ticket": ticket})
    assert attached["you"]["id"] == host_id and attached["you"]["role"] == "host"


async def test_attach_with_board_is_a_whole_membership(as_user):
    host, member, room_id, host_id, member_id = await classroom(as_user)
    third = await as_user("outsider")
    third_id = (await third.join(room_id))["you"]["id"]
    await host.ok("board:op", {"room_id": room_id, "op": text_op("before", "before")})
    await host.ok("chat:send", {"room_id": room_id, "text": "public"})
    await host.ok("chat:send", {"room_id": room_id, "text": "to member", "to": member_id})
    await member.ok("chat:send", {"room_id": room_id, "text": "to host", "to": host_id})
    await host.ok("chat:send", {"room_id": room_id, "text": "not for member", "to": third_id})

    page = await as_user("member")  # the member's browser page: one op each (board:op)
    ticket = await member.ok("room:ticket", {"room_id": room_id})
    attached = await page.ok("room:attach", {"ticket": ticket["ticket"], "board": True})
    assert attached["you"] == {**attached["you"], "id": member_id, "role": "member"}
    assert attached["board"]["complete"] is True
    assert [o["op"]["id"] for o in attached["board"]["ops"]] == ["before"]
    assert attached["board"]["seq"] == attached["board"]["ops"][-1]["seq"]
    assert [m["text"] for m in attached["chat"]] == ["public", "to member", "to host"]
    assert {m["id"] for m in attached["members"]} == {host_id, member_id, third_id}
    assert set(attached["rtc"]) == {"ice_servers", "max_publishers"}
    assert ticket["ttl"] == 60  # the page knows when to refresh a spare

    # a page that takes lists (auth.batch) attaches from a ticket the first page asked for:
    # a member socket may ask for tickets itself, with no kernel involved
    batched = await as_user("member", auth={"batch": True})
    spare = (await page.ok("room:ticket", {"room_id": room_id}))["ticket"]
    seq = attached["board"]["seq"]
    resumed = await batched.ok("room:attach", {"ticket": spare, "board": True, "since": seq})
    assert resumed["board"] == {"seq": seq, "ops": [], "complete": False}  # a delta, as a join
    video = await as_user("member")  # a video socket (no `board`): no board traffic
    video_ticket = (await batched.ok("room:ticket", {"room_id": room_id}))["ticket"]
    video_ack = await video.ok("room:attach", {"ticket": video_ticket})
    assert "board" not in video_ack and "chat" not in video_ack

    # later ops reach the pages live, as they reach a joined socket
    await host.ok("board:op", {"room_id": room_id, "op": text_op("after", "after")})
    assert (await page.next("board:op"))["op"]["id"] == "after"
    assert [o["op"]["id"] for o in (await batched.next("board:ops"))["ops"]] == ["after"]
    await video.nothing("board:op", wait=0.2)
    assert not video.received["board:ops"]

    # the page acts as the member: it draws, chats, reads its DMs
    await page.ok("board:op", {"room_id": room_id, "op": text_op("from-page", "from-page")})
    drawn = await host.next("board:op")
    assert drawn["op"]["id"] == "from-page" and drawn["author"] == member_id
    await page.ok("chat:send", {"room_id": room_id, "text": "hi from the page"})
    assert (await message(host, "hi from the page"))["from"]["id"] == member_id
    await host.ok("chat:send", {"room_id": room_id, "text": "dm", "to": member_id})
    assert (await message(page, "dm"))["to"] == member_id


async def test_tickets_are_rate_limited_per_user_across_sockets(as_user):
    host = await as_user("host")
    room_id = (await host.create("Ticket flood"))["room"]["id"]
    first, second = await as_user("member"), await as_user("member")  # two members of one user
    await first.join(room_id)
    await second.join(room_id)
    for _ in range(TICKETS_PER_USER):
        await first.ok("room:ticket", {"room_id": room_id})
    # another socket of the same user shares the allowance...
    assert await second.error("room:ticket", {"room_id": room_id}) == "rate_limited"
    assert await first.error("room:ticket", {"room_id": room_id}) == "rate_limited"
    # ...while other users are not held back by it
    await host.ok("room:ticket", {"room_id": room_id})


async def test_the_memory_store_keeps_tickets_bounded_and_cheap():
    """The memory store used to walk every live ticket on each issue (O(n)) and held as
    many as were asked for; now it drops expired ones from the front and keeps at most
    ``max_tickets``."""
    store = MemoryStore()
    store.max_tickets = 1000
    for n in range(5000):
        await store.put_ticket(f"t{n}", Ticket("r", "m", "u"), ttl=60)
    assert len(store._tickets) == 1000  # bounded: the oldest went early
    assert await store.take_ticket("t4999") == Ticket("r", "m", "u")
    assert await store.take_ticket("t0") is None

    store = MemoryStore()
    for n in range(50_000):
        await store.put_ticket(f"live{n}", Ticket("r", "m", "u"), ttl=600)
    started = time.perf_counter()
    for n in range(1000):
        await store.put_ticket(f"more{n}", Ticket("r", "m", "u"), ttl=600)
    per_issue_us = (time.perf_counter() - started) * 1e6 / 1000
    record("ticket_issue", live_tickets=50_000, per_issue_us=round(per_issue_us, 1))
