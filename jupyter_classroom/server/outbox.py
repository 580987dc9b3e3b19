"""A websocket's outgoing frames, coalesced into one stream write per turn of the loop.

Tornado's ``write_message`` builds a frame and hands it to the socket's stream at once: a
``send()`` syscall, a Future and a task (its wrapper of the write's Future) per message per
recipient, which under ten busy rooms is most of what the server does. Frames sent to a
socket during one turn of the event loop are instead appended to its :class:`Outbox` and
written in one ``IOStream.write`` when the turn ends (one syscall for all of them, at most
one turn later). A server's frames are not masked (RFC 6455, 5.1), so a broadcast's frame is
the same bytes for every recipient: :func:`text_frame` builds it once.

The outbox also times what the stream could not hand to the kernel at once (a client that
reads slower than it is sent to, or a loop too far behind): when such bytes leave later than
``late_after`` seconds after they were queued, ``report(wait)`` is called, so the room server
can tell drawers their ink is delayed (docs/protocol.md, "Under overload").
"""

from __future__ import annotations

import asyncio
import struct
import time
from collections.abc import Callable
from typing import Any

from tornado.iostream import IOStream, StreamClosedError

TEXT_FIN = 0x81  # FIN + text opcode (RFC 6455, section 5.2)
# A text longer than this is no frame of the outbox: the handler writes it in fragments
# (handler.py, SocketIOHandler.write_message), a frame of this many characters per turn.
FRAGMENT_CHARS = 1 << 18
REPORT_EVERY = 0.25  # seconds between two reports of one socket's late writes
FLUSH_GAP = 0.005  # seconds between two flushes of a busy loop's outboxes
BUSY_SHARE = 0.6  # of a core: a process busier than this spaces its flushes by FLUSH_GAP


def text_frame(text: str) -> bytes:
    """The whole unmasked websocket frame of a text message, as a server sends it."""
    data = text.encode()
    size = len(data)
    if size < 126:
        return bytes((TEXT_FIN, size)) + data
    if size <= 0xFFFF:
        return struct.pack("!BBH", TEXT_FIN, 126, size) + data
    return struct.pack("!BBQ", TEXT_FIN, 127, size) + data


class _Turn:
    """The outboxes written to since the last flush of one loop, flushed together.

    At the end of this turn of the loop while the process has time to spare; while it is
    busy (it used over BUSY_SHARE of a core over the last tenth of a second) no sooner than
    FLUSH_GAP after the previous flush, so that a socket's frames of several turns go in one
    write: a syscall per socket per gap rather than per turn, for at most FLUSH_GAP more."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.dirty: list[Outbox] = []
        self.started = 0.0  # loop time when the first of them was written to
        self.flushed = float("-inf")  # loop time of the last flush
        self.gap = 0.0
        self._sampled = (time.monotonic(), time.process_time())

    def add(self, outbox: Outbox) -> None:
        if not self.dirty:
            now = self.started = self.loop.time()
            due = self.flushed + self.gap
            if due <= now:
                self.loop.call_soon(self.flush)
            else:
                self.loop.call_at(due, self.flush)
        self.dirty.append(outbox)

    def flush(self) -> None:
        self.flushed = self.loop.time()
        dirty, self.dirty = self.dirty, []
        for outbox in dirty:
            outbox.flush()
        wall, cpu = time.monotonic(), time.process_time()
        if wall - self._sampled[0] >= 0.1:
            busy = (cpu - self._sampled[1]) / (wall - self._sampled[0]) > BUSY_SHARE
            self.gap = FLUSH_GAP if busy else 0.0
            self._sampled = (wall, cpu)


_turns: dict[asyncio.AbstractEventLoop, _Turn] = {}


def _turn() -> _Turn:
    loop = asyncio.get_running_loop()
    turn = _turns.get(loop)
    if turn is None:
        for old in [old for old in _turns if old.is_closed()]:  # (tests run a loop each)
            del _turns[old]
        turn = _turns[loop] = _Turn(loop)
    return turn


class Outbox:
    """Frames for one websocket's stream, written once per turn of the loop.

    ``stream()`` returns the stream to write to, or None once the connection is closing
    (what is still pending is then dropped: the client is gone or going)."""

    __slots__ = (
        "_loop_turn", "_pending", "_reported", "_since", "_stream", "backlogged", "late_after", "report",
    )  # fmt: skip

    def __init__(self, stream: Callable[[], IOStream | None]) -> None:
        self._stream = stream
        self._pending: bytearray | None = None
        self._loop_turn: _Turn | None = None  # its loop's (a connection lives in one loop)
        self._since = 0.0  # loop time the oldest pending frame was queued
        # called when a write leaves bytes the kernel did not take (the slow-reader watch)
        self.backlogged: Callable[[], None] | None = None
        # report(seconds): bytes left later than late_after after they were queued (at most
        # one report per REPORT_EVERY seconds)
        self.late_after = float("inf")
        self.report: Callable[[float], None] | None = None
        self._reported = float("-inf")

    def __len__(self) -> int:
        return len(self._pending) if self._pending is not None else 0

    def add(self, frame: bytes) -> None:
        pending = self._pending
        if pending is None:
            turn = self._loop_turn
            if turn is None:
                turn = self._loop_turn = _turn()
            self._pending = bytearray(frame)
            turn.add(self)
            self._since = turn.started
        else:
            pending += frame

    def flush(self) -> None:
        """Hand what is pending to the stream now (before a frame written around the outbox,
        a close frame or a fragmented message, so that the order of frames holds)."""
        pending, self._pending = self._pending, None
        if not pending:
            return
        stream = self._stream()
        if stream is None:
            return
        if type(stream) is IOStream and not stream._write_buffer and not stream.closed():
            # Nothing of tornado's waits to be written (no earlier frame, no ping or close
            # frame): the socket takes the bytes now, as IOStream.write would, without its
            # Future, buffer and bookkeeping; only what the kernel does not take goes through
            # it. (Plain sockets only: a TLS stream's socket is written by tornado alone.)
            try:
                sent = stream.socket.send(pending)
            except BlockingIOError:
                sent = 0
            except OSError:
                sent = 0  # (a reset: tornado's write below meets it too and closes the stream)
            if sent == len(pending):
                return
            del pending[:sent]
        try:
            # (a bytearray, which tornado keeps or copies: this outbox starts a new one)
            written = stream.write(pending)  # type: ignore[arg-type]
        except StreamClosedError:
            return
        if written.done():
            return
        # the kernel did not take it all: time it until it does
        if self.backlogged is not None:
            self.backlogged()
        if self.report is not None:
            since = self._since
            written.add_done_callback(lambda done: self._written(done, since))

    def _written(self, done: asyncio.Future[Any], since: float) -> None:
        if done.cancelled() or done.exception() is not None or self.report is None:
            return
        now = asyncio.get_running_loop().time()
        wait = now - since
        if wait >= self.late_after and now - self._reported >= REPORT_EVERY:
            self._reported = now
            self.report(wait)

    def drop(self) -> None:
        self._pending = None
