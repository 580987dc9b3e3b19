"""Shared notebooks: the host's (or an allowed member's) notebook, live to the room.

Pure logic over :class:`~jupyter_classroom.rooms.Rooms` and its Store, like hands.py: each
method checks who asks, changes the share in one atomic Store step, and returns what happened;
the Socket.IO layer (``server/notebook_events.py``) tells the room.

A room has at most one share. It is kept cell by cell: a batch of patches reads the share's
header and only the cells it names, applies the patches (notebook_patch.py) and writes back
only what changed, in one step that succeeds only if no other batch was written meanwhile
(``seq``); a batch that lost that race is computed again on the new state. Each accepted batch
gets the next ``seq`` and goes into a bounded log, from which a receiver that missed some gets
exactly those (``notebook:get`` with ``since``), or else the whole snapshot.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from . import protocol as p
from .notebook_patch import NotebookEditor, normalize_cell
from .protocol import ErrorCode, ProtocolError
from .rooms import Rooms, utc_now
from .store.base import NotebookCommit, NotebookHeader

COMMIT_TRIES = 5  # batches computed again after losing a race, before `conflict`


@dataclass(frozen=True)
class NotebookLimits:
    """The protocol's limits by default; a server (or a test) may set lower ones."""

    max_cells: int = p.MAX_NOTEBOOK_CELLS
    max_bytes: int = p.MAX_NOTEBOOK_BYTES
    max_source: int = p.MAX_CELL_SOURCE
    max_output: int = p.MAX_OUTPUT
    log_size: int = p.NOTEBOOK_LOG  # batches kept for `since`
    log_bytes: int = 8 * 1024 * 1024  # and at most this much of them


@dataclass(frozen=True)
class Shared:
    room_id: str
    snapshot: dict[str, Any]  # a NotebookSnapshot
    replaced: str | None  # the live share this one replaced


@dataclass(frozen=True)
class Patched:
    room_id: str
    share_id: str
    seq: int
    patches: list[dict[str, Any]]


@dataclass(frozen=True)
class Stopped:
    room_id: str
    share_id: str
    reason: str  # "stopped" | "left" | "replaced"


def summary(room_id: str, header: NotebookHeader) -> dict[str, Any]:
    """The NotebookSummary of a share."""
    return {
        "share_id": header.share_id,
        "room_id": room_id,
        "sharer": dict(header.sharer),
        "path": header.path,
        "language": header.language,
        "seq": header.seq,
        "live": header.live,
        "cells": len(header.order),
        "started_at": header.started_at,
    }


def _cell_ids(patches: list[Any]) -> set[str]:
    """The existing cells a batch names (the cells an insert brings are in the batch)."""
    return {
        patch.cell_id
        for patch in patches
        if not isinstance(patch, p.InsertPatch) and getattr(patch, "cell_id", None) is not None
    }


