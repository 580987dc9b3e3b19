"""Internals of our dependencies that the package relies on (issue 17, item 3).

Each of these has no public counterpart (docs/upstream.md proposes one where it makes sense);
pyproject.toml bounds the versions they were checked against. When a dependency moves one of
them, the test here fails first, naming the dependency, its version, what moved and which of
our modules uses it, instead of the server failing later somewhere in a broadcast.
"""

from __future__ import annotations

import asyncio
import inspect
import socket
from importlib.metadata import version
from pathlib import Path
from typing import Any

import ipycanvas
import pytest
import socketio
import tornado.iostream
import tornado.websocket
from engineio import packet as eio_packet
from engineio.async_drivers import tornado as eio_tornado
from engineio.async_socket import AsyncSocket
from ipycanvas import canvas as ipycanvas_canvas
from socketio.async_pubsub_manager import AsyncPubSubManager

from jupyter_classroom.server import jsoncodec, outbox
from jupyter_classroom.server.fanout import DirectFanoutManager, RedisFanoutManager
from jupyter_classroom.server.quotas import unsent_bytes
from jupyter_classroom.widgets._runtime import drawing


def moved(distribution: str, what: str, user: str) -> str:
    """The failure message: which dependency moved what, and who relies on it."""
    return (
        f"{distribution} {version(distribution)}: {what} is not as jupyter_classroom expects "
        f"(relied on by {user}; see docs/upstream.md and the bound in pyproject.toml)"
    )


def parameters(function: Any) -> list[str]:
    return list(inspect.signature(function).parameters)


# ---------------------------------------------------------------------------------------------
# python-socketio and python-engineio


@pytest.fixture
async def sio() -> socketio.AsyncServer:
    return socketio.AsyncServer(
        async_mode="tornado", client_manager=DirectFanoutManager(), serializer=jsoncodec.Packet
    )


async def test_socketio_manager_emit_keeps_its_signature():
    names = parameters(socketio.AsyncManager.emit)
    expected = ["self", "event", "data", "namespace", "room", "skip_sid", "callback"]
    assert names[: len(expected)] == expected and ("to" in names or "kwargs" in names), moved(
        "python-socketio", f"AsyncManager.emit{inspect.signature(socketio.AsyncManager.emit)}",
        "server/fanout.py (DirectFanoutManager.emit overrides it)",
    )  # fmt: skip


async def test_socketio_manager_rooms_participants_and_eio_sids(sio):
    """DirectFanoutManager reads ``manager.rooms`` and ``get_participants``; quotas.py maps a
    socket to its engine.io session with ``eio_sid_from_sid``."""
    manager = sio.manager
    where = "server/fanout.py, quotas.py (unsent_bytes)"
    sid = await manager.connect("eio-1", "/")
    await manager.enter_room(sid, "/", "room:r1")
    rooms = getattr(manager, "rooms", None)
    assert isinstance(rooms, dict), moved("python-socketio", "manager.rooms (a dict)", where)
    assert sid in rooms.get("/", {}).get("room:r1", ()), moved(
        "python-socketio", 'manager.rooms["/"][room] (membership of a sid)', where
    )
    assert list(manager.get_participants("/", "room:r1")) == [(sid, "eio-1")], moved(
        "python-socketio", "manager.get_participants(namespace, room) -> (sid, eio_sid)", where
    )
    assert manager.eio_sid_from_sid(sid, "/") == "eio-1", moved(
        "python-socketio", "manager.eio_sid_from_sid(sid, namespace)", where
    )
    await manager.leave_room(sid, "/", "room:r1")
    assert sid not in rooms.get("/", {}).get("room:r1", ()), moved(
        "python-socketio", 'manager.rooms["/"][room] after leave_room', where
    )


