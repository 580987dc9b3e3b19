"""A Janus the room server runs itself: started on first need, restarted if it dies, stopped
with the server.

Janus runs as a child process with the configuration of :mod:`.config`; its log lines go to
the ``jupyter_classroom.sfu.janus`` logger. :meth:`ManagedJanus.ensure_running` returns once
its API answers. When the process ends without being asked (a crash, a kill), a watcher starts
it again; the API's clients notice their websocket closing and make their state again
(:mod:`.videoroom`).
"""

from __future__ import annotations

import asyncio
import logging
import shutil
import time
from collections.abc import Awaitable, Sequence
from pathlib import Path

from .config import JanusConfig, JanusSettings
from .janus_api import JanusError, JanusSession

log = logging.getLogger("jupyter_classroom.sfu")
janus_log = logging.getLogger("jupyter_classroom.sfu.janus")

START_TIMEOUT = 15.0
STOP_TIMEOUT = 5.0
RESTART_DELAY = 0.5  # between a crash and the restart; doubled up to 10 s while it keeps dying


class JanusNotStarted(Exception):
    """The Janus binary could not be started, or its API never answered."""


class ManagedJanus:
    """One Janus child process. ``command_prefix`` comes before the binary (``nice``,
    ``ip netns exec NAME``: the tests run Janus in a network namespace of their own)."""

    def __init__(
        self,
        settings: JanusSettings,
        *,
        command_prefix: Sequence[str] = (),
        config_parent: str | None = None,
    ) -> None:
        self.settings = settings
        self.command_prefix = list(command_prefix)
        self.config_parent = config_parent
        self.config: JanusConfig | None = None
        self.process: asyncio.subprocess.Process | None = None
        self.starts = 0  # processes started so far (restarts included)
        self._lock = asyncio.Lock()
        self._stopping = False
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def api_url(self) -> str:
        if self.config is None:
            raise JanusNotStarted("Janus has not been started")
        return self.config.api_url

    @property
    def admin_key(self) -> str:
        if self.config is None:
            raise JanusNotStarted("Janus has not been started")
        return self.config.admin_key

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.returncode is None

    async def ensure_running(self) -> str:
        """Start Janus unless it runs; its API URL once the API answers."""
        async with self._lock:
            if self._stopping:
                raise JanusNotStarted("the room server is stopping")
            if not self.running:
                await self._start()
            return self.api_url

    async def _start(self) -> None:
        binary = shutil.which(self.settings.binary) or self.settings.binary
        if self.config is None:
            self.config = JanusConfig.create(self.settings, self.config_parent)
        self.config.api_socket.unlink(missing_ok=True)
        command = [*self.command_prefix, *self.config.command()]
        command[len(self.command_prefix)] = binary
        try:
            self.process = await asyncio.create_subprocess_exec(
                *command,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.STDOUT,
            )
        except OSError as exc:
            raise JanusNotStarted(
                f"cannot run {binary!r} ({exc}); install Janus (Debian: apt-get install janus) "
                "or set ClassroomApp.janus_binary / janus_url"
            ) from exc
        self.starts += 1
        process = self.process
        self._spawn(self._forward_log(process))
        try:
            await self._wait_for_api(process)
        except JanusNotStarted:
            await self._terminate(process)
            raise
        log.info("sfu: Janus %d started (API %s)", process.pid, self.api_url)
        self._spawn(self._watch(process))

    async def _wait_for_api(self, process: asyncio.subprocess.Process) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            if process.returncode is not None:
                raise JanusNotStarted(f"Janus exited at start with status {process.returncode}")
            if self.config is not None and self.config.api_socket.exists():
                try:
                    session = await JanusSession.open(self.api_url, connect_timeout=1.0)
                    await session.close()
                    return
                except (OSError, JanusError):
                    pass
            if time.monotonic() > deadline:
                raise JanusNotStarted(f"Janus's API did not answer within {START_TIMEOUT} s")
            await asyncio.sleep(0.05)

    async def _forward_log(self, process: asyncio.subprocess.Process) -> None:
        assert process.stdout is not None
        async for line in process.stdout:
            janus_log.debug("%s", line.decode(errors="replace").rstrip())

    async def _watch(self, process: asyncio.subprocess.Process) -> None:
        await process.wait()
        delay = RESTART_DELAY
        while not self._stopping:
            log.warning("sfu: Janus %d exited (status %s); starting it again",
                        process.pid, process.returncode)  # fmt: skip
            await asyncio.sleep(delay)
            try:
                async with self._lock:
                    if not self._stopping and not self.running:
                        await self._start()
                return
            except JanusNotStarted as exc:
                log.error("sfu: restarting Janus failed: %s", exc)
                delay = min(delay * 2, 10.0)

    def _spawn(self, coro: Awaitable[None]) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _terminate(self, process: asyncio.subprocess.Process) -> None:
        if process.returncode is None:
            process.terminate()
            try:
                await asyncio.wait_for(process.wait(), STOP_TIMEOUT)
            except TimeoutError:
                process.kill()
                await process.wait()

    async def stop(self) -> None:
        """Stop Janus (SIGTERM, then SIGKILL) and remove its configuration."""
        self._stopping = True
        async with self._lock:
            if self.process is not None:
                await self._terminate(self.process)
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self.config is not None:
            shutil.rmtree(self.config.root, ignore_errors=True)

    @property
    def config_root(self) -> Path | None:
        return self.config.root if self.config else None
