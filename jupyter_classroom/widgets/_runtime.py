"""What the widgets share: a drawing lock, the client's loop, and the kernel's busy state.

Remote events arrive on the Client's own thread and user input on the kernel's main thread;
ipycanvas keeps global state (its command batch and "current canvas"), so every drawing goes
through :data:`DRAW_LOCK`.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Coroutine, Iterator
from concurrent.futures import Future
from typing import Any

from ipycanvas import canvas as ipycanvas_canvas
from ipycanvas import hold_canvas

from ..client import ClassroomError, Client
from ..client.connection import Listener

DRAW_LOCK = threading.RLock()

FRIENDLY_ERRORS = {
    "bad_password": "Wrong password.",
    "room_full": "This room is full.",
    "not_found": "That room no longer exists.",
    "forbidden": "You are not allowed to do that here.",
    "not_member": "You are no longer in this room.",
}


@contextlib.contextmanager
def drawing() -> Iterator[None]:
    """Hold the lock and batch ipycanvas commands into one message."""
    with DRAW_LOCK, hold_canvas():
        _forget_current_canvas()
        yield


def _forget_current_canvas() -> None:
    """Make the next batch name its canvas, even the one ipycanvas believes is current.

    ipycanvas skips the "switch canvas" command when the kernel drew on the same canvas last
    time, but a reloaded page has a new canvas manager that is on no canvas: the first command
    then fails in the browser and stops every canvas of that page for good (ipycanvas#322),
    so a student who reloads the page sees a blank, dead board.
    """
    manager = getattr(ipycanvas_canvas, "_CANVAS_MANAGER", None)
    if manager is not None and hasattr(manager, "_current_canvas"):
        manager._current_canvas = None


def describe(error: BaseException) -> str:
    """A sentence for a person, from a failed request."""
    if isinstance(error, ClassroomError):
        if error.code == "rate_limited":
            return error.message[:1].upper() + error.message[1:] + "."
        return FRIENDLY_ERRORS.get(error.code, error.message)
    return f"Something went wrong: {error}"


def submit(
    client: Client,
    coro: Coroutine[Any, Any, Any],
    on_done: Callable[[Any], None] | None = None,
    on_error: Callable[[BaseException], None] | None = None,
) -> Future[Any]:
    """Run ``coro`` on the client's loop without waiting; callbacks run on that thread."""
    future = client.submit(coro)

    def done(f: Future[Any]) -> None:
        error = f.exception()
        if error is not None:
            if on_error is not None:
                on_error(error)
        elif on_done is not None:
            on_done(f.result())

    future.add_done_callback(done)
    return future


class ClientListeners:
    """The client listeners of one widget, removed together when the widget closes."""

    def __init__(self, client: Client, *pairs: tuple[str, Listener]) -> None:
        self.client = client
        self.pairs = pairs
        for event, listener in pairs:
            client.on(event, listener)

    def remove(self) -> None:
        for event, listener in self.pairs:
            self.client.off(event, listener)


class KernelActivity:
    """Tells listeners when the kernel starts and finishes running a cell.

    While a cell runs, the kernel does not read widget messages, so local drawing waits;
    remote events still render from the client's thread. The widgets say so.
    """

    def __init__(self) -> None:
        self._listeners: list[Callable[[bool], None]] = []
        self._shell: Any = None
        try:
            from IPython import get_ipython

            self._shell = get_ipython()
        except ImportError:  # pragma: no cover - IPython comes with ipywidgets
            self._shell = None

    def subscribe(self, listener: Callable[[bool], None]) -> None:
        if self._shell is None:
            return
        if not self._listeners:
            self._shell.events.register("pre_run_cell", self._busy)
            self._shell.events.register("post_run_cell", self._idle)
        self._listeners.append(listener)

    def unsubscribe(self, listener: Callable[[bool], None]) -> None:
        if listener in self._listeners:
            self._listeners.remove(listener)
        if self._shell is not None and not self._listeners:
            with contextlib.suppress(ValueError):
                self._shell.events.unregister("pre_run_cell", self._busy)
                self._shell.events.unregister("post_run_cell", self._idle)

    def _busy(self, *_: Any) -> None:
        for listener in list(self._listeners):
            listener(True)

    def _idle(self, *_: Any) -> None:
        for listener in list(self._listeners):
            listener(False)


kernel_activity = KernelActivity()
