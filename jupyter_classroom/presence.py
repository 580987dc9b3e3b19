"""Who is present where: the one owner of which socket is in which room, as which member.

Presence is kept in four forms, all written here and nowhere else:

- the store's member records (``MemberRecord.sockets``), shared by every process: what the
  room logic rules on (who is present, who hosts next, whether the room is full);
- this process's seats (socket -> room -> member), read for every event a socket sends
  (``Session.rooms`` is a read-only view of them), so that no event asks the store who it is;
- with a shared store, a tracking row per seat (``Store.track_socket``), so that the other
  processes can let this one's members depart if it dies (``Rooms.sweep_dead_processes``);
- the broadcast channels a socket is in (Socket.IO rooms), through :class:`Channels`, which
  the server layer implements and names.

Seats and rows come and go together, on join, leave, kick, room close and disconnect. A
departure decided on another process reaches a socket of this one as that process's channel
leave, relayed by the pub/sub manager: :meth:`Presence.left_channel` takes the seat (and row)
away here, so a seat and the room's channel cannot disagree.

Methods that change the store's records are called by :class:`~jupyter_classroom.rooms.Rooms`
under the room lock.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Mapping
from types import MappingProxyType
from typing import Literal, Protocol

from .store import MemberRecord, Store

# What a socket takes of its room's board: each op as it comes ("board"), ops in batches
# ("batched", auth.batch), or nothing (a "video" socket attached with board: false).
Feed = Literal["board", "batched", "video"]


class Channels(Protocol):
    """The broadcast groups of a room's sockets (implemented by server/channels.py)."""

    async def enter(self, sid: str, room_id: str, member_id: str, feed: Feed) -> None:
        """Into the room's channel, the member's own and the feed's board channel."""

    async def follow(self, sid: str, room_id: str, feed: Feed, live: bool) -> None:
        """Into (``live``) or out of the room's board channels."""

    async def leave_room(self, sid: str, room_id: str) -> None:
        """Out of the room's channel and its board channels; the member's own stays."""

    async def leave_member(self, sid: str, room_id: str, member_id: str) -> None:
        """Out of the member's own channel."""

    async def close(self, room_id: str) -> None:
        """Every socket, on every process, out of the room's channel and board channels."""


class NoChannels:
    """For the room logic used without a server (tests, tools): nobody to broadcast to."""

    async def enter(self, sid: str, room_id: str, member_id: str, feed: Feed) -> None:
        pass

    async def follow(self, sid: str, room_id: str, feed: Feed, live: bool) -> None:
        pass

    async def leave_room(self, sid: str, room_id: str) -> None:
        pass

    async def leave_member(self, sid: str, room_id: str, member_id: str) -> None:
        pass

    async def close(self, room_id: str) -> None:
        pass


