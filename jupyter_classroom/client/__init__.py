"""Python clients of the room server."""

from .client import Client
from .connection import ClassroomError, Connection, RoomState

__all__ = ["ClassroomError", "Client", "Connection", "RoomState"]
