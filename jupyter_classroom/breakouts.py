"""Breakout rooms: the host splits a room's members into groups, each in a room of its own.

A breakout is a real room (own board, chat and video), unlisted, with ``parent_id`` = the main
room and ``invited`` = the member ids of its group; its host is the main room's host. Its
members stay members of the main room meanwhile. The main room's record in the Store holds
its breakouts record (``Store.save_breakouts``): the open breakouts (``token``, ``breakouts``,
``ends_at``) and the groups whose boards were kept (``kept``, for a member who joins or reloads
later). On recall each breakout's board is kept with the main room (``Store.keep_board``) and
the breakout room is deleted.

The timer: ``ends_at`` is in the Store, with a deadline in the Store's index of timed breakouts
(``Store.set_breakout_deadline``); any process's sweep claims the due ones (``due``: each
deadline goes to one claimant, atomically) and recalls them, so the breakouts end on time even
when the process that opened them has stopped.

Pure logic, like :mod:`jupyter_classroom.rooms`: the Socket.IO layer
(``server/lesson_events.py``) emits, closes the breakouts' channels and runs the timer.
"""

from __future__ import annotations

import random
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

from . import protocol as p
from .protocol import ErrorCode, ProtocolError
from .store import RoomRecord, Store
from .store.base import RoomLimitReached

if TYPE_CHECKING:  # rooms.py calls check_admission: no import of it at run time
    from .rooms import Rooms


KEPT_LISTED = (
    100  # the kept groups (and boards) a room keeps and a join ack lists: the last recalled
)
CLAIM_LEASE = 60.0  # seconds a sweep's claim of due breakouts holds before another may take it


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _epoch(iso: str) -> float:
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()


def _open(state: dict[str, Any] | None) -> dict[str, Any] | None:
    """The breakouts record if breakouts are open (it has their ``token``), else None."""
    return state if state is not None and state.get("token") else None


def _kept(state: dict[str, Any] | None) -> list[dict[str, Any]]:
    return list(state.get("kept") or []) if state is not None else []


async def check_admission(store: Store, room: RoomRecord, member_id: str) -> None:
    """A breakout room admits its group and the main room's host (a visit), no one else."""
    if member_id in room.invited:
        return
    parent = await store.get_room(room.parent_id)
    if parent is not None and parent.host_id == member_id:
        return
    raise ProtocolError(
        ErrorCode.FORBIDDEN,
        "this breakout room is for the members of its group and the main room's host",
    )


@dataclass
class Opened:
    room_id: str
    breakouts: list[dict[str, Any]]
    ends_at: str | None
    minutes: float | None
    token: str  # this opening's id: a timer recalls these breakouts, not later ones


@dataclass
class ClosedBreakout:
    room_id: str  # a breakout room deleted by the recall


@dataclass
class Recalled:
    room_id: str
    breakouts: list[dict[str, Any]]
    closed: list[ClosedBreakout]


