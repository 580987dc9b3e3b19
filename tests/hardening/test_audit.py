"""Audit log (issue 16, item 14): refused connects, wrong passwords, stolen tickets, kicks and
closes leave a line on the ``jupyter_classroom.audit`` logger, with no secret in it."""

from __future__ import annotations

import logging

import pytest
import socketio

from .identity import token_of
from .multiuser import as_user, jp_server_config, redis_url, store_kind

__all__ = ["as_user", "jp_server_config", "redis_url", "store_kind"]  # fixtures used here

PASSWORD = "hunter2-secret"
WRONG = "wrong-guess-secret"


async def test_security_events_are_audited_without_secrets(as_user, caplog):
    caplog.set_level(logging.INFO, logger="jupyter_classroom.audit")
    with pytest.raises(socketio.exceptions.ConnectionError):
        await as_user("nobody")  # a token the identity provider does not know
    host = await as_user("host")
    room_id = (await host.create("Audited", password=PASSWORD))["room"]["id"]
    guesser = await as_user("outsider")
    assert await guesser.error("room:join", {"room_id": room_id, "password": WRONG}) == (
        "bad_password"
    )
    ticket = (await host.ok("room:ticket", {"room_id": room_id}))["ticket"]
    assert await guesser.error("room:attach", {"ticket": ticket}) == "unauthorized"
    member = await as_user("member")
    member_id = (await member.join(room_id, password=PASSWORD))["you"]["id"]
    await host.ok("room:kick", {"room_id": room_id, "member_id": member_id})
    await host.ok("room:close", {"room_id": room_id})

    lines = [r.getMessage() for r in caplog.records if r.name == "jupyter_classroom.audit"]
    text = "\n".join(lines)
    assert any(line.startswith("connect refused") and "address=127.0.0.1" in line for line in lines)
    assert any(
        "wrong password" in line and "'outsider'" in line and room_id in line for line in lines
    )
    assert any(line.startswith("attach refused") and "'outsider'" in line for line in lines)
    assert any(
        line.startswith("kick") and member_id in line and "'member'" in line for line in lines
    )
    assert any(line.startswith("close") and room_id in line and "'host'" in line for line in lines)
    for secret in (PASSWORD, WRONG, ticket, token_of("nobody"), token_of("host"), "argon2"):
        assert secret not in text
