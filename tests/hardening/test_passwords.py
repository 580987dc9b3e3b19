"""Room passwords: hashed, never sent, never logged, throttled; hashing stalls no one."""

from __future__ import annotations

import asyncio
import logging
import time

from .figures import record

SECRET = "correct horse battery staple"


async def test_password_never_leaves_the_server(connect, server, caplog):
    caplog.set_level(logging.DEBUG)
    alice, bob = await connect("alice"), await connect("bob")
    created = await alice.create("Secret", password=SECRET)
    room_id = created["room"]["id"]
    joined = await bob.join(room_id, password=SECRET)
    updated = await alice.ok("room:update", {"room_id": room_id, "password": SECRET + "!"})
    seen = [
        created,
        joined,
        updated,
        await bob.ok("room:list"),
        *bob.received["room:updated"],
        *bob.received["room:list_changed"],
    ]
    assert all(SECRET not in str(item) and "argon2" not in str(item) for item in seen)
    assert SECRET not in caplog.text
    record_ = await server.app.store.get_room(room_id)
    assert record_.password_hash.startswith("$argon2id$") and SECRET not in record_.password_hash


async def test_hashing_does_not_stall_other_rooms(connect):
    host = await connect("host")
    room_id = (await host.create("Locked", password=SECRET))["room"]["id"]
    lively_host, lively_guest = await connect("lively-host"), await connect("lively-guest")
    lively = (await lively_host.create("Lively"))["room"]["id"]
    await lively_guest.join(lively)
    joiners = [await connect(f"j{i}") for i in range(20)]
    lags: list[float] = []
    stop = asyncio.Event()

    async def measure_lag() -> None:  # how late the server's loop wakes a 10 ms timer
        while not stop.is_set():
            started = time.monotonic()
            await asyncio.sleep(0.01)
            lags.append(time.monotonic() - started - 0.01)

    lag_task = asyncio.ensure_future(measure_lag())
    started = time.monotonic()
    joins = asyncio.gather(
        *(j.ok("room:join", {"room_id": room_id, "password": SECRET}) for j in joiners)
    )
    chats = []
    for i in range(5):  # the other room's chat keeps flowing while 20 hashes run
        await lively_host.ok("chat:send", {"room_id": lively, "text": f"c{i}"})
        chats.append((await lively_guest.next("chat:message"))["text"])
    await joins
    joins_seconds = time.monotonic() - started
    stop.set()
    await lag_task
    assert chats == [f"c{i}" for i in range(5)]
    lags.sort()
    record(
        "hashing_lag",
        joins=20,
        joins_seconds=round(joins_seconds, 2),
        loop_lag_p50_ms=round(1000 * lags[len(lags) // 2], 1),
        loop_lag_max_ms=round(1000 * lags[-1], 1),
    )
