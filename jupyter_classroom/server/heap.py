"""Giving memory back to the system when rooms close.

A closed room drops its whole board at once. CPython frees the objects, but glibc keeps the
freed pages in the process for reuse, so the server's RSS stays at its peak long after a
lesson ends. ``malloc_trim`` hands them back.

It used to run with a full ``gc.collect()`` on the event loop at every close. A full
collection walks every tracked object of the process, so every other room's board too: with
a few boards of some MB open that held every socket for tens of milliseconds per close, and
a lesson's end closes many rooms at once (figures: bench/heap_release.py). A board is freed
by reference counting as soon as its room is dropped (boards hold no cycles), so the full
collection bought nothing that CPython's own collector does not do later. Now a burst of
closes schedules one release, at most one per :data:`RELEASE_INTERVAL`; it collects only the
young generations (cheap: they hold what the last seconds made) and trims in a worker thread
(ctypes lets go of the GIL during the call; glibc locks its arenas while it trims).
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import ctypes.util
import gc
import time
from collections.abc import Callable

_libc_name = ctypes.util.find_library("c")
_malloc_trim: Callable[[int], int] | None = (
    getattr(ctypes.CDLL(_libc_name), "malloc_trim", None) if _libc_name else None
)

RELEASE_DELAY = 1.0  # seconds after a close: the rest of a burst of closes shares the release
RELEASE_INTERVAL = 30.0  # seconds between two releases at least

_pending: tuple[asyncio.AbstractEventLoop, asyncio.TimerHandle] | None = None
_last_release = -RELEASE_INTERVAL


def release_freed_memory() -> None:
    """Schedule a release of freed memory to the system, on the running loop: once for a
    burst of calls, at most once per :data:`RELEASE_INTERVAL`, never on the caller's path."""
    global _pending
    loop = asyncio.get_running_loop()
    if _pending is not None and _pending[0] is loop:
        return  # one is due already (a handle of a loop that is gone never fires: replace it)
    delay = max(RELEASE_DELAY, _last_release + RELEASE_INTERVAL - time.monotonic())
    _pending = (loop, loop.call_later(delay, _release_now, loop))


def _release_now(loop: asyncio.AbstractEventLoop) -> None:
    global _pending, _last_release
    _pending, _last_release = None, time.monotonic()
    gc.collect(1)  # the young generations: what departed sockets left in cycles
    if _malloc_trim is not None:
        with contextlib.suppress(RuntimeError):  # the loop is shutting down: skip it
            loop.run_in_executor(None, _malloc_trim, 0)


def release_freed_memory_now() -> None:
    """The release itself, on the caller's thread (benchmarks; a process about to idle)."""
    gc.collect(1)
    if _malloc_trim is not None:
        _malloc_trim(0)