async def test_socketio_membership_changes_go_through_basic_enter_and_leave(sio):
    """DirectFanoutManager keeps each channel's recipients until its membership changes,
    which it hears of in ``basic_enter_room`` / ``basic_leave_room``: python-socketio's
    connect, enter, leave, close and disconnect must all go through them."""
    manager = sio.manager
    key = ("/", "room:r1")
    kept: list[tuple[str, str, Any, Any]] = []

    def forgotten(step: str) -> None:
        assert key not in manager._targets, moved(
            "python-socketio", f"{step} changing rooms through basic_enter/leave_room",
            "server/fanout.py (DirectFanoutManager._targets)",
        )  # fmt: skip
        manager._targets[key] = kept

    a = await manager.connect("eio-a", "/")
    manager._targets[("/", None)] = kept
    await manager.connect("eio-b", "/")
    assert ("/", None) not in manager._targets, moved(
        "python-socketio", "connect entering the sid through basic_enter_room", "server/fanout.py"
    )
    manager._targets[key] = kept
    await manager.enter_room(a, "/", "room:r1")
    forgotten("enter_room")
    await manager.leave_room(a, "/", "room:r1")
    forgotten("leave_room")
    await manager.enter_room(a, "/", "room:r1")
    manager._targets[key] = kept
    await manager.close_room("room:r1", "/")
    forgotten("close_room")
    await manager.enter_room(a, "/", "room:r1")
    manager._targets[key] = kept
    await manager.disconnect(a, "/")
    forgotten("disconnect")


async def test_socketio_server_parts_the_fanout_sends_with(sio):
    where = "server/fanout.py (DirectFanoutManager.emit)"
    assert sio.packet_class is jsoncodec.Packet, moved(
        "python-socketio", "AsyncServer.packet_class (from serializer=)", where
    )
    send_packet = getattr(sio.eio, "send_packet", None)
    assert inspect.iscoroutinefunction(send_packet), moved(
        "python-engineio", "AsyncServer.send_packet (a coroutine)", where
    )
    assert parameters(send_packet)[:2] == ["sid", "pkt"], moved(
        "python-engineio", f"AsyncServer.send_packet{inspect.signature(send_packet)}", where
    )
    assert eio_packet.Packet(eio_packet.MESSAGE, "x").encode() == "4x", moved(
        "python-engineio", "packet.Packet(MESSAGE, text).encode()", where
    )
    assert socketio.packet.EVENT == 2, moved("python-socketio", "packet.EVENT", where)


def test_redis_manager_delivers_locally_through_the_next_class():
    """RedisFanoutManager relies on AsyncPubSubManager handing a relayed emit to
    ``super().emit`` (our DirectFanoutManager, next in the MRO)."""
    mro = RedisFanoutManager.__mro__
    assert mro.index(DirectFanoutManager) < mro.index(socketio.AsyncManager)
    source = inspect.getsource(AsyncPubSubManager._handle_emit)
    assert "super().emit(" in source, moved(
        "python-socketio", "AsyncPubSubManager._handle_emit delivering via super().emit",
        "server/fanout.py (RedisFanoutManager)",
    )  # fmt: skip


async def test_relayed_leaves_and_closes_reach_the_presence(sio):
    """A departure or close decided by another process arrives as AsyncPubSubManager's
    relayed ``leave_room``/``close_room``, handed to ``super()`` (DirectFanoutManager, which
    tells the presence: fanout.py, presence.py ``left_channel``)."""
    where = "server/fanout.py (DirectFanoutManager.on_leave), presence.py"
    for handler, call in [
        (AsyncPubSubManager._handle_leave_room, "super().leave_room("),
        (AsyncPubSubManager._handle_close_room, "super().close_room("),
    ]:
        assert call in inspect.getsource(handler), moved(
            "python-socketio", f"AsyncPubSubManager.{handler.__name__} delivering via {call}",
            where,
        )  # fmt: skip
    heard: list[tuple[str, str, bool]] = []

    async def on_leave(sid: str, channel: str, closing: bool) -> None:
        heard.append((sid, channel, closing))

    manager = sio.manager
    manager.on_leave = on_leave
    a, b = await manager.connect("eio-a", "/"), await manager.connect("eio-b", "/")
    for sid in (a, b):
        await manager.enter_room(sid, "/", "room:r1")
    await manager.leave_room(a, "/", "room:r1")
    await manager.close_room("room:r1", "/")
    assert heard == [(a, "room:r1", False), (b, "room:r1", True)]


