"""The Socket.IO endpoint as a Jupyter handler.

python-engineio's tornado handler is a plain ``WebSocketHandler``; mixing in Jupyter's
``WebSocketMixin`` and ``JupyterHandler`` (as the kernels websocket does) puts it behind
Jupyter's Host check, Origin check (``allow_origin`` and friends) and identity provider, and
Jupyter's websocket keep-alive pings.

The HTTP upgrade itself is allowed without Jupyter credentials (``@allow_unauthenticated``)
because the protocol also takes tokens inside the Socket.IO ``auth`` payload (a browser's
JupyterLab or hub token, the per-server kernel token), which only arrive after the upgrade.
The decision is taken in the Socket.IO ``connect`` handler (:meth:`RoomServer._on_connect`),
which refuses, with a reason, a socket holding none.
"""

from __future__ import annotations

import asyncio
import hmac
import time
from collections import deque
from collections.abc import Awaitable
from typing import Any, Protocol

import socketio
from engineio.async_drivers.tornado import get_tornado_handler
from jupyter_server.auth.decorator import allow_unauthenticated
from jupyter_server.auth.identity import IdentityProvider, PasswordIdentityProvider, User
from jupyter_server.base.handlers import JupyterHandler
from jupyter_server.base.websocket import WebSocketMixin
from jupyter_server.utils import ensure_async
from tornado import web
from tornado.concurrent import Future
from tornado.ioloop import IOLoop
from tornado.iostream import StreamClosedError
from tornado.websocket import WebSocketClosedError, WebSocketProtocol13

from .events import Authenticate
from .outbox import FRAGMENT_CHARS, Outbox, text_frame
from .reading import ChunkReadingProtocol

AUTH_RESOURCE = "classroom"
SINGLE_USER_PROVIDERS = (IdentityProvider, PasswordIdentityProvider)
# A large text message (a late joiner's board) goes out as a fragmented message (see
# SocketIOHandler.write_message): frames of FRAGMENT_CHARS characters, as many per turn of
# the loop as fit in FRAGMENT_TURN seconds (a fast loop keeps the socket fed; a busy one
# serves its other sockets between frames).
FRAGMENT_TURN = 0.004
TEXT, CONTINUATION = 0x1, 0x0  # websocket opcodes (RFC 6455, section 5.2)
# Messages of one socket read but not yet handled: past this many, nothing more is read from
# it until its handlers catch up (SocketIOHandler.on_message), so a client that sends faster
# than the server handles waits in its own send buffer and sees its acks come later, instead
# of the server queueing seconds of its messages (engine.io's queue is unbounded).
RECEIVE_BACKLOG = 32


class SocketReports(Protocol):
    """Who hears of a socket's waits (the room server: drawers told ``board:delayed``).
    ``sid`` is the socket's Socket.IO id, set on its handler at connect (fanout.py)."""

    @property
    def notice_after(self) -> float:
        """Seconds of waiting worth reporting; shorter waits are not reported."""
        ...

    def reading_was_held(self, sid: str, seconds: float) -> None:
        """What ``sid`` sent waited ``seconds`` unread (reading held back, RECEIVE_BACKLOG)."""

    def writes_waited(self, sid: str, seconds: float) -> None:
        """Frames to ``sid`` left the server ``seconds`` after they were queued."""


def serves_one_person(provider: Any) -> bool:
    """Whether Jupyter's identity provider is one of its own (token, password), which serve
    the server's owner alone; any other (JupyterHub's, a custom one) may name several users."""
    return type(provider) in SINGLE_USER_PROVIDERS


