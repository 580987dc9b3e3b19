"""Hypothesis-generated payloads for every client event: each gets a protocol error code (or
a normal answer when it happens to be valid), the connection and the server survive, and a
room the fuzzer is not in does not change."""

from __future__ import annotations

import math
import os

import psutil
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jupyter_classroom.protocol import REQUESTS, ErrorCode

from .figures import record

CODES = {v for k, v in vars(ErrorCode).items() if not k.startswith("_")}
EVENTS = [*REQUESTS, "room:explode", "", "x" * 200]

json_leaf = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=50),
    st.sampled_from(["", "room", "#ff0000", "stroke", "extend", "offer", "x" * 5000]),
)
json_value = st.recursive(
    json_leaf,
    lambda inner: st.one_of(
        st.lists(inner, max_size=6),
        st.dictionaries(
            st.sampled_from(
                [
                    "room_id",
                    "title",
                    "op",
                    "type",
                    "id",
                    "points",
                    "text",
                    "to",
                    "data",
                    "password",
                    "since",
                    "x",
                    "y",
                    "ticket",
                    "target",
                    "member_id",
                    "color",
                    "width",
                ]
            )
            | st.text(max_size=10),
            inner,
            max_size=6,
        ),
    ),
    max_leaves=30,
)


def near_valid(room_id: str):
    """Payloads close to valid ones: right keys, wrong or extreme values."""
    op = st.fixed_dictionaries(
        {
            "type": st.sampled_from(
                ["stroke", "extend", "shape", "text", "image", "erase", "clear", "undo", "laser"]
            ),
            "id": st.text(max_size=70),
            "points": st.lists(
                st.lists(st.floats(allow_nan=True, allow_infinity=True), max_size=3), max_size=20
            ),
            "color": st.text(max_size=9),
            "width": json_leaf,
        }
    )
    return st.fixed_dictionaries(
        {
            "room_id": st.sampled_from([room_id, "", "nosuch", "../x"]),
            "op": op,
            "text": json_leaf,
            "to": json_leaf,
            "data": json_value,
        }
    )


def collect(strategy, count: int) -> list:
    """Draw ``count`` examples with Hypothesis (the tests themselves are async)."""
    examples: list = []

    @settings(
        max_examples=count, database=None, deadline=None, suppress_health_check=list(HealthCheck)
    )
    @given(strategy)
    def draw(example):
        examples.append(example)

    draw()
    return examples


async def board_state(peer, room_id):
    ack = await peer.ok("room:join", {"room_id": room_id, "since": 0})
    return (
        ack["board"]["seq"],
        len(ack["chat"]),
        sorted(m["id"] for m in ack["members"]),
        ack["room"],
    )


@pytest.mark.parametrize(
    "classroom_config", [{"ops_per_second": 100000, "chats_per_second": 100000}]
)
async def test_fuzz_every_event(connect, classroom_config):
    victim_host, victim_member = await connect("victim-host"), await connect("victim-member")
    victim_room = (await victim_host.create("Untouched", password="pw"))["room"]["id"]
    await victim_member.join(victim_room, password="pw")
    await victim_host.ok(
        "board:op",
        {
            "room_id": victim_room,
            "op": {"type": "stroke", "id": "s", "points": [[1, 1]], "color": "#000000", "width": 2},
        },
    )
    before = await board_state(victim_host, victim_room)

    fuzzer = await connect("fuzzer")
    own_room = (await fuzzer.create("Fuzzer's room"))["room"]["id"]
    process = psutil.Process(os.getpid())
    rss_before = process.memory_info().rss
    payloads = (
        collect(json_value, 150)
        + collect(near_valid(own_room), 150)
        + collect(near_valid(victim_room), 100)
    )
    sent = outcomes = 0
    codes: dict[str, int] = {}
    for index, data in enumerate(payloads):
        event = EVENTS[index % len(EVENTS)]
        if event == "board:cursor":
            await fuzzer.sio.emit(event, data)
            continue
        ack = await fuzzer.call(event, data)
        sent += 1
        assert isinstance(ack, dict) and isinstance(ack.get("ok"), bool), ack
        if not ack["ok"]:
            assert ack["error"]["code"] in CODES and ack["error"]["message"], ack
            codes[ack["error"]["code"]] = codes.get(ack["error"]["code"], 0) + 1
        outcomes += 1
        assert fuzzer.sio.connected
    # binary attachments and deep nesting
    deep: list = []
    for _ in range(400):
        deep = [deep]
    for data in (b"\x00\xff" * 100, {"blob": b"\x01" * 1000}, {"room_id": own_room, "op": deep}):
        ack = await fuzzer.call("board:op", data)
        assert ack["ok"] is False and ack["error"]["code"] == "bad_request"
    assert await board_state(victim_host, victim_room) == before
    assert (await fuzzer.ok("room:list"))["rooms"]
    rss_after = process.memory_info().rss
    record(
        "fuzz",
        payloads=sent + 3,
        error_codes=codes,
        rss_growth_mb=round((rss_after - rss_before) / 2**20, 1),
    )
    assert rss_after - rss_before < 200 * 2**20


async def test_floats_that_json_cannot_carry_are_refused(connect):
    alice = await connect("alice")
    room_id = (await alice.create("nan"))["room"]["id"]
    for bad in (math.nan, math.inf, -math.inf, 1e308):
        op = {
            "type": "text",
            "id": "t",
            "x": bad,
            "y": 1,
            "text": "x",
            "color": "#000000",
            "size": 10,
        }
        assert await alice.error("board:op", {"room_id": room_id, "op": op}) == "bad_request"


async def test_nesting_too_deep_to_decode(connect):
    """A frame nested deeper than any JSON decoder recurses: it is refused, the rest goes on."""
    alice, bob = await connect("alice"), await connect("bob")
    room_id = (await alice.create("deep"))["room"]["id"]
    await bob.join(room_id)
    depth = 100_000
    # a raw Socket.IO EVENT packet with ack id 7, built by hand: no client library encodes this
    await alice.sio.eio.send('427["board:op",' + "[" * depth + "]" * depth + "]")
    await alice.nothing("x", wait=0.5)
    await bob.ok("chat:send", {"room_id": room_id, "text": "still here"})
    assert (await bob.next("chat:message"))["text"] == "still here"
    if alice.sio.connected:  # the server may drop the one socket that sent it, nothing else
        await alice.ok("room:list")