class Presence:
    """Who is present in which room; see the module docstring."""

    def __init__(self, store: Store, process_id: str | None = None) -> None:
        self.store = store
        # which process holds a socket, for a shared store: see Rooms.sweep_dead_processes
        self.process_id = process_id or uuid.uuid4().hex[:16]
        self.channels: Channels = NoChannels()
        self._members: dict[str, dict[str, str]] = {}  # sid -> room id -> member id
        self._feeds: dict[str, dict[str, Feed]] = {}  # sid -> room id -> its board feed

    # ---------------------------------------------------------------------------------------
    # this process's sockets

    def connect(self, sid: str) -> Mapping[str, str]:
        """A socket of this process: its rooms (room id -> member id), read-only and live."""
        return MappingProxyType(self._members.setdefault(sid, {}))

    def member_of(self, sid: str, room_id: str) -> str | None:
        """The member ``sid`` is in the room as, if it is a socket of this process there."""
        return self._members.get(sid, {}).get(room_id)

    def feed(self, sid: str, room_id: str) -> Feed | None:
        return self._feeds.get(sid, {}).get(room_id)

    async def disconnect(self, sid: str) -> list[tuple[str, str]]:
        """The socket is gone: its seats and rows; the (room id, member id) it was in."""
        seats = self._members.pop(sid, {})
        self._feeds.pop(sid, None)
        gone = list(seats.items())
        seats.clear()  # a view handed out by connect() sees no rooms either
        for room_id, _ in gone:
            await self.store.untrack_socket(self.process_id, sid, room_id)
        return gone

    async def _unseat(self, sid: str, room_id: str) -> str | None:
        """Take this process's seat of ``sid`` in the room, and its row; the member id."""
        member_id = self._members.get(sid, {}).pop(room_id, None)
        self._feeds.get(sid, {}).pop(room_id, None)
        if member_id is not None:
            await self.store.untrack_socket(self.process_id, sid, room_id)
        return member_id

    # ---------------------------------------------------------------------------------------
    # arriving and departing (under the room lock)

    async def enter(self, room_id: str, member: MemberRecord, sid: str, feed: Feed) -> None:
        """``sid`` is one of the member's sockets in the room now; the member is saved."""
        member.sockets.add(sid)
        await self.store.save_member(room_id, member)
        self._members.setdefault(sid, {})[room_id] = member.id
        self._feeds.setdefault(sid, {})[room_id] = feed
        await self.store.track_socket(self.process_id, sid, room_id, member.id)
        await self.channels.enter(sid, room_id, member.id, feed)

    async def socket_left(self, room_id: str, member: MemberRecord, sid: str) -> None:
        """One of the member's sockets is gone; the member stays present by its others."""
        member.sockets.discard(sid)
        await self.store.save_member(room_id, member)
        await self._unseat(sid, room_id)

    async def depart(self, room_id: str, member: MemberRecord, forget: bool) -> set[str]:
        """The member is no longer present (``forget``: no longer a member either); the
        sockets it had. Their channels are left by :meth:`see_off`, once they were told."""
        sockets = set(member.sockets)
        member.sockets.clear()
        if forget:
            await self.store.delete_member(room_id, member.id)
        else:
            await self.store.save_member(room_id, member)
        for sid in sockets:
            await self._unseat(sid, room_id)  # this process's; another's leaves in see_off
        return sockets

    async def is_present(self, room_id: str, member_id: str) -> bool:
        member = await self.store.get_member(room_id, member_id)
        return member is not None and member.present

    # ---------------------------------------------------------------------------------------
    # channels (after the room lock: the server tells the sockets in between)

    async def see_off(
        self, room_id: str, member_id: str, sockets: set[str], tell: Callable[[], Awaitable[None]]
    ) -> None:
        """A departed member's sockets leave the room's channels, ``tell`` runs (the room and
        the member's own channel hear of it), then they leave the member's channel: on another
        process the leaves arrive in that order, so no broadcast of the room follows it."""
        for sid in sockets:
            await self.channels.leave_room(sid, room_id)
        await tell()
        for sid in sockets:
            await self.channels.leave_member(sid, room_id, member_id)

    async def follow(self, sid: str, room_id: str, live: bool) -> None:
        """A board socket of this process follows the room's board live, or stops."""
        feed = self.feed(sid, room_id)
        if feed is not None and feed != "video":
            await self.channels.follow(sid, room_id, feed, live)

    async def close(self, room_id: str) -> None:
        """The room was deleted: every socket leaves its channels, on every process (this
        one's here, the others' as the channel close reaches them)."""
        for sid, seats in list(self._members.items()):
            if room_id in seats:
                await self.left_channel(sid, room_id, closing=True)
        await self.channels.close(room_id)

    async def left_channel(self, sid: str, room_id: str, closing: bool) -> None:
        """``sid``, a socket of this process, left the room's channel (a departure or a
        close, decided here or by another process): its seat and row go; a close takes it
        out of its member channel too (a departure's own leave of it comes after the
        departure's event)."""
        member_id = await self._unseat(sid, room_id)
        if closing and member_id is not None:
            await self.channels.leave_member(sid, room_id, member_id)

    # ---------------------------------------------------------------------------------------
    # processes (a shared store)

    async def heartbeat(self, ttl: float) -> None:
        await self.store.heartbeat(self.process_id, ttl)

    async def dead_processes(self) -> dict[str, list[tuple[str, str, str]]]:
        return await self.store.dead_processes()

    async def forget_process(self, process_id: str) -> None:
        await self.store.forget_process(process_id)
