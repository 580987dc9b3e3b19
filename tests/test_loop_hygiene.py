"""Background tasks are kept and their failures logged; a room close does not collect the
whole heap on the loop (issue 17, item 4)."""

from __future__ import annotations

import asyncio
import gc
import logging

import pytest

from jupyter_classroom.server import heap
from jupyter_classroom.tasks import TaskSet

from .helpers import wait_for


async def test_a_task_is_kept_until_done_and_its_failure_logged(caplog):
    caplog.set_level(logging.ERROR, logger="jupyter_classroom")
    tasks = TaskSet("test task")
    gate = asyncio.Event()

    async def fail() -> None:
        await gate.wait()
        raise ValueError("boom")

    tasks.spawn(fail())  # the reference is dropped here, as fire-and-forget callers do
    gc.collect()
    assert len(tasks) == 1
    gate.set()
    await wait_for(lambda: len(tasks) == 0, timeout=10)
    assert "a test task failed: ValueError('boom')" in caplog.text


async def test_a_cancelled_task_is_not_an_error(caplog):
    caplog.set_level(logging.ERROR, logger="jupyter_classroom")
    tasks = TaskSet("test task")
    tasks.spawn(asyncio.sleep(3600))
    await tasks.cancel_all()
    assert len(tasks) == 0 and caplog.text == ""


@pytest.fixture
def trims(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """malloc_trim calls (the release's last step), recorded instead of made."""
    made: list[int] = []
    monkeypatch.setattr(heap, "_malloc_trim", lambda pad: made.append(pad) or 1)
    monkeypatch.setattr(heap, "_pending", None)
    monkeypatch.setattr(heap, "_last_release", -1e9)
    monkeypatch.setattr(heap, "RELEASE_DELAY", 0.05)
    monkeypatch.setattr(heap, "RELEASE_INTERVAL", 600.0)
    return made


async def test_a_burst_of_closes_shares_one_release_off_the_callers_path(trims):
    loop = asyncio.get_running_loop()
    for _ in range(20):  # a lesson ends: its rooms close
        heap.release_freed_memory()
        assert trims == []  # nothing on the close's own path
    assert heap._pending is not None
    scheduled = heap._pending[1]
    heap.release_freed_memory()
    assert heap._pending[1] is scheduled  # one release for the burst
    await wait_for(lambda: trims == [0], timeout=10)
    assert heap._pending is None
    # the next close, within RELEASE_INTERVAL of that release: deferred to the interval's end
    heap.release_freed_memory()
    assert heap._pending is not None
    assert heap._pending[1].when() - loop.time() > 500
    assert trims == [0]
    heap._pending[1].cancel()
