"""Issue 16, item 13: the member secret can be configured (any passphrase) instead of living
in Redis in clear, where whoever reads Redis could forge member ids."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from typing import Any

import pytest
import redis

from ..redis_server import running_redis

PASSPHRASE = "correct horse battery staple, classroom edition"


# the ACL docs/jupyterhub.md gives the classroom's Redis user
ACL = ["classroom", "on", ">pw-of-the-classroom", "~jc:*", "&jupyter_classroom", "+@read",
       "+@write", "+@scripting", "+@pubsub", "+@connection", "+@transaction", "-@dangerous"]  # fmt: skip


@pytest.fixture(scope="module")
def redis_url() -> Iterator[str]:
    """A redis-server whose default user is off: only the documented ACL user gets in."""
    with running_redis(extra_args=["--user", *ACL, "--user", "default", "off"]) as url:
        yield url.replace("redis://", "redis://classroom:pw-of-the-classroom@")


@pytest.fixture
def classroom_config(redis_url: str) -> dict[str, Any]:
    return {"redis_url": redis_url, "member_secret": PASSPHRASE}


async def test_configured_member_secret_is_not_stored_in_redis(server, connect, redis_url):
    peer = await connect("alice", client_id="alice-laptop")
    you = (await peer.create("secret"))["you"]
    # everything works as the documented ACL user: ops, chat, a second member, pub/sub
    room_id = (await peer.ok("room:list"))["rooms"][0]["id"]
    bob = await connect("bob", client_id="bob-laptop")
    await bob.join(room_id)
    await peer.ok("chat:send", {"room_id": room_id, "text": "hello"})
    assert (await bob.next("chat:message"))["text"] == "hello"
    op = {"type": "stroke", "id": "s", "points": [[1, 1]], "color": "#000000", "width": 2}
    await peer.ok("board:op", {"room_id": room_id, "op": op})
    # the id is derived with the configured passphrase ...
    key = hashlib.sha256(PASSPHRASE.encode()).digest()
    user = server.app.kernel_user
    expected = hashlib.blake2b(f"{user}\0alice-laptop".encode(), key=key, digest_size=9)
    assert you["id"] == "m" + expected.hexdigest()
    # ... and no secret was put in Redis
    client = redis.Redis.from_url(redis_url)
    try:
        assert client.get("jc:member-secret") is None
        keys = list(client.scan_iter(match="jc:*"))
        assert keys and not any(b"secret" in k for k in keys)
    finally:
        client.close()


def test_a_short_member_secret_is_refused() -> None:
    from traitlets import TraitError

    from jupyter_classroom.server.app import ClassroomApp

    with pytest.raises(TraitError, match="at least 16"):
        ClassroomApp(member_secret="short")
