"""The Python client: its sync API on its own thread, its replica, and reconnects."""

from __future__ import annotations

import asyncio

import pytest

from jupyter_classroom import ClassroomError, Client, Connection

from .helpers import hold_rejoins, stroke, wait_for


async def in_thread(fn, *args, **kwargs):
    """Run a blocking Client call off the loop that serves Jupyter in this test."""
    return await asyncio.to_thread(fn, *args, **kwargs)


async def test_sync_client_create_join_chat_draw(server):
    teacher = await in_thread(Client, server.url, server.kernel_token, name="teacher")
    student = await in_thread(Client, server.url, server.kernel_token, name="student")
    try:
        heard: list[dict] = []
        student.on("chat:message", heard.append)
        room = await in_thread(teacher.create_room, "Sync room", "pw")
        assert [r["title"] for r in await in_thread(student.list_rooms)] == ["Sync room"]
        with pytest.raises(ClassroomError) as info:
            await in_thread(student.join, room.id, "nope")
        assert info.value.code == "bad_password"
        joined = await in_thread(student.join, room.id, "pw")
        assert joined.you["role"] == "member" and not joined.is_host
        await in_thread(teacher.say, "welcome")
        assert await in_thread(teacher.op, stroke("t1", (10, 10))) == 1
        await wait_for(lambda: len(student.room.ops) == 1 and heard)
        assert heard[0]["text"] == "welcome" and student.room.ops[0]["op"]["id"] == "t1"
        await wait_for(lambda: len(teacher.room.members) == 2)
        await in_thread(student.leave)
        await wait_for(lambda: len(teacher.room.members) == 1)
    finally:
        await in_thread(teacher.close)
        await in_thread(student.close)


async def test_async_facade(server):
    client = await in_thread(Client, server.url, server.kernel_token, name="async")
    try:
        room = await client.aio.create_room("Async room")
        assert room.is_host
        assert (await client.aio.say("from a coroutine"))["text"] == "from a coroutine"
    finally:
        await in_thread(client.close)


async def test_client_without_server_says_what_to_do(monkeypatch):
    monkeypatch.delenv("JUPYTER_CLASSROOM_URL", raising=False)
    with pytest.raises(ClassroomError, match="JUPYTER_CLASSROOM_URL"):
        Connection()


async def test_reconnect_loses_and_duplicates_nothing(server, connect):
    drawer = await connect("drawer")
    room_id = (await drawer.create("resync"))["room"]["id"]
    watcher = Connection(server.url, server.kernel_token, name="watcher")
    await watcher.connect()
    try:
        await watcher.join(room_id)
        for i in range(10):
            await drawer.ok("board:op", {"room_id": room_id, "op": stroke(f"a{i}", (i, i))})
        await wait_for(lambda: watcher.rooms[room_id].seq == 10)
        drawer_went_on = asyncio.Event()  # (the rejoin waits for it: see hold_rejoins)
        rejoins = hold_rejoins(watcher, drawer_went_on)
        # the watcher's websocket drops (as on a network fault); ops go on while it is away
        disconnects: list[object] = []
        watcher.on("disconnect", disconnects.append)
        sio = server.app.room_server.sio
        (sid,) = [
            s
            for s, sess in server.app.room_server.sessions.items()
            if sess.identity.name == "watcher"
        ]
        sio.get_environ(sid)["tornado.handler"].close()
        await wait_for(lambda: disconnects)
        for i in range(10, 25):
            await drawer.ok("board:op", {"room_id": room_id, "op": stroke(f"a{i}", (i, i))})
        drawer_went_on.set()
        await wait_for(lambda: watcher.connected and watcher.rooms[room_id].seq == 25)
        assert rejoins == [{"room_id": room_id, "since": 10}]  # it fetched what it missed
        for i in range(25, 30):
            await drawer.ok("board:op", {"room_id": room_id, "op": stroke(f"a{i}", (i, i))})
        await wait_for(lambda: watcher.rooms[room_id].seq == 30)
        ops = watcher.rooms[room_id].ops
        assert [o["seq"] for o in ops] == list(range(1, 31))
        assert [o["op"]["id"] for o in ops] == [f"a{i}" for i in range(30)]
    finally:
        await watcher.close()


