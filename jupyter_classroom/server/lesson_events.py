"""The tools of a lesson on the Socket.IO layer: raised hands (``hand:*``) and breakout rooms
(``breakout:*``). A part of :class:`~.events.RoomServer`, which routes the events here after
validating them; the logic is in :mod:`jupyter_classroom.hands` and
:mod:`jupyter_classroom.breakouts`.

The breakout timer: the end time is in the Store (``Breakouts.open``), and every process's
housekeeping loop calls :meth:`LessonEvents.sweep_breakouts`, which claims the due breakouts
(each to one process, atomically in Redis) and recalls them; so the breakouts end even when the
process that opened them has stopped. That process also keeps an asyncio timer, to recall on
the second rather than at its next sweep; the opening's token makes whichever comes second a
no-op (as a recall by the host meanwhile).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import socketio

from .. import protocol as p
from ..breakouts import Breakouts, Recalled
from ..hands import HandChange, Hands
from ..protocol import Event, ProtocolError, ok_ack
from ..rooms import Rooms, utc_now
from ..tasks import TaskSet
from .batching import OpBatcher
from .channels import Session, member_channel, room_channel
from .quotas import PersonLimits, encode_ahead
from .ratelimit import KeyedBuckets

log = logging.getLogger("jupyter_classroom")

HANDS_PER_SECOND = 1.0  # hand:raise/lower/take per person, in bursts of HANDS_BURST
HANDS_BURST = 10.0

Handler = Callable[[str, Session, Any], Awaitable[dict[str, Any]]]


class LessonEvents:
    """``hand:raise``, ``hand:lower``, ``hand:take`` and ``breakout:open``, ``:broadcast``,
    ``:recall``, ``:board``."""

    sio: socketio.AsyncServer
    rooms: Rooms
    limits: PersonLimits
    batcher: OpBatcher
    sessions: dict[str, Session]
    tasks: TaskSet
    hands: Hands
    breakouts: Breakouts
    _hand_rate: KeyedBuckets
    _breakout_timers: dict[str, asyncio.TimerHandle]
    _see_off_room: Callable[[str, str], Awaitable[None]]

    def lesson_handlers(self) -> dict[str, Handler]:
        """Set up the lesson's state; the handlers, by event, for RoomServer's table."""
        self.hands = Hands(self.rooms)
        self.breakouts = Breakouts(self.rooms)
        self._hand_rate = KeyedBuckets(HANDS_PER_SECOND, HANDS_BURST)
        self._breakout_timers = {}
        return {
            Event.HAND_RAISE: self.hand_raise,
            Event.HAND_LOWER: self.hand_lower,
            Event.HAND_TAKE: self.hand_take,
            Event.BREAKOUT_OPEN: self.breakout_open,
            Event.BREAKOUT_BROADCAST: self.breakout_broadcast,
            Event.BREAKOUT_RECALL: self.breakout_recall,
            Event.BREAKOUT_BOARD: self.breakout_board,
        }

    # ---------------------------------------------------------------------------------------
    # hands

    async def with_lesson(self, ack: dict[str, Any], room_id: str) -> dict[str, Any]:
        """A join/create/attach ack with the room's raised hands, while they are open its
        breakouts, and the groups whose boards were kept after a recall: late joiners (and a
        reloaded page) see all three."""
        ack["hands"] = await self.hands.queue(room_id)
        state = await self.breakouts.open_state(room_id)
        if state is not None:
            ack["breakouts"] = {"breakouts": state["breakouts"], "ends_at": state["ends_at"]}
        kept = await self.breakouts.kept(room_id)
        if kept:
            ack["kept_breakouts"] = kept
        return ack

    async def hands_after_departure(self, room_id: str, member_id: str) -> None:
        """A departed member's hand goes down (called for every departure)."""
        await self._tell_hands(await self.hands.member_gone(room_id, member_id))

    async def _tell_hands(self, change: HandChange) -> None:
        if change.changed:
            queue = {"room_id": change.room_id, "hands": change.hands}
            await self.sio.emit(Event.HAND_QUEUE, queue, to=room_channel(change.room_id))

    def _take_hand_rate(self, session: Session) -> None:
        self.limits.take(self._hand_rate, session.limit_key, "hand raises and lowers")

    async def hand_raise(self, sid: str, session: Session, req: p.RoomRef) -> dict[str, Any]:
        self._take_hand_rate(session)
        change = await self.hands.raise_hand(session.rooms.get(req.room_id), sid, req.room_id)
        await self._tell_hands(change)
        return ok_ack(hands=change.hands)

    async def hand_lower(self, sid: str, session: Session, req: p.HandTarget) -> dict[str, Any]:
        self._take_hand_rate(session)
        change = await self.hands.lower_hand(session.rooms.get(req.room_id), sid, req)
        await self._tell_hands(change)
        return ok_ack(hands=change.hands)

    async def hand_take(self, sid: str, session: Session, req: p.HandTarget) -> dict[str, Any]:
        self._take_hand_rate(session)
        host_id = session.rooms.get(req.room_id)
        change = await self.hands.take_hand(host_id, sid, req)
        await self._tell_hands(change)
        if change.taken is not None:
            taken_id = change.taken["member_id"]
            taken = {"room_id": req.room_id, "member_id": taken_id, "by": host_id}
            await self.sio.emit(Event.HAND_TAKEN, taken, to=member_channel(req.room_id, taken_id))
        return ok_ack(hands=change.hands, taken=change.taken)

    # ---------------------------------------------------------------------------------------
    # breakouts

    async def breakout_open(
        self, sid: str, session: Session, req: p.BreakoutOpen
    ) -> dict[str, Any]:
        self.limits.take_churn(session.limit_key)  # it makes up to 20 rooms
        opened = await self.breakouts.open(session.rooms.get(req.room_id), sid, req)
        if opened.minutes is not None:
            loop = asyncio.get_running_loop()
            room_id, token = opened.room_id, opened.token
            self._breakout_timers[room_id] = loop.call_later(
                opened.minutes * 60,
                lambda: self.tasks.spawn(self._recall_on_time(room_id, token)),
            )
        event = {"room_id": req.room_id, "breakouts": opened.breakouts, "ends_at": opened.ends_at}
        await self.sio.emit(Event.BREAKOUT_OPENED, event, to=room_channel(req.room_id))
        return ok_ack(breakouts=opened.breakouts, ends_at=opened.ends_at)

    async def breakout_broadcast(
        self, sid: str, session: Session, req: p.BreakoutBroadcast
    ) -> dict[str, Any]:
        self.limits.take(self.limits.chats, session.limit_key, "messages")
        self.limits.take_bytes(session.limit_key, len(req.text))
        member_id = session.rooms.get(req.room_id)
        for message in await self.breakouts.broadcast(member_id, sid, req, utc_now()):
            await self.sio.emit(Event.CHAT_MESSAGE, message, to=room_channel(message["room_id"]))
        return ok_ack()

    async def breakout_recall(self, sid: str, session: Session, req: p.RoomRef) -> dict[str, Any]:
        self.limits.take_churn(session.limit_key)
        recalled = await self.breakouts.recall(req.room_id, session.rooms.get(req.room_id), sid)
        assert recalled is not None
        await self._tell_recalled(recalled)
        return ok_ack(breakouts=recalled.breakouts)

    async def recall_before_close(self, room_id: str, member_id: str | None, sid: str) -> None:
        """The host closes a room with breakouts open: recall them first (their rooms get
        ``room:closed``). Anyone else's close is refused by room:close itself."""
        try:
            recalled = await self.breakouts.recall(room_id, member_id, sid)
        except ProtocolError:
            return  # not the host, or nothing open
        if recalled is not None:
            await self._tell_recalled(recalled)

    async def sweep_breakouts(self) -> None:
        """Recall the breakouts whose time has passed (the housekeeping loop calls it): those
        of rooms any process opened, this process claiming each due room alone."""
        for room_id, token in await self.breakouts.due():
            await self._recall_on_time(room_id, token)

    async def _recall_on_time(self, room_id: str, token: str) -> None:
        self._breakout_timers.pop(room_id, None)
        try:
            recalled = await self.breakouts.recall(room_id, token=token)
        except KeyError:
            return  # the main room closed meanwhile
        if recalled is not None:  # else the host (or another process's sweep) recalled first
            await self._tell_recalled(recalled)

    async def _tell_recalled(self, recalled: Recalled) -> None:
        timer = self._breakout_timers.pop(recalled.room_id, None)
        if timer is not None:
            timer.cancel()
        for closed in recalled.closed:
            await self._see_off_room(closed.room_id, "recalled")  # as a room:close (events.py)
        event = {"room_id": recalled.room_id, "breakouts": recalled.breakouts}
        await self.sio.emit(Event.BREAKOUT_CLOSED, event, to=room_channel(recalled.room_id))

    async def breakout_board(
        self, sid: str, session: Session, req: p.BreakoutBoard
    ) -> dict[str, Any]:
        # a whole board costs what a join does (see BoardEvents.board_sync)
        async with self.limits.joining(session.limit_key):
            self.limits.check_backlog(self.sio, session.limit_key, sid)
            self.limits.take_churn(session.limit_key)
            board = await self.breakouts.board(session.rooms.get(req.room_id), sid, req)
            return await encode_ahead(ok_ack(board=board), board["ops"])  # type: ignore[return-value]
