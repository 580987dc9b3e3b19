"""Fixtures: a real Jupyter server (pytest-jupyter) with the classroom, and real Socket.IO
clients connected to it over websockets."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TYPE_CHECKING, Any

import pytest

from .peers import Peer, ServerInfo, peer_pool

if TYPE_CHECKING:
    from jupyter_classroom import Connection

pytest_plugins = ["pytest_jupyter.jupyter_server"]


def _fail_skips_under_ci(report: pytest.TestReport | pytest.CollectReport) -> None:
    """Under CI (``CI`` set, as ``.ci/run`` runs), a skipped test fails: CI installs every
    dependency the suites need (Redis, Chromium, the hub's proxy), so a skip there means a
    feature went untested, never that a tool is missing."""
    if report.skipped and os.environ.get("CI"):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else report.longrepr
        report.outcome = "failed"
        report.longrepr = f"skipped under CI, which must run every test: {reason}"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    _fail_skips_under_ci((yield).get_result())


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector: pytest.Collector) -> Any:
    _fail_skips_under_ci((yield).get_result())


@pytest.fixture
async def jp_asyncio_loop() -> AsyncIterator[asyncio.AbstractEventLoop]:
    """Serve Jupyter on the loop pytest-asyncio runs the test on, not on a second one."""
    yield asyncio.get_running_loop()


@pytest.fixture
def classroom_config() -> dict[str, Any]:
    """ClassroomApp config for this test; override in a module or test to change it."""
    return {}


@pytest.fixture
def jp_server_config(classroom_config: dict[str, Any]) -> dict[str, Any]:
    return {
        "ServerApp": {"jpserver_extensions": {"jupyter_classroom": True}},
        "ClassroomApp": classroom_config,
    }


@pytest.fixture
def server(
    jp_serverapp: Any, http_server_client: Any, jp_http_port: int, jp_base_url: str
) -> ServerInfo:
    app = jp_serverapp.extension_manager.extension_apps["jupyter_classroom"]
    (classroom,) = app
    return ServerInfo(
        origin=f"http://127.0.0.1:{jp_http_port}",
        base_url=jp_base_url,
        jupyter_token=jp_serverapp.identity_provider.token,
        kernel_token=classroom.kernel_token,
        app=classroom,
    )


@pytest.fixture
async def connect(server: ServerInfo) -> AsyncIterator[Callable[..., Awaitable[Peer]]]:
    """``await connect(name="alice")``: a connected Peer (Jupyter token auth by default)."""
    async with peer_pool() as connect_to:
        yield functools.partial(connect_to, server)


MakeConnection = Callable[[str], Awaitable["Connection"]]


@pytest.fixture
async def connection(server: ServerInfo) -> AsyncIterator[MakeConnection]:
    """``await connection("alice")``: a connected media Connection, closed after the test."""
    from jupyter_classroom import Connection

    made: list[Connection] = []

    async def make(name: str) -> Connection:
        conn = Connection(server.url, server.kernel_token, name=name)
        await conn.connect()
        made.append(conn)
        return conn

    yield make
    for conn in made:
        await conn.close()


@pytest.fixture
async def peers() -> AsyncIterator[list[Any]]:
    """Media peers appended here are closed after the test, even when it fails."""
    made: list[Any] = []
    yield made
    for peer in made:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(peer.close(), 10)
