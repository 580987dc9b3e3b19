"""Where rooms live: the Store interface and its implementations."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .base import MemberRecord, RoomRecord, Store
from .memory import MemoryStore

if TYPE_CHECKING:
    from .redis import RedisStore

__all__ = ["MemberRecord", "MemoryStore", "RedisStore", "RoomRecord", "Store"]


def __getattr__(name: str) -> Any:
    # RedisStore needs the redis package, which only scale-out deployments install.
    if name == "RedisStore":
        from .redis import RedisStore

        return RedisStore
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
