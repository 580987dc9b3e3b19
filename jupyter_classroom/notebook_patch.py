"""Applying shared-notebook patches: one implementation for the server's stored state and the
Python client's replica, so both end with the same cells.

A :class:`NotebookEditor` works on an order of cell ids and the cells a batch needs (the
server loads only those; a replica has them all). It applies a batch's patches in order and
raises :class:`~jupyter_classroom.protocol.ProtocolError` (``conflict``, ``too_large``,
``bad_request``) on the first one it cannot apply; the caller then keeps its old state, so a
batch applies whole or not at all. It records what changed, for a store to write only that.

Edit deltas are Yjs text deltas as JupyterLab's ``sourceChange`` gives them: ``retain`` and
``delete`` count UTF-16 code units (JavaScript string length), which differ from Python's
characters outside the Basic Multilingual Plane (emoji), so such sources are edited as UTF-16.
"""

from __future__ import annotations

from typing import Any

import msgspec

from . import protocol as p
from .protocol import ErrorCode, ProtocolError

OUTPUT_TYPES = frozenset({"stream", "display_data", "execute_result", "error"})
# An output's JSON nests at most this deep: real ones (a Plotly figure, a Vega spec) nest a
# dozen levels; a thousand would make the encoders of the server, a Python receiver and a
# renderer's JSON tree recurse past their limits (RecursionError: `internal`, or worse, a share
# stored that no one can fetch).
MAX_OUTPUT_DEPTH = 64
HEAD_FIELDS = ("id", "cell_type", "source", "execution_count")
_encode = msgspec.json.Encoder().encode


def _bad(message: str) -> ProtocolError:
    return ProtocolError(ErrorCode.BAD_REQUEST, message)


def _multiline(value: Any) -> bool:
    """nbformat's multiline string: a string, or a list of strings."""
    return isinstance(value, str) or (
        isinstance(value, list) and all(isinstance(line, str) for line in value)
    )


def _json_mime(mime: str) -> bool:
    """nbformat's JSON mime types (``application/json``, ``application/...+json``), whose
    values may be any JSON; every other mime type's value is a multiline string."""
    return mime.startswith("application/") and (
        mime == "application/json" or mime.endswith("+json")
    )


def _depth(value: Any) -> int:
    """How deep ``value`` nests (1: a scalar), without recursing."""
    deepest = 0
    stack = [(value, 1)]
    while stack:
        item, level = stack.pop()
        deepest = max(deepest, level)
        if level > MAX_OUTPUT_DEPTH:
            break
        if isinstance(item, dict):
            stack.extend((child, level + 1) for child in item.values())
        elif isinstance(item, list):
            stack.extend((child, level + 1) for child in item)
    return deepest


def check_output(output: dict[str, Any]) -> None:
    """``bad_request`` unless ``output`` has nbformat v4's shape where a receiver (a renderer,
    a student's saved copy, nbformat.validate) relies on it; its other keys pass as they are."""
    kind = output.get("output_type")
    if kind not in OUTPUT_TYPES:
        raise _bad(f"an output's output_type must be one of {sorted(OUTPUT_TYPES)}, not {kind!r}")
    if _depth(output) > MAX_OUTPUT_DEPTH:
        raise _bad(f"an output nests at most {MAX_OUTPUT_DEPTH} levels deep")
    if kind == "stream":
        if not isinstance(output.get("name"), str) or not _multiline(output.get("text")):
            raise _bad("a stream output has a name and a text (string or list of strings)")
    elif kind == "error":
        traceback = output.get("traceback")
        if not (
            isinstance(output.get("ename"), str)
            and isinstance(output.get("evalue"), str)
            and isinstance(traceback, list)
            and all(isinstance(line, str) for line in traceback)
        ):
            raise _bad("an error output has an ename, an evalue and a traceback (strings)")
    else:
        data, metadata = output.get("data", {}), output.get("metadata", {})
        if not isinstance(data, dict) or not isinstance(metadata, dict):
            raise _bad(f"a {kind} output's data and metadata are objects")
        for mime, value in data.items():
            if not _json_mime(mime) and not _multiline(value):
                raise _bad(f"the {mime!r} data of an output is a string or a list of strings")
        count = output.get("execution_count")
        if count is not None and (not isinstance(count, int) or isinstance(count, bool)):
            raise _bad("an output's execution_count is an integer or null")


