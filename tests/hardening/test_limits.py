"""Limits and throttles: a flooding client is held back while the others go on."""

from __future__ import annotations

import asyncio
import time

import pytest

from ..helpers import text_op
from .figures import record

RATE = 50  # ops/s for this test (bursts of 100): low, so the outcome does not hang on load


@pytest.mark.parametrize("classroom_config", [{"ops_per_second": RATE}])
async def test_flooding_client_is_throttled_while_others_are_served(connect, classroom_config):
    flooder, host, guest = await connect("flooder"), await connect("host"), await connect("guest")
    room_id = (await host.create("busy"))["room"]["id"]
    await guest.join(room_id)
    await flooder.join(room_id)
    started = time.monotonic()

    async def flood() -> list[dict]:
        # 1,000 events as fast as the socket takes them (well over 1,000 a second)
        calls = [
            flooder.call("board:op", {"room_id": room_id, "op": text_op(f"f{i}")})
            for i in range(1000)
        ]
        return list(await asyncio.gather(*calls))

    async def others() -> list[float]:
        delays = []
        for i in range(10):
            sent_at = time.monotonic()
            await host.ok("chat:send", {"room_id": room_id, "text": f"m{i}"})
            delays.append(time.monotonic() - sent_at)
            await asyncio.sleep(0.05)
        return delays

    acks, delays = await asyncio.gather(flood(), others())
    elapsed = time.monotonic() - started
    received = [m["text"] for m in guest.drain("chat:message")]
    while len(received) < 10:
        received.append((await guest.next("chat:message"))["text"])
    assert received == [f"m{i}" for i in range(10)]  # nothing of the others' lost
    limited = sum(1 for ack in acks if not ack["ok"] and ack["error"]["code"] == "rate_limited")
    accepted = sum(1 for ack in acks if ack["ok"])
    assert accepted + limited == 1000
    assert limited > 0 and accepted <= RATE * elapsed + 2 * RATE  # rate x time + burst
    record(
        "flood",
        events_sent=1000,
        seconds=round(elapsed, 2),
        events_per_second=round(1000 / elapsed),
        configured_rate=RATE,
        rate_limited=limited,
        accepted=accepted,
        others_chat_ack_max_ms=round(1000 * max(delays), 1),
    )


@pytest.mark.parametrize("classroom_config", [{"max_message_size": 64 * 1024}])
async def test_configured_frame_limit(connect, classroom_config):
    alice, bob = await connect("alice"), await connect("bob")
    room_id = (await alice.create("frames"))["room"]["id"]
    await bob.join(room_id)
    await alice.sio.emit("chat:send", {"room_id": room_id, "text": "x" * 70_000})
    await alice.nothing("x", wait=0.5)
    assert not alice.sio.connected
    await bob.ok("chat:send", {"room_id": room_id, "text": "fine"})


@pytest.mark.parametrize("classroom_config", [{"max_members": 3}])
async def test_members_per_room_cap(connect, classroom_config):
    peers = [await connect(f"p{i}") for i in range(4)]
    room_id = (await peers[0].create("small", max_members=50))["room"]["id"]
    assert (await peers[0].ok("room:list"))["rooms"][0]["max_members"] == 3
    await peers[1].join(room_id)
    await peers[2].join(room_id)
    assert await peers[3].error("room:join", {"room_id": room_id}) == "room_full"


@pytest.mark.parametrize("classroom_config", [{"max_points": 100}])
async def test_configured_points_limit(connect, classroom_config):
    alice = await connect("alice")
    room_id = (await alice.create("points"))["room"]["id"]
    op = {"type": "stroke", "id": "s", "points": [[1, 1]] * 101, "color": "#000000", "width": 2}
    assert await alice.error("board:op", {"room_id": room_id, "op": op}) == "too_large"
