"""``TaskSet``: background tasks kept until they end, their failures logged.

The event loop holds only a weak reference to a task: one started with
``asyncio.ensure_future`` and dropped can be garbage-collected mid-flight, and an exception
it raises is reported (if ever) as "Task exception was never retrieved" at some later
collection, with no word of what the task was for. Every fire-and-forget task of the package
goes through a ``TaskSet`` instead.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Iterator
from typing import Any, TypeVar

T = TypeVar("T")

log = logging.getLogger("jupyter_classroom")


class TaskSet:
    """Tasks started by :meth:`spawn`, each held until it is done; an exception one ends
    with is logged (naming ``what``) rather than lost. Cancellation is not an error."""

    def __init__(self, what: str = "background task", logger: logging.Logger | None = None):
        self.what = what
        self.log = logger or log
        self._tasks: set[asyncio.Future[Any]] = set()

    def spawn(self, coro: Awaitable[T]) -> asyncio.Future[T]:
        """Run ``coro`` as a task on the running loop, keeping it until it ends."""
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._done)
        return task

    def _done(self, task: asyncio.Future[Any]) -> None:
        self._tasks.discard(task)
        if task.cancelled():
            return
        error = task.exception()
        if error is not None:
            self.log.error("classroom: a %s failed: %r", self.what, error, exc_info=error)

    def __len__(self) -> int:
        return len(self._tasks)

    def __iter__(self) -> Iterator[asyncio.Future[Any]]:
        return iter(list(self._tasks))

    async def cancel_all(self) -> None:
        """Cancel every task still running and wait until they have ended."""
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
