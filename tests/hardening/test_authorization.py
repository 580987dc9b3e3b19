"""Every event against every role: allowed or refused as the protocol says."""

from __future__ import annotations

import pytest
import socketio

from ..peers import Peer
from .identity import token_of

CONFIG = {"admin_users": ["admin"], "allow_display_name": False}

# event -> expected outcome per role ("ok" or an error code)
MATRIX = {
    "room:list": {"outsider": "ok", "member": "ok", "host": "ok", "admin": "ok"},
    "room:join": {
        "outsider": "bad_password",
        "member": "ok",
        "host": "ok",
        "admin": "bad_password",
    },
    "room:update": {
        "outsider": "not_member",
        "member": "forbidden",
        "host": "ok",
        "admin": "not_member",
    },
    "room:kick": {
        "outsider": "not_member",
        "member": "forbidden",
        "host": "ok",
        "admin": "not_member",
    },
    "room:ticket": {"outsider": "not_member", "member": "ok", "host": "ok", "admin": "not_member"},
    "room:attach": {
        "outsider": "unauthorized",
        "member": "unauthorized",
        "host": "unauthorized",
        "admin": "unauthorized",
    },
    "chat:send": {"outsider": "not_member", "member": "ok", "host": "ok", "admin": "not_member"},
    "board:op": {"outsider": "not_member", "member": "ok", "host": "ok", "admin": "not_member"},
    "rtc:signal": {"outsider": "not_member", "member": "ok", "host": "ok", "admin": "not_member"},
    "server:announce": {
        "outsider": "forbidden",
        "member": "forbidden",
        "host": "forbidden",
        "admin": "ok",
    },
    "room:leave": {"outsider": "not_member", "member": "ok", "host": "ok", "admin": "not_member"},
    "room:close": {
        "outsider": "not_member",
        "member": "forbidden",
        "host": "ok",
        "admin": "not_member",
    },
}


@pytest.fixture
def jp_server_config(classroom_config):
    return {
        "ServerApp": {
            "jpserver_extensions": {"jupyter_classroom": True},
            "identity_provider_class": "tests.hardening.identity.NamedTokenUsers",
        },
        "ClassroomApp": {**CONFIG, **classroom_config},
    }


async def as_user(server, user: str) -> Peer:
    peer = Peer(
        server, headers={"Authorization": f"token {token_of(user)}"}, use_jupyter_token=False
    )
    await peer.connect()
    return peer


def payload(event: str, room_id: str, ids: dict[str, str]) -> dict:
    return {
        "room:list": {},
        "room:join": {"room_id": room_id},
        "room:update": {"room_id": room_id, "title": "renamed"},
        "room:kick": {"room_id": room_id, "member_id": ids["victim"]},
        "room:ticket": {"room_id": room_id},
        "room:attach": {"ticket": "forged-ticket"},
        "chat:send": {"room_id": room_id, "text": "hello"},
        "board:op": {
            "room_id": room_id,
            "op": {
                "type": "text",
                "id": "op1",
                "x": 1,
                "y": 1,
                "text": "t",
                "color": "#000000",
                "size": 12,
            },
        },
        "rtc:signal": {"room_id": room_id, "to": ids["host"], "data": {"type": "bye"}},
        "server:announce": {"text": "hi"},
        "room:leave": {"room_id": room_id},
        "room:close": {"room_id": room_id},
    }[event]


@pytest.mark.parametrize("event", list(MATRIX))
@pytest.mark.parametrize("role", ["outsider", "member", "host", "admin"])
async def test_matrix(server, event, role):
    host = await as_user(server, "host")
    created = await host.create("Matrix", password="pw")
    room_id = created["room"]["id"]
    ids = {"host": created["you"]["id"]}
    member = await as_user(server, "member")
    ids["member"] = (await member.join(room_id, password="pw"))["you"]["id"]
    # a second member, the target of kicks (not the actor)
    victim_peer = Peer(
        server,
        headers={"Authorization": f"token {token_of('outsider')}"},
        use_jupyter_token=False,
        client_id="victim",
    )
    await victim_peer.connect()
    ids["victim"] = (await victim_peer.join(room_id, password="pw"))["you"]["id"]
    actor = {"host": host, "member": member}.get(role) or await as_user(server, role)
    ack = await actor.call(event, payload(event, room_id, ids))
    outcome = "ok" if ack.get("ok") else ack["error"]["code"]
    assert outcome == MATRIX[event][role], ack
    for peer in (host, member, victim_peer, actor):
        await peer.disconnect()


async def test_unauthenticated_cannot_connect(server):
    for headers in ({}, {"Authorization": "token nope"}):
        peer = Peer(server, headers=headers, use_jupyter_token=False)
        with pytest.raises(socketio.exceptions.ConnectionError):
            await peer.connect()


async def test_identity_comes_from_the_server_not_the_client(server):
    # display names are the authenticated usernames here (allow_display_name = False)
    peer = Peer(
        server,
        name="I am the admin",
        headers={"Authorization": f"token {token_of('member')}"},
        use_jupyter_token=False,
    )
    await peer.connect()
    ack = await peer.create("Who am I")
    assert ack["you"]["name"] == "member"
    assert await peer.error("server:announce", {"text": "spoof"}) == "forbidden"
    await peer.disconnect()