def make_handler(
    sio: socketio.AsyncServer,
    max_send_buffer: int,
    slow_grace: float,
    reports: SocketReports | None = None,
) -> type[JupyterHandler]:
    engineio_handler: Any = get_tornado_handler(sio.eio)

    class SocketIOHandler(WebSocketMixin, engineio_handler, JupyterHandler):
        auth_resource = AUTH_RESOURCE

        def set_default_headers(self) -> None:
            """No page headers (CSP and such) on a websocket."""

        @allow_unauthenticated
        async def get(self, *args: Any, **kwargs: Any) -> Any:
            # The upgrade may come without Jupyter credentials: the token can be in the
            # Socket.IO auth payload, checked at connect (see the module's docstring).
            return await super().get(*args, **kwargs)  # type: ignore[misc]

        # Websocket only: engine.io's long-polling requests are not served at all (405, to
        # anyone: nothing is served, so no credentials are needed to be told so).
        @allow_unauthenticated
        async def post(self, *args: Any, **kwargs: Any) -> None:
            raise web.HTTPError(405)

        options = post

        # (when, unsent bytes) at the start of the current check period while backlogged
        _backlog_mark: tuple[float, int] | None = None
        _backlog_timer: Any = None
        # Frames written this turn of the loop, handed to the stream at its end (outbox.py)
        _outbox: Outbox | None = None

        def open(self, *args: Any, **kwargs: Any) -> Any:
            # Tornado leaves Nagle's algorithm on: a small frame written while the previous
            # one is unacknowledged waits for the peer's delayed ACK (up to 40 ms on Linux).
            # Room traffic is small frames every few milliseconds: send each at once.
            self.set_nodelay(True)
            connection = self.ws_connection
            # Frames are built here for a connection without compression only (a compressed
            # message's frames share a deflate stream, which tornado's write_message keeps).
            if connection is not None and getattr(connection, "_compressor", True) is None:
                self._outbox = Outbox(self._open_stream)
                self._outbox.backlogged = self._backlogged
                if reports is not None:
                    self._outbox.late_after = reports.notice_after
                    self._outbox.report = self._writes_waited
            return super().open(*args, **kwargs)

        # The socket's Socket.IO id, set at connect (DirectFanoutManager.pre_connect), for
        # the reports
        classroom_sid: str | None = None

        def _open_stream(self) -> Any:
            connection = self.ws_connection
            if connection is None or connection.is_closing():
                return None
            return connection.stream

        def _writes_waited(self, seconds: float) -> None:
            if reports is not None and self.classroom_sid is not None:
                reports.writes_waited(self.classroom_sid, seconds)

        def _backlogged(self) -> None:
            if self._backlog_mark is None:
                self._too_slow()  # starts the watch when this turn's frames backlog

        _room_to_read: asyncio.Event | None = None  # set while the receive queue has room

        def get_websocket_protocol(self) -> Any:
            protocol = super().get_websocket_protocol()
            if type(protocol) is WebSocketProtocol13:
                # (tornado builds it from private parameters: it is given our reader's class)
                protocol.__class__ = ChunkReadingProtocol
            return protocol

        def on_message(self, message: Any) -> Awaitable[None] | None:
            # engine.io's queue is unbounded: the put is done at once, without a task per
            # message. Tornado reads the socket's next message once the awaitable returned
            # here is done: waiting while RECEIVE_BACKLOG messages wait to be handled is
            # backpressure down to TCP.
            self.receive_queue.put_nowait(message)
            if self.receive_queue.qsize() < RECEIVE_BACKLOG:
                return None
            # (cleared now: a message handled before the wait starts sets it again)
            if self._room_to_read is None:
                self._room_to_read = asyncio.Event()
            self._room_to_read.clear()
            return self._reading_held(self._room_to_read, time.monotonic())

        async def _reading_held(self, room_to_read: asyncio.Event, since: float) -> None:
            try:
                await room_to_read.wait()
            finally:
                held = time.monotonic() - since
                # what it sent meanwhile is read now, that late: reported once, here,
                # rather than looked up on every request
                sid = self.classroom_sid
                if reports is not None and sid is not None and held >= reports.notice_after:
                    reports.reading_was_held(sid, held)

        async def get_next_message(self) -> Any:
            message = await super().get_next_message()
            room = self._room_to_read
            if room is not None and self.receive_queue.qsize() < RECEIVE_BACKLOG:
                room.set()
            return message

        def on_close(self) -> None:
            super().on_close()
            if self._outbox is not None:
                self._outbox.drop()  # nobody to read it
                self._outbox = None
            if self._room_to_read is not None:
                self._room_to_read.set()

        def close(self, code: int | None = None, reason: str | None = None) -> None:
            # the frames of this turn go before the close frame (tornado writes it at once)
            if self._outbox is not None:
                self._outbox.flush()
            super().close(code, reason)

        def get_compression_options(self) -> dict[str, Any] | None:
            # engine.io's tornado handler turns permessage-deflate on, which browsers always
            # offer: tornado would compress every small frame once per receiving socket, which
            # costs more CPU (ours and the clients') than the bytes it saves
            # (docs/performance.md).
            return None

        # Messages not yet handed to tornado, behind a large text written in fragments
        # (None: no such write under way), and their characters.
        _waiting: deque[tuple[Any, bool]] | None = None
        _waiting_chars = 0
        _waiting_writer: asyncio.Future[None] | None = None  # (a task needs a reference)

        def write_message(self, message: Any, binary: bool = False) -> Any:
            if self._backlog_mark is not None and self._too_slow():
                raise WebSocketClosedError()
            connection = self.ws_connection
            if connection is None or connection.is_closing():
                raise WebSocketClosedError()
            outbox = self._outbox
            if (
                self._waiting is None
                and outbox is not None
                and not binary
                and isinstance(message, str)
                and len(message) <= FRAGMENT_CHARS
            ):
                # engine.io's writer and acks: into this turn's frames, in order with the
                # broadcasts written there (write_frame)
                outbox.add(text_frame(message))
                done: Future[None] = Future()
                done.set_result(None)  # (engine.io does not wait for writes)
                return done
            if outbox is not None:
                outbox.flush()  # what this turn wrote goes first
            if self._waiting is None and not self._fragmented(message, binary):
                written = super().write_message(message, binary=binary)
            else:
                # A large text in one piece is encoded to UTF-8 and copied into a frame in
                # one go: tens of milliseconds per late joiner of a 20 MB board, during which
                # no other socket is served (docs/reliability.md). It goes out as a
                # fragmented message instead, a frame per turn of the loop; whatever is sent
                # meanwhile waits behind it (data frames of two messages must not interleave).
                if self._waiting is None:
                    self._waiting = deque()
                    self._waiting_writer = asyncio.ensure_future(self._write_waiting())
                self._waiting.append((message, binary))
                self._waiting_chars += len(message)
                written = Future()
                written.set_result(None)  # (engine.io does not wait for writes)
            if self._backlog_mark is None:
                self._too_slow()  # starts the watch when this message (a big join ack) backlogs
            return written

        def write_frame(self, frame: bytes) -> bool:
            """Queue ``frame`` (a whole text frame, :func:`outbox.text_frame`) behind what
            this socket was written this turn; False when it must go by ``write_message``
            instead (a connection without an outbox: closed, or compressed; a large message
            being written in fragments; a backlog being watched). A connection closing
            meanwhile drops it (Outbox.flush)."""
            outbox = self._outbox
            if outbox is None or self._waiting is not None or self._backlog_mark is not None:
                return False
            outbox.add(frame)
            return True

        def _fragmented(self, message: Any, binary: bool) -> bool:
            """Whether ``message`` is written in fragments: a large text, on a connection
            without compression (a compressed message's frames share one deflate stream)."""
            connection = self.ws_connection
            return (
                not binary
                and isinstance(message, str)
                and len(message) > FRAGMENT_CHARS
                and isinstance(connection, WebSocketProtocol13)
                and connection._compressor is None
            )

        async def _write_waiting(self) -> None:
            """Write the waiting messages in order, large texts a frame per loop turn.

            Uses tornado's ``WebSocketProtocol13._write_frame(fin, opcode, data)``, which
            has no public counterpart (tests/hardening/test_send_buffer.py checks it is
            still there and that clients reassemble the frames)."""
            try:
                while self._waiting:
                    message, binary = self._waiting[0]
                    if not self._fragmented(message, binary):
                        self._waiting.popleft()
                        self._waiting_chars -= len(message)
                        super().write_message(message, binary=binary)
                        continue
                    turn_from = time.perf_counter()
                    for start in range(0, len(message), FRAGMENT_CHARS):
                        connection = self.ws_connection
                        if connection is None or connection.is_closing():
                            return
                        piece = message[start : start + FRAGMENT_CHARS]
                        last = start + FRAGMENT_CHARS >= len(message)
                        opcode = CONTINUATION if start else TEXT
                        connection._write_frame(last, opcode, piece.encode())
                        self._waiting_chars -= len(piece)
                        if not last and time.perf_counter() - turn_from > FRAGMENT_TURN:
                            await asyncio.sleep(0)  # other sockets' turn
                            turn_from = time.perf_counter()
                    self._waiting.popleft()
            except (StreamClosedError, WebSocketClosedError):
                pass  # the socket is gone: so is what it was still to get
            finally:
                self._waiting, self._waiting_chars, self._waiting_writer = None, 0, None

        def unsent_bytes(self) -> int:
            """What this socket's client has still to read: data in tornado's write buffer
            (what the kernel would not take) and messages still waiting to be written."""
            stream = self.ws_connection.stream if self.ws_connection else None
            # (tornado's write buffer: no public measure; None once the stream has closed)
            buffered = len(stream._write_buffer or ()) if stream is not None else 0
            pending = len(self._outbox) if self._outbox is not None else 0
            return buffered + pending + self._waiting_chars

        def _too_slow(self) -> bool:
            """Drop the socket (True) when its unsent data has stayed over max_send_buffer
            for slow_grace seconds without shrinking: a client that stops reading must not
            make the server buffer without bound. A client that reads a large message (a big
            board in a join ack) slowly but steadily is kept. Checked on every write and by
            a timer, so a socket that is sent nothing more is dropped too."""
            unsent = self.unsent_bytes()
            if unsent <= max_send_buffer:
                self._backlog_mark = None
                return False
            now = time.monotonic()
            if self._backlog_mark is None:
                self._backlog_mark = (now, unsent)
                self._watch()
                return False
            since, then = self._backlog_mark
            if now - since < slow_grace:
                return False
            if unsent < then:  # it read more than it was sent: keep watching
                self._backlog_mark = (now, unsent)
                self._watch()
                return False
            self.log.warning("classroom: dropping a socket that reads too slowly")
            stream = self.ws_connection.stream if self.ws_connection else None
            if stream is not None:
                stream.close()  # a close frame would only queue behind the rest
            return True

        def _watch(self) -> None:
            if self._backlog_timer is None:
                loop = IOLoop.current()

                def check() -> None:
                    self._backlog_timer = None
                    if self.ws_connection is not None:
                        self._too_slow()

                self._backlog_timer = loop.call_later(slow_grace + 0.01, check)

    return SocketIOHandler


