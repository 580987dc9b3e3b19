"""The client's gap buffer and resync, with disorder forced (issue 17, item 7).

A real server sends the ops; the test hooks the client's catch-all Socket.IO handler (the
public ``sio.on("*", ...)``) to hold back the frame carrying seq 2, so the replica sees seq 3
before seq 2. Then either the held frame is handed to the client's receive path late (the gap
fills), or never (the gap timer must resync, and the resync must bring seq 2).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from jupyter_classroom import Connection
from jupyter_classroom.client import connection as connection_module

from .helpers import stroke, wait_for

HELD_SEQ = 2


class HoldBack:
    """Between the socket and ``Connection._on_event``: holds back the op with HELD_SEQ, and
    notes the replica's (seq, ahead) right after each frame was applied."""

    def __init__(self, client: Connection) -> None:
        self.client = client
        self.held: list[dict[str, Any]] = []
        self.after_frame: list[tuple[int, list[int]]] = []
        client.sio.on("*", self.receive)

    async def receive(self, event: str, data: Any = None) -> None:
        if event == "board:ops" and isinstance(data, dict):
            ops = data.get("ops") or []
            self.held += [op for op in ops if op["seq"] == HELD_SEQ]
            data = {**data, "ops": [op for op in ops if op["seq"] != HELD_SEQ]}
        elif event == "board:op" and isinstance(data, dict) and data.get("seq") == HELD_SEQ:
            self.held.append({k: v for k, v in data.items() if k != "room_id"})
            return
        await self.client._on_event(event, data)
        if isinstance(data, dict) and data.get("room_id") in self.client.rooms:
            room = self.client.rooms[data["room_id"]]
            self.after_frame.append((room.seq, sorted(room.ahead)))


async def draw_three(
    connect: Callable[..., Any], server: Any
) -> tuple[Connection, HoldBack, str, list[str]]:
    drawer = await connect("drawer")
    room_id = (await drawer.create("gaps"))["room"]["id"]
    watcher = Connection(server.url, server.kernel_token, name="watcher")
    await watcher.connect()
    hold = HoldBack(watcher)
    await watcher.join(room_id)
    resyncs: list[str] = []
    watcher.on("resync", lambda data: resyncs.append(data["room_id"]))
    for i in (1, 2, 3):
        await drawer.ok("board:op", {"room_id": room_id, "op": stroke(f"s{i}", (i, i))})
        if i == 1:
            await wait_for(lambda: watcher.rooms[room_id].seq == 1)
    await wait_for(lambda: bool(hold.held) and 3 in watcher.rooms[room_id].ahead)
    return watcher, hold, room_id, resyncs


async def test_an_op_past_a_gap_waits_until_the_gap_fills(server, connect, monkeypatch):
    monkeypatch.setattr(connection_module, "GAP_RESYNC_AFTER", 600.0)  # no resync here
    watcher, hold, room_id, resyncs = await draw_three(connect, server)
    try:
        room = watcher.rooms[room_id]
        # seq 3 came first: it waits past the gap, nothing after seq 1 is applied
        assert (1, [3]) in hold.after_frame
        assert room.seq == 1 and [o["op"]["id"] for o in room.ops] == ["s1"]
        assert list(room.ahead) == [3]
        # seq 2 arrives late, as the server sends it: both apply, in order
        (late,) = hold.held
        await watcher._on_event("board:ops", {"room_id": room_id, "ops": [late]})
        assert room.seq == 3 and room.ahead == {}
        assert [o["seq"] for o in room.ops] == [1, 2, 3]
        assert [o["op"]["id"] for o in room.ops] == ["s1", "s2", "s3"]
        assert room_id not in watcher._gap_timers  # the filled gap's resync is called off
        assert resyncs == []
    finally:
        await watcher.close()


async def test_a_gap_that_stays_open_is_resynced(server, connect, monkeypatch):
    monkeypatch.setattr(connection_module, "GAP_RESYNC_AFTER", 0.3)
    watcher, hold, room_id, resyncs = await draw_three(connect, server)
    try:
        # it waited for seq 2 first (the frame with seq 3 left seq 3 ahead, not applied)
        assert (1, [3]) in hold.after_frame
        # seq 2 never comes live (held back for good): only the resync can bring it
        await wait_for(lambda: resyncs == [room_id], timeout=30)
        room = watcher.rooms[room_id]
        assert room.seq == 3 and room.ahead == {}
        assert [o["seq"] for o in room.ops] == [1, 2, 3]
        assert [o["op"]["id"] for o in room.ops] == ["s1", "s2", "s3"]
        assert [op["op"]["id"] for op in hold.held] == ["s2"]  # not from the live stream
    finally:
        await watcher.close()
