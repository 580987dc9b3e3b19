"""WebRTC media from Python: an aiortc room member that publishes and records video.

It speaks the same ``rtc:signal`` signaling as the browsers' video view (perfect
negotiation, one connection per remote member), or publishes and watches through the room's
SFU, so headless tests and demo notebooks can stand in for a camera or a viewer::

    peer = video_peer(client)                    # in a notebook, with a Client: the mesh
                                                 # or the SFU, as the room's video goes
    peer.publish(TestPatternTrack())             # or ColorTrack, FrameTrack, "movie.mp4"
    peer.wait_frames(other_member_id, 30)        # frames from another member
    peer.record(other_member_id, "class.mp4")    # ...to a file
"""

from .link import LinkClosed, PeerLink
from .peer import MediaPeer
from .received import ReceivedTrack
from .recording import Recording
from .sfu_peer import SfuPeer
from .signals import is_polite
from .sync import SyncMediaPeer, SyncPeer, SyncRecording, SyncSfuPeer, video_peer
from .tracks import (
    ColorTrack,
    FrameTrack,
    PacedVideoTrack,
    TestPatternTrack,
    figure_renderer,
    file_tracks,
    read_counter,
)

__all__ = [
    "ColorTrack",
    "FrameTrack",
    "LinkClosed",
    "MediaPeer",
    "PacedVideoTrack",
    "PeerLink",
    "ReceivedTrack",
    "Recording",
    "SfuPeer",
    "SyncMediaPeer",
    "SyncPeer",
    "SyncRecording",
    "SyncSfuPeer",
    "TestPatternTrack",
    "figure_renderer",
    "file_tracks",
    "is_polite",
    "read_counter",
    "video_peer",
]
