"""Breakout rooms through a real server and real Socket.IO clients: opening (chosen groups
or a random split), who may join which group, broadcast, recall by the host and by the
timer, the boards kept after recall, and who may do what."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from jupyter_classroom import breakouts as breakouts_module
from jupyter_classroom import protocol as p
from jupyter_classroom.store.redis import RedisStore

from .helpers import stroke
from .peers import Peer
from .redis_server import running_redis
from .test_protocol_typescript import ack_conforms, conforms
from .test_scaleout import room_servers

Connect = Callable[..., Awaitable[Peer]]


async def a_class(connect: Connect, students: int = 4) -> tuple[Peer, list[Peer], str, list[str]]:
    host = await connect("host")
    room_id = (await host.create("Main"))["room"]["id"]
    peers, ids = [], []
    for n in range(students):
        peer = await connect(f"s{n}")
        ids.append((await peer.join(room_id))["you"]["id"])
        peers.append(peer)
    return host, peers, room_id, ids


def op_ids(board: dict[str, Any]) -> list[str]:
    return [o["op"]["id"] for o in board["ops"]]


async def test_chosen_groups_join_draw_recall_and_keep_their_boards(connect: Connect):
    host, (a, b, c, d), room_id, ids = await a_class(connect)
    await host.ok("board:op", {"room_id": room_id, "op": stroke("main")})
    groups = [[ids[0], ids[1]], [ids[2]]]  # d stays in the main room
    opened = await host.ok("breakout:open", {"room_id": room_id, "groups": groups})
    ack_conforms(p.Event.BREAKOUT_OPEN, dict(opened))
    assert [g["members"] for g in opened["breakouts"]] == groups and opened["ends_at"] is None
    event = await a.next("breakout:opened")
    conforms(p.EVENTS[p.Event.BREAKOUT_OPENED], event)
    assert event == {"room_id": room_id, "breakouts": opened["breakouts"], "ends_at": None}
    assert (await d.next("breakout:opened")) == event  # the whole main room hears it
    one, two = (g["room_id"] for g in opened["breakouts"])
    # a late joiner (or a reloaded page) learns of the open breakouts from its join ack
    late_ack = await connect("late")
    joined_late = await late_ack.join(room_id)
    ack_conforms(p.Event.ROOM_JOIN, dict(joined_late))
    assert joined_late["breakouts"] == {"breakouts": opened["breakouts"], "ends_at": None}
    # breakout rooms are unlisted
    assert {one, two}.isdisjoint(r["id"] for r in (await d.ok("room:list"))["rooms"])

    # assigned members join their own group, with no password; others are refused
    joined = await a.join(one)
    ack_conforms(p.Event.ROOM_JOIN, dict(joined))
    assert joined["room"]["parent_id"] == room_id and joined["board"]["ops"] == []  # no copy
    assert joined["room"]["host"]["id"] == (await host.ok("room:list"))["rooms"][0]["host"]["id"]
    await b.join(one)
    await c.join(two)
    assert await c.error("room:join", {"room_id": one}) == "forbidden"
    assert await d.error("room:join", {"room_id": one}) == "forbidden"
    outsider = await connect("outsider")
    assert await outsider.error("room:join", {"room_id": two}) == "forbidden"
    # the main room's host may visit any group, and hosts it while there
    visit = await host.join(two)
    assert visit["you"]["role"] == "host"
    # members stay members of the main room meanwhile
    await a.ok("chat:send", {"room_id": room_id, "text": "still here"})

    # each group draws on its own board only
    for peer in (b, d):
        peer.drain("board:op")
    await a.ok("board:op", {"room_id": one, "op": stroke("a-in-one")})
    await c.ok("board:op", {"room_id": two, "op": stroke("c-in-two")})
    assert (await b.next("board:op"))["op"]["id"] == "a-in-one"
    await d.nothing("board:op")

    # broadcast: a chat message from the host in every group
    b.drain("chat:message"), c.drain("chat:message")
    await host.ok("breakout:broadcast", {"room_id": room_id, "text": "5 minutes"})
    message = await b.next("chat:message")
    assert message["room_id"] == one and message["text"] == "5 minutes"
    assert message["from"]["name"] == "host"
    assert (await c.next("chat:message"))["room_id"] == two
    assert [m["text"] for m in (await a.join(one))["chat"]] == ["5 minutes"]

    # while open, the host reads a group's live board; members may not
    live = await host.ok("breakout:board", {"room_id": room_id, "breakout_id": one})
    ack_conforms(p.Event.BREAKOUT_BOARD, dict(live))
    assert op_ids(live["board"]) == ["a-in-one"]
    assert await a.error("breakout:board", {"room_id": room_id, "breakout_id": one}) == "forbidden"

    # a second opening while open: conflict
    assert await host.error("breakout:open", {"room_id": room_id, "count": 2}) == "conflict"

    recalled = await host.ok("breakout:recall", {"room_id": room_id})
    ack_conforms(p.Event.BREAKOUT_RECALL, dict(recalled))
    assert recalled["breakouts"] == opened["breakouts"]
    closed = await a.next("room:closed")
    assert closed == {"room_id": one, "reason": "recalled"}
    assert (await c.next("room:closed")) == {"room_id": two, "reason": "recalled"}
    closed_event = await d.next("breakout:closed")
    conforms(p.EVENTS[p.Event.BREAKOUT_CLOSED], closed_event)
    assert closed_event == {"room_id": room_id, "breakouts": opened["breakouts"]}
    assert await a.error("room:join", {"room_id": one}) == "not_found"
    assert await a.error("board:op", {"room_id": one, "op": stroke("late")}) == "not_found"
    # the boards are kept, and any member of the main room reads them
    kept = await d.ok("breakout:board", {"room_id": room_id, "breakout_id": one})
    assert op_ids(kept["board"]) == ["a-in-one"] and kept["board"]["complete"]
    assert op_ids((await a.ok("breakout:board", {"room_id": room_id, "breakout_id": two}))["board"]) == ["c-in-two"]  # fmt: skip
    assert await d.error("breakout:board", {"room_id": room_id, "breakout_id": "nope"}) == "not_found"  # fmt: skip
    assert await outsider.error("breakout:board", {"room_id": room_id, "breakout_id": one}) == "not_member"  # fmt: skip
    assert await host.error("breakout:recall", {"room_id": room_id}) == "conflict"
    rejoined = await d.join(room_id)  # a reload, or a late joiner
    assert "breakouts" not in rejoined  # none open now
    # ... but the kept boards are listed, so a reloaded page still offers them
    ack_conforms(p.Event.ROOM_JOIN, dict(rejoined))
    assert rejoined["kept_breakouts"] == opened["breakouts"]


async def test_random_split_copy_board_and_the_timer(connect: Connect):
    host, students, room_id, ids = await a_class(connect, students=5)
    await host.ok("board:op", {"room_id": room_id, "op": stroke("lesson")})
    opened = await host.ok(
        "breakout:open", {"room_id": room_id, "count": 2, "minutes": 0.02, "copy_board": True}
    )
    groups = [g["members"] for g in opened["breakouts"]]
    assert sorted(len(g) for g in groups) == [2, 3]  # everyone but the host, split evenly
    assert sorted(m for g in groups for m in g) == sorted(ids)
    assert opened["ends_at"].endswith("Z")
    first = opened["breakouts"][0]
    member = students[ids.index(first["members"][0])]
    joined = await member.join(first["room_id"])
    assert op_ids(joined["board"]) == ["lesson"]  # a copy of the main board
    await member.ok("board:op", {"room_id": first["room_id"], "op": stroke("group-work")})
    # the server recalls them at ends_at (1.2 s here)
    assert (await member.next("room:closed", timeout=20))["reason"] == "recalled"
    closed = await host.next("breakout:closed", timeout=20)
    assert closed["breakouts"] == opened["breakouts"]
    kept = await member.ok("breakout:board", {"room_id": room_id, "breakout_id": first["room_id"]})
    assert op_ids(kept["board"]) == ["lesson", "group-work"]
    # and breakouts can open again
    await host.ok("breakout:open", {"room_id": room_id, "count": 5})


async def test_only_the_host_opens_broadcasts_and_recalls(connect: Connect):
    host, (a, b), room_id, ids = await a_class(connect, students=2)
    for event, payload in [
        ("breakout:open", {"room_id": room_id, "count": 2}),
        ("breakout:broadcast", {"room_id": room_id, "text": "hi"}),
        ("breakout:recall", {"room_id": room_id}),
    ]:
        assert await a.error(event, payload) == "forbidden", event
    outsider = await connect("outsider")
    assert await outsider.error("breakout:open", {"room_id": room_id}) == "not_member"
    # nothing is open: broadcast and recall have nothing to act on
    assert await host.error("breakout:broadcast", {"room_id": room_id, "text": "x"}) == "conflict"
    assert await host.error("breakout:recall", {"room_id": room_id}) == "conflict"
    opened = await host.ok("breakout:open", {"room_id": room_id})  # count 2 by default
    assert len(opened["breakouts"]) == 2
    await outsider.nothing("breakout:opened")
    # a breakout room has no breakouts of its own
    one = opened["breakouts"][0]["room_id"]
    await host.join(one)
    assert await host.error("breakout:open", {"room_id": one}) == "bad_request"
    # nor does a member in their group gain anything over the main room
    (mine,) = (g["room_id"] for g in opened["breakouts"] if ids[0] in g["members"])
    await a.join(mine)
    assert await a.error("breakout:recall", {"room_id": room_id}) == "forbidden"


async def test_members_of_other_rooms_see_nothing(connect: Connect):
    host, (a, b), room_id, ids = await a_class(connect, students=2)
    other_host = await connect("other-host")
    other_room = (await other_host.create("Other"))["room"]["id"]
    neighbour = await connect("neighbour")
    await neighbour.join(other_room)
    opened = await host.ok("breakout:open", {"room_id": room_id, "groups": [[ids[0]], [ids[1]]]})
    await host.ok("breakout:broadcast", {"room_id": room_id, "text": "hello groups"})
    await host.ok("breakout:recall", {"room_id": room_id})
    for peer in (other_host, neighbour):
        for event in ("breakout:opened", "breakout:closed", "chat:message", "room:closed"):
            await peer.nothing(event, wait=0.05)
    # the other room's host is no host here
    one = opened["breakouts"][0]["room_id"]
    assert await other_host.error("breakout:recall", {"room_id": room_id}) == "not_member"
    assert await other_host.error("room:join", {"room_id": one}) == "not_found"  # recalled


async def test_bad_input_is_refused(connect: Connect):
    host, (a, b), room_id, ids = await a_class(connect, students=2)
    bad = [
        {"room_id": room_id, "count": 1},
        {"room_id": room_id, "count": 21},
        {"room_id": room_id, "count": "2"},
        {"room_id": room_id, "minutes": 0},
        {"room_id": room_id, "minutes": 241},
        {"room_id": room_id, "groups": []},
        {"room_id": room_id, "groups": [[]]},
        {"room_id": room_id, "groups": [["mnobody"]]},  # not a member
        {"room_id": room_id, "groups": [[ids[0]], [ids[0]]]},  # in two groups
        {"room_id": room_id, "count": 3},  # 2 students cannot make 3 groups
        {"room_id": room_id, "copy_board": "yes"},
    ]
    for payload in bad:
        assert await host.error("breakout:open", payload) == "bad_request", payload
    too_many = {"room_id": room_id, "groups": [[ids[0]]] * 21}  # a size limit: too_large
    assert await host.error("breakout:open", too_many) == "too_large"
    assert await host.error("breakout:broadcast", {"room_id": room_id, "text": ""}) == "bad_request"
    assert await host.error("breakout:board", {"room_id": room_id}) == "bad_request"
    # nothing was opened by any of it
    assert (await host.ok("breakout:open", {"room_id": room_id, "count": 2}))["breakouts"]


async def test_closing_the_main_room_closes_its_breakouts(connect: Connect):
    host, (a, b), room_id, ids = await a_class(connect, students=2)
    opened = await host.ok("breakout:open", {"room_id": room_id, "groups": [[ids[0]], [ids[1]]]})
    one = opened["breakouts"][0]["room_id"]
    await a.join(one)
    assert await a.error("room:close", {"room_id": room_id}) == "forbidden"
    assert await a.error("room:close", {"room_id": one}) == "forbidden"  # the host's, not a's
    await host.ok("room:close", {"room_id": room_id})
    assert await a.next("room:closed") == {"room_id": one, "reason": "recalled"}
    assert (await a.next("room:closed"))["room_id"] == room_id
    assert await a.error("room:join", {"room_id": one}) == "not_found"


async def test_a_room_keeps_the_last_groups_boards_only(
    connect: Connect, monkeypatch: pytest.MonkeyPatch
):
    """A host who opens and recalls breakouts all lesson long keeps the last KEPT_LISTED
    groups' boards: the older ones are dropped from the store, not only from the list."""
    monkeypatch.setattr(breakouts_module, "KEPT_LISTED", 3)
    host, (a, b), room_id, ids = await a_class(connect, students=2)
    recalled = []
    for _ in range(2):
        opened = await host.ok("breakout:open", {"room_id": room_id, "count": 2})
        recalled += opened["breakouts"]
        await host.ok("breakout:recall", {"room_id": room_id})
    assert (await a.join(room_id))["kept_breakouts"] == recalled[-3:]
    oldest = recalled[0]["room_id"]
    gone = {"room_id": room_id, "breakout_id": oldest}
    assert await a.error("breakout:board", gone) == "not_found"
    for group in recalled[1:]:
        board = await a.ok("breakout:board", {"room_id": room_id, "breakout_id": group["room_id"]})
        assert board["board"]["complete"]


