"""The board's events on the Socket.IO layer: ops (one or a batch), following the board live
or fetching it on demand, and cursors. A part of :class:`~.events.RoomServer`, which routes
the events here after validating them; the room logic stays in :mod:`jupyter_classroom.rooms`.
"""

from __future__ import annotations

import asyncio
import time
from functools import cached_property
from typing import Any

import socketio

from .. import protocol as p
from ..protocol import ErrorCode, Event, ProtocolError, ok_ack
from ..rooms import Rooms
from ..tasks import TaskSet
from .batching import OpBatcher
from .channels import Session, board_channel, member_channel
from .quotas import PersonLimits, encode_ahead, encoded_size

CURSOR_INTERVAL = 1 / 30  # seconds between cursor emits per socket (coalesced)


class BoardEvents:
    """``board:op``, ``board:ops``, ``board:follow``, ``board:sync`` and ``board:cursor``."""

    sio: socketio.AsyncServer
    rooms: Rooms
    limits: PersonLimits
    batcher: OpBatcher
    sessions: dict[str, Session]
    tasks: TaskSet

    async def board_op(self, sid: str, session: Session, req: p.BoardOpSend) -> dict[str, Any]:
        paid = await self._pace_ops(session, 1)
        seq = await self._accept_op(sid, session, req, paid)
        if self._held_reads:
            await self._tell_if_waited(sid, session, req.room_id)
        return ok_ack(seq=seq)

    async def board_ops(self, sid: str, session: Session, req: p.BoardOpsSend) -> dict[str, Any]:
        # Several ops, one frame and one ack: each is ruled on as if sent alone (a refused
        # stroke's extends are then refused as not found), in order.
        paid = await self._pace_ops(session, len(req.ops))
        results: list[dict[str, Any]] = []
        for op in req.ops:
            try:
                seq = await self._accept_op(sid, session, p.BoardOpSend(req.room_id, op), paid)
                results.append({"seq": seq})
            except ProtocolError as exc:
                results.append({"error": {"code": exc.code, "message": exc.message}})
        if self._held_reads:
            await self._tell_if_waited(sid, session, req.room_id)
        return ok_ack(results=results)

    # Waits the sockets' handlers report (handler.SocketReports), where the batcher cannot see
    # them: a process behind its sockets holds their reading back (handler.RECEIVE_BACKLOG),
    # and a drawer's ops then wait unread before any tick; or the frames of a room's ticks
    # wait to leave (a client, or the process, behind).

    @property
    def notice_after(self) -> float:
        return self.batcher.delay_notice

    @cached_property
    def _held_reads(self) -> dict[str, float]:
        """sid -> seconds its reading was last held, until its next board op reads it."""
        return {}

    def reading_was_held(self, sid: str, seconds: float) -> None:
        if sid not in self.sessions:
            return
        if len(self._held_reads) > 4 * len(self.sessions) + 64:  # (sockets that went)
            for gone in [s for s in self._held_reads if s not in self.sessions]:
                del self._held_reads[gone]
        self._held_reads[sid] = seconds

    async def _tell_if_waited(self, sid: str, session: Session, room_id: str) -> None:
        held = self._held_reads.pop(sid, None)
        member_id = session.rooms.get(room_id)
        if held and member_id is not None:
            await self.batcher.ink_waited(room_id, member_id, held)

    def writes_waited(self, sid: str, seconds: float) -> None:
        session = self.sessions.get(sid)
        if session is None:
            return
        for room_id in list(session.rooms):
            self.tasks.spawn(self.batcher.ink_went_out_late(room_id, seconds))

    async def _pace_ops(self, session: Session, count: int) -> bool:
        """Whether ``count`` ops of a batched socket are paid for from its person's op budget,
        after waiting a little for it if need be (its ack comes later: backpressure a batching
        client follows). Stock sockets, and waits too long, are ruled on op by op."""
        if not session.batched:
            return False
        return await self.limits.pace(self.limits.ops, session.limit_key, "board ops", count)

    async def _accept_op(
        self, sid: str, session: Session, req: p.BoardOpSend, paid: bool = False
    ) -> int:
        if not paid:
            self.limits.take(self.limits.ops, session.limit_key, "board ops")
        size = encoded_size(req.op)
        self.limits.take_bytes(session.limit_key, size)
        board_op = await self.rooms.add_op(session.rooms.get(req.room_id), sid, req, size)
        await self.sio.emit(
            Event.BOARD_OP,
            {**board_op, "room_id": req.room_id},
            to=board_channel(req.room_id, False),
            skip_sid=sid,
        )
        self.batcher.add(req.room_id, board_op)
        return int(board_op["seq"])

    async def _board_socket(self, sid: str, session: Session, room_id: str) -> str:
        """The member id of ``sid`` in ``room_id``, if it is a socket that takes the board."""
        member_id = session.rooms.get(room_id)
        await self.rooms.require_member(room_id, member_id, sid)
        if self.rooms.presence.feed(sid, room_id) == "video":
            raise ProtocolError(
                ErrorCode.FORBIDDEN,
                "a video socket does not take the board: attach with board: true",
            )
        return member_id or ""

    async def board_follow(self, sid: str, session: Session, req: p.BoardFollow) -> dict[str, Any]:
        # A kernel whose board the page draws needs no live ops: it asks board:sync when
        # Python reads the board, and the room's fan-out costs one socket per member.
        await self._board_socket(sid, session, req.room_id)
        await self.rooms.presence.follow(sid, req.room_id, req.live)
        return ok_ack()

    async def board_sync(self, sid: str, session: Session, req: p.BoardSync) -> dict[str, Any]:
        member_id = await self._board_socket(sid, session, req.room_id)
        async with self.limits.joining(session.limit_key):
            self.limits.check_backlog(self.sio, session.limit_key, sid)
            if req.since is None:  # a whole board costs what a join does
                self.limits.take_churn(session.limit_key)
            board = await self.rooms.board(req.room_id, member_id, sid, req.since)
            if board.complete and req.since is not None:
                self.limits.take_churn(session.limit_key)
            state = {"seq": board.seq, "ops": board.ops, "complete": board.complete}
            return await encode_ahead(ok_ack(board=state), board.ops)  # type: ignore[return-value]

    async def _send_ops(self, room_id: str, ops: list[dict[str, Any]]) -> None:
        # One frame for every batched socket of the room, their authors' own ops included
        # (clients know their ops' seqs from the acks).
        await self.sio.emit(
            Event.BOARD_OPS, {"room_id": room_id, "ops": ops}, to=board_channel(room_id, True)
        )

    async def _send_cursors(self, room_id: str, cursors: list[tuple[str, dict[str, Any]]]) -> None:
        # The latest cursor of each member that moved during the tick, to the batched sockets
        for sid, cursor in cursors:
            await self.sio.emit(
                Event.BOARD_CURSOR, cursor, to=board_channel(room_id, True), skip_sid=sid
            )

    async def _notify_delay(self, room_id: str, member_ids: list[str], delay_ms: int) -> None:
        payload = {"room_id": room_id, "delay_ms": delay_ms}
        channels = [member_channel(room_id, member_id) for member_id in member_ids]
        await self.sio.emit(Event.BOARD_DELAYED, payload, to=channels)

    async def _cursor(self, sid: str, session: Session, data: Any) -> None:
        try:
            req = p.decode(p.BoardCursor, data)
        except ProtocolError:
            return  # no ack to carry an error; a bad cursor is dropped
        # Session.rooms is the presence's record of this socket, which a departure decided
        # by another process updates too (Presence.left_channel): no store lookup per cursor.
        member_id = session.rooms.get(req.room_id)
        if member_id is None:
            return
        session.cursor_pending = {
            "room_id": req.room_id,
            "member_id": member_id,
            "x": req.x,
            "y": req.y,
        }
        wait = session.cursor_sent + CURSOR_INTERVAL - time.monotonic()
        if wait <= 0:
            await self._flush_cursor(sid)
        elif not session.cursor_timer:
            session.cursor_timer = True
            asyncio.get_running_loop().call_later(
                wait, lambda: self.tasks.spawn(self._flush_cursor(sid))
            )

    async def _flush_cursor(self, sid: str) -> None:
        session = self.sessions.get(sid)
        if session is None or session.cursor_pending is None:
            return
        session.cursor_timer = False
        cursor, session.cursor_pending = session.cursor_pending, None
        session.cursor_sent = time.monotonic()
        room_id = cursor["room_id"]
        if room_id in session.rooms:
            # each to the stock sockets; the batched ones get each member's latest per tick
            await self.sio.emit(
                Event.BOARD_CURSOR, cursor, to=board_channel(room_id, False), skip_sid=sid
            )
            self.batcher.add_cursor(room_id, sid, cursor)
