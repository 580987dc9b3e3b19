"""Board semantics shared by the server, the client and the whiteboard widget.

A board is its op log. ``extend`` ops grow a live stroke; ``erase`` hides one object;
``clear`` hides everything before it; ``undo`` reverts one op, and undoing an ``undo`` redoes
it. :func:`fold_extends` compacts a log without changing what it draws; :func:`visible_objects`
computes what is on the board now.
"""

from __future__ import annotations

from typing import Any

DRAWABLE = frozenset({"stroke", "shape", "text", "image"})


def fold_extends(ops: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The same board with every ``extend`` merged into its stroke (copies, inputs untouched)."""
    strokes: dict[str, dict[str, Any]] = {}
    folded: list[dict[str, Any]] = []
    for board_op in ops:
        op = board_op["op"]
        kind = op["type"]
        if kind == "stroke":
            copy = {**board_op, "op": {**op, "points": list(op["points"])}}
            strokes[op["id"]] = copy
            folded.append(copy)
        elif kind == "extend" and op["target"] in strokes:
            strokes[op["target"]]["op"]["points"].extend(op["points"])
        else:
            folded.append(board_op)
    return folded


def _active_ops(ops: list[dict[str, Any]]) -> set[str]:
    """Ids of ops in effect: not reverted by an odd chain of undos."""
    reverted: dict[str, bool] = {}
    # An undo's effect depends on whether it is itself reverted, so resolve from the end.
    undo_target = {o["op"]["id"]: o["op"]["target"] for o in ops if o["op"]["type"] == "undo"}
    for undo_id in reversed(list(undo_target)):
        if not reverted.get(undo_id, False):
            target = undo_target[undo_id]
            reverted[target] = not reverted.get(target, False)
    return {o["op"]["id"] for o in ops if not reverted.get(o["op"]["id"], False)}


def visible_objects(ops: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The drawable ops (with extends merged) that the board shows now, bottom to top."""
    ops = fold_extends(ops)
    active = _active_ops(ops)
    last_clear = -1
    erased: set[str] = set()
    for index, board_op in enumerate(ops):
        op = board_op["op"]
        if op["id"] not in active:
            continue
        if op["type"] == "clear":
            last_clear = index
        elif op["type"] == "erase":
            erased.add(op["target"])
    return [
        board_op["op"]
        for index, board_op in enumerate(ops)
        if index > last_clear
        and board_op["op"]["type"] in DRAWABLE
        and board_op["op"]["id"] in active
        and board_op["op"]["id"] not in erased
    ]