async def test_a_group_room_left_empty_is_kept_until_recalled(connect: Connect, server: Any):
    """The empty-room sweep passes over a group whose members all stepped out (a network
    blip, a reload): its board is the group's work, kept for the recall."""
    host, (a, b), room_id, ids = await a_class(connect, students=2)
    opened = await host.ok("breakout:open", {"room_id": room_id, "groups": [[ids[0]], [ids[1]]]})
    one = opened["breakouts"][0]["room_id"]
    await a.join(one)
    await a.ok("board:op", {"room_id": one, "op": stroke("group-work")})
    await a.ok("room:leave", {"room_id": one})
    await b.ok("room:leave", {"room_id": room_id})  # an empty-enough main room is not swept
    assert await server.app.rooms.close_empty_rooms(0, 0) == []
    assert op_ids((await a.join(one))["board"]) == ["group-work"]
    await a.ok("room:leave", {"room_id": one})
    await host.ok("breakout:recall", {"room_id": room_id})
    kept = await a.ok("breakout:board", {"room_id": room_id, "breakout_id": one})
    assert op_ids(kept["board"]) == ["group-work"]


async def test_the_host_visiting_a_group_keeps_it_when_leaving(connect: Connect):
    """The host's visit ends with room:leave: the group's room stays the host's (no member
    of the group becomes its host, to kick the others or close it)."""
    host, (a, b), room_id, ids = await a_class(connect, students=2)
    opened = await host.ok("breakout:open", {"room_id": room_id, "groups": [[ids[0], ids[1]]]})
    one = opened["breakouts"][0]["room_id"]
    await a.join(one)
    await b.join(one)
    host_id = (await host.join(one))["you"]["id"]
    await host.ok("room:leave", {"room_id": one})
    assert (await a.join(one))["room"]["host"]["id"] == host_id
    assert await a.error("room:kick", {"room_id": one, "member_id": ids[1]}) == "forbidden"
    assert await a.error("room:close", {"room_id": one}) == "forbidden"
    assert (await host.join(one))["you"]["role"] == "host"  # and back as its host


