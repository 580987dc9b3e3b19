"""``Client``: the notebook-friendly client, running on its own thread's event loop.

A kernel's own event loop is blocked while a cell runs (and ipykernel 7 starves background
tasks), so the socket lives on a private loop in a daemon thread: remote events keep arriving
and listeners keep firing while the user's cell computes. Sync methods block the caller until
the server answers; ``client.aio`` offers the same methods as coroutines for async code.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import threading
from collections.abc import Awaitable, Callable, Coroutine
from concurrent.futures import Future
from typing import Any, TypeVar

from .connection import BOARD_EVENTS, ClassroomError, Connection, Listener, RoomState

T = TypeVar("T")


class _Loop:
    """An event loop running forever in a daemon thread."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(
            target=self.loop.run_forever, name="jupyter-classroom-client", daemon=True
        )
        self.thread.start()

    def submit(self, coro: Coroutine[Any, Any, T]) -> Future[T]:
        return asyncio.run_coroutine_threadsafe(coro, self.loop)

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=5)


class _AsyncFacade:
    """``await client.aio.join(...)``: the Client's methods as coroutines on any loop."""

    def __init__(self, client: Client) -> None:
        self._client = client

    def __getattr__(self, name: str) -> Callable[..., Awaitable[Any]]:
        method = getattr(self._client, f"_{name}")

        async def call(*args: Any, **kwargs: Any) -> Any:
            return await asyncio.wrap_future(self._client._loop.submit(method(*args, **kwargs)))

        return call


