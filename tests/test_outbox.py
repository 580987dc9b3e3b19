"""A socket's frames written once per turn of the loop (server/outbox.py): a broadcast's frame
built once and appended to each recipient's outgoing bytes, engine.io's own writes (acks,
pings) in the same bytes and order, sockets that close meanwhile dropped quietly, and drawers
told when their ink waits to leave for a client that reads slowly (issue 18)."""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import time
from typing import Any

import pytest
from engineio.async_socket import AsyncSocket

from jupyter_classroom.client.connection import expand_merged
from jupyter_classroom.server import outbox
from jupyter_classroom.server.channels import board_channel
from jupyter_classroom.server.outbox import Outbox, text_frame

from .hardening.rawsocket import RawSocket
from .helpers import stroke


def extend(op_id: str, target: str, *points: tuple[float, float]) -> dict[str, Any]:
    return {"type": "extend", "id": op_id, "target": target, "points": [list(p) for p in points]}


@pytest.fixture
def coalesced(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts frames appended behind others not yet written (one write for several)."""
    behind: list[int] = []
    add = Outbox.add

    def counting(self: Outbox, frame: bytes) -> None:
        if len(self):
            behind.append(len(frame))
        add(self, frame)

    monkeypatch.setattr(Outbox, "add", counting)
    return behind


def test_text_frame_is_the_unmasked_frame_a_websocket_client_reads():
    for size in (0, 125, 126, 65535, 65536):
        text = "é" * (size // 2) + "x" * (size % 2)
        frame = text_frame(text)
        data = text.encode()
        assert frame[0] == 0x81  # FIN, text
        if len(data) < 126:
            assert frame[1] == len(data) and frame[2:] == data
        elif len(data) <= 0xFFFF:
            assert frame[1] == 126 and int.from_bytes(frame[2:4], "big") == len(data)
            assert frame[4:] == data
        else:
            assert frame[1] == 127 and int.from_bytes(frame[2:10], "big") == len(data)
            assert frame[10:] == data


async def burst(peer: Any, room_id: str, count: int, tag: str) -> list[dict[str, Any]]:
    """``count`` ops sent without waiting for acks (one stroke, then its extends); their acks
    in the order they came."""
    acks: list[dict[str, Any]] = []
    for i in range(count):
        op = stroke(f"{tag}0", (0, 0)) if i == 0 else extend(f"{tag}{i}", f"{tag}0", (i, -i))
        await peer.sio.emit(
            "board:op", {"room_id": room_id, "op": op}, callback=lambda ack: acks.append(ack)
        )
    for _ in range(400):
        if len(acks) == count:
            break
        await asyncio.sleep(0.025)
    return acks


async def test_a_burst_arrives_whole_and_in_order_through_coalesced_writes(
    connect, server, coalesced
):
    alice = await connect("alice")
    bob = await connect("bob")  # one board:op frame per op
    carol = await connect("carol", auth={"batch": True})  # board:ops lists
    room_id = (await alice.create("burst"))["room"]["id"]
    await bob.join(room_id)
    await carol.join(room_id)
    acks = await burst(alice, room_id, 300, "b")
    assert [ack["seq"] for ack in acks] == list(range(1, 301))  # acks too, in order
    got = [await bob.next("board:op") for _ in range(300)]
    assert [op["seq"] for op in got] == list(range(1, 301))
    assert [op["op"]["points"] for op in got[1:]] == [[[i, -i]] for i in range(1, 300)]
    listed: list[dict[str, Any]] = []
    while len(expand_merged(listed)) < 300:
        listed += (await carol.next("board:ops"))["ops"]
    assert [op["seq"] for op in expand_merged(listed)] == list(range(1, 301))
    await bob.nothing("board:op", wait=0.1)  # nothing twice
    # Broadcasts made in one turn of the loop share one write. (Whether the burst's did
    # depends on how the server's reads fell into turns: not something to assert.)
    coalesced.clear()
    sio = server.app.room_server.sio
    for n in range(3):
        await sio.emit("board:op", {"room_id": room_id, "n": n}, to=board_channel(room_id, False))
    assert len(coalesced) >= 2, "no frame went out in one write with another"
    assert [(await bob.next("board:op"))["n"] for _ in range(3)] == [0, 1, 2]


async def test_engineio_pings_and_acks_keep_their_place_among_broadcasts(
    connect, server, coalesced, monkeypatch
):
    """engine.io's writer task sends pings (and whatever else it queued) into the same
    outgoing bytes as the broadcasts written directly: nothing is reordered or torn, so the
    clients keep answering pings and parse every frame."""
    eio = server.app.room_server.sio.eio
    monkeypatch.setattr(eio, "ping_interval", 0.02)  # a ping every 20 ms, from connect on
    pongs: list[str] = []
    schedule_ping = AsyncSocket.schedule_ping

    def counted(self: AsyncSocket) -> None:
        pongs.append(self.sid)
        schedule_ping(self)

    monkeypatch.setattr(AsyncSocket, "schedule_ping", counted)
    alice = await connect("alice")
    bob = await connect("bob")
    carol = await connect("carol", auth={"batch": True})
    room_id = (await alice.create("pings"))["room"]["id"]
    await bob.join(room_id)
    await carol.join(room_id)
    seqs: list[int] = []
    for round_ in range(8):
        acks = await burst(alice, room_id, 40, f"r{round_}.")
        assert all(ack["ok"] for ack in acks)
        seqs += [ack["seq"] for ack in acks]
        await asyncio.sleep(0.03)  # a ping or two between bursts
    assert seqs == list(range(1, 321))
    assert [(await bob.next("board:op"))["seq"] for _ in range(320)] == seqs
    listed: list[dict[str, Any]] = []
    while len(expand_merged(listed)) < 320:
        listed += (await carol.next("board:ops"))["ops"]
    assert [op["seq"] for op in expand_merged(listed)] == seqs
    assert len(pongs) >= 3 * 5  # every socket answered pings meanwhile
    assert all(peer.sio.connected for peer in (alice, bob, carol))
    assert not coalesced or all(size > 0 for size in coalesced)


async def test_a_socket_closing_mid_broadcast_is_dropped_quietly(connect, server, caplog):
    caplog.set_level(logging.WARNING)
    alice = await connect("alice")
    bob = await connect("bob")
    carol = await connect("carol")
    room_id = (await alice.create("closing"))["room"]["id"]
    await bob.join(room_id)
    await carol.join(room_id)
    room_server = server.app.room_server
    sio = room_server.sio
    carol_sid = next(sid for sid, s in room_server.sessions.items() if s.identity.name == "carol")
    eio_sid = sio.manager.eio_sid_from_sid(carol_sid, "/")
    handler = sio.environ[eio_sid]["tornado.handler"]
    channel = board_channel(room_id, False)
    # Within one turn of the loop: frames into carol's outgoing bytes, her connection
    # dropped, more frames after it: nothing raises, the others get theirs
    for n in range(3):
        await sio.emit("board:op", {"room_id": room_id, "n": n}, to=channel)
    assert len(handler._outbox) > 0  # written at the end of the turn, not yet
    handler.ws_connection.stream.close()
    for n in range(3, 6):
        await sio.emit("board:op", {"room_id": room_id, "n": n}, to=channel)
    assert [(await bob.next("board:op"))["n"] for _ in range(6)] == list(range(6))
    for _ in range(100):
        if carol_sid not in room_server.sessions:
            break
        await asyncio.sleep(0.05)
    assert carol_sid not in room_server.sessions
    # and a client that goes away while a burst is fanned out
    acks_task = asyncio.ensure_future(burst(alice, room_id, 200, "c"))
    await asyncio.sleep(0.01)
    await bob.sio.eio.disconnect(abort=True)
    assert len(await acks_task) == 200
    problems = [r for r in caplog.records if r.levelno >= logging.ERROR or "Exception" in r.msg]
    assert not problems, [r.getMessage() for r in problems]


@pytest.mark.timeout(60)
async def test_a_drawer_hears_when_its_ink_waits_to_leave_for_a_slow_reader(connect, server):
    """The server's frames to a member wait in its outgoing buffers (the member reads them
    late): the room's drawer hears board:delayed, as for a late tick, then delay_ms 0."""
    alice = await connect("alice", auth={"batch": True})
    room_id = (await alice.create("slow reader"))["room"]["id"]
    reader = await RawSocket.open(
        server, server.jupyter_token, {"client_id": "slow", "name": "slow", "batch": True}
    )
    joined = await reader.ack(await reader.emit("room:join", {"room_id": room_id}))
    assert joined["ok"]
    sio = server.app.room_server.sio
    handler = sio.environ[sio.manager.eio_sid_from_sid(reader.sid, "/")]["tornado.handler"]
    # small kernel buffers both ways, so what the reader does not read stays with the server
    handler.ws_connection.stream.socket.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
    reader.writer.get_extra_info("socket").setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    points = [(float(i), float(i % 7)) for i in range(400)]  # ~5 KB an op
    started = time.monotonic()
    sent = 0
    while time.monotonic() - started < 0.9:  # ~1 MB while the reader reads nothing
        ops = [stroke(f"s{sent + k}", *points) for k in range(4)]
        await alice.ok("board:ops", {"room_id": room_id, "ops": ops})
        sent += 4
        await asyncio.sleep(0.02)
    assert handler.unsent_bytes() > 0  # it backlogged in the server
    seen = 0
    while seen < sent:  # the reader catches up
        message = await asyncio.wait_for(reader.recv(), 10)
        if message.startswith('42["board:ops"'):
            seen += len(json.loads(message[2:])[1]["ops"])
    delayed = await alice.next("board:delayed", timeout=10)
    assert delayed["room_id"] == room_id and delayed["delay_ms"] >= 500
    # (told again if the wait doubles while the reader catches up) then caught up
    while delayed["delay_ms"]:
        delayed = await alice.next("board:delayed", timeout=10)
        assert delayed["delay_ms"] == 0 or delayed["delay_ms"] >= 500
    assert delayed == {"room_id": room_id, "delay_ms": 0}
    reader.close()


