"""The kernel-drawn whiteboard: the fallback for front-ends without our JupyterLab extension.

An ipycanvas ``MultiCanvas`` kept in step with the room's board by the kernel. Layers: 0 the
board (committed and live ink), 1 the preview of a shape being dragged, 2 the other members'
cursors. The canvas has the board's resolution (1600x900 units) and is scaled by CSS to the
widget's width; ipycanvas reports pointer positions in canvas units, so ops are always in
board units.

Pointer events reach the kernel as widget messages, so local ink waits for the kernel (and
for a running cell to end); pointer moves are batched into ``extend`` ops about 30 times a
second. A refused op (say, the host locked the board) makes the board redraw from the room's
replica, which only holds ops the server accepted.
"""

from __future__ import annotations

import asyncio
import html
import time
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
)

from ..board import DRAWABLE
from ..client import Client
from ..protocol import BOARD_HEIGHT, BOARD_WIDTH, Event
from ._runtime import ClientListeners, describe, drawing, kernel_activity, submit
from .geometry import topmost_hit
from .paint import Painter
from .whiteboard import Whiteboard, new_id

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
MODE_NOTE = (
    "Drawn by the kernel (the jupyter-live-classroom extension is not loaded here): "
    "your ink waits for the kernel."
)


class KernelWhiteboard(Whiteboard):
    """The board drawn by the kernel on an ipycanvas ``MultiCanvas``."""

    mode = "kernel"

    def __init__(self, client: Client, room_id: str, **kwargs: Any) -> None:
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
        self._kernel_busy = False
        self._message = ""

        super().__init__(client, room_id, **kwargs)
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
        self.children = [toolbar, self.canvas, self.status]
        self._sync_controls()
        self.redraw()

    # ---------------------------------------------------------------------------------------
    # the status line and the host's controls

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
        notes = [MODE_NOTE]
        if self._kernel_busy:
            notes.append(BUSY)
        if self.locked_for_me:
            notes.append("The host has locked the board.")
        if self._message:
            notes.append(self._message)
        # Notes carry server messages, which may quote what someone typed: text, not HTML.
        self.status.value = " ".join(f"<span>{html.escape(note)}</span>" for note in notes)

    def _on_lock_toggle(self, change: dict[str, Any]) -> None:
        room = self.client.connection.rooms.get(self.room_id)
        if not self.is_host or room is None or bool(room.info["board_locked"]) == change["new"]:
            return
        payload = {"room_id": self.room_id, "board_locked": bool(change["new"])}
        submit(self.client, self.client.connection.request(Event.ROOM_UPDATE, payload),
               on_error=lambda e: self._say(describe(e)))  # fmt: skip

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
    # the live stroke's outbox

    def _schedule_flush(self) -> None:
        if self._flush_scheduled:
            return
        self._flush_scheduled = True
        self.client.call_later(EXTEND_INTERVAL, self._flush_extend)

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
                self.client.call_later(wait, self._flush_cursor)
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

    def close(self) -> None:
        self._listeners.remove()
        kernel_activity.unsubscribe(self._on_kernel_activity)
        super().close()