def jupyter_authenticator(owner: str) -> Authenticate:
    """Find the Jupyter user behind a socket: from its upgrade request (the login cookie, an
    ``Authorization`` header), or from a token in its Socket.IO ``auth`` payload.

    Browsers send JupyterLab's token in ``auth.token`` (never in the URL): on a single-user
    server it is Jupyter's own token; under a hub service the identity provider checks it
    with the hub (:meth:`jupyter_classroom.hub.HubIdentityProvider.classroom_user_for_token`).
    Jupyter's own token and password providers serve one person, the server's ``owner``, but
    name each token-authenticated request a fresh anonymous user; the owner's name keeps
    member ids stable across reconnects. Other providers (JupyterHub's) name real users.
    """

    async def authenticate(environ: dict[str, Any], auth: dict[str, Any]) -> tuple[str, str] | None:
        handler = environ.get("tornado.handler")
        if handler is None:
            return None
        provider = handler.identity_provider
        user = getattr(handler, "current_user", None)
        token = auth.get("token")
        if user is None and isinstance(token, str) and token:
            user = await user_for_token(provider, token)
        if user is None:
            refusal = getattr(handler, "_classroom_refusal", None)  # set by the provider
            if refusal is not None:
                raise refusal
            return None
        authorized = await ensure_async(
            handler.authorizer.is_authorized(handler, user, "execute", AUTH_RESOURCE)
        )
        if not authorized:
            return None
        if type(provider) in SINGLE_USER_PROVIDERS:
            return owner, owner
        username = getattr(user, "username", None) or str(user)
        return username, getattr(user, "display_name", None) or username

    return authenticate


async def user_for_token(provider: IdentityProvider, token: str) -> User | None:
    """The user a token from a socket's ``auth`` payload stands for, or None.

    A provider may check such tokens itself (``classroom_user_for_token``, the hub
    service's); Jupyter's own providers hold one token, the server's (``--IdentityProvider.token``):
    compared in constant time. A token that is neither may still be the kernel token, which
    the room server checks next.
    """
    check = getattr(provider, "classroom_user_for_token", None)
    if check is not None:
        user: User | None = await check(token)
        return user
    if type(provider) in SINGLE_USER_PROVIDERS and provider.token:
        if hmac.compare_digest(token.encode(), provider.token.encode()):
            return User(username="token")  # the owner: see jupyter_authenticator
    return None