def test_socketio_packet_class_hooks_of_our_codec():
    where = "server/jsoncodec.py (Packet)"
    base = socketio.packet.Packet
    for name in ("json", "uses_binary_events"):
        assert hasattr(base, name), moved("python-socketio", f"packet.Packet.{name}", where)
    # a header alone when there is no data: Encoded acks are appended to it
    assert jsoncodec.Packet(socketio.packet.EVENT, data=None).encode() == "2", moved(
        "python-socketio", "packet.Packet.encode() of a packet without data", where
    )
    ack = jsoncodec.Packet(socketio.packet.ACK, data=[jsoncodec.Encoded('[{"ok":true}]')], id=5)
    assert ack.encode() == '35[{"ok":true}]', moved(
        "python-socketio", "packet.Packet.encode() header of an ack", where
    )
    decoded = jsoncodec.Packet(encoded_packet='2["ev",{"a":1}]')
    assert (decoded.packet_type, decoded.data, decoded.id) == (2, ["ev", {"a": 1}], None), moved(
        "python-socketio", "packet.Packet(encoded_packet=...) decoding via decode()", where
    )
    deep = jsoncodec.Packet(encoded_packet="21" + "[" * 100_000 + "]" * 100_000)
    assert deep.data == [jsoncodec.TOO_DEEP, True], moved(
        "python-socketio", "packet.Packet.decode() raising RecursionError on deep nesting", where
    )


async def test_engineio_socket_queue_counts_unsent_packets(sio):
    """quotas.unsent_bytes sums engine.io's per-socket queue (an asyncio.Queue's deque)."""
    where = "server/quotas.py (unsent_bytes)"
    sid = await sio.manager.connect("eio-2", "/")
    queued = AsyncSocket(sio.eio, "eio-2")
    assert isinstance(getattr(sio.eio, "sockets", None), dict), moved(
        "python-engineio", "AsyncServer.sockets (eio_sid -> socket)", where
    )
    sio.eio.sockets["eio-2"] = queued
    assert isinstance(getattr(queued, "queue", None), asyncio.Queue), moved(
        "python-engineio", "AsyncSocket.queue (an asyncio.Queue)", where
    )
    assert hasattr(queued.queue, "_queue"), moved("Python's asyncio", "Queue._queue", where)
    await queued.queue.put(eio_packet.Packet(eio_packet.MESSAGE, "abcd"))
    await queued.queue.put(eio_packet.Packet(eio_packet.MESSAGE, "ef"))
    assert unsent_bytes(sio, sid) == 6, moved(
        "python-engineio", "queued packets' .data (counted by unsent_bytes)", where
    )


async def test_engineio_socket_state_and_queue_accounting_the_direct_write_reads(sio):
    """fanout.write_now writes a frame straight to the websocket (its outbox) only when
    engine.io's queue has no unfinished packet: its writer takes packets off with poll(),
    which marks them done before returning them, and then writes them all, through the
    handler's write_message (so into the same outbox), without yielding to the loop."""
    where = "server/fanout.py (write_now)"
    socket_ = AsyncSocket(sio.eio, "eio-3")
    for flag in ("upgraded", "closing", "closed"):
        assert isinstance(getattr(socket_, flag, None), bool), moved(
            "python-engineio", f"AsyncSocket.{flag}", where
        )
    assert getattr(socket_.queue, "_unfinished_tasks", None) == 0, moved(
        "Python's asyncio", "Queue._unfinished_tasks", where
    )
    await socket_.queue.put(eio_packet.Packet(eio_packet.MESSAGE, "a"))
    await socket_.queue.put(eio_packet.Packet(eio_packet.MESSAGE, "b"))
    assert socket_.queue._unfinished_tasks == 2, moved(
        "Python's asyncio", "Queue._unfinished_tasks counting puts", where
    )
    assert [p.data for p in await socket_.poll()] == ["a", "b"]
    assert socket_.queue._unfinished_tasks == 0, moved(
        "python-engineio", "AsyncSocket.poll() marking packets done before returning", where
    )
    writer = inspect.getsource(AsyncSocket._websocket_handler)
    polled = writer.find("packets = await self.poll()")
    assert 0 <= polled < writer.find("await ws.send(pkt.encode())"), moved(
        "python-engineio", "the websocket writer (poll, then write each packet)", where
    )
    assert "self.tornado_handler.write_message(" in inspect.getsource(eio_tornado.WebSocket.send), (
        moved("python-engineio", "the tornado driver's WebSocket.send (no await)", where)
    )


