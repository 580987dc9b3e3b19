"""``Connection``: the asyncio client of the room server, bound to one event loop.

It keeps a replica of each joined room (members, board, chat) in step with the server:
board ops are applied strictly in ``seq`` order (an op that arrives ahead of a gap waits for
it; a gap that does not fill is resynced), and after a reconnect every room is rejoined with
``since`` so nothing is lost or applied twice.
"""

from __future__ import annotations

import asyncio
import logging
import os
import uuid
from collections import defaultdict
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import msgspec
import socketio

from ..names import HUB_TOKEN_ENV, SOCKET_PATH, TOKEN_ENV, URL_ENV
from ..protocol import MAX_BATCH_OPS, MAX_FRAME, Event, Op
from ..tasks import TaskSet
from .lesson import LessonRequests
from .notebooks import NotebookRequests

log = logging.getLogger("jupyter_classroom.client")

GAP_RESYNC_AFTER = 2.0  # seconds a seq gap may stay open before the room is resynced
RETRY_AFTER = 1.0  # seconds before a resync that failed for a passing reason is tried again
GONE = frozenset({"not_found", "forbidden", "not_member", "bad_password"})

Listener = Callable[[dict[str, Any]], Any]
# listeners of these need the board live, whatever follow_board asked
BOARD_EVENTS = frozenset({"board:op", "board:cursor", "board:reset", "*"})


class ClassroomError(Exception):
    """The server refused a request: ``code`` is the protocol's error code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


@dataclass
class RoomState:
    """The client's replica of one joined room."""

    info: dict[str, Any]
    you: dict[str, Any]
    members: dict[str, dict[str, Any]]
    ops: list[dict[str, Any]]
    seq: int
    chat: list[dict[str, Any]]
    ahead: dict[int, dict[str, Any]] = field(default_factory=dict)  # seq -> op past a gap
    # whether this socket takes the board live (else `ops` is as of the last board:sync)
    live: bool = True
    # how late the server sends this room's ink (`board:delayed`, to drawers; 0: on time)
    delay_ms: int = 0
    hands: list[dict[str, Any]] = field(default_factory=list)  # the raised hands, in order
    breakouts: dict[str, Any] | None = None  # open breakouts: {breakouts, ends_at}
    # the recalled breakouts whose boards the room keeps (read with breakout_board), last last
    kept_breakouts: list[dict[str, Any]] = field(default_factory=list)
    # the room's shared notebook (a NotebookSnapshot, kept current; None: no share) and the
    # members allowed to share besides the host (client/notebooks.py)
    notebook: dict[str, Any] | None = None
    sharers: list[str] = field(default_factory=list)
    notebook_ahead: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    notebook_syncing: bool = False
    # the room's video: "mesh" or "sfu" (rtc:mode), and the host's lecture controls
    # {students_publish, lecture} (rtc:policy)
    video_mode: str = "mesh"
    video_policy: dict[str, bool] = field(
        default_factory=lambda: {"students_publish": True, "lecture": False}
    )

    @property
    def id(self) -> str:
        return str(self.info["id"])

    @property
    def is_host(self) -> bool:
        return bool(self.info["host"]["id"] == self.you["id"])