async def test_outboxes_of_a_closed_loop_are_forgotten():
    """(tests run a loop each: the per-loop turn of a closed loop goes)"""
    loop = asyncio.new_event_loop()
    loop.close()
    outbox._turns[loop] = outbox._Turn(loop)
    box = Outbox(lambda: None)
    box.add(b"x")
    assert loop not in outbox._turns
    box.flush()  # the stream went: dropped
    assert len(box) == 0


async def test_a_channels_recipients_follow_joins_leaves_and_disconnects(connect, server):
    """The fan-out keeps each channel's recipients (and their sockets' handlers) between
    broadcasts: whoever joins after one gets the next, whoever leaves or goes gets no more."""
    alice = await connect("alice")
    bob = await connect("bob", auth={"batch": True})
    room_id = (await alice.create("recipients"))["room"]["id"]
    await bob.join(room_id)
    manager = server.app.room_server.sio.manager

    async def draw(n: int) -> None:
        await alice.ok("board:op", {"room_id": room_id, "op": stroke(f"s{n}", (n, n))})

    async def seqs(peer: Any, count: int) -> list[int]:
        got: list[int] = []
        while len(got) < count:
            got += [op["seq"] for op in (await peer.next("board:ops"))["ops"]]
        return got

    await draw(1)
    assert await seqs(bob, 1) == [1]
    assert manager._targets  # kept for the next broadcast
    carol = await connect("carol", auth={"batch": True})
    await carol.join(room_id)
    await draw(2)
    assert await seqs(bob, 1) == [2]
    assert await seqs(carol, 1) == [2]  # joined after the channel's recipients were kept
    await carol.ok("room:leave", {"room_id": room_id})
    await bob.disconnect()
    await draw(3)
    dave = await connect("dave", auth={"batch": True})
    await dave.join(room_id)
    await draw(4)
    got: list[int] = []
    while 4 not in got:
        got += await seqs(dave, 1)
    assert set(got) <= {3, 4}  # (3 if its tick was still to go when dave joined)
    await carol.nothing("board:ops", wait=0.2)
    assert bob.drain("board:ops") == []
