"""The room logic: who may do what in which room, and what it changes.

Pure logic over a :class:`~jupyter_classroom.store.Store`: no sockets, no emits. Each method
checks the request, changes the store, and returns what happened so that the Socket.IO layer
(:mod:`jupyter_classroom.server.events`) can tell the right sockets. Failures raise
:class:`~jupyter_classroom.protocol.ProtocolError` before anything is changed.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

import msgspec

from . import protocol as p
from .admission import PasswordGuard
from .breakouts import check_admission
from .passwords import hash_password
from .presence import Feed, Presence
from .protocol import ErrorCode, ProtocolError
from .store import MemberRecord, RoomRecord, Store
from .store.base import BoardBudgetExceeded, BoardSlice, ByteBudget, RoomLimitReached, Ticket

audit = logging.getLogger("jupyter_classroom.audit")

PALETTE = (
    "#e6194b", "#3cb44b", "#4363d8", "#f58231", "#911eb4", "#42d4f4", "#f032e6", "#469990",
    "#9a6324", "#800000", "#808000", "#000075", "#e6a800", "#008080", "#bf00bf", "#5a5a5a",
)  # fmt: skip


_stamp_second: tuple[int, str] = (-1, "")  # (epoch second, its ISO text to the second)


def utc_now() -> str:
    """The time now as ISO 8601 UTC to the millisecond ("2026-12-02T21:24:28.123Z").
    (Every board op is stamped: the text to the second is made once a second.)"""
    global _stamp_second
    seconds, millis = divmod(int(time.time() * 1000), 1000)
    if seconds != _stamp_second[0]:
        moment = datetime.fromtimestamp(seconds, timezone.utc)
        _stamp_second = (seconds, moment.strftime("%Y-%m-%dT%H:%M:%S"))
    return f"{_stamp_second[1]}.{millis:03d}Z"


@dataclass(frozen=True)
class Limits:
    """Server limits; the protocol's are the upper bounds (see ClassroomApp for the traits)."""

    max_rooms: int = 500
    max_rooms_per_user: int = 20
    max_members: int = 100
    chat_backlog: int = 500
    max_board_ops: int = 100_000
    title: int = p.MAX_TITLE
    chat_text: int = p.MAX_CHAT_TEXT
    points: int = p.MAX_POINTS
    image_src: int = p.MAX_IMAGE_SRC
    join_failures: int = 5
    join_lockout: float = 60.0
    join_failures_per_address: int = 50  # of every user at one peer address (a NAT'd class)
    checks_per_user: int = 2  # password hashes of one user running at once; more wait
    checks_per_room: int = 4  # and of one room
    ticket_ttl: float = 60.0
    max_board_bytes: int = 20 * 1024 * 1024  # encoded ops a board holds (0: no limit)
    max_image_bytes_per_member: int = 10 * 1024 * 1024  # one member's images on a board
    room_reserve: int = 10  # of max_rooms, kept for instructors (Identity.instructor)


@dataclass(frozen=True)
class Identity:
    """Who is on a socket, as decided by authentication at connect."""

    user: str  # the authenticated username
    name: str  # display name
    key: str  # tells apart two clients of one user (a kernel and a second notebook)
    address: str = ""  # the peer address Jupyter's handler saw ("" unknown), for throttles
    admin: bool = False
    can_create: bool = True
    # whom room quotas count against (see server/quotas.py): "" means `user`
    quota_key: str = ""
    instructor: bool = False  # may take the rooms of Limits.room_reserve

    @property
    def quota(self) -> str:
        return self.quota_key or self.user


@dataclass
class Joined:
    """A socket is now in a room as a member."""

    room: dict[str, Any]
    you: dict[str, Any]
    members: list[dict[str, Any]]
    board: BoardSlice
    chat: list[dict[str, Any]]
    newly_present: bool  # the member was not present before: tell the others
    host_changed: bool = False  # the room's creator came back and took the host role again


