"""Raised hands through a real server and real Socket.IO clients: the queue's order, who may
lower and take, who hears what, and that a departed member's hand goes."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from jupyter_classroom import protocol as p

from .peers import Peer
from .test_protocol_typescript import ack_conforms, conforms

Connect = Callable[..., Awaitable[Peer]]


async def class_of_three(connect: Connect) -> tuple[Peer, Peer, Peer, str, dict[str, str]]:
    host, bob, carol = await connect("host"), await connect("bob"), await connect("carol")
    created = await host.create("hands")
    room_id = created["room"]["id"]
    assert created["hands"] == []
    ids = {"host": created["you"]["id"]}
    ids["bob"] = (await bob.join(room_id))["you"]["id"]
    ids["carol"] = (await carol.join(room_id))["you"]["id"]
    return host, bob, carol, room_id, ids


def members(hands: list[dict[str, Any]]) -> list[str]:
    return [hand["member_id"] for hand in hands]


async def test_queue_keeps_raise_order_and_a_second_raise_keeps_its_place(connect: Connect):
    host, bob, carol, room_id, ids = await class_of_three(connect)
    raised = await carol.ok("hand:raise", {"room_id": room_id})
    ack_conforms(p.Event.HAND_RAISE, dict(raised))
    assert members(raised["hands"]) == [ids["carol"]]
    hand = raised["hands"][0]
    assert hand["name"] == "carol" and hand["raised_at"].endswith("Z")
    for peer in (host, bob, carol):
        queue = await peer.next("hand:queue")
        conforms(p.EVENTS[p.Event.HAND_QUEUE], queue)
        assert queue == {"room_id": room_id, "hands": raised["hands"]}
    await bob.ok("hand:raise", {"room_id": room_id})
    assert members((await host.next("hand:queue"))["hands"]) == [ids["carol"], ids["bob"]]
    again = await carol.ok("hand:raise", {"room_id": room_id})  # idempotent: first place kept
    assert again["hands"][0] == hand and members(again["hands"]) == [ids["carol"], ids["bob"]]
    await host.nothing("hand:queue")  # nothing changed, nothing said


async def test_lower_own_and_others(connect: Connect):
    host, bob, carol, room_id, ids = await class_of_three(connect)
    await bob.ok("hand:raise", {"room_id": room_id})
    await carol.ok("hand:raise", {"room_id": room_id})
    # a member may not lower another's hand
    other = {"room_id": room_id, "member_id": ids["carol"]}
    assert await bob.error("hand:lower", other) == "forbidden"
    # lowering a hand that is not raised: ok, no change, nothing said
    host.drain("hand:queue")
    unchanged = await host.ok("hand:lower", {"room_id": room_id})
    assert members(unchanged["hands"]) == [ids["bob"], ids["carol"]]
    await host.nothing("hand:queue")
    # own hand, without member_id
    lowered = await bob.ok("hand:lower", {"room_id": room_id})
    ack_conforms(p.Event.HAND_LOWER, dict(lowered))
    assert members(lowered["hands"]) == [ids["carol"]]
    assert members((await host.next("hand:queue"))["hands"]) == [ids["carol"]]
    # the host lowers anyone's
    carol.drain("hand:queue")
    assert (await host.ok("hand:lower", other))["hands"] == []
    assert (await carol.next("hand:queue"))["hands"] == []


async def test_take_first_named_and_empty(connect: Connect):
    host, bob, carol, room_id, ids = await class_of_three(connect)
    await bob.ok("hand:raise", {"room_id": room_id})
    await carol.ok("hand:raise", {"room_id": room_id})
    assert await bob.error("hand:take", {"room_id": room_id}) == "forbidden"
    # a named member whose hand is not up
    missing = {"room_id": room_id, "member_id": ids["host"]}
    assert await host.error("hand:take", missing) == "not_found"
    # the named one, out of turn
    named = await host.ok("hand:take", {"room_id": room_id, "member_id": ids["carol"]})
    assert named["taken"]["member_id"] == ids["carol"]
    assert members(named["hands"]) == [ids["bob"]]
    taken = await carol.next("hand:taken")
    conforms(p.EVENTS[p.Event.HAND_TAKEN], taken)
    assert taken == {"room_id": room_id, "member_id": ids["carol"], "by": ids["host"]}
    # the first in the queue
    first = await host.ok("hand:take", {"room_id": room_id})
    assert first["taken"]["member_id"] == ids["bob"] and first["hands"] == []
    assert (await bob.next("hand:taken"))["member_id"] == ids["bob"]
    # hand:taken reached only the member taken
    await host.nothing("hand:taken")
    assert len(carol.received["hand:taken"]) == 1 and len(bob.received["hand:taken"]) == 1
    # an empty queue: taken is null
    host.drain("hand:queue")
    empty = await host.ok("hand:take", {"room_id": room_id})
    ack_conforms(p.Event.HAND_TAKE, dict(empty))
    assert empty == {"ok": True, "hands": [], "taken": None}
    await host.nothing("hand:queue")


async def test_late_joiner_sees_the_queue(connect: Connect):
    host, bob, carol, room_id, ids = await class_of_three(connect)
    await carol.ok("hand:raise", {"room_id": room_id})
    await bob.ok("hand:raise", {"room_id": room_id})
    late = await connect("late")
    joined = await late.join(room_id)
    ack_conforms(p.Event.ROOM_JOIN, dict(joined))
    assert members(joined["hands"]) == [ids["carol"], ids["bob"]]
    # a second socket of carol's, attached with a ticket, sees it too
    ticket = await carol.ok("room:ticket", {"room_id": room_id})
    video = await connect("carol", client_id=carol.auth["client_id"])
    attached = await video.ok("room:attach", {"ticket": ticket["ticket"]})
    assert members(attached["hands"]) == [ids["carol"], ids["bob"]]


async def test_departure_takes_the_hand_down(connect: Connect):
    host, bob, carol, room_id, ids = await class_of_three(connect)
    dave = await connect("dave")
    ids["dave"] = (await dave.join(room_id))["you"]["id"]
    for peer in (bob, carol, dave):
        await peer.ok("hand:raise", {"room_id": room_id})
    host.drain("hand:queue")
    await bob.ok("room:leave", {"room_id": room_id})  # leaves
    assert members((await host.next("hand:queue"))["hands"]) == [ids["carol"], ids["dave"]]
    await carol.disconnect()  # its last socket goes
    assert members((await host.next("hand:queue"))["hands"]) == [ids["dave"]]
    await host.ok("room:kick", {"room_id": room_id, "member_id": ids["dave"]})  # is kicked
    assert (await host.next("hand:queue"))["hands"] == []
    # and coming back does not bring the hand back
    bob_again = await bob.join(room_id)
    assert bob_again["hands"] == []


async def test_other_rooms_see_nothing_and_outsiders_are_not_members(connect: Connect):
    host, bob, carol, room_id, ids = await class_of_three(connect)
    elsewhere = await connect("elsewhere")
    other_room = (await elsewhere.create("other"))["room"]["id"]
    await bob.ok("hand:raise", {"room_id": room_id})
    await elsewhere.nothing("hand:queue")
    for event, payload in [
        ("hand:raise", {"room_id": room_id}),
        ("hand:lower", {"room_id": room_id}),
        ("hand:lower", {"room_id": room_id, "member_id": ids["bob"]}),
        ("hand:take", {"room_id": room_id}),
    ]:
        assert await elsewhere.error(event, payload) == "not_member"
    # the host of one room is no host in another
    assert await elsewhere.error("hand:take", {"room_id": room_id}) == "not_member"
    await bob.join(other_room)
    assert await bob.error("hand:take", {"room_id": other_room}) == "forbidden"
    assert (await elsewhere.ok("hand:lower", {"room_id": other_room}))["hands"] == []
    assert await host.error("hand:raise", {"room_id": "nosuchroom"}) == "not_found"


async def test_bad_input_is_refused(connect: Connect):
    host, bob, carol, room_id, ids = await class_of_three(connect)
    for event, payload in [
        ("hand:raise", {}),
        ("hand:raise", {"room_id": 5}),
        ("hand:raise", {"room_id": "bad id with spaces"}),
        ("hand:lower", {"room_id": room_id, "member_id": 7}),
        ("hand:take", {"room_id": room_id, "member_id": ""}),
        ("hand:take", ["not", "an", "object"]),
    ]:
        assert await host.error(event, payload) == "bad_request", (event, payload)
    assert (await host.ok("hand:lower", {"room_id": room_id}))["hands"] == []


async def test_hands_are_rate_limited_per_person(connect: Connect):
    host, bob, carol, room_id, ids = await class_of_three(connect)
    outcomes = [
        (await bob.call("hand:raise" if i % 2 else "hand:lower", {"room_id": room_id}))
        for i in range(30)
    ]
    refused = [ack for ack in outcomes if not ack["ok"]]
    assert refused and refused[0]["error"]["code"] == "rate_limited"
    # another socket of the same person shares the limit
    bob2 = await connect("bob", client_id=bob.auth["client_id"])
    await bob2.join(room_id)
    assert await bob2.error("hand:raise", {"room_id": room_id}) == "rate_limited"
