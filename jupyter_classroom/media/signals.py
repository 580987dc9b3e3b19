"""The ``rtc:signal`` payloads as aiortc objects, and back.

Browsers speak the W3C shapes (``RTCSessionDescriptionInit``, ``RTCIceCandidateInit``); aiortc
has its own classes. Keeping the translation here means the negotiation code only ever sees
aiortc objects, and a browser quirk (the ``candidate:`` prefix, the empty end-of-candidates
string) is handled in one place.
"""

from __future__ import annotations

from typing import Any

from aiortc import RTCIceCandidate, RTCSessionDescription
from aiortc.sdp import candidate_from_sdp, candidate_to_sdp

Signal = dict[str, Any]  # the ``data`` of an rtc:signal: {type, sdp?, candidate?}

BYE: Signal = {"type": "bye"}


def is_polite(local_id: str, remote_id: str) -> bool:
    """The browsers' rule: the member with the greater id yields in an offer collision."""
    return local_id > remote_id


def description_signal(description: RTCSessionDescription) -> Signal:
    return {"type": description.type, "sdp": description.sdp}


def description_from_signal(data: Signal) -> RTCSessionDescription:
    return RTCSessionDescription(sdp=str(data.get("sdp") or ""), type=str(data["type"]))


def fingerprints(sdp: str) -> frozenset[str]:
    """The DTLS certificate fingerprints of a session description: they name the remote
    connection, so an offer carrying new ones comes from a new connection (a reload, a
    reconnect), not from a renegotiation of the current one."""
    return frozenset(
        line.split(":", 1)[1].strip().lower()
        for line in sdp.splitlines()
        if line.startswith("a=fingerprint:")
    )


def candidate_from_signal(data: Signal) -> RTCIceCandidate | None:
    """The remote candidate of a ``candidate`` signal; None means end-of-candidates (a
    browser sends an empty candidate string, or a null candidate, when gathering ends)."""
    init = data.get("candidate")
    if not init or not init.get("candidate"):
        return None
    line = str(init["candidate"]).strip()
    if line.startswith("a="):
        line = line[2:]
    if line.startswith("candidate:"):
        line = line[len("candidate:") :]
    candidate = candidate_from_sdp(line)
    candidate.sdpMid = init.get("sdpMid")
    candidate.sdpMLineIndex = init.get("sdpMLineIndex")
    if candidate.sdpMid is None and candidate.sdpMLineIndex is None:
        candidate.sdpMLineIndex = 0  # one bundled transport: the first m-line carries it
    return candidate


def candidate_signal(candidate: RTCIceCandidate) -> Signal:
    """A ``candidate`` signal for one local candidate (aiortc puts its candidates in the SDP,
    so the peer never needs this; tests and custom signaling do)."""
    return {
        "type": "candidate",
        "candidate": {
            "candidate": "candidate:" + candidate_to_sdp(candidate),
            "sdpMid": candidate.sdpMid,
            "sdpMLineIndex": candidate.sdpMLineIndex,
        },
    }
