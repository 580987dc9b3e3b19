"""Shared notebooks on the Socket.IO layer (``notebook:*``). A part of
:class:`~.events.RoomServer`, which routes the events here after validating them; the logic is
in :mod:`jupyter_classroom.notebooks`.

Every notebook event goes to the room's channel (``room:<id>``), which every socket of every
member is in, page and kernel alike. ``notebook:patched`` skips the socket that sent the batch
(its ack carries the seq). One sharer's batches are handled in the order its socket sent them
(``async_handlers=False``), so they go out in seq order; a receiver that sees a gap fetches
what it lacks (``notebook:get`` with ``since``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import socketio

from .. import protocol as p
from ..notebooks import Notebooks, Stopped
from ..protocol import ErrorCode, Event, ProtocolError, ok_ack
from ..rooms import Rooms
from .channels import Session, room_channel
from .quotas import PersonLimits, encoded_size
from .ratelimit import KeyedBuckets

# per person, all of their sockets together: a sharer typing fast sends a batch per keystroke
# (JupyterLab's source changes), running a cell a few outputs batches
PATCHES_PER_SECOND = 60.0
PATCHES_BURST = 120.0
BYTES_PER_SECOND = 2 * 1024 * 1024  # patches and shares
BYTES_BURST = 2 * 1024 * 1024

Handler = Callable[[str, Session, Any], Awaitable[dict[str, Any]]]


class NotebookEvents:
    """``notebook:share``, ``:patch``, ``:stop``, ``:get``, ``:allow``."""

    sio: socketio.AsyncServer
    rooms: Rooms
    limits: PersonLimits
    notebooks: Notebooks
    _notebook_patches: KeyedBuckets
    _notebook_bytes: KeyedBuckets

    def notebook_handlers(self) -> dict[str, Handler]:
        """Set up the shared notebooks' state; the handlers, by event, for RoomServer's table."""
        self.notebooks = Notebooks(self.rooms)
        self._notebook_patches = KeyedBuckets(PATCHES_PER_SECOND, PATCHES_BURST)
        self._notebook_bytes = KeyedBuckets(BYTES_PER_SECOND, BYTES_BURST)
        return {
            Event.NOTEBOOK_SHARE: self.notebook_share,
            Event.NOTEBOOK_PATCH: self.notebook_patch,
            Event.NOTEBOOK_STOP: self.notebook_stop,
            Event.NOTEBOOK_GET: self.notebook_get,
            Event.NOTEBOOK_ALLOW: self.notebook_allow,
        }

    async def with_notebook(self, ack: dict[str, Any], room_id: str) -> dict[str, Any]:
        """A join/create/attach ack with the room's share (its summary: the member fetches
        the cells with notebook:get) and the members allowed to share."""
        summary = await self.notebooks.summary(room_id)
        if summary is not None:
            ack["notebook"] = summary
        ack["sharers"] = await self.notebooks.sharers(room_id)
        return ack

    async def notebook_after_departure(self, room_id: str, member_id: str, reason: str) -> None:
        """A sharer who left (or was kicked) stops sharing (called for every departure)."""
        stopped, sharers = await self.notebooks.member_gone(room_id, member_id, reason)
        await self._tell_stopped(stopped)
        if sharers is not None:
            await self._tell_sharers(room_id, sharers)

    async def _tell_sharers(self, room_id: str, sharers: list[str]) -> None:
        event = {"room_id": room_id, "sharers": sharers}
        await self.sio.emit(Event.NOTEBOOK_SHARERS, event, to=room_channel(room_id))

    async def _tell_stopped(self, stopped: Stopped | None) -> None:
        if stopped is not None:
            event = {"room_id": stopped.room_id, "share_id": stopped.share_id,
                     "reason": stopped.reason}  # fmt: skip
            await self.sio.emit(Event.NOTEBOOK_STOPPED, event, to=room_channel(stopped.room_id))

    def _take_notebook_bytes(
        self, session: Session, req: p.NotebookShare | p.NotebookPatch
    ) -> None:
        """Count the request against its person's bytes per second. Encoding it also finds
        text no store or receiver can take: JSON's ``\\ud83d`` escape decodes to half a
        surrogate pair, which UTF-8 (msgspec, Redis, the ``notebook:shared`` event) refuses."""
        try:
            size = encoded_size(req)
        except UnicodeEncodeError:
            raise ProtocolError(
                ErrorCode.BAD_REQUEST, "text must be valid Unicode (no lone UTF-16 surrogates)"
            ) from None
        self.limits.take(self._notebook_bytes, session.limit_key, "notebook changes", size)

    async def notebook_share(
        self, sid: str, session: Session, req: p.NotebookShare
    ) -> dict[str, Any]:
        self.limits.take_churn(session.limit_key)  # it replaces every member's view
        self._take_notebook_bytes(session, req)
        # Under the room lock (every process's), up to the events: two shares racing must
        # reach the room in the order they replaced each other (else members keep the one
        # replaced), and a share may not go live after its sharer was kicked meanwhile (the
        # departure, under the lock too, would have found nothing to stop).
        async with self.rooms.store.room_lock(req.room_id):
            shared = await self.notebooks.share(session.rooms.get(req.room_id), sid, req)
            if shared.replaced is not None:
                await self._tell_stopped(Stopped(req.room_id, shared.replaced, "replaced"))
            event = {"room_id": req.room_id, "notebook": shared.snapshot}
            await self.sio.emit(Event.NOTEBOOK_SHARED, event, to=room_channel(req.room_id))
        return ok_ack(notebook=shared.snapshot)

    async def notebook_patch(
        self, sid: str, session: Session, req: p.NotebookPatch
    ) -> dict[str, Any]:
        self.limits.take(self._notebook_patches, session.limit_key, "notebook changes")
        self._take_notebook_bytes(session, req)
        patched = await self.notebooks.patch(session.rooms.get(req.room_id), sid, req)
        event = {"room_id": req.room_id, "share_id": patched.share_id, "seq": patched.seq,
                 "patches": patched.patches}  # fmt: skip
        await self.sio.emit(
            Event.NOTEBOOK_PATCHED, event, to=room_channel(req.room_id), skip_sid=sid
        )
        return ok_ack(seq=patched.seq)

    async def notebook_stop(self, sid: str, session: Session, req: p.RoomRef) -> dict[str, Any]:
        stopped = await self.notebooks.stop(session.rooms.get(req.room_id), sid, req.room_id)
        await self._tell_stopped(stopped)
        return ok_ack()

    async def notebook_get(self, sid: str, session: Session, req: p.NotebookGet) -> dict[str, Any]:
        # a whole notebook (up to MAX_NOTEBOOK_BYTES) costs what a join does
        async with self.limits.joining(session.limit_key):
            self.limits.check_backlog(self.sio, session.limit_key, sid)
            self.limits.take_churn(session.limit_key)
            reply = await self.notebooks.get(session.rooms.get(req.room_id), sid, req)
            return ok_ack(**reply)

    async def notebook_allow(
        self, sid: str, session: Session, req: p.NotebookAllow
    ) -> dict[str, Any]:
        self.limits.take_churn(session.limit_key)  # each tells the whole room
        sharers, stopped = await self.notebooks.allow(session.rooms.get(req.room_id), sid, req)
        await self._tell_sharers(req.room_id, sharers)
        await self._tell_stopped(stopped)
        return ok_ack(sharers=sharers)
