"""Identity (issue 16, items 11 and 6): never from the display name; under a multi-user
identity provider that is not the hub service, no chosen names and no announcing for all."""

from __future__ import annotations

import pytest

from ..peers import Peer
from .identity import token_of


async def without_client_id(server, name: str) -> Peer:
    peer = Peer(server, name=name)
    del peer.auth["client_id"]  # a stock Socket.IO client sends none
    await peer.connect()
    return peer


async def test_choosing_the_hosts_name_does_not_make_you_the_host(server):
    teacher = await without_client_id(server, "Teacher")
    created = await teacher.create("Lesson")
    room_id, teacher_id = created["room"]["id"], created["you"]["id"]
    impostor = await without_client_id(server, "Teacher")
    joined = await impostor.join(room_id)
    assert joined["you"]["id"] != teacher_id and joined["you"]["role"] == "member"
    assert await impostor.error("room:update", {"room_id": room_id, "title": "mine"}) == (
        "forbidden"
    )
    assert await impostor.error("room:close", {"room_id": room_id}) == "forbidden"
    for peer in (teacher, impostor):
        await peer.disconnect()


SHARED_SERVER = {  # a shared server whose identity provider names several users (not the hub)
    "ServerApp": {
        "jpserver_extensions": {"jupyter_classroom": True},
        "identity_provider_class": "tests.hardening.identity.NamedTokenUsers",
    },
    "ClassroomApp": {"kernel_user": "host"},  # the server's owner
}


@pytest.mark.parametrize("jp_server_config", [SHARED_SERVER])
async def test_several_users_cannot_pose_as_others_or_announce(server, jp_server_config):
    async def as_user(user: str, name: str) -> Peer:
        peer = Peer(
            server,
            name=name,
            headers={"Authorization": f"token {token_of(user)}"},
            use_jupyter_token=False,
        )
        await peer.connect()
        return peer

    owner, student = await as_user("host", "Teacher"), await as_user("member", "Teacher")
    room_id = (await owner.create("Shared"))["room"]["id"]
    assert (await student.join(room_id))["you"]["name"] == "member"  # not the chosen name
    assert await student.error("server:announce", {"text": "free pizza"}) == "forbidden"
    await owner.ok("server:announce", {"text": "class starts"})  # the owner is an admin
    assert (await student.next("server:announcement"))["text"] == "class starts"
    for peer in (owner, student):
        await peer.disconnect()
