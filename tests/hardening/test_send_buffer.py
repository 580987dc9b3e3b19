"""Issue 16, item 1: a large board sent to clients that do not read it.

Join acks count against the send buffer (a socket, or a person's sockets, whose earlier
board is still unsent gets no further copy; whole-member attaches too), a socket that stops
reading is dropped even when nothing more is sent to it, and a late join hands out every op
of a big board exactly, a large one as a fragmented websocket message.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from typing import Any

import psutil
import pytest

from jupyter_classroom.server.handler import FRAGMENT_CHARS
from jupyter_classroom.server.quotas import unsent_bytes

from .figures import record
from .identity import token_of
from .rawsocket import RawSocket

MB = 1024 * 1024
PROVIDER = "tests.hardening.identity.NamedTokenUsers"
BOARD_IMAGES = 80  # of 200 KB: a 16 MB board


@pytest.fixture
def jp_server_config(classroom_config: dict[str, Any]) -> dict[str, Any]:
    return {
        "ServerApp": {
            "jpserver_extensions": {"jupyter_classroom": True},
            "identity_provider_class": PROVIDER,
        },
        "ClassroomApp": classroom_config,
    }


CONFIG = {
    "max_send_buffer": 1 * MB,
    "slow_grace": 0.5,
    "max_board_bytes": 20 * MB,
    "max_image_bytes_per_member": 0,
    "bytes_per_second": 1e9,
    "bytes_burst": 1e9,
}


async def big_board(server: Any) -> str:
    """A room whose board holds BOARD_IMAGES images of 200 KB, drawn by user 'host'."""
    host = await RawSocket.open(server, token_of("host"), {"client_id": "host"})
    created = await host.ack(await host.emit("room:create", {"title": "big"}))
    room_id: str = created["room"]["id"]
    src = "data:image/png;base64," + "A" * (200 * 1024 - 22)
    for i in range(BOARD_IMAGES):
        op = {"type": "image", "id": f"i{i}", "x": 0, "y": 0, "w": 9, "h": 9, "src": src}
        assert (await host.ack(await host.emit("board:op", {"room_id": room_id, "op": op})))["ok"]
    return room_id


@pytest.mark.timeout(120)
@pytest.mark.parametrize("classroom_config", [CONFIG])
async def test_join_ack_is_not_copied_while_unsent(server, classroom_config):
    room_id = await big_board(server)
    sio = server.app.room_server.sio
    reader = await RawSocket.open(server, token_of("member"), {"client_id": "reader"})
    ids = [await reader.emit("room:join", {"room_id": room_id}) for _ in range(4)]
    # the server answers the four joins while the client reads nothing
    deadline = time.monotonic() + 20
    held = 0
    while time.monotonic() < deadline:
        await asyncio.sleep(0.2)
        now = unsent_bytes(sio, reader.sid)
        if now == held and now > 0:
            break
        held = now
    acks = [await reader.ack(ack_id) for ack_id in ids]
    assert acks[0]["ok"] and len(acks[0]["board"]["ops"]) == BOARD_IMAGES
    assert [a["error"]["code"] for a in acks[1:]] == ["rate_limited"] * 3
    assert "join again" in acks[1]["error"]["message"]
    record("join_ack_copies", board_mb=16, joins_sent=4, boards_sent=1,
           unsent_mb_while_not_reading=round(held / MB, 1))  # fmt: skip
    reader.close()


@pytest.mark.timeout(120)
@pytest.mark.parametrize("classroom_config", [CONFIG])
async def test_ten_sockets_of_one_user_that_never_read(server, classroom_config):
    room_id = await big_board(server)
    sio = server.app.room_server.sio
    process = psutil.Process(os.getpid())
    rss_before = process.memory_info().rss
    readers = [
        await RawSocket.open(server, token_of("member"), {"client_id": f"r{i}"}) for i in range(10)
    ]
    ids = [await r.emit("room:join", {"room_id": room_id}) for r in readers]
    await asyncio.sleep(1.0)  # the server answers; nobody reads
    holding = {r.sid: unsent_bytes(sio, r.sid) for r in readers}
    held = sum(holding.values())
    stuck = {sid for sid, unsent in holding.items() if unsent > CONFIG["max_send_buffer"]}
    assert stuck  # some got the board (and read none of it)
    rss_peak = process.memory_info().rss
    # the person's sockets together hold at most twice the largest board (and one more ack)
    assert held <= 2 * CONFIG["max_board_bytes"] + 17 * MB
    # a socket that reads nothing while nothing more is sent to it is still dropped (the
    # ones refused hold nothing and stay)
    waited_from = time.monotonic()
    while stuck & set(server.app.room_server.sessions):
        assert time.monotonic() < waited_from + 15, "sockets that never read were kept"
        await asyncio.sleep(0.2)
    dropped_after = time.monotonic() - waited_from + 1.0  # since the joins were sent
    codes = []
    for r, ack_id in zip(readers, ids, strict=True):
        try:
            ack = await asyncio.wait_for(r.ack(ack_id), 10)
            codes.append("ok" if ack["ok"] else ack["error"]["code"])
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.TimeoutError):
            codes.append("dropped")
        r.close()
    assert "rate_limited" in codes
    record("ten_silent_readers", board_mb=16, sockets=10, joins_answered_with_board=codes.count("ok"),
           refused=codes.count("rate_limited"), unsent_mb=round(held / MB, 1),
           rss_growth_mb=round((rss_peak - rss_before) / MB, 1),
           all_dropped_within_s=round(dropped_after, 1))  # fmt: skip


@pytest.mark.parametrize("classroom_config", [{"ops_per_second": 10_000}])
async def test_late_join_of_a_big_board_is_exact(server, classroom_config):
    """The join ack of a board past the size that is encoded in slices holds exactly the
    board's ops (compare the store's own list)."""
    host = await RawSocket.open(server, token_of("host"), {"client_id": "h"})
    room_id = (await host.ack(await host.emit("room:create", {"title": "exact"})))["room"]["id"]
    for i in range(1200):
        kind = i % 3
        if kind == 0:
            op: dict[str, Any] = {"type": "stroke", "id": f"s{i}", "points": [[i, 1.5], [2, 3]],
                                  "color": "#102030", "width": 2}  # fmt: skip
        elif kind == 1:
            op = {"type": "text", "id": f"t{i}", "x": 1, "y": 2, "text": 'é"\\\n<b>',
                  "color": "#000000", "size": 12}  # fmt: skip
        else:
            op = {"type": "erase", "id": f"e{i}", "target": f"s{i - 2}"}
        assert (await host.ack(await host.emit("board:op", {"room_id": room_id, "op": op})))["ok"]
    late = await RawSocket.open(server, token_of("member"), {"client_id": "late"})
    board = (await late.ack(await late.emit("room:join", {"room_id": room_id})))["board"]
    stored = (await server.app.store.board(room_id)).ops
    assert board["ops"] == json.loads(json.dumps(stored))  # (the store keeps points as tuples)
    assert board["seq"] == 1200 and board["complete"] is True
    host.close()
    late.close()


async def settled(sio: Any, sockets: list[RawSocket]) -> int:
    """Wait until what the server holds unsent for ``sockets`` stops changing (it has
    answered what they asked and they read nothing); returns that total."""
    deadline = time.monotonic() + 20
    held, steady = -1, 0
    while time.monotonic() < deadline and steady < 5:
        await asyncio.sleep(0.2)
        now = sum(unsent_bytes(sio, s.sid) for s in sockets)
        steady = steady + 1 if now == held and now > 0 else 0
        held = now
    return held


ATTACH_CONFIG = {**CONFIG, "slow_grace": 60, "tickets_per_second": 100, "ticket_burst": 100}
ATTACHES = 8  # of a 16 MB board: ~130 MB, three times what the person may hold unsent


@pytest.mark.timeout(120)
@pytest.mark.parametrize("classroom_config", [ATTACH_CONFIG])
async def test_concurrent_whole_member_attaches_of_one_person(server, classroom_config):
    """``room:attach`` with ``board: true`` hands out the board as a join does: attaches of
    one person sent at once are checked one after the other, so the person's sockets hold at
    most twice ``max_board_bytes`` unsent, however many attach together."""
    room_id = await big_board(server)
    sio = server.app.room_server.sio
    member = await RawSocket.open(server, token_of("member"), {"client_id": "m"})
    assert (await member.ack(await member.emit("room:join", {"room_id": room_id})))["ok"]
    tickets = []
    for _ in range(ATTACHES):
        issued = await member.ack(await member.emit("room:ticket", {"room_id": room_id}))
        tickets.append(issued["ticket"])
    pages = [
        await RawSocket.open(server, token_of("member"), {"client_id": f"p{i}"})
        for i in range(ATTACHES)
    ]
    attaches = [{"ticket": ticket, "board": True} for ticket in tickets]
    ids = await asyncio.gather(
        *(page.emit("room:attach", a) for page, a in zip(pages, attaches, strict=True))
    )
    held = await settled(sio, pages)  # the server answers them all; nobody reads
    codes = []
    for page, ack_id in zip(pages, ids, strict=True):
        ack = await page.ack(ack_id)
        codes.append("ok" if ack["ok"] else ack["error"]["code"])
        if ack["ok"]:
            assert len(ack["board"]["ops"]) == BOARD_IMAGES
        page.close()
    # 16 MB boards (less what the kernel's buffers took: ~6 MB each here): a few fit under
    # twice max_board_bytes, the rest are refused (without the per-person lock every attach
    # passed the check before any board was queued, and all were answered with the board)
    assert "rate_limited" in codes, codes
    record("concurrent_attaches", board_mb=16, attaches=len(pages),
           answered_with_board=codes.count("ok"), refused=codes.count("rate_limited"),
           unsent_mb=round(held / MB, 1))  # fmt: skip
    member.close()


@pytest.mark.timeout(120)
@pytest.mark.parametrize("classroom_config", [CONFIG])
async def test_a_big_board_arrives_in_frames_that_reassemble(server, classroom_config):
    """A late join's ack past ``FRAGMENT_CHARS`` goes out a frame per turn of the loop, as
    one fragmented websocket message (RFC 6455, 5.4) that the client reassembles exactly.
    (The tornado internals this relies on: tests/test_dependency_internals.py.)"""
    room_id = await big_board(server)
    late = await RawSocket.open(server, token_of("member"), {"client_id": "late"})
    handler = server.app.room_server.sio.get_environ(late.sid)["tornado.handler"]
    assert handler.ws_connection._compressor is None  # (compression off: see handler.py)
    ack_id = await late.emit("room:join", {"room_id": room_id})
    ack = await late.ack(ack_id)
    assert late.frames >= 15 * MB // FRAGMENT_CHARS, late.frames  # (a board of 15.6 MB)
    stored = (await server.app.store.board(room_id)).ops
    assert ack["board"]["ops"] == json.loads(json.dumps(stored))
    # what was sent after it arrives whole, after it
    assert (await late.ack(await late.emit("room:list", {})))["ok"]
    assert late.frames == 1
    late.close()
