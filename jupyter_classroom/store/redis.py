"""The Redis Store: rooms shared by several room-server processes.

Every key starts with ``prefix`` (``jc:``). A room is a handful of keys::

    {prefix}rooms                  ZSET  room id -> creation order (the lobby's order)
    {prefix}room:{id}              HASH  record (RoomRecord JSON), seq, floor, gen,
                                         present, morder (counters), bytes (the board's),
                                         img:{member id} (an author's image bytes)
    {prefix}room:{id}:members      HASH  member id -> MemberRecord JSON
    {prefix}room:{id}:order        ZSET  member id -> order of first save
    {prefix}room:{id}:ops          ZSET  seq -> BoardOp JSON
    {prefix}room:{id}:opmeta       HASH  op id -> "author\\ntype\\nseq"
    {prefix}room:{id}:pending      LIST  seqs of ``extend`` ops not folded yet
    {prefix}room:{id}:chat         LIST  ChatMessage JSON, trimmed to the backlog
    {prefix}room:{id}:lock         STRING the room lock's holder token (PX lease)
    {prefix}room:{id}:hands        ZSET  member id -> raise order (raised hands; the room
                                         hash's ``breakouts`` field holds open breakouts)
    {prefix}room:{id}:handq        HASH  member id -> Hand JSON
    {prefix}room:{id}:kept         HASH  breakout id -> its board when recalled (BoardState)
    {prefix}room:{id}:nb           HASH  the shared notebook: share (id), header (JSON), seq,
                                         live, order (JSON ids), active, bytes, logbytes
    {prefix}room:{id}:nbheads      HASH  cell id -> the cell without outputs (JSON, with ob)
    {prefix}room:{id}:nbout        HASH  cell id -> its outputs (JSON); a keystroke rewrites
                                         only its cell's head
    {prefix}room:{id}:nblog        LIST  the last batches {seq, patches} (JSON), for `since`
    {prefix}room:{id}:sharers      ZSET  member id -> order allowed (notebook:allow)
    {prefix}breakouts:due          ZSET  room id -> when its open breakouts end (epoch s)
    {prefix}video:{id}             STRING the room's Janus VideoRoom (JSON: id, secret, PIN);
                                         outlives the room until its closing destroys it
                                         (the room hash's ``video_mode`` field: its mode,
                                         ``video_policy``: the host's controls, JSON)
    {prefix}ticket:{sha256}        STRING [room id, member id, user] (PX ttl; the key hashes
                                         the ticket)
    {prefix}fail:{sha256}          STRING failed joins of one user and room (PX window)
    {prefix}owned:{sha256}         SET   the room ids of one owner or quota key
                                         (for max_rooms_per_user)

and each room-server process (``process_id``) that holds sockets in rooms::

    {prefix}procs                  SET   process ids with tracked sockets
    {prefix}proc:{id}:alive        STRING "1" while the process beats (PX ttl)
    {prefix}proc:{id}:sockets      HASH  "{sid} {room id}" -> member id

Writes that must be atomic are Lua scripts: :meth:`RedisStore.append_op` checks the op id,
takes the next ``seq`` and stores the op in one step. Folding ``extend`` ops into their strokes
is computed here, not in Lua (which would block Redis on a big board and round floats through
cjson), and applied by one script that only succeeds if no other fold ran meanwhile (the
``gen`` counter); ops appended while the fold was computed stay pending for the next one.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import random
import secrets
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import asdict, dataclass, fields
from typing import Any, cast

import msgspec
from redis.asyncio import BlockingConnectionPool, Redis

from . import redis_scripts as lua
from .base import (
    EXTEND_WINDOW,
    BoardBudgetExceeded,
    BoardSlice,
    ByteBudget,
    MemberRecord,
    NotebookCommit,
    NotebookHeader,
    OpMeta,
    RoomLimitReached,
    RoomRecord,
    Store,
    Ticket,
)

log = logging.getLogger("jupyter_classroom")

_ROOM_FIELDS = frozenset(f.name for f in fields(RoomRecord))
_MEMBER_FIELDS = frozenset(f.name for f in fields(MemberRecord))


class LockTimeout(TimeoutError):
    """The room lock stayed taken for longer than the store's ``lock_wait``."""