async def test_the_kept_groups_are_in_the_join_and_attach_acks_across_openings(connect: Connect):
    host, (a, b), room_id, ids = await a_class(connect, students=2)
    assert "kept_breakouts" not in await a.join(room_id)  # none recalled yet
    first = (await host.ok("breakout:open", {"room_id": room_id, "count": 2}))["breakouts"]
    assert "kept_breakouts" not in await a.join(room_id)  # open, not kept
    await host.ok("breakout:recall", {"room_id": room_id})
    second = (await host.ok("breakout:open", {"room_id": room_id, "count": 2}))["breakouts"]
    while_open = await b.join(room_id)
    assert while_open["kept_breakouts"] == first  # the earlier ones stay listed
    assert while_open["breakouts"]["breakouts"] == second
    await host.ok("breakout:recall", {"room_id": room_id})
    assert (await b.join(room_id))["kept_breakouts"] == first + second
    # a kernel's membership attached by ticket (a notebook's page) gets the list too
    ticket = (await a.ok("room:ticket", {"room_id": room_id}))["ticket"]
    page = await connect("a-page")
    attached = await page.ok("room:attach", {"ticket": ticket, "board": True})
    ack_conforms(p.Event.ROOM_ATTACH, dict(attached))
    assert attached["kept_breakouts"] == first + second
    for group in first + second:  # and each listed board is readable
        board = await b.ok("breakout:board", {"room_id": room_id, "breakout_id": group["room_id"]})
        assert board["board"]["complete"]


