"""Limits and throttles: a flooding client is held back while the others go on."""

from __future__ import annotations

import asyncio
import time

import pytest

from .figures import record


def text_op(op_id: str) -> dict:
    return {
        "type": "text",
        "id": op_id,
        "x": 10,
        "y": 10,
        "text": "x",
        "color": "#000000",
        "size": 12,
    }


async def test_flooding_client_is_throttled_while_others_are_served(connect):
    flooder, host, guest = await connect("flooder"), await connect("host"), await connect("guest")
    room_id = (await host.create("busy"))["room"]["id"]
    await guest.join(room_id)
    await flooder.join(room_id)

    async def flood() -> tuple[int, int]:
        sent = limited = 0
        started = time.monotonic()
        calls = []
        while time.monotonic() - started < 2.0:  # about 1000 events a second, for 2 s
            calls.append(
                asyncio.ensure_future(
                    flooder.call("board:op", {"room_id": room_id, "op": text_op(f"f{sent}")})
                )
            )
            sent += 1
            await asyncio.sleep(0.001)
        for ack in await asyncio.gather(*calls):
            limited += not ack["ok"] and ack["error"]["code"] == "rate_limited"
        return sent, limited

    async def others() -> list[float]:
        delays = []
        for i in range(10):
            started = time.monotonic()
            await host.ok("chat:send", {"room_id": room_id, "text": f"m{i}"})
            delays.append(time.monotonic() - started)
            await asyncio.sleep(0.15)
        return delays

    (sent, limited), delays = await asyncio.gather(flood(), others())
    received = [m["text"] for m in guest.drain("chat:message")]
    while len(received) < 10:
        received.append((await guest.next("chat:message"))["text"])
    assert received == [f"m{i}" for i in range(10)]  # nothing of the others' lost
    assert limited > 0 and sent - limited <= 200 * 2 + 400  # rate (200/s) x 2 s + burst
    record(
        "flood",
        events_sent=sent,
        seconds=2.0,
        rate_limited=limited,
        accepted=sent - limited,
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