async def test_socketio_environ_acks_and_pre_connect_the_direct_writes_use(sio):
    """fanout.write_now finds a socket's tornado handler in python-socketio's ``environ``
    (eio_sid -> the WSGI-like environ engine.io's tornado driver made); acks and
    python-socketio's own packets go through ``AsyncServer._send_packet``, which
    DirectFanoutManager.set_server replaces; ``pre_connect`` gives a socket its sid."""
    where = "server/fanout.py (write_now, DirectFanoutManager.set_server / pre_connect)"
    environ = getattr(sio, "environ", None)
    assert isinstance(environ, dict), moved("python-socketio", "AsyncServer.environ", where)
    connect = inspect.getsource(socketio.AsyncServer._handle_eio_connect)
    assert "self.environ[eio_sid] = environ" in connect, moved(
        "python-socketio", "AsyncServer.environ[eio_sid] set at engine.io connect", where
    )
    assert "'tornado.handler': handler" in inspect.getsource(eio_tornado.translate_request), moved(
        "python-engineio", 'the tornado driver\'s environ["tornado.handler"]', where
    )
    send = socketio.AsyncServer._send_packet
    assert inspect.iscoroutinefunction(send) and parameters(send) == ["self", "eio_sid", "pkt"], (
        moved("python-socketio", f"AsyncServer._send_packet{inspect.signature(send)}", where)
    )
    acks = inspect.getsource(socketio.AsyncServer._handle_event_internal)
    assert "server._send_packet(" in acks, moved(
        "python-socketio", "acks sent through AsyncServer._send_packet", where
    )
    assert sio._send_packet.__qualname__.endswith("send_now"), moved(
        "python-socketio", "the manager's set_server(server) at the server's construction", where
    )
    assert inspect.iscoroutinefunction(socketio.AsyncManager.pre_connect)
    assert parameters(socketio.AsyncManager.pre_connect) == ["self", "eio_sid", "namespace"], moved(
        "python-socketio", "AsyncManager.pre_connect(eio_sid, namespace)", where
    )
    assert "self.manager.pre_connect(eio_sid, namespace)" in inspect.getsource(
        socketio.AsyncServer._handle_connect
    ), moved("python-socketio", "AsyncServer._handle_connect calling pre_connect", where)


def test_engineio_tornado_handler_reads_through_its_receive_queue():
    """server/handler.py bounds what a socket has read and not handled (RECEIVE_BACKLOG) by
    replacing the driver's on_message (a put on its receive_queue, an unbounded queue, so
    ours puts without waiting) and wrapping its get_next_message, and tornado reads a
    socket's next message only once an awaitable on_message is done."""
    where = "jupyter_classroom/server/handler.py (SocketIOHandler.on_message)"
    handler = eio_tornado.get_tornado_handler(object())
    assert "self.receive_queue.put(message)" in inspect.getsource(handler.on_message), moved(
        "python-engineio", "the tornado handler's on_message (a put on receive_queue)", where
    )
    assert "self.receive_queue = asyncio.Queue()" in inspect.getsource(handler.__init__), moved(
        "python-engineio", "the tornado handler's receive_queue (unbounded)", where
    )
    assert "self.receive_queue.get()" in inspect.getsource(handler.get_next_message), moved(
        "python-engineio", "the tornado handler's get_next_message", where
    )
    assert "get_next_message()" in inspect.getsource(eio_tornado.WebSocket.wait), moved(
        "python-engineio", "the tornado driver's WebSocket.wait (reads get_next_message)", where
    )
    frames = inspect.getsource(tornado.websocket.WebSocketProtocol13._receive_frame)
    assert "await handled_future" in frames, moved(
        "tornado", "waiting for an awaitable on_message before reading the next frame", where
    )


# ---------------------------------------------------------------------------------------------
# tornado


async def test_tornado_stream_write_buffer_measures_what_the_kernel_did_not_take():
    where = "server/handler.py (SocketIOHandler.unsent_bytes)"
    ours, theirs = socket.socketpair()
    try:
        stream = tornado.iostream.IOStream(ours)
        buffer = getattr(stream, "_write_buffer", None)
        assert buffer is not None and len(buffer) == 0, moved(
            "tornado", "IOStream._write_buffer (with a len())", where
        )
        stream.write(b"x" * (16 << 20))  # the peer reads nothing: most of it stays with us
        await asyncio.sleep(0)
        assert 0 < len(stream._write_buffer) <= 16 << 20, moved(
            "tornado", "len(IOStream._write_buffer): bytes not yet written", where
        )
        stream.close()
    finally:
        theirs.close()
        ours.close()


