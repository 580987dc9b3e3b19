"""The room server's one Janus session at a time: opening it (a managed Janus starts first
when need be), the control handle for requests answered at once (create, list, kick,
destroy), Janus's connection errors as :class:`~.state.SfuUnavailable`, and the background
tasks the VideoRooms spawn. :mod:`.rooms` watches the session and makes the rooms again when
it ends."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from .janus_api import JanusClosed, JanusHandle, JanusSession
from .state import SfuUnavailable

log = logging.getLogger("jupyter_classroom.sfu")

Connect = Callable[[], Awaitable[JanusSession]]


class JanusLink:
    """A session with Janus, opened on first use and again after it ended."""

    def __init__(self, connect: Connect) -> None:
        self._connect = connect
        self.session: JanusSession | None = None
        self._control: JanusHandle | None = None  # for create, list, kick, destroy
        self._session_lock = asyncio.Lock()
        self._watcher: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._closing = False

    async def _session(self) -> JanusSession:
        async with self._session_lock:
            if self.session is not None and not self.session.closed.is_set():
                return self.session
            if self._closing:
                raise SfuUnavailable("the video server is shutting down")
            session: JanusSession | None = None
            try:
                session = await self._connect()
                self._control = await session.attach()
            except Exception as exc:  # OSError, JanusError, a managed Janus that cannot start
                if session is not None:
                    await session.close()
                raise SfuUnavailable(f"the video server (Janus) cannot be reached: {exc}") from exc
            self.session = session
            self._watcher = asyncio.create_task(self._watch(self.session))
            return self.session

    async def _watch(self, session: JanusSession) -> None:
        """Waits for ``session`` to end (the rooms' part makes them again)."""
        await session.closed.wait()

    @property
    def connected(self) -> bool:
        return self.session is not None and not self.session.closed.is_set()

    async def _ask(self, body: dict[str, Any]) -> dict[str, Any]:
        """A request answered at once (create, edit, list, kick, destroy): its data."""
        await self._guard(self._session())
        assert self._control is not None
        return (await self._guard(self._control.message(body))).data

    @staticmethod
    async def _guard(awaitable: Awaitable[Any]) -> Any:
        try:
            return await awaitable
        except JanusClosed as exc:
            raise SfuUnavailable(f"the video server (Janus) went away: {exc.reason}") from exc

    def _spawn(self, coro: Awaitable[None]) -> None:
        task: asyncio.Task[None] = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("sfu: a video-room task failed", exc_info=task.exception())

    async def _close_session(self) -> None:
        """No more sessions; the current one ends and the background tasks stop."""
        self._closing = True
        if self.session is not None:
            await self.session.close()
        for task in [self._watcher, *self._tasks]:
            if task is not None:
                task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
