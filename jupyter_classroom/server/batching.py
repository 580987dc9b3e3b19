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

The tick adapts to load, aiming at a share of a core rather than at spending what is spare:
each tenth of a second, while the process used more than ``busy_share`` of a core, the tick
lengthens (fewer, larger frames: what a tick costs is a frame per member socket), up to
``target_interval``, the longest tick that keeps a room's ink prompt; while it used under
``idle_share`` it shortens back towards ``min_interval``, for low latency; in between it
holds (a steady tick: its wait, not a swing between extremes, is what the latency is made
of). Only a process that cannot keep up at that tick (over ``overload_share`` of a core, or
a tick's timer firing more than a tick late: the event loop is behind) lengthens it further,
up to ``max_interval``, 50 ms (and back to the target once it keeps up): since frames are
coalesced per socket (:mod:`.outbox`) a frame costs little enough that ten busy rooms keep
up at that tick, and a longer one only adds latency (ten rooms, twice their load, 20 s bench
runs of 2026-12-02: a 250 ms cap gave p99 242 / 478 ms, 50 ms 62 / 278 ms, for about a tenth
more CPU per point).

What a tick gathers is made smaller before it goes: a stroke's consecutive extends become one
op (:mod:`.coalesce`: every point kept, every seq accounted for), and of a member's cursor
moves only the latest goes (to the batched sockets; the others got each at its socket's rate).

When a room's ink goes out later than ``delay_notice`` after it was accepted (the tick at its
longest and the loop behind it), or a drawer's ops waited that long to be read at all (the
server holding its socket's reading back: :meth:`OpBatcher.ink_waited`), or the room's frames
waited that long to leave for a member's socket (:meth:`OpBatcher.ink_went_out_late`), the
authors of the late ops hear ``board:delayed`` with the delay, at most once per ``DELAY_REPEAT`` unless the delay doubles, and ``delay_ms: 0`` once the
room's ink goes out within half the threshold again, or the room has sent nothing late for
``DELAY_CLEAR`` seconds.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

from ..tasks import TaskSet
from .coalesce import coalesce

Send = Callable[[str, list[dict[str, Any]]], Awaitable[None]]
# (room_id, [(sender sid, cursor event)]): the latest cursor of each member that moved
SendCursors = Callable[[str, list[tuple[str, dict[str, Any]]]], Awaitable[None]]
# (room_id, member ids, delay in ms; 0: caught up)
Notify = Callable[[str, list[str], int], Awaitable[None]]

DELAY_REPEAT = 1.0  # seconds between two board:delayed of a room while it stays late
DELAY_CLEAR = 1.0  # seconds without a late frame after which a room is told it caught up
LATE_STEP = 0.01  # seconds between two lengthenings of the tick for late timers


class _Delay:
    """A room whose ink went out late: who was told, what and when."""

    __slots__ = ("clear_timer", "members", "told_at", "told_ms", "waited_at")

    def __init__(self) -> None:
        self.members: set[str] = set()
        self.told_at = float("-inf")
        self.told_ms = 0
        self.waited_at = float("-inf")  # when ink last waited to be read (ink_waited)
        self.clear_timer: asyncio.TimerHandle | None = None


class OpBatcher:
    """Per-room buffers of ops, flushed through ``send(room_id, ops)`` once per tick."""

    def __init__(
        self,
        send: Send,
        min_interval: float = 0.002,
        max_interval: float = 0.05,
        busy_share: float = 0.6,
        send_cursors: SendCursors | None = None,
        notify_delay: Notify | None = None,
        delay_notice: float = 0.5,
    ) -> None:
        self._send = send
        self._send_cursors = send_cursors
        self._notify_delay = notify_delay
        self.delay_notice = delay_notice
        # tests only: called (room_id) as a tick's flush starts, to make the tick's work slow
        self.before_flush: Callable[[str], None] | None = None
        self.min_interval = min_interval
        self.max_interval = max_interval
        self.busy_share = busy_share
        self.idle_share = 0.45
        self.overload_share = 0.9
        self.target_interval = 0.025
        self.interval = min_interval
        self._sampled = (time.monotonic(), time.process_time())
        self._late_at = float("-inf")  # when a late tick last lengthened the tick
        self._pending: dict[str, list[dict[str, Any]]] = {}
        self._cursors: dict[str, dict[str, tuple[str, dict[str, Any]]]] = {}  # room -> member
        self._since: dict[str, float] = {}  # room -> loop time its oldest pending item came
        self._delays: dict[str, _Delay] = {}
        self._authors: dict[str, set[str]] = {}  # room -> authors of its last ticked ops
        self._timers: dict[str, asyncio.TimerHandle] = {}
        self._sent_at: dict[str, float] = {}  # room -> loop time of its last frame
        self._tasks = TaskSet("board ops flush")

    def add(self, room_id: str, board_op: dict[str, Any]) -> None:
        pending = self._pending.get(room_id)
        if pending is not None:
            pending.append(board_op)
            return
        self._pending[room_id] = [board_op]
        self._schedule(room_id)

    def add_cursor(self, room_id: str, sid: str, cursor: dict[str, Any]) -> None:
        """A member's cursor (from socket ``sid``) for the room's next tick; it replaces the
        member's earlier one of the same tick."""
        cursors = self._cursors.setdefault(room_id, {})
        cursors[cursor["member_id"]] = (sid, cursor)
        self._schedule(room_id)

    def _schedule(self, room_id: str) -> None:
        if room_id in self._timers:
            return
        loop = asyncio.get_running_loop()
        now = loop.time()
        self._since[room_id] = now
        due = max(now, self._sent_at.get(room_id, -self.max_interval) + self.interval)
        self._timers[room_id] = loop.call_at(due, self._on_tick, room_id, due)

    def _on_tick(self, room_id: str, due: float) -> None:
        self._adapt(asyncio.get_running_loop().time() - due)
        self._tasks.spawn(self.flush(room_id))

    def _adapt(self, lateness: float) -> None:
        interval = self.interval
        wall = time.monotonic()
        if lateness > interval:
            # the loop is behind by more than a tick: back off now, a step per LATE_STEP
            # (the rooms' ticks a stall made late at once are one step, not one each)
            if wall - self._late_at >= LATE_STEP:
                self._late_at = wall
                self.interval = min(self.max_interval, max(interval, self.min_interval) * 1.25)
            return
        if wall - self._sampled[0] < 0.1:
            return
        cpu = time.process_time()
        share = (cpu - self._sampled[1]) / (wall - self._sampled[0])
        self._sampled = (wall, cpu)
        # one step per tenth of a second, a quarter at a time: from the shortest tick to the
        # target in about a second and a half, and back
        target = max(self.target_interval, self.min_interval)
        if share > max(self.overload_share, self.busy_share):
            self.interval = max(interval, min(self.max_interval, interval * 1.25))
        elif interval > target:  # past the target only while overloaded (or late)
            self.interval = max(target, interval / 1.25)
        elif share > self.busy_share:
            self.interval = min(target, interval * 1.25)
        elif share < self.idle_share:
            self.interval = max(self.min_interval, interval / 1.25)

    async def flush(self, room_id: str) -> None:
        """Send what the room has gathered now (before an event that must come after it)."""
        timer = self._timers.pop(room_id, None)
        if timer is not None:
            timer.cancel()
        ops = self._pending.pop(room_id, None)
        cursors = self._cursors.pop(room_id, None)
        since = self._since.pop(room_id, None)
        if ops and self.before_flush is not None:
            self.before_flush(room_id)
        now = asyncio.get_running_loop().time()
        if ops:
            self._sent_at[room_id] = now
            if len(self._sent_at) > 4 * len(self._timers) + 64:  # forget rooms long quiet
                self._sent_at = {
                    room: at for room, at in self._sent_at.items() if now - at < self.max_interval
                }
                self._authors = {
                    room: who
                    for room, who in self._authors.items()
                    if room in self._sent_at or room in self._delays
                }
            await self._send(room_id, coalesce(ops))
            if since is not None and self._notify_delay is not None:
                authors = {str(op["author"]) for op in ops}
                self._authors[room_id] = authors
                await self._track_delay(room_id, authors, now - since)
        if cursors and self._send_cursors is not None:
            await self._send_cursors(room_id, list(cursors.values()))

    async def ink_waited(self, room_id: str, author: str, age: float) -> None:
        """``author``'s ops reached the room ``age`` seconds late, before they were accepted
        (their socket's reading held back: the process is behind): told as a late tick is.
        Only a quiet second clears it, since the room's ticks may well be on time."""
        if self._notify_delay is not None and age >= self.delay_notice:
            await self._track_delay(room_id, {author}, age, waited=True)

    async def ink_went_out_late(self, room_id: str, age: float) -> None:
        """Frames of the room left for a member's socket ``age`` seconds after they were
        queued (the client, or the process, behind): the authors of the room's last tick
        hear it, as of a late tick. As with :meth:`ink_waited`, a quiet second clears it."""
        authors = self._authors.get(room_id)
        if self._notify_delay is not None and authors and age >= self.delay_notice:
            await self._track_delay(room_id, authors, age, waited=True)

    async def _track_delay(
        self, room_id: str, authors: set[str], age: float, waited: bool = False
    ) -> None:
        """Tell the room's drawers when its ink goes out late, and when no more."""
        assert self._notify_delay is not None
        delay = self._delays.get(room_id)
        loop = asyncio.get_running_loop()
        if age < self.delay_notice:
            if (
                delay is not None
                and age < self.delay_notice / 2
                and loop.time() - delay.waited_at >= DELAY_CLEAR
            ):
                await self._caught_up(room_id)
            return
        if delay is None:
            delay = self._delays[room_id] = _Delay()
        if waited:
            delay.waited_at = loop.time()
        ms = round(age * 1000)
        new = authors - delay.members
        repeat = loop.time() - delay.told_at >= DELAY_REPEAT or ms >= 2 * delay.told_ms
        tell = sorted(authors | delay.members) if repeat else sorted(new)
        delay.members |= authors
        if delay.clear_timer is not None:
            delay.clear_timer.cancel()
        delay.clear_timer = loop.call_later(
            DELAY_CLEAR, lambda: self._tasks.spawn(self._caught_up(room_id))
        )
        if tell:
            if repeat:
                delay.told_at, delay.told_ms = loop.time(), ms
            await self._notify_delay(room_id, tell, ms)

    async def _caught_up(self, room_id: str) -> None:
        delay = self._delays.pop(room_id, None)
        self._authors.pop(room_id, None)
        if delay is None or self._notify_delay is None:
            return
        if delay.clear_timer is not None:
            delay.clear_timer.cancel()
        await self._notify_delay(room_id, sorted(delay.members), 0)
