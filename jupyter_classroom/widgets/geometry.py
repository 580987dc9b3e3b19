"""Geometry of board objects: arrow heads and hit testing, in board units."""

from __future__ import annotations

import math
from typing import Any

HIT_SLOP = 8.0  # board units a click may miss an object by and still hit it


def arrow_head(
    x1: float, y1: float, x2: float, y2: float, width: float
) -> list[tuple[float, float]]:
    """The triangle at the (x2, y2) end of an arrow."""
    length = max(12.0, 4.0 * width)
    angle = math.atan2(y2 - y1, x2 - x1)
    spread = math.pi / 7
    return [
        (x2, y2),
        (x2 - length * math.cos(angle - spread), y2 - length * math.sin(angle - spread)),
        (x2 - length * math.cos(angle + spread), y2 - length * math.sin(angle + spread)),
    ]


def _segment_distance(px: float, py: float, ax: float, ay: float, bx: float, by: float) -> float:
    dx, dy = bx - ax, by - ay
    if dx == dy == 0:
        return math.hypot(px - ax, py - ay)
    t = max(0.0, min(1.0, ((px - ax) * dx + (py - ay) * dy) / (dx * dx + dy * dy)))
    return math.hypot(px - (ax + t * dx), py - (ay + t * dy))


def _polyline_distance(x: float, y: float, points: list[Any]) -> float:
    if len(points) == 1:
        return math.hypot(x - points[0][0], y - points[0][1])
    return min(_segment_distance(x, y, *points[i], *points[i + 1]) for i in range(len(points) - 1))


def hits(op: dict[str, Any], x: float, y: float) -> bool:
    """Whether a click at (x, y) touches the drawn object ``op``."""
    kind = op["type"]
    if kind == "stroke":
        return _polyline_distance(x, y, op["points"]) <= op["width"] / 2 + HIT_SLOP
    if kind == "shape":
        x1, y1, x2, y2 = op["x1"], op["y1"], op["x2"], op["y2"]
        slop = op["width"] / 2 + HIT_SLOP
        if op["shape"] in ("line", "arrow"):
            return _segment_distance(x, y, x1, y1, x2, y2) <= slop
        left, right, top, bottom = min(x1, x2), max(x1, x2), min(y1, y2), max(y1, y2)
        if op["shape"] == "rect":
            inside = left - slop <= x <= right + slop and top - slop <= y <= bottom + slop
            if op.get("fill"):
                return inside
            near_edge = min(abs(x - left), abs(x - right), abs(y - top), abs(y - bottom)) <= slop
            return inside and near_edge
        rx, ry = max((right - left) / 2, 1e-6), max((bottom - top) / 2, 1e-6)
        cx, cy = left + rx, top + ry
        r = math.hypot((x - cx) / rx, (y - cy) / ry)
        tolerance = slop / min(rx, ry)
        return r <= 1 + tolerance if op.get("fill") else abs(r - 1) <= tolerance
    if kind == "text":
        width = 0.6 * op["size"] * len(op["text"])
        return (
            op["x"] <= x <= op["x"] + width
            and op["y"] - op["size"] <= y <= op["y"] + 0.3 * op["size"]
        )
    if kind == "image":
        return op["x"] <= x <= op["x"] + op["w"] and op["y"] <= y <= op["y"] + op["h"]
    return False


def topmost_hit(objects: list[dict[str, Any]], x: float, y: float) -> dict[str, Any] | None:
    """The object drawn last among those a click at (x, y) touches."""
    for op in reversed(objects):
        if hits(op, x, y):
            return op
    return None
