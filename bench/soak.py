"""A bounded soak of the room server (not run by CI): 100 clients in 5 rooms, chat and strokes.

    python bench/soak.py --minutes 5

Starts a real Jupyter server with the classroom on a free loopback port, connects 100 Python
``Connection`` clients (20 per room), lets them draw strokes and chat for the given time,
then checks every client's replica: board ``seq`` 1..N with no gap and no repeat, and the
same ops as the server. It reports the server's RSS before the clients came, at each lesson's peak
and after everyone left; a second lesson on the same server shows whether memory comes back
for reuse (CPython keeps freed memory in its arenas rather than returning it to the system).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import secrets
import socket
import subprocess
import sys
import time
import urllib.request

import psutil

from jupyter_classroom import Connection
from jupyter_classroom.board import visible_objects


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(port: int, token: str, extra: list[str]) -> subprocess.Popen[bytes]:
    command = [
        sys.executable, "-m", "jupyter_server", "--allow-root", "--no-browser",
        "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}", f"--ServerApp.token={token}",
        "--ClassroomApp.ops_per_second=1000", "--ClassroomApp.chats_per_second=50",
        "--ClassroomApp.max_rooms_per_user=100", *extra,
    ]  # fmt: skip
    server = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/api/status?token={token}", timeout=1)
            return server
        except OSError:
            time.sleep(0.2)
    server.kill()
    raise RuntimeError("the server did not start")


async def member(client: Connection, room_id: str, until: float, index: int) -> int:
    """Draw a stroke now and then and say something now and then; returns ops sent."""
    await client.join(room_id)
    sent = 0
    rng = random.Random(index)
    while time.monotonic() < until:
        stroke = f"s{index}-{sent}"
        await client.op(
            room_id,
            {
                "type": "stroke",
                "id": stroke,
                "points": [[rng.uniform(0, 1600), rng.uniform(0, 900)]],
                "color": "#336699",
                "width": 3,
            },
        )
        for _ in range(5):
            await client.op(
                room_id,
                {
                    "type": "extend",
                    "id": f"{stroke}-{_}",
                    "target": stroke,
                    "points": [[rng.uniform(0, 1600), rng.uniform(0, 900)]],
                },
            )
            await asyncio.sleep(1 / 30)
        sent += 6
        if rng.random() < 0.2:
            await client.say(room_id, f"message {sent} from {index}")
        await asyncio.sleep(rng.uniform(0.5, 2.0))
    return sent


async def soak(minutes: float, rounds: int, extra: list[str]) -> dict[str, object]:
    """Run ``rounds`` lessons of ``minutes / rounds`` each on one server."""
    port, token = free_port(), secrets.token_hex(16)
    server = start_server(port, token, extra)
    process = psutil.Process(server.pid)
    url = f"http://127.0.0.1:{port}/"
    try:
        rss_base = process.memory_info().rss
        results = [await lesson(url, token, minutes / rounds, process, r) for r in range(rounds)]
        return {
            "minutes": minutes,
            "rss_base_mb": round(rss_base / 2**20, 1),
            "rounds": results,
            "problems": [p for r in results for p in r["problems"]],  # type: ignore[attr-defined]
        }
    finally:
        server.terminate()
        server.wait(timeout=10)


async def lesson(
    url: str, token: str, minutes: float, process: psutil.Process, number: int
) -> dict[str, object]:
    """100 clients in 5 rooms for ``minutes``; then everyone leaves and the rooms close."""
    headers = {"Authorization": f"token {token}"}
    hosts = [Connection(url, headers=headers, name=f"host{r}") for r in range(5)]
    await asyncio.gather(*(h.connect() for h in hosts))
    rooms = [(await h.create_room(f"Soak {number}.{r}")).id for r, h in enumerate(hosts)]
    clients = [Connection(url, headers=headers, name=f"c{i}") for i in range(95)]
    await asyncio.gather(*(c.connect() for c in clients))
    until = time.monotonic() + 60 * minutes
    everyone = hosts + clients
    sent = await asyncio.gather(
        *(member(c, rooms[i % 5], until, i) for i, c in enumerate(everyone))
    )
    await asyncio.sleep(3)  # let the last broadcasts land
    rss_peak = process.memory_info().rss
    problems = []
    resynced = 0
    for r, room_id in enumerate(rooms):
        # The server folds old `extend`s into their strokes, so a fresh join (and a replica
        # that had to resync) holds fewer ops than were sent: compare what the boards show.
        reference = await hosts[r].request("room:join", {"room_id": room_id, "since": 0})
        shown = visible_objects(reference["board"]["ops"])
        for index, client in enumerate(everyone):
            if index % 5 != r:
                continue
            room = client.rooms[room_id]
            seqs = [o["seq"] for o in room.ops]
            if seqs != sorted(set(seqs)) or room.ahead or room.seq != reference["board"]["seq"]:
                problems.append(f"client {index}: repeated, missing or unapplied seq")
            if seqs != list(range(1, len(seqs) + 1)):
                resynced += 1  # took a folded whole board after a gap: allowed
            if visible_objects(room.ops) != shown:
                problems.append(f"client {index}: its board differs from the server's")
    for client in clients:
        for room_id in list(client.rooms):
            await client.leave(room_id)
        await client.close()
    for host, room_id in zip(hosts, rooms, strict=True):  # the lessons end: rooms close
        await host.request("room:close", {"room_id": room_id})
        await host.close()
    await asyncio.sleep(5)
    rss_after = process.memory_info().rss
    return {
        "clients": len(everyone),
        "rooms": len(rooms),
        "ops_sent": sum(sent),
        "replicas_resynced_to_a_folded_board": resynced,
        "problems": problems,
        "rss_peak_mb": round(rss_peak / 2**20, 1),
        "rss_after_leave_mb": round(rss_after / 2**20, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=5.0)
    parser.add_argument("--rounds", type=int, default=2, help="lessons one after another")
    parser.add_argument(
        "--server-arg", action="append", default=[], help="extra argument for the server"
    )
    args = parser.parse_args()
    result = asyncio.run(soak(args.minutes, args.rounds, args.server_arg))
    print(json.dumps(result, indent=1))
    sys.exit(1 if result["problems"] else 0)


if __name__ == "__main__":
    os.environ.pop("JUPYTER_CLASSROOM_URL", None)
    main()
