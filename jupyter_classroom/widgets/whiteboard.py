"""The shared whiteboard: an ipycanvas ``MultiCanvas`` kept in step with the room's board.

Layers: 0 the board (committed and live ink), 1 the preview of a shape being dragged,
2 the other members' cursors. The canvas has the board's resolution (1600x900 units) and is
scaled by CSS to the widget's width; ipycanvas reports pointer positions in canvas units, so
ops are always in board units.

Local ink is drawn at once and sent without waiting; pointer moves are batched into ``extend``
ops about 30 times a second. A refused op (say, the host locked the board) makes the board
redraw from the room's replica, which only holds ops the server accepted.
"""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from pathlib import Path
from typing import Any

from ipycanvas import MultiCanvas
from ipywidgets import (
    HTML,
    Button,
    ColorPicker,
    Dropdown,
    HBox,
    Layout,
    Text,
    ToggleButton,
    ToggleButtons,
    VBox,
)

from ..board import DRAWABLE, visible_objects
from ..client import Client, RoomState
from ..protocol import BOARD_HEIGHT, BOARD_WIDTH, Event
from . import export
from ._runtime import ClientListeners, describe, drawing, kernel_activity, submit
from .geometry import topmost_hit
from .paint import Painter

EXTEND_INTERVAL = 1 / 30  # seconds between batched extend ops while drawing
CURSOR_INTERVAL = 1 / 30
CURSOR_IDLE = 3.0  # seconds after which a member's still cursor mark is taken off the board
SHAPES = ("line", "rect", "ellipse", "arrow")
TOOLS = [
    ("Pen", "pen"),
    ("Highlighter", "highlighter"),
    ("Eraser", "eraser"),
    ("Line", "line"),
    ("Rectangle", "rect"),
    ("Ellipse", "ellipse"),
    ("Arrow", "arrow"),
    ("Text", "text"),
]
BUSY = "The kernel is running a cell: your drawing waits until it ends (others' ink still shows)."


def new_id() -> str:
    return uuid.uuid4().hex[:16]


