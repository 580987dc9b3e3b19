"""A websocket's incoming frames read a chunk at a time (server/reading.py): frames packed
many to a TCP segment or split anywhere, larger than a chunk, fragmented with a ping among
the fragments, each read whole and in order; and reading a message leaves the socket's
epoll registration alone (issue 18: that churn was a sixth of a busy server's time)."""

from __future__ import annotations

import asyncio
import json
import os
import struct
from typing import Any

from jupyter_classroom.server.reading import READ_CHUNK, ChunkReadingProtocol

from .hardening.rawsocket import RawSocket

TEXT, CONTINUATION, PING, PONG = 0x1, 0x0, 0x9, 0xA


def client_frame(opcode: int, payload: bytes, fin: bool = True) -> bytes:
    """A masked frame, as a client sends it (RFC 6455, 5.2)."""
    head = bytes([(0x80 if fin else 0) | opcode])
    size = len(payload)
    if size < 126:
        head += bytes([0x80 | size])
    elif size < 1 << 16:
        head += bytes([0x80 | 126]) + struct.pack("!H", size)
    else:
        head += bytes([0x80 | 127]) + struct.pack("!Q", size)
    mask = os.urandom(4)
    return head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


def event(ack_id: int, name: str, payload: Any) -> bytes:
    return f"42{ack_id}{json.dumps([name, payload])}".encode()


async def acks_in_order(raw: RawSocket, ids: range) -> list[dict[str, Any]]:
    return [await asyncio.wait_for(raw.ack(i), 20) for i in ids]


async def test_frames_packed_or_split_anywhere_are_each_read_whole(server):
    raw = await RawSocket.open(server, server.jupyter_token, {"client_id": "reader"})
    try:
        # forty requests in one write (many frames to a chunk), one of them larger than a
        # chunk (its ack says its JSON was read whole; a wrong size would garble the rest)
        big = "x" * (READ_CHUNK * 2 + 17)
        payloads: list[Any] = [{} for _ in range(40)]
        payloads[20] = {"padding": big}
        raw.writer.write(
            b"".join(
                client_frame(TEXT, event(1 + i, "room:list", p)) for i, p in enumerate(payloads)
            )
        )
        assert all(a["ok"] for a in await acks_in_order(raw, range(1, 41)))
        # the same, cut into pieces that end mid-header, mid-mask and mid-payload
        stream = b"".join(client_frame(TEXT, event(41 + i, "room:list", {})) for i in range(10))
        for start in range(0, len(stream), 7):
            raw.writer.write(stream[start : start + 7])
            await raw.writer.drain()
            await asyncio.sleep(0.001)
        assert all(a["ok"] for a in await acks_in_order(raw, range(41, 51)))
    finally:
        raw.close()


async def test_a_fragmented_message_with_a_ping_among_its_fragments(server):
    raw = await RawSocket.open(server, server.jupyter_token, {"client_id": "reader"})
    try:
        message = event(1, "room:list", {})
        raw.writer.write(
            client_frame(TEXT, message[:5], fin=False)
            + client_frame(PING, b"are you there")
            + client_frame(CONTINUATION, message[5:9], fin=False)
        )
        await raw.writer.drain()
        await asyncio.sleep(0.05)  # (the rest in a segment of its own)
        raw.writer.write(client_frame(CONTINUATION, message[9:]))
        # the pong comes first, then the ack of the reassembled message
        first, second = await asyncio.wait_for(raw.reader.readexactly(2), 10)
        assert first & 0x0F == PONG
        assert await raw.reader.readexactly(second & 0x7F) == b"are you there"
        assert (await asyncio.wait_for(raw.ack(1), 10))["ok"] is True
    finally:
        raw.close()


async def test_reading_messages_leaves_the_sockets_epoll_registration_alone(server):
    """Tornado keeps an idle stream listening for reads; a stream whose buffer still holds
    bytes between two reads stops listening and starts again for each message (two
    epoll_ctl calls). With the whole chunk taken at once, a socket's messages change
    nothing there. This fails if tornado's frame reader stops going through _read_bytes, or
    if an idle IOStream stops keeping its read interest."""
    raw = await RawSocket.open(server, server.jupyter_token, {"client_id": "reader"})
    try:
        sio = server.app.room_server.sio
        handler = sio.environ[sio.manager.eio_sid_from_sid(raw.sid, "/")]["tornado.handler"]
        assert type(handler.ws_connection) is ChunkReadingProtocol
        stream = handler.ws_connection.stream
        changes: list[int] = []
        update_handler = stream.io_loop.update_handler

        def counting(fd: Any, events: int) -> None:
            if fd in (stream.socket, stream.socket.fileno()):
                changes.append(events)
            update_handler(fd, events)

        stream.io_loop.update_handler = counting
        try:
            for i in range(1, 101):  # one message per segment, each answered before the next
                raw.writer.write(client_frame(TEXT, event(i, "room:list", {})))
                assert (await asyncio.wait_for(raw.ack(i), 10))["ok"] is True
        finally:
            del stream.io_loop.update_handler
        assert len(changes) < 10, f"{len(changes)} epoll changes for 100 messages"
    finally:
        raw.close()