class Client:
    """A member of classroom rooms, from Python.

    ``Client()`` inside a kernel started by a Jupyter server with jupyter_classroom needs no
    arguments; elsewhere pass ``url`` (the Jupyter server's URL, with its base path) and
    ``token`` (the kernel token, the server's Jupyter token, or on JupyterHub a hub token
    limited to the classroom service; sent in the Socket.IO auth payload) or ``jupyter_token``
    (sent as the ``Authorization`` header). The environment's tokens go only to the server
    ``$JUPYTER_CLASSROOM_URL`` names, never to another ``url``.
    """

    def __init__(
        self,
        url: str | None = None,
        token: str | None = None,
        *,
        name: str | None = None,
        jupyter_token: str | None = None,
        timeout: float = 15.0,
    ) -> None:
        headers = {"Authorization": f"token {jupyter_token}"} if jupyter_token else None
        self.timeout = timeout
        self._loop = _Loop()
        self._room_id: str | None = None
        self.aio = _AsyncFacade(self)
        try:
            self.connection = self._call(self._make(url, token, name, headers, timeout))
        except BaseException:
            self._loop.stop()
            raise

    @staticmethod
    async def _make(
        url: str | None, token: str | None, name: str | None, headers: Any, timeout: float
    ) -> Connection:
        # One kernel, one name, one member: running a cell again (or reloading the page and
        # re-running it) makes a new Client that is the same member, not a second one.
        client_id = hashlib.sha256(f"{os.getpid()}:{name or ''}".encode()).hexdigest()[:32]
        connection = Connection(
            url, token, name=name, headers=headers, timeout=timeout, client_id=client_id
        )
        await connection.connect()
        return connection

    def on_own_thread(self) -> bool:
        """Whether the caller runs on the client's thread (in a listener)."""
        return threading.current_thread() is self._loop.thread

    def _call(self, coro: Coroutine[Any, Any, T]) -> T:
        if self.on_own_thread():
            # A listener (it runs on this thread) waiting for the loop it blocks would hang
            # until the timeout: say so at once.
            coro.close()
            raise RuntimeError(
                "a Client method called from a listener would wait for the loop it is "
                "blocking: await client.aio.<method>(...) inside an async listener, or call it "
                "from another thread"
            )
        return self._loop.submit(coro).result(self.timeout + 5)

    # ---------------------------------------------------------------------------------------
    # the current room

    @property
    def room(self) -> RoomState:
        """The room joined last (the default for say, op and leave)."""
        if self._room_id is None or self._room_id not in self.connection.rooms:
            raise ClassroomError("not_member", "join or create a room first")
        return self.connection.rooms[self._room_id]

    def _target(self, room_id: str | None) -> str:
        return room_id or self.room.id

    # ---------------------------------------------------------------------------------------
    # coroutines behind both APIs (run on the client's loop)

    async def _list_rooms(self) -> list[dict[str, Any]]:
        return await self.connection.list_rooms()

    async def _create_room(
        self, title: str, password: str | None = None, **kwargs: Any
    ) -> RoomState:
        room = await self.connection.create_room(title, password, **kwargs)
        self._room_id = room.id
        return room

    async def _join(self, room_id: str, password: str | None = None) -> RoomState:
        room = await self.connection.join(room_id, password)
        self._room_id = room.id
        return room

    async def _leave(self, room_id: str | None = None) -> None:
        await self.connection.leave(self._target(room_id))

    async def _say(
        self, text: str, to: str | None = None, room_id: str | None = None
    ) -> dict[str, Any]:
        return await self.connection.say(self._target(room_id), text, to)

    async def _op(self, op: dict[str, Any], room_id: str | None = None) -> int:
        return await self.connection.op(self._target(room_id), op)

    async def _request(self, event: str, payload: dict[str, Any]) -> dict[str, Any]:
        return await self.connection.request(event, payload)

    async def _close(self) -> None:
        await self.connection.close()

    # ---------------------------------------------------------------------------------------
    # the sync API

    def list_rooms(self) -> list[dict[str, Any]]:
        """The listed rooms, as RoomInfo dicts."""
        return self._call(self._list_rooms())

    def create_room(
        self, title: str, password: str | None = None, *, listed: bool = True,
        max_members: int | None = None,
    ) -> RoomState:  # fmt: skip
        """Create a room and enter it as its host."""
        return self._call(
            self._create_room(title, password, listed=listed, max_members=max_members)
        )

    def join(self, room_id: str, password: str | None = None) -> RoomState:
        return self._call(self._join(room_id, password))

    def leave(self, room_id: str | None = None) -> None:
        self._call(self._leave(room_id))

    def say(
        self, text: str, to: str | None = None, *, room_id: str | None = None
    ) -> dict[str, Any]:
        """Send a chat message to the room, or to one member (``to`` = member id)."""
        return self._call(self._say(text, to, room_id))

    def op(self, op: dict[str, Any], *, room_id: str | None = None) -> int:
        """Put one board op (a dict as in the protocol; ``id`` is added if missing)."""
        return self._call(self._op(op, room_id))

    def ops(
        self, ops: list[dict[str, Any]], *, room_id: str | None = None
    ) -> list[int | ClassroomError]:
        """Put several board ops in one message: for each, its seq or the server's refusal."""
        return self._call(self.connection.ops(self._target(room_id), ops))

    def sync_board(self, room_id: str | None = None) -> RoomState:
        """Fetch the ops the replica lacks (for a board not followed live; see
        ``Connection.follow_board``)."""
        return self._call(self.connection.sync_board(self._target(room_id)))

    def request(self, event: str, payload: dict[str, Any]) -> dict[str, Any]:
        """Any protocol event with an ack (room:update, room:kick, room:ticket, ...)."""
        return self._call(self._request(event, payload))

    # the tools of a lesson: hands and breakouts (client/lesson.py)

    @property
    def hands(self) -> list[dict[str, Any]]:
        """The current room's raised hands, in order (kept current from ``hand:queue``)."""
        return list(self.room.hands)

    def set_video_policy(
        self,
        *,
        students_publish: bool | None = None,
        lecture: bool | None = None,
        room_id: str | None = None,
    ) -> dict[str, bool]:
        """(The host) whether students may publish, the lecture layout (None: unchanged);
        the room's policy ``{students_publish, lecture}``."""
        coro = self.connection.set_video_policy(
            self._target(room_id), students_publish=students_publish, lecture=lecture
        )
        return self._call(coro)

    def mute_all(self, *, room_id: str | None = None) -> None:
        """(The host) ask every member to turn its microphone off."""
        self._call(self.connection.mute_all(self._target(room_id)))

    def raise_hand(self, *, room_id: str | None = None) -> list[dict[str, Any]]:
        """Raise your hand (raising it again keeps its place); the queue."""
        return self._call(self.connection.raise_hand(self._target(room_id)))

    def lower_hand(
        self, member_id: str | None = None, *, room_id: str | None = None
    ) -> list[dict[str, Any]]:
        """Lower your hand, or (the host) ``member_id``'s; the queue."""
        return self._call(self.connection.lower_hand(self._target(room_id), member_id))

    def take_hand(
        self, member_id: str | None = None, *, room_id: str | None = None
    ) -> dict[str, Any] | None:
        """(The host) take the first hand, or ``member_id``'s; the hand, None if none."""
        return self._call(self.connection.take_hand(self._target(room_id), member_id))

    def open_breakouts(
        self,
        *,
        groups: list[list[str]] | None = None,
        count: int | None = None,
        minutes: float | None = None,
        copy_board: bool = False,
        room_id: str | None = None,
    ) -> dict[str, Any]:
        """(The host) split the room into breakout rooms: ``groups`` of member ids, or the
        members at random into ``count`` groups; ``{breakouts, ends_at}``."""
        opening = self.connection.open_breakouts(
            self._target(room_id), groups=groups, count=count, minutes=minutes,
            copy_board=copy_board,
        )  # fmt: skip
        return self._call(opening)

    def broadcast(self, text: str, *, room_id: str | None = None) -> None:
        """(The host) a chat message into every open breakout room."""
        self._call(self.connection.broadcast(self._target(room_id), text))

    def recall(self, *, room_id: str | None = None) -> list[dict[str, Any]]:
        """(The host) bring everyone back; the breakouts closed (their boards are kept)."""
        return self._call(self.connection.recall(self._target(room_id)))

    def breakout_board(self, breakout_id: str, *, room_id: str | None = None) -> dict[str, Any]:
        """A breakout's board ``{seq, ops, complete}``: after recall, or (the host) live."""
        return self._call(self.connection.breakout_board(self._target(room_id), breakout_id))

    def on(self, event: str, callback: Listener) -> None:
        """Call ``callback(payload)`` on the client's thread for each ``event``."""
        self.connection.on(event, callback)
        if event in BOARD_EVENTS:  # a board fetched on demand goes live for the listener
            self.submit(self.connection.follow_listened_boards())

    def off(self, event: str, callback: Listener) -> None:
        """Stop calling ``callback`` for ``event``."""
        self.connection.off(event, callback)

    # ---------------------------------------------------------------------------------------
    # the client's thread, for widgets and other code that must not block

    def submit(self, coro: Coroutine[Any, Any, T]) -> Future[T]:
        """Run ``coro`` on the client's loop without waiting for it (any thread)."""
        return self._loop.submit(coro)

    def call_later(self, delay: float, callback: Callable[[], Any]) -> None:
        """Call ``callback()`` on the client's thread after ``delay`` seconds (any thread)."""
        loop = self._loop.loop
        loop.call_soon_threadsafe(loop.call_later, delay, callback)

    def close(self) -> None:
        try:
            self._call(self._close())
        finally:
            self._loop.stop()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "connected" if self.connection.connected else "disconnected"
        return f"<jupyter_classroom.Client {state} rooms={list(self.connection.rooms)}>"