def check_outputs(outputs: list[dict[str, Any]], max_output: int = p.MAX_OUTPUT) -> int:
    """The outputs' JSON size, once each is known to be an nbformat output (else
    ``bad_request``) of at most ``max_output`` bytes (else ``too_large``)."""
    total = 2 + max(0, len(outputs) - 1)  # the brackets and commas
    for output in outputs:
        check_output(output)
        size = len(_encode(output))
        if size > max_output:
            raise ProtocolError(
                ErrorCode.TOO_LARGE, f"an output is at most {max_output} bytes of JSON ({size})"
            )
        total += size
    return total


def check_source(source: str, max_source: int = p.MAX_CELL_SOURCE) -> None:
    if len(source) > max_source:
        raise ProtocolError(
            ErrorCode.TOO_LARGE, f"a cell's source is at most {max_source} characters"
        )


def normalize_cell(
    cell: p.Cell, max_output: int = p.MAX_OUTPUT, max_source: int = p.MAX_CELL_SOURCE
) -> tuple[dict[str, Any], int]:
    """A shared cell as stored and sent (every field), and its outputs' JSON size."""
    check_source(cell.source, max_source)
    outputs: list[dict[str, Any]] = list(cell.outputs)
    execution_count = cell.execution_count
    if cell.cell_type != "code":
        if outputs:
            raise ProtocolError(
                ErrorCode.BAD_REQUEST, f"cell {cell.id!r}: only code cells have outputs"
            )
        execution_count = None
    size = check_outputs(outputs, max_output)
    stored = {
        "id": cell.id,
        "cell_type": cell.cell_type,
        "source": cell.source,
        "outputs": outputs,
        "execution_count": execution_count,
    }
    return stored, size


def _step(step: dict[str, Any]) -> tuple[str, Any]:
    if len(step) != 1:
        raise ProtocolError(
            ErrorCode.BAD_REQUEST, "each delta step is one of {retain}, {insert}, {delete}"
        )
    ((key, value),) = step.items()
    if key == "insert":
        if not isinstance(value, str):
            raise ProtocolError(ErrorCode.BAD_REQUEST, "a delta's insert is a string")
    elif key in ("retain", "delete"):
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise ProtocolError(ErrorCode.BAD_REQUEST, f"a delta's {key} is a count >= 0")
    else:
        raise ProtocolError(ErrorCode.BAD_REQUEST, f"unknown delta step {key!r}")
    return key, value


def apply_delta(source: str, delta: list[dict[str, Any]]) -> str:
    """``source`` with the Yjs delta applied, as Y.Text applies it; ``conflict`` when a retain
    or delete runs past the end (or splits a character that JavaScript stores as two)."""
    steps = [_step(step) for step in delta]
    wide = len(source.encode("utf-16-le")) != 2 * len(source)  # characters past U+FFFF
    if wide:
        return _apply_utf16(source, steps)
    out: list[str] = []
    pos = 0
    for key, value in steps:
        if key == "insert":
            out.append(value)
            continue
        if pos + value > len(source):
            raise ProtocolError(ErrorCode.CONFLICT, "the edit runs past the end of the source")
        if key == "retain":
            out.append(source[pos : pos + value])
        pos += value
    out.append(source[pos:])
    return "".join(out)