_NB_FIELDS = ("share", "header", "seq", "live", "order", "active", "bytes")


def _header(values: list[str | None]) -> NotebookHeader | None:
    """A NotebookHeader from the ``nb`` hash's _NB_FIELDS (None: no share)."""
    share, header, seq, live, order, active, size = values
    if not share or not header:
        return None
    static = _loads(header)
    return NotebookHeader(
        share_id=share,
        sharer=static["sharer"],
        path=static["path"],
        language=static["language"],
        started_at=static["started_at"],
        seq=int(seq or 0),
        live=live == "1",
        order=list(_loads(order)) if order else [],
        active=active or None,
        bytes=int(size or 0),
    )


_DECODE_SLICE = 2_000_000  # bytes of a board decoded between two yields to the loop
_loads = msgspec.json.Decoder().decode  # faster than json.loads; a late join decodes the board


def _dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))


def _ms(seconds: float) -> int:
    return max(1, round(seconds * 1000))


def _digest(*parts: str) -> str:
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()


def _room_to_json(room: RoomRecord) -> str:
    data = asdict(room)
    data["banned"] = sorted(room.banned)
    data["banned_users"] = sorted(room.banned_users)
    return _dumps(data)


def _room_from_json(raw: str) -> RoomRecord:
    data = {k: v for k, v in _loads(raw).items() if k in _ROOM_FIELDS}
    data["banned"] = set(data.get("banned") or ())
    data["banned_users"] = set(data.get("banned_users") or ())
    return RoomRecord(**data)


def _member_to_json(member: MemberRecord) -> str:
    data = asdict(member)
    data["sockets"] = sorted(member.sockets)
    return _dumps(data)


def _member_from_json(raw: str) -> MemberRecord:
    data = {k: v for k, v in _loads(raw).items() if k in _MEMBER_FIELDS}
    data["sockets"] = set(data.get("sockets") or ())
    return MemberRecord(**data)


@dataclass(frozen=True)
class _Keys:
    room: str
    members: str
    order: str
    ops: str
    meta: str
    pending: str
    chat: str
    lock: str

    @classmethod
    def of(cls, prefix: str, room_id: str) -> _Keys:
        base = f"{prefix}room:{room_id}"
        return cls(
            room=base,
            members=f"{base}:members",
            order=f"{base}:order",
            ops=f"{base}:ops",
            meta=f"{base}:opmeta",
            pending=f"{base}:pending",
            chat=f"{base}:chat",
            lock=f"{base}:lock",
        )

    @property
    def data(self) -> list[str]:
        """Every key of the room but its lock (a lock outlives a delete under it)."""
        return [self.room, self.members, self.order, self.ops, self.meta, self.pending, self.chat]


MAX_CONNECTIONS = 64  # to Redis, per process: more commands at once wait for one


