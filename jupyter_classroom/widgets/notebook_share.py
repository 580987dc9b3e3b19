"""Sharing a notebook from a :class:`~.classroom.Classroom` (a part of it): the host shares an
``.ipynb`` file with the room and, while watching it, sends what changes on disk; members read
the share as an nbformat notebook.

The watch runs on the client's own loop (not the kernel's, which a running cell blocks): it
looks at the file's modification time about once a second and, when it changed, reads it and
sends the difference from what it sent last (client/notebooks.py's ``diff_cells``). JupyterLab
writes the file when the notebook is saved (or autosaved), so members see saved changes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from pathlib import Path
from typing import Any

from ..client import ClassroomError, Client
from ..client.notebooks import cells_from_notebook, diff_cells, read_notebook, to_nbformat

log = logging.getLogger("jupyter_classroom")

WATCH_INTERVAL = 1.0  # seconds between two looks at the shared file
# codes that refuse a version of the file for what it is (a cell too large...): it is sent
# again only once it changes
REFUSED = frozenset({"bad_request", "too_large"})


class NotebookWatch:
    """Keeps the room's share equal to a file: re-reads it when its mtime changes and sends
    the difference; on a ``conflict`` (the share moved on without us) it shares it whole."""

    def __init__(
        self, client: Client, room_id: str, path: Path, cells: list[dict[str, Any]],
        share_id: str, interval: float = WATCH_INTERVAL,
    ) -> None:  # fmt: skip
        self.client = client
        self.room_id = room_id
        self.path = path
        self.cells = cells  # as last sent
        self.share_id = share_id
        self.interval = interval
        self.mtime = self._mtime()
        self._task: asyncio.Task[None] | None = None
        self.stopped = False

    def _mtime(self) -> int:
        try:
            return os.stat(self.path).st_mtime_ns
        except OSError:
            return -1

    def start(self) -> None:
        async def begin() -> None:
            self._task = asyncio.ensure_future(self.run())

        self.client.submit(begin())

    def stop(self) -> None:
        self.stopped = True

        async def cancel() -> None:
            if self._task is not None:
                self._task.cancel()

        self.client.submit(cancel())

    def _still_ours(self) -> bool:
        room = self.client.connection.rooms.get(self.room_id)
        if room is None:
            return False  # we left the room, or it closed
        if room.notebook is None:
            return True  # (not known yet: a fetch is under way)
        summary = room.notebook["summary"]
        return bool(summary["share_id"] == self.share_id and summary["live"])

    async def run(self) -> None:
        warned = -1  # the version last warned about: one warning per save, not per look
        while not self.stopped:
            await asyncio.sleep(self.interval)
            if not self._still_ours():
                return  # stopped, or replaced by another share
            mtime = self._mtime()
            if mtime in (self.mtime, -1):
                continue
            try:
                cells, _ = cells_from_notebook(await asyncio.to_thread(read_notebook, self.path))
            except Exception as exc:  # not a notebook (yet): Jupyter saves atomically, so the
                self.mtime = mtime  # next save changes the file, and its mtime, again
                log.warning("classroom: %s is not a notebook; waiting for its next save: %s",
                            self.path, exc)  # fmt: skip
                continue
            try:
                await self.sync(cells)
                self.mtime = mtime
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if isinstance(exc, ClassroomError) and exc.code in REFUSED:
                    self.mtime = mtime  # sending this version again is refused again
                elif warned == mtime:
                    continue  # (the server away: the next look tries again, quietly)
                warned = mtime
                log.warning("classroom: could not send the changes of %s: %s", self.path, exc)

    async def sync(self, cells: list[dict[str, Any]]) -> None:
        """Send the difference of ``cells`` (the file's, read) from what was sent last."""
        patches = diff_cells(self.cells, cells)
        if not patches:
            return
        connection = self.client.connection
        try:
            await connection.patch_notebook(self.room_id, patches, share_id=self.share_id)
        except ClassroomError as exc:
            if exc.code != "conflict" or not self._still_ours():
                raise
            # our view and the server's differ (a batch lost on the way): share it whole again
            snapshot = await connection.share_cells(
                self.room_id, self.path.name, cells, self._language()
            )
            self.share_id = snapshot["summary"]["share_id"]
        self.cells = cells

    def _language(self) -> str | None:
        room = self.client.connection.rooms.get(self.room_id)
        notebook = room.notebook if room is not None else None
        return notebook["summary"]["language"] if notebook else None


class NotebookSharing:
    """``share_notebook``, ``stop_sharing``, ``allow_sharing`` and ``shared_notebook``."""

    client: Client
    room_id: str
    _notebook_watch: NotebookWatch | None = None

    def share_notebook(
        self, path: str | os.PathLike[str], watch: bool = True, *, interval: float = WATCH_INTERVAL
    ) -> dict[str, Any]:
        """Share the ``.ipynb`` at ``path`` with the room, read-only and live in every member's
        JupyterLab (you must be the host, or allowed). With ``watch`` (the default) the room
        follows the file: each time it is saved, the changes go out. The share's summary."""
        if watch and not interval > 0:  # (0 would look at the file in a busy loop)
            raise ValueError(f"interval is a number of seconds > 0, not {interval!r}")
        file = Path(path)
        notebook = read_notebook(file)  # here, so that a bad path fails in the caller's cell
        cells, language = cells_from_notebook(notebook)
        self._stop_watch()
        connection = self.client.connection
        snapshot = self.client._call(
            connection.share_cells(self.room_id, file.name, cells, language)
        )
        summary: dict[str, Any] = snapshot["summary"]
        if watch:
            self._notebook_watch = NotebookWatch(
                self.client, self.room_id, file, cells, summary["share_id"], interval
            )
            self._notebook_watch.start()
        return summary

    def stop_sharing(self) -> None:
        """Stop the room's share (yours; the host may stop anyone's). The last state stays
        readable for the members."""
        self._stop_watch()
        self.client._call(self.client.connection.stop_notebook(self.room_id))

    def allow_sharing(self, member: str, allowed: bool = True) -> list[str]:
        """(The host) let ``member`` (a member id) share notebooks too, or no longer; the
        members allowed."""
        return self.client._call(
            self.client.connection.allow_sharing(self.room_id, member, allowed)
        )

    @property
    def shared_notebook(self) -> dict[str, Any] | None:
        """The room's shared notebook as it is now, as an nbformat v4 dict
        (``nbformat.from_dict`` makes it a NotebookNode; ``nbformat.write`` saves it); None
        when nothing is shared."""
        room = self.client.connection.rooms.get(self.room_id)
        if room is None or room.notebook is None:
            return None
        return to_nbformat(room.notebook)

    def _stop_watch(self) -> None:
        watch, self._notebook_watch = self._notebook_watch, None
        if watch is not None:
            with contextlib.suppress(RuntimeError):  # the client's loop already stopped
                watch.stop()
