"""What one room-server process holds of a classroom room's VideoRoom: the room's keys, the
Janus handles of its own publishers and subscribers, and the refusal every part raises when
Janus cannot be reached."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any, Literal

from .janus_api import JanusHandle
from .shared import RoomKeys

NO_SUCH_ROOM = 426  # JANUS_VIDEOROOM_ERROR_NO_SUCH_ROOM
ROOM_EXISTS = 427  # JANUS_VIDEOROOM_ERROR_ROOM_EXISTS
NO_SUCH_FEED = 428  # JANUS_VIDEOROOM_ERROR_NO_SUCH_FEED
UNAUTHORIZED = 433  # JANUS_VIDEOROOM_ERROR_UNAUTHORIZED

Layer = Literal["high", "low"]
# Janus's simulcast substreams count from the smallest (0). "high" asks for the largest there
# is: Janus falls back to the best layer a publisher sends when it sends fewer than three.
SUBSTREAMS: dict[str, int] = {"low": 0, "high": 2}


class SfuUnavailable(Exception):
    """Janus cannot be reached (or refused): the request fails, the room stays as it was."""


def janus_jsep(kind: str, sdp: str) -> dict[str, Any]:
    # aiortc and browsers that gather first send every candidate inside the SDP
    return {"type": kind, "sdp": sdp, "trickle": False}


@dataclass
class Publisher:
    member_id: str
    handle: JanusHandle
    feed: int  # the publisher's id in the VideoRoom
    # set when its media reaches Janus (``webrtcup``): Janus lets nobody watch it before
    live: asyncio.Event = field(default_factory=asyncio.Event)


@dataclass
class Subscription:
    """A member watching a publisher: its Janus handle, the ``mid``s of the video streams on
    it (what ``configure`` names to pick a simulcast layer), the layer last asked for, and
    the substream Janus says it forwards (its events), with the best one it has."""

    handle: JanusHandle
    video_mids: list[str] = field(default_factory=list)
    layer: Layer = "high"
    substream: int = -1  # (-1: Janus has not said yet)
    best_substream: int = -1
    recovering: bool = False  # asking Janus again for the layer asked for

    @property
    def off_layer(self) -> bool:
        """Janus forwards another substream than the layer asked for: below the best it had
        for the high layer (it fell back), above the lowest for the low layer (it started on
        a higher one, or has not left it). Janus moves only on a keyframe of the one wanted."""
        if self.layer == "high":
            return self.substream < self.best_substream
        return self.substream > SUBSTREAMS["low"]


@dataclass
class VideoRoom:
    """A classroom room's VideoRoom as this process uses it: its keys (shared) and the
    handles of this process's members."""

    room_id: str
    keys: RoomKeys | None = None
    created: bool = False  # known to exist in Janus on the current session
    publishers: dict[str, Publisher] = field(default_factory=dict)
    # (subscriber member, publisher member) -> its subscription
    subscribers: dict[tuple[str, str], Subscription] = field(default_factory=dict)
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    @property
    def janus_id(self) -> int:
        return self.keys.janus_id if self.keys else 0

    def members(self) -> set[str]:
        """Who publishes or watches through this process."""
        return set(self.publishers) | {m for m, _ in self.subscribers}

    def handles(self) -> list[JanusHandle]:
        return [p.handle for p in self.publishers.values()] + [
            s.handle for s in self.subscribers.values()
        ]