class Whiteboard(VBox):
    """The room's board, drawn with the mouse or from Python."""

    def __init__(self, client: Client, room_id: str, **kwargs: Any) -> None:
        self.client = client
        self.room_id = room_id
        self.canvas = MultiCanvas(
            3, width=BOARD_WIDTH, height=BOARD_HEIGHT,
            layout=Layout(width="100%", height="auto", border="1px solid #ccc"),
        )  # fmt: skip
        self.board_painter = Painter(self.canvas[0])
        self.preview_painter = Painter(self.canvas[1])
        self.tool = ToggleButtons(options=TOOLS, value="pen", style={"button_width": "84px"})
        self.color = ColorPicker(value="#1f3a93", concise=True, layout=Layout(width="36px"))
        self.width = Dropdown(options=[1, 2, 4, 8, 16], value=4, layout=Layout(width="64px"))
        self.text = Text(placeholder="text to place", layout=Layout(width="160px"))
        self.undo_button = Button(description="Undo", icon="undo", layout=Layout(width="80px"))
        self.redo_button = Button(description="Redo", icon="redo", layout=Layout(width="80px"))
        self.clear_button = Button(description="Clear", icon="trash", layout=Layout(width="80px"))
        self.lock_button = ToggleButton(
            description="Lock board", icon="lock", layout=Layout(width="110px")
        )
        self.status = HTML()
        self.undo_button.on_click(lambda _: self.undo())
        self.redo_button.on_click(lambda _: self.redo())
        self.clear_button.on_click(lambda _: self.clear())
        self.lock_button.observe(self._on_lock_toggle, "value")

        self._lock = threading.RLock()
        self._pending: dict[str, dict[str, Any]] = {}  # op id -> op sent, not yet acked
        self._live: dict[str, Any] | None = None  # the stroke being drawn
        self._live_points: list[list[float]] = []  # points drawn, not yet sent
        self._live_stroke_id: str | None = None  # where those points go
        self._flush_scheduled = False
        self._shape_start: tuple[float, float] | None = None
        self._last_point: dict[str, list[float]] = {}  # stroke id -> its last drawn point
        self._visible: set[str] = set()
        self._cursors: dict[str, tuple[float, float, float]] = {}  # member -> x, y, when
        self._cursor_expiry: asyncio.TimerHandle | None = None
        self._arrived: list[dict[str, Any]] = []  # remote ops to paint at the loop's next turn
        self._cursor_sent = 0.0
        self._cursor_at = (0.0, 0.0)  # the pointer's last position, sent by the trailing flush
        self._cursor_scheduled = False
        self._undo: list[str] = []
        self._redo: list[str] = []
        self._kernel_busy = False
        self._message = ""

        self.canvas.on_mouse_down(self._on_down)
        self.canvas.on_mouse_move(self._on_move)
        self.canvas.on_mouse_up(self._on_up)
        self.canvas.on_mouse_out(self._on_up)
        self.canvas.on_client_ready(self.redraw)
        self._listeners = ClientListeners(
            client,
            (Event.BOARD_OP, self._on_remote_op),
            (Event.BOARD_CURSOR, self._on_remote_cursor),
            (Event.ROOM_MEMBER_LEFT, self._on_member_left),
            (Event.ROOM_UPDATED, self._on_room_updated),
            ("board:reset", self._on_resync),
            ("resync", self._on_resync),
        )
        kernel_activity.subscribe(self._on_kernel_activity)

        toolbar = HBox(
            [self.tool, self.color, self.width, self.text, self.undo_button, self.redo_button,
             self.clear_button, self.lock_button],
            layout=Layout(flex_flow="row wrap", align_items="center"),
        )  # fmt: skip
        super().__init__([toolbar, self.canvas, self.status], **kwargs)
        self.add_class("jc-whiteboard")
        self._sync_controls()
        self.redraw()

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
        room = self.client.connection.rooms.get(self.room_id)
        ops = list(room.ops) if room else []
        with self._lock:
            pending = [
                {"seq": 0, "author": "", "ts": "", "op": op} for op in self._pending.values()
            ]
        return visible_objects(ops + pending)

    def _say(self, message: str) -> None:
        self._message = message
        self._sync_controls()

    def _sync_controls(self) -> None:
        host = self.is_host
        self.clear_button.disabled = not host
        self.lock_button.disabled = not host
        room = self.client.connection.rooms.get(self.room_id)
        locked = bool(room and room.info["board_locked"])
        if self.lock_button.value != locked:
            self.lock_button.value = locked
        notes = []
        if self._kernel_busy:
            notes.append(BUSY)
        if self.locked_for_me:
            notes.append("The host has locked the board.")
        if self._message:
            notes.append(self._message)
        self.status.value = " ".join(f"<span>{note}</span>" for note in notes)

    # ---------------------------------------------------------------------------------------
    # drawing the board

    def redraw(self, *_: Any) -> None:
        """Draw the whole board again (late join, resync, erase, undo, a new view)."""
        objects = self.objects
        with drawing():
            self.board_painter.clear()
            for op in objects:
                self.board_painter.draw(op)
        self._visible = {op["id"] for op in objects}
        self._last_point = {op["id"]: op["points"][-1] for op in objects if op["type"] == "stroke"}

    def _paint_new(self, *ops: dict[str, Any]) -> None:
        """Draw ops as they arrive, in one canvas message; an op that hides things (erase,
        undo, clear) redraws the board instead."""
        if any(op["type"] not in DRAWABLE and op["type"] != "extend" for op in ops):
            self.redraw()
            return
        # the strokes that extends continue, found before taking the canvas lock
        targets = {op["target"]: self._find_stroke(op["target"])
                   for op in ops if op["type"] == "extend"}  # fmt: skip
        with drawing():
            for op in ops:
                if op["type"] != "extend":
                    self.board_painter.draw(op)
                    self._visible.add(op["id"])
                    if op["type"] == "stroke":
                        self._last_point[op["id"]] = op["points"][-1]
                    continue
                stroke_id = op["target"]
                target = targets[stroke_id]
                if target is None or stroke_id not in self._visible:
                    continue
                start = self._last_point.get(stroke_id, op["points"][0])
                self.board_painter.draw_segment(target, [start, *op["points"]])
                self._last_point[stroke_id] = op["points"][-1]

    def _find_stroke(self, stroke_id: str) -> dict[str, Any] | None:
        if self._live is not None and self._live["id"] == stroke_id:
            return self._live
        with self._lock:
            if stroke_id in self._pending:
                return self._pending[stroke_id]
        room = self.client.connection.rooms.get(self.room_id)
        for board_op in reversed(room.ops if room else []):
            if board_op["op"]["id"] == stroke_id:
                return dict(board_op["op"])
        return None

    # ---------------------------------------------------------------------------------------
    # sending ops

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

    def _schedule_flush(self) -> None:
        if self._flush_scheduled:
            return
        self._flush_scheduled = True
        loop = self.client._loop.loop
        loop.call_soon_threadsafe(loop.call_later, EXTEND_INTERVAL, self._flush_extend)

    def _flush_extend(self) -> None:
        """Send the points drawn since the last flush as one ``extend`` op.

        Taking the points and queueing the op happen under one lock, so flushes from the
        timer (client thread) and from mouse-up (main thread) reach the server in order.
        """
        with self._lock:
            self._flush_scheduled = False
            stroke, points = self._live_stroke_id, self._live_points
            self._live_points = []
            if stroke and points:
                op = {"type": "extend", "id": new_id(), "target": stroke, "points": points}
                self._send_op(op, undoable=False)

    # ---------------------------------------------------------------------------------------
    # pointer input (the kernel's main thread)

    def _can_draw(self) -> bool:
        if self.locked_for_me:
            self._sync_controls()  # the status already says the board is locked
            return False
        return True

    def _on_down(self, x: float, y: float) -> None:
        tool = self.tool.value
        if not self._can_draw():
            return
        self._message = ""
        if tool in ("pen", "highlighter"):
            op = {"type": "stroke", "id": new_id(), "points": [[x, y]], "color": self.color.value,
                  "width": float(self.width.value), "tool": tool}  # fmt: skip
            self._flush_extend()  # whatever is left of the previous stroke goes first
            self._live = op
            self._paint_new(op)
            with self._lock:
                self._send_op(op)
                self._live_stroke_id = op["id"]
        elif tool in SHAPES:
            self._shape_start = (x, y)
        elif tool == "eraser":
            hit = topmost_hit(self.objects, x, y)
            if hit is not None:
                self._send_op({"type": "erase", "id": new_id(), "target": hit["id"]})
                self.redraw()
        elif tool == "text":
            if not self.text.value.strip():
                self._say("Type the text in the box first, then click where it goes.")
                return
            op = {"type": "text", "id": new_id(), "x": x, "y": y, "text": self.text.value,
                  "color": self.color.value, "size": 8.0 + 4 * float(self.width.value)}  # fmt: skip
            self._paint_new(op)
            self._send_op(op)

    def _on_move(self, x: float, y: float) -> None:
        self._send_cursor(x, y)
        if self._live is not None:
            with self._lock:
                self._live_points.append([x, y])
            start = self._last_point.get(self._live["id"], [x, y])
            with drawing():
                self.board_painter.draw_segment(self._live, [start, [x, y]])
            self._last_point[self._live["id"]] = [x, y]
            self._schedule_flush()
        elif self._shape_start is not None:
            with drawing():
                self.preview_painter.clear()
                self.preview_painter.draw(self._shape(x, y))

    def _on_up(self, x: float, y: float) -> None:
        if self._live is not None:
            self._live = None
            self._flush_extend()
        elif self._shape_start is not None:
            op = self._shape(x, y)
            self._shape_start = None
            with drawing():
                self.preview_painter.clear()
            if (op["x1"], op["y1"]) != (op["x2"], op["y2"]):
                self._paint_new(op)
                self._send_op(op)

    def _shape(self, x: float, y: float) -> dict[str, Any]:
        assert self._shape_start is not None
        x1, y1 = self._shape_start
        return {"type": "shape", "id": new_id(), "shape": self.tool.value, "x1": x1, "y1": y1,
                "x2": x, "y2": y, "color": self.color.value, "width": float(self.width.value),
                "fill": None}  # fmt: skip

    def _send_cursor(self, x: float, y: float) -> None:
        """At most ~30 positions a second, and always the last one (where the pointer stopped)."""
        now = time.monotonic()
        with self._lock:
            self._cursor_at = (x, y)
            if self._cursor_scheduled:
                return
            wait = CURSOR_INTERVAL - (now - self._cursor_sent)
            if wait > 0:
                self._cursor_scheduled = True
                loop = self.client._loop.loop
                loop.call_soon_threadsafe(loop.call_later, wait, self._flush_cursor)
                return
            self._cursor_sent = now
        submit(self.client, self.client.connection.cursor(self.room_id, x, y))

    def _flush_cursor(self) -> None:
        with self._lock:
            self._cursor_scheduled = False
            self._cursor_sent = time.monotonic()
            x, y = self._cursor_at
        submit(self.client, self.client.connection.cursor(self.room_id, x, y))

    # ---------------------------------------------------------------------------------------
    # undo, redo, clear, lock

    def undo(self) -> None:
        """Revert your last op (the server keeps it; undoing the undo brings it back)."""
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

    def _on_lock_toggle(self, change: dict[str, Any]) -> None:
        room = self.client.connection.rooms.get(self.room_id)
        if not self.is_host or room is None or bool(room.info["board_locked"]) == change["new"]:
            return
        payload = {"room_id": self.room_id, "board_locked": bool(change["new"])}
        submit(self.client, self.client.connection.request(Event.ROOM_UPDATE, payload),
               on_error=lambda e: self._say(describe(e)))  # fmt: skip

    # ---------------------------------------------------------------------------------------
    # remote events (the client's thread)

    def _on_remote_op(self, data: dict[str, Any]) -> None:
        # A `board:ops` list is heard as one op after another in one turn of the client's
        # loop: gather them and paint them together, in one canvas message.
        if data.get("room_id") == self.room_id:
            self._arrived.append(data["op"])
            if len(self._arrived) == 1:
                asyncio.get_running_loop().call_soon(self._paint_arrived)

    def _paint_arrived(self) -> None:
        ops, self._arrived = self._arrived, []
        if ops and self.comm is not None:  # (not closed meanwhile)
            self._paint_new(*ops)

    def _on_remote_cursor(self, data: dict[str, Any]) -> None:
        # (on the client's event loop, like every listener)
        if data.get("room_id") == self.room_id:
            self._cursors[data["member_id"]] = (data["x"], data["y"], time.monotonic())
            self._draw_cursors()
            if self._cursor_expiry is None:
                self._cursor_expiry = asyncio.get_running_loop().call_later(
                    CURSOR_IDLE, self._expire_cursors
                )

    def _expire_cursors(self) -> None:
        """Take off the marks of members whose pointer has not moved for CURSOR_IDLE (it left
        the board, or they stopped): a mark that stays would hide ink and mislead."""
        self._cursor_expiry = None
        if self.comm is None:  # closed meanwhile
            return
        now = time.monotonic()
        idle = [m for m, (_, _, when) in self._cursors.items() if now - when >= CURSOR_IDLE - 0.05]
        for member in idle:
            del self._cursors[member]
        if idle:
            self._draw_cursors()
        if self._cursors:  # come back when the next one would go
            oldest = min(when for _, _, when in self._cursors.values())
            self._cursor_expiry = asyncio.get_running_loop().call_later(
                max(0.05, oldest + CURSOR_IDLE - now), self._expire_cursors
            )

    def _on_member_left(self, data: dict[str, Any]) -> None:
        if data.get("room_id") == self.room_id and self._cursors.pop(data["member_id"], None):
            self._draw_cursors()

    def _on_room_updated(self, data: dict[str, Any]) -> None:
        if data["room"]["id"] == self.room_id:
            self._sync_controls()

    def _on_resync(self, data: dict[str, Any]) -> None:
        if data.get("room_id") == self.room_id:
            self.redraw()

    def _on_kernel_activity(self, busy: bool) -> None:
        self._kernel_busy = busy
        self._sync_controls()

    def _draw_cursors(self) -> None:
        room = self.client.connection.rooms.get(self.room_id)
        members = room.members if room else {}
        layer = self.canvas[2]
        with drawing():
            layer.clear()
            for member_id, (x, y, _) in self._cursors.items():
                member = members.get(member_id)
                if member is None:
                    continue
                # a ring and a dot: the ink under the pointer stays visible
                layer.stroke_style = member["color"]
                layer.line_width = 2
                layer.stroke_circle(x, y, 7)
                layer.fill_style = member["color"]
                layer.fill_circle(x, y, 2)
                layer.font = "14px sans-serif"
                layer.fill_text(member["name"], x + 9, y - 9)

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
        """Put the objects of a board saved as ``.json`` on this board; returns how many."""
        objects = export.from_json(Path(path).read_text(encoding="utf-8"))
        for op in objects:
            self.put(op)
        return len(objects)

    def close(self) -> None:
        self._listeners.remove()
        kernel_activity.unsubscribe(self._on_kernel_activity)
        super().close()
