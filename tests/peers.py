"""A stock python-socketio client that records what it receives, for tests."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import socketio


@dataclass
class ServerInfo:
    origin: str
    base_url: str
    jupyter_token: str
    kernel_token: str
    app: Any

    @property
    def socket_path(self) -> str:
        return f"{self.base_url}classroom/socket.io"

    @property
    def url(self) -> str:
        return f"{self.origin}{self.base_url}"


class Peer:
    """One socket: ``await peer.call(event, payload)`` returns the ack; ``await
    peer.next(event)`` waits for the next received ``event``; ``peer.received[event]``."""

    def __init__(
        self,
        server: ServerInfo,
        name: str | None = None,
        *,
        auth: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        use_jupyter_token: bool = True,
        client_id: str | None = None,
    ) -> None:
        self.server = server
        self.auth = dict(auth or {})
        self.auth.setdefault("client_id", client_id or uuid.uuid4().hex)
        if name:
            self.auth["name"] = name
        self.headers = dict(headers or {})
        if use_jupyter_token:
            self.headers.setdefault("Authorization", f"token {server.jupyter_token}")
        self.received: dict[str, list[Any]] = defaultdict(list)
        self.log: list[str] = []  # event names in the order they arrived
        self._queues: dict[str, asyncio.Queue[Any]] = defaultdict(asyncio.Queue)
        self.sio = socketio.AsyncClient(
            reconnection=False,
            handle_sigint=False,
            websocket_extra_options={"max_msg_size": 1 << 30},
        )
        self.sio.on("*", self._record)

    async def _record(self, event: str, data: Any = None) -> None:
        self.received[event].append(data)
        self.log.append(event)
        self._queues[event].put_nowait(data)

    async def connect(self) -> None:
        await self.sio.connect(
            self.server.origin,
            socketio_path=self.server.socket_path,
            transports=["websocket"],
            auth=self.auth,
            headers=self.headers,
            wait_timeout=10,
        )

    async def disconnect(self) -> None:
        if self.sio.connected:
            await self.sio.disconnect()

    async def call(self, event: str, payload: Any = None) -> dict[str, Any]:
        return await self.sio.call(event, {} if payload is None else payload, timeout=30)  # type: ignore[no-any-return]

    async def ok(self, event: str, payload: Any = None) -> dict[str, Any]:
        ack = await self.call(event, payload)
        assert ack.get("ok") is True, ack
        return ack

    async def error(self, event: str, payload: Any = None) -> str:
        """The error code of a refused request."""
        ack = await self.call(event, payload)
        assert ack.get("ok") is False, ack
        assert set(ack["error"]) == {"code", "message"} and ack["error"]["message"], ack
        return str(ack["error"]["code"])

    async def next(self, event: str, timeout: float = 5.0) -> Any:
        return await asyncio.wait_for(self._queues[event].get(), timeout)

    async def nothing(self, event: str, wait: float = 0.3) -> None:
        """Assert that no ``event`` arrives within ``wait`` seconds."""
        await asyncio.sleep(wait)
        assert self._queues[event].empty(), self.received[event]

    def drain(self, event: str) -> list[Any]:
        items = []
        while not self._queues[event].empty():
            items.append(self._queues[event].get_nowait())
        return items

    async def create(self, title: str = "Linear algebra", **fields: Any) -> dict[str, Any]:
        return await self.ok("room:create", {"title": title, **fields})

    async def join(self, room_id: str, **fields: Any) -> dict[str, Any]:
        return await self.ok("room:join", {"room_id": room_id, **fields})


@contextlib.asynccontextmanager
async def peer_pool() -> AsyncIterator[Callable[..., Awaitable[Peer]]]:
    """``await connect(server_info, "alice", **Peer options)``: connected Peers, all
    disconnected at the end."""
    peers: list[Peer] = []

    async def connect(server: ServerInfo, name: str | None = None, **kwargs: Any) -> Peer:
        peer = Peer(server, name=name, **kwargs)
        await peer.connect()
        peers.append(peer)
        return peer

    try:
        yield connect
    finally:
        for peer in peers:
            await peer.disconnect()
