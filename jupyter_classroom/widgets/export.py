"""The board as a file: PNG (rasterised here, no browser needed), SVG, and JSON."""

from __future__ import annotations

import base64
import io
import json
import math
import uuid
from typing import Any
from xml.sax.saxutils import escape

from PIL import Image, ImageDraw, ImageFont

from ..protocol import BOARD_HEIGHT, BOARD_WIDTH, MAX_IMAGE_SRC
from .geometry import arrow_head
from .paint import stroke_style

FORMAT = "jupyter-classroom-board"


def _rgba(color: str, alpha: float = 1.0) -> tuple[int, int, int, int]:
    return int(color[1:3], 16), int(color[3:5], 16), int(color[5:7], 16), round(255 * alpha)


def to_png(objects: list[dict[str, Any]], background: str = "#ffffff") -> bytes:
    """The visible objects drawn on a white 1600x900 image."""
    board = Image.new("RGBA", (BOARD_WIDTH, BOARD_HEIGHT), _rgba(background))
    for op in objects:
        layer = Image.new("RGBA", board.size, (0, 0, 0, 0))
        draw = ImageDraw.Draw(layer)
        kind = op["type"]
        if kind == "stroke":
            width, alpha = stroke_style(op)
            points = [tuple(p) for p in op["points"]]
            color = _rgba(op["color"], alpha)
            if len(points) > 1:
                draw.line(points, fill=color, width=max(1, round(width)), joint="curve")
            for x, y in (points[0], points[-1]):  # round caps
                draw.ellipse(
                    (x - width / 2, y - width / 2, x + width / 2, y + width / 2), fill=color
                )
        elif kind == "shape":
            x1, y1, x2, y2 = op["x1"], op["y1"], op["x2"], op["y2"]
            color, width = _rgba(op["color"]), max(1, round(op["width"]))
            box = (min(x1, x2), min(y1, y2), max(x1, x2), max(y1, y2))
            fill = _rgba(op["fill"]) if op.get("fill") else None
            if op["shape"] in ("line", "arrow"):
                draw.line((x1, y1, x2, y2), fill=color, width=width)
                if op["shape"] == "arrow":
                    draw.polygon(arrow_head(x1, y1, x2, y2, op["width"]), fill=color)
            elif op["shape"] == "rect":
                draw.rectangle(box, outline=color, width=width, fill=fill)
            else:
                draw.ellipse(box, outline=color, width=width, fill=fill)
        elif kind == "text":
            font = ImageFont.load_default(size=op["size"])
            draw.text(
                (op["x"], op["y"]), op["text"], fill=_rgba(op["color"]), font=font, anchor="ls"
            )
        elif kind == "image":
            data = base64.b64decode(op["src"].split(",", 1)[1])
            picture = Image.open(io.BytesIO(data)).convert("RGBA")
            picture = picture.resize((max(1, round(op["w"])), max(1, round(op["h"]))))
            layer.paste(picture, (round(op["x"]), round(op["y"])))
        board = Image.alpha_composite(board, layer)
    out = io.BytesIO()
    board.convert("RGB").save(out, format="PNG")
    return out.getvalue()


def to_svg(objects: list[dict[str, Any]]) -> str:
    """The visible objects as an SVG document in board units."""
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{BOARD_WIDTH}" height="{BOARD_HEIGHT}" '
        f'viewBox="0 0 {BOARD_WIDTH} {BOARD_HEIGHT}">',
        f'<rect width="{BOARD_WIDTH}" height="{BOARD_HEIGHT}" fill="#ffffff"/>',
    ]
    for op in objects:
        kind = op["type"]
        ident = f'data-op="{escape(op["id"])}"'
        if kind == "stroke":
            width, alpha = stroke_style(op)
            points = " ".join(f"{x:g},{y:g}" for x, y in op["points"])
            parts.append(
                f'<polyline {ident} points="{points}" fill="none" stroke="{op["color"]}" '
                f'stroke-width="{width:g}" stroke-opacity="{alpha:g}" '
                'stroke-linecap="round" stroke-linejoin="round"/>'
            )
        elif kind == "shape":
            x1, y1, x2, y2 = op["x1"], op["y1"], op["x2"], op["y2"]
            style = f'stroke="{op["color"]}" stroke-width="{op["width"]:g}" fill="{op.get("fill") or "none"}"'
            if op["shape"] in ("line", "arrow"):
                parts.append(
                    f'<line {ident} x1="{x1:g}" y1="{y1:g}" x2="{x2:g}" y2="{y2:g}" {style}/>'
                )
                if op["shape"] == "arrow":
                    head = " ".join(
                        f"{x:g},{y:g}" for x, y in arrow_head(x1, y1, x2, y2, op["width"])
                    )
                    parts.append(f'<polygon points="{head}" fill="{op["color"]}"/>')
            elif op["shape"] == "rect":
                parts.append(
                    f'<rect {ident} x="{min(x1, x2):g}" y="{min(y1, y2):g}" '
                    f'width="{abs(x2 - x1):g}" height="{abs(y2 - y1):g}" {style}/>'
                )
            else:
                parts.append(
                    f'<ellipse {ident} cx="{(x1 + x2) / 2:g}" cy="{(y1 + y2) / 2:g}" '
                    f'rx="{abs(x2 - x1) / 2:g}" ry="{abs(y2 - y1) / 2:g}" {style}/>'
                )
        elif kind == "text":
            parts.append(
                f'<text {ident} x="{op["x"]:g}" y="{op["y"]:g}" font-family="sans-serif" '
                f'font-size="{op["size"]:g}" fill="{op["color"]}">{escape(op["text"])}</text>'
            )
        elif kind == "image":
            parts.append(
                f'<image {ident} x="{op["x"]:g}" y="{op["y"]:g}" width="{op["w"]:g}" '
                f'height="{op["h"]:g}" href="{escape(op["src"])}"/>'
            )
    parts.append("</svg>")
    return "\n".join(parts)


def to_json(objects: list[dict[str, Any]]) -> str:
    return json.dumps({"format": FORMAT, "version": 1, "objects": objects}, indent=1)


def from_json(text: str) -> list[dict[str, Any]]:
    """Objects of a saved board, with fresh ids so they can be put on any board."""
    data = json.loads(text)
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise ValueError(f"not a {FORMAT} file")
    return [{**op, "id": uuid.uuid4().hex[:16]} for op in data["objects"]]


def figure_to_image_op(
    figure: Any, x: float = 0, y: float = 0, width: float | None = None
) -> dict[str, Any]:
    """A matplotlib figure as an ``image`` op, small enough for the protocol's limit."""
    dpi = float(figure.get_dpi())
    for attempt in range(6):
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight")
        src = "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()
        if len(src) <= MAX_IMAGE_SRC:
            break
        dpi /= math.sqrt(2) ** (attempt + 1)
    else:
        raise ValueError("the figure is too large for the board even at a low resolution")
    picture = Image.open(io.BytesIO(buffer.getvalue()))
    w, h = picture.size
    if width is None:
        width = min(float(w), BOARD_WIDTH - x)
    return {
        "type": "image",
        "id": uuid.uuid4().hex[:16],
        "x": x,
        "y": y,
        "w": width,
        "h": width * h / w,
        "src": src,
    }
