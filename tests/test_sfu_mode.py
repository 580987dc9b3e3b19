"""A room's video mode: what join/create/attach acks say (``video: {mode}``) and the
``rtc:mode`` a room hears when ``video_mode = "auto"`` moves it to the SFU.

No Janus is needed: the mode is the room server's decision; Janus starts only when a member
publishes (tests/test_sfu.py).
"""

from __future__ import annotations

from typing import Any

import msgspec
import pytest

from jupyter_classroom import Connection
from jupyter_classroom import protocol as p
from jupyter_classroom.protocol import Event

from .helpers import wait_for

pytestmark = pytest.mark.timeout(60)


def checked(event: str, ack: dict[str, Any]) -> dict[str, Any]:
    """The ack, after checking it against the protocol's Struct for ``event``."""
    msgspec.convert(ack, p.ACKS[event])
    return ack


async def create(conn: Connection, title: str) -> dict[str, Any]:
    return checked(Event.ROOM_CREATE, await conn.request(Event.ROOM_CREATE, {"title": title}))


async def join(conn: Connection, room_id: str) -> dict[str, Any]:
    return checked(Event.ROOM_JOIN, await conn.request(Event.ROOM_JOIN, {"room_id": room_id}))


@pytest.mark.parametrize("classroom_config", [{"video_mode": "auto", "sfu_threshold": 3}])
async def test_auto_switches_to_the_sfu_at_the_threshold(server, connection):
    alice, bob, carol, dave = [await connection(n) for n in ("alice", "bob", "carol", "dave")]
    heard: dict[str, list[dict[str, Any]]] = {"alice": [], "bob": [], "carol": [], "dave": []}
    for name, conn in (("alice", alice), ("bob", bob), ("carol", carol), ("dave", dave)):
        conn.on(Event.RTC_MODE, heard[name].append)
    # what Alice hears, in order: the switch comes before the newcomer (no mesh offer to it)
    order: list[str] = []
    alice.on(Event.RTC_MODE, lambda ev: order.append("rtc:mode"))
    alice.on(Event.ROOM_MEMBER_JOINED, lambda ev: order.append(ev["member"]["name"]))

    created = await create(alice, "growing")
    room_id = created["room"]["id"]
    assert created["video"] == {"mode": "mesh"}
    assert (await join(bob, room_id))["video"] == {"mode": "mesh"}
    # the third member reaches the threshold: its ack says sfu, the others hear rtc:mode
    assert (await join(carol, room_id))["video"] == {"mode": "sfu"}
    await wait_for(lambda: heard["alice"] and heard["bob"])
    for name in ("alice", "bob"):
        assert heard[name] == [{"room_id": room_id, "mode": "sfu"}]
        msgspec.convert(heard[name][0], p.EVENTS[Event.RTC_MODE])
    await wait_for(lambda: len(order) == 3)
    assert order == ["bob", "rtc:mode", "carol"]
    # a fourth member finds the room on the SFU; nobody hears a second switch
    assert (await join(dave, room_id))["video"] == {"mode": "sfu"}
    # a socket attached with a ticket (a page's video view) reads the mode in its ack
    ticket = (await bob.request(Event.ROOM_TICKET, {"room_id": room_id}))["ticket"]
    page = await connection("bob's page")
    attached = await page.request(Event.ROOM_ATTACH, {"ticket": ticket})
    assert checked(Event.ROOM_ATTACH, attached)["video"] == {"mode": "sfu"}
    # the room stays on the SFU when members leave (no switching back under a lecture)
    await carol.request(Event.ROOM_LEAVE, {"room_id": room_id})
    await dave.request(Event.ROOM_LEAVE, {"room_id": room_id})
    assert (await join(dave, room_id))["video"] == {"mode": "sfu"}
    assert heard["alice"] == heard["bob"] == [{"room_id": room_id, "mode": "sfu"}]
    assert heard["carol"] == [] and heard["dave"] == []
    # another room starts small again
    assert (await create(carol, "small"))["video"] == {"mode": "mesh"}


@pytest.mark.parametrize("classroom_config", [{"video_mode": "sfu"}])
async def test_sfu_mode_is_said_from_the_first_member(server, connection):
    alice = await connection("alice")
    created = await create(alice, "lecture")
    assert created["video"] == {"mode": "sfu"}


@pytest.mark.parametrize("classroom_config", [{}])
async def test_a_mesh_server_says_nothing_of_the_mode(server, connection):
    alice = await connection("alice")
    created = await create(alice, "mesh")
    assert "video" not in created
    assert server.app.sfu is None
