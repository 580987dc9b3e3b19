"""Malformed payloads and unknown events: a clear error, no state change, nobody dropped."""

from __future__ import annotations

import math

import pytest

GOOD_STROKE = {"type": "stroke", "id": "s1", "points": [[1, 1]], "color": "#000000", "width": 2}

BAD = [
    ("room:create", {}),
    ("room:create", {"title": 42}),
    ("room:create", {"title": ""}),
    ("room:create", "not an object"),
    ("room:create", [1, 2]),
    ("room:create", {"title": "ok", "max_members": "many"}),
    ("room:join", {"room_id": None}),
    ("room:join", {"room_id": "../../etc"}),
    ("room:join", {"room_id": "ROOM", "since": -1}),
    ("chat:send", {"room_id": "ROOM"}),
    ("chat:send", {"room_id": "ROOM", "text": ["list"]}),
    ("board:op", {"room_id": "ROOM", "op": {"type": "laser", "id": "x"}}),
    ("board:op", {"room_id": "ROOM", "op": {**GOOD_STROKE, "points": [[math.nan, 1]]}}),
    ("board:op", {"room_id": "ROOM", "op": {**GOOD_STROKE, "points": [[math.inf, 1]]}}),
    ("board:op", {"room_id": "ROOM", "op": {**GOOD_STROKE, "points": [[1]]}}),
    ("board:op", {"room_id": "ROOM", "op": {**GOOD_STROKE, "color": "red"}}),
    ("board:op", {"room_id": "ROOM", "op": {**GOOD_STROKE, "width": -1}}),
    (
        "board:op",
        {
            "room_id": "ROOM",
            "op": {
                "type": "image",
                "id": "i",
                "x": 0,
                "y": 0,
                "w": 1,
                "h": 1,
                "src": "javascript:alert(1)",
            },
        },
    ),
    ("board:op", {"room_id": "ROOM"}),
    ("rtc:signal", {"room_id": "ROOM", "to": "m1", "data": "offer"}),
    ("room:update", {"room_id": "ROOM", "board_locked": "yes"}),
    ("room:kick", {"room_id": "ROOM"}),
    ("room:attach", {}),
    ("server:announce", {"text": 7}),
]

TOO_LARGE = [
    ("room:create", {"title": "t" * 101}),
    ("room:create", {"title": "t", "password": "p" * 129}),
    ("chat:send", {"room_id": "ROOM", "text": "x" * 4001}),
    ("board:op", {"room_id": "ROOM", "op": {**GOOD_STROKE, "points": [[1, 1]] * 5001}}),
]


@pytest.fixture
async def room(connect):
    alice, bob = await connect("alice"), await connect("bob")
    ack = await alice.create("target")
    await bob.join(ack["room"]["id"])
    await alice.ok("board:op", {"room_id": ack["room"]["id"], "op": GOOD_STROKE})
    return alice, bob, ack["room"]["id"]


async def state(peer, room_id):
    ack = await peer.ok("room:join", {"room_id": room_id, "since": 0})
    return (await peer.ok("room:list"))["rooms"], ack["board"]["seq"], ack["chat"], ack["members"]


@pytest.mark.parametrize("event, payload", BAD, ids=[f"{e}-{i}" for i, (e, _) in enumerate(BAD)])
async def test_bad_request(room, event, payload):
    alice, bob, room_id = room
    before = await state(alice, room_id)
    payload = (
        {k: (room_id if v == "ROOM" else v) for k, v in payload.items()}
        if isinstance(payload, dict)
        else payload
    )
    assert await bob.error(event, payload) == "bad_request"
    assert await state(alice, room_id) == before
    assert bob.sio.connected and alice.sio.connected
    await bob.ok("room:list")


@pytest.mark.parametrize("event, payload", TOO_LARGE, ids=[e for e, _ in TOO_LARGE])
async def test_too_large(room, event, payload):
    alice, bob, room_id = room
    before = await state(alice, room_id)
    payload = {k: (room_id if v == "ROOM" else v) for k, v in payload.items()}
    assert await bob.error(event, payload) in ("too_large", "bad_request")
    assert await state(alice, room_id) == before
    await bob.ok("room:list")


async def test_unknown_event(room):
    alice, bob, room_id = room
    assert await bob.error("room:destroy_everything", {"room_id": room_id}) == "bad_request"
    assert await bob.error("", {}) == "bad_request"
    await bob.ok("room:list")


async def test_several_arguments(room):
    alice, bob, room_id = room
    ack = await bob.sio.call("chat:send", ({"room_id": room_id, "text": "a"}, "extra"), timeout=5)
    assert ack["ok"] is False and ack["error"]["code"] == "bad_request"


async def test_oversized_frame_drops_only_that_socket(room, connect):
    alice, bob, room_id = room
    mallory = await connect("mallory")
    await mallory.sio.emit("chat:send", {"room_id": room_id, "text": "x" * 300_000})
    await mallory.nothing("x", wait=0.5)
    assert not mallory.sio.connected
    assert (await alice.ok("chat:send", {"room_id": room_id, "text": "still here"}))["message"]
    assert (await bob.next("chat:message"))["text"] == "still here"
