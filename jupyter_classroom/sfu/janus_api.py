"""A small asynchronous client of the Janus WebSocket API (subprotocol ``janus-protocol``).

One :class:`JanusSession` is one websocket and one Janus session: requests carry a
transaction id and are answered by the reply with the same id; a plugin message is
acknowledged first (``ack``) and answered later by an ``event`` with that id. Replies are read
by one reader task; the session is kept alive by a ``keepalive`` well inside Janus's
``session_timeout``. When the websocket ends (Janus stopped or restarted) every request
waiting fails with :class:`JanusClosed` and ``closed`` is set: the owner makes a new session.

The URL is ``ws://host:port/`` (an external Janus) or ``unix:/path/to/socket`` (the Unix socket
of a managed Janus, see :mod:`.config`).
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tornado.httpclient import HTTPRequest
from tornado.netutil import Resolver
from tornado.websocket import WebSocketClientConnection, websocket_connect

log = logging.getLogger("jupyter_classroom.sfu")

SUBPROTOCOL = "janus-protocol"
VIDEOROOM = "janus.plugin.videoroom"
MAX_MESSAGE = 4 * 1024 * 1024

EventCallback = Callable[["JanusHandle", dict[str, Any]], None]


class JanusError(Exception):
    """Janus (or one of its plugins) refused a request."""

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(f"Janus error {code}: {reason}")
        self.code = code
        self.reason = reason


class JanusClosed(JanusError):
    """The websocket to Janus ended before the answer came."""

    def __init__(self, reason: str = "the connection to Janus closed") -> None:
        super().__init__(0, reason)


class UnixSocketResolver(Resolver):
    """Resolves every host to one Unix socket, so tornado's websocket client speaks over it."""

    def initialize(self, path: str) -> None:
        self.path = path

    async def resolve(
        self, host: str, port: int, family: socket.AddressFamily = socket.AF_UNSPEC
    ) -> list[tuple[int, Any]]:
        return [(socket.AF_UNIX, self.path)]


@dataclass
class PluginReply:
    """What a plugin answered: its ``data`` and, for negotiations, a ``jsep`` (SDP)."""

    data: dict[str, Any]
    jsep: dict[str, Any] | None = None


@dataclass
class _Pending:
    future: asyncio.Future[dict[str, Any]]
    until_event: bool  # a plugin message: the answer is the event after the ack


@dataclass
class JanusHandle:
    """A handle attached to a plugin: the channel of one publisher or one subscriber."""

    session: JanusSession
    id: int
    on_event: EventCallback | None = None
    detached: bool = False

    async def message(
        self, body: dict[str, Any], jsep: dict[str, Any] | None = None
    ) -> PluginReply:
        """Send ``body`` (and an SDP) to the plugin; its answer, or JanusError."""
        request: dict[str, Any] = {"janus": "message", "handle_id": self.id, "body": body}
        if jsep is not None:
            request["jsep"] = jsep
        reply = await self.session.request(request, until_event=True)
        data = reply.get("plugindata", {}).get("data", {})
        if "error_code" in data or "error" in data:
            raise JanusError(int(data.get("error_code", 0)), str(data.get("error", "")))
        return PluginReply(data, reply.get("jsep"))

    async def detach(self) -> None:
        """Detach from the plugin (Janus hangs up its PeerConnection and forgets it)."""
        if self.detached:
            return
        self.detached = True
        self.session.handles.pop(self.id, None)
        if not self.session.closed.is_set():
            try:
                await self.session.request({"janus": "detach", "handle_id": self.id})
            except JanusError as exc:
                log.debug("sfu: detaching handle %s: %s", self.id, exc)


