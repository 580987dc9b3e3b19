"""Notebook widgets: the lobby, the classroom and its parts."""

from .chat import Chat
from .classroom import Classroom
from .lobby import Lobby
from .participants import Participants
from .video import Video
from .whiteboard import Whiteboard

__all__ = ["Chat", "Classroom", "Lobby", "Participants", "Video", "Whiteboard"]