def _apply_utf16(source: str, steps: list[tuple[str, Any]]) -> str:
    units = source.encode("utf-16-le")
    out: list[bytes] = []
    pos = 0
    for key, value in steps:
        if key == "insert":
            out.append(value.encode("utf-16-le", "surrogatepass"))
            continue
        end = pos + 2 * value
        if end > len(units):
            raise ProtocolError(ErrorCode.CONFLICT, "the edit runs past the end of the source")
        if key == "retain":
            out.append(units[pos:end])
        pos = end
    out.append(units[pos:])
    try:
        return b"".join(out).decode("utf-16-le")
    except UnicodeDecodeError:
        raise ProtocolError(
            ErrorCode.CONFLICT, "the edit splits a character in two (UTF-16 surrogate pair)"
        ) from None


def source_delta(old: str, new: str) -> list[dict[str, Any]]:
    """A small delta from ``old`` to ``new`` (common prefix and suffix kept), counted in UTF-16
    code units as :func:`apply_delta` expects; [] when they are equal."""
    if old == new:
        return []
    start = 0
    limit = min(len(old), len(new))
    while start < limit and old[start] == new[start]:
        start += 1
    end = 0
    while end < limit - start and old[-1 - end] == new[-1 - end]:
        end += 1

    def units(text: str) -> int:
        return len(text.encode("utf-16-le")) // 2

    delta: list[dict[str, Any]] = []
    if start:
        delta.append({"retain": units(old[:start])})
    removed = old[start : len(old) - end]
    if removed:
        delta.append({"delete": units(removed)})
    inserted = new[start : len(new) - end]
    if inserted:
        delta.append({"insert": inserted})
    return delta


