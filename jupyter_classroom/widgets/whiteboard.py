"""The shared whiteboard: its Python API over the client's replica, in either of two modes.

- ``"browser"`` (:class:`~.board_canvas.BrowserWhiteboard`): the JupyterLab extension draws
  the board. Pen, tools, remote ink and cursors live in the browser on the page's own socket,
  so nothing a person does waits for the kernel, even while a cell runs. The kernel only keeps
  its replica current; it paints nothing.
- ``"kernel"`` (:class:`~.kernel_board.KernelWhiteboard`): the fallback where the extension is
  not there (a front-end without it): the kernel draws on an ipycanvas ``MultiCanvas``.

``Whiteboard(client, room_id)`` picks the mode (``mode=`` or ``$JUPYTER_CLASSROOM_BOARD``
overrides it): "browser" where the extension is installed. A browser board that no front-end
loads within :data:`~.frontend.VIEW_GRACE` seconds of being shown (VS Code, Colab, Notebook 6,
a JupyterLab with the extension disabled) switches itself to the kernel-drawn board, in place
and for good (see :class:`~.frontend.BrowserFallback`). Both modes share what this module
holds: ops put from Python (sent without waiting; pending until acked), their undo stack,
``objects``, ``export`` and ``load``.
"""

from __future__ import annotations

import threading
import uuid
from pathlib import Path
from typing import Any

from ipywidgets import VBox

from ..board import visible_objects
from ..client import ClassroomError, Client, RoomState
from ..protocol import Event
from . import export
from ._runtime import describe, submit
from .frontend import board_mode


def new_id() -> str:
    return uuid.uuid4().hex[:16]


