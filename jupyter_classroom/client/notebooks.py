"""Shared notebooks from Python (a part of :class:`~.connection.Connection`): share a notebook
(an nbformat dict or an ``.ipynb`` file) with the room, send its changes, and keep each room's
``notebook`` replica current from ``notebook:shared``, ``notebook:patched`` and
``notebook:stopped``.

The replica follows the protocol's resume rule: it keeps ``(share_id, seq)``, applies the batch
whose seq is the next one, ignores those it has, holds those past a gap and fetches what it
lacks (``notebook:get`` with ``since``; the whole snapshot when the server no longer has the
batches); a new share replaces everything.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Coroutine
from pathlib import Path
from typing import TYPE_CHECKING, Any

import msgspec

from ..notebook_patch import apply_to_cells, check_output, decode_patches, source_delta
from ..protocol import (
    MAX_CELL_SOURCE,
    MAX_FRAME,
    MAX_NOTEBOOK_PATCHES,
    MAX_OUTPUT,
    MAX_OUTPUTS_PER_CELL,
    Event,
    ProtocolError,
)

if TYPE_CHECKING:
    from .connection import RoomState

log = logging.getLogger("jupyter_classroom.client")

# A message's share of the frame limit (the rest: the event name, room and share ids, JSON)
FRAME_BUDGET = MAX_FRAME * 3 // 4
CUT = "\n[... the rest of this cell is too long to share]"
_encode = msgspec.json.Encoder().encode


def _text(source: Any) -> str:
    return "".join(source) if isinstance(source, list) else str(source or "")


def _source(source: Any) -> str:
    """A cell's source as shared: cut to the protocol's MAX_CELL_SOURCE (else the server
    refuses the whole notebook), saying so."""
    text = _text(source)
    if len(text) > MAX_CELL_SOURCE:
        text = text[: MAX_CELL_SOURCE - len(CUT)] + CUT
    return text


def _note(text: str) -> dict[str, Any]:
    return {"output_type": "stream", "name": "stderr", "text": text}


def _rejoin(output: dict[str, Any]) -> dict[str, Any]:
    """An output with its multiline strings (lists of lines on disk) joined, as nbformat's
    reader gives them and JupyterLab's model holds them."""
    output = dict(output)
    if isinstance(output.get("text"), list):
        output["text"] = "".join(output["text"])
    data = output.get("data")
    if isinstance(data, dict):
        output["data"] = {
            mime: "".join(value) if isinstance(value, list) and not mime.endswith("json") else value
            for mime, value in data.items()
        }
    return output


def _fit_outputs(outputs: list[dict[str, Any]], budget: int) -> list[dict[str, Any]]:
    """The outputs the server takes (nbformat's shape) that fit in ``budget`` bytes (what
    the cell's message has left); what does not is said in a short note (the protocol has
    no way to send a cell larger than a frame, and a larger frame ends the socket)."""
    kept: list[dict[str, Any]] = []
    size = 0
    left_out = 0
    for output in outputs:
        try:
            check_output(output)
            output_size = len(_encode(output))
        except (ProtocolError, RecursionError, UnicodeEncodeError):
            left_out += 1
            continue
        if (
            output_size > MAX_OUTPUT
            or size + output_size > budget
            or len(kept) >= MAX_OUTPUTS_PER_CELL - 1  # (room for the note)
        ):
            left_out += 1
            continue
        kept.append(output)
        size += output_size
    if left_out:
        kept.append(_note(f"[{left_out} output(s) too large or malformed to share]\n"))
    return kept


def cells_from_notebook(notebook: dict[str, Any]) -> tuple[list[dict[str, Any]], str | None]:
    """An nbformat v4 notebook's cells as shared cells (ids made where it has none or twice),
    and its language."""
    cells: list[dict[str, Any]] = []
    seen: set[str] = set()
    for index, cell in enumerate(notebook.get("cells") or []):
        cell_id = str(cell.get("id") or f"cell-{index}")
        while cell_id in seen:
            cell_id = f"{cell_id}-{index}"
        seen.add(cell_id)
        cell_type = (
            cell.get("cell_type") if cell.get("cell_type") in ("markdown", "raw") else "code"
        )
        shared: dict[str, Any] = {
            "id": cell_id,
            "cell_type": cell_type,
            "source": _source(cell.get("source")),
            "outputs": [],
            "execution_count": None,
        }
        if cell_type == "code":
            outputs = [_rejoin(o) for o in cell.get("outputs") or [] if isinstance(o, dict)]
            budget = FRAME_BUDGET - 4096 - len(_encode(shared["source"]))
            shared["outputs"] = _fit_outputs(outputs, budget)
            count = cell.get("execution_count")
            shared["execution_count"] = count if isinstance(count, int) else None
        cells.append(shared)
    metadata = notebook.get("metadata") or {}
    language = (metadata.get("language_info") or {}).get("name") or (
        metadata.get("kernelspec") or {}
    ).get("language")
    return cells, str(language)[:64] if language else None


