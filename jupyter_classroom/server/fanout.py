"""Client managers that deliver a broadcast without a task per recipient.

python-socketio's ``AsyncManager.emit`` encodes a broadcast once, then creates one asyncio
task per recipient to hand it to engine.io and waits for them all. Handing a packet to
engine.io only puts it on that socket's unbounded queue (its writer task does the network
write), so the tasks buy nothing but their cost, which for a room of 30 is most of an
emit's. These managers make the same calls one after the other instead.

And where a recipient's engine.io queue is empty (every packet put on it has been written),
the frame is written to its websocket at once (:func:`write_now`): the queue's writer task
would only wake up to do the same, and that wake-up (a task, a timeout handle, two turns of
the loop) costs more than the write. A socket with anything queued gets the frame queued
behind it, so each socket's frames keep their order. The websocket frame is built once per
broadcast and appended to each recipient's frames of this turn of the loop, written in one
go at its end (outbox.py), instead of a frame, a Future, a task and a ``send()`` per
recipient in tornado's ``write_message``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import socketio
from engineio import packet as eio_packet
from socketio import packet
from tornado.websocket import WebSocketClosedError

from .outbox import FRAGMENT_CHARS, text_frame


def frame_of(text: str) -> bytes | None:
    """``text``'s websocket frame, or None for a text written in fragments (handler.py)."""
    return text_frame(text) if len(text) <= FRAGMENT_CHARS else None


def write_now(server: socketio.AsyncServer, eio_sid: str, text: str, frame: bytes | None) -> bool:
    """Write an encoded engine.io packet (``text``, and ``frame``, its websocket frame, or
    None for a text the handler writes in fragments) to ``eio_sid``'s websocket now, if
    nothing is queued before it (else False: the caller queues it). "Now" is this turn's
    frames of the socket (outbox.py), which engine.io's writer, once it has taken a packet
    off the queue, writes into too: so the socket's frames keep their order. Reads engine.io's socket (``upgraded``, ``closing``, its queue's
    unfinished count: a packet taken off the queue counts until the writer has written it)
    and python-socketio's ``environ``; tests/test_dependency_internals.py checks they are
    still there."""
    socket = server.eio.sockets.get(eio_sid)
    if socket is None or not socket.upgraded or socket.closing or socket.closed:
        return False
    if socket.queue._unfinished_tasks:
        return False
    environ = server.environ.get(eio_sid)
    handler = environ.get("tornado.handler") if environ else None
    if handler is None or handler.ws_connection is None:
        return False
    try:
        if frame is None or not handler.write_frame(frame):
            handler.write_message(text)
    except WebSocketClosedError:
        pass  # gone, or dropped as too slow a reader: engine.io sees the close itself
    return True


