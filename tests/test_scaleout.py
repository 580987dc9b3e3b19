"""Scale-out: two real ``jupyter server`` processes sharing one real redis-server.

Clients on different processes share rooms (python-socketio's AsyncRedisManager carries the
emits, the Redis Store the state); a kick handled on one process silences the kicked member's
socket on the other; when a process dies, its clients reconnect (through a small TCP forwarder
standing in for a load balancer) to the survivor and lose or repeat no board op.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from jupyter_classroom import Connection

from .helpers import free_port, stroke, wait_for
from .peers import Peer, ServerInfo, peer_pool
from .redis_server import running_redis

pytestmark = pytest.mark.timeout(180)

TOKEN = uuid.uuid4().hex
HEADERS = {"Authorization": f"token {TOKEN}"}
START_TIMEOUT = 60.0


@dataclass
class ServerProcess:
    port: int
    process: subprocess.Popen[bytes]
    log: Path

    @property
    def info(self) -> ServerInfo:
        return ServerInfo(
            origin=f"http://127.0.0.1:{self.port}",
            base_url="/",
            jupyter_token=TOKEN,
            kernel_token="",
            app=None,
        )

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-4000:]

    def kill(self) -> None:
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)


def _ready(port: int) -> bool:
    request = urllib.request.Request(f"http://127.0.0.1:{port}/api/status", headers=HEADERS)
    try:
        with urllib.request.urlopen(request, timeout=1) as response:
            return bool(response.status == 200)
    except OSError:
        return False


@contextlib.contextmanager
def room_servers(redis_url: str, count: int = 2, *options: str) -> Iterator[list[ServerProcess]]:
    """``count`` room-server processes on free loopback ports, sharing ``redis_url``, with
    extra command-line ``options``."""
    with tempfile.TemporaryDirectory(prefix="jc-scaleout-") as workdir:
        env = {
            **os.environ,
            "JUPYTER_CONFIG_DIR": f"{workdir}/config",
            "JUPYTER_RUNTIME_DIR": f"{workdir}/runtime",
            "JUPYTER_PLATFORM_DIRS": "1",
            "PYTHONUNBUFFERED": "1",
        }
        servers: list[ServerProcess] = []
        try:
            for n in range(count):
                port = free_port()
                log = Path(workdir, f"server{n}.log")
                with log.open("wb") as out:
                    process = subprocess.Popen(
                        [
                            sys.executable,
                            "-m",
                            "jupyter_server",
                            "--allow-root",
                            "--no-browser",
                            f"--ServerApp.token={TOKEN}",
                            f"--ServerApp.port={port}",
                            "--ServerApp.port_retries=0",
                            "--ServerApp.ip=127.0.0.1",
                            f"--ServerApp.root_dir={workdir}",
                            f"--ClassroomApp.redis_url={redis_url}",
                            *options,
                        ],
                        stdout=out,
                        stderr=subprocess.STDOUT,
                        stdin=subprocess.DEVNULL,
                        env=env,
                        cwd=workdir,
                        start_new_session=True,  # its own process group, killed as one
                    )
                servers.append(ServerProcess(port, process, log))
            deadline = time.monotonic() + START_TIMEOUT
            for server in servers:
                while not _ready(server.port):
                    if server.process.poll() is not None or time.monotonic() > deadline:
                        pytest.fail(f"jupyter server did not start:\n{server.output()}")
                    time.sleep(0.1)
            yield servers
        finally:
            for server in servers:
                server.kill()


@pytest.fixture(scope="module")
def redis_url() -> Iterator[str]:
    with running_redis() as url:
        yield url


@pytest.fixture(scope="module")
def cluster(redis_url: str) -> Iterator[list[ServerProcess]]:
    with room_servers(redis_url) as servers:
        yield servers


@pytest.fixture
async def connect() -> AsyncIterator[Callable[..., Awaitable[Peer]]]:
    """``await connect(server, "alice")``: a Peer connected to that server process."""
    async with peer_pool() as connect_to:

        async def _connect(server: ServerProcess, name: str, **kwargs: Any) -> Peer:
            return await connect_to(server.info, name, **kwargs)

        yield _connect


# ---------------------------------------------------------------------------------------------


async def test_clients_on_two_processes_share_a_room(
    cluster: list[ServerProcess], connect: Callable[..., Awaitable[Peer]]
) -> None:
    p1, p2 = cluster
    alice = await connect(p1, "alice")
    bob = await connect(p2, "bob")
    carol = await connect(p2, "carol")
    created = await alice.create("Across processes")
    room_id = created["room"]["id"]
    assert room_id in [r["id"] for r in (await bob.ok("room:list"))["rooms"]]
    joined = await bob.join(room_id)
    assert joined["room"]["title"] == "Across processes"
    assert (await alice.next("room:member_joined"))["member"]["id"] == joined["you"]["id"]
    await carol.join(room_id)
    listed = await bob.next("room:list_changed")  # emitted by p1 or p2, heard on p2
    assert any(r["id"] == room_id for r in listed["rooms"])

    # chat both ways, and a direct message only for its target
    await alice.ok("chat:send", {"room_id": room_id, "text": "from p1"})
    assert (await bob.next("chat:message"))["text"] == "from p1"
    assert (await alice.next("chat:message"))["text"] == "from p1"  # the room includes her
    await bob.ok("chat:send", {"room_id": room_id, "text": "from p2"})
    assert (await alice.next("chat:message"))["text"] == "from p2"
    assert (await bob.next("chat:message"))["text"] == "from p2"
    bob_id = joined["you"]["id"]
    await alice.ok("chat:send", {"room_id": room_id, "text": "psst", "to": bob_id})
    assert (await bob.next("chat:message"))["text"] == "psst"
    carol.drain("chat:message")
    assert [m["text"] for m in carol.received["chat:message"]] == ["from p1", "from p2"]

    # board ops both ways, in one seq
    assert (await alice.ok("board:op", {"room_id": room_id, "op": stroke("a1")}))["seq"] == 1
    assert (await bob.ok("board:op", {"room_id": room_id, "op": stroke("b1")}))["seq"] == 2
    assert (await bob.next("board:op"))["op"]["id"] == "a1"
    got = await alice.next("board:op")
    assert (got["seq"], got["op"]["id"], got["room_id"]) == (2, "b1", room_id)
    assert await alice.error("board:op", {"room_id": room_id, "op": stroke("b1")}) == "conflict"

    # signaling reaches exactly the target member's sockets, on the other process
    alice_id = created["you"]["id"]
    offer = {"type": "offer", "sdp": "v=0\r\n"}
    await alice.ok("rtc:signal", {"room_id": room_id, "to": bob_id, "data": offer})
    signal_in = await bob.next("rtc:signal")
    assert signal_in == {"room_id": room_id, "from": alice_id, "data": offer}
    answer = {"type": "answer", "sdp": "v=0\r\n"}
    await bob.ok("rtc:signal", {"room_id": room_id, "to": alice_id, "data": answer})
    assert (await alice.next("rtc:signal"))["data"] == answer
    await carol.nothing("rtc:signal")

    # a cursor crosses too
    await bob.sio.emit("board:cursor", {"room_id": room_id, "x": 3, "y": 4})
    assert (await alice.next("board:cursor"))["member_id"] == bob_id


async def test_late_joiner_on_the_other_process_gets_the_board(
    cluster: list[ServerProcess], connect: Callable[..., Awaitable[Peer]]
) -> None:
    p1, p2 = cluster
    drawer = await connect(p1, "drawer")
    room_id = (await drawer.create("Late join"))["room"]["id"]
    for i in range(30):
        await drawer.ok("board:op", {"room_id": room_id, "op": stroke(f"s{i}", (i, i))})
        extend = {"type": "extend", "id": f"e{i}", "target": f"s{i}", "points": [[i, i + 1]]}
        await drawer.ok("board:op", {"room_id": room_id, "op": extend})
    await drawer.ok("chat:send", {"room_id": room_id, "text": "look at this"})
    late = await connect(p2, "late")
    board = (await late.join(room_id))["board"]
    assert board["complete"] and board["seq"] == 60
    assert [o["seq"] for o in board["ops"]] == list(range(1, 61))
    assert board["ops"][1]["op"] == {
        "type": "extend",
        "id": "e0",
        "target": "s0",
        "points": [[0, 1]],
    }
    # and a rejoin with since gets exactly the delta
    await drawer.ok("board:op", {"room_id": room_id, "op": stroke("s99")})
    delta = (await late.join(room_id, since=60))["board"]
    assert not delta["complete"] and [o["op"]["id"] for o in delta["ops"]] == ["s99"]
    assert (await late.next("board:op"))["op"]["id"] == "s99"


async def test_kick_on_one_process_silences_the_member_on_the_other(
    cluster: list[ServerProcess], connect: Callable[..., Awaitable[Peer]]
) -> None:
    p1, p2 = cluster
    host = await connect(p1, "host")
    room_id = (await host.create("Kick"))["room"]["id"]
    kid = await connect(p2, "kid")
    near = await connect(p2, "near")  # on the kicked member's process
    far = await connect(p1, "far")
    kid_id = (await kid.join(room_id))["you"]["id"]
    await near.join(room_id)
    await far.join(room_id)
    await host.ok("room:kick", {"room_id": room_id, "member_id": kid_id})
    left = await kid.next("room:member_left")
    assert left == {"room_id": room_id, "member_id": kid_id, "reason": "kicked"}
    assert (await near.next("room:member_left"))["member_id"] == kid_id
    for peer in (kid, near, far):
        peer.drain("board:op"), peer.drain("chat:message"), peer.drain("board:cursor")

    # nothing the room says reaches the kicked socket any more, from either process
    await host.ok("board:op", {"room_id": room_id, "op": stroke("after-kick-1")})
    await near.ok("board:op", {"room_id": room_id, "op": stroke("after-kick-2")})
    await near.ok("chat:send", {"room_id": room_id, "text": "you are gone"})
    await near.sio.emit("board:cursor", {"room_id": room_id, "x": 1, "y": 1})
    await host.ok("room:update", {"room_id": room_id, "title": "Kicked out"})
    assert (await far.next("chat:message"))["text"] == "you are gone"
    assert (await far.next("board:cursor"))["x"] == 1
    assert (await far.next("room:updated"))["room"]["title"] == "Kicked out"
    for event in ("board:op", "chat:message", "board:cursor", "room:updated"):
        await kid.nothing(event, wait=0.2)

    # and the kicked socket can no longer speak to the room
    assert await kid.error("board:op", {"room_id": room_id, "op": stroke("x")}) == "not_member"
    assert await kid.error("chat:send", {"room_id": room_id, "text": "hi"}) == "not_member"
    assert await kid.error("room:join", {"room_id": room_id}) == "forbidden"
    await kid.sio.emit("board:cursor", {"room_id": room_id, "x": 666, "y": 666})
    await near.sio.emit("board:cursor", {"room_id": room_id, "x": 2, "y": 2})
    await asyncio.sleep(0.3)
    for peer in (near, far, host):
        assert all(c["x"] != 666 for c in peer.received["board:cursor"]), peer.received


async def test_leave_and_close_cross_processes(
    cluster: list[ServerProcess], connect: Callable[..., Awaitable[Peer]]
) -> None:
    p1, p2 = cluster
    host = await connect(p1, "host")
    room_id = (await host.create("Leave and close"))["room"]["id"]
    member = await connect(p1, "member", client_id="member-kernel")
    await member.join(room_id)
    # the member's second socket (the browser video view) is on the other process
    ticket = (await member.ok("room:ticket", {"room_id": room_id}))["ticket"]
    video = await connect(p2, "member-video")
    assert (await video.ok("room:attach", {"ticket": ticket}))["you"]["name"] == "member"
    await member.ok("room:leave", {"room_id": room_id})
    assert (await video.next("room:member_left"))["reason"] == "left"
    await host.ok("board:op", {"room_id": room_id, "op": stroke("after-leave")})
    await host.ok("chat:send", {"room_id": room_id, "text": "after leave"})
    await video.nothing("board:op", wait=0.2)
    await video.nothing("chat:message", wait=0.1)

    watcher = await connect(p2, "watcher")
    await watcher.join(room_id)
    await host.ok("room:close", {"room_id": room_id})
    assert (await watcher.next("room:closed"))["room_id"] == room_id
    assert await watcher.error("chat:send", {"room_id": room_id, "text": "hi"}) == "not_found"
    assert room_id not in [r["id"] for r in (await watcher.ok("room:list"))["rooms"]]


# ---------------------------------------------------------------------------------------------
# failover


class Forwarder:
    """A TCP front for the room servers, as a load balancer: each new connection goes to the
    first of ``ports`` that accepts it."""

    def __init__(self, ports: list[int]) -> None:
        self.ports = ports
        self.port = 0
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        for port in self.ports:
            try:
                up_reader, up_writer = await asyncio.open_connection("127.0.0.1", port)
                break
            except OSError:
                continue
        else:
            writer.close()
            return
        self._writers.add(up_writer)
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            await asyncio.gather(
                self._pipe(reader, up_writer, writer), self._pipe(up_reader, writer, up_writer)
            )
        finally:
            self._tasks.discard(task)

    async def _pipe(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        other: asyncio.StreamWriter,
    ) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        except OSError:
            pass
        finally:  # one side gone: close both, as a proxy does
            for w in (writer, other):
                w.close()
                self._writers.discard(w)

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        for writer in list(self._writers):
            writer.close()
        for task in list(self._tasks):
            task.cancel()
        if self._server is not None:
            await self._server.wait_closed()


async def test_clients_of_a_killed_process_resume_on_the_other(redis_url: str) -> None:
    with room_servers(redis_url) as (p1, p2):
        front = Forwarder([p1.port, p2.port])
        await front.start()
        alice = Connection(front.url, "", name="alice", headers=HEADERS)
        bob = Connection(front.url, "", name="bob", headers=HEADERS)
        carol = Peer(p2.info, name="carol")
        try:
            await alice.connect()
            await bob.connect()
            await carol.connect()
            room = await alice.create_room("Failover", password="pw")
            alice_id = room.you["id"]
            await bob.join(room.id, password="pw")
            await carol.join(room.id, password="pw")
            sent: list[str] = []

            async def draw_by_carol(n: int) -> None:
                op_id = f"c{len(sent)}"
                await carol.ok("board:op", {"room_id": room.id, "op": stroke(op_id, (n, n))})
                sent.append(op_id)

            drops: list[str] = []
            alice.on("disconnect", lambda _: drops.append("alice"))
            bob.on("disconnect", lambda _: drops.append("bob"))
            for i in range(10):
                await alice.op(room.id, stroke(f"a{i}", (i, i)))
                sent.append(f"a{i}")
                await draw_by_carol(i)
            await wait_for(lambda: alice.rooms[room.id].seq == 20 and bob.rooms[room.id].seq == 20)

            p1.kill()  # SIGKILL: no goodbye to anyone
            await wait_for(lambda: {"alice", "bob"} <= set(drops))
            for i in range(15):  # the room goes on on p2 while they are away
                await draw_by_carol(i)
            await wait_for(lambda: alice.connected and bob.connected)
            await wait_for(lambda: alice.rooms[room.id].seq == 35 and bob.rooms[room.id].seq == 35)
            for i in range(5):  # and both draw again, now through p2
                await alice.op(room.id, stroke(f"z{i}", (i, i)))
                sent.append(f"z{i}")
                await draw_by_carol(i)
            await wait_for(lambda: alice.rooms[room.id].seq == 45 and bob.rooms[room.id].seq == 45)

            server_board = (await carol.join(room.id))["board"]["ops"]
            assert [o["seq"] for o in server_board] == list(range(1, 46))
            assert [o["op"]["id"] for o in server_board] == sent
            for client in (alice, bob):
                ops = client.rooms[room.id].ops
                assert [o["seq"] for o in ops] == list(range(1, 46))
                assert [o["op"]["id"] for o in ops] == sent
            assert bob.rooms[room.id].ops == server_board  # bob drew nothing: all as served
            # the same members on the new process: no password asked again, same ids
            assert alice.rooms[room.id].you["id"] == alice_id
        finally:
            await alice.close()
            await bob.close()
            await carol.disconnect()
            await front.close()


async def test_members_on_a_process_that_died_depart_after_its_heartbeat_lapses(
    redis_url: str,
) -> None:
    # alice (the host) is on p1 and never comes back after p1 dies; bob on p2 sees her depart
    # and becomes host, so the room does not keep a ghost host present forever
    with room_servers(redis_url, 2, "--ClassroomApp.process_ttl=1.5") as (p1, p2):
        alice, bob, carol = Peer(p1.info, name="alice"), Peer(p2.info, name="bob"), None
        try:
            await alice.connect()
            await bob.connect()
            created = await alice.create("Ghosts")
            room_id, alice_id = created["room"]["id"], created["you"]["id"]
            bob_id = (await bob.join(room_id))["you"]["id"]
            p1.kill()
            left = await bob.next("room:member_left", timeout=15)
            assert left == {"room_id": room_id, "member_id": alice_id, "reason": "disconnected"}
            updated = await bob.next("room:updated", timeout=5)
            assert updated["room"]["host"]["id"] == bob_id
            assert updated["room"]["members"] == 1
            # and someone arriving now finds bob alone, hosting
            carol = Peer(p2.info, name="carol")
            await carol.connect()
            joined = await carol.join(room_id)
            assert {m["id"] for m in joined["members"]} == {bob_id, joined["you"]["id"]}
            # (its log line, read from the process's log file, may come a moment after; the
            # whole file is read: what the process logs after it would push it out of a tail)
            await wait_for(
                lambda: "stopped beating" in p2.log.read_text(errors="replace"),
                message=lambda: f"no 'stopped beating' line in p2's log:\n{p2.output()}",
            )
        finally:
            await bob.disconnect()
            if carol is not None:
                await carol.disconnect()
