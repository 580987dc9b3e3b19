"""Baseline for bench/: a plain python-socketio relay on tornado.

It speaks the subset of the classroom protocol the load generator uses (``room:create``,
``room:join``, ``board:op``) and does only relay work: assign the room's next ``seq``, keep the
op in a plain list (so a late join has a board to send), emit it to the room's other sockets.
No auth, no validation, no rules. Same server settings as ours (tornado, websocket only,
handlers inline per socket).

    python bench/py_relay.py --port 8000
"""

from __future__ import annotations

import argparse
import asyncio
from datetime import datetime, timezone
from typing import Any

import socketio
import tornado.web

sio = socketio.AsyncServer(
    async_mode="tornado",
    transports=["websocket"],
    cors_allowed_origins="*",
    async_handlers=False,
    max_http_buffer_size=256 * 1024,
)
rooms: dict[str, dict[str, Any]] = {}


def _joined(sid: str, room_id: str) -> dict[str, Any]:
    room = rooms[room_id]
    return {
        "ok": True,
        "room": {"id": room_id, "title": room["title"]},
        "you": {"id": sid},
        "members": [],
        "board": {"seq": room["seq"], "ops": room["ops"], "complete": True},
        "chat": [],
    }


@sio.on("room:create")
async def room_create(sid: str, data: Any) -> dict[str, Any]:
    room_id = f"r{len(rooms) + 1}"
    rooms[room_id] = {"title": str((data or {}).get("title", "")), "seq": 0, "ops": []}
    await sio.enter_room(sid, f"room:{room_id}")
    return _joined(sid, room_id)


@sio.on("room:join")
async def room_join(sid: str, data: Any) -> dict[str, Any]:
    room_id = (data or {}).get("room_id")
    if room_id not in rooms:
        return {"ok": False, "error": {"code": "not_found", "message": "no room"}}
    await sio.enter_room(sid, f"room:{room_id}")
    return _joined(sid, room_id)


@sio.on("board:op")
async def board_op(sid: str, data: Any) -> dict[str, Any]:
    room_id = (data or {}).get("room_id")
    room = rooms.get(room_id)
    if room is None:
        return {"ok": False, "error": {"code": "not_found", "message": "no room"}}
    room["seq"] += 1
    ts = datetime.now(timezone.utc).isoformat(timespec="milliseconds")
    op = {"seq": room["seq"], "author": sid, "ts": ts, "op": data.get("op")}
    room["ops"].append(op)
    await sio.emit("board:op", {**op, "room_id": room_id}, to=f"room:{room_id}", skip_sid=sid)
    return {"ok": True, "seq": op["seq"]}


def make_handler(nodelay: bool) -> type:
    base: Any = socketio.get_tornado_handler(sio)
    if not nodelay:
        return base  # type: ignore[no-any-return]

    class Handler(base):  # type: ignore[misc,valid-type]
        async def open(self, *args: Any, **kwargs: Any) -> None:
            self.set_nodelay(True)
            await super().open(*args, **kwargs)

    return Handler


async def main(port: int, nodelay: bool) -> None:
    handler = make_handler(nodelay)
    app = tornado.web.Application([(r"/classroom/socket.io/", handler)])
    app.listen(port, address="127.0.0.1")
    print(f"python relay on {port}", flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--nodelay", action="store_true", help="TCP_NODELAY on each websocket")
    args = parser.parse_args()
    asyncio.run(main(args.port, args.nodelay))
