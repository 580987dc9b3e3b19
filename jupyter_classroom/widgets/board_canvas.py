"""The browser-drawn whiteboard: an ipycanvas ``Canvas`` whose view is our extension's.

``BoardCanvas`` is an ipycanvas canvas (Python drawing through ipycanvas keeps working: it
shows as a layer under the ink), whose browser model and view (``BoardCanvasModel``,
``BoardCanvasView`` in the ``jupyter-classroom`` module) extend ipycanvas's own. The view
takes a one-time ticket from this kernel (the comm's ``ticket_request``), attaches the page's
own socket to this kernel's membership, and from then on draws, sends and receives the board
by itself: the kernel's busy state never delays the pen.

The kernel paints nothing and does not follow the board live: its socket asks the server
for the ops it lacks (``board:sync``) when Python reads the board (``objects``, ``export``),
so a room's fan-out costs one socket per member, not two. A Python listener of board events
(``client.on("board:op", ...)``) makes it follow live again.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ipycanvas import Canvas, MultiCanvas
from ipywidgets import Layout
from traitlets import Bool, Unicode

from ..client import Client
from ..protocol import BOARD_HEIGHT, BOARD_WIDTH
from ._runtime import describe, submit
from .frontend import BrowserFallback, PageSocketView
from .whiteboard import Whiteboard

if TYPE_CHECKING:
    from .kernel_board import KernelWhiteboard


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


class BrowserWhiteboard(BrowserFallback, Whiteboard):
    """The board drawn by the JupyterLab extension; the kernel keeps the Python API.

    Where no front-end loads the board's view within ``frontend.VIEW_GRACE`` seconds of the
    board being shown (the notebook is open in VS Code, Colab, Notebook 6, or a JupyterLab
    with the extension disabled), it puts a :class:`~.kernel_board.KernelWhiteboard` in its
    place: ``mode`` turns ``"kernel"``, ``canvas`` is the kernel board's, the kernel follows
    the board live again, and ops in flight and the undo stack are shared with the kernel
    board. The switch is one way: a JupyterLab that opens the notebook afterwards shows the
    kernel-drawn board as well. A board inside a container of your own is watched once you
    call :meth:`expect_view` (a :class:`Classroom` does that for its parts).
    """

    mode = "browser"

    def __init__(self, client: Client, room_id: str, **kwargs: Any) -> None:
        self.canvas: BoardCanvas | MultiCanvas = BoardCanvas(client, room_id)
        super().__init__(client, room_id, **kwargs)
        submit(client, client.connection.follow_board(room_id, False))
        self.children = [self.canvas]
        self._kernel_board: KernelWhiteboard | None = None
        self._watch_view(self.canvas, "board")

    def _refresh(self) -> None:
        room = self.client.connection.rooms.get(self.room_id)
        if room is not None and not room.live and not self.client.on_own_thread():
            self.client.sync_board(self.room_id)

    @property
    def rendered(self) -> bool:
        """Whether a browser view has shown the board (the front-end has our extension)."""
        return isinstance(self.canvas, BoardCanvas) and bool(self.canvas.rendered)

    def _kernel_drawn(self) -> KernelWhiteboard:
        from .kernel_board import KernelWhiteboard

        board = KernelWhiteboard(self.client, self.room_id, outbox_of=self)
        self._kernel_board = board
        self.canvas = board.canvas
        # The kernel now paints every op, so it follows the board live again (what was drawn
        # meanwhile comes with it: draw the whole board once that is in).
        submit(self.client, self.client.connection.follow_board(self.room_id, True),
               on_done=lambda _: board.redraw(),
               on_error=lambda e: board._say(describe(e)))  # fmt: skip
        return board

    # once fallen back, what the kernel shows is the kernel board's
    def _say(self, message: str) -> None:
        if self._kernel_board is not None:
            self._kernel_board._say(message)

    def redraw(self, *_: Any) -> None:
        if self._kernel_board is not None:
            self._kernel_board.redraw()

    def _paint_new(self, *ops: dict[str, Any]) -> None:
        if self._kernel_board is not None:
            self._kernel_board._paint_new(*ops)

    def close(self) -> None:
        self.canvas.close()
        super().close()
