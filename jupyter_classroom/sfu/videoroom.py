"""One Janus VideoRoom per classroom room, driven by the room servers.

The classroom's members never talk to Janus: the room server publishes and subscribes for
them (:mod:`jupyter_classroom.server.sfu_events`) with the SDP they send through our socket.
Each classroom room gets a VideoRoom with a random numeric id, a random ``secret`` (to destroy
it, kick from it) and a random ``pin`` (to join it): none of them leaves the servers, so only
a room server, which checks membership first, reaches a room's media.

Several room-server processes may serve one classroom room (a hub deployment on Redis): the
VideoRoom's keys are drawn once and shared through the Store (:mod:`.shared`), each process
makes sure the room exists in Janus (``create``; "already exists" with our secret is the same
room, made by another process) and keeps the handles of its own members. Who publishes is
Janus's ``listparticipants`` (every process's publishers, the display being the member id),
and a member on one process watches a publisher on another by its feed id there.

Janus state is per session: when the connection to Janus ends (Janus stopped or restarted)
this process's publishers and subscribers are gone. :class:`VideoRooms` then connects again,
makes the rooms it served exist again under the same keys and tells the owner (``on_reset``):
the whole room when it made the VideoRoom afresh (Janus lost it), else only the members whose
streams went through this process.

The parts, one concept each: :mod:`.state` (what a process holds of a room), :mod:`.session`
(the Janus session), :mod:`.rooms` (a VideoRoom's existence in Janus, what Janus lists),
:mod:`.streams` (publishers, subscribers, simulcast layers); :class:`VideoRooms` is them
together, with the server's stop.
"""

from __future__ import annotations

from .state import Layer, Publisher, SfuUnavailable, Subscription, VideoRoom, janus_jsep
from .streams import Streams

__all__ = [
    "Layer",
    "Publisher",
    "SfuUnavailable",
    "Subscription",
    "VideoRoom",
    "VideoRooms",
    "janus_jsep",
]


class VideoRooms(Streams):
    """The VideoRooms this room server uses, on one Janus session at a time.

    ``connect`` opens a session (starting a managed Janus first when need be); ``admin_key``
    is the VideoRoom plugin's, if it has one; ``registry`` holds the rooms' keys (the Store,
    shared by every process). ``shared`` says Janus outlives this process and others use it
    (an external Janus): a room is then destroyed in it even when this process never
    connected. ``on_change(room_id)`` is awaited when this process's publishers changed (one
    went live, or ended by itself: a hangup), ``on_reset(room_id, members)`` after Janus came
    back without this process's streams.
    """

    async def close(self) -> None:
        """The server stops: its own streams end. The VideoRooms stay for the classroom
        rooms, which outlive this process (others serve them, or it comes back); a managed
        Janus stops with the server and takes them along. With the Store in this process's
        memory the classroom rooms end with it, and their VideoRooms go."""
        for room_id, room in list(self.rooms.items()):
            if not self.rooms_outlive_process:  # one process, its Store in memory: they end
                await self.close_room(room_id)
                continue
            for handle in room.handles():
                await handle.detach()
        self.rooms.clear()
        await self._close_session()