@dataclass
class Departure:
    """A member is no longer present in a room."""

    room_id: str
    member_id: str
    reason: str
    sockets: set[str]  # the sockets that were the member's (to take out of channels)
    room: dict[str, Any] | None = None  # the RoomInfo, when the host changed with it
    host_changed: bool = False


@dataclass
class Closed:
    room_id: str
    sockets: set[str] = field(default_factory=set)


def member_info(member: MemberRecord, room: RoomRecord) -> dict[str, Any]:
    role = "host" if member.id == room.host_id else "member"
    return {"id": member.id, "name": member.name, "color": member.color, "role": role}


class Rooms:
    def __init__(self, store: Store, limits: Limits | None = None, secret: bytes | None = None):
        self.store = store
        self.limits = limits or Limits()
        self._secret = secret or secrets.token_bytes(32)
        self.passwords = PasswordGuard(store, self.limits)
        # who is present where: the store's member sockets, this process's seats and rows,
        # the broadcast channels (presence.py); only it changes them
        self.presence = Presence(store)

    # ---------------------------------------------------------------------------------------
    # identities and views

    def member_id(self, identity: Identity) -> str:
        """A member id stable for one user's client across reconnects, unguessable by others."""
        digest = hashlib.blake2b(
            f"{identity.user}\0{identity.key}".encode(), key=self._secret, digest_size=9
        )
        return "m" + digest.hexdigest()

    async def room_info(self, room: RoomRecord, members: list[MemberRecord] | None = None) -> dict:
        if members is None:
            members = await self.store.get_members(room.id)
        host = next((m for m in members if m.id == room.host_id), None)
        info = {
            "id": room.id,
            "title": room.title,
            "host": {"id": room.host_id, "name": host.name if host else ""},
            "members": sum(1 for m in members if m.present),
            "locked": room.password_hash is not None,
            "board_locked": room.board_locked,
            "created_at": room.created_at,
            "max_members": room.max_members,
        }
        if room.parent_id:  # a breakout room (breakouts.py)
            info["parent_id"] = room.parent_id
        return info

    async def list_rooms(self) -> list[dict[str, Any]]:
        return [await self.room_info(room) async for room in self.store.iter_rooms() if room.listed]

    async def _room(self, room_id: str) -> RoomRecord:
        room = await self.store.get_room(room_id)
        if room is None:
            raise ProtocolError(ErrorCode.NOT_FOUND, f"there is no room {room_id!r}")
        return room

    async def require_member(self, room_id: str, member_id: str | None, sid: str) -> RoomRecord:
        """The room, if ``sid`` is a present member of it (as ``member_id``)."""
        room = await self._room(room_id)
        member = await self.store.get_member(room_id, member_id) if member_id else None
        if member is None or sid not in member.sockets:
            raise ProtocolError(
                ErrorCode.NOT_MEMBER, "you are not a member of this room; join it first"
            )
        return room

    async def board(
        self, room_id: str, member_id: str | None, sid: str, since: int | None
    ) -> BoardSlice:
        """A member's board on demand: the ops after ``since``, or the whole (folded) board
        with ``complete`` when ``since`` is absent or older than the last fold."""
        await self.require_member(room_id, member_id, sid)
        return await self.store.board(room_id, since)

    async def require_host(self, room_id: str, member_id: str | None, sid: str) -> RoomRecord:
        room = await self.require_member(room_id, member_id, sid)
        if room.host_id != member_id:
            raise ProtocolError(ErrorCode.FORBIDDEN, "only the room's host may do that")
        return room

    # ---------------------------------------------------------------------------------------
    # create, join, attach, leave

    async def create(
        self, who: Identity, sid: str, req: p.RoomCreate, feed: Feed = "board"
    ) -> Joined:
        if not who.can_create:
            raise ProtocolError(ErrorCode.FORBIDDEN, "you may join rooms but not create them")
        self._check_title(req.title)
        # Refuse cheaply before hashing a password; add_room checks again, atomically.
        rooms = [room async for room in self.store.iter_rooms()]
        # The last room_reserve rooms are the instructors': students cannot fill the server.
        max_rooms = self.limits.max_rooms - (0 if who.instructor else self.limits.room_reserve)
        if len(rooms) >= max_rooms:
            raise self._limit_error("server")
        mine = sum(1 for room in rooms if (room.quota_key or room.owner) == who.quota)
        if mine >= self.limits.max_rooms_per_user:
            raise self._limit_error("owner")
        password_hash = await hash_password(req.password) if req.password else None
        room = RoomRecord(
            id=uuid.uuid4().hex[:12],
            title=req.title.strip() or req.title,
            host_id=self.member_id(who),
            owner=who.user,
            created_at=utc_now(),
            max_members=min(req.max_members or self.limits.max_members, self.limits.max_members),
            listed=req.listed,
            password_hash=password_hash,
            quota_key=who.quota_key,
            creator=self.member_id(who),
        )
        try:
            await self.store.add_room(
                room,
                max_rooms=max_rooms,
                max_per_owner=self.limits.max_rooms_per_user,
            )
        except RoomLimitReached as exc:
            raise self._limit_error(exc.which) from None
        async with self.store.room_lock(room.id):
            return await self._enter(room, who, sid, since=None, feed=feed)

    async def join(self, who: Identity, sid: str, req: p.RoomJoin, feed: Feed = "board") -> Joined:
        room = await self._room(req.room_id)
        member_id = self.member_id(who)
        self._check_not_banned(room, member_id, who.user)
        if room.parent_id:  # a breakout room: its group and the main room's host only
            await check_admission(self.store, room, member_id)
        # A known member (reconnecting, or joining twice) was admitted before: no password.
        # (A new password forgets the members who were away: see update.) The creator is
        # never locked out of their room.
        checked = None
        if room.password_hash is not None and member_id != room.creator:
            if await self.store.get_member(room.id, member_id) is None:
                await self._check_password(who, room, req.password)
                checked = room.password_hash
        async with self.store.room_lock(room.id):
            room = await self._room(req.room_id)  # may have closed while the hash ran
            self._check_not_banned(room, member_id, who.user)  # kicked meanwhile
            if checked is not None and room.password_hash not in (None, checked):
                raise ProtocolError(
                    ErrorCode.BAD_PASSWORD, "the room's password just changed; ask for the new one"
                )
            return await self._enter(room, who, sid, since=req.since, feed=feed)

    @staticmethod
    def _check_not_banned(room: RoomRecord, member_id: str, user: str) -> None:
        if member_id in room.banned or user in room.banned_users:
            raise ProtocolError(ErrorCode.FORBIDDEN, "the host removed you from this room")

    async def _check_password(self, who: Identity, room: RoomRecord, password: str | None) -> None:
        await self.passwords.check(who, room, password)  # see admission.py

    async def _enter(
        self,
        room: RoomRecord,
        who: Identity,
        sid: str,
        since: int | None,
        member_id: str = "",
        feed: Feed = "board",
    ) -> Joined:
        """Make ``sid`` a socket of the member; called under the room lock."""
        member_id = member_id or self.member_id(who)
        members = {m.id: m for m in await self.store.get_members(room.id)}
        member = members.get(member_id)
        was_present = member is not None and member.present
        if not was_present:
            present = sum(1 for m in members.values() if m.present)
            if present >= room.max_members:
                raise ProtocolError(ErrorCode.ROOM_FULL, f"this room is full ({room.max_members})")
        if member is None:
            color = PALETTE[len(members) % len(PALETTE)]
            member = MemberRecord(id=member_id, name=who.name, color=color, user=who.user)
            members[member_id] = member
        if not was_present:
            member.present_order = await self.store.next_present_order(room.id)
        # The creator coming back takes the host role back from whoever it passed to.
        host_changed = not was_present and member_id == room.creator != room.host_id
        if host_changed:
            room.host_id = member_id
        if room.empty_since is not None or host_changed:
            room.empty_since = None
            await self.store.save_room(room)
        chat = [
            message
            for message in await self.store.chat(room.id)
            if message["to"] is None or member_id in (message["to"], message["from"]["id"])
        ]
        board = await self.store.board(room.id, since)
        # The member is saved with its socket, which takes its seat and channels, last: ops
        # broadcast from here on reach it after the board it is given.
        await self.presence.enter(room.id, member, sid, feed)
        member_list = list(members.values())
        return Joined(
            room=await self.room_info(room, member_list),
            you=member_info(member, room),
            members=[member_info(m, room) for m in member_list if m.present],
            board=board,
            chat=chat,
            newly_present=not was_present,
            host_changed=host_changed,
        )

    async def issue_ticket(
        self, who: Identity, room_id: str, member_id: str | None, sid: str
    ) -> str:
        """A one-time ticket to the member, redeemable only by a socket of ``who.user``."""
        await self.require_member(room_id, member_id, sid)
        assert member_id is not None
        ticket = secrets.token_urlsafe(32)
        issued = Ticket(room_id=room_id, member_id=member_id, user=who.user)
        await self.store.put_ticket(ticket, issued, self.limits.ticket_ttl)
        return ticket

    async def attach(
        self, who: Identity, sid: str, ticket: str, since: int | None = None, feed: Feed = "board"
    ) -> Joined:
        # Taking the ticket consumes it, whoever presents it: a ticket that reached another
        # user is spent by that attempt (the member asks for a new one) instead of staying
        # usable for a second try.
        issued = await self.store.take_ticket(ticket)
        if issued is None:
            raise ProtocolError(ErrorCode.UNAUTHORIZED, "this ticket is unknown, used or expired")
        if issued.user != who.user:
            audit.warning(
                "attach refused: a ticket of user=%r for room=%s presented by user=%r address=%s",
                issued.user, issued.room_id, who.user, who.address,
            )  # fmt: skip
            raise ProtocolError(ErrorCode.UNAUTHORIZED, "this ticket was issued to another user")
        room = await self._room(issued.room_id)
        async with self.store.room_lock(issued.room_id):
            room = await self._room(issued.room_id)  # fresh, under the lock
            member = await self.store.get_member(issued.room_id, issued.member_id)
            if member is None or issued.member_id in room.banned or who.user in room.banned_users:
                raise ProtocolError(ErrorCode.NOT_MEMBER, "the ticket's member left this room")
            return await self._enter(
                room, who, sid, since=since, member_id=issued.member_id, feed=feed
            )

    async def leave(self, room_id: str, member_id: str | None, sid: str) -> Departure:
        await self.require_member(room_id, member_id, sid)
        assert member_id is not None
        async with self.store.room_lock(room_id):
            return await self._depart(room_id, member_id, "left")

    async def socket_gone(self, room_id: str, member_id: str, sid: str) -> Departure | None:
        """A socket disconnected: the member departs when it was the member's last socket."""
        async with self.store.room_lock(room_id):
            member = await self.store.get_member(room_id, member_id)
            if member is None or sid not in member.sockets:
                return None
            if member.sockets != {sid}:
                await self.presence.socket_left(room_id, member, sid)
                return None
            return await self._depart(room_id, member_id, "disconnected")

    async def disconnected(self, sid: str) -> list[Departure]:
        """A socket of this process disconnected: the departures of the members it was the
        last socket of (a room closed meanwhile has none)."""
        gone = [
            (sid, room_id, member_id) for room_id, member_id in await self.presence.disconnect(sid)
        ]
        return await self._sockets_gone(gone)

    async def _sockets_gone(self, sockets: list[tuple[str, str, str]]) -> list[Departure]:
        """The departures of the members these (socket, room, member) were the last socket of
        (a room closed meanwhile has none)."""
        departures = []
        for sid, room_id, member_id in sockets:
            try:
                departure = await self.socket_gone(room_id, member_id, sid)
            except ProtocolError:
                continue  # the room closed meanwhile
            if departure is not None:
                departures.append(departure)
        return departures

    async def sweep_dead_processes(self) -> list[tuple[str, list[Departure]]]:
        """A process that died without a goodbye (SIGKILL, its machine gone) left its sockets
        in the shared store: their members would stay present forever, hosting rooms nobody
        is in. They depart as if those sockets had disconnected; per dead process, the
        departures."""
        swept = []
        for process_id, sockets in (await self.presence.dead_processes()).items():
            departures = await self._sockets_gone(sockets)
            await self.presence.forget_process(process_id)
            swept.append((process_id, departures))
        return swept

    async def _depart(self, room_id: str, member_id: str, reason: str) -> Departure:
        """Take a member out of the room (under the room lock); hand the host role on."""
        room = await self._room(room_id)
        members = await self.store.get_members(room_id)
        member = next(m for m in members if m.id == member_id)
        sockets = await self.presence.depart(room_id, member, forget=reason == "kicked")
        if reason == "kicked":
            members.remove(member)
        departure = Departure(room_id, member_id, reason, sockets)
        present = sorted((m for m in members if m.present), key=lambda m: m.present_order)
        # a breakout room stays the main room's host's: a visit does not hand it to a student
        if room.host_id == member_id and present and not room.parent_id:
            room.host_id = present[0].id
            departure.host_changed = True
        if not present:
            room.empty_since = time.time()
        await self.store.save_room(room)
        departure.room = await self.room_info(room, members)
        return departure

    # ---------------------------------------------------------------------------------------
    # host actions

    async def update(
        self, member_id: str | None, sid: str, req: p.RoomUpdate
    ) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        """Apply a host's change; returns the RoomInfo and the members whose role changed."""
        room = await self.require_host(req.room_id, member_id, sid)
        if req.title is not None:
            self._check_title(req.title)
        changes_password = req.password is not msgspec.UNSET
        if changes_password and room.creator and member_id != room.creator:
            # A host the role passed to cannot lock the creator or the class out.
            raise ProtocolError(
                ErrorCode.FORBIDDEN, "only the room's creator may change its password"
            )
        new_hash: str | None = None
        if isinstance(req.password, str) and req.password:
            new_hash = await hash_password(req.password)
        async with self.store.room_lock(room.id):
            room = await self.require_host(req.room_id, member_id, sid)
            members = await self.store.get_members(room.id)
            changed_roles = []
            if req.host is not None and req.host != room.host_id:
                new_host = next((m for m in members if m.id == req.host and m.present), None)
                if new_host is None:
                    raise ProtocolError(
                        ErrorCode.NOT_FOUND, "the new host must be a present member"
                    )
                old_host = next(m for m in members if m.id == room.host_id)
                room.host_id = new_host.id
                changed_roles = [member_info(old_host, room), member_info(new_host, room)]
            if req.title is not None:
                room.title = req.title
            if changes_password:
                room.password_hash = new_hash
            if new_hash is not None:
                # A new password: the members who are away must give it to come back.
                for member in members:
                    if not member.present and member.id != room.creator:
                        await self.store.delete_member(room.id, member.id)
                members = [m for m in members if m.present or m.id == room.creator]
            if req.board_locked is not None:
                room.board_locked = req.board_locked
            await self.store.save_room(room)
            return await self.room_info(room, members), changed_roles

    async def kick(self, member_id: str | None, sid: str, req: p.RoomKick) -> list[Departure]:
        """Remove a member and keep them out: the member, and when the kicked member is another
        user than the host and the room's owner, every client of that user (else a new client
        id would walk back in). Returns the departures of the members who were present."""
        room = await self.require_host(req.room_id, member_id, sid)
        if req.member_id == member_id:
            raise ProtocolError(
                ErrorCode.BAD_REQUEST, "the host cannot kick themself; use room:leave"
            )
        async with self.store.room_lock(room.id):
            room = await self.require_host(req.room_id, member_id, sid)  # fresh, under the lock
            assert member_id is not None
            members = await self.store.get_members(room.id)
            target = next((m for m in members if m.id == req.member_id), None)
            if target is None:
                raise ProtocolError(ErrorCode.NOT_FOUND, "no such member in this room")
            if target.id == room.creator:
                raise ProtocolError(
                    ErrorCode.FORBIDDEN, "the room's creator cannot be removed from it"
                )
            kicker = next(m for m in members if m.id == member_id)
            room.banned.add(target.id)
            # One user's clients cannot be told apart from one another by the server, so a
            # host's own user (a single-user server's whole class) is banned client by client.
            by_user = target.user not in (kicker.user, room.owner)
            if by_user:
                room.banned_users.add(target.user)
            await self.store.save_room(room)
            audit.info(
                "kick: room=%s member=%s user=%r by host user=%r%s",
                room.id, target.id, target.user, kicker.user, " (user banned)" if by_user else "",
            )  # fmt: skip
            departures = [await self._depart(room.id, target.id, "kicked")]
            for other in members if by_user else []:
                if other.user == target.user and other.id != target.id:
                    if other.present:
                        departures.append(await self._depart(room.id, other.id, "kicked"))
                    else:
                        await self.store.delete_member(room.id, other.id)
            return departures

    async def close(self, member_id: str | None, sid: str, room_id: str) -> Closed:
        await self.require_host(room_id, member_id, sid)
        async with self.store.room_lock(room_id):
            members = await self.store.get_members(room_id)
            await self.store.delete_room(room_id)
        return Closed(room_id, {s for m in members for s in m.sockets})

    async def close_empty_rooms(self, listed_ttl: float, unlisted_ttl: float) -> list[str]:
        """Close the rooms that stayed empty for ``listed_ttl`` seconds (unlisted ones:
        ``unlisted_ttl``); the ids closed. Each is checked again under its lock, the lock a
        join takes: a join that got there first keeps the room, one that comes after finds
        it gone (not_found), none lands in a room deleted after it."""

        def stale(room: RoomRecord, now: float) -> bool:
            ttl = listed_ttl if room.listed else unlisted_ttl
            return room.empty_since is not None and now - room.empty_since > ttl

        now = time.time()
        candidates = [room async for room in self.store.iter_rooms() if stale(room, now)]
        closed = []
        for candidate in candidates:
            room_id = candidate.id
            if candidate.parent_id and await self.store.get_room(candidate.parent_id):
                continue  # a breakout group's room is its main room's: kept until recalled
            async with self.store.room_lock(room_id):
                room = await self.store.get_room(room_id)
                if room is None or not stale(room, time.time()):
                    continue
                await self.store.delete_room(room_id)
            closed.append(room_id)
        return closed

    async def owned_rooms(self, owner: str) -> list[dict[str, Any]]:
        """The RoomInfo of every room ``owner`` created, listed or not."""
        return [await self.room_info(room) async for room in self.store.iter_rooms()
                if room.owner == owner]  # fmt: skip

    async def shut_down(self) -> None:
        """Release the store's connections (the server is stopping)."""
        await self.store.close()

    # ---------------------------------------------------------------------------------------
    # chat and board

    async def chat(self, member_id: str | None, sid: str, req: p.ChatSend) -> dict[str, Any]:
        await self.require_member(req.room_id, member_id, sid)
        assert member_id is not None
        if len(req.text) > self.limits.chat_text:
            raise ProtocolError(
                ErrorCode.TOO_LARGE, f"messages are at most {self.limits.chat_text} characters"
            )
        if not req.text.strip():
            raise ProtocolError(ErrorCode.BAD_REQUEST, "the message is empty")
        sender = await self.store.get_member(req.room_id, member_id)
        assert sender is not None
        if req.to is not None and await self.store.get_member(req.room_id, req.to) is None:
            raise ProtocolError(ErrorCode.NOT_FOUND, "the recipient is not a member of this room")
        message = {
            "id": uuid.uuid4().hex[:16],
            "room_id": req.room_id,
            "from": {"id": sender.id, "name": sender.name},
            "to": req.to,
            "text": req.text,
            "ts": utc_now(),
        }
        await self.store.append_chat(req.room_id, message, self.limits.chat_backlog)
        return message

    async def add_op(
        self, member_id: str | None, sid: str, req: p.BoardOpSend, size: int = 0
    ) -> dict[str, Any]:
        """Append the op; ``size`` (its encoded bytes) counts against the byte budgets."""
        room = await self.require_member(req.room_id, member_id, sid)
        assert member_id is not None
        is_host = room.host_id == member_id
        if room.board_locked and not is_host:
            raise ProtocolError(ErrorCode.FORBIDDEN, "the host has locked the board")
        op = req.op
        if isinstance(op, (p.StrokeOp, p.ExtendOp)) and len(op.points) > self.limits.points:
            raise ProtocolError(
                ErrorCode.TOO_LARGE, f"an op holds at most {self.limits.points} points"
            )
        if isinstance(op, p.ImageOp) and len(op.src) > self.limits.image_src:
            raise ProtocolError(
                ErrorCode.TOO_LARGE, f"images are at most {self.limits.image_src} bytes"
            )
        if isinstance(op, p.ClearOp) and not is_host:
            raise ProtocolError(ErrorCode.FORBIDDEN, "only the host may clear the board")
        if isinstance(op, (p.ExtendOp, p.EraseOp, p.UndoOp)):
            target = await self.store.op_meta(req.room_id, op.target)
            if target is None:
                raise ProtocolError(
                    ErrorCode.NOT_FOUND, f"there is no op {op.target!r} on this board"
                )
            if isinstance(op, p.ExtendOp) and (
                target.type != "stroke" or target.author != member_id
            ):
                raise ProtocolError(ErrorCode.FORBIDDEN, "you can only extend your own strokes")
            if isinstance(op, p.UndoOp) and target.author != member_id and not is_host:
                raise ProtocolError(ErrorCode.FORBIDDEN, "you can only undo your own ops")
            if target.type == "extend":
                raise ProtocolError(
                    ErrorCode.BAD_REQUEST, "target the stroke, not one of its extends"
                )
        if not isinstance(op, p.ExtendOp):
            if await self.store.board_size(req.room_id) >= self.limits.max_board_ops:
                raise ProtocolError(
                    ErrorCode.TOO_LARGE,
                    f"the board holds at most {self.limits.max_board_ops} ops; export and clear it",
                )
        budget = ByteBudget(
            size=size or len(msgspec.json.encode(op)),
            image=isinstance(op, p.ImageOp),
            board=self.limits.max_board_bytes,
            author_images=self.limits.max_image_bytes_per_member,
        )
        try:
            board_op = await self.store.append_op(
                req.room_id, member_id, utc_now(), p.to_builtins(op), budget
            )
        except BoardBudgetExceeded as exc:
            raise self._budget_error(exc) from None
        if board_op is None:
            raise ProtocolError(ErrorCode.CONFLICT, f"this board already has an op {op.id!r}")
        return board_op

    def _budget_error(self, exc: BoardBudgetExceeded) -> ProtocolError:
        def mb(n: int) -> str:
            return f"{n / 2**20:.1f} MB"

        if exc.which == "images":
            limit = self.limits.max_image_bytes_per_member
            message = (
                f"your images on this board take {mb(exc.used)} of the {mb(limit)} each member "
                "may put on it (erased ones count: the board keeps its history); use smaller "
                "images (a lower dpi, or JPEG) or continue in a new room"
            )
        else:
            limit = self.limits.max_board_bytes
            message = (
                f"this board holds {mb(exc.used)} of at most {mb(limit)}; export it and "
                "continue in a new room, or use smaller images"
            )
        return ProtocolError(ErrorCode.TOO_LARGE, message)

    def _limit_error(self, which: str) -> ProtocolError:
        if which == "owner":
            message = f"you already have {self.limits.max_rooms_per_user} rooms; close one first"
        else:
            message = "this server has as many rooms as it allows"
        return ProtocolError(ErrorCode.RATE_LIMITED, message)

    def _check_title(self, title: str) -> None:
        if len(title) > self.limits.title:
            raise ProtocolError(
                ErrorCode.TOO_LARGE, f"titles are at most {self.limits.title} characters"
            )
        if not title.strip():
            raise ProtocolError(ErrorCode.BAD_REQUEST, "the title is empty")
