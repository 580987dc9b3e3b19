"""Password guessing (issue 16, item 3): parallel guesses cannot outrun the lockout, the
lockout also holds per peer address (the real one), and guessing does not stall others."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from .figures import record
from .multiuser import as_user, jp_server_config, redis_url, store_kind

__all__ = ["as_user", "jp_server_config", "redis_url", "store_kind"]

SECRET = "the right one"
GUESSERS = 30


@pytest.fixture
def classroom_config() -> dict[str, Any]:
    # many sockets of one user at once: above the per-user socket cap of item 9
    return {"join_failures": 5, "join_failures_per_address": 8, "max_sockets_per_user": 100}


async def test_parallel_guesses_get_no_more_than_the_allowance(as_user):
    host = await as_user("host")
    room_id = (await host.create("Guarded", password=SECRET))["room"]["id"]
    guessers = [await as_user("outsider", address=f"127.1.0.{n + 1}") for n in range(GUESSERS)]
    started = time.monotonic()
    acks = await asyncio.gather(
        *(
            g.call("room:join", {"room_id": room_id, "password": f"guess {n}"})
            for n, g in enumerate(guessers)
        )
    )
    elapsed = time.monotonic() - started
    codes = [ack["error"]["code"] for ack in acks]
    assert codes.count("bad_password") == 5  # the allowance, however many were sent at once
    assert codes.count("rate_limited") == GUESSERS - 5
    # the right password no longer helps the guesser until the lockout ends...
    assert await guessers[0].error("room:join", {"room_id": room_id, "password": SECRET}) == (
        "rate_limited"
    )
    # ...while another user gets in at once
    honest = await as_user("member", address="127.2.0.1")
    started_honest = time.monotonic()
    await honest.join(room_id, password=SECRET)
    record(
        "parallel_guesses",
        sent_at_once=GUESSERS,
        hashed=codes.count("bad_password"),
        refused=codes.count("rate_limited"),
        seconds=round(elapsed, 2),
        honest_join_after_ms=round(1000 * (time.monotonic() - started_honest), 1),
    )


async def test_guesses_are_throttled_per_peer_address(as_user):
    host = await as_user("host")
    room_id = (await host.create("Guarded", password=SECRET))["room"]["id"]
    attacker = "127.66.0.1"
    # many users behind one address: each below its own allowance, the address past its own
    codes = []
    for n in range(4):
        guesser = await as_user(f"student{n}", address=attacker)
        for _ in range(3):
            ack = await guesser.call("room:join", {"room_id": room_id, "password": "guess"})
            codes.append(ack["error"]["code"])
    assert codes == ["bad_password"] * 8 + ["rate_limited"] * 4
    # the address is the socket's own, not engine.io's 127.0.0.1 for every socket
    late = await as_user("student9", address=attacker)
    assert await late.error("room:join", {"room_id": room_id, "password": SECRET}) == (
        "rate_limited"
    )
    elsewhere = await as_user("student10", address="127.7.0.1")
    await elsewhere.join(room_id, password=SECRET)


async def test_a_right_password_is_not_counted(as_user):
    host = await as_user("host")
    room_id = (await host.create("Guarded", password=SECRET))["room"]["id"]
    classroom = "127.3.0.1"  # a whole class behind one NAT address
    for n in range(12):  # more right passwords than the address allowance of wrong ones
        student = await as_user(f"student{n}", address=classroom)
        await student.join(room_id, password=SECRET)
    # a student who typed it wrong four times still gets in with the right one
    typo = await as_user("student20", address=classroom)
    for _ in range(4):
        assert await typo.error("room:join", {"room_id": room_id, "password": "oops"}) == (
            "bad_password"
        )
    await typo.join(room_id, password=SECRET)