class Breakouts:
    def __init__(self, rooms: Rooms) -> None:
        self.rooms = rooms
        self.store = rooms.store

    async def open(self, member_id: str | None, sid: str, req: p.BreakoutOpen) -> Opened:
        room = await self.rooms.require_host(req.room_id, member_id, sid)
        if room.parent_id:
            raise ProtocolError(ErrorCode.BAD_REQUEST, "a breakout room cannot have breakouts")
        async with self.store.room_lock(room.id):
            room = await self.rooms.require_host(req.room_id, member_id, sid)  # fresh
            previous = await self.store.breakouts(room.id)
            if _open(previous) is not None:
                raise ProtocolError(
                    ErrorCode.CONFLICT, "breakouts are already open; recall them first"
                )
            members = await self.store.get_members(room.id)
            groups = self._groups(req, room, [m.id for m in members if m.present])
            breakouts = await self._make_rooms(room, groups)
            ends_at = None
            if req.minutes is not None:
                ends_at = _iso(datetime.now(timezone.utc) + timedelta(minutes=req.minutes))
            token = uuid.uuid4().hex[:12]
            state = {
                "token": token,
                "breakouts": breakouts,
                "ends_at": ends_at,
                "kept": _kept(previous),
            }
            await self.store.save_breakouts(room.id, state)
            if req.minutes is not None:
                await self.store.set_breakout_deadline(room.id, time.time() + req.minutes * 60)
        if req.copy_board:
            # Out of the main room's lock (a big board takes a while); nobody knows the
            # breakout rooms before breakout:opened, so no one sees a board half copied.
            board = await self.store.board(room.id)
            for breakout in breakouts:
                try:
                    for board_op in board.ops:
                        await self.store.append_op(
                            breakout["room_id"], board_op["author"], board_op["ts"], board_op["op"]
                        )
                except KeyError:
                    continue  # recalled meanwhile
        return Opened(room.id, breakouts, ends_at, req.minutes, token)

    @staticmethod
    def _groups(req: p.BreakoutOpen, room: RoomRecord, present: list[str]) -> list[list[str]]:
        if req.groups is not None:
            known = set(present)
            seen: set[str] = set()
            for group in req.groups:
                for member in group:
                    if member not in known:
                        raise ProtocolError(
                            ErrorCode.BAD_REQUEST,
                            f"{member!r} is not a member present in this room; "
                            "groups list the member ids of present members",
                        )
                    if member in seen:
                        raise ProtocolError(
                            ErrorCode.BAD_REQUEST, f"{member!r} is in two groups; put them in one"
                        )
                    seen.add(member)
            return [list(group) for group in req.groups]
        count = req.count or p.MIN_BREAKOUTS
        others = [member for member in present if member != room.host_id]
        if len(others) < count:
            raise ProtocolError(
                ErrorCode.BAD_REQUEST,
                f"{len(others)} members besides you cannot make {count} groups; "
                "ask for fewer groups",
            )
        random.shuffle(others)
        return [others[i::count] for i in range(count)]

    async def _make_rooms(self, main: RoomRecord, groups: list[list[str]]) -> list[dict[str, Any]]:
        """One unlisted room per group; none when the server has no room for all of them."""
        breakouts: list[dict[str, Any]] = []
        try:
            for number, group in enumerate(groups, start=1):
                record = RoomRecord(
                    id=uuid.uuid4().hex[:12],
                    title=f"Group {number}",
                    host_id=main.host_id,
                    owner=main.owner,
                    created_at=_iso(datetime.now(timezone.utc)),
                    max_members=main.max_members,
                    listed=False,
                    quota_key=main.quota_key,
                    creator=main.host_id,  # the host may always visit and hosts when there
                    parent_id=main.id,
                    invited=list(group),
                )
                # not counted against the owner's rooms: a class of 20 groups is one lesson
                await self.store.add_room(record, max_rooms=self.rooms.limits.max_rooms)
                breakouts.append({"room_id": record.id, "title": record.title, "members": group})
        except RoomLimitReached:
            for breakout in breakouts:
                await self.store.delete_room(breakout["room_id"])
            raise ProtocolError(
                ErrorCode.RATE_LIMITED,
                f"this server has no room for {len(groups)} more rooms; ask for fewer groups",
            ) from None
        return breakouts

    async def open_state(self, room_id: str) -> dict[str, Any] | None:
        """The open breakouts' record (``token``, ``breakouts``, ``ends_at``), or None."""
        return _open(await self.store.breakouts(room_id))

    async def kept(self, room_id: str) -> list[dict[str, Any]]:
        """The groups (Breakout dicts) whose boards the room keeps, the last recalled last."""
        return _kept(await self.store.breakouts(room_id))

    async def due(self, now: float | None = None) -> list[tuple[str, str]]:
        """Claim the timed breakouts whose time has passed: ``(room_id, token)`` of each. The
        Store gives each deadline to one claimant (for CLAIM_LEASE: a claimant that dies
        before its recall leaves it to a later sweep), so of the processes sweeping at once
        only one recalls a room's breakouts; the token makes a recall by the host meanwhile
        win."""
        now = time.time() if now is None else now
        claimed = []
        for room_id in await self.store.claim_due_breakouts(now, CLAIM_LEASE):
            state = _open(await self.store.breakouts(room_id))
            if state is not None and state.get("ends_at"):
                # not yet due: the host recalled and opened new breakouts after the claim,
                # whose own deadline replaced the claimed one
                if _epoch(state["ends_at"]) <= now:
                    claimed.append((room_id, str(state["token"])))
                continue
            # none timed are open (recalled, or opened again untimed): the deadline is stale;
            # under the lock, so a timed opening meanwhile keeps its own
            async with self.store.room_lock(room_id):
                state = _open(await self.store.breakouts(room_id))
                if state is None or not state.get("ends_at"):
                    await self.store.set_breakout_deadline(room_id, None)
        return claimed

    async def broadcast(
        self, member_id: str | None, sid: str, req: p.BreakoutBroadcast, ts: str
    ) -> list[dict[str, Any]]:
        """A chat message from the host into every breakout room; the messages sent."""
        await self.rooms.require_host(req.room_id, member_id, sid)
        assert member_id is not None
        if len(req.text) > self.rooms.limits.chat_text:
            raise ProtocolError(
                ErrorCode.TOO_LARGE,
                f"messages are at most {self.rooms.limits.chat_text} characters",
            )
        if not req.text.strip():
            raise ProtocolError(ErrorCode.BAD_REQUEST, "the message is empty")
        state = _open(await self.store.breakouts(req.room_id))
        if state is None:
            raise ProtocolError(ErrorCode.CONFLICT, "no breakouts are open in this room")
        host = await self.store.get_member(req.room_id, member_id)
        assert host is not None
        messages = []
        for breakout in state["breakouts"]:
            message = {
                "id": uuid.uuid4().hex[:16],
                "room_id": breakout["room_id"],
                "from": {"id": host.id, "name": host.name},
                "to": None,
                "text": req.text,
                "ts": ts,
            }
            try:
                await self.store.append_chat(
                    breakout["room_id"], message, self.rooms.limits.chat_backlog
                )
            except KeyError:
                continue  # that breakout room was swept (everyone left it)
            messages.append(message)
        return messages

    async def recall(
        self, room_id: str, member_id: str | None = None, sid: str = "", token: str | None = None
    ) -> Recalled | None:
        """Close the breakouts, keeping their boards: by the host (``member_id``), or by the
        timer of the opening ``token`` (None when those breakouts are no longer open)."""
        if token is None:
            await self.rooms.require_host(room_id, member_id, sid)
        async with self.store.room_lock(room_id):
            record = await self.store.breakouts(room_id)
            state = _open(record)
            if state is None or (token is not None and state["token"] != token):
                if token is not None:
                    return None
                raise ProtocolError(ErrorCode.CONFLICT, "no breakouts are open in this room")
            kept_groups = _kept(record) + list(state["breakouts"])
            # a host who opens and recalls all day keeps the last groups' boards, not all
            dropped = [group["room_id"] for group in kept_groups[:-KEPT_LISTED]]
            await self.store.save_breakouts(room_id, {"kept": kept_groups[-KEPT_LISTED:]})
            await self.store.forget_kept_boards(room_id, dropped)
            await self.store.set_breakout_deadline(room_id, None)
        closed = []
        for breakout in state["breakouts"]:
            sub_id = breakout["room_id"]
            async with self.store.room_lock(sub_id):
                try:
                    board = await self.store.board(sub_id)
                    kept = {"seq": board.seq, "ops": board.ops, "complete": True}
                except KeyError:  # swept once everyone had left it
                    kept = {"seq": 0, "ops": [], "complete": True}
                await self.store.keep_board(room_id, sub_id, kept)
                await self.store.delete_room(sub_id)
            closed.append(ClosedBreakout(sub_id))
        return Recalled(room_id, state["breakouts"], closed)

    async def board(self, member_id: str | None, sid: str, req: p.BreakoutBoard) -> dict[str, Any]:
        """A breakout's board (BoardState): any member's once recalled; the host's, live,
        while the breakouts are open."""
        room = await self.rooms.require_member(req.room_id, member_id, sid)
        state = _open(await self.store.breakouts(req.room_id))
        if state is not None:
            if room.host_id != member_id:
                raise ProtocolError(
                    ErrorCode.FORBIDDEN,
                    "while breakouts are open only the host may look at their boards",
                )
            if any(b["room_id"] == req.breakout_id for b in state["breakouts"]):
                try:
                    board = await self.store.board(req.breakout_id)
                except KeyError:
                    board = None
                if board is not None:
                    return {"seq": board.seq, "ops": board.ops, "complete": True}
                return {"seq": 0, "ops": [], "complete": True}
        kept = await self.store.kept_board(req.room_id, req.breakout_id)
        if kept is None:
            raise ProtocolError(
                ErrorCode.NOT_FOUND, f"this room has no breakout {req.breakout_id!r}"
            )
        return kept