def _endpoint(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    base = parts.path if parts.path.endswith("/") else parts.path + "/"
    return f"{parts.scheme}://{parts.netloc}".lower(), f"{base}{SOCKET_PATH}"


def resolve_endpoint(url: str | None, token: str | None) -> tuple[str, str, str | None]:
    """(origin, socket.io path, token) from arguments or the kernel's environment.

    The environment's secrets ($JUPYTER_CLASSROOM_TOKEN, $JUPYTER_CLASSROOM_HUB_TOKEN) go
    only to the server the environment names: a ``url`` elsewhere gets the ``token`` given
    with it, or none.
    """
    env_url = os.environ.get(URL_ENV)
    url = url or env_url
    if not url:
        raise ClassroomError(
            "unauthorized",
            f"no server given and ${URL_ENV} is not set: pass url= (and token=), or run "
            "inside a kernel started by a Jupyter server with jupyter_classroom enabled",
        )
    origin, path = _endpoint(url)
    if token is None and env_url and _endpoint(env_url) == (origin, path):
        token = os.environ.get(TOKEN_ENV) or os.environ.get(HUB_TOKEN_ENV)
    return origin, path, token


def _frames(ops: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """Ops cut into ``board:ops`` messages within the protocol's count and frame limits."""
    frames: list[list[dict[str, Any]]] = [[]]
    size = 0
    for op in ops:
        op_size = len(msgspec.json.encode(op))
        if frames[-1] and (len(frames[-1]) == MAX_BATCH_OPS or size + op_size > MAX_FRAME // 2):
            frames.append([])
            size = 0
        frames[-1].append(op)
        size += op_size
    return [frame for frame in frames if frame]


def expand_merged(ops: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A `board:ops` list with each merged extend (``merged``: the earlier extends of its
    stroke the server put into it) back as one extend per seq, as the server stores them,
    in seq order (docs/protocol.md, "Merged extends")."""
    if not any("merged" in board_op for board_op in ops):
        return ops
    out: list[dict[str, Any]] = []
    for board_op in ops:
        parts = board_op.get("merged")
        if not parts:
            out.append(board_op)
            continue
        op = board_op["op"]
        points, start = op["points"], 0
        last = {k: v for k, v in board_op.items() if k != "merged"}
        for part in parts:
            end = start + int(part["points"])
            piece = {**op, "id": part["id"], "points": points[start:end]}
            out.append({**last, "seq": part["seq"], "op": piece})
            start = end
        out.append({**last, "op": {**op, "points": points[start:]}})
    out.sort(key=lambda board_op: board_op["seq"])
    return out


class Connection(LessonRequests, NotebookRequests):
    """One socket to the room server, with the rooms it has joined."""

    def __init__(
        self,
        url: str | None = None,
        token: str | None = None,
        *,
        name: str | None = None,
        headers: dict[str, str] | None = None,
        client_id: str | None = None,
        timeout: float = 15.0,
    ) -> None:
        self.origin, self.socket_path, token = resolve_endpoint(url, token)
        self.timeout = timeout
        self.headers = dict(headers or {})
        self._refusal = ""  # the server's reason, when it refuses this socket
        # whether this user may room:create, as the last room:list said (None: not known)
        self.can_create: bool | None = None
        # batch: take a room's ops as `board:ops` lists (fewer frames for the server and us)
        self.auth: dict[str, Any] = {"client_id": client_id or uuid.uuid4().hex, "batch": True}
        if token:
            self.auth["token"] = token
        if name:
            self.auth["name"] = name
        self.rooms: dict[str, RoomState] = {}
        self._listeners: dict[str, list[Listener]] = defaultdict(list)
        self._joining: set[str] = set()
        self._on_demand: set[str] = set()  # rooms whose board is fetched when read
        self._gap_timers: dict[str, asyncio.TimerHandle] = {}
        self._connected_once = False
        self._tasks = TaskSet("client task", log)
        self.sio = socketio.AsyncClient(
            reconnection=True,
            reconnection_delay=0.5,
            reconnection_delay_max=3,
            handle_sigint=False,
            # a late joiner's ack carries the whole board: lift aiohttp's 4 MB message cap
            websocket_extra_options={"max_msg_size": 1 << 30},
        )
        self.sio.on("connect", self._on_connect)
        self.sio.on("connect_error", self._on_connect_error)
        self.sio.on("disconnect", self._on_disconnect)
        self.sio.on("*", self._on_event)

    # ---------------------------------------------------------------------------------------
    # connection

    async def connect(self) -> None:
        try:
            await self.sio.connect(
                self.origin,
                socketio_path=self.socket_path,
                transports=["websocket"],
                auth=self.auth,
                headers=self.headers,
                wait_timeout=self.timeout,
            )
        except socketio.exceptions.ConnectionError as exc:
            reason = self._refusal or str(exc)
            if not self.auth.get("token") and not self.headers and os.environ.get(URL_ENV):
                reason += (
                    f" (this kernel has no classroom token: ${TOKEN_ENV} and ${HUB_TOKEN_ENV} "
                    "are unset; on JupyterHub the hub config gives it, see docs/jupyterhub.md)"
                )
            raise ClassroomError(
                "unauthorized", f"cannot connect to {self.origin}: {reason}"
            ) from None

    async def close(self) -> None:
        for timer in self._gap_timers.values():
            timer.cancel()
        await self.sio.disconnect()

    @property
    def connected(self) -> bool:
        return bool(self.sio.connected)

    async def _on_connect(self) -> None:
        if self._connected_once:  # a reconnect: catch up on every room we were in
            for room_id in list(self.rooms):
                self._spawn(self._resync(room_id))
        self._connected_once = True
        await self._notify("connect", {})

    async def _on_connect_error(self, data: Any = None) -> None:
        # a refusal carries {message, data: {code, message}}: keep the sentence for the error
        if isinstance(data, dict) and isinstance(data.get("message"), str):
            self._refusal = data["message"]

    async def _on_disconnect(self, *args: Any) -> None:
        await self._notify("disconnect", {})

    def on(self, event: str, listener: Listener) -> None:
        """Call ``listener(payload)`` for each server event ``event`` (after the replica is
        updated); also "connect", "disconnect" and "*" (every event, as ``{event, data}``)."""
        self._listeners[event].append(listener)

    def off(self, event: str, listener: Listener) -> None:
        if listener in self._listeners.get(event, []):
            self._listeners[event].remove(listener)

    async def _notify(self, event: str, data: dict[str, Any]) -> None:
        calls = [(listener, data) for listener in self._listeners.get(event, [])]
        calls += [(listener, {"event": event, "data": data}) for listener in self._listeners["*"]]
        for listener, argument in calls:
            try:
                result = listener(argument)
                if asyncio.iscoroutine(result):
                    await result
            except Exception:
                log.exception("classroom listener for %s failed", event)

    # ---------------------------------------------------------------------------------------
    # requests

    async def request(self, event: str, payload: dict[str, Any]) -> dict[str, Any]:
        """Send one event and return its ack (without ``ok``); raise ClassroomError."""
        try:
            ack = await self.sio.call(event, payload, timeout=self.timeout)
        except socketio.exceptions.TimeoutError:
            raise ClassroomError("internal", f"no answer to {event} in {self.timeout} s") from None
        except socketio.exceptions.BadNamespaceError:
            raise ClassroomError("unauthorized", "not connected to the room server") from None
        if not isinstance(ack, dict) or not ack.get("ok"):
            error = ack.get("error", {}) if isinstance(ack, dict) else {}
            raise ClassroomError(error.get("code", "internal"), error.get("message", str(ack)))
        ack = dict(ack)
        ack.pop("ok")
        return ack

    async def list_rooms(self) -> list[dict[str, Any]]:
        ack = await self.request(Event.ROOM_LIST, {})
        if isinstance(ack.get("can_create"), bool):  # servers before 0.2 do not say
            self.can_create = ack["can_create"]
        return list(ack["rooms"])

    async def create_room(
        self,
        title: str,
        password: str | None = None,
        *,
        listed: bool = True,
        max_members: int | None = None,
    ) -> RoomState:
        payload: dict[str, Any] = {"title": title, "password": password, "listed": listed}
        if max_members is not None:
            payload["max_members"] = max_members
        return self._adopt(await self.request(Event.ROOM_CREATE, payload))

    async def join(self, room_id: str, password: str | None = None) -> RoomState:
        payload: dict[str, Any] = {"room_id": room_id}
        if password is not None:
            payload["password"] = password
        self._joining.add(room_id)
        try:
            return self._adopt(await self.request(Event.ROOM_JOIN, payload))
        finally:
            self._joining.discard(room_id)

    async def leave(self, room_id: str) -> None:
        await self.request(Event.ROOM_LEAVE, {"room_id": room_id})
        self._forget(room_id)

    async def say(self, room_id: str, text: str, to: str | None = None) -> dict[str, Any]:
        payload: dict[str, Any] = {"room_id": room_id, "text": text}
        if to is not None:
            payload["to"] = to
        message = (await self.request(Event.CHAT_SEND, payload))["message"]
        return dict(message)

    async def op(self, room_id: str, op: dict[str, Any]) -> int:
        """Put one op on the board; returns its seq (the replica has it too)."""
        if "id" not in op:
            op = {**op, "id": uuid.uuid4().hex[:16]}
        seq = int((await self.request(Event.BOARD_OP, {"room_id": room_id, "op": op}))["seq"])
        self._mine(room_id, op, seq)
        return seq

    async def ops(self, room_id: str, ops: list[dict[str, Any]]) -> list[int | ClassroomError]:
        """Put several ops in one message (``board:ops``, one ack): for each, its seq or why
        the server refused it. Each is ruled on as if sent alone, in order."""
        ops = [op if "id" in op else {**op, "id": uuid.uuid4().hex[:16]} for op in ops]
        outcomes: list[int | ClassroomError] = []
        for chunk in _frames(ops):
            ack = await self.request(Event.BOARD_OPS, {"room_id": room_id, "ops": chunk})
            for op, result in zip(chunk, ack["results"], strict=True):
                if "seq" in result:
                    outcomes.append(int(result["seq"]))
                    self._mine(room_id, op, int(result["seq"]))
                else:
                    error = result["error"]
                    outcomes.append(ClassroomError(error["code"], error["message"]))
        return outcomes

    def _mine(self, room_id: str, op: dict[str, Any], seq: int) -> None:
        """Our own accepted op into the replica, as the server stores it (defaults filled
        in), like everyone else's replica has it."""
        room = self.rooms.get(room_id)
        if room is not None:
            stored = msgspec.json.decode(msgspec.json.encode(msgspec.convert(op, Op)))
            self._receive_op(room, {"seq": seq, "author": room.you["id"], "ts": "", "op": stored})

    async def cursor(self, room_id: str, x: float, y: float) -> None:
        await self.sio.emit(Event.BOARD_CURSOR, {"room_id": room_id, "x": x, "y": y})

    # ---------------------------------------------------------------------------------------
    # the replica

    def _adopt(self, ack: dict[str, Any]) -> RoomState:
        board = ack["board"]
        room = RoomState(
            info=ack["room"],
            you=ack["you"],
            members={m["id"]: m for m in ack["members"]},
            ops=list(board["ops"]),
            seq=int(board["seq"]),
            chat=list(ack["chat"]),
            hands=list(ack.get("hands") or []),
            breakouts=ack.get("breakouts"),
            kept_breakouts=list(ack.get("kept_breakouts") or []),
            video_mode=str((ack.get("video") or {}).get("mode", "mesh")),
        )
        room.video_policy.update(ack.get("video_policy") or {})
        old = self.rooms.get(room.id)
        if old is not None:  # joined again: keep the ops that arrived meanwhile
            room.ahead = {s: o for s, o in old.ahead.items() if s > room.seq}
        self.rooms[room.id] = room
        if old is not None:  # (the notebook replica, fetched again only when behind)
            room.notebook, room.notebook_ahead = old.notebook, old.notebook_ahead
        self._notebook_adopt(room, ack)
        self._advance(room)
        return room

    async def _resync(self, room_id: str) -> None:
        """Rejoin with ``since``: only the ops we lack, or the whole board."""
        self._gap_timers.pop(room_id, None)
        room = self.rooms.get(room_id)
        if room is None:
            return
        try:
            ack = await self.request(Event.ROOM_JOIN, {"room_id": room_id, "since": room.seq})
        except ClassroomError as exc:
            if exc.code in GONE:  # the room closed, or we were kicked: it is over
                log.warning("classroom: could not rejoin %s: %s", room_id, exc)
                self._forget(room_id)
                await self._notify(Event.ROOM_CLOSED, {"room_id": room_id, "reason": exc.message})
            elif self.connected:  # a passing fault (a timeout, a busy server): try again soon
                loop = asyncio.get_running_loop()
                loop.call_later(RETRY_AFTER, lambda: self._spawn(self._resync(room_id)))
            return  # disconnected: the next connect resyncs every room

        room.info, room.you = ack["room"], ack["you"]
        room.members = {m["id"]: m for m in ack["members"]}
        room.chat = list(ack["chat"])
        room.hands = list(ack.get("hands") or [])
        room.breakouts = ack.get("breakouts")
        room.kept_breakouts = list(ack.get("kept_breakouts") or [])
        self._notebook_adopt(room, ack)
        room.live = True  # a join takes the board live
        await self._apply_board(room, ack["board"])
        await self._notify("resync", {"room_id": room_id})
        await self._apply_follow(room)

    async def _apply_board(self, room: RoomState, board: dict[str, Any]) -> None:
        """A board slice (a join's, a resync's or a board:sync's) into the replica."""
        if board["complete"]:
            room.ops, room.seq = list(board["ops"]), int(board["seq"])
            room.ahead = {s: o for s, o in room.ahead.items() if s > room.seq}
            await self._notify("board:reset", {"room_id": room.id})
        else:
            for board_op in board["ops"]:
                self._receive_op(room, board_op)
        self._advance(room)

    # ---------------------------------------------------------------------------------------
    # the board on demand

    def _wants_live(self, room_id: str) -> bool:
        listening = any(self._listeners.get(event) for event in BOARD_EVENTS)
        return listening or room_id not in self._on_demand

    async def follow_board(self, room_id: str, live: bool) -> None:
        """Whether this socket takes the room's board live. ``live=False`` (a kernel whose
        board the browser draws) leaves ``ops`` as of the last :meth:`sync_board`, so the
        room's fan-out does not pay for this socket; a listener of board events keeps it
        live all the same."""
        if live:
            self._on_demand.discard(room_id)
        else:
            self._on_demand.add(room_id)
        room = self.rooms.get(room_id)
        if room is not None:
            await self._apply_follow(room)

    async def _apply_follow(self, room: RoomState) -> None:
        live = self._wants_live(room.id)
        if live != room.live:
            await self.request(Event.BOARD_FOLLOW, {"room_id": room.id, "live": live})
            room.live = live
            if live:  # what was drawn while we did not follow
                await self.sync_board(room.id)

    async def follow_listened_boards(self) -> None:
        """After a board listener was added: rooms fetched on demand go live."""
        for room in list(self.rooms.values()):
            await self._apply_follow(room)

    async def sync_board(self, room_id: str) -> RoomState:
        """Bring the room's replica up to date with the server (``board:sync``)."""
        room = self.rooms[room_id]
        ack = await self.request(Event.BOARD_SYNC, {"room_id": room_id, "since": room.seq})
        await self._apply_board(room, ack["board"])
        return room

    def _receive_op(self, room: RoomState, board_op: dict[str, Any]) -> None:
        if board_op["seq"] > room.seq:
            room.ahead[board_op["seq"]] = board_op
            self._advance(room)

    async def _receive_batch(self, room: RoomState, ops: list[dict[str, Any]]) -> None:
        """A `board:ops` list: listeners hear each op new to us as a `board:op`, except our
        own (the list carries them too; we have them, or their acks are on the way)."""
        you = room.you["id"]
        for board_op in expand_merged(ops):
            seq = board_op["seq"]
            if seq <= room.seq or seq in room.ahead:
                continue
            self._receive_op(room, board_op)
            if board_op["author"] != you:
                await self._notify(Event.BOARD_OP, {**board_op, "room_id": room.id})

    def _advance(self, room: RoomState) -> None:
        while room.seq + 1 in room.ahead:
            room.seq += 1
            room.ops.append(room.ahead.pop(room.seq))
        timer = self._gap_timers.pop(room.id, None)
        if timer is not None:
            timer.cancel()
        # (not following live, our own acked ops run ahead of the replica: no gap to chase)
        if room.ahead and room.live and room.id not in self._joining:
            loop = asyncio.get_running_loop()
            self._gap_timers[room.id] = loop.call_later(
                GAP_RESYNC_AFTER, lambda: self._spawn(self._resync(room.id))
            )

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        """Run a background task, keeping a reference until it ends."""
        self._tasks.spawn(coro)

    def _forget(self, room_id: str) -> None:
        self.rooms.pop(room_id, None)
        self._on_demand.discard(room_id)
        timer = self._gap_timers.pop(room_id, None)
        if timer is not None:
            timer.cancel()

    async def _on_event(self, event: str, data: Any = None) -> None:
        if not isinstance(data, dict):
            return
        room = self.rooms.get(data.get("room_id", ""))
        if event == Event.BOARD_OPS:
            if room is not None:
                await self._receive_batch(room, data.get("ops") or [])
            return
        if event == Event.BOARD_DELAYED and room is not None:
            room.delay_ms = int(data.get("delay_ms") or 0)
        if event == Event.BOARD_OP and room is not None:
            self._receive_op(room, {k: v for k, v in data.items() if k != "room_id"})
        elif event == Event.CHAT_MESSAGE and room is not None:
            room.chat.append(data)
        elif event == Event.ROOM_MEMBER_JOINED and room is not None:
            room.members[data["member"]["id"]] = data["member"]
            room.info["members"] = len(room.members)
        elif event == Event.ROOM_MEMBER_LEFT and room is not None:
            room.members.pop(data["member_id"], None)
            room.info["members"] = len(room.members)
            if data["member_id"] == room.you["id"]:
                self._forget(room.id)  # kicked, or our own leave seen from another socket
        elif event == Event.ROOM_UPDATED:
            room = self.rooms.get(data["room"]["id"])
            if room is not None:
                room.info = data["room"]
                for member in room.members.values():
                    member["role"] = "host" if member["id"] == room.info["host"]["id"] else "member"
                room.you["role"] = room.members.get(room.you["id"], room.you)["role"]
        elif room is not None and event.startswith("notebook:"):
            self._notebook_event(room, event, data)
        elif room is not None and event.startswith(("hand:", "breakout:", "rtc:")):
            self._lesson_event(room, event, data)
        elif event == Event.ROOM_CLOSED and room is not None:
            self._forget(room.id)
        await self._notify(event, data)
