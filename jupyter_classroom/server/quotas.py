"""What one person may take of the server: rates, bytes, sockets, whatever number of sockets
they spread it over.

Limits that count per socket are no limits against someone who opens fifty sockets. These
count per *limit key*, which stands for a person:

- a user that the identity provider names (a JupyterHub user, a named user of a multi-user
  provider) is one key, all of their sockets, kernels and pages together;
- the server's owner (``kernel_user``: every socket of a single-user server authenticated by
  Jupyter's token, and every kernel) is one key *per client* (``auth.client_id``, else the
  chosen name). On a single-user server the whole class is the owner, so a per-user key
  would let one student's flood throttle everyone.

The buckets live in this process: with several room-server processes (Redis), a person whose
sockets land on two processes gets the rates of each (documented in docs/protocol.md).
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import msgspec
import socketio

from ..protocol import ErrorCode, ProtocolError
from .jsoncodec import Encoded, encode_args
from .ratelimit import KeyedBuckets

log = logging.getLogger("jupyter_classroom")
_encode = msgspec.json.Encoder().encode
# Seconds a batched socket's board ops may be held for its op budget before it is refused
# (PersonLimits.pace): backpressure it sees in its acks, never a queue of seconds.
PACE_MAX_WAIT = 0.5


@dataclass(frozen=True)
class Quotas:
    """Per-person rates and limits (``ClassroomApp`` traits of the same names take their
    defaults from here). Each rate is a token bucket per person; the bursts are the fixed
    multiples :class:`PersonLimits` gives them."""

    ops_per_second: float = 200.0  # board ops; bursts of 2x
    chats_per_second: float = 5.0  # chat messages; bursts of 4x
    media_per_second: float = 5.0  # rtc:media; bursts of 20
    signals_per_second: float = 50.0  # rtc:signal; bursts of 4x (a mesh's negotiations)
    joins_per_second: float = 2.0  # room:join, room:leave, room:create; bursts of 15x
    bytes_per_second: float = 512 * 1024  # board ops, chat and signals together
    bytes_burst: float = 4 * 1024 * 1024
    tickets_per_second: float = 1.0  # room:ticket per user, across all of their sockets
    ticket_burst: float = 10.0
    max_sockets_per_user: int = 20
    max_send_buffer: int = 4 * 1024 * 1024  # see ClassroomApp.max_send_buffer


def limit_key(user: str, client_key: str, owner: str) -> str:
    """The person a socket counts for (see the module docstring)."""
    return f"{user}\0{client_key}" if user == owner else user


def encoded_size(value: Any) -> int:
    """Bytes of ``value`` as JSON, what relaying it costs."""
    return len(_encode(value))


class PersonLimits:
    """Token buckets per limit key, and the sockets each key holds.

    ``max_board_bytes`` (``Limits.max_board_bytes``) bounds what a person's sockets may
    hold unsent: twice a board (see :meth:`check_backlog`)."""

    def __init__(self, quotas: Quotas, max_board_bytes: int) -> None:
        self.quotas = q = quotas
        self.max_board_bytes = max_board_bytes
        self.ops = KeyedBuckets(q.ops_per_second, 2 * q.ops_per_second)
        self.chats = KeyedBuckets(q.chats_per_second, 4 * q.chats_per_second)
        self.media = KeyedBuckets(q.media_per_second, 20)
        self.signals = KeyedBuckets(q.signals_per_second, 4 * q.signals_per_second)
        self.joins = KeyedBuckets(q.joins_per_second, 15 * q.joins_per_second)
        self.bytes = KeyedBuckets(q.bytes_per_second, q.bytes_burst)
        self.sockets: dict[str, set[str]] = {}  # limit key -> its sockets here
        self._join_locks: dict[str, tuple[asyncio.Lock, int]] = {}  # key -> (lock, users)

    @asynccontextmanager
    async def joining(self, key: str) -> AsyncIterator[None]:
        """One join at a time per person, so that :meth:`check_backlog` sees the acks of the
        person's earlier joins: the ack of one is queued before the next one is checked (from
        the handler's return to engine.io's queue nothing yields to the loop)."""
        lock, users = self._join_locks.get(key, (asyncio.Lock(), 0))
        self._join_locks[key] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._join_locks[key]
            if users <= 1:
                del self._join_locks[key]
            else:
                self._join_locks[key] = (lock, users - 1)

    def take(self, buckets: KeyedBuckets, key: str, what: str, cost: float = 1.0) -> None:
        """Spend from ``key``'s bucket or refuse with ``rate_limited`` and when to retry."""
        if not buckets.take(key, cost):
            wait = buckets.wait(key, cost)
            raise ProtocolError(
                ErrorCode.RATE_LIMITED,
                f"you are sending {what} too fast (all your connections together); "
                f"try again in {max(wait, 0.1):.1f} s",
            )

    async def pace(self, buckets: KeyedBuckets, key: str, what: str, cost: float) -> bool:
        """Spend from ``key``'s bucket, waiting for the tokens if they come within
        ``PACE_MAX_WAIT`` (the request's ack, and the socket's next messages, come that much
        later: a client that waits for its acks slows down); False, spending nothing, if
        they would come later than that (the caller refuses as :meth:`take` does)."""
        wait = buckets.reserve(key, cost, PACE_MAX_WAIT)
        if wait is None:
            return False
        if wait > 0:
            await asyncio.sleep(wait)
        return True

    def take_churn(self, key: str) -> None:
        """A join, leave or whole-board fetch: the costly membership requests."""
        self.take(self.joins, key, "joins and leaves")

    def take_bytes(self, key: str, size: int) -> None:
        if not self.bytes.take(key, size):
            wait = self.bytes.wait(key, size)
            rate = self.quotas.bytes_per_second / 1024
            raise ProtocolError(
                ErrorCode.RATE_LIMITED,
                f"you are sending more than {rate:.0f} KB/s (all your connections together); "
                f"try again in {max(wait, 0.1):.1f} s",
            )

    def admit(self, key: str, sid: str) -> None:
        """Count ``sid`` as a socket of ``key``, or refuse it past ``max_sockets_per_user``."""
        cap = self.quotas.max_sockets_per_user
        mine = self.sockets.setdefault(key, set())
        if cap > 0 and len(mine) >= cap:
            user = key.partition("\0")[0]
            log.warning("classroom: refused a socket of %s, who has %d open", user, len(mine))
            message = (
                f"you already have {cap} connections to the classroom open; "
                "close some (other tabs, notebooks or kernels) and try again"
            )
            body = {"code": ErrorCode.RATE_LIMITED, "message": message}
            raise socketio.exceptions.ConnectionRefusedError(message, body)
        mine.add(sid)

    def release(self, key: str, sid: str) -> None:
        mine = self.sockets.get(key)
        if mine is not None:
            mine.discard(sid)
            if not mine:
                del self.sockets[key]

    def check_backlog(self, sio: socketio.AsyncServer, key: str, sid: str) -> None:
        """Refuse (``rate_limited``) a request whose reply would be another large copy
        (a board in a join ack) while earlier ones are still unsent: to this socket more
        than ``max_send_buffer``, or to all of the person's sockets more than twice
        ``max_board_bytes``. A client that reads nothing cannot make the server hold copies."""
        q = self.quotas
        mine = unsent_bytes(sio, sid)
        if mine > q.max_send_buffer:
            raise ProtocolError(
                ErrorCode.RATE_LIMITED,
                f"this connection has not yet received {mine / 2**20:.1f} MB the server sent "
                "it earlier (a board, say); join again once it has",
            )
        allowed = max(2 * self.max_board_bytes, q.max_send_buffer)
        total = sum(unsent_bytes(sio, other) for other in self.sockets.get(key, ()))
        if total > allowed:
            raise ProtocolError(
                ErrorCode.RATE_LIMITED,
                f"your connections have {total / 2**20:.1f} MB the server sent them still to "
                "receive; join again once they have (or close the ones that are stuck)",
            )