def test_tornado_websocket_frame_writer_and_compressor():
    where = "server/handler.py (fragmented writes of large messages)"
    protocol = tornado.websocket.WebSocketProtocol13
    write_frame = getattr(protocol, "_write_frame", None)
    assert write_frame is not None and parameters(write_frame)[:4] == [
        "self", "fin", "opcode", "data"
    ], moved("tornado", "WebSocketProtocol13._write_frame(fin, opcode, data)", where)  # fmt: skip
    source = inspect.getsource(protocol)
    assert "self._compressor = None" in source or "self._compressor: " in source, moved(
        "tornado", "WebSocketProtocol13._compressor (None without permessage-deflate)", where
    )


def test_tornado_server_frames_are_what_the_outbox_builds():
    """outbox.text_frame builds a broadcast's frame once for every recipient: a server's
    frames are unmasked and without compression (get_compression_options returns None), so
    they are the same bytes tornado's _write_frame would write for each."""
    where = "server/outbox.py (text_frame), server/handler.py (write_frame)"
    protocol = tornado.websocket.WebSocketProtocol13(
        None, False, tornado.websocket._WebSocketParams()
    )
    written: list[bytes] = []

    class Stream:
        def write(self, data: bytes) -> None:
            written.append(bytes(data))

    protocol.stream = Stream()  # type: ignore[assignment]
    assert protocol.mask_outgoing is False and protocol._compressor is None, moved(
        "tornado", "WebSocketProtocol13(mask_outgoing=False): no mask, no compressor", where
    )
    for text in ("x", "é" * 100, "y" * 70_000):
        written.clear()
        protocol._write_frame(True, 0x1, text.encode())
        assert written == [outbox.text_frame(text)], moved(
            "tornado", "the bytes of a server's text frame", where
        )


def test_tornado_stream_writes_a_plain_socket_with_send():
    """Outbox.flush sends to a plain IOStream's socket itself while tornado's write buffer is
    empty, as tornado's own write would (write_to_fd: ``socket.send``), and hands tornado
    what the kernel did not take."""
    where = "server/outbox.py (Outbox.flush)"
    assert "self.socket.send(" in inspect.getsource(tornado.iostream.IOStream.write_to_fd), moved(
        "tornado", "IOStream.write_to_fd writing with socket.send", where
    )
    assert callable(getattr(tornado.iostream.IOStream, "closed", None)), moved(
        "tornado", "IOStream.closed()", where
    )
    handle_write = inspect.getsource(tornado.iostream.BaseIOStream._handle_write)
    assert "self._write_buffer" in handle_write, moved(
        "tornado", "IOStream._write_buffer holding what is still to write", where
    )


async def test_tornado_stream_write_takes_a_bytearray_and_resolves_when_sent():
    """Outbox.flush hands its bytearray to IOStream.write and times the returned Future
    (done at once when the kernel took everything); the close of a handler is a close
    frame written at once, so the outbox flushes before it (SocketIOHandler.close)."""
    where = "server/outbox.py (Outbox.flush), server/handler.py (close)"
    ours, theirs = socket.socketpair()
    try:
        stream = tornado.iostream.IOStream(ours)
        pending = bytearray(b"abc")
        written = stream.write(pending)  # type: ignore[arg-type]
        pending += b"def"  # (the outbox starts a new bytearray: whatever tornado kept)
        assert written.done(), moved("tornado", "IOStream.write's Future done when sent", where)
        await asyncio.sleep(0)
        assert theirs.recv(16)[:3] == b"abc"
        stream.write(b"x" * (16 << 20))
        assert not stream.write(b"y").done(), moved(
            "tornado", "IOStream.write's Future pending while bytes are unsent", where
        )
        stream.close()
    finally:
        theirs.close()
        ours.close()
    close = inspect.getsource(tornado.websocket.WebSocketProtocol13.close)
    assert "self._write_frame(True, 0x8" in close, moved(
        "tornado", "WebSocketProtocol13.close writing its close frame at once", where
    )
    assert callable(getattr(tornado.websocket.WebSocketProtocol13, "is_closing", None))


# ---------------------------------------------------------------------------------------------
# ipycanvas


