"""``PeerLink``: the one ``RTCPeerConnection`` with one remote member, negotiated the way the
browsers do it ("perfect negotiation").

Either side may offer at any time; when two offers cross, the *polite* side (the member with
the greater id) gives way and answers, the impolite side ignores the offer it received.
Browsers give way with a rollback; aiortc has none, so a polite link that has never been
answered replaces its connection with a fresh one (nothing was established yet), and a
collision during a *re*-negotiation restarts the link (``bye``, then a fresh offer).

One case the browsers' pattern does not meet, because a Python member may start its media
after it joined: an offer sent to it before it listened is lost. An impolite link that
ignored the polite side's offer while its own stays unanswered for ``offer_timeout``
therefore concludes its offer was lost and answers the other one; should the answer to its
own offer turn up after all (it was only slow), the two sides no longer match, and the link
restarts. An offer that carries new DTLS fingerprints comes from a new remote connection (a
reload or reconnect without ``bye``) and replaces the current one.

What it sends follows the room's lecture controls (``may_send``, asked at each negotiation):
while its member may not publish, every transceiver is receive-only (the server refuses an
offer or answer that would send, docs/protocol.md "Lecture controls"), so it keeps watching;
``sending_changed()`` renegotiates after a change. ``muted`` keeps its audio senders empty
(nothing is sent for them, the negotiated direction stays), as ``rtc:mute_all`` asks. Should
the server refuse a description all the same (the policy changed while it was on its way), the
half-made negotiation is dropped (``bye``) and the next ``sending_changed()`` starts afresh.

Every signal and every local request for one link is handled in order by one task, so the
connection is never touched by two negotiations at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any, Literal

from aiortc import (
    MediaStreamTrack,
    RTCConfiguration,
    RTCIceCandidate,
    RTCPeerConnection,
    RTCRtpSender,
)

from ..client.connection import ClassroomError
from .fanout import ConnectionTrack
from .signals import (
    BYE,
    Signal,
    candidate_from_signal,
    description_from_signal,
    description_signal,
    fingerprints,
)

log = logging.getLogger("jupyter_classroom.media")

Send = Callable[[Signal], Awaitable[None]]
TrackListener = Callable[["PeerLink", MediaStreamTrack], None]
ClosedListener = Callable[["PeerLink"], None]
Subscribe = Callable[[MediaStreamTrack], MediaStreamTrack]
_Kind = Literal["signal", "negotiate", "stale", "add", "failed", "sending"]
MAX_RESTARTS = 3  # after a failed connection; beyond, the link closes


class LinkClosed(Exception):
    """The link closed before the request could be carried out."""


class PeerLink:
    """The media connection with member ``remote_id``."""

    def __init__(
        self,
        remote_id: str,
        *,
        polite: Callable[[], bool],
        send: Send,
        sources: Callable[[], list[MediaStreamTrack]],
        subscribe: Subscribe,
        configuration: RTCConfiguration,
        on_track: TrackListener,
        on_closed: ClosedListener,
        receive: tuple[str, ...] = ("audio", "video"),
        offer_timeout: float = 1.0,
        may_send: Callable[[], bool] = lambda: True,
        muted: Callable[[], bool] = lambda: False,
    ) -> None:
        self.remote_id = remote_id
        self._polite = polite
        self._send = send
        self._sources = sources
        self._subscribe = subscribe
        self._configuration = configuration
        self._on_track = on_track
        self._on_closed = on_closed
        self.receive = receive
        self.offer_timeout = offer_timeout
        self._may_send = may_send
        self._muted = muted
        self.closed = False
        self.restarts = 0
        self.failures = 0  # connections that failed (MAX_RESTARTS of them are restarted)
        self._queue: asyncio.Queue[tuple[_Kind, Any, asyncio.Future[None] | None]] = asyncio.Queue()
        self._senders: dict[MediaStreamTrack, RTCRtpSender] = {}  # source -> its sender here
        self._pending_candidates: list[RTCIceCandidate | None] = []
        self._ignored_offer: Signal | None = None
        self._ignored_candidates: list[RTCIceCandidate | None] = []
        self._stale_timer: asyncio.TimerHandle | None = None
        self._dirty = False
        self._took_over = False  # we answered an offer we had ignored (see _handle_stale)
        self._settle_waiters: list[asyncio.Future[None]] = []
        self.pc = self._new_pc()
        self._worker = asyncio.ensure_future(self._run())

    # ---------------------------------------------------------------------------------------
    # requests (any task): queued, carried out in order by the link's own task

    def post_signal(self, data: Signal) -> None:
        """A signal from the remote member."""
        self._put("signal", data)

    async def negotiate(self) -> None:
        """Offer now unless a negotiation is under way or done; raises what sending raised
        (e.g. ClassroomError ``not_found`` for a member outside the room)."""
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._put("negotiate", None, future)
        await future

    def add_source(self, track: MediaStreamTrack) -> asyncio.Future[None]:
        """Send ``track`` too, renegotiating if the connection is already set up. The
        future is done when the link is settled again (answered, or closed): by then the
        remote has been told about the track."""
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._put("add", track, future)
        if self.closed:
            future.exception()  # retrieved: nobody need await it
        return future

    def sending_changed(self) -> None:
        """Whether its member may send changed (``may_send``): renegotiate what it sends."""
        self._put("sending", None)

    def apply_mute(self) -> None:
        """Empty the audio senders while ``muted()``, fill them again after: no renegotiation,
        the remote's track just receives nothing meanwhile."""
        for source, sender in self._senders.items():
            if source.kind != "audio":
                continue
            if self._muted() and sender.track is not None:
                reader = sender.track
                sender.replaceTrack(None)
                _retire(reader)
            elif not self._muted() and sender.track is None and source.readyState == "live":
                sender.replaceTrack(self._subscribe(source))

    @property
    def sending(self) -> bool:
        """Whether any of its senders has a track (what the remote receives from us)."""
        return any(sender.track is not None for sender in self._senders.values())

    @property
    def polite(self) -> bool:
        return self._polite()

    @property
    def state(self) -> str:
        """The connection state: new, connecting, connected, failed or closed."""
        return "closed" if self.closed else str(self.pc.connectionState)

    def _put(self, kind: _Kind, arg: Any, future: asyncio.Future[None] | None = None) -> None:
        if self.closed:
            if future is not None and not future.done():
                future.set_exception(LinkClosed(f"link with {self.remote_id} is closed"))
            return
        self._queue.put_nowait((kind, arg, future))

    # ---------------------------------------------------------------------------------------
    # the link's task

    async def _run(self) -> None:
        while not self.closed:
            kind, arg, future = await self._queue.get()
            if self.closed:
                _fail(future, LinkClosed(f"link with {self.remote_id} is closed"))
                break
            try:
                if kind == "signal":
                    await self._handle_signal(arg)
                elif kind == "negotiate":
                    if self._idle():
                        await self._offer()
                elif kind == "add":
                    self._dirty = True
                    if future is not None:
                        self._settle_waiters.append(future)
                        future = None
                elif kind == "stale":
                    await self._handle_stale(arg)
                elif kind == "failed":
                    await self._handle_failed(arg)
                elif kind == "sending":
                    await self._handle_sending()
                if not self.closed and self._needs_negotiation():
                    await self._offer()
            except Exception as exc:
                if future is None:
                    if not self.closed:
                        log.warning("media link with %s: %s failed: %r", self.remote_id, kind, exc)
                else:
                    _fail(future, exc)
                    continue
            if future is not None and not future.done():
                future.set_result(None)
            self._resolve_settled()
        self._resolve_settled()
        while not self._queue.empty():
            kind, _, future = self._queue.get_nowait()
            if kind == "add" and future is not None and not future.done():
                future.set_result(None)  # settled: there is nothing left to negotiate
            _fail(future, LinkClosed(f"link with {self.remote_id} closed"))

    def _resolve_settled(self) -> None:
        if self.closed or (self.pc.signalingState == "stable" and not self._dirty):
            waiters, self._settle_waiters = self._settle_waiters, []
            for waiter in waiters:
                if not waiter.done():
                    waiter.set_result(None)

    def _idle(self) -> bool:
        """Nothing negotiated and nothing under way: an offer is needed to get going."""
        pc = self.pc
        return pc.signalingState == "stable" and pc.remoteDescription is None

    def _needs_negotiation(self) -> bool:
        """aiortc has no ``negotiationneeded``: a track added since the last offer, or one an
        answer could not carry (no matching m-line), calls for a new offer."""
        if self.pc.signalingState != "stable" or self.pc.remoteDescription is None:
            return False
        self._attach_sources()
        unsent = any(t.mid is None for t in self.pc.getTransceivers())
        return self._dirty or unsent

    async def _handle_signal(self, data: Signal) -> None:
        kind = data.get("type")
        if kind == "bye":
            await self.close(send_bye=False)
        elif kind == "offer":
            await self._handle_offer(data)
        elif kind == "answer":
            if self.pc.signalingState != "have-local-offer":
                if self._took_over:
                    # our offer was answered after all, late: the remote's connection now
                    # answers one we dropped. Start over rather than stay mismatched.
                    await self._restart()
                else:
                    log.debug("media link with %s: stale answer ignored", self.remote_id)
                return
            await self.pc.setRemoteDescription(description_from_signal(data))
            self._forget_ignored_offer()
            await self._flush_candidates()
        elif kind == "candidate":
            candidate = candidate_from_signal(data)
            if self._ignored_offer is not None:
                self._ignored_candidates.append(candidate)  # they belong to the ignored offer
            elif self.pc.remoteDescription is None:
                self._pending_candidates.append(candidate)
            else:
                await self._add_candidate(candidate)

    async def _handle_offer(self, data: Signal) -> None:
        current = self.pc.remoteDescription
        if current is not None and fingerprints(current.sdp) != fingerprints(data.get("sdp") or ""):
            # the remote started a new connection without a bye (a reload, a reconnect)
            log.info("media link with %s: new remote session", self.remote_id)
            await self._replace_pc()
        collision = self.pc.signalingState != "stable"
        if collision and not self.polite:
            # the browsers' rule: the impolite side ignores the offer (and its candidates)
            self._ignored_offer = data
            self._ignored_candidates = []
            self._arm_stale_check(data)
            return
        if collision:
            if self.pc.remoteDescription is not None:
                await self._restart()  # a renegotiation collided: start over cleanly
                return
            await self._replace_pc()  # our first offer was never answered: drop it
        await self._answer(data)

    async def _answer(self, data: Signal) -> None:
        self._forget_ignored_offer()
        self._attach_sources()  # before the offer is applied, so its m-lines carry our tracks
        self._stop_sending_unless_allowed()
        await self.pc.setRemoteDescription(description_from_signal(data))
        await self._flush_candidates()
        await self.pc.setLocalDescription(await self.pc.createAnswer())
        await self._send_description()

    async def _offer(self) -> None:
        self._dirty = False
        self._attach_sources()
        self._stop_sending_unless_allowed()
        kinds = {t.kind for t in self.pc.getTransceivers()}
        for kind in self.receive:
            if kind not in kinds:
                self.pc.addTransceiver(kind, direction="recvonly")
        if not self.pc.getTransceivers():
            return  # nothing to send and nothing wanted: no media to negotiate
        await self.pc.setLocalDescription(await self.pc.createOffer())
        if self.closed:
            return
        await self._send_description()

    async def _send_description(self) -> None:
        try:
            await self._send(description_signal(self.pc.localDescription))
        except ClassroomError as exc:
            if exc.code == "forbidden":
                # the host stopped students' media while this was on its way: drop the
                # half-made negotiation; sending_changed() (rtc:policy) starts afresh
                log.info("media link with %s: %s", self.remote_id, exc.message)
                await self._replace_pc()
                with contextlib.suppress(Exception):
                    await self._send(BYE)
            raise

    async def _handle_sending(self) -> None:
        """Our member may now send, or may no longer: negotiate what we send anew."""
        if self._idle():
            await self._offer()  # nothing negotiated yet (or dropped after a refusal)
            return
        if self._may_send():
            unsent = [s for s in self._sources() if s not in self._senders]
            changed = any(s.readyState == "live" for s in unsent)
        else:
            changed = self._stop_sending_unless_allowed()
        self._dirty = self._dirty or changed  # the loop offers once the connection is stable

    def _stop_sending_unless_allowed(self) -> bool:
        """While our member may not publish, every transceiver only receives: its SDP says
        ``recvonly`` (what the server lets through) and its senders carry nothing. Whether
        that changed anything."""
        if self._may_send():
            return False
        changed = False
        self._senders = {}
        for transceiver in self.pc.getTransceivers():
            reader = transceiver.sender.track
            if reader is not None:
                transceiver.sender.replaceTrack(None)
                _retire(reader)
            if transceiver.direction in ("sendrecv", "sendonly"):
                transceiver.direction = "recvonly"
                changed = True
        return changed

    def _arm_stale_check(self, data: Signal) -> None:
        if self._stale_timer is not None:
            self._stale_timer.cancel()
        self._stale_timer = asyncio.get_running_loop().call_later(
            self.offer_timeout, lambda: self._put("stale", data)
        )

    def _forget_ignored_offer(self) -> None:
        self._ignored_offer = None
        self._ignored_candidates = []
        if self._stale_timer is not None:
            self._stale_timer.cancel()
            self._stale_timer = None

    async def _handle_stale(self, data: Signal) -> None:
        if data is not self._ignored_offer or self.pc.signalingState != "have-local-offer":
            return  # answered meanwhile
        log.info("media link with %s: our offer went unanswered; taking theirs", self.remote_id)
        candidates = self._ignored_candidates
        if self.pc.remoteDescription is not None:
            await self._restart()
            return
        await self._replace_pc()
        self._took_over = True
        self._pending_candidates = candidates
        await self._answer(data)

    async def _handle_failed(self, pc: RTCPeerConnection) -> None:
        """The connection failed (ICE found no path, or the two sides answered different
        offers in a race). The impolite side starts over; the polite side waits for that
        (its ``bye`` and offer replace this connection)."""
        if pc is not self.pc:
            return
        # (only failures count: the restarts of crossed offers, as when both sides of a link
        # go receive-only together on rtc:policy, are no reason to give up on the link)
        self.failures += 1
        if self.failures > MAX_RESTARTS:
            await self.close()
        elif not self.polite:
            log.info("media link with %s failed; restarting", self.remote_id)
            await self._restart()

    async def _restart(self) -> None:
        """Tell the remote to drop its side (``bye``) and connect afresh with an offer."""
        self.restarts += 1
        self._took_over = False
        self._forget_ignored_offer()
        await self._send(BYE)
        await self._replace_pc()
        await self._offer()

    # ---------------------------------------------------------------------------------------
    # the connection

    def _new_pc(self) -> RTCPeerConnection:
        pc = RTCPeerConnection(self._configuration)

        @pc.on("track")
        def on_track(track: MediaStreamTrack) -> None:
            if pc is self.pc and not self.closed:
                self._on_track(self, track)

        @pc.on("connectionstatechange")
        async def on_state() -> None:
            log.debug("media link with %s: %s", self.remote_id, pc.connectionState)
            if pc is self.pc and pc.connectionState == "connected":
                self._took_over = False
            if pc is self.pc and pc.connectionState == "failed":
                self._put("failed", pc)

        return pc

    async def _replace_pc(self) -> None:
        old, self.pc = self.pc, self._new_pc()
        self._pending_candidates = []
        self._drop_senders()
        await old.close()

    def _attach_sources(self) -> None:
        if not self._may_send():
            return
        for source in self._sources():
            if source not in self._senders and source.readyState == "live":
                # (aiortc reuses an emptied transceiver of the kind, and makes it send again)
                self._senders[source] = self.pc.addTrack(self._subscribe(source))
        self.apply_mute()

    def _drop_senders(self) -> None:
        for sender in self._senders.values():
            if sender.track is not None:
                sender.track.stop()  # the relay's proxy for this connection
        self._senders = {}

    async def _flush_candidates(self) -> None:
        candidates, self._pending_candidates = self._pending_candidates, []
        for candidate in candidates:
            await self._add_candidate(candidate)

    async def _add_candidate(self, candidate: RTCIceCandidate | None) -> None:
        try:
            await self.pc.addIceCandidate(candidate)
        except Exception as exc:  # a candidate for an m-line we no longer have
            log.debug("media link with %s: candidate refused: %r", self.remote_id, exc)

    async def close(self, *, send_bye: bool = True) -> None:
        """Close the connection (telling the remote with ``bye`` unless it told us)."""
        if self.closed:
            return
        self.closed = True
        self._forget_ignored_offer()
        self._queue.put_nowait(("negotiate", None, None))  # wake the task so it ends
        if send_bye:
            with contextlib.suppress(Exception):
                await self._send(BYE)
        self._drop_senders()
        await self.pc.close()
        self._on_closed(self)

    def __repr__(self) -> str:
        return f"<PeerLink with {self.remote_id} {self.state}>"


def _retire(reader: MediaStreamTrack) -> None:
    """Stop a sender's reader it no longer reads (the fanout's, for this connection)."""
    if isinstance(reader, ConnectionTrack):
        reader.retire()
    else:
        reader.stop()


def _fail(future: asyncio.Future[None] | None, exc: BaseException) -> None:
    if future is not None and not future.done():
        future.set_exception(exc)