async def test_a_hand_raised_in_a_group_is_the_groups(connect: Connect):
    """In a breakout, a hand goes up in the group's room: its host (on a visit) sees and takes
    it; the main room's queue and its other members hear nothing of it."""
    host, (a, b, c), room_id, ids = await a_class(connect, students=3)
    opened = await host.ok(
        "breakout:open", {"room_id": room_id, "groups": [[ids[0], ids[1]], [ids[2]]]}
    )
    one, two = (g["room_id"] for g in opened["breakouts"])
    await a.join(one)
    await b.join(one)
    await c.join(two)
    visit = await host.join(one)
    assert visit["hands"] == []
    for peer in (host, b, c):
        peer.drain("hand:queue")
    hands = (await a.ok("hand:raise", {"room_id": one}))["hands"]
    assert [h["member_id"] for h in hands] == [ids[0]]
    queue = await host.next("hand:queue")
    assert queue["room_id"] == one and queue["hands"] == hands
    assert (await b.next("hand:queue"))["room_id"] == one  # the group sees it
    await c.nothing("hand:queue")  # the other group does not
    assert (await c.join(room_id))["hands"] == []  # nor is it in the main room's queue
    assert (await c.join(two))["hands"] == []
    assert (await b.join(one))["hands"] == hands  # a group member who reloads sees it
    assert await b.error("hand:take", {"room_id": one}) == "forbidden"  # not the host
    taken = await host.ok("hand:take", {"room_id": one})
    assert taken["taken"]["member_id"] == ids[0] and taken["hands"] == []
    assert (await a.next("hand:taken")) == {
        "room_id": one,
        "member_id": ids[0],
        "by": visit["you"]["id"],
    }


