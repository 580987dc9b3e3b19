"""The in-memory Store: the default for one Jupyter server process."""

from __future__ import annotations

import asyncio
import bisect
import time
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from typing import Any

import msgspec

from ..board import fold_extends
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


@dataclass
class _Board:
    seq: int = 0
    ops: list[dict[str, Any]] = field(default_factory=list)
    meta: dict[str, OpMeta] = field(default_factory=dict)
    # Deltas are exact for `since >= floor`; folding extends rewrites older entries.
    floor: int = 0
    unfolded_extends: int = 0
    bytes: int = 0  # encoded size of every op appended (a budget's count)
    image_bytes: dict[str, int] = field(default_factory=dict)  # author -> image bytes


@dataclass
class _Lesson:
    """A room's raised hands (by member id, in raise order), open breakouts and the boards
    of its recalled breakouts."""

    hands: dict[str, dict[str, Any]] = field(default_factory=dict)
    breakouts: dict[str, Any] | None = None
    kept: dict[str, dict[str, Any]] = field(default_factory=dict)


@dataclass
class _Notebook:
    """A room's shared notebook: its header, each cell's head and outputs, the batch log."""

    header: NotebookHeader
    heads: dict[str, dict[str, Any]]
    outputs: dict[str, list[dict[str, Any]]]
    log: deque[tuple[dict[str, Any], int]] = field(default_factory=deque)  # (batch, bytes)
    log_bytes: int = 0


@dataclass
class _Room:
    record: RoomRecord
    members: dict[str, MemberRecord] = field(default_factory=dict)
    board: _Board = field(default_factory=_Board)
    chat: deque[dict[str, Any]] = field(default_factory=deque)
    present_counter: int = 0
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    lesson: _Lesson = field(default_factory=_Lesson)
    notebook: _Notebook | None = None
    sharers: list[str] = field(default_factory=list)
    video_mode: str | None = None  # decided once (SFU: store/base.py)
    video_policy: str | None = None  # the host's lecture controls (JSON)


_encode = msgspec.json.Encoder().encode


