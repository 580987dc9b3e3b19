"""``Sfu``: the room server's SFU component, from its settings to a Janus session.

It holds the :class:`~.videoroom.VideoRooms` and, unless ``janus_url`` names an external
Janus, a :class:`~.process.ManagedJanus` started when a room first needs it and stopped with
the server.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from .config import JanusSettings
from .janus_api import JanusSession
from .process import ManagedJanus
from .videoroom import VideoRooms

VideoMode = Literal["auto", "mesh", "sfu"]


@dataclass(frozen=True)
class SfuSettings:
    """The ``ClassroomApp`` video traits that concern the SFU."""

    mode: VideoMode = "mesh"
    threshold: int = 6  # "auto": members from which a room's video goes through the SFU
    janus_url: str = ""  # ws://host:port/ or unix:/path of an external Janus; "": managed
    janus_admin_key: str = ""  # the external Janus's VideoRoom admin_key, if it sets one
    janus: JanusSettings = field(default_factory=JanusSettings)  # a managed Janus
    janus_command_prefix: tuple[str, ...] = ()


class Sfu:
    """The VideoRooms of this server and the Janus they live in."""

    def __init__(self, settings: SfuSettings) -> None:
        self.settings = settings
        self.managed: ManagedJanus | None = None
        if not settings.janus_url:
            self.managed = ManagedJanus(
                settings.janus, command_prefix=settings.janus_command_prefix
            )
        # an external Janus outlives this process, and other processes use it
        self.rooms = VideoRooms(
            self._connect, admin_key=settings.janus_admin_key, shared=bool(settings.janus_url)
        )

    async def _connect(self) -> JanusSession:
        if self.managed is None:
            return await JanusSession.open(self.settings.janus_url)
        url = await self.managed.ensure_running()
        self.rooms.admin_key = self.managed.admin_key
        return await JanusSession.open(url)

    async def close(self) -> None:
        """Destroy the rooms, end the session and stop a managed Janus."""
        try:
            await self.rooms.close()
        finally:
            if self.managed is not None:
                await self.managed.stop()
