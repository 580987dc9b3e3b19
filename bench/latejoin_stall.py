"""How long a late join of a large board holds up everyone else (issue 16, item 1).

Starts our server (as ``bench.run`` does), fills one room's board with ``--images`` images of
``--image-kb`` KB each, then lets ``--joiners`` sockets join it at once while a probe socket in
another room asks ``room:list`` back to back. Prints the probe's round trips during the joins
(the loop's stall) and the joins' own times. Not part of CI; numbers for docs/reliability.md.

    python -m bench.latejoin_stall --images 100 [--ours-path DIR] [--server-arg ...]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
from typing import Any

import socketio

from .run import Server, start_server

SOCKET_PATH = "classroom/socket.io"


async def connect(server: Server, name: str) -> socketio.AsyncClient:
    client = socketio.AsyncClient(
        reconnection=False, handle_sigint=False, websocket_extra_options={"max_msg_size": 0}
    )
    await client.connect(
        server.url.rstrip("/"),
        socketio_path="/" + SOCKET_PATH,
        transports=["websocket"],
        auth={"name": name, "client_id": name},
        headers=server.headers,
        wait_timeout=10,
    )
    return client


async def call(client: socketio.AsyncClient, event: str, payload: dict[str, Any]) -> Any:
    ack = await client.call(event, payload, timeout=120)
    if not ack.get("ok"):
        raise RuntimeError(f"{event}: {ack}")
    return ack


async def probe(url: str, token: str) -> None:
    """The probe, in its own process (so that the joiners' own decoding of their boards does
    not delay it): ``room:list`` back to back until stdin closes, then one JSON line of
    ``[wall time sent, round trip]`` pairs."""
    server = Server("ours", None, int(url.rsplit(":", 1)[1].rstrip("/")), token, None, None)  # type: ignore[arg-type]
    client = await connect(server, "probe")
    samples: list[tuple[float, float]] = []
    stop = asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
    print("ready", flush=True)
    while not stop.done():
        sent, started = time.time(), time.perf_counter()
        await call(client, "room:list", {})
        samples.append((sent, time.perf_counter() - started))
    await client.disconnect()
    print(json.dumps(samples), flush=True)


async def measure(server: Server, images: int, image_kb: int, joiners: int) -> dict[str, Any]:
    host = await connect(server, "host")
    room_id = (await call(host, "room:create", {"title": "big"}))["room"]["id"]
    src = "data:image/png;base64," + "A" * (image_kb * 1024 - 22)
    for i in range(images):
        op = {"type": "image", "id": f"i{i}", "x": 0, "y": 0, "w": 10, "h": 10, "src": src}
        await call(host, "board:op", {"room_id": room_id, "op": op})
    late = [await connect(server, f"late{i}") for i in range(joiners)]
    prober = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bench.latejoin_stall", "--probe", server.url, server.token,
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert prober.stdout is not None and prober.stdin is not None
    assert (await prober.stdout.readline()).strip() == b"ready"
    await asyncio.sleep(1.0)
    idle_until = time.time()

    async def join(client: socketio.AsyncClient) -> float:
        sent = time.perf_counter()
        ack = await call(client, "room:join", {"room_id": room_id})
        assert len(ack["board"]["ops"]) == images
        return time.perf_counter() - sent

    joins_from = time.time()
    join_times = await asyncio.gather(*(join(c) for c in late))
    joins_until = time.time()
    prober.stdin.close()
    samples = json.loads(await prober.stdout.read())
    await prober.wait()
    for client in (host, *late):
        await client.disconnect()
    idle = [rtt for sent, rtt in samples if sent < idle_until]
    during = [1000 * rtt for sent, rtt in samples if joins_from <= sent <= joins_until]
    return {
        "board_mb": round(images * image_kb / 1024, 1),
        "joiners": joiners,
        "probe_idle_ms_median": round(1000 * statistics.median(idle), 2),
        "probe_during_joins_ms_median": round(statistics.median(during), 2),
        "probe_during_joins_ms_p90": round(statistics.quantiles(during, n=10)[-1], 1),
        "probe_during_joins_ms_max": round(max(during), 1),
        "probe_round_trips_during_joins": len(during),
        "joins_s": round(joins_until - joins_from, 2),
        "join_s_max": round(max(join_times), 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--images", type=int, default=100)
    parser.add_argument("--image-kb", type=int, default=200)
    parser.add_argument("--joiners", type=int, default=5)
    parser.add_argument("--ours-path", help="PYTHONPATH entry with another jupyter_classroom")
    parser.add_argument("--server-arg", action="append", default=[])
    parser.add_argument("--probe", nargs=2, metavar=("URL", "TOKEN"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.probe:
        asyncio.run(probe(*args.probe))
        return
    # (start_server already raises ops_per_second: a trait given twice on the command line
    # would turn into a list and void the whole ClassroomApp section)
    extra = ["--ClassroomApp.max_send_buffer=1000000000", *args.server_arg]
    server = start_server("ours", args.ours_path, extra)
    try:
        figures = asyncio.run(measure(server, args.images, args.image_kb, args.joiners))
    finally:
        server.stop()
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