async def test_ops_arriving_out_of_order_are_applied_in_seq_order(server, connect):
    alice = Connection(server.url, server.kernel_token, name="alice")
    await alice.connect()
    bob = await connect("bob")
    try:
        room = await alice.create_room("ordering")
        await bob.join(room.id)
        applied: list[int] = []
        alice.on("board:op", lambda op: applied.append(op["seq"]))
        # both draw at once: seq order on alice's replica must have no gap and no repeat
        await asyncio.gather(
            *(alice.op(room.id, stroke(f"a{i}", (i, i))) for i in range(15)),
            *(
                bob.ok("board:op", {"room_id": room.id, "op": stroke(f"b{i}", (i, i))})
                for i in range(15)
            ),
        )
        await wait_for(lambda: alice.rooms[room.id].seq == 30)
        assert [o["seq"] for o in alice.rooms[room.id].ops] == list(range(1, 31))
        # listeners hear each of bob's ops once (from board:ops lists), never alice's own
        ops = alice.rooms[room.id].ops
        bobs = sorted(o["seq"] for o in ops if o["op"]["id"].startswith("b"))
        await wait_for(lambda: len(applied) >= 15)
        await asyncio.sleep(0.1)
        assert sorted(applied) == bobs
    finally:
        await alice.close()


async def test_a_listener_that_calls_the_client_is_told_at_once_and_aio_works(server):
    """A listener runs on the client's thread: a sync call there cannot wait for the loop it
    blocks. It raises at once (not after the 20 s timeout); an async listener uses ``aio``."""
    teacher = await in_thread(Client, server.url, server.kernel_token, name="teacher")
    student = await in_thread(Client, server.url, server.kernel_token, name="student")
    try:
        room = await in_thread(teacher.create_room, "Echo room")
        await in_thread(student.join, room.id)
        errors: list[BaseException] = []

        def sync_echo(message: dict) -> None:
            try:
                student.say("echo (sync)")
            except RuntimeError as exc:
                errors.append(exc)

        async def async_echo(message: dict) -> None:
            if message["from"]["id"] == teacher.room.you["id"]:
                await student.aio.say(f"echo: {message['text']}")

        student.on("chat:message", sync_echo)
        student.on("chat:message", async_echo)
        await in_thread(teacher.say, "hello")
        await wait_for(lambda: any(m["text"] == "echo: hello" for m in teacher.room.chat))
        assert errors and "client.aio" in str(errors[0])
        assert not any(m["text"] == "echo (sync)" for m in teacher.room.chat)
    finally:
        await in_thread(teacher.close)
        await in_thread(student.close)


def test_environment_tokens_go_only_to_the_environment_server(monkeypatch):
    """The kernel token ($JUPYTER_CLASSROOM_TOKEN) and a hub's classroom token
    ($JUPYTER_CLASSROOM_HUB_TOKEN) go only to the server $JUPYTER_CLASSROOM_URL names: a
    Client(url=...) elsewhere gets the token passed with it, or none."""
    monkeypatch.setenv("JUPYTER_CLASSROOM_URL", "http://127.0.0.1:8888/user/a/")
    monkeypatch.setenv("JUPYTER_CLASSROOM_TOKEN", "kernel-secret")
    monkeypatch.delenv("JUPYTER_CLASSROOM_HUB_TOKEN", raising=False)
    assert Connection().auth["token"] == "kernel-secret"
    assert Connection("http://127.0.0.1:8888/user/a").auth["token"] == "kernel-secret"
    assert Connection("HTTP://127.0.0.1:8888/user/a/").auth["token"] == "kernel-secret"
    for elsewhere in (
        "http://evil.example/user/a/",
        "http://127.0.0.1:8889/user/a/",
        "http://127.0.0.1:8888/user/b/",
    ):
        assert "token" not in Connection(elsewhere).auth, elsewhere
    assert Connection("http://evil.example/", token="given").auth["token"] == "given"

    monkeypatch.delenv("JUPYTER_CLASSROOM_TOKEN")
    monkeypatch.setenv("JUPYTER_CLASSROOM_URL", "https://hub.example.org/services/classroom/")
    monkeypatch.setenv("JUPYTER_CLASSROOM_HUB_TOKEN", "classroom-only")
    monkeypatch.setenv("JUPYTERHUB_API_TOKEN", "enters-the-server")
    conn = Connection()
    assert conn.auth["token"] == "classroom-only" and conn.headers == {}
    assert "token" not in Connection("https://elsewhere.example.org/").auth
    monkeypatch.delenv("JUPYTER_CLASSROOM_HUB_TOKEN")
    # the server's own hub token is never sent: it could enter the user's server
    assert "token" not in Connection().auth and Connection().headers == {}


async def test_a_refused_client_says_why(server, monkeypatch):
    monkeypatch.delenv("JUPYTER_CLASSROOM_TOKEN", raising=False)
    with pytest.raises(ClassroomError) as info:
        await in_thread(Client, server.url, "wrong", name="x", timeout=5)
    assert info.value.code == "unauthorized"
    assert "did not recognise you" in info.value.message
