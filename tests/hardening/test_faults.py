"""Faults: a client dropped mid-stroke, a reconnect storm, a consumer that reads nothing."""

from __future__ import annotations

import asyncio
import os
import time

import aiohttp
import psutil
import pytest

from jupyter_classroom import Connection

from ..helpers import wait_for
from .figures import record


async def test_client_dropped_mid_stroke(connect, server):
    drawer, watcher = await connect("drawer"), await connect("watcher")
    room_id = (await drawer.create("mid-stroke"))["room"]["id"]
    await watcher.join(room_id)
    await drawer.ok(
        "board:op",
        {
            "room_id": room_id,
            "op": {"type": "stroke", "id": "s", "points": [[0, 0]], "color": "#000000", "width": 3},
        },
    )
    await drawer.ok(
        "board:op",
        {
            "room_id": room_id,
            "op": {"type": "extend", "id": "e1", "target": "s", "points": [[5, 5]]},
        },
    )
    (sid,) = [
        s
        for s, session in server.app.room_server.sessions.items()
        if session.identity.name == "drawer"
    ]
    server.app.room_server.sio.get_environ(sid)["tornado.handler"].close()  # the network drops
    left = await watcher.next("room:member_left")
    assert left["reason"] == "disconnected"
    # the half-drawn stroke stays, whole, for everyone; the room goes on
    board = (await watcher.ok("room:join", {"room_id": room_id, "since": 0}))["board"]
    assert [o["op"]["id"] for o in board["ops"]] == ["s", "e1"]
    await watcher.ok(
        "board:op",
        {
            "room_id": room_id,
            "op": {"type": "stroke", "id": "w", "points": [[1, 1]], "color": "#000000", "width": 3},
        },
    )


@pytest.mark.timeout(240)
@pytest.mark.parametrize("classroom_config", [{"max_members": 300}])
async def test_reconnect_storm_of_200_clients(server, connect, classroom_config):
    host, other_host = await connect("host"), await connect("other host")
    room_id = (await host.create("storm"))["room"]["id"]
    overflow = (await other_host.create("second room"))["room"]["id"]
    clients = [Connection(server.url, server.kernel_token, name=f"c{i}") for i in range(200)]
    rooms = [room_id if i < 150 else overflow for i in range(200)]
    started = time.monotonic()
    await asyncio.gather(*(c.connect() for c in clients))
    await asyncio.gather(*(c.join(r) for c, r in zip(clients, rooms, strict=True)))
    connect_seconds = time.monotonic() - started
    # every socket drops at once (a proxy restart); all reconnect and rejoin by themselves
    rejoined: set[int] = set()
    for i, client in enumerate(clients):
        client.on("resync", lambda _, i=i: rejoined.add(i))
    sessions = list(server.app.room_server.sessions.items())
    for sid, session in sessions:
        if session.identity.name.startswith("c"):
            server.app.room_server.sio.get_environ(sid)["tornado.handler"].close()
    started = time.monotonic()
    await host.ok(
        "board:op",
        {
            "room_id": room_id,
            "op": {
                "type": "text",
                "id": "during",
                "x": 1,
                "y": 1,
                "text": "t",
                "color": "#000000",
                "size": 9,
            },
        },
    )
    await wait_for(
        lambda: (
            len(rejoined) == len(clients)
            and all(
                c.connected and c.rooms.get(r) and c.rooms[r].seq >= (1 if r == room_id else 0)
                for c, r in zip(clients, rooms, strict=True)
            )
        ),
        timeout=120,
        interval=0.1,
        message="the storm did not settle",
    )
    storm_seconds = time.monotonic() - started
    listed = {r["id"]: r["members"] for r in (await host.ok("room:list"))["rooms"]}
    assert listed[room_id] == 151 and listed[overflow] == 51
    assert all(
        [o["op"]["id"] for o in c.rooms[room_id].ops] == ["during"]
        for c, r in zip(clients, rooms, strict=True)
        if r == room_id
    )
    record(
        "reconnect_storm",
        clients=200,
        connect_and_join_s=round(connect_seconds, 2),
        resettle_s=round(storm_seconds, 2),
    )
    await asyncio.gather(*(c.close() for c in clients))


@pytest.mark.timeout(120)
@pytest.mark.parametrize(
    "classroom_config",
    [
        {
            "max_send_buffer": 1024 * 1024,
            "slow_grace": 0.5,
            # the host must outpace the slow reader however long the drop takes on a busy
            # machine: no rate or byte limit of the sender's may stop it first
            "ops_per_second": 100000,
            "bytes_per_second": 1e9,
            "bytes_burst": 1e9,
            "max_board_bytes": 64 * 1024 * 1024,
        }
    ],
)
async def test_slow_consumer_does_not_grow_memory(server, connect, classroom_config):
    host = await connect("host")
    room_id = (await host.create("firehose"))["room"]["id"]
    # a raw websocket client that completes the Socket.IO handshake, joins, then reads nothing
    url = f"ws://127.0.0.1:{server.origin.rsplit(':', 1)[1]}{server.socket_path}/?EIO=4&transport=websocket"
    session = aiohttp.ClientSession()
    ws = await session.ws_connect(
        url, headers={"Authorization": f"token {server.jupyter_token}"}, max_msg_size=0
    )
    await ws.receive()  # engine.io open
    await ws.send_str("40")  # socket.io connect
    await ws.receive()
    await ws.send_str(f'421["room:join",{{"room_id":"{room_id}"}}]')
    while "ok" not in (await ws.receive()).data:
        pass
    process = psutil.Process(os.getpid())
    rss_before = process.memory_info().rss
    big = {"type": "text", "x": 1, "y": 1, "text": "y" * 1900, "color": "#000000", "size": 9}
    sent = 0
    members: list = [None, None]
    while len(members) > 1 and sent < 12000:  # broadcasts the slow consumer never reads
        for _ in range(400):
            await host.ok("board:op", {"room_id": room_id, "op": {**big, "id": f"b{sent}"}})
            sent += 1
        members = (await host.ok("room:join", {"room_id": room_id, "since": sent}))["members"]
    growth = process.memory_info().rss - rss_before
    record(
        "slow_consumer",
        broadcast_mb=round(sent * 2000 / 2**20, 1),
        rss_growth_mb=round(growth / 2**20, 1),
        dropped=len(members) == 1,
    )
    assert len(members) == 1  # the slow reader was disconnected
    # a late joiner still receives the whole 8 MB board in its join ack
    late = Connection(server.url, server.kernel_token, name="late")
    await late.connect()
    assert len((await late.join(room_id)).ops) == sent
    await late.close()
    await ws.close()
    await session.close()
