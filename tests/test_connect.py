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
