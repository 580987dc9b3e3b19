"""Fixtures for attacks between users: the real server with a multi-user identity provider
(:class:`~tests.hardening.identity.NamedTokenUsers`), run over each store.

A test module imports the fixtures it uses (``from .multiuser import jp_server_config,
store_kind, redis_url, as_user``) and may override ``classroom_config``. Every test then runs twice:
rooms in memory, and rooms in a real redis-server (``ClassroomApp.redis_url``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AsyncExitStack
from typing import Any

import aiohttp
import pytest

from ..peers import Peer, ServerInfo
from ..redis_server import running_redis
from .identity import token_of

PROVIDER = "tests.hardening.identity.NamedTokenUsers"


@pytest.fixture(scope="module")
def redis_url() -> Iterator[str]:
    with running_redis() as url:
        yield url


@pytest.fixture(params=["memory", "redis"])
def store_kind(request: pytest.FixtureRequest) -> str:
    if request.param == "redis":
        import redis

        client = redis.Redis.from_url(request.getfixturevalue("redis_url"))
        client.flushall()  # each test starts from an empty Redis
        client.close()
    return str(request.param)


@pytest.fixture
def jp_server_config(
    classroom_config: dict[str, Any], store_kind: str, request: pytest.FixtureRequest
) -> dict[str, Any]:
    config = dict(classroom_config)
    if store_kind == "redis":
        config["redis_url"] = request.getfixturevalue("redis_url")
    return {
        "ServerApp": {
            "jpserver_extensions": {"jupyter_classroom": True},
            "identity_provider_class": PROVIDER,
        },
        "ClassroomApp": config,
    }


@pytest.fixture
async def as_user(server: ServerInfo) -> AsyncIterator[Callable[..., Any]]:
    """``await as_user("member", address="127.0.0.7", client_id=..., auth=...)``: a connected
    socket of that user, authenticated by the identity provider (its token), from that loopback
    address (a real peer address, as a proxy-less server sees it), disconnected at the end."""
    async with AsyncExitStack() as stack:

        async def connect(user: str, address: str | None = None, **kwargs: Any) -> Peer:
            peer = Peer(
                server,
                headers={"Authorization": f"token {token_of(user)}"},
                use_jupyter_token=False,
                **kwargs,
            )
            if address is not None:  # connect from this loopback address (127.x.y.z)
                peer.sio.eio.http_factory = lambda: aiohttp.ClientSession(
                    connector=aiohttp.TCPConnector(local_addr=(address, 0))
                )
            await peer.connect()
            stack.push_async_callback(peer.disconnect)
            return peer

        yield connect
