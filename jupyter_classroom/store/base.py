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


@dataclass
class NotebookHeader:
    """A room's shared notebook without its cells (notebooks.py): who shares what, its
    ``seq`` (the last batch applied), whether it is live, the cells' order, the sharer's
    active cell and the bytes its cells take."""

    share_id: str
    sharer: dict[str, str]  # {id, name}
    path: str
    language: str | None
    started_at: str
    seq: int = 0
    live: bool = True
    order: list[str] = field(default_factory=list)
    active: str | None = None
    bytes: int = 0


@dataclass
class NotebookCommit:
    """One batch of patches to write (:meth:`Store.commit_notebook`): only what changed.
    ``heads``: cell id -> the cell without its outputs (``ob``: their JSON size)."""

    share_id: str
    seq: int  # the seq the batch was computed on; it becomes seq + 1
    batch: list[dict[str, Any]]  # the patches, for the log
    bytes: int
    heads: dict[str, dict[str, Any]] = field(default_factory=dict)
    outputs: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    deleted: list[str] = field(default_factory=list)
    order: list[str] | None = None  # None: unchanged
    active_changed: bool = False
    active: str | None = None


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
        """The room's breakouts record (open ones, kept groups: breakouts.py) as
        :meth:`save_breakouts` left it, or None."""

    @abc.abstractmethod
    async def save_breakouts(self, room_id: str, state: dict[str, Any] | None) -> None:
        """Record the room's breakouts record (None: none); under the room lock."""

    @abc.abstractmethod
    async def set_breakout_deadline(self, room_id: str, at: float | None) -> None:
        """When the room's open breakouts end (epoch seconds), for any process's sweep
        (:meth:`claim_due_breakouts`); None takes the room's deadline away."""

    @abc.abstractmethod
    async def claim_due_breakouts(self, now: float, lease: float) -> list[str]:
        """The rooms whose breakout deadline is at or before ``now``, each deadline moved to
        ``now + lease`` in the same atomic step: of several processes claiming at once, each
        room goes to one of them; should the claimant die before its recall (which takes the
        deadline away), a sweep after the lease claims the room again."""

    @abc.abstractmethod
    async def keep_board(self, room_id: str, breakout_id: str, board: dict[str, Any]) -> None:
        """Keep a recalled breakout's board (a BoardState dict) with its main room."""

    @abc.abstractmethod
    async def kept_board(self, room_id: str, breakout_id: str) -> dict[str, Any] | None: ...

    @abc.abstractmethod
    async def forget_kept_boards(self, room_id: str, breakout_ids: list[str]) -> None:
        """Drop these kept boards (the oldest, past the number a room keeps)."""

    # Shared notebooks (notebooks.py): one share per room, kept cell by cell, with a bounded
    # log of the latest batches for `since`. Each goes with its room.
    @abc.abstractmethod
    async def notebook_header(self, room_id: str) -> NotebookHeader | None:
        """The room's share (live or stopped), None when there is none."""

    @abc.abstractmethod
    async def notebook_heads(self, room_id: str, cell_ids: list[str]) -> dict[str, dict[str, Any]]:
        """The heads (cells without outputs, with ``ob``) of those of ``cell_ids`` that exist."""

    @abc.abstractmethod
    async def notebook(self, room_id: str) -> tuple[NotebookHeader, list[dict[str, Any]]] | None:
        """The share and its whole cells in order (``ob`` left out), read in one step."""

    @abc.abstractmethod
    async def start_notebook(
        self,
        room_id: str,
        header: NotebookHeader,
        heads: list[dict[str, Any]],
        outputs: dict[str, list[dict[str, Any]]],
    ) -> NotebookHeader | None:
        """Make ``header`` (with these cells, in order) the room's share, replacing any share
        and its log in one step; the share replaced (None: none, or the room is gone)."""

    @abc.abstractmethod
    async def commit_notebook(
        self, room_id: str, commit: NotebookCommit, log_size: int, log_bytes: int
    ) -> bool:
        """Apply one batch and log it as ``seq + 1``, in one step, if the room's share is
        still ``commit.share_id``, live, at ``commit.seq``; False, changing nothing, if not.
        The log keeps the last ``log_size`` batches and at most ``log_bytes`` of them."""

    @abc.abstractmethod
    async def notebook_batches(
        self, room_id: str, share_id: str, since: int
    ) -> list[dict[str, Any]] | None:
        """The batches ``{seq, patches}`` after ``since`` of the share, in order, when the log
        holds every one of them; None when it does not (or the share is another)."""

    @abc.abstractmethod
    async def stop_notebook(self, room_id: str, share_id: str) -> bool:
        """Mark the share stopped (its state stays); False when it is not the live share."""

    @abc.abstractmethod
    async def notebook_sharers(self, room_id: str) -> list[str]:
        """The members the host allowed to share notebooks, in the order allowed."""

    @abc.abstractmethod
    async def allow_sharer(self, room_id: str, member_id: str, allowed: bool) -> list[str]:
        """Allow (or no longer) ``member_id`` to share; the sharers after."""

    # Video through the SFU (sfu/videoroom.py): what every room-server process must agree on
    # for one classroom room. Its Janus VideoRoom (id, secret, PIN as one JSON string) is kept
    # apart from the room's record, so that whoever sees the room closed can still destroy it.
    @abc.abstractmethod
    async def video_room(self, room_id: str) -> str | None:
        """The room's VideoRoom record, if it has one."""

    @abc.abstractmethod
    async def swap_video_room(
        self, room_id: str, expected: str | None, new: str | None
    ) -> str | None:
        """Atomically: when the record is ``expected`` (None: there is none) make it ``new``
        (None: remove it). The record afterwards, whoever wrote it. A record is only made
        (``expected`` None) while the room exists: for a room that is gone, None."""

    @abc.abstractmethod
    async def video_mode(self, room_id: str) -> str | None:
        """The room's video mode once decided ("sfu"), else None; it goes with the room."""

    @abc.abstractmethod
    async def set_video_mode(self, room_id: str, mode: str) -> bool:
        """Decide the room's mode unless it is decided: whether this call decided it."""

    # The host's lecture controls (rtc:policy): a JSON object kept with the room, every
    # process reads it (a student's rtc:publish may reach another process than the host's).
    @abc.abstractmethod
    async def video_policy(self, room_id: str) -> str | None:
        """The room's video policy (JSON) once the host set one, else None."""

    @abc.abstractmethod
    async def set_video_policy(self, room_id: str, policy: str) -> bool:
        """Keep the room's video policy (JSON); False when the room is gone."""
