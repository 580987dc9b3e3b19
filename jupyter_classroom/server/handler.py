"""The Socket.IO endpoint as a Jupyter handler.

python-engineio's tornado handler is a plain ``WebSocketHandler``; mixing in Jupyter's
``WebSocketMixin`` and ``JupyterHandler`` (as the kernels websocket does) puts it behind
Jupyter's Host check, Origin check (``allow_origin`` and friends) and identity provider, and
Jupyter's websocket keep-alive pings.

The HTTP upgrade itself is allowed without Jupyter credentials because the protocol also
accepts the per-server kernel token inside the Socket.IO ``auth`` payload, which only arrives
after the upgrade. The decision is taken in the Socket.IO ``connect`` handler
(:meth:`RoomServer._on_connect`), which refuses a socket holding neither.
"""

from __future__ import annotations

import time
from typing import Any

import socketio
from engineio.async_drivers.tornado import get_tornado_handler
from jupyter_server.auth.identity import IdentityProvider, PasswordIdentityProvider
from jupyter_server.base.handlers import JupyterHandler
from jupyter_server.base.websocket import WebSocketMixin
from jupyter_server.utils import ensure_async
from tornado.websocket import WebSocketClosedError

from .events import Authenticate

AUTH_RESOURCE = "classroom"
SINGLE_USER_PROVIDERS = (IdentityProvider, PasswordIdentityProvider)


def make_handler(
    sio: socketio.AsyncServer, max_send_buffer: int, slow_grace: float
) -> type[JupyterHandler]:
    engineio_handler: Any = get_tornado_handler(sio.eio)

    class SocketIOHandler(WebSocketMixin, engineio_handler, JupyterHandler):
        auth_resource = AUTH_RESOURCE

        def set_default_headers(self) -> None:
            """No page headers (CSP and such) on a websocket."""

        _backlogged_since: float | None = None

        def open(self, *args: Any, **kwargs: Any) -> Any:
            # Tornado leaves Nagle's algorithm on: a small frame written while the previous
            # one is unacknowledged waits for the peer's delayed ACK (up to 40 ms on Linux).
            # Room traffic is small frames every few milliseconds: send each at once.
            self.set_nodelay(True)
            return super().open(*args, **kwargs)

        def get_compression_options(self) -> dict[str, Any] | None:
            # engine.io's tornado handler turns permessage-deflate on, which browsers always
            # offer: tornado would compress every small frame once per receiving socket, which
            # costs more CPU (ours and the clients') than the bytes it saves
            # (docs/performance.md).
            return None

        def write_message(self, message: Any, binary: bool = False) -> Any:
            # A client that stops reading must not make the server buffer without bound: a
            # socket whose unsent data stays over max_send_buffer bytes for slow_grace seconds
            # is dropped. (One large message, such as a big board in a join ack, drains in time.)
            stream = self.ws_connection.stream if self.ws_connection else None
            if stream is not None and len(stream._write_buffer) > max_send_buffer:
                now = time.monotonic()
                if self._backlogged_since is None:
                    self._backlogged_since = now
                elif now - self._backlogged_since > slow_grace:
                    self.log.warning("classroom: dropping a socket that reads too slowly")
                    stream.close()  # a close frame would only queue behind the rest
                    raise WebSocketClosedError()
            else:
                self._backlogged_since = None
            return super().write_message(message, binary=binary)

    return SocketIOHandler


def jupyter_authenticator(owner: str) -> Authenticate:
    """Find the Jupyter user behind a socket's upgrade request, if Jupyter authenticated one.

    Jupyter's own token and password providers serve one person, the server's ``owner``, but
    name each token-authenticated request a fresh anonymous user; the owner's name keeps
    member ids stable across reconnects. Other providers (JupyterHub's) name real users.
    """

    async def authenticate(environ: dict[str, Any], auth: dict[str, Any]) -> tuple[str, str] | None:
        handler = environ.get("tornado.handler")
        user = getattr(handler, "current_user", None)
        if handler is None or user is None:
            return None
        authorized = await ensure_async(
            handler.authorizer.is_authorized(handler, user, "execute", AUTH_RESOURCE)
        )
        if not authorized:
            return None
        if type(handler.identity_provider) in SINGLE_USER_PROVIDERS:
            return owner, owner
        username = getattr(user, "username", None) or str(user)
        return username, getattr(user, "display_name", None) or username

    return authenticate