class NotebookEditor:
    """Patches applied to ``order`` and ``cells`` (id -> cell dict; a server's hold only the
    cells the batch names, without outputs). ``sizes``: each known cell's outputs JSON size,
    for the byte count. Work on copies: an exception leaves them half changed."""

    def __init__(
        self,
        order: list[str],
        cells: dict[str, dict[str, Any]],
        active: str | None,
        sizes: dict[str, int] | None = None,
        *,
        max_output: int = p.MAX_OUTPUT,
        max_source: int = p.MAX_CELL_SOURCE,
    ) -> None:
        self.order = list(order)
        self._ids = set(order)
        self.cells = cells
        self.active = active
        self.sizes = sizes if sizes is not None else {}
        self.max_output = max_output
        self.max_source = max_source
        self.changed: set[str] = set()  # cells whose head (type, source, count) changed
        self.outputs: dict[str, list[dict[str, Any]]] = {}  # cells whose outputs changed
        self.deleted: set[str] = set()
        self.order_changed = False
        self.active_changed = False
        self.bytes_delta = 0

    def _cell(self, cell_id: str) -> dict[str, Any]:
        cell = self.cells.get(cell_id) if cell_id in self._ids else None
        if cell is None:
            raise ProtocolError(ErrorCode.CONFLICT, f"there is no cell {cell_id!r}")
        return cell

    def _size(self, cell_id: str, cell: dict[str, Any]) -> int:
        return len(cell["source"].encode()) + self.sizes.get(cell_id, 0)

    def _source(self, cell_id: str, cell: dict[str, Any], source: str) -> None:
        check_source(source, self.max_source)
        self.bytes_delta += len(source.encode()) - len(cell["source"].encode())
        cell["source"] = source
        self.changed.add(cell_id)

    def apply(self, patch: Any) -> None:  # one of p.Patch
        if isinstance(patch, p.InsertPatch):
            cell, size = normalize_cell(patch.cell, self.max_output, self.max_source)
            cell_id = cell["id"]
            if cell_id in self._ids:
                raise ProtocolError(ErrorCode.CONFLICT, f"there already is a cell {cell_id!r}")
            self.order.insert(min(patch.index, len(self.order)), cell_id)
            self._ids.add(cell_id)
            self.cells[cell_id] = cell
            self.sizes[cell_id] = size
            self.outputs[cell_id] = cell["outputs"]
            self.changed.add(cell_id)
            self.deleted.discard(cell_id)
            self.order_changed = True
            self.bytes_delta += self._size(cell_id, cell)
        elif isinstance(patch, p.DeletePatch):
            cell = self._cell(patch.cell_id)
            self.bytes_delta -= self._size(patch.cell_id, cell)
            self.order.remove(patch.cell_id)
            self._ids.discard(patch.cell_id)
            del self.cells[patch.cell_id]
            self.sizes.pop(patch.cell_id, None)
            self.changed.discard(patch.cell_id)
            self.outputs.pop(patch.cell_id, None)
            self.deleted.add(patch.cell_id)
            self.order_changed = True
            if self.active == patch.cell_id:
                self.active, self.active_changed = None, True
        elif isinstance(patch, p.MovePatch):
            self._cell(patch.cell_id)
            self.order.remove(patch.cell_id)
            self.order.insert(min(patch.index, len(self.order)), patch.cell_id)
            self.order_changed = True
        elif isinstance(patch, p.SourcePatch):
            self._source(patch.cell_id, self._cell(patch.cell_id), patch.source)
        elif isinstance(patch, p.EditPatch):
            cell = self._cell(patch.cell_id)
            self._source(patch.cell_id, cell, apply_delta(cell["source"], patch.delta))
        elif isinstance(patch, p.OutputsPatch):
            cell = self._cell(patch.cell_id)
            if cell["cell_type"] != "code":
                raise ProtocolError(
                    ErrorCode.CONFLICT, f"cell {patch.cell_id!r} is not a code cell"
                )
            self._set_outputs(patch.cell_id, cell, list(patch.outputs), patch.execution_count)
        elif isinstance(patch, p.CellTypePatch):
            cell = self._cell(patch.cell_id)
            if cell["cell_type"] == "code" and patch.cell_type != "code":
                self._set_outputs(patch.cell_id, cell, [], None)
            cell["cell_type"] = patch.cell_type
            self.changed.add(patch.cell_id)
        elif isinstance(patch, p.ActivePatch):
            if patch.cell_id is not None:
                self._cell(patch.cell_id)
            self.active, self.active_changed = patch.cell_id, True
        else:  # pragma: no cover - the union is closed
            raise ProtocolError(ErrorCode.BAD_REQUEST, f"unknown patch {patch!r}")

    def _set_outputs(
        self,
        cell_id: str,
        cell: dict[str, Any],
        outputs: list[dict[str, Any]],
        execution_count: int | None,
    ) -> None:
        size = check_outputs(outputs, self.max_output)
        self.bytes_delta += size - self.sizes.get(cell_id, 0)
        self.sizes[cell_id] = size
        cell["outputs"] = outputs
        cell["execution_count"] = execution_count
        self.outputs[cell_id] = outputs
        self.changed.add(cell_id)

    def head(self, cell_id: str) -> dict[str, Any]:
        """A changed cell's stored head: everything but its outputs, with their size."""
        cell = self.cells[cell_id]
        return {**{k: cell[k] for k in HEAD_FIELDS}, "ob": self.sizes.get(cell_id, 0)}


def apply_to_cells(
    cells: list[dict[str, Any]], active: str | None, patches: list[Any]
) -> tuple[list[dict[str, Any]], str | None]:
    """A whole notebook's cells (a replica's) after ``patches``; the input is not changed."""
    editor = NotebookEditor(
        [cell["id"] for cell in cells], {cell["id"]: dict(cell) for cell in cells}, active
    )
    for patch in patches:
        editor.apply(patch)
    return [editor.cells[cell_id] for cell_id in editor.order], editor.active


def decode_patches(patches: list[dict[str, Any]]) -> list[Any]:
    """Patches as received in an event (dicts) as the protocol's Structs."""
    return msgspec.convert(patches, type=list[p.Patch])
