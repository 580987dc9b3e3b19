"""Drawing board objects onto an ipycanvas ``Canvas`` (one layer of the whiteboard)."""

from __future__ import annotations

import base64
import math
from typing import Any

from ipycanvas import Canvas
from ipywidgets import Image

from .geometry import arrow_head

HIGHLIGHTER_ALPHA = 0.35
HIGHLIGHTER_WIDTH = 3.0  # a highlighter is this many times wider than a pen of its width


def stroke_style(op: dict[str, Any]) -> tuple[float, float]:
    """(line width, alpha) a stroke is drawn with."""
    if op.get("tool") == "highlighter":
        return op["width"] * HIGHLIGHTER_WIDTH, HIGHLIGHTER_ALPHA
    return op["width"], 1.0


class Painter:
    """Draws ops onto one canvas layer; image widgets are kept per op so redraws are cheap."""

    def __init__(self, canvas: Canvas) -> None:
        self.canvas = canvas
        self._images: dict[str, Image] = {}

    def clear(self) -> None:
        self.canvas.clear()

    def draw(self, op: dict[str, Any]) -> None:
        getattr(self, f"_draw_{op['type']}")(op)

    def draw_segment(self, op: dict[str, Any], points: list[Any]) -> None:
        """Continue a stroke through ``points`` (the first is where it left off)."""
        self._polyline(op, points)

    def _polyline(self, op: dict[str, Any], points: list[Any]) -> None:
        canvas = self.canvas
        width, alpha = stroke_style(op)
        canvas.global_alpha = alpha
        canvas.stroke_style = op["color"]
        canvas.fill_style = op["color"]
        canvas.line_width = width
        canvas.line_cap = "round"
        canvas.line_join = "round"
        if len(points) == 1:
            x, y = points[0]
            canvas.fill_circle(x, y, width / 2)
        else:
            canvas.stroke_lines([(x, y) for x, y in points])
        canvas.global_alpha = 1.0

    def _draw_stroke(self, op: dict[str, Any]) -> None:
        self._polyline(op, op["points"])

    def _draw_shape(self, op: dict[str, Any]) -> None:
        canvas = self.canvas
        x1, y1, x2, y2 = op["x1"], op["y1"], op["x2"], op["y2"]
        canvas.stroke_style = op["color"]
        canvas.line_width = op["width"]
        canvas.line_cap = "round"
        canvas.line_join = "round"
        shape = op["shape"]
        if shape in ("line", "arrow"):
            canvas.stroke_line(x1, y1, x2, y2)
            if shape == "arrow":
                canvas.fill_style = op["color"]
                canvas.fill_polygon(arrow_head(x1, y1, x2, y2, op["width"]))
            return
        left, top, width, height = min(x1, x2), min(y1, y2), abs(x2 - x1), abs(y2 - y1)
        if shape == "rect":
            if op.get("fill"):
                canvas.fill_style = op["fill"]
                canvas.fill_rect(left, top, width, height)
            canvas.stroke_rect(left, top, width, height)
        else:
            canvas.begin_path()
            canvas.ellipse(
                left + width / 2, top + height / 2, width / 2, height / 2, 0, 0, 2 * math.pi
            )
            if op.get("fill"):
                canvas.fill_style = op["fill"]
                canvas.fill()
            canvas.stroke()

    def _draw_text(self, op: dict[str, Any]) -> None:
        canvas = self.canvas
        canvas.font = f"{op['size']}px sans-serif"
        canvas.fill_style = op["color"]
        canvas.text_baseline = "alphabetic"
        canvas.fill_text(op["text"], op["x"], op["y"])

    def _draw_image(self, op: dict[str, Any]) -> None:
        image = self._images.get(op["id"])
        if image is None:
            header, data = op["src"].split(",", 1)
            kind = header.removeprefix("data:image/").split(";")[0]
            image = self._images[op["id"]] = Image(value=base64.b64decode(data), format=kind)
        self.canvas.draw_image(image, op["x"], op["y"], op["w"], op["h"])