class RedisStore(Store):
    """Rooms in Redis, shared by every room-server process that uses the same ``url``.

    ``extend_window`` is as in :class:`~jupyter_classroom.store.MemoryStore`. The room lock
    is a lease (``SET NX PX``) of ``lock_ttl`` seconds, renewed while held, so a process that
    dies holding it blocks the room for at most that long; waiting for it gives up after
    ``lock_wait`` seconds with :class:`LockTimeout`.
    """

    def __init__(
        self,
        url: str,
        *,
        extend_window: int = EXTEND_WINDOW,
        prefix: str = "jc:",
        lock_ttl: float = 5.0,
        lock_wait: float = 10.0,
        redis: Redis | None = None,
    ) -> None:
        # A pool that makes a command wait for a free connection rather than fail: a class
        # leaving at once (hundreds of disconnects, each a few commands) would otherwise pass
        # redis-py's cap and turn departures into errors, leaving members present.
        self.redis: Redis = redis or Redis.from_pool(  # (the client owns it: closes it)
            BlockingConnectionPool.from_url(
                url, decode_responses=True, max_connections=MAX_CONNECTIONS, timeout=lock_wait
            )
        )
        self.prefix = prefix
        self.extend_window = extend_window
        self.lock_ttl = lock_ttl
        self.lock_wait = lock_wait
        self._index = f"{prefix}rooms"
        self._index_counter = f"{prefix}rooms:n"
        self._local_locks: dict[str, tuple[asyncio.Lock, int]] = {}
        self._folding: set[str] = set()  # rooms this process is folding now
        script = self.redis.register_script
        self._add_room = script(lua.ADD_ROOM)
        self._delete_room = script(lua.DELETE_ROOM)
        self._save_room = script(lua.SAVE_ROOM)
        self._save_member = script(lua.SAVE_MEMBER)
        self._next_present = script(lua.NEXT_PRESENT)
        self._append_op = script(lua.APPEND_OP)
        self._apply_fold = script(lua.APPLY_FOLD)
        self._board = script(lua.BOARD)
        self._append_chat = script(lua.APPEND_CHAT)
        self._add_failure = script(lua.ADD_FAILURE)
        self._refund_failure = script(lua.REFUND_FAILURE)
        self._release = script(lua.RELEASE)
        self._renew = script(lua.RENEW)
        self._raise_hand = script(lua.RAISE_HAND)
        self._lower_hand = script(lua.LOWER_HAND)
        self._save_field = script(lua.SAVE_FIELD)
        self._keep_board = script(lua.KEEP_BOARD)
        self._start_notebook = script(lua.START_NOTEBOOK)
        self._commit_notebook = script(lua.COMMIT_NOTEBOOK)
        self._notebook_batches = script(lua.NOTEBOOK_BATCHES)
        self._stop_notebook = script(lua.STOP_NOTEBOOK)
        self._allow_sharer = script(lua.ALLOW_SHARER)
        self._claim_due = script(lua.CLAIM_DUE)
        self._swap_video_room = script(lua.SWAP_VIDEO_ROOM)
        self._set_video_mode = script(lua.SET_VIDEO_MODE)
        self._set_video_policy = script(lua.SET_VIDEO_POLICY)

    def _keys(self, room_id: str) -> _Keys:
        return _Keys.of(self.prefix, room_id)

    async def close(self) -> None:
        await self.redis.aclose()

    # ---------------------------------------------------------------------------------------
    # the room lock

    def room_lock(self, room_id: str) -> AbstractAsyncContextManager[None]:
        return self._locked(room_id)

    @asynccontextmanager
    async def _locked(self, room_id: str) -> AsyncIterator[None]:
        # Contenders in this process queue on a local lock; only one of them polls Redis.
        lock, users = self._local_locks.get(room_id, (asyncio.Lock(), 0))
        self._local_locks[room_id] = (lock, users + 1)
        try:
            async with lock:
                key = self._keys(room_id).lock
                token = secrets.token_hex(16)
                await self._acquire(key, token)
                renewer = asyncio.ensure_future(self._keep_lease(key, token))
                try:
                    yield
                finally:
                    renewer.cancel()
                    await self._release(keys=[key], args=[token])
        finally:
            lock, users = self._local_locks[room_id]
            if users <= 1:
                del self._local_locks[room_id]
            else:
                self._local_locks[room_id] = (lock, users - 1)

    async def _acquire(self, key: str, token: str) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.lock_wait
        delay = 0.002
        while not await self.redis.set(key, token, nx=True, px=_ms(self.lock_ttl)):
            if loop.time() >= deadline:
                raise LockTimeout(f"the lock {key} stayed taken for {self.lock_wait} s")
            await asyncio.sleep(delay * random.uniform(0.5, 1.5))
            delay = min(delay * 2, 0.05)

    async def _keep_lease(self, key: str, token: str) -> None:
        while True:
            await asyncio.sleep(self.lock_ttl / 3)
            if not await self._renew(keys=[key], args=[token, _ms(self.lock_ttl)]):
                log.warning("classroom: lost the lease of %s while holding it", key)
                return

    # ---------------------------------------------------------------------------------------
    # rooms

    async def add_room(
        self, room: RoomRecord, *, max_rooms: int | None = None, max_per_owner: int | None = None
    ) -> None:
        keys = self._keys(room.id)
        owned = f"{self.prefix}owned:{_digest(room.quota_key or room.owner)}"
        limits = [-1 if limit is None else limit for limit in (max_rooms, max_per_owner)]
        added = await self._add_room(
            keys=[self._index, self._index_counter, *keys.data, owned],
            args=[room.id, _room_to_json(room), *limits],
        )
        if added == -1:
            raise RoomLimitReached("server")
        if added == -2:
            raise RoomLimitReached("owner")

    async def get_room(self, room_id: str) -> RoomRecord | None:
        raw = cast(str | None, await self.redis.hget(self._keys(room_id).room, "record"))
        return _room_from_json(raw) if raw else None

    async def save_room(self, room: RoomRecord) -> None:
        await self._save_room(keys=[self._keys(room.id).room], args=[_room_to_json(room)])

    async def delete_room(self, room_id: str) -> None:
        await self._delete_room(keys=[self._index, *self._keys(room_id).data], args=[room_id])
        await self.redis.delete(*self._lesson_keys(room_id), *self._notebook_keys(room_id))
        await self.redis.zrem(f"{self.prefix}breakouts:due", room_id)  # (its breakouts' timer)

    async def iter_rooms(self) -> AsyncIterator[RoomRecord]:
        room_ids = cast(list[str], await self.redis.zrange(self._index, 0, -1))
        if not room_ids:
            return
        async with self.redis.pipeline(transaction=False) as pipe:
            for room_id in room_ids:
                pipe.hget(self._keys(room_id).room, "record")
            records: list[str | None] = await pipe.execute()
        for raw in records:
            if raw:
                yield _room_from_json(raw)

    # ---------------------------------------------------------------------------------------
    # members

    async def get_members(self, room_id: str) -> list[MemberRecord]:
        keys = self._keys(room_id)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.zrange(keys.order, 0, -1)
            pipe.hgetall(keys.members)
            order, by_id = await pipe.execute()
        members = [
            _member_from_json(by_id.pop(member_id)) for member_id in order if member_id in by_id
        ]
        return members + [_member_from_json(raw) for raw in by_id.values()]

    async def get_member(self, room_id: str, member_id: str) -> MemberRecord | None:
        raw = cast(str | None, await self.redis.hget(self._keys(room_id).members, member_id))
        return _member_from_json(raw) if raw else None

    async def save_member(self, room_id: str, member: MemberRecord) -> None:
        keys = self._keys(room_id)
        await self._save_member(
            keys=[keys.room, keys.members, keys.order], args=[member.id, _member_to_json(member)]
        )

    async def delete_member(self, room_id: str, member_id: str) -> None:
        keys = self._keys(room_id)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hdel(keys.members, member_id)
            pipe.zrem(keys.order, member_id)
            await pipe.execute()

    async def next_present_order(self, room_id: str) -> int:
        order = int(await self._next_present(keys=[self._keys(room_id).room]))
        if order < 0:
            raise KeyError(room_id)
        return order

    # ---------------------------------------------------------------------------------------
    # board

    async def append_op(
        self,
        room_id: str,
        author: str,
        ts: str,
        op: dict[str, Any],
        budget: ByteBudget | None = None,
    ) -> dict[str, Any] | None:
        keys = self._keys(room_id)
        rest = _dumps({"author": author, "ts": ts, "op": op})
        b = budget or ByteBudget(size=0)
        result = await self._append_op(
            keys=[keys.room, keys.meta, keys.ops, keys.pending],
            args=[op["id"], author, op["type"], "," + rest[1:],
                  b.size, "1" if b.image else "0", b.board, b.author_images],
        )  # fmt: skip
        if result == -1:
            raise KeyError(room_id)
        if result == 0:
            return None
        if int(result[0]) < 0:
            raise BoardBudgetExceeded("board" if int(result[0]) == -2 else "images", int(result[1]))
        seq, pending = int(result[0]), int(result[1])
        if pending > self.extend_window and room_id not in self._folding:
            # One fold per room at a time here; the drawers' other extends go on meanwhile.
            self._folding.add(room_id)
            try:
                await self._fold(keys)
            finally:
                self._folding.discard(room_id)
        return {"seq": seq, "author": author, "ts": ts, "op": op}

    async def _fold(self, keys: _Keys) -> None:
        """Merge the pending ``extend`` ops into their strokes (see the module docstring)."""
        for _ in range(10):
            async with self.redis.pipeline(transaction=True) as pipe:
                pipe.hget(keys.room, "gen")
                pipe.lrange(keys.pending, 0, -1)
                gen, pending = await pipe.execute()
            if gen is None or len(pending) <= self.extend_window:
                return
            extends = [_loads(raw) for raw in await self._ops_at(keys, pending) if raw]
            targets = sorted({e["op"]["target"] for e in extends})
            target_meta = cast(
                list[str | None], await self.redis.hmget(keys.meta, targets) if targets else []
            )
            stroke_seqs: dict[str, int] = {}
            for target, meta in zip(targets, target_meta, strict=True):
                if meta:
                    _, kind, seq = meta.rsplit("\n", 2)
                    if kind == "stroke":
                        stroke_seqs[target] = int(seq)
            strokes: dict[str, dict[str, Any]] = {}
            for raw in await self._ops_at(keys, list(stroke_seqs.values())):
                if raw:
                    stroke = _loads(raw)
                    strokes[stroke["op"]["id"]] = stroke
            folded: list[int] = []
            for extend in extends:  # in seq order, as the pending list is
                stroke = strokes.get(extend["op"]["target"])
                if stroke is None or stroke["seq"] > extend["seq"]:
                    continue  # an extend with no stroke before it stays as it is
                stroke["op"]["points"].extend(extend["op"]["points"])
                folded.append(extend["seq"])
            args: list[Any] = [gen, len(pending), pending[-1], len(strokes)]
            for stroke in strokes.values():
                args += [stroke["seq"], _dumps(stroke)]
            args += folded
            if await self._apply_fold(keys=[keys.room, keys.ops, keys.pending], args=args):
                return

    async def _ops_at(self, keys: _Keys, seqs: list[Any]) -> list[str | None]:
        async with self.redis.pipeline(transaction=False) as pipe:
            for seq in seqs:
                pipe.zrangebyscore(keys.ops, seq, seq)
            found: list[list[str]] = await pipe.execute()
        return [entries[0] if entries else None for entries in found]

    async def op_meta(self, room_id: str, op_id: str) -> OpMeta | None:
        keys = self._keys(room_id)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.exists(keys.room)
            pipe.hget(keys.meta, op_id)
            exists, raw = await pipe.execute()
        if not exists:
            raise KeyError(room_id)
        if raw is None:
            return None
        author, kind, seq = raw.rsplit("\n", 2)
        return OpMeta(author=author, type=kind, seq=int(seq))

    async def board(self, room_id: str, since: int | None = None) -> BoardSlice:
        keys = self._keys(room_id)
        result = await self._board(
            keys=[keys.room, keys.ops], args=["" if since is None else int(since)]
        )
        if result is None:
            raise KeyError(room_id)
        seq, complete, raws = result
        # A big board decodes in slices, letting the loop serve other sockets in between.
        ops: list[dict[str, Any]] = []
        decoded = 0
        for raw in raws:
            ops.append(_loads(raw))
            decoded += len(raw)
            if decoded >= _DECODE_SLICE:
                decoded = 0
                await asyncio.sleep(0)
        return BoardSlice(seq=int(seq), ops=ops, complete=bool(complete))

    async def board_bytes(self, room_id: str, author: str | None = None) -> int:
        field = "bytes" if author is None else f"img:{author}"
        raw = await self.redis.hget(self._keys(room_id).room, field)
        return int(raw or 0)

    async def board_size(self, room_id: str) -> int:
        keys = self._keys(room_id)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.exists(keys.room)
            pipe.zcard(keys.ops)
            pipe.llen(keys.pending)
            exists, ops, pending = await pipe.execute()
        if not exists:
            raise KeyError(room_id)
        return int(ops) - int(pending)

    # ---------------------------------------------------------------------------------------
    # chat

    async def append_chat(self, room_id: str, message: dict[str, Any], backlog: int) -> None:
        keys = self._keys(room_id)
        if not await self._append_chat(
            keys=[keys.room, keys.chat], args=[_dumps(message), backlog]
        ):
            raise KeyError(room_id)

    async def chat(self, room_id: str) -> list[dict[str, Any]]:
        keys = self._keys(room_id)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.exists(keys.room)
            pipe.lrange(keys.chat, 0, -1)
            exists, messages = await pipe.execute()
        if not exists:
            raise KeyError(room_id)
        return [_loads(raw) for raw in messages]

    # ---------------------------------------------------------------------------------------
    # tickets and join throttling

    def _ticket_key(self, ticket: str) -> str:
        # Whoever can list the keys still cannot use a ticket: the key is its hash.
        return f"{self.prefix}ticket:{_digest(ticket)}"

    async def put_ticket(self, ticket: str, issued: Ticket, ttl: float) -> None:
        value = _dumps([issued.room_id, issued.member_id, issued.user])
        await self.redis.set(self._ticket_key(ticket), value, px=_ms(ttl))

    async def take_ticket(self, ticket: str) -> Ticket | None:
        key = self._ticket_key(ticket)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.get(key)
            pipe.delete(key)
            raw, _ = await pipe.execute()
        if raw is None:
            return None
        entry = [str(part) for part in _loads(raw)]
        if len(entry) != 3:
            return None  # written by a version whose tickets named no user: redeem none
        return Ticket(room_id=entry[0], member_id=entry[1], user=entry[2])

    def _failures_key(self, user: str, room_id: str) -> str:
        return f"{self.prefix}fail:{_digest(user, room_id)}"

    async def join_failures(self, user: str, room_id: str) -> int:
        raw = await self.redis.get(self._failures_key(user, room_id))
        return int(raw) if raw else 0

    async def add_join_failure(self, user: str, room_id: str, window: float) -> int:
        return int(
            await self._add_failure(keys=[self._failures_key(user, room_id)], args=[_ms(window)])
        )

    async def reset_join_failures(self, user: str, room_id: str) -> None:
        await self.redis.delete(self._failures_key(user, room_id))

    async def refund_join_failure(self, user: str, room_id: str) -> None:
        await self._refund_failure(keys=[self._failures_key(user, room_id)])

    # ---------------------------------------------------------------------------------------
    # processes and their sockets

    def _proc_key(self, process_id: str, what: str) -> str:
        return f"{self.prefix}proc:{process_id}:{what}"

    async def heartbeat(self, process_id: str, ttl: float) -> None:
        await self.redis.set(self._proc_key(process_id, "alive"), "1", px=_ms(ttl))

    async def track_socket(self, process_id: str, sid: str, room_id: str, member_id: str) -> None:
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.sadd(f"{self.prefix}procs", process_id)
            pipe.hset(self._proc_key(process_id, "sockets"), f"{sid} {room_id}", member_id)
            await pipe.execute()

    async def untrack_socket(self, process_id: str, sid: str, room_id: str) -> None:
        await self.redis.hdel(self._proc_key(process_id, "sockets"), f"{sid} {room_id}")

    async def _tracked(self, process_id: str) -> list[tuple[str, str, str]]:
        tracked = cast(
            dict[str, str], await self.redis.hgetall(self._proc_key(process_id, "sockets"))
        )
        return [
            (sid, room_id, member_id)
            for key, member_id in tracked.items()
            for sid, _, room_id in [key.partition(" ")]
        ]

    async def tracked_sockets(self) -> dict[str, list[tuple[str, str, str]]]:
        processes = cast(set[str], await self.redis.smembers(f"{self.prefix}procs"))
        return {process_id: await self._tracked(process_id) for process_id in sorted(processes)}

    async def dead_processes(self) -> dict[str, list[tuple[str, str, str]]]:
        dead: dict[str, list[tuple[str, str, str]]] = {}
        processes = cast(set[str], await self.redis.smembers(f"{self.prefix}procs"))
        for process_id in sorted(processes):
            if await self.redis.exists(self._proc_key(process_id, "alive")):
                continue
            dead[process_id] = await self._tracked(process_id)
        return dead

    async def forget_process(self, process_id: str) -> None:
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.delete(self._proc_key(process_id, "sockets"))
            pipe.srem(f"{self.prefix}procs", process_id)
            await pipe.execute()

    # ---------------------------------------------------------------------------------------
    # the tools of a lesson: hands and breakouts

    def _lesson_keys(self, room_id: str) -> list[str]:
        """The room's hands (order, then Hand JSON) and its recalled breakouts' boards."""
        base = self._keys(room_id).room
        return [f"{base}:hands", f"{base}:handq", f"{base}:kept"]

    async def hands(self, room_id: str) -> list[dict[str, Any]]:
        order, by_member, _ = self._lesson_keys(room_id)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.zrange(order, 0, -1)
            pipe.hgetall(by_member)
            members, hands = await pipe.execute()
        return [_loads(hands[member]) for member in members if member in hands]

    async def raise_hand(self, room_id: str, hand: dict[str, Any]) -> bool:
        order, by_member, _ = self._lesson_keys(room_id)
        keys = [self._keys(room_id).room, order, by_member]
        return bool(await self._raise_hand(keys=keys, args=[hand["member_id"], _dumps(hand)]))

    async def lower_hand(self, room_id: str, member_id: str | None) -> dict[str, Any] | None:
        order, by_member, _ = self._lesson_keys(room_id)
        raw = await self._lower_hand(keys=[order, by_member], args=[member_id or ""])
        return _loads(raw) if raw else None

    async def breakouts(self, room_id: str) -> dict[str, Any] | None:
        raw = await self.redis.hget(self._keys(room_id).room, "breakouts")
        return _loads(raw) if raw else None

    async def save_breakouts(self, room_id: str, state: dict[str, Any] | None) -> None:
        value = "" if state is None else _dumps(state)
        await self._save_field(keys=[self._keys(room_id).room], args=["breakouts", value])

    async def set_breakout_deadline(self, room_id: str, at: float | None) -> None:
        key = f"{self.prefix}breakouts:due"
        if at is None:
            await self.redis.zrem(key, room_id)
        else:
            await self.redis.zadd(key, {room_id: at})

    async def claim_due_breakouts(self, now: float, lease: float) -> list[str]:
        due = await self._claim_due(
            keys=[f"{self.prefix}breakouts:due"], args=[repr(now), repr(now + lease)]
        )
        return [d.decode() if isinstance(d, bytes) else str(d) for d in due]

    async def keep_board(self, room_id: str, breakout_id: str, board: dict[str, Any]) -> None:
        kept = self._lesson_keys(room_id)[2]
        await self._keep_board(
            keys=[self._keys(room_id).room, kept], args=[breakout_id, _dumps(board)]
        )

    async def kept_board(self, room_id: str, breakout_id: str) -> dict[str, Any] | None:
        raw = await self.redis.hget(self._lesson_keys(room_id)[2], breakout_id)
        return _loads(raw) if raw else None

    async def forget_kept_boards(self, room_id: str, breakout_ids: list[str]) -> None:
        if breakout_ids:
            await self.redis.hdel(self._lesson_keys(room_id)[2], *breakout_ids)

    # ---------------------------------------------------------------------------------------
    # shared notebooks: a cell per hash field, so a keystroke writes one cell's head

    def _notebook_keys(self, room_id: str) -> list[str]:
        """The share's hash, its cells' heads and outputs, its batch log, the sharers."""
        base = self._keys(room_id).room
        return [f"{base}:nb", f"{base}:nbheads", f"{base}:nbout", f"{base}:nblog",
                f"{base}:sharers"]  # fmt: skip

    async def notebook_header(self, room_id: str) -> NotebookHeader | None:
        nb = self._notebook_keys(room_id)[0]
        return _header(cast(list[str | None], await self.redis.hmget(nb, list(_NB_FIELDS))))

    async def notebook_heads(self, room_id: str, cell_ids: list[str]) -> dict[str, dict[str, Any]]:
        if not cell_ids:
            return {}
        heads = self._notebook_keys(room_id)[1]
        raws = cast(list[str | None], await self.redis.hmget(heads, cell_ids))
        return {i: _loads(raw) for i, raw in zip(cell_ids, raws, strict=True) if raw}

    async def notebook(self, room_id: str) -> tuple[NotebookHeader, list[dict[str, Any]]] | None:
        nb, heads_key, outs_key, _, _ = self._notebook_keys(room_id)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hmget(nb, list(_NB_FIELDS))
            pipe.hgetall(heads_key)
            pipe.hgetall(outs_key)
            values, heads, outs = await pipe.execute()
        header = _header(values)
        if header is None:
            return None
        cells = []
        for cell_id in header.order:
            head = _loads(heads[cell_id])
            head.pop("ob", None)
            head["outputs"] = _loads(outs[cell_id]) if cell_id in outs else []
            cells.append(head)
        return header, cells

    async def start_notebook(
        self,
        room_id: str,
        header: NotebookHeader,
        heads: list[dict[str, Any]],
        outputs: dict[str, list[dict[str, Any]]],
    ) -> NotebookHeader | None:
        static = {"sharer": header.sharer, "path": header.path, "language": header.language,
                  "started_at": header.started_at}  # fmt: skip
        args: list[Any] = [header.share_id, _dumps(static), _dumps(header.order),
                           header.active or "", header.bytes, len(heads)]  # fmt: skip
        for head in heads:
            args += [head["id"], _dumps(head), _dumps(outputs.get(head["id"], []))]
        nb, heads_key, outs_key, log, _ = self._notebook_keys(room_id)
        keys = [self._keys(room_id).room, nb, heads_key, outs_key, log]
        previous = await self._start_notebook(keys=keys, args=args)  # _NB_FIELDS, before
        return _header(list(previous)) if previous else None

    async def commit_notebook(
        self, room_id: str, commit: NotebookCommit, log_size: int, log_bytes: int
    ) -> bool:
        rest = _dumps({"patches": commit.batch})
        args: list[Any] = [
            commit.share_id, commit.seq, "," + rest[1:], commit.bytes,
            "1" if commit.order is not None else "0", _dumps(commit.order or []),
            "1" if commit.active_changed else "0", commit.active or "",
            log_size, log_bytes, len(commit.heads), len(commit.outputs), len(commit.deleted),
        ]  # fmt: skip
        for cell_id, head in commit.heads.items():
            args += [cell_id, _dumps(head)]
        for cell_id, outputs in commit.outputs.items():
            args += [cell_id, _dumps(outputs)]
        args += commit.deleted
        nb, heads_key, outs_key, log, _ = self._notebook_keys(room_id)
        keys = [self._keys(room_id).room, nb, heads_key, outs_key, log]
        return bool(await self._commit_notebook(keys=keys, args=args))

    async def notebook_batches(
        self, room_id: str, share_id: str, since: int
    ) -> list[dict[str, Any]] | None:
        nb, _, _, log, _ = self._notebook_keys(room_id)
        raws = await self._notebook_batches(keys=[nb, log], args=[share_id, since])
        if raws is None:
            return None
        batches = [_loads(raw) for raw in raws]
        if batches and batches[0]["seq"] != since + 1:
            return None
        return batches

    async def stop_notebook(self, room_id: str, share_id: str) -> bool:
        nb = self._notebook_keys(room_id)[0]
        return bool(await self._stop_notebook(keys=[nb], args=[share_id]))

    async def notebook_sharers(self, room_id: str) -> list[str]:
        sharers = self._notebook_keys(room_id)[4]
        return list(cast(list[str], await self.redis.zrange(sharers, 0, -1)))

    async def allow_sharer(self, room_id: str, member_id: str, allowed: bool) -> list[str]:
        keys = [self._keys(room_id).room, self._notebook_keys(room_id)[4]]
        result = await self._allow_sharer(keys=keys, args=[member_id, "1" if allowed else "0"])
        return [str(member) for member in result]

    async def video_room(self, room_id: str) -> str | None:
        return cast(str | None, await self.redis.get(f"{self.prefix}video:{room_id}"))

    async def swap_video_room(
        self, room_id: str, expected: str | None, new: str | None
    ) -> str | None:
        keys = [f"{self.prefix}video:{room_id}", self._keys(room_id).room]
        now = await self._swap_video_room(keys=keys, args=[expected or "", new or ""])
        return str(now) or None

    async def video_mode(self, room_id: str) -> str | None:
        return cast(str | None, await self.redis.hget(self._keys(room_id).room, "video_mode"))

    async def set_video_mode(self, room_id: str, mode: str) -> bool:
        return bool(await self._set_video_mode(keys=[self._keys(room_id).room], args=[mode]))

    async def video_policy(self, room_id: str) -> str | None:
        return cast(str | None, await self.redis.hget(self._keys(room_id).room, "video_policy"))

    async def set_video_policy(self, room_id: str, policy: str) -> bool:
        keys = [self._keys(room_id).room]
        return bool(await self._set_video_policy(keys=keys, args=[policy]))