class Notebooks:
    def __init__(self, rooms: Rooms, limits: NotebookLimits | None = None) -> None:
        self.rooms = rooms
        self.store = rooms.store
        self.limits = limits or NotebookLimits()

    # ---------------------------------------------------------------------------------------
    # what a join sees

    async def summary(self, room_id: str) -> dict[str, Any] | None:
        header = await self.store.notebook_header(room_id)
        return summary(room_id, header) if header is not None else None

    async def sharers(self, room_id: str) -> list[str]:
        return await self.store.notebook_sharers(room_id)

    # ---------------------------------------------------------------------------------------
    # requests

    async def share(self, member_id: str | None, sid: str, req: p.NotebookShare) -> Shared:
        """Make the member's notebook the room's share (the host, or a member allowed)."""
        room = await self.rooms.require_member(req.room_id, member_id, sid)
        assert member_id is not None
        if room.host_id != member_id and member_id not in await self.sharers(req.room_id):
            raise ProtocolError(
                ErrorCode.FORBIDDEN, "only the host, or a member the host allowed, may share"
            )
        limits = self.limits
        if len(req.cells) > limits.max_cells:
            raise ProtocolError(
                ErrorCode.TOO_LARGE, f"a shared notebook has at most {limits.max_cells} cells"
            )
        cells: list[dict[str, Any]] = []
        heads: list[dict[str, Any]] = []
        outputs: dict[str, list[dict[str, Any]]] = {}
        total = 0
        for cell in req.cells:
            stored, size = normalize_cell(cell, limits.max_output, limits.max_source)
            if stored["id"] in outputs:
                raise ProtocolError(ErrorCode.BAD_REQUEST, f"two cells have id {cell.id!r}")
            cells.append(stored)
            outputs[cell.id] = stored["outputs"]
            heads.append({**{k: v for k, v in stored.items() if k != "outputs"}, "ob": size})
            total += len(cell.source.encode()) + size
        if total > limits.max_bytes:
            raise ProtocolError(
                ErrorCode.TOO_LARGE, f"a shared notebook is at most {limits.max_bytes} bytes"
            )
        member = await self.store.get_member(req.room_id, member_id)
        assert member is not None
        header = NotebookHeader(
            share_id=uuid.uuid4().hex[:16],
            sharer={"id": member_id, "name": member.name},
            path=req.path,
            language=req.language,
            started_at=utc_now(),
            order=[cell["id"] for cell in cells],
            bytes=total,
        )
        previous = await self.store.start_notebook(req.room_id, header, heads, outputs)
        replaced = previous.share_id if previous is not None and previous.live else None
        snapshot = {"summary": summary(req.room_id, header), "cells": cells, "active": None}
        return Shared(req.room_id, snapshot, replaced)

    async def patch(self, member_id: str | None, sid: str, req: p.NotebookPatch) -> Patched:
        """Apply the sharer's batch whole, or nothing (``conflict``, ``too_large``)."""
        await self.rooms.require_member(req.room_id, member_id, sid)
        limits = self.limits
        batch = p.to_builtins(req.patches)
        for _ in range(COMMIT_TRIES):
            header = await self.store.notebook_header(req.room_id)
            if header is not None and header.sharer["id"] != member_id:
                raise ProtocolError(ErrorCode.FORBIDDEN, "only the notebook's sharer changes it")
            if header is None or header.share_id != req.share_id or not header.live:
                raise ProtocolError(
                    ErrorCode.CONFLICT,
                    "this share is not the room's live share any more; share the notebook again",
                )
            known = set(header.order)
            needed = sorted(i for i in _cell_ids(req.patches) if i in known)
            heads = await self.store.notebook_heads(req.room_id, needed)
            sizes = {cell_id: int(head.pop("ob", 0)) for cell_id, head in heads.items()}
            editor = NotebookEditor(
                header.order, heads, header.active, sizes,
                max_output=limits.max_output, max_source=limits.max_source,
            )  # fmt: skip
            try:
                for patch in req.patches:
                    editor.apply(patch)
            except ProtocolError as exc:
                # a cell missing or changed because another batch (the sharer's other socket)
                # was written between our reads of the header and the cells: compute it again
                if exc.code == ErrorCode.CONFLICT and await self._moved_on(req.room_id, header):
                    continue
                raise
            if len(editor.order) > limits.max_cells:
                raise ProtocolError(
                    ErrorCode.TOO_LARGE, f"a shared notebook has at most {limits.max_cells} cells"
                )
            size = header.bytes + editor.bytes_delta
            if editor.bytes_delta > 0 and size > limits.max_bytes:
                raise ProtocolError(
                    ErrorCode.TOO_LARGE, f"a shared notebook is at most {limits.max_bytes} bytes"
                )
            commit = NotebookCommit(
                share_id=header.share_id,
                seq=header.seq,
                batch=batch,
                bytes=size,
                heads={cell_id: editor.head(cell_id) for cell_id in editor.changed},
                outputs=editor.outputs,
                deleted=sorted(editor.deleted),
                order=editor.order if editor.order_changed else None,
                active_changed=editor.active_changed,
                active=editor.active,
            )
            if await self.store.commit_notebook(
                req.room_id, commit, limits.log_size, limits.log_bytes
            ):
                return Patched(req.room_id, header.share_id, header.seq + 1, batch)
        raise ProtocolError(ErrorCode.CONFLICT, "the notebook kept changing; send the batch again")

    async def _moved_on(self, room_id: str, header: NotebookHeader) -> bool:
        now = await self.store.notebook_header(room_id)
        return now is not None and (now.share_id, now.seq) != (header.share_id, header.seq)

    async def stop(self, member_id: str | None, sid: str, room_id: str) -> Stopped | None:
        """The sharer or the host stops the live share (its state stays readable); None when
        nothing was live."""
        room = await self.rooms.require_member(room_id, member_id, sid)
        header = await self.store.notebook_header(room_id)
        if header is None or not header.live:
            return None
        if member_id not in (header.sharer["id"], room.host_id):
            raise ProtocolError(ErrorCode.FORBIDDEN, "only the sharer or the host stops a share")
        if await self.store.stop_notebook(room_id, header.share_id):
            return Stopped(room_id, header.share_id, "stopped")
        return None

    async def get(self, member_id: str | None, sid: str, req: p.NotebookGet) -> dict[str, Any]:
        """A NotebookGetReply's fields: the batches after ``since`` when all are still logged,
        else the whole snapshot (or none)."""
        await self.rooms.require_member(req.room_id, member_id, sid)
        header = await self.store.notebook_header(req.room_id)
        if header is None:
            return {"notebook": None}
        if req.since is not None and req.share_id in (None, header.share_id):
            batches = await self.store.notebook_batches(req.room_id, header.share_id, req.since)
            if batches is not None:
                return {"notebook": None, "share_id": header.share_id, "batches": batches}
        return {"notebook": await self.snapshot(req.room_id)}

    async def snapshot(self, room_id: str) -> dict[str, Any] | None:
        shared = await self.store.notebook(room_id)
        if shared is None:
            return None
        header, cells = shared
        return {"summary": summary(room_id, header), "cells": cells, "active": header.active}

    async def allow(
        self, member_id: str | None, sid: str, req: p.NotebookAllow
    ) -> tuple[list[str], Stopped | None]:
        """(The host) let a member share, or no longer; the sharers, and the member's share
        if it was live and is now stopped."""
        await self.rooms.require_host(req.room_id, member_id, sid)
        if await self.store.get_member(req.room_id, req.member_id) is None:
            raise ProtocolError(ErrorCode.NOT_FOUND, "no such member in this room")
        sharers = await self.store.allow_sharer(req.room_id, req.member_id, req.allowed)
        stopped = None
        if not req.allowed:
            stopped = await self._stop_sharer(req.room_id, req.member_id, "stopped")
        return sharers, stopped

    async def member_gone(
        self, room_id: str, member_id: str, reason: str
    ) -> tuple[Stopped | None, list[str] | None]:
        """A member departed: a share of theirs stops when they left or were kicked (a
        disconnect keeps it live: they may come back); a kicked member (gone for good) is no
        longer among the sharers. The share stopped, and the sharers when they changed."""
        if reason not in ("left", "kicked"):
            return None, None
        stopped = await self._stop_sharer(room_id, member_id, "left")
        sharers = None
        if reason == "kicked" and member_id in await self.store.notebook_sharers(room_id):
            sharers = await self.store.allow_sharer(room_id, member_id, False)
        return stopped, sharers

    async def _stop_sharer(self, room_id: str, member_id: str, reason: str) -> Stopped | None:
        try:
            header = await self.store.notebook_header(room_id)
        except KeyError:
            return None  # the room is gone
        if header is None or not header.live or header.sharer["id"] != member_id:
            return None
        if await self.store.stop_notebook(room_id, header.share_id):
            return Stopped(room_id, header.share_id, reason)
        return None
