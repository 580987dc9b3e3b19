"""The Store interface: the state of every room, behind one async API.

The room logic (:mod:`jupyter_classroom.rooms`) holds no state of its own; it reads and writes
through a Store, so that one process can keep rooms in memory and several processes can share
them in Redis. Methods are domain-level (not get/set of keys) so each Store can make the ones
that must be atomic atomic: :meth:`Store.append_op` assigns ``seq`` and rejects duplicate op
ids in one step. Changes to a room's record and members happen under :meth:`Store.room_lock`.
"""

from __future__ import annotations

import abc
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from typing import Any

# Live-stroke `extend` ops a store keeps as sent before folding them (ClassroomApp.extend_window)
EXTEND_WINDOW = 5000


class RoomLimitReached(Exception):
    """:meth:`Store.add_room` refused a room: the store holds ``max_rooms`` rooms
    (``which == "server"``), or its owner has ``max_per_owner`` of them (``"owner"``)."""

    def __init__(self, which: str) -> None:
        super().__init__(which)
        self.which = which


class BoardBudgetExceeded(Exception):
    """:meth:`Store.append_op` refused an op: the board would hold more than its byte budget
    (``which == "board"``), or the author more image bytes than theirs (``"images"``)."""

    def __init__(self, which: str, used: int) -> None:
        super().__init__(which)
        self.which = which
        self.used = used  # the bytes counted before this op


@dataclass(frozen=True)
class ByteBudget:
    """The byte limits :meth:`Store.append_op` checks and counts atomically with the append.

    ``size`` is the op's encoded size; ``image`` marks an image op, which also counts
    against its author's ``author_images`` bytes. A limit of 0 is none.
    """

    size: int
    image: bool = False
    board: int = 0
    author_images: int = 0


@dataclass
class RoomRecord:
    id: str
    title: str
    host_id: str
    owner: str  # username of the creator, for the rooms-per-user limit
    created_at: str
    max_members: int
    listed: bool = True
    password_hash: str | None = None
    board_locked: bool = False
    banned: set[str] = field(default_factory=set)  # member ids kicked out
    empty_since: float | None = None  # time.time() when the last member left
    creator: str = ""  # the creator's member id: reclaims the host role, cannot be kicked
    banned_users: set[str] = field(default_factory=set)  # users kicked out, all their clients
    # whom the room counts against for max_rooms_per_user: the owner, or for the server's own
    # user (a single-user server's whole class) the creating client; "" means `owner`
    quota_key: str = ""
    # a breakout room: its main room, and the member ids assigned to it (breakouts.py)
    parent_id: str = ""
    invited: list[str] = field(default_factory=list)


@dataclass
class MemberRecord:
    id: str
    name: str
    color: str
    user: str
    sockets: set[str] = field(default_factory=set)
    present_order: int = 0  # larger = became present later; for host hand-over

    @property
    def present(self) -> bool:
        return bool(self.sockets)


@dataclass(frozen=True)
class OpMeta:
    """What the room logic needs to know about an op already on the board."""

    author: str
    type: str
    seq: int


@dataclass(frozen=True)
class Ticket:
    """What a ``room:ticket`` stands for: a member of a room, for one user only."""

    room_id: str
    member_id: str
    user: str  # the identity user of the socket that asked; only that user may redeem it


@dataclass(frozen=True)
class BoardSlice:
    seq: int  # the board's latest seq
    ops: list[dict[str, Any]]
    complete: bool  # True: ops is the whole board; False: ops are those after `since`