class MemoryStore(Store):
    """Rooms in this process's memory.

    ``extend_window`` bounds how many ``extend`` ops are kept as they came before they are
    folded into their strokes: a reconnecting client whose ``since`` is older than the last
    fold gets the whole board (``complete: true``) instead of a delta.
    """

    max_tickets = 100_000  # live tickets kept at most (each user asks at most ~1/s)

    def __init__(self, extend_window: int = EXTEND_WINDOW) -> None:
        self._rooms: dict[str, _Room] = {}
        self._tickets: dict[str, tuple[Ticket, float]] = {}  # ticket -> (what, expiry)
        self._failures: dict[tuple[str, str], tuple[int, float]] = {}
        self._deadlines: dict[str, float] = {}  # room id -> when its breakouts end
        self._video_rooms: dict[str, str] = {}  # room id -> its VideoRoom record (SFU)
        self.extend_window = extend_window

    def _room(self, room_id: str) -> _Room:
        return self._rooms[room_id]

    @asynccontextmanager
    async def _locked(self, room_id: str) -> AsyncIterator[None]:
        room = self._rooms.get(room_id)
        if room is None:
            yield
            return
        async with room.lock:
            yield

    def room_lock(self, room_id: str) -> Any:
        return self._locked(room_id)

    async def add_room(
        self, room: RoomRecord, *, max_rooms: int | None = None, max_per_owner: int | None = None
    ) -> None:
        # no await between the count and the insert: atomic on the event loop
        if max_rooms is not None and len(self._rooms) >= max_rooms:
            raise RoomLimitReached("server")
        if max_per_owner is not None:
            quota = room.quota_key or room.owner
            owned = sum(
                1 for r in self._rooms.values() if (r.record.quota_key or r.record.owner) == quota
            )
            if owned >= max_per_owner:
                raise RoomLimitReached("owner")
        self._rooms[room.id] = _Room(record=room)

    async def get_room(self, room_id: str) -> RoomRecord | None:
        room = self._rooms.get(room_id)
        return room.record if room else None

    async def save_room(self, room: RoomRecord) -> None:
        if room.id in self._rooms:
            self._rooms[room.id].record = room

    async def delete_room(self, room_id: str) -> None:
        self._rooms.pop(room_id, None)
        self._deadlines.pop(room_id, None)

    async def iter_rooms(self) -> AsyncIterator[RoomRecord]:
        for room in list(self._rooms.values()):
            yield room.record

    async def get_members(self, room_id: str) -> list[MemberRecord]:
        room = self._rooms.get(room_id)
        return list(room.members.values()) if room else []

    async def get_member(self, room_id: str, member_id: str) -> MemberRecord | None:
        room = self._rooms.get(room_id)
        return room.members.get(member_id) if room else None

    async def save_member(self, room_id: str, member: MemberRecord) -> None:
        room = self._rooms.get(room_id)
        if room is not None:
            room.members[member.id] = member

    async def delete_member(self, room_id: str, member_id: str) -> None:
        room = self._rooms.get(room_id)
        if room is not None:
            room.members.pop(member_id, None)

    async def next_present_order(self, room_id: str) -> int:
        room = self._room(room_id)
        room.present_counter += 1
        return room.present_counter

    async def append_op(
        self,
        room_id: str,
        author: str,
        ts: str,
        op: dict[str, Any],
        budget: ByteBudget | None = None,
    ) -> dict[str, Any] | None:
        board = self._room(room_id).board
        if op["id"] in board.meta:
            return None
        if budget is not None:  # no await from the checks to the append: atomic on the loop
            if budget.board and board.bytes + budget.size > budget.board:
                raise BoardBudgetExceeded("board", board.bytes)
            if budget.image:
                mine = board.image_bytes.get(author, 0)
                if budget.author_images and mine + budget.size > budget.author_images:
                    raise BoardBudgetExceeded("images", mine)
                board.image_bytes[author] = mine + budget.size
            board.bytes += budget.size
        board.seq += 1
        board_op = {"seq": board.seq, "author": author, "ts": ts, "op": op}
        board.ops.append(board_op)
        board.meta[op["id"]] = OpMeta(author=author, type=op["type"], seq=board.seq)
        if op["type"] == "extend":
            board.unfolded_extends += 1
            if board.unfolded_extends > self.extend_window:
                board.ops = fold_extends(board.ops)
                board.floor = board.seq
                board.unfolded_extends = 0
        return board_op

    async def op_meta(self, room_id: str, op_id: str) -> OpMeta | None:
        return self._room(room_id).board.meta.get(op_id)

    async def board(self, room_id: str, since: int | None = None) -> BoardSlice:
        board = self._room(room_id).board
        if since is not None and board.floor <= since <= board.seq:
            start = bisect.bisect_right(board.ops, since, key=lambda o: o["seq"])
            return BoardSlice(seq=board.seq, ops=board.ops[start:], complete=False)
        return BoardSlice(seq=board.seq, ops=list(board.ops), complete=True)

    async def board_bytes(self, room_id: str, author: str | None = None) -> int:
        board = self._room(room_id).board
        return board.bytes if author is None else board.image_bytes.get(author, 0)

    async def board_size(self, room_id: str) -> int:
        board = self._room(room_id).board
        return len(board.ops) - board.unfolded_extends

    async def append_chat(self, room_id: str, message: dict[str, Any], backlog: int) -> None:
        chat = self._room(room_id).chat
        chat.append(message)
        while len(chat) > backlog:
            chat.popleft()

    async def chat(self, room_id: str) -> list[dict[str, Any]]:
        return list(self._room(room_id).chat)

    async def put_ticket(self, ticket: str, issued: Ticket, ttl: float) -> None:
        # Tickets are kept in the order they were issued, which (one ttl for all) is the order
        # they expire in: dropping expired ones from the front costs O(1) per issue, amortised.
        # Past max_tickets the oldest goes early, so the table stays bounded whatever the rate.
        now = time.monotonic()
        tickets = self._tickets
        while tickets:
            oldest = next(iter(tickets))
            if tickets[oldest][1] >= now and len(tickets) < self.max_tickets:
                break
            del tickets[oldest]
        tickets[ticket] = (issued, now + ttl)

    async def take_ticket(self, ticket: str) -> Ticket | None:
        entry = self._tickets.pop(ticket, None)
        if entry is None or entry[1] < time.monotonic():
            return None
        return entry[0]

    async def join_failures(self, user: str, room_id: str) -> int:
        count, expires = self._failures.get((user, room_id), (0, 0.0))
        return count if expires > time.monotonic() else 0

    async def add_join_failure(self, user: str, room_id: str, window: float) -> int:
        now = time.monotonic()
        if len(self._failures) > 10_000:  # forget expired entries so the table stays bounded
            self._failures = {k: v for k, v in self._failures.items() if v[1] > now}
        count, expires = self._failures.get((user, room_id), (0, 0.0))
        if expires <= now:
            count, expires = 0, now + window
        self._failures[(user, room_id)] = (count + 1, expires)
        return count + 1

    async def reset_join_failures(self, user: str, room_id: str) -> None:
        self._failures.pop((user, room_id), None)

    async def refund_join_failure(self, user: str, room_id: str) -> None:
        count, expires = self._failures.get((user, room_id), (0, 0.0))
        if count > 1 and expires > time.monotonic():
            self._failures[(user, room_id)] = (count - 1, expires)
        else:
            self._failures.pop((user, room_id), None)

    # ---------------------------------------------------------------------------------------
    # the tools of a lesson (no await between a check and its change: atomic on the loop)

    async def hands(self, room_id: str) -> list[dict[str, Any]]:
        room = self._rooms.get(room_id)
        return list(room.lesson.hands.values()) if room else []

    async def raise_hand(self, room_id: str, hand: dict[str, Any]) -> bool:
        room = self._rooms.get(room_id)
        if room is None or hand["member_id"] in room.lesson.hands:
            return False
        room.lesson.hands[hand["member_id"]] = hand
        return True

    async def lower_hand(self, room_id: str, member_id: str | None) -> dict[str, Any] | None:
        room = self._rooms.get(room_id)
        if room is None or not room.lesson.hands:
            return None
        if member_id is None:
            member_id = next(iter(room.lesson.hands))
        return room.lesson.hands.pop(member_id, None)

    async def breakouts(self, room_id: str) -> dict[str, Any] | None:
        room = self._rooms.get(room_id)
        return room.lesson.breakouts if room else None

    async def save_breakouts(self, room_id: str, state: dict[str, Any] | None) -> None:
        room = self._rooms.get(room_id)
        if room is not None:
            room.lesson.breakouts = state

    async def set_breakout_deadline(self, room_id: str, at: float | None) -> None:
        if at is None:
            self._deadlines.pop(room_id, None)
        elif room_id in self._rooms:
            self._deadlines[room_id] = at

    async def claim_due_breakouts(self, now: float, lease: float) -> list[str]:
        due = [room_id for room_id, at in self._deadlines.items() if at <= now]
        for room_id in due:
            self._deadlines[room_id] = now + lease
        return due

    async def keep_board(self, room_id: str, breakout_id: str, board: dict[str, Any]) -> None:
        room = self._rooms.get(room_id)
        if room is not None:
            room.lesson.kept[breakout_id] = board

    async def kept_board(self, room_id: str, breakout_id: str) -> dict[str, Any] | None:
        room = self._rooms.get(room_id)
        return room.lesson.kept.get(breakout_id) if room else None

    async def forget_kept_boards(self, room_id: str, breakout_ids: list[str]) -> None:
        room = self._rooms.get(room_id)
        if room is not None:
            for breakout_id in breakout_ids:
                room.lesson.kept.pop(breakout_id, None)

    # ---------------------------------------------------------------------------------------
    # shared notebooks (copies in and out: callers change what they get)

    def _notebook(self, room_id: str) -> _Notebook | None:
        room = self._rooms.get(room_id)
        return room.notebook if room else None

    async def notebook_header(self, room_id: str) -> NotebookHeader | None:
        shared = self._notebook(room_id)
        return replace(shared.header, order=list(shared.header.order)) if shared else None

    async def notebook_heads(self, room_id: str, cell_ids: list[str]) -> dict[str, dict[str, Any]]:
        shared = self._notebook(room_id)
        if shared is None:
            return {}
        return {i: dict(shared.heads[i]) for i in cell_ids if i in shared.heads}

    async def notebook(self, room_id: str) -> tuple[NotebookHeader, list[dict[str, Any]]] | None:
        shared = self._notebook(room_id)
        if shared is None:
            return None
        cells = []
        for cell_id in shared.header.order:
            head = {k: v for k, v in shared.heads[cell_id].items() if k != "ob"}
            cells.append({**head, "outputs": list(shared.outputs.get(cell_id, []))})
        return replace(shared.header, order=list(shared.header.order)), cells

    async def start_notebook(
        self,
        room_id: str,
        header: NotebookHeader,
        heads: list[dict[str, Any]],
        outputs: dict[str, list[dict[str, Any]]],
    ) -> NotebookHeader | None:
        room = self._rooms.get(room_id)
        if room is None:
            return None
        previous = room.notebook.header if room.notebook else None
        room.notebook = _Notebook(
            header=replace(header, order=list(header.order)),
            heads={head["id"]: dict(head) for head in heads},
            outputs=dict(outputs),
        )
        return previous

    async def commit_notebook(
        self, room_id: str, commit: NotebookCommit, log_size: int, log_bytes: int
    ) -> bool:
        shared = self._notebook(room_id)
        if shared is None:
            return False
        header = shared.header
        if header.share_id != commit.share_id or not header.live or header.seq != commit.seq:
            return False
        for cell_id in commit.deleted:
            shared.heads.pop(cell_id, None)
            shared.outputs.pop(cell_id, None)
        shared.heads.update(commit.heads)
        shared.outputs.update(commit.outputs)
        if commit.order is not None:
            header.order = list(commit.order)
        if commit.active_changed:
            header.active = commit.active
        header.bytes = commit.bytes
        header.seq += 1
        batch = {"seq": header.seq, "patches": commit.batch}
        size = len(_encode(batch))
        shared.log.append((batch, size))
        shared.log_bytes += size
        while shared.log and (len(shared.log) > log_size or shared.log_bytes > log_bytes):
            shared.log_bytes -= shared.log.popleft()[1]
        return True

    async def notebook_batches(
        self, room_id: str, share_id: str, since: int
    ) -> list[dict[str, Any]] | None:
        shared = self._notebook(room_id)
        if shared is None or shared.header.share_id != share_id or since > shared.header.seq:
            return None
        batches = [batch for batch, _ in shared.log if batch["seq"] > since]
        first = batches[0]["seq"] if batches else shared.header.seq + 1
        return batches if first == since + 1 else None

    async def stop_notebook(self, room_id: str, share_id: str) -> bool:
        shared = self._notebook(room_id)
        if shared is None or shared.header.share_id != share_id or not shared.header.live:
            return False
        shared.header.live = False
        return True

    async def notebook_sharers(self, room_id: str) -> list[str]:
        room = self._rooms.get(room_id)
        return list(room.sharers) if room else []

    async def allow_sharer(self, room_id: str, member_id: str, allowed: bool) -> list[str]:
        room = self._rooms.get(room_id)
        if room is None:
            return []
        if allowed and member_id not in room.sharers:
            room.sharers.append(member_id)
        elif not allowed and member_id in room.sharers:
            room.sharers.remove(member_id)
        return list(room.sharers)

    async def video_room(self, room_id: str) -> str | None:
        return self._video_rooms.get(room_id)

    async def swap_video_room(
        self, room_id: str, expected: str | None, new: str | None
    ) -> str | None:
        # no await: atomic on the event loop
        now = self._video_rooms.get(room_id)
        if now != expected or (expected is None and room_id not in self._rooms):
            return now
        if new is None:
            self._video_rooms.pop(room_id, None)
        else:
            self._video_rooms[room_id] = new
        return new

    async def video_mode(self, room_id: str) -> str | None:
        room = self._rooms.get(room_id)
        return room.video_mode if room else None

    async def set_video_mode(self, room_id: str, mode: str) -> bool:
        room = self._rooms.get(room_id)
        if room is None or room.video_mode is not None:
            return False
        room.video_mode = mode
        return True

    async def video_policy(self, room_id: str) -> str | None:
        room = self._rooms.get(room_id)
        return room.video_policy if room else None

    async def set_video_policy(self, room_id: str, policy: str) -> bool:
        room = self._rooms.get(room_id)
        if room is None:
            return False
        room.video_policy = policy
        return True