class Whiteboard(VBox):
    """The room's board, drawn with the pen in the notebook or from Python.

    ``Whiteboard(client, room_id)`` returns the browser-drawn board where the JupyterLab
    extension is installed and the kernel-drawn one elsewhere; ``mode`` says which. Where the
    front-end showing the browser board cannot load it, the board becomes kernel-drawn a few
    seconds after it is shown (``mode`` turns ``"kernel"``, a line says why); the Python API,
    its pending ops and undo stack carry on across the switch.
    """

    mode = "kernel"
    _lock: threading.RLock  # guards the outbox (shared with a board that takes over)

    def __new__(
        cls, client: Client, room_id: str, *, mode: str | None = None, **kwargs: Any
    ) -> Whiteboard:
        if cls is Whiteboard:
            if board_mode(mode) == "browser":
                from .board_canvas import BrowserWhiteboard

                cls = BrowserWhiteboard
            else:
                from .kernel_board import KernelWhiteboard

                cls = KernelWhiteboard
        board: Whiteboard = super().__new__(cls)
        return board

    def __init__(
        self, client: Client, room_id: str, *, outbox_of: Whiteboard | None = None, **kwargs: Any
    ) -> None:
        """``outbox_of``: a board whose outbox and undo stack this one shares (the kernel
        board that takes over a browser board no front-end could show)."""
        kwargs.pop("mode", None)
        self.client = client
        self.room_id = room_id
        self._lock = threading.RLock() if outbox_of is None else outbox_of._lock
        # op id -> op sent, not yet acked
        self._pending: dict[str, dict[str, Any]] = {} if outbox_of is None else outbox_of._pending
        self._undo: list[str] = [] if outbox_of is None else outbox_of._undo  # own undoable ops
        self._redo: list[str] = [] if outbox_of is None else outbox_of._redo  # undos of them
        super().__init__(**kwargs)
        self.add_class("jc-whiteboard")
        self.add_class(f"jc-whiteboard-{self.mode}")

    # ---------------------------------------------------------------------------------------
    # state

    @property
    def room(self) -> RoomState:
        return self.client.connection.rooms[self.room_id]

    @property
    def is_host(self) -> bool:
        return self.room_id in self.client.connection.rooms and self.room.is_host

    @property
    def locked_for_me(self) -> bool:
        room = self.client.connection.rooms.get(self.room_id)
        return room is not None and bool(room.info["board_locked"]) and not room.is_host

    @property
    def objects(self) -> list[dict[str, Any]]:
        """What the board shows now, as ops, bottom to top (with local ops not yet acked)."""
        self._refresh()
        room = self.client.connection.rooms.get(self.room_id)
        ops = list(room.ops) if room else []
        with self._lock:
            pending = [
                {"seq": 0, "author": "", "ts": "", "op": op} for op in self._pending.values()
            ]
        return visible_objects(ops + pending)

    def _refresh(self) -> None:
        """Bring the replica up to date before Python reads it (the browser mode fetches the
        board on demand; the kernel mode follows it live)."""

    # what each mode does to show things (the browser mode shows nothing from the kernel)

    def _say(self, message: str) -> None:
        """Tell the person something (a refused op, nothing to undo...)."""

    def redraw(self, *_: Any) -> None:
        """Draw the whole board again."""

    def _paint_new(self, *ops: dict[str, Any]) -> None:
        """Draw ops just made or arrived."""

    # ---------------------------------------------------------------------------------------
    # sending ops (the kernel's own outbox)

    def _send_op(self, op: dict[str, Any], undoable: bool = True) -> None:
        """Send an op without waiting; it is already drawn."""
        with self._lock:
            self._pending[op["id"]] = op
        if undoable:
            self._undo.append(op["id"])
            self._redo.clear()

        def acked(_: Any) -> None:
            with self._lock:
                self._pending.pop(op["id"], None)

        def refused(error: BaseException) -> None:
            with self._lock:
                self._pending.pop(op["id"], None)
            if op["id"] in self._undo:
                self._undo.remove(op["id"])
            self._say(describe(error))
            self.redraw()

        submit(self.client, self.client.connection.op(self.room_id, op), acked, refused)

    # ---------------------------------------------------------------------------------------
    # undo, redo, clear, lock

    def undo(self) -> None:
        """Revert this kernel's last op (the server keeps it; undoing the undo brings it back)."""
        if not self._undo:
            self._say("Nothing of yours to undo.")
            return
        target = self._undo.pop()
        undo = {"type": "undo", "id": new_id(), "target": target}
        self._send_op(undo, undoable=False)
        self._redo.append(undo["id"])
        self.redraw()

    def redo(self) -> None:
        if not self._redo:
            self._say("Nothing to redo.")
            return
        undo_id = self._redo.pop()
        redo = {"type": "undo", "id": new_id(), "target": undo_id}
        self._send_op(redo, undoable=False)
        room_undo = self._find_undo_target(undo_id)
        if room_undo is not None:
            self._undo.append(room_undo)
        self.redraw()

    def _find_undo_target(self, undo_id: str) -> str | None:
        with self._lock:
            if undo_id in self._pending:
                return str(self._pending[undo_id]["target"])
        self._refresh()
        for board_op in reversed(self.room.ops):
            if board_op["op"]["id"] == undo_id:
                return str(board_op["op"]["target"])
        return None

    def clear(self) -> None:
        """Clear the board (host only; undoable)."""
        if not self.is_host:
            self._say("Only the host can clear the board.")
            return
        self._send_op({"type": "clear", "id": new_id()})
        self.redraw()

    def lock(self, locked: bool = True) -> None:
        """Lock the board so that only the host draws (host only; blocks until done)."""
        self.client.request(Event.ROOM_UPDATE, {"room_id": self.room_id, "board_locked": locked})

    # ---------------------------------------------------------------------------------------
    # the Python API (blocking: waits for the server)

    def draw_stroke(
        self, points: list[tuple[float, float]], color: str = "#000000", width: float = 3,
        tool: str = "pen",
    ) -> str:  # fmt: skip
        """Draw a stroke through ``points`` (board units); returns its op id."""
        return self.put({"type": "stroke", "points": [list(p) for p in points], "color": color,
                         "width": float(width), "tool": tool})  # fmt: skip

    def put(self, op: dict[str, Any]) -> str:
        """Put any drawable op on the board (an ``id`` is added if missing)."""
        op = {"id": new_id(), **op}
        self.client.op(op, room_id=self.room_id)
        self._paint_new(op)
        self._undo.append(str(op["id"]))
        return str(op["id"])

    def put_figure(
        self, figure: Any, x: float = 0, y: float = 0, width: float | None = None
    ) -> str:
        """Put a matplotlib figure on the board as an image."""
        return self.put(export.figure_to_image_op(figure, x, y, width))

    def export(self, path: str | Path) -> Path:
        """Save the board as ``.png``, ``.svg`` or ``.json`` (by the file's suffix)."""
        path = Path(path)
        suffix = path.suffix.lower()
        if suffix == ".png":
            path.write_bytes(export.to_png(self.objects))
        elif suffix == ".svg":
            path.write_text(export.to_svg(self.objects), encoding="utf-8")
        elif suffix == ".json":
            path.write_text(export.to_json(self.objects), encoding="utf-8")
        else:
            raise ValueError(f"export to .png, .svg or .json, not {suffix or 'no suffix'}")
        return path

    def load(self, path: str | Path) -> int:
        """Put the objects of a board saved as ``.json`` on this board (in few messages);
        returns how many. Raises ``ClassroomError`` if the server refused some (the others
        are on the board)."""
        ops = export.from_json(Path(path).read_text(encoding="utf-8"))  # with fresh ids
        outcomes = self.client.ops(ops, room_id=self.room_id)
        accepted = [
            op for op, outcome in zip(ops, outcomes, strict=True) if isinstance(outcome, int)
        ]
        self._paint_new(*accepted)
        self._undo.extend(str(op["id"]) for op in accepted)
        refused = [outcome for outcome in outcomes if isinstance(outcome, ClassroomError)]
        if refused:
            raise ClassroomError(
                refused[0].code,
                f"{len(refused)} of {len(ops)} objects were refused: {refused[0].message}",
            )
        return len(ops)
