"""What releasing memory costs the event loop when a room closes (issue 17, item 4).

One room holds a board of ``--mb`` MB of strokes (in the memory store, as the server keeps
it); small rooms close one after the other. Prints, per close, the time the old release (a
full ``gc.collect()`` and ``malloc_trim`` on the loop) took, and the time the new one takes on
the loop (the young-generation collection; the trim runs in a thread), and how many objects a
full collection finds after a whole board is dropped (cycles a board would leave).

    .venv/bin/python bench/heap_release.py --mb 5 --closes 5
"""

from __future__ import annotations

import argparse
import asyncio
import ctypes
import ctypes.util
import gc
import json
import statistics
import time
import uuid
from typing import Any

from jupyter_classroom.rooms import utc_now
from jupyter_classroom.server import heap
from jupyter_classroom.store.base import RoomRecord
from jupyter_classroom.store.memory import MemoryStore

_libc_name = ctypes.util.find_library("c")
_trim = ctypes.CDLL(_libc_name).malloc_trim if _libc_name else None


def stroke(i: int) -> dict[str, Any]:
    points = [[float(i % 800 + k), float(k * 2 % 600)] for k in range(40)]
    return {"id": f"op-{i}-{uuid.uuid4().hex[:8]}", "type": "stroke", "points": points,
            "color": "#1565c0", "width": 3}  # fmt: skip


def record(room_id: str) -> RoomRecord:
    return RoomRecord(room_id, room_id, "host", "bench", utc_now(), max_members=50)


async def fill(store: MemoryStore, room_id: str, megabytes: float) -> int:
    await store.add_room(record(room_id))
    size = n = 0
    while size < megabytes * 2**20:
        op = stroke(n)
        size += len(json.dumps(op))
        await store.append_op(room_id, "bench", utc_now(), op)
        n += 1
    return n


def old_release() -> tuple[float, float]:
    """(wall, CPU) seconds of the old release."""
    started, cpu = time.perf_counter(), time.process_time()
    gc.collect()
    if _trim is not None:
        _trim(0)
    return time.perf_counter() - started, time.process_time() - cpu


def new_release_on_loop() -> float:
    started = time.perf_counter()
    gc.collect(1)
    return time.perf_counter() - started


def trim_alone() -> float:
    started = time.perf_counter()
    if _trim is not None:
        _trim(0)
    return time.perf_counter() - started


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mb", type=float, default=5.0)
    parser.add_argument("--closes", type=int, default=5)
    args = parser.parse_args()
    store = MemoryStore()
    ops = await fill(store, "big", args.mb)
    print(f"board of {args.mb} MB in another room: {ops} ops, {len(gc.get_objects())} tracked")
    old, old_cpu, new, trim, schedule = [], [], [], [], []
    for i in range(args.closes):
        await fill(store, f"small-{i}", 0.2)
        await store.delete_room(f"small-{i}")
        wall, cpu = old_release()
        old.append(wall)
        old_cpu.append(cpu)
        await fill(store, f"small-{i}b", 0.2)
        await store.delete_room(f"small-{i}b")
        started = time.perf_counter()
        heap.release_freed_memory()  # what a close now does on its own path
        schedule.append(time.perf_counter() - started)
        new.append(new_release_on_loop())
        trim.append(trim_alone())

    def ms(values: list[float]) -> str:
        return f"median {statistics.median(values) * 1e3:.2f} ms, max {max(values) * 1e3:.2f} ms"

    print(f"old, per close on the loop (gc.collect() + malloc_trim): {ms(old)}")
    print(f"    the same in CPU time: {ms(old_cpu)}")
    print(f"new, per close on the loop (schedules a release): {ms(schedule)}")
    print(f"new, once per burst/interval on the loop (gc.collect(1)): {ms(new)}")
    print(f"new, in a worker thread (malloc_trim): {ms(trim)}")
    gc.collect()
    await store.delete_room("big")
    print(f"objects a full collection finds after the big board is dropped: {gc.collect()}")


if __name__ == "__main__":
    asyncio.run(main())