def test_ipycanvas_manager_forgets_its_canvas_so_each_batch_names_it(monkeypatch):
    """widgets/_runtime.py works around ipycanvas#322 (a reloaded page's canvas manager is on
    no canvas, yet the kernel's skips "switchCanvas"): every batch must name its canvas."""
    where = "widgets/_runtime.py (_forget_current_canvas)"
    manager = getattr(ipycanvas_canvas, "_CANVAS_MANAGER", None)
    assert isinstance(manager, ipycanvas_canvas._CanvasManager), moved(
        "ipycanvas", "canvas._CANVAS_MANAGER (the one _CanvasManager)", where
    )
    assert hasattr(manager, "_current_canvas"), moved(
        "ipycanvas", "_CanvasManager._current_canvas", where
    )
    assert parameters(ipycanvas_canvas._CanvasManager._send_custom)[:2] == ["self", "command"]
    sent: list[Any] = []
    monkeypatch.setattr(manager, "_send_custom", lambda command, buffers=(): sent.append(command))
    canvas = ipycanvas.Canvas(width=10, height=10)
    for _ in range(2):
        with drawing():
            canvas.fill_rect(0, 0, 1, 1)
    switch = ipycanvas_canvas.COMMANDS["switchCanvas"]
    assert len(sent) == 2 and all(batch[0][0] == switch for batch in sent), moved(
        "ipycanvas", "the switchCanvas a batch begins with once _current_canvas is None", where
    )
    canvas.close()


# ---------------------------------------------------------------------------------------------
# jupyterhub and jupyter_server


def test_jupyterhub_single_user_identity_provider_we_extend():
    extension = pytest.importorskip("jupyterhub.singleuser.extension")
    from jupyterhub.services.auth import HubAuth, HubOAuth

    from jupyter_classroom.hub import HubIdentityProvider

    where = "hub.py (HubIdentityProvider extends it)"
    base = extension.JupyterHubIdentityProvider
    assert issubclass(HubIdentityProvider, base)
    assert parameters(getattr(base, "_patch_get_login_url", None) or (lambda: 0)) == [
        "self", "handler"
    ], moved("jupyterhub", "JupyterHubIdentityProvider._patch_get_login_url(handler)", where)  # fmt: skip
    trait = base.class_traits().get("hub_auth")
    assert trait is not None and trait.klass is HubOAuth, moved(
        "jupyterhub", "JupyterHubIdentityProvider.hub_auth (a HubOAuth trait)", where
    )
    assert HubIdentityProvider().token == "", "the service must not expose the hub's API token"
    for method, names in (
        ("user_for_token", ["self", "token", "use_cache", "session_id", "sync"]),
        ("get_user", ["self", "handler", "sync"]),
        ("check_scopes", ["self", "required_scopes", "user"]),
    ):
        assert parameters(getattr(HubAuth, method)) == names, moved(
            "jupyterhub", f"HubAuth.{method}{inspect.signature(getattr(HubAuth, method))}", where
        )
    for name in ("access_scopes", "login_url", "hub_prefix"):
        assert name in HubAuth.class_traits(), moved("jupyterhub", f"HubAuth.{name}", where)


def test_jupyter_server_extension_config_hook():
    from jupyter_server.extension.application import ExtensionApp

    assert callable(getattr(ExtensionApp, "_jupyter_server_config", None)), moved(
        "jupyter_server", "ExtensionApp._jupyter_server_config()", "server/app.py"
    )


def test_the_versions_checked_are_within_the_bounds_we_declare():
    """pyproject.toml bounds these dependencies: the installed ones are inside."""
    from packaging.requirements import Requirement

    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib

    project = tomllib.loads((Path(__file__).parents[1] / "pyproject.toml").read_text())
    declared = [Requirement(r) for r in project["project"]["dependencies"]]
    declared += [Requirement(r) for r in project["project"]["optional-dependencies"]["hub"]]
    bounded = {r.name.lower().replace("_", "-"): r for r in declared}
    for name in ("python-socketio", "python-engineio", "tornado", "ipycanvas", "jupyterhub"):
        requirement = bounded[name]
        assert any(s.operator in ("<", "<=", "~=") for s in requirement.specifier), (
            f"{name} has no upper bound in pyproject.toml"
        )
        assert requirement.specifier.contains(version(name)), (
            f"installed {name} {version(name)} is outside {requirement}"
        )
