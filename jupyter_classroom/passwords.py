"""Room password hashing: argon2id, run off the event loop, compared in constant time.

An argon2 hash costs tens of milliseconds of CPU on purpose; on the event loop it would stall
every room on the server, so both hashing and verification go to a small thread pool.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

# Interactive-login parameters (RFC 9106's second recommendation, memory lowered for a
# classroom server that may verify many joins at once).
_hasher = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)
_pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="classroom-argon2")


async def hash_password(password: str) -> str:
    """The argon2id hash of ``password`` (salted; the clear text is never stored)."""
    return await asyncio.get_running_loop().run_in_executor(_pool, _hasher.hash, password)


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


async def verify_password(password_hash: str, password: str) -> bool:
    """Whether ``password`` matches; argon2's verify compares in constant time."""
    return await asyncio.get_running_loop().run_in_executor(_pool, _verify, password_hash, password)