@dataclass
class JanusSession:
    """A websocket to Janus and the session on it. Use :meth:`open`."""

    connection: WebSocketClientConnection
    request_timeout: float = 10.0
    id: int = 0
    handles: dict[int, JanusHandle] = field(default_factory=dict)
    closed: asyncio.Event = field(default_factory=asyncio.Event)
    _pending: dict[str, _Pending] = field(default_factory=dict)
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)

    @classmethod
    async def open(
        cls, url: str, *, connect_timeout: float = 5.0, keepalive: float = 20.0,
        request_timeout: float = 10.0,
    ) -> JanusSession:  # fmt: skip
        """Connect to Janus at ``url`` and create a session (OSError/JanusError otherwise)."""
        resolver: Resolver | None = None
        if url.startswith("unix:"):
            resolver = UnixSocketResolver(path=url[len("unix:") :])
            url = "ws://janus/"
        connection = await websocket_connect(
            HTTPRequest(url, connect_timeout=connect_timeout),
            subprotocols=[SUBPROTOCOL],
            max_message_size=MAX_MESSAGE,
            resolver=resolver,
        )
        session = cls(connection, request_timeout)
        session._tasks.append(asyncio.create_task(session._read()))
        try:
            created = await session.request({"janus": "create"})
        except BaseException:
            await session.close()
            raise
        session.id = int(created["data"]["id"])
        session._tasks.append(asyncio.create_task(session._keep_alive(keepalive)))
        return session

    async def attach(
        self, plugin: str = VIDEOROOM, on_event: EventCallback | None = None
    ) -> JanusHandle:
        reply = await self.request({"janus": "attach", "plugin": plugin})
        handle = JanusHandle(self, int(reply["data"]["id"]), on_event)
        self.handles[handle.id] = handle
        return handle

    async def server_info(self) -> dict[str, Any]:
        """What Janus says of itself (``info``): its version, plugins and transports."""
        return await self.request({"janus": "info"}, in_session=False)

    async def request(
        self, request: dict[str, Any], *, until_event: bool = False, in_session: bool = True
    ) -> dict[str, Any]:
        """Send one request and wait for its answer (``success``, ``ack`` or ``event``)."""
        if self.closed.is_set():
            raise JanusClosed()
        transaction = secrets.token_hex(8)
        message = {**request, "transaction": transaction}
        if self.id and in_session:
            message["session_id"] = self.id
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._pending[transaction] = _Pending(future, until_event)
        try:
            await self.connection.write_message(json.dumps(message))
            reply = await asyncio.wait_for(future, self.request_timeout)
        except TimeoutError:
            raise JanusError(0, f"Janus did not answer {request.get('janus')} in time") from None
        except Exception as exc:
            if isinstance(exc, JanusError):
                raise
            raise JanusClosed(f"writing to Janus failed: {exc}") from exc
        finally:
            self._pending.pop(transaction, None)
        if reply.get("janus") == "error":
            error = reply.get("error", {})
            raise JanusError(int(error.get("code", 0)), str(error.get("reason", "")))
        return reply

    async def _read(self) -> None:
        try:
            while True:
                text = await self.connection.read_message()
                if text is None:
                    break
                try:
                    message = json.loads(text)
                except ValueError:
                    log.warning("sfu: Janus sent a message that is not JSON")
                    continue
                if isinstance(message, dict):
                    self._dispatch(message)
        finally:
            self._lost()

    def _dispatch(self, message: dict[str, Any]) -> None:
        kind = message.get("janus")
        pending = self._pending.get(str(message.get("transaction", "")))
        if pending is not None and not pending.future.done():
            if not (kind == "ack" and pending.until_event):
                pending.future.set_result(message)
            return
        handle = self.handles.get(int(message.get("sender") or 0))
        if handle is not None and handle.on_event is not None:
            try:
                handle.on_event(handle, message)
            except Exception:
                log.exception("sfu: handling a Janus event failed")

    def _lost(self) -> None:
        if self.closed.is_set():
            return
        self.closed.set()
        for pending in self._pending.values():
            if not pending.future.done():
                pending.future.set_exception(JanusClosed())
        self._pending.clear()

    async def _keep_alive(self, interval: float) -> None:
        while not self.closed.is_set():
            await asyncio.sleep(interval)
            try:
                await self.request({"janus": "keepalive"})
            except JanusError as exc:
                log.warning("sfu: Janus keepalive failed: %s", exc)

    async def close(self) -> None:
        """Destroy the session (its handles go with it) and close the websocket."""
        if not self.closed.is_set() and self.id:
            try:
                await self.request({"janus": "destroy"})
            except JanusError:
                pass
        self.connection.close()
        self._lost()
        current = asyncio.current_task()
        for task in self._tasks:
            if task is not current:
                task.cancel()
        await asyncio.gather(*(t for t in self._tasks if t is not current), return_exceptions=True)
