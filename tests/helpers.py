"""Small helpers the test modules share: polling, ports, board ops."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

from jupyter_classroom import Client, Connection
from jupyter_classroom.protocol import Event


async def wait_for(
    predicate: Callable[[], object],
    timeout: float = 20.0,
    interval: float = 0.05,
    message: str | Callable[[], str] = "condition not reached",
) -> None:
    """Poll ``predicate`` on the running loop until it holds; fail with ``message`` (or what
    it returns, then) after ``timeout`` seconds (generous: the machine running the suite may
    be busy)."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() >= deadline:
            raise AssertionError(message() if callable(message) else message)
        await asyncio.sleep(interval)


def hold_rejoins(connection: Connection, until: asyncio.Event) -> list[dict[str, Any]]:
    """Hold ``connection``'s ``room:join`` requests until ``until`` is set; the list their
    payloads go into. A dropped socket reconnects within milliseconds, often before the test
    has made what the member should miss: held, the rejoin has something to fetch."""
    rejoins: list[dict[str, Any]] = []
    request = connection.request

    async def held(event: str, payload: dict[str, Any]) -> dict[str, Any]:
        if event == Event.ROOM_JOIN:
            await until.wait()
            rejoins.append(payload)
        return await request(event, payload)

    connection.request = held  # type: ignore[method-assign]
    return rejoins


def free_port() -> int:
    """A TCP port on 127.0.0.1 nobody listens on (now)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def stroke(
    op_id: str,
    *points: tuple[float, float],
    color: str = "#123456",
    width: float = 2,
    tool: str | None = "pen",
) -> dict[str, Any]:
    """A ``stroke`` op through ``points`` (one point at (1, 1) if none are given), complete
    as the server stores it (``tool=None`` leaves out the field the server defaults)."""
    op: dict[str, Any] = {
        "type": "stroke",
        "id": op_id,
        "points": [list(p) for p in points or ((1, 1),)],
        "color": color,
        "width": width,
    }
    if tool is not None:
        op["tool"] = tool
    return op


def text_op(
    op_id: str, text: str = "x", *, at: tuple[float, float] = (1, 1), size: float = 12
) -> dict[str, Any]:
    """A ``text`` op."""
    x, y = at
    return {"type": "text", "id": op_id, "x": x, "y": y, "text": text, "color": "#000000",
            "size": size}  # fmt: skip


@contextlib.asynccontextmanager
async def host_and_python_member(
    server: Any, connect: Callable[..., Any], title: str
) -> AsyncIterator[tuple[Any, str, Client]]:
    """A stock socket "alice" hosting a new room, and a Python ``Client`` "bob" in it."""
    alice = await connect("alice")
    room_id = (await alice.create(title))["room"]["id"]
    bob = await asyncio.to_thread(Client, server.url, server.kernel_token, name="bob")
    try:
        await asyncio.to_thread(bob.join, room_id)
        yield alice, room_id, bob
    finally:
        await asyncio.to_thread(bob.close)


def mean_colour(received: Any) -> Any:
    """The mean RGB of the middle of a ReceivedTrack's last frame (a numpy array of 3)."""
    rgb = received.last_rgb()
    assert rgb is not None
    h, w, _ = rgb.shape
    return rgb[h // 4 : 3 * h // 4, w // 4 : 3 * w // 4].reshape(-1, 3).mean(axis=0)