def unsent_bytes(sio: socketio.AsyncServer, sid: str) -> int:
    """Bytes the server holds for ``sid`` that its client has not read yet: packets in
    engine.io's queue, and what our websocket handler holds (tornado's write buffer, messages
    waiting behind a large one: ``SocketIOHandler.unsent_bytes``)."""
    queued = 0
    try:
        eio_sid = sio.manager.eio_sid_from_sid(sid, "/")
        packets = sio.eio.sockets[eio_sid].queue._queue
        queued = sum(len(pkt.data) for pkt in packets if pkt is not None and pkt.data)
    except (AttributeError, KeyError, TypeError):
        pass
    try:
        handler = sio.get_environ(sid)["tornado.handler"]
        return queued + int(handler.unsent_bytes())
    except (AttributeError, KeyError, TypeError):
        return queued  # not connected (any more), or not a tornado socket


ENCODE_SLICE = 1 << 20  # bytes of a board's JSON made between two turns of the event loop
_big_acks = asyncio.Lock()  # one large ack in the making at a time


async def encode_ahead(
    ack: dict[str, Any], board_ops: list[dict[str, Any]]
) -> dict[str, Any] | Encoded:
    """A join ack holding a board, encoded in slices with the event loop let go in between
    (an empty board's ack is returned as it is).

    Encoding and copying a board of 20 MB in one piece held every other socket of the
    process for a fifth of a second per late joiner (docs/reliability.md). Here the board's
    ops are encoded and decoded about a megabyte at a time, and large acks are made one after
    the other, so that other sockets are served between them. The pieces are joined once,
    behind the packet's header (``jsoncodec.Packet.encode``); what remains in one piece is
    that join and engine.io's copy of the text (the websocket handler writes it a frame per
    loop turn: ``SocketIOHandler.write_message``).
    """
    if not board_ops:
        return ack
    async with _big_acks:
        parts: list[str] = []
        start, step, made = 0, 64, 0
        while start < len(board_ops):
            part = _encode(board_ops[start : start + step])
            parts.append(part[1:-1].decode())
            start += step
            made += len(part)
            # aim each slice at ENCODE_SLICE bytes: a board of images has few, large ops
            step = max(1, min(4096, step * ENCODE_SLICE // max(len(part), 1)))
            if made >= ENCODE_SLICE:
                made = 0
                await asyncio.sleep(0)
        # the ack around the ops, with a marker no client text can contain in their place
        marker = f"ops-{uuid.uuid4().hex}"
        envelope = encode_args({**ack, "board": {**ack["board"], "ops": marker}}).text
        before, _, after = envelope.partition(f'"{marker}"')
        ops: list[str] = []
        for encoded in parts:
            if encoded:
                ops += [",", encoded] if ops else [encoded]
        await asyncio.sleep(0)
        return Encoded(before, "[", *ops, "]", after)  # joined once, behind the ack's header
