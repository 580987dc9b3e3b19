"""Refused connects (issue 16, item 10): the websocket is closed once the client has read
why, instead of staying open answering pings."""

from __future__ import annotations

import asyncio
import json
import time

import aiohttp

from .figures import record

SOCKETS = 50


async def refused_socket(session: aiohttp.ClientSession, server) -> aiohttp.ClientWebSocketResponse:
    """A raw websocket that asks to connect with no credentials: engine.io's open, then the
    Socket.IO CONNECT; returns once the refusal arrived."""
    url = f"{server.origin}{server.socket_path}/?EIO=4&transport=websocket"
    ws = await session.ws_connect(url, autoping=False)
    opened = await ws.receive_str(timeout=10)
    assert opened.startswith("0"), opened
    await ws.send_str("40" + json.dumps({"client_id": "no-credentials"}))
    refusal = await ws.receive_str(timeout=10)
    assert refusal.startswith("44") and "unauthorized" in refusal, refusal  # CONNECT_ERROR
    return ws


async def closed(ws: aiohttp.ClientWebSocketResponse, wait: float = 10.0) -> bool:
    """Whether the server closes ``ws`` within ``wait`` seconds (answering its pings meanwhile
    counts as staying open)."""
    deadline = time.monotonic() + wait
    while (left := deadline - time.monotonic()) > 0:
        try:
            message = await ws.receive(timeout=left)
        except asyncio.TimeoutError:
            return False
        if message.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED):
            return True
        if message.type == aiohttp.WSMsgType.TEXT and message.data == "2":
            await ws.send_str("3")  # engine.io ping: pong, as a client that lingers would
    return False


async def test_a_refused_socket_is_closed(server):
    async with aiohttp.ClientSession() as session:
        started = time.monotonic()
        sockets = [await refused_socket(session, server) for _ in range(SOCKETS)]
        outcomes = await asyncio.gather(*(closed(ws) for ws in sockets))
        elapsed = time.monotonic() - started
        assert all(outcomes), f"{outcomes.count(False)} of {SOCKETS} refused sockets stayed open"
        record("refused_connects", sockets=SOCKETS, all_closed_after_s=round(elapsed, 2))
