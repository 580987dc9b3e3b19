"""Gather a room's new board ops into one ``board:ops`` frame per tick.

What a Python Socket.IO server pays for is messages, not bytes: python-engineio queues and
writes every message to every socket on its own (a task wake-up, a websocket frame and a
``send()`` each), which costs ~100 µs per delivery on a laptop-class core. A room of 30
members with three people drawing at 60 pointer events/s is 5,000 deliveries/s: most of a
core. Sockets that ask for it (``auth.batch``) get a room's ops of the last tick as one
``board:ops`` frame instead, so the server's work follows the tick rate, not the pointer rate.

A room that sent nothing for a tick sends its next op at once (on the next turn of the loop,
so ops read in the same turn still go together): a lone pointer event waits for no tick, and
a room still sends at most one frame per tick.

The tick adapts to load. While the process is busy (it used more than ``busy_share`` of a
core over the last tenth of a second, or a flush timer fired late: the event loop is behind)
the tick lengthens, so there are fewer, larger frames and the server keeps up with whatever
is offered; otherwise it shortens back towards ``min_interval``, for low latency.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

from ..tasks import TaskSet

Send = Callable[[str, list[dict[str, Any]]], Awaitable[None]]


class OpBatcher:
    """Per-room buffers of ops, flushed through ``send(room_id, ops)`` once per tick."""

    def __init__(
        self,
        send: Send,
        min_interval: float = 0.01,
        max_interval: float = 0.25,
        busy_share: float = 0.8,
    ) -> None:
        self._send = send
        self.min_interval = min_interval
        self.max_interval = max_interval
        self.busy_share = busy_share
        self.interval = min_interval
        self._busy = False
        self._sampled = (time.monotonic(), time.process_time())
        self._pending: dict[str, list[dict[str, Any]]] = {}
        self._timers: dict[str, asyncio.TimerHandle] = {}
        self._sent_at: dict[str, float] = {}  # room -> loop time of its last frame
        self._tasks = TaskSet("board ops flush")

    def add(self, room_id: str, board_op: dict[str, Any]) -> None:
        pending = self._pending.get(room_id)
        if pending is not None:
            pending.append(board_op)
            return
        self._pending[room_id] = [board_op]
        loop = asyncio.get_running_loop()
        due = max(loop.time(), self._sent_at.get(room_id, -self.max_interval) + self.interval)
        self._timers[room_id] = loop.call_at(due, self._on_tick, room_id, due)

    def _on_tick(self, room_id: str, due: float) -> None:
        self._adapt(asyncio.get_running_loop().time() - due)
        self._tasks.spawn(self.flush(room_id))

    def _adapt(self, lateness: float) -> None:
        wall, cpu = time.monotonic(), time.process_time()
        if wall - self._sampled[0] >= 0.1:
            share = (cpu - self._sampled[1]) / (wall - self._sampled[0])
            self._busy = share > self.busy_share
            self._sampled = (wall, cpu)
        # Busy: back off by a quarter. Otherwise creep back down by a twentieth, so that a
        # passing spike decays within a second or so.
        if self._busy or lateness > self.interval / 4:
            self.interval = min(self.max_interval, self.interval * 1.25)
        else:
            self.interval = max(self.min_interval, self.interval * 0.95)

    async def flush(self, room_id: str) -> None:
        """Send what the room has gathered now (before an event that must come after it)."""
        timer = self._timers.pop(room_id, None)
        if timer is not None:
            timer.cancel()
        ops = self._pending.pop(room_id, None)
        if ops:
            now = asyncio.get_running_loop().time()
            self._sent_at[room_id] = now
            if len(self._sent_at) > 4 * len(self._timers) + 64:  # forget rooms long quiet
                self._sent_at = {
                    room: at for room, at in self._sent_at.items() if now - at < self.max_interval
                }
            await self._send(room_id, ops)
