"""The room password check and the throttles around it.

Guessing a room's password must cost the guesser, not the class:

- every attempt is **reserved** in the store (counted as a failure) *before* its hash runs, so
  that a hundred guesses sent at once cannot all pass the "fewer than ``join_failures``" check
  while the first hashes are still running; a right password refunds its reservation;
- the same holds per **peer address** (``Identity.address``, the address Jupyter's handler saw,
  not engine.io's, which is 127.0.0.1 for everyone behind tornado), with a larger allowance
  (``join_failures_per_address``) since one address may be a whole classroom behind NAT;
  except 127.0.0.1 and ::1 (see SHARED_ADDRESSES);
- at most ``checks_per_user`` hashes of one user and ``checks_per_room`` of one room run at
  once in this process; more wait their turn, so one user's or one room's burst cannot take
  the whole argon2 pool (two threads) from the other rooms.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

from .passwords import verify_password
from .protocol import ErrorCode, ProtocolError

if TYPE_CHECKING:
    from .rooms import Identity, Limits
    from .store import RoomRecord, Store

audit = logging.getLogger("jupyter_classroom.audit")

ANY_ROOM = "*"  # the per-address counter spans every room
# Where every local process comes from (kernels reach the server at 127.0.0.1), and a proxy
# that does not say who its client is: an address that tells nobody apart is not throttled,
# else one student's guesses would lock out every kernel of the machine.
SHARED_ADDRESSES = frozenset({"127.0.0.1", "::1"})


def address_key(address: str) -> str:
    # A separate namespace from usernames in the store's failure counters.
    return f"\0address:{address}"


class Gates:
    """Per-key semaphores of ``size``, made on first use and dropped when nobody holds or
    waits for them (so the table holds only the keys busy now)."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._gates: dict[str, tuple[asyncio.Semaphore, int]] = {}

    @asynccontextmanager
    async def entered(self, key: str) -> AsyncIterator[None]:
        gate, users = self._gates.get(key, (asyncio.Semaphore(self.size), 0))
        self._gates[key] = (gate, users + 1)
        try:
            async with gate:
                yield
        finally:
            gate, users = self._gates[key]
            if users <= 1:
                del self._gates[key]
            else:
                self._gates[key] = (gate, users - 1)


class PasswordGuard:
    def __init__(self, store: Store, limits: Limits) -> None:
        self.store = store
        self.limits = limits
        self._users = Gates(limits.checks_per_user)
        self._rooms = Gates(limits.checks_per_room)

    def _locked_out(self) -> ProtocolError:
        return ProtocolError(
            ErrorCode.RATE_LIMITED,
            f"too many wrong passwords; try again in {int(self.limits.join_lockout)} seconds",
        )

    async def check(self, who: Identity, room: RoomRecord, password: str | None) -> None:
        """Return if ``password`` opens ``room``; else raise ``bad_password`` or, past the
        allowance, ``rate_limited``."""
        assert room.password_hash is not None
        limits = self.limits
        shared = not who.address or who.address in SHARED_ADDRESSES
        by_address = None if shared else address_key(who.address)
        # Refuse cheaply, before queueing, when a lockout is already on.
        if await self.store.join_failures(who.user, room.id) >= limits.join_failures:
            self._refused(who, room, "locked out")
            raise self._locked_out()
        if by_address and (
            await self.store.join_failures(by_address, ANY_ROOM) >= limits.join_failures_per_address
        ):
            self._refused(who, room, "address locked out")
            raise self._locked_out()
        if not password:
            raise ProtocolError(ErrorCode.BAD_PASSWORD, "this room needs a password")
        async with self._users.entered(who.user), self._rooms.entered(room.id):
            await self._reserve(who, room, by_address)
            right = False  # a check that does not finish keeps its reservation
            try:
                right = await verify_password(room.password_hash, password)
            finally:
                if right:
                    await self._refund(who, room, by_address)
        if not right:
            self._refused(who, room, "wrong password")
            raise ProtocolError(ErrorCode.BAD_PASSWORD, "wrong password for this room")

    async def _reserve(self, who: Identity, room: RoomRecord, by_address: str | None) -> None:
        """Count this attempt as a failure now; refuse it if that goes past an allowance."""
        limits = self.limits
        window = limits.join_lockout
        if await self.store.add_join_failure(who.user, room.id, window) > limits.join_failures:
            self._refused(who, room, "locked out")
            raise self._locked_out()
        if by_address and (
            await self.store.add_join_failure(by_address, ANY_ROOM, window)
            > limits.join_failures_per_address
        ):
            await self.store.refund_join_failure(who.user, room.id)  # it never ran
            self._refused(who, room, "address locked out")
            raise self._locked_out()

    async def _refund(self, who: Identity, room: RoomRecord, by_address: str | None) -> None:
        await self.store.refund_join_failure(who.user, room.id)
        if by_address:
            await self.store.refund_join_failure(by_address, ANY_ROOM)

    @staticmethod
    def _refused(who: Identity, room: RoomRecord, why: str) -> None:
        audit.warning(
            "join refused: %s; user=%r address=%s room=%s", why, who.user, who.address, room.id
        )
