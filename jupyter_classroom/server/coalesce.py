"""Merge the ``extend`` ops of one stroke in a ``board:ops`` list, without losing a point.

A drawer's pointer events arrive as a ``stroke`` and then one ``extend`` per event (or per
animation frame); in a tick's list under load a stroke may have tens of them, each with its
own ``seq``, ``author``, ``ts``, ``id`` and ``target``. Here the extends of one stroke by one
author that follow each other in the list (nothing that names the stroke, nor any
``erase``/``undo``/``clear``, in between) become one op: the last of them, carrying all their
points in order, and ``merged``, one ``{seq, id, points}`` per earlier extend (how many of
the points, from the front, are its). A client expands it back into one extend per seq
(``expand_merged`` in the Python client, ``expandMerged`` in the page's board model), so its
board, its ``seq`` continuity and its ``since`` on reconnect are exactly what the unmerged
list would have given; the store keeps every op as it was acked.

The merged op stands where its last part stood: the list stays in seq order by ``seq``, and
a client that does not expand sees the earlier seqs missing, waits for them and resyncs with
``since`` (losing nothing) rather than misplacing a point.
"""

from __future__ import annotations

from typing import Any

from ..protocol import MAX_POINTS

# Ops that draw, or extend a stroke: they change nothing about another stroke's points, so
# a run of one stroke's extends may pass over them. Any other op (erase, undo, clear) ends
# every run: their meaning may depend on where an extend stands.
_PASS_OVER = frozenset({"stroke", "extend", "shape", "text", "image"})


class _Run:
    """One stroke's extends merged so far: where the merged op stands in the output."""

    __slots__ = ("author", "index", "last", "parts", "points")

    def __init__(self, index: int, board_op: dict[str, Any]) -> None:
        self.index = index
        self.author = board_op["author"]
        self.last = board_op
        self.parts: list[dict[str, Any]] = []
        self.points: list[Any] = []

    def take(self, index: int, board_op: dict[str, Any]) -> None:
        last_op = self.last["op"]
        if not self.parts:
            self.points = list(last_op["points"])
        self.parts.append(
            {"seq": self.last["seq"], "id": last_op["id"], "points": len(last_op["points"])}
        )
        self.points.extend(board_op["op"]["points"])
        self.last = board_op
        self.index = index

    def size(self) -> int:
        return len(self.points) if self.parts else len(self.last["op"]["points"])

    def merged(self) -> dict[str, Any]:
        op = {**self.last["op"], "points": self.points}
        return {**self.last, "op": op, "merged": self.parts}


def coalesce(ops: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``ops`` (BoardOps in seq order) with each stroke's consecutive extends by one author
    merged into the last of them. The input and its dicts are left alone (the store's)."""
    slots: list[dict[str, Any] | _Run | None] = []
    runs: dict[str, _Run] = {}  # stroke id -> its open run
    merged_any = False
    for board_op in ops:
        op = board_op.get("op")
        kind = op.get("type") if isinstance(op, dict) else None
        if kind == "extend" and isinstance(op, dict):
            target = op["target"]
            run = runs.get(target)
            if (
                run is not None
                and run.author == board_op["author"]
                and run.size() + len(op["points"]) <= MAX_POINTS  # still a valid extend
            ):
                slots[run.index] = None
                run.take(len(slots), board_op)
                slots.append(run)
                merged_any = True
                continue
            runs[target] = _Run(len(slots), board_op)
            slots.append(runs[target])
            continue
        if kind not in _PASS_OVER or not isinstance(op, dict):
            runs.clear()
        else:
            runs.pop(op.get("id", ""), None)  # (a stroke whose id an open run names: end it)
        slots.append(board_op)
    if not merged_any:
        return ops
    out: list[dict[str, Any]] = []
    for slot in slots:
        if isinstance(slot, _Run):
            out.append(slot.merged() if slot.parts else slot.last)
        elif slot is not None:
            out.append(slot)
    return out
