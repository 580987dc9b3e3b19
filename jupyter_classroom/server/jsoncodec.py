"""The JSON codec python-socketio uses for our packets.

Encoding is the server's hot path (every broadcast, every late joiner's board), and msgspec's
encoder is several times faster than the standard library's (a 10,000-op board: ~150 ms
against ~900 ms here). Decoding stays with the standard library on purpose: it accepts what
clients send, NaN included, so that such payloads reach our schemas and get a clear
``bad_request`` instead of being dropped as unparseable packets.
"""

from __future__ import annotations

import json
import sys
from typing import Any

import msgspec
import socketio

_encoder = msgspec.json.Encoder()

# The event a packet too deeply nested to decode becomes (see Packet.decode); its argument
# says whether the client awaits an ack.
TOO_DEEP = "\0classroom:too-deep"


class Encoded:
    """A packet's arguments encoded ahead (in slices: see ``quotas.encode_ahead``).

    A handler returns one as its ack; :meth:`Packet.encode` joins its pieces behind the
    packet's header in one go instead of encoding megabytes on the loop (and instead of
    joining them first and copying the result behind the header: one copy of a large
    board fewer)."""

    __slots__ = ("pieces",)

    def __init__(self, *pieces: str) -> None:
        self.pieces = pieces  # joined: the JSON of the packet's argument list, ``[ack]``

    @property
    def text(self) -> str:
        return "".join(self.pieces)


def _encoded(data: Any) -> Encoded | None:
    """The Encoded a packet's argument list ``[Encoded]`` holds, if it is one."""
    if type(data) is list and len(data) == 1 and type(data[0]) is Encoded:
        return data[0]
    return None


def dumps(obj: Any, **_: Any) -> str:
    """Compact JSON (python-socketio passes ``separators``; msgspec is always compact)."""
    encoded = _encoded(obj)
    if encoded is not None:
        return encoded.text
    return _encoder.encode(obj).decode()


def encode_args(*args: Any) -> Encoded:
    """``args`` as a packet's argument list, encoded now."""
    return Encoded(msgspec.json.encode(list(args)).decode())


def loads(text: str | bytes, **kwargs: Any) -> Any:
    return json.loads(text, **kwargs)


class Packet(socketio.packet.Packet):
    """Socket.IO packets of the room server, with this codec. (A subclass rather than
    ``AsyncServer(json=...)``, which would set it on python-socketio's Packet class for every
    client and server of the process.)"""

    json = sys.modules[__name__]

    # The server sends JSON only, never bytes: skip python-socketio's walk of every outgoing
    # payload in search of them (a board:ops list or a late joiner's board is all lists).
    # Incoming binary packets are still decoded: that path does not look at this flag.
    uses_binary_events = False
    data: Any  # (set by python-socketio's Packet, untyped there)

    def encode(self) -> Any:
        encoded = _encoded(self.data)
        if encoded is None:
            return super().encode()
        data, self.data = self.data, None
        try:
            header = super().encode()  # (without data: just the type, namespace and ack id)
        finally:
            self.data = data
        return "".join([header, *encoded.pieces])

    def decode(self, encoded_packet: Any) -> int:
        # A frame nested deeper than the decoder recurses (``[[[[...`` within the frame size
        # limit) raises RecursionError, which python-socketio would log and drop unanswered.
        # Hand the room server an event it answers instead: ``bad_request`` when the client
        # awaits an ack, else it closes that socket (see RoomServer._on_any).
        try:
            return int(super().decode(encoded_packet))
        except RecursionError:
            self._too_deep()
            # a binary event's attachments still follow: expect them, as the header says
            head, dash, _ = str(encoded_packet)[1:12].partition("-")
            return int(head) if dash and head.isdigit() else 0

    def add_attachment(self, attachment: bytes) -> bool:
        # The last attachment rebuilds the payload, recursively: as deep a trap as above.
        try:
            return bool(super().add_attachment(attachment))
        except RecursionError:
            self._too_deep()
            return True

    def _too_deep(self) -> None:
        data: Any = None  # a connect's auth, or an ack we never asked for: ignored
        if self.packet_type in (socketio.packet.EVENT, socketio.packet.BINARY_EVENT):
            data = [TOO_DEEP, self.id is not None]
        self.data = data