def read_notebook(path: str | os.PathLike[str]) -> dict[str, Any]:
    """An ``.ipynb`` file as nbformat JSON (a dict)."""
    return dict(json.loads(Path(path).read_text(encoding="utf-8")))


def to_nbformat(snapshot: dict[str, Any]) -> dict[str, Any]:
    """A NotebookSnapshot as an nbformat v4.5 notebook dict (``nbformat.from_dict`` takes it)."""
    cells = []
    for cell in snapshot["cells"]:
        out: dict[str, Any] = {"id": cell["id"], "cell_type": cell["cell_type"], "metadata": {},
                               "source": cell["source"]}  # fmt: skip
        if cell["cell_type"] == "code":
            out["outputs"] = list(cell["outputs"])
            out["execution_count"] = cell["execution_count"]
        cells.append(out)
    language = snapshot["summary"].get("language")
    metadata = {"language_info": {"name": language}} if language else {}
    return {"nbformat": 4, "nbformat_minor": 5, "metadata": metadata, "cells": cells}


def diff_cells(old: list[dict[str, Any]], new: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The patches that turn ``old`` cells into ``new`` ones (by cell id): deletes, then per
    new position an insert or a move, and each kept cell's type, source (as an edit delta)
    and outputs when they changed."""
    new_ids = {cell["id"] for cell in new}
    before = {cell["id"]: cell for cell in old}
    patches: list[dict[str, Any]] = [
        {"type": "delete", "cell_id": cell["id"]} for cell in old if cell["id"] not in new_ids
    ]
    order = [cell["id"] for cell in old if cell["id"] in new_ids]
    for index, cell in enumerate(new):
        cell_id = cell["id"]
        if cell_id not in before:
            patches.append({"type": "insert", "index": index, "cell": cell})
            order.insert(index, cell_id)
            continue
        if order[index] != cell_id:
            patches.append({"type": "move", "cell_id": cell_id, "index": index})
            order.remove(cell_id)
            order.insert(index, cell_id)
        was = before[cell_id]
        if was["cell_type"] != cell["cell_type"]:
            patches.append(
                {"type": "cell_type", "cell_id": cell_id, "cell_type": cell["cell_type"]}
            )
        delta = source_delta(was["source"], cell["source"])
        if delta:
            patches.append({"type": "edit", "cell_id": cell_id, "delta": delta})
        was_outputs = was["outputs"] if was["cell_type"] == "code" else []
        if cell["cell_type"] == "code" and (
            was_outputs != cell["outputs"] or was["execution_count"] != cell["execution_count"]
        ):
            patches.append({"type": "outputs", "cell_id": cell_id, "outputs": cell["outputs"],
                            "execution_count": cell["execution_count"]})  # fmt: skip
    return patches


def _frames(items: list[dict[str, Any]], most: int) -> list[list[dict[str, Any]]]:
    """Items in messages of at most ``most`` items and FRAME_BUDGET bytes."""
    frames: list[list[dict[str, Any]]] = [[]]
    size = 0
    for item in items:
        item_size = len(_encode(item))
        if frames[-1] and (len(frames[-1]) >= most or size + item_size > FRAME_BUDGET):
            frames.append([])
            size = 0
        frames[-1].append(item)
        size += item_size
    return [frame for frame in frames if frame]


class NotebookRequests:
    """``notebook:*`` requests and the rooms' notebook replicas; each request raises
    ClassroomError when refused."""

    rooms: dict[str, RoomState]

    async def request(self, event: str, payload: dict[str, Any]) -> dict[str, Any]:
        raise NotImplementedError  # Connection.request

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        raise NotImplementedError  # Connection._spawn

    async def _notify(self, event: str, data: dict[str, Any]) -> None:
        raise NotImplementedError  # Connection._notify

    # ---------------------------------------------------------------------------------------
    # requests

    async def share_notebook(
        self,
        room_id: str,
        notebook: dict[str, Any] | str | os.PathLike[str],
        *,
        path: str | None = None,
        language: str | None = None,
    ) -> dict[str, Any]:
        """Share a notebook (nbformat JSON, or an ``.ipynb`` file) with the room, replacing
        its share: the first cells in ``notebook:share``, the rest as ``insert`` batches, each
        under the frame limit. ``path``: the name members see. The snapshot."""
        if isinstance(notebook, dict):
            cells, found = cells_from_notebook(notebook)
            name = path or "notebook.ipynb"
        else:
            cells, found = cells_from_notebook(read_notebook(notebook))
            name = path or Path(notebook).name
        return await self.share_cells(room_id, name, cells, language or found)

    async def share_cells(
        self, room_id: str, path: str, cells: list[dict[str, Any]], language: str | None = None
    ) -> dict[str, Any]:
        """Share these cells (Cell dicts); see :meth:`share_notebook`."""
        first: list[dict[str, Any]] = []
        size = 0
        for cell in cells:
            cell_size = len(_encode(cell))
            if first and size + cell_size > FRAME_BUDGET:
                break
            first.append(cell)
            size += cell_size
        payload = {"room_id": room_id, "path": path[:512] or "notebook", "language": language,
                   "cells": first}  # fmt: skip
        snapshot = dict((await self.request(Event.NOTEBOOK_SHARE, payload))["notebook"])
        room = self.rooms.get(room_id)
        if room is not None:
            room.notebook, room.notebook_ahead = snapshot, {}
        rest = [
            {"type": "insert", "index": index, "cell": cell}
            for index, cell in enumerate(cells)
            if index >= len(first)
        ]
        if rest:
            await self.patch_notebook(room_id, rest, share_id=snapshot["summary"]["share_id"])
        room = self.rooms.get(room_id)
        return room.notebook if room is not None and room.notebook is not None else snapshot

    async def patch_notebook(
        self, room_id: str, patches: list[dict[str, Any]], *, share_id: str | None = None
    ) -> int:
        """Send changes to the share (the sharer only), in as many batches as the limits
        need (each applies whole or not at all); the last batch's seq."""
        if share_id is None:
            room = self.rooms.get(room_id)
            if room is None or room.notebook is None:
                raise ValueError("no notebook is shared in this room: give share_id")
            share_id = str(room.notebook["summary"]["share_id"])
        seq = -1
        for batch in _frames(patches, MAX_NOTEBOOK_PATCHES):
            payload = {"room_id": room_id, "share_id": share_id, "patches": batch}
            seq = int((await self.request(Event.NOTEBOOK_PATCH, payload))["seq"])
            room = self.rooms.get(room_id)
            # our own batch into our replica (the room hears it; this socket does not): after
            # a gap (an ack lost to a timeout), fetch what it lacks
            if room is not None and self._notebook_batch(room, share_id, seq, batch):
                self._spawn(self._notebook_sync(room_id))
        return seq

    async def stop_notebook(self, room_id: str) -> None:
        """Stop the room's share (the sharer or the host); its last state stays readable."""
        await self.request(Event.NOTEBOOK_STOP, {"room_id": room_id})

    async def get_notebook(self, room_id: str) -> dict[str, Any] | None:
        """The room's share, fetched whole into the replica (None: there is none)."""
        ack = await self.request(Event.NOTEBOOK_GET, {"room_id": room_id})
        room = self.rooms.get(room_id)
        if room is not None:
            room.notebook, room.notebook_ahead = ack["notebook"], {}
        return ack["notebook"]

    async def allow_sharing(self, room_id: str, member_id: str, allowed: bool = True) -> list[str]:
        """(The host) let a member share notebooks too, or no longer; the sharers."""
        payload = {"room_id": room_id, "member_id": member_id, "allowed": allowed}
        sharers = list((await self.request(Event.NOTEBOOK_ALLOW, payload))["sharers"])
        room = self.rooms.get(room_id)
        if room is not None:
            room.sharers = sharers
        return sharers

    # ---------------------------------------------------------------------------------------
    # the replica

    def _notebook_adopt(self, room: RoomState, ack: dict[str, Any]) -> None:
        """A join's (or resync's) ack: fetch the share when ours is not it, or behind."""
        room.sharers = list(ack.get("sharers") or [])
        summary = ack.get("notebook")
        if summary is None:
            room.notebook, room.notebook_ahead = None, {}
            return
        mine = room.notebook["summary"] if room.notebook else None
        if mine is not None and mine["share_id"] == summary["share_id"]:
            mine["live"] = summary["live"]
            if mine["seq"] >= summary["seq"]:
                return
        self._spawn(self._notebook_sync(room.id))

    async def _notebook_sync(self, room_id: str) -> None:
        """Fetch what the replica lacks: the batches after its seq, or the whole share."""
        room = self.rooms.get(room_id)
        if room is None or room.notebook_syncing:
            return
        room.notebook_syncing = True
        try:
            payload: dict[str, Any] = {"room_id": room_id}
            if room.notebook is not None:
                payload["share_id"] = room.notebook["summary"]["share_id"]
                payload["since"] = room.notebook["summary"]["seq"]
            try:
                ack = await self.request(Event.NOTEBOOK_GET, payload)
            except Exception as exc:  # the room went, or the connection: the next join syncs
                log.warning("classroom: could not fetch the notebook of %s: %s", room_id, exc)
                return
            if ack.get("batches") is not None and room.notebook is not None:
                for batch in ack["batches"]:
                    self._notebook_batch(room, ack["share_id"], batch["seq"], batch["patches"])
            elif ack["notebook"] is None:
                room.notebook, room.notebook_ahead = None, {}
            else:
                mine, room.notebook = room.notebook, ack["notebook"]
                summary = room.notebook["summary"]
                if mine is None or mine["summary"]["share_id"] != summary["share_id"]:
                    # batches held past a gap are the old share's: its seqs mean nothing here
                    room.notebook_ahead = {}
                seq = summary["seq"]
                room.notebook_ahead = {s: b for s, b in room.notebook_ahead.items() if s > seq}
                self._notebook_advance(room)
        finally:
            room.notebook_syncing = False
        if room.notebook_ahead and self.rooms.get(room_id) is room:
            self._spawn(self._notebook_sync(room_id))  # a gap that opened meanwhile
        await self._notify("notebook:synced", {"room_id": room_id})

    def _notebook_batch(
        self, room: RoomState, share_id: str, seq: int, patches: list[dict[str, Any]]
    ) -> bool:
        """A batch into the replica by the resume rule; whether it needs a fetch."""
        notebook = room.notebook
        if notebook is None or notebook["summary"]["share_id"] != share_id:
            return True
        if seq <= notebook["summary"]["seq"]:
            return False  # we have it
        room.notebook_ahead[seq] = patches
        self._notebook_advance(room)
        return bool(room.notebook_ahead)

    def _notebook_advance(self, room: RoomState) -> None:
        notebook = room.notebook
        while notebook is not None:
            summary = notebook["summary"]
            patches = room.notebook_ahead.pop(summary["seq"] + 1, None)
            if patches is None:
                return
            try:
                cells, active = apply_to_cells(
                    notebook["cells"], notebook["active"], decode_patches(patches)
                )
            except Exception:  # a replica that went astray: fetch it whole
                log.warning("classroom: a notebook batch did not apply; fetching the notebook")
                room.notebook, room.notebook_ahead = None, {}
                self._spawn(self._notebook_sync(room.id))
                return
            summary = {**summary, "seq": summary["seq"] + 1, "cells": len(cells)}
            notebook = room.notebook = {"summary": summary, "cells": cells, "active": active}

    def _notebook_event(self, room: RoomState, event: str, data: dict[str, Any]) -> None:
        """Keep the replica current (Connection._on_event; no await: in arrival order)."""
        if event == Event.NOTEBOOK_SHARED:
            snapshot = data["notebook"]
            mine = room.notebook
            if mine is None or mine["summary"]["share_id"] != snapshot["summary"]["share_id"]:
                room.notebook, room.notebook_ahead = snapshot, {}
        elif event == Event.NOTEBOOK_PATCHED:
            if self._notebook_batch(room, data["share_id"], data["seq"], data["patches"]):
                self._spawn(self._notebook_sync(room.id))
        elif event == Event.NOTEBOOK_STOPPED:
            if room.notebook and room.notebook["summary"]["share_id"] == data["share_id"]:
                room.notebook["summary"] = {**room.notebook["summary"], "live": False}
        elif event == Event.NOTEBOOK_SHARERS:
            room.sharers = list(data.get("sharers") or [])