class Store(abc.ABC):
    """The state of every room. All methods are coroutines so a networked Store fits."""

    @abc.abstractmethod
    def room_lock(self, room_id: str) -> AbstractAsyncContextManager[None]:
        """Serialise changes to one room's record and members."""

    # rooms
    @abc.abstractmethod
    async def add_room(
        self, room: RoomRecord, *, max_rooms: int | None = None, max_per_owner: int | None = None
    ) -> None:
        """Add a room, checking the limits and adding in one step (two creates racing for the
        last place must not both get it); :class:`RoomLimitReached` when a limit is met."""

    @abc.abstractmethod
    async def get_room(self, room_id: str) -> RoomRecord | None: ...

    @abc.abstractmethod
    async def save_room(self, room: RoomRecord) -> None: ...

    @abc.abstractmethod
    async def delete_room(self, room_id: str) -> None:
        """Remove the room with its members, board and chat."""

    @abc.abstractmethod
    def iter_rooms(self) -> AsyncIterator[RoomRecord]: ...

    # members
    @abc.abstractmethod
    async def get_members(self, room_id: str) -> list[MemberRecord]: ...

    @abc.abstractmethod
    async def get_member(self, room_id: str, member_id: str) -> MemberRecord | None: ...

    @abc.abstractmethod
    async def save_member(self, room_id: str, member: MemberRecord) -> None: ...

    @abc.abstractmethod
    async def delete_member(self, room_id: str, member_id: str) -> None: ...

    @abc.abstractmethod
    async def next_present_order(self, room_id: str) -> int: ...

    # board
    @abc.abstractmethod
    async def append_op(
        self,
        room_id: str,
        author: str,
        ts: str,
        op: dict[str, Any],
        budget: ByteBudget | None = None,
    ) -> dict[str, Any] | None:
        """Append ``op`` and return the BoardOp with its new ``seq``.

        Returns None, appending nothing, when the room already has an op with that id.
        With a ``budget``, its size is added to the board's (and for an image to the author's)
        byte count in the same step, or :class:`BoardBudgetExceeded` appends nothing.
        """

    @abc.abstractmethod
    async def board_bytes(self, room_id: str, author: str | None = None) -> int:
        """Bytes counted on the board (``author``: that author's image bytes)."""

    @abc.abstractmethod
    async def op_meta(self, room_id: str, op_id: str) -> OpMeta | None: ...

    @abc.abstractmethod
    async def board(self, room_id: str, since: int | None = None) -> BoardSlice: ...

    @abc.abstractmethod
    async def board_size(self, room_id: str) -> int:
        """How many ops the whole board holds once live strokes are folded."""

    # chat
    @abc.abstractmethod
    async def append_chat(self, room_id: str, message: dict[str, Any], backlog: int) -> None: ...

    @abc.abstractmethod
    async def chat(self, room_id: str) -> list[dict[str, Any]]: ...

    # tickets: one-time, short-lived tokens binding a second socket of one user to a member
    @abc.abstractmethod
    async def put_ticket(self, ticket: str, issued: Ticket, ttl: float) -> None:
        """Keep ``issued`` under ``ticket`` for ``ttl`` seconds; O(1), the store stays bounded."""

    @abc.abstractmethod
    async def take_ticket(self, ticket: str) -> Ticket | None:
        """Consume a ticket: what it stands for once, None if unknown, used or expired."""

    # join throttling: failed password attempts per user and room
    @abc.abstractmethod
    async def join_failures(self, user: str, room_id: str) -> int: ...

    @abc.abstractmethod
    async def add_join_failure(self, user: str, room_id: str, window: float) -> int:
        """Count one more failure; the count expires ``window`` seconds after the first."""

    @abc.abstractmethod
    async def reset_join_failures(self, user: str, room_id: str) -> None: ...

    @abc.abstractmethod
    async def refund_join_failure(self, user: str, room_id: str) -> None:
        """Take back one counted failure (an attempt reserved before its check, which passed)."""

    # Sockets of room-server processes that died without a goodbye. With one process per
    # store (the in-memory Store) a socket cannot outlive its process's store, so these are
    # no-ops; a shared store (Redis) records which process holds which member's socket and
    # whether that process still beats.
    async def heartbeat(self, process_id: str, ttl: float) -> None:  # noqa: B027
        """``process_id`` is alive for ``ttl`` seconds more."""

    async def track_socket(self, process_id: str, sid: str, room_id: str, member_id: str) -> None:  # noqa: B027
        """``sid``, a socket of ``process_id``, is one of the member's sockets in the room."""

    async def untrack_socket(self, process_id: str, sid: str, room_id: str) -> None:  # noqa: B027
        """It is no longer (it left the room, or disconnected)."""

    async def tracked_sockets(self) -> dict[str, list[tuple[str, str, str]]]:
        """Every process's tracked sockets ``(sid, room_id, member_id)``, beating or not."""
        return {}

    async def dead_processes(self) -> dict[str, list[tuple[str, str, str]]]:
        """The processes whose heartbeat lapsed, each with its tracked sockets
        ``(sid, room_id, member_id)``."""
        return {}

    async def forget_process(self, process_id: str) -> None:  # noqa: B027
        """Drop a dead process's records (its sockets were dealt with)."""

    async def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections; the in-memory Store has none."""

    # The tools of a lesson (hands.py, breakouts.py): a room's raised hands, its open
    # breakouts, and the boards of its recalled breakouts. Each goes with its room.
    @abc.abstractmethod
    async def hands(self, room_id: str) -> list[dict[str, Any]]:
        """The room's raised hands (Hand dicts), in the order they were raised."""

    @abc.abstractmethod
    async def raise_hand(self, room_id: str, hand: dict[str, Any]) -> bool:
        """Queue ``hand`` (its ``member_id``'s) last; False, changing nothing, when that member's
        hand is already up (it keeps its place) or the room is gone."""

    @abc.abstractmethod
    async def lower_hand(self, room_id: str, member_id: str | None) -> dict[str, Any] | None:
        """Take the member's hand (``None``: the first hand) out of the queue; the hand taken,
        or None when there was none."""

    @abc.abstractmethod
    async def breakouts(self, room_id: str) -> dict[str, Any] | None:
        """The room's open breakouts as :meth:`save_breakouts` left them, or None."""

    @abc.abstractmethod
    async def save_breakouts(self, room_id: str, state: dict[str, Any] | None) -> None:
        """Record the room's open breakouts (None: none are open); under the room lock."""

    @abc.abstractmethod
    async def keep_board(self, room_id: str, breakout_id: str, board: dict[str, Any]) -> None:
        """Keep a recalled breakout's board (a BoardState dict) with its main room."""

    @abc.abstractmethod
    async def kept_board(self, room_id: str, breakout_id: str) -> dict[str, Any] | None: ...
