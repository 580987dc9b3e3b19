"""Where rooms live: the Store interface and its implementations."""

from .base import MemberRecord, RoomRecord, Store
from .memory import MemoryStore

__all__ = ["MemberRecord", "MemoryStore", "RoomRecord", "Store"]