# ---------------------------------------------------------------------------------------------
# the timer in the Store: two processes, real Redis


async def test_deadlines_go_to_one_claimant_each() -> None:
    """Two processes' stores claim the due breakouts at once: each room goes to one of them."""
    with running_redis() as url:
        prefix = f"jc-test-{uuid.uuid4().hex[:8]}:"
        first, second = RedisStore(url, prefix=prefix), RedisStore(url, prefix=prefix)
        try:
            now = time.time()
            rooms = [f"r{n}" for n in range(50)]
            for n, room_id in enumerate(rooms):
                await first.set_breakout_deadline(room_id, now - 1 - n)
            await first.set_breakout_deadline("later", now + 3600)
            await first.set_breakout_deadline("cancelled", now - 1)
            await second.set_breakout_deadline("cancelled", None)  # recalled by the host
            claims = await asyncio.gather(
                *(store.claim_due_breakouts(now, 60) for store in (first, second, first, second))
            )
            claimed = [room_id for claim in claims for room_id in claim]
            assert sorted(claimed) == sorted(rooms)  # every due room once, by one claimant
            assert await second.claim_due_breakouts(now + 59, 60) == []  # leased
            for room_id in rooms[1:]:  # recalled (the lease of rooms[0]'s claimant runs out)
                await first.set_breakout_deadline(room_id, None)
            assert await second.claim_due_breakouts(now + 7200, 60) == [rooms[0], "later"]
            assert await first.claim_due_breakouts(now + 7200, 60) == []
            await first.delete_room("later")  # a closed room's deadline goes with it
            assert await first.claim_due_breakouts(now + 9999, 60) == [rooms[0]]
        finally:
            await first.close()
            await second.close()


@pytest.mark.timeout(120)
async def test_breakouts_end_on_time_when_the_process_that_opened_them_died() -> None:
    """The host opens timed breakouts on p1, which dies before they end: p2's sweep recalls
    them (once), so its members come back and the boards are kept."""
    with running_redis() as url, room_servers(url, 2, "--ClassroomApp.process_ttl=1.5") as (p1, p2):
        host, a, b = Peer(p1.info, name="host"), Peer(p2.info, name="a"), Peer(p2.info, name="b")
        try:
            for peer in (host, a, b):
                await peer.connect()
            room_id = (await host.create("Main"))["room"]["id"]
            ids = [(await peer.join(room_id))["you"]["id"] for peer in (a, b)]
            opened = await host.ok(
                "breakout:open",
                {"room_id": room_id, "groups": [[ids[0]], [ids[1]]], "minutes": 0.05},
            )
            one = opened["breakouts"][0]["room_id"]
            await a.join(one)
            await a.ok("board:op", {"room_id": one, "op": stroke("group-work")})
            p1.kill()  # its asyncio timer goes with it
            assert (await a.next("room:closed", timeout=30)) == {
                "room_id": one,
                "reason": "recalled",
            }
            closed = await b.next("breakout:closed", timeout=10)
            assert closed == {"room_id": room_id, "breakouts": opened["breakouts"]}
            await b.nothing("breakout:closed", wait=2.0)  # once, though both sweeps ran
            kept = await b.ok("breakout:board", {"room_id": room_id, "breakout_id": one})
            assert op_ids(kept["board"]) == ["group-work"]
            rejoined = await b.join(room_id)
            assert "breakouts" not in rejoined and rejoined["kept_breakouts"] == opened["breakouts"]
        finally:
            for peer in (host, a, b):
                await peer.disconnect()


