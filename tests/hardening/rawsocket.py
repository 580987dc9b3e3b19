"""A websocket client over a bare TCP stream that reads only when told to.

Client libraries (aiohttp, python-socketio) read everything the server sends into their own
memory as it arrives, so they cannot play a client that stops reading. This one speaks just
enough websocket, engine.io and Socket.IO to connect, send events and read their acks; until
it calls :meth:`RawSocket.recv`, whatever the server sends stays in the server's buffers and
the kernel's.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import struct
from typing import Any

from ..peers import ServerInfo


class RawSocket:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.sid = ""
        self.frames = 0  # frames of the last message received
        self._next_id = 0

    @classmethod
    async def open(
        cls, server: ServerInfo, token: str, auth: dict[str, Any] | None = None
    ) -> RawSocket:
        """Connect with ``Authorization: token <token>`` and Socket.IO ``auth``."""
        port = int(server.origin.rsplit(":", 1)[1])
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        key = base64.b64encode(os.urandom(16)).decode()
        request = (
            f"GET {server.socket_path}/?EIO=4&transport=websocket HTTP/1.1\r\n"
            f"Host: 127.0.0.1:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
            f"Authorization: token {token}\r\n\r\n"
        )
        writer.write(request.encode())
        head = await reader.readuntil(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 101"), head
        raw = cls(reader, writer)
        assert (await raw.recv()).startswith("0")  # engine.io open
        await raw.send("40" + json.dumps(auth or {}))
        connected = await raw.recv()
        assert connected.startswith("40{"), connected
        raw.sid = json.loads(connected[2:])["sid"]
        return raw

    async def send(self, text: str) -> None:
        payload = text.encode()
        mask = os.urandom(4)
        head = bytes([0x81])
        if len(payload) < 126:
            head += bytes([0x80 | len(payload)])
        elif len(payload) < 1 << 16:
            head += bytes([0x80 | 126]) + struct.pack("!H", len(payload))
        else:
            head += bytes([0x80 | 127]) + struct.pack("!Q", len(payload))
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        self.writer.write(head + mask + masked)
        await self.writer.drain()

    async def recv(self) -> str:
        """The next text message (pings and other control frames skipped), reassembled
        from its frames when it came fragmented; :attr:`frames` says in how many."""
        parts: list[bytes] = []
        while True:
            first, second = await self.reader.readexactly(2)
            length = second & 0x7F
            if length == 126:
                (length,) = struct.unpack("!H", await self.reader.readexactly(2))
            elif length == 127:
                (length,) = struct.unpack("!Q", await self.reader.readexactly(8))
            payload = await self.reader.readexactly(length)
            opcode = first & 0x0F
            if opcode == 0x8:
                raise ConnectionError("the server closed the websocket")
            if opcode == 0x0 and not parts:
                raise ConnectionError("a continuation frame without a message to continue")
            if opcode == 0x1 and parts:
                raise ConnectionError("a new message inside a fragmented one")
            if opcode in (0x0, 0x1):
                parts.append(payload)
                if first & 0x80:  # FIN: the message's last frame
                    self.frames = len(parts)
                    return b"".join(parts).decode()

    async def emit(self, event: str, payload: Any) -> int:
        """Send an event asking for an ack; returns the ack id."""
        self._next_id += 1
        await self.send(f"42{self._next_id}" + json.dumps([event, payload]))
        return self._next_id

    async def ack(self, ack_id: int) -> dict[str, Any]:
        """Read until the ack ``ack_id`` (events before it are dropped)."""
        prefix = f"43{ack_id}["
        while True:
            message = await self.recv()
            if message.startswith(prefix):
                result: dict[str, Any] = json.loads(message[len(prefix) - 1 :])[0]
                return result

    def close(self) -> None:
        self.writer.close()