class DirectFanoutManager(socketio.AsyncManager):
    """The in-process manager, delivering broadcasts inline.

    It tells ``on_leave`` (sid, channel, closing) of every socket of this process that
    leaves a channel, or whose channel is closed: with several processes, a departure or
    close decided by another process arrives here as the pub/sub manager's relayed
    ``leave_room``/``close_room``, which end in these methods (``AsyncPubSubManager`` hands
    local changes to the next class in line: tests/test_dependency_internals.py).
    """

    on_leave: Callable[[str, str, bool], Awaitable[None]] | None = None

    def set_server(self, server: Any) -> None:
        super().set_server(server)
        # python-socketio sends acks and its own packets through the server's _send_packet
        # (to engine.io's queue, whose writer task wakes for each): written now instead
        # where nothing is queued, as broadcasts are
        send_packet = server._send_packet

        async def send_now(eio_sid: str, pkt: Any) -> None:
            text = pkt.encode()
            if isinstance(text, str):
                text = "4" + text  # (an engine.io MESSAGE)
                if write_now(server, eio_sid, text, frame_of(text)):
                    return
            await send_packet(eio_sid, pkt)

        server._send_packet = send_now

    async def pre_connect(self, eio_sid: str, namespace: str) -> str | None:
        sid: str | None = await super().pre_connect(eio_sid, namespace)
        # our handler reports its socket's waits by Socket.IO id (handler.SocketReports)
        environ = self.server.environ.get(eio_sid)
        handler = environ.get("tornado.handler") if environ else None
        if sid is not None and namespace == "/" and handler is not None:
            handler.classroom_sid = sid
        return sid

    # A channel's recipients with what write_now looks up for each (their engine.io socket
    # and tornado handler), kept until the channel's membership changes: every change goes
    # through basic_enter_room / basic_leave_room (a disconnect and a close leave each
    # channel through the latter; tests/test_dependency_internals.py). What changes during a
    # socket's life (closing, its queue) is still read at each write.
    _targets: dict[tuple[str, Any], list[tuple[str, str, Any, Any]]]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._targets = {}

    def basic_enter_room(
        self, sid: str, namespace: str, room: Any, eio_sid: str | None = None
    ) -> None:
        self._targets.pop((namespace, room), None)
        super().basic_enter_room(sid, namespace, room, eio_sid=eio_sid)

    def basic_leave_room(self, sid: str, namespace: str, room: Any) -> None:
        self._targets.pop((namespace, room), None)
        super().basic_leave_room(sid, namespace, room)

    def _resolve(self, namespace: str, room: str) -> list[tuple[str, str, Any, Any]]:
        targets: list[tuple[str, str, Any, Any]] = []
        sockets, environs = self.server.eio.sockets, self.server.environ
        for sid, eio_sid in self.get_participants(namespace, room):
            socket = sockets.get(eio_sid)
            environ = environs.get(eio_sid)
            handler = environ.get("tornado.handler") if environ else None
            if socket is None or getattr(handler, "write_frame", None) is None:
                socket = handler = None  # (write_now's way each time)
            targets.append((sid, eio_sid, socket, handler))
        return targets

    async def leave_room(self, sid: str, namespace: str, room: str) -> None:
        await super().leave_room(sid, namespace, room)
        if self.on_leave is not None:
            await self.on_leave(sid, room, False)

    async def close_room(self, room: str, namespace: str) -> None:
        sids = list(self.rooms.get(namespace, {}).get(room, {}))
        await super().close_room(room, namespace)
        if self.on_leave is not None:
            for sid in sids:
                await self.on_leave(sid, room, True)

    async def emit(
        self,
        event: str,
        data: Any,
        namespace: str,
        room: str | list[str] | None = None,
        skip_sid: str | list[str] | None = None,
        callback: Any = None,
        to: str | list[str] | None = None,
        **kwargs: Any,
    ) -> None:
        room = to or room
        if callback is not None or namespace not in self.rooms:
            # an emit that waits for acks needs a packet per recipient: python-socketio's way
            await super().emit(
                event, data, namespace, room=room, skip_sid=skip_sid, callback=callback, **kwargs
            )
            return
        if isinstance(data, tuple):
            args = list(data)
        else:
            args = [] if data is None else [data]
        skip = set(skip_sid) if isinstance(skip_sid, list) else {skip_sid}
        if isinstance(room, str):
            targets = self._targets.get((namespace, room))
            if targets is None:
                targets = self._targets[(namespace, room)] = self._resolve(namespace, room)
        else:
            targets = [(sid, eio_sid, None, None)
                       for sid, eio_sid in self.get_participants(namespace, room)]  # fmt: skip
        if not targets or (len(targets) == 1 and targets[0][0] in skip):
            return  # (a room's one-op-per-event channel is often empty: skip the encoding)
        encoded = self.server.packet_class(packet.EVENT, namespace=namespace, data=[event, *args])
        parts = encoded.encode()
        frames = [
            eio_packet.Packet(eio_packet.MESSAGE, part)
            for part in (parts if isinstance(parts, list) else [parts])
        ]
        eio = self.server.eio
        text = frames[0].encode() if len(frames) == 1 else None
        # one websocket frame for all (a server's frames are not masked), built once
        ws_frame = frame_of(text) if isinstance(text, str) else None
        for sid, eio_sid, socket, handler in targets:
            if sid in skip:
                continue
            if (
                ws_frame is not None
                and socket is not None
                and socket.upgraded
                and not (socket.closing or socket.closed or socket.queue._unfinished_tasks)
                and handler.write_frame(ws_frame)
            ):
                continue  # write_now's case, its lookups done once for the channel
            if isinstance(text, str) and write_now(self.server, eio_sid, text, ws_frame):
                continue
            for frame in frames:
                await eio.send_packet(eio_sid, frame)


class RedisFanoutManager(socketio.AsyncRedisManager, DirectFanoutManager):
    """Redis pub/sub between processes; each process delivers to its own sockets inline
    (``AsyncPubSubManager`` hands local delivery to the next class in line, this one's
    :class:`DirectFanoutManager`)."""