@pytest.mark.timeout(120)
async def test_timed_breakouts_are_recalled_once_by_two_live_processes() -> None:
    """The opener's timer and both processes' sweeps race for the same breakouts: the members
    on either process hear one recall."""
    with running_redis() as url, room_servers(url, 2, "--ClassroomApp.process_ttl=0.6") as (p1, p2):
        host, a, b = Peer(p1.info, name="host"), Peer(p1.info, name="a"), Peer(p2.info, name="b")
        try:
            for peer in (host, a, b):
                await peer.connect()
            room_id = (await host.create("Main"))["room"]["id"]
            ids = [(await peer.join(room_id))["you"]["id"] for peer in (a, b)]
            for round_ in range(3):  # a few times, so the racers line up differently
                opened = await host.ok(
                    "breakout:open",
                    {"room_id": room_id, "groups": [[ids[0]], [ids[1]]], "minutes": 0.01},
                )
                await a.join(opened["breakouts"][0]["room_id"])
                await b.join(opened["breakouts"][1]["room_id"])
                for peer in (host, a, b):
                    closed = await peer.next("breakout:closed", timeout=20)
                    assert closed["breakouts"] == opened["breakouts"], round_
                for peer in (a, b):
                    assert (await peer.next("room:closed", timeout=5))["reason"] == "recalled"
                for peer in (host, a, b):
                    await peer.nothing("breakout:closed", wait=1.0)
                    assert peer.drain("room:closed") == []
        finally:
            for peer in (host, a, b):
                await peer.disconnect()


# ---------------------------------------------------------------------------------------------
# the sweep's claims (Breakouts.due) against the store, through a real server's own objects


async def test_a_claim_lost_with_its_process_is_claimed_again(connect: Connect, server: Any):
    """A process that claimed due breakouts and died before recalling them: the claim is a
    lease, so a later sweep claims them again; the recall ends the deadline for good."""
    host, _, room_id, ids = await a_class(connect, students=2)
    await host.ok("breakout:open", {"room_id": room_id, "count": 2, "minutes": 1})
    breakouts = server.app.room_server.breakouts
    later = time.time() + 120  # past the deadline, without waiting for it
    assert await breakouts.store.claim_due_breakouts(later, 30) == [room_id]  # then it dies
    assert await breakouts.due(later + 1) == []  # the lease holds
    ((claimed, token),) = await breakouts.due(later + 31)  # the lease ran out: claimed again
    assert claimed == room_id
    assert (await breakouts.recall(room_id, token=token)) is not None
    assert await breakouts.due(later + 3600) == []  # recalled: no deadline left


async def test_a_claim_does_not_recall_breakouts_opened_again_meanwhile(
    connect: Connect, server: Any
):
    """Between a sweep's claim of due breakouts and its reading of them, the host recalls
    and opens new ones: the sweep leaves the new ones (and their deadline) alone."""
    host, _, room_id, ids = await a_class(connect, students=2)
    await host.ok("breakout:open", {"room_id": room_id, "count": 2, "minutes": 1})
    breakouts = server.app.room_server.breakouts
    claim = breakouts.store.claim_due_breakouts
    reopened: list[Any] = []

    async def claim_then_reopen(now: float, lease: float) -> list[str]:
        due = await claim(now, lease)
        await host.ok("breakout:recall", {"room_id": room_id})
        reopened.append(
            await host.ok("breakout:open", {"room_id": room_id, "count": 2, "minutes": 60})
        )
        return due

    breakouts.store.claim_due_breakouts = claim_then_reopen
    try:
        assert await breakouts.due(time.time() + 90) == []  # the first ones were recalled
    finally:
        del breakouts.store.claim_due_breakouts
    assert reopened and "breakouts" in await host.join(room_id)  # the new ones stay open
    assert await breakouts.store.claim_due_breakouts(time.time() + 3700, 30) == [room_id]
