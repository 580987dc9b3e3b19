"""jupyter_classroom: a classroom inside Jupyter (rooms, whiteboard, chat, WebRTC video)."""

from __future__ import annotations

from typing import Any

from ._version import __version__
from .client import ClassroomError, Client, Connection
from .names import LABEXTENSION

__all__ = [
    "Classroom",
    "ClassroomError",
    "Client",
    "Connection",
    "Lobby",
    "Whiteboard",
    "__version__",
]


def __getattr__(name: str) -> Any:
    # The widgets import ipywidgets and ipycanvas: only load them when asked for.
    if name in ("Classroom", "Lobby", "Whiteboard", "Chat", "Participants", "Video"):
        from . import widgets

        return getattr(widgets, name)
    raise AttributeError(name)


def _jupyter_server_extension_points() -> list[dict[str, Any]]:
    from .server.app import ClassroomApp

    return [{"module": "jupyter_classroom", "app": ClassroomApp}]


def _jupyter_labextension_paths() -> list[dict[str, str]]:
    return [{"src": "labextension", "dest": LABEXTENSION}]
