"""Workload 5 of bench/: two aiortc peers' time to first frame through our server.

Alice creates a room and publishes a 15 fps colour track; Bob (publishing a test pattern) joins
the room with ``jupyter_classroom.media.MediaPeer``, which offers to Alice over ``rtc:signal``.
Measured: from Bob's ``room:join`` to the first decoded video frame from Alice at Bob, and
the number of ``rtc:signal`` events relayed. Repeated ``--runs`` times with fresh rooms.

    python -m bench.signaling --url http://127.0.0.1:8888/ --token T --runs 3
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time

from jupyter_classroom.client.connection import Connection
from jupyter_classroom.media import ColorTrack, MediaPeer, TestPatternTrack


async def one_run(url: str, headers: dict[str, str], index: int) -> dict[str, float]:
    alice = Connection(url, headers=headers, name=f"alice{index}")
    bob = Connection(url, headers=headers, name=f"bob{index}")
    await alice.connect()
    await bob.connect()
    signals = 0

    def count(_: object) -> None:
        nonlocal signals
        signals += 1

    alice.on("rtc:signal", count)
    bob.on("rtc:signal", count)
    peers: list[MediaPeer] = []
    try:
        room = await alice.create_room(f"signaling {index}")
        a = MediaPeer(alice, room.id)
        peers.append(a)
        await a.start()
        await a.publish(ColorTrack((220, 30, 40), fps=15))
        b = MediaPeer(bob)
        peers.append(b)
        await b.publish(TestPatternTrack(fps=15))
        joined_at = time.monotonic()
        await b.join(room.id)
        at_b = await b.wait_for_track(a.member_id, "video", timeout=15)
        await at_b.wait_frames(1, timeout=15)
        assert at_b.first_frame_at is not None
        return {"first_frame_s": at_b.first_frame_at - joined_at, "signals": signals}
    finally:
        for peer in peers:
            await peer.close()
        await alice.close()
        await bob.close()


async def main(url: str, token: str, runs: int) -> dict[str, object]:
    headers = {"Authorization": f"token {token}"}
    results = [await one_run(url, headers, i) for i in range(runs)]
    times = [r["first_frame_s"] for r in results]
    return {
        "runs": runs,
        "first_frame_s": times,
        "first_frame_s_median": statistics.median(times),
        "signals_per_run": [r["signals"] for r in results],
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--token", required=True)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    print("RESULT " + json.dumps(asyncio.run(main(args.url, args.token, args.runs))), flush=True)
