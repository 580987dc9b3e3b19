"""Frames nested too deep to decode (issue 16, item 12): answered with ``bad_request`` when
the sender awaits an ack, else that one socket is closed; never a RecursionError in the log."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest

DEPTH = 100_000  # 200 KB of brackets: within the frame size limit, far past any recursion limit


def deep(depth: int = DEPTH) -> str:
    return "[" * depth + "]" * depth


async def raw_call(peer: Any, event: str, payload_json: str, attachment: bytes = b"") -> Any:
    """Send an EVENT packet built by hand (no client library encodes such a payload) with an
    ack id the client's own bookkeeping knows, and wait for the ack. With an ``attachment``,
    a BINARY_EVENT whose payload holds its placeholder."""
    acked: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
    ack_id = peer.sio._generate_ack_id("/", lambda *data: acked.set_result(data))
    header = f"51-{ack_id}" if attachment else f"2{ack_id}"
    await peer.sio.eio.send(f'{header}["{event}",{payload_json}]')
    if attachment:
        await peer.sio.eio.send(attachment)
    return await asyncio.wait_for(acked, 10)


PLACEHOLDER = '{"_placeholder":true,"num":0}'


@pytest.mark.parametrize(
    "payload, attachment",
    [
        (deep(), b""),  # too deep for the JSON decoder
        # decodes, but rebuilding it around its binary attachment recurses as deep
        ("[" * 900 + PLACEHOLDER + "]" * 900, b"\x00"),
    ],
    ids=["text", "binary"],
)
async def test_a_deep_frame_with_an_ack_id_is_answered(connect, caplog, payload, attachment):
    caplog.set_level(logging.DEBUG)
    alice, bob = await connect("alice"), await connect("bob")
    room_id = (await alice.create("deep"))["room"]["id"]
    await bob.join(room_id)
    (ack,) = await raw_call(alice, "board:op", payload, attachment)
    assert ack["ok"] is False and ack["error"]["code"] == "bad_request", ack
    assert "deep" in ack["error"]["message"]
    # the socket goes on, and so does everyone else
    await alice.ok("chat:send", {"room_id": room_id, "text": "still here"})
    assert (await bob.next("chat:message"))["text"] == "still here"
    assert "RecursionError" not in caplog.text


async def test_a_deep_frame_without_an_ack_id_closes_that_socket(connect, caplog):
    caplog.set_level(logging.DEBUG)
    alice, bob = await connect("alice"), await connect("bob")
    room_id = (await alice.create("deep"))["room"]["id"]
    await bob.join(room_id)
    closed = asyncio.Event()
    alice.sio.on("disconnect", lambda *_: closed.set())
    await alice.sio.eio.send(f'2["board:op",{deep()}]')
    await asyncio.wait_for(closed.wait(), 10)
    assert (await bob.next("room:member_left"))["reason"] == "disconnected"
    await bob.ok("chat:send", {"room_id": room_id, "text": "still here"})
    assert "RecursionError" not in caplog.text


async def test_a_deep_connect_payload_is_ignored(server, caplog):
    """A CONNECT whose auth nests too deep connects as one without auth fields (the Jupyter
    credentials in the headers still decide), with nothing in the log."""
    from ..peers import Peer

    caplog.set_level(logging.DEBUG)
    peer = Peer(server, auth={"deep": [[[[]]]]})
    peer.auth = {"x": "__DEEP__"}
    original = peer.sio._send_packet

    async def send_packet(pkt: Any) -> None:
        encoded = pkt.encode()
        if isinstance(encoded, str) and "__DEEP__" in encoded:
            await peer.sio.eio.send(encoded.replace('"__DEEP__"', deep()))
            return
        await original(pkt)

    peer.sio._send_packet = send_packet
    await peer.connect()
    assert (await peer.ok("room:list"))["rooms"] == []
    await peer.disconnect()
    assert "RecursionError" not in caplog.text
