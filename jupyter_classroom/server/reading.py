"""A websocket's incoming frames, read from the socket a chunk at a time.

Tornado's frame reader asks its ``IOStream`` for each piece of a frame separately (the
header, the mask, the payload): three ``read_bytes`` calls per client message, each with a
Future and the stream's bookkeeping, and since the stream's buffer still holds the rest of
the chunk between them, the stream drops its interest in reading and takes it again for
every message (two ``epoll_ctl`` calls and a handle each time). Under ten busy rooms that was
a sixth of the server's time. :class:`ChunkReadingProtocol` takes whatever the socket has in
one read, keeps it, and serves the frame reader from it: one stream read per wake-up of the
socket, and, the stream's buffer being empty after it, the stream keeps listening for reads
(tornado does so for an idle stream), so no ``epoll_ctl`` per message.

Backpressure still reaches TCP: while the handler holds reading (handler.py,
RECEIVE_BACKLOG) nothing asks for more, and the stream stops listening once it has
buffered what the socket held.
"""

from __future__ import annotations

from tornado.websocket import WebSocketProtocol13

READ_CHUNK = 1 << 16  # at most this many bytes per read of the stream


class ChunkReadingProtocol(WebSocketProtocol13):
    """Tornado's websocket protocol, serving its frame reader from chunks of the stream."""

    _received = b""  # the last chunk(s) read
    _taken = 0  # how much of it the frame reader has had

    async def _read_bytes(self, n: int) -> bytes:
        start = self._taken
        end = start + n
        received = self._received
        if end > len(received):
            parts = [received[start:]]
            have = len(parts[0])
            while have < n:
                chunk = await self.stream.read_bytes(READ_CHUNK, partial=True)
                parts.append(chunk)
                have += len(chunk)
            received = self._received = b"".join(parts)
            start, end = 0, n
        self._wire_bytes_in += n
        if end == len(received):  # (an idle socket keeps no chunk)
            self._received, self._taken = b"", 0
        else:
            self._taken = end
        return received[start:end]
