"""Who may connect: Jupyter credentials, the kernel token, and nobody else."""

from __future__ import annotations

import pytest
import socketio

from .peers import Peer


async def test_jupyter_token_in_header(connect):
    peer = await connect("alice")
    ack = await peer.ok("room:list")
    assert ack["rooms"] == []


async def test_jupyter_token_in_query(server):
    sio = socketio.AsyncClient(reconnection=False)
    await sio.connect(
        f"{server.origin}?token={server.jupyter_token}",
        socketio_path=server.socket_path,
        transports=["websocket"],
    )
    assert (await sio.call("room:list", {}, timeout=5))["ok"] is True
    await sio.disconnect()


async def test_kernel_token_in_auth(server):
    peer = Peer(server, auth={"token": server.kernel_token}, use_jupyter_token=False)
    await peer.connect()
    assert (await peer.ok("room:create", {"title": "from a kernel"}))["you"]["role"] == "host"
    await peer.disconnect()


@pytest.mark.parametrize(
    "auth, headers",
    [
        ({}, {}),
        ({"token": "not-the-kernel-token"}, {}),
        ({}, {"Authorization": "token wrong"}),
    ],
    ids=["no-credentials", "wrong-kernel-token", "wrong-jupyter-token"],
)
async def test_unauthenticated_is_refused(server, auth, headers):
    peer = Peer(server, auth=auth, headers=headers, use_jupyter_token=False)
    with pytest.raises(socketio.exceptions.ConnectionError):
        await peer.connect()
    assert not peer.sio.connected


async def test_foreign_origin_is_refused(server):
    # Jupyter skips the Origin check only for requests carrying its token in a header or
    # the query (a browser page on another site cannot add those); everything else from a
    # foreign origin, such as a kernel token inside `auth`, is refused at the upgrade.
    peer = Peer(
        server,
        auth={"token": server.kernel_token},
        headers={"Origin": "http://evil.example"},
        use_jupyter_token=False,
    )
    with pytest.raises(socketio.exceptions.ConnectionError):
        await peer.connect()


async def test_same_origin_is_accepted(server):
    host = server.origin.removeprefix("http://")
    peer = Peer(server, headers={"Origin": server.origin, "Host": host})
    await peer.connect()
    await peer.ok("room:list")
    await peer.disconnect()


async def test_polling_transport_is_not_served(server, http_server_client):
    from tornado.httpclient import HTTPClientError

    with pytest.raises(HTTPClientError) as info:
        await http_server_client.fetch(
            f"{server.socket_path}/?EIO=4&transport=polling",
            headers={"Authorization": f"token {server.jupyter_token}"},
        )
    assert info.value.code == 400


async def test_jupyter_token_in_auth_payload(server):
    """What a JupyterLab page sends (labextension/src/page/connect.ts): Jupyter's token in the
    Socket.IO auth payload, not in the URL. It is the server's owner, as with the header."""
    peer = Peer(server, auth={"token": server.jupyter_token}, use_jupyter_token=False)
    await peer.connect()
    via_header = Peer(server)
    await via_header.connect()
    try:
        mine = (await peer.ok("room:create", {"title": "from a page"}))["you"]
        # the same user (the owner) as a header-authenticated socket: its member is the same
        joined = await via_header.ok(
            "room:join", {"room_id": (await peer.ok("room:list"))["rooms"][0]["id"]}
        )
        assert joined["you"]["name"] == mine["name"]
    finally:
        await peer.disconnect()
        await via_header.disconnect()


async def test_a_refused_connect_says_why_and_is_logged(server, caplog):
    """The refusal carries {code, message} (socket.io-client: err.message, err.data) with a
    sentence a person can act on; the server logs the reason without the token."""
    refusals: list[object] = []
    peer = Peer(server, auth={"token": "wrong-but-secret"}, use_jupyter_token=False)
    peer.sio.on("connect_error", refusals.append)
    with caplog.at_level("WARNING", logger="jupyter_classroom"):
        with pytest.raises(socketio.exceptions.ConnectionError):
            await peer.connect()
    assert len(refusals) == 1
    refusal = refusals[0]
    assert isinstance(refusal, dict)
    assert refusal["data"]["code"] == "unauthorized"
    assert refusal["message"] == refusal["data"]["message"]
    assert "reload the page" in refusal["message"] and "{" not in refusal["message"]
    logged = [r.getMessage() for r in caplog.records if "refused a socket" in r.getMessage()]
    assert logged and "a token that is neither" in logged[-1]
    assert not any("wrong-but-secret" in r.getMessage() for r in caplog.records)


async def test_room_list_says_whether_you_may_create(server, connect):
    peer = await connect("alice")
    assert (await peer.ok("room:list"))["can_create"] is True
