"""Video through a Selective Forwarding Unit: Janus's VideoRoom, driven by the room server.

``config`` writes a managed Janus's configuration, ``process`` runs it, ``janus_api`` speaks
its WebSocket API, ``videoroom`` keeps one VideoRoom per classroom room (its parts:
``state``, ``session``, ``rooms``, ``streams``), and ``service`` ties
them into the component ``ClassroomApp`` builds. docs/sfu.md says how to run it.
"""

from .service import Sfu, SfuSettings, VideoMode

__all__ = ["Sfu", "SfuSettings", "VideoMode"]
