"""The browser-drawn whiteboard: an ipycanvas ``Canvas`` whose view is our extension's.

``BoardCanvas`` is an ipycanvas canvas (Python drawing through ipycanvas keeps working: it
shows as a layer under the ink), whose browser model and view (``BoardCanvasModel``,
``BoardCanvasView`` in the ``jupyter-classroom`` module) extend ipycanvas's own. The view
takes a one-time ticket from this kernel (the comm's ``ticket_request``), attaches the page's
own socket to this kernel's membership, and from then on draws, sends and receives the board
by itself: the kernel's busy state never delays the pen.

The kernel keeps its replica current through its own socket (``board:ops`` lists) and paints
nothing; ``Whiteboard.objects``, ``export`` and the listeners work from that replica.
"""

from __future__ import annotations

from typing import Any

from ipycanvas import Canvas
from ipywidgets import Layout
from traitlets import Bool, Unicode

from ..client import Client
from ..protocol import BOARD_HEIGHT, BOARD_WIDTH
from .frontend import PageSocketView
from .whiteboard import Whiteboard


class BoardCanvas(PageSocketView, Canvas):
    """The ipycanvas canvas the browser board is drawn on."""

    _model_name = Unicode("BoardCanvasModel").tag(sync=True)
    _view_name = Unicode("BoardCanvasView").tag(sync=True)

    rendered = Bool(False)  # a browser view said it drew the board (not synced: set by message)

    def __init__(self, client: Client, room_id: str, **kwargs: Any) -> None:
        super().__init__(
            client,
            room_id,
            width=BOARD_WIDTH,
            height=BOARD_HEIGHT,
            layout=Layout(width="100%"),
            **kwargs,
        )
        self.on_msg(self._on_view_message)

    def _on_view_message(self, _: Any, content: dict[str, Any], buffers: list[Any]) -> None:
        if isinstance(content, dict) and content.get("type") == "rendered":
            self.rendered = True


class BrowserWhiteboard(Whiteboard):
    """The board drawn by the JupyterLab extension; the kernel keeps the Python API."""

    mode = "browser"

    def __init__(self, client: Client, room_id: str, **kwargs: Any) -> None:
        self.canvas = BoardCanvas(client, room_id)
        super().__init__(client, room_id, **kwargs)
        self.children = [self.canvas]

    @property
    def rendered(self) -> bool:
        """Whether a browser view has shown the board (the front-end has our extension)."""
        return bool(self.canvas.rendered)

    def close(self) -> None:
        self.canvas.close()
        super().close()
