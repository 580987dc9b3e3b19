"""The Socket.IO layer: authenticate sockets, decode events, call the room logic, emit.

Every client event goes through :meth:`RoomServer._on_any`: the payload is validated against
its schema from :mod:`jupyter_classroom.protocol`, the handler runs, and whatever it raises
becomes a protocol error ack; an unexpected exception is logged and answered with
``internal``, never a traceback or a dropped connection.

Handlers run inline in each socket's read loop (``async_handlers=False``), so one client's
events apply in the order it sent them while other sockets go on concurrently.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import uuid
from collections.abc import Awaitable, Callable
from contextlib import nullcontext
from dataclasses import replace
from typing import Any, NoReturn

import socketio

from .. import protocol as p
from ..policy import Policy
from ..presence import Feed
from ..protocol import ErrorCode, Event, ProtocolError, error_ack, ok_ack
from ..rooms import Departure, Identity, Joined, Rooms, utc_now
from ..tasks import TaskSet
from . import jsoncodec
from .batching import OpBatcher
from .board_events import BoardEvents
from .channels import Session, SocketChannels, member_channel, room_channel
from .fanout import DirectFanoutManager
from .heap import release_freed_memory
from .lesson_events import LessonEvents
from .notebook_events import NotebookEvents
from .quotas import PersonLimits, encode_ahead, encoded_size, limit_key
from .ratelimit import KeyedBuckets
from .settings import Settings
from .sfu_events import SfuEvents

log = logging.getLogger("jupyter_classroom")
audit = logging.getLogger("jupyter_classroom.audit")  # who was refused, kicked, ... (item 14)
REFUSED_CLOSE_DELAY = 0.5  # seconds a refused socket stays open to read its connect_error

ALL_SOCKETS = "classroom:all"
LIST_FULL = "classroom:list-full"  # sockets that take `room:list_changed` (whole lists)
LIST_DIFF = "classroom:list-diff"  # sockets that asked for `room:list_diff` (auth.list_diff)
LIST_MIN_INTERVAL = 0.5  # seconds between two room-list broadcasts, however busy the lobby
LIST_CHANGED_DELAY = 0.1  # coalesce bursts of room-list changes into one broadcast


def peer_address(environ: dict[str, Any]) -> str:
    """The client's address as Jupyter's handler saw it (``X-Forwarded-For`` only when the
    server trusts it, ``ServerApp.trust_xheaders``); engine.io's own ``REMOTE_ADDR`` is
    127.0.0.1 for every socket behind tornado."""
    request = getattr(environ.get("tornado.handler"), "request", None)
    return str(getattr(request, "remote_ip", None) or "")


# (environ, auth) -> (username, display name) of a Jupyter-authenticated socket, or None;
# it may raise ConnectRefused to say why credentials it was shown are not good enough.
Authenticate = Callable[[dict[str, Any], dict[str, Any]], Awaitable[tuple[str, str] | None]]

NO_CREDENTIALS = (
    "this classroom server did not recognise you: open the classroom from JupyterLab, or "
    "pass its token (Client(url=..., token=...)); if you are signed in, reload the page"
)


class ConnectRefused(Exception):
    """Credentials shown at connect that the server refuses, and why.

    ``message`` is for the person (the ``connect_error`` message a page shows); ``reason``
    is for the server's log. Neither holds a secret.
    """

    def __init__(self, message: str, reason: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.reason = reason or message


class RoomServer(BoardEvents, LessonEvents, NotebookEvents, SfuEvents):
    """The python-socketio server speaking the classroom protocol."""

    def __init__(
        self,
        rooms: Rooms,
        settings: Settings,
        policy: Policy,
        authenticate: Authenticate,
        client_manager: socketio.AsyncManager | None = None,
    ) -> None:
        self.rooms = rooms
        self.settings = settings
        self.policy = policy  # who is an admin, who may create rooms
        self._authenticate = authenticate
        self.sessions: dict[str, Session] = {}
        self._list_changed_handle: asyncio.TimerHandle | None = None
        self.tasks = TaskSet("room server task", log)  # timers' tasks, kept until done
        self.batcher = OpBatcher(
            self._send_ops, send_cursors=self._send_cursors, notify_delay=self._notify_delay
        )
        quotas = settings.quotas
        self.tickets = KeyedBuckets(quotas.tickets_per_second, quotas.ticket_burst)
        self.limits = PersonLimits(quotas, settings.limits.max_board_bytes)
        self._listed: dict[str, dict[str, Any]] = {}  # the room list last broadcast, by id
        self._list_sent_at = 0.0
        self.sio = socketio.AsyncServer(
            async_mode="tornado",
            transports=["websocket"],
            cors_allowed_origins=[],  # Jupyter's handler checks Origin; see handler.py
            async_handlers=False,
            max_http_buffer_size=settings.max_message_size,
            client_manager=client_manager,
            serializer=jsoncodec.Packet,
            logger=False,
            engineio_logger=False,
        )
        # The room logic's presence is the only one to put sockets into rooms' channels, and
        # hears of those it is taken out of by another process (fanout.py)
        self.channels = SocketChannels(self.sio, rooms.presence.left_channel)
        rooms.presence.channels = self.channels
        if isinstance(self.sio.manager, DirectFanoutManager):
            self.sio.manager.on_leave = self._channel_left
        self.sio.on("connect", self._connect)
        self.sio.on("disconnect", self._on_disconnect)
        self.sio.on("*", self._on_any)
        self._handlers: dict[str, Callable[[str, Session, Any], Awaitable[dict[str, Any]]]] = {
            Event.ROOM_LIST: self.room_list,
            Event.ROOM_CREATE: self.room_create,
            Event.ROOM_JOIN: self.room_join,
            Event.ROOM_LEAVE: self.room_leave,
            Event.ROOM_UPDATE: self.room_update,
            Event.ROOM_KICK: self.room_kick,
            Event.ROOM_CLOSE: self.room_close,
            Event.ROOM_TICKET: self.room_ticket,
            Event.ROOM_ATTACH: self.room_attach,
            Event.CHAT_SEND: self.chat_send,
            Event.BOARD_OP: self.board_op,
            Event.BOARD_OPS: self.board_ops,
            Event.RTC_SIGNAL: self.rtc_signal,
            Event.RTC_MEDIA: self.rtc_media,
            Event.SERVER_ANNOUNCE: self.server_announce,
            Event.BOARD_FOLLOW: self.board_follow,
            Event.BOARD_SYNC: self.board_sync,
            **self.lesson_handlers(),  # hand:*, breakout:*
            **self.notebook_handlers(),  # notebook:* (shared notebooks)
            **self.sfu_handlers(),  # rtc:publish, rtc:subscribe, ... (the SFU)
        }
        assert set(self._handlers) | {Event.BOARD_CURSOR} == set(p.REQUESTS)

    # ---------------------------------------------------------------------------------------
    # connection lifecycle

    async def _connect(self, sid: str, environ: dict[str, Any], auth: Any) -> bool:
        """:meth:`_on_connect`, and a refused socket's websocket closed once it has read why
        (python-socketio would keep it open, answering pings, for the client to try again)."""
        try:
            return await self._on_connect(sid, environ, auth)
        except socketio.exceptions.ConnectionRefusedError as refused:
            why = refused.error_args.get("message") if refused.error_args else ""
            audit.warning("connect refused: %s; address=%s", why, peer_address(environ) or "?")
            handler = environ.get("tornado.handler")
            if handler is not None:
                asyncio.get_running_loop().call_later(REFUSED_CLOSE_DELAY, handler.close)
            raise

    async def _on_connect(self, sid: str, environ: dict[str, Any], auth: Any) -> bool:
        auth = auth if isinstance(auth, dict) else {}
        try:
            found = await self._authenticate(environ, auth)
        except ConnectRefused as refused:
            self._refuse(environ, refused)
        token = auth.get("token")
        # An empty kernel token (a hub service) accepts none: kernels use their hub tokens.
        kernel_token, kernel_user = self.settings.kernel_token, self.settings.kernel_user
        if found is None and kernel_token and isinstance(token, str) and token:
            if hmac.compare_digest(token.encode(), kernel_token.encode()):
                found = (kernel_user, kernel_user)
        if found is None:
            reason = "a token that is neither" if token else "no credentials"
            self._refuse(environ, ConnectRefused(NO_CREDENTIALS, reason))
        user, name = found
        requested = auth.get("name")
        if self.settings.allow_display_name and isinstance(requested, str) and requested.strip():
            name = requested.strip()[: p.MAX_NAME]
        client_key = auth.get("client_id")
        if not isinstance(client_key, str) or len(client_key) > 128:
            client_key = ""
        # Without a client id the socket is a client of its own: identity never comes from
        # the display name (anyone may choose the host's), so reconnecting makes a new member.
        key = client_key or f"\0socket:{uuid.uuid4().hex}"
        identity = Identity(
            user=user,
            name=name,
            key=key,
            admin=self.policy.is_admin(user),
            can_create=self.policy.may_create(user),
            address=peer_address(environ),
        )
        identity = self._admit(sid, identity)
        self.sessions[sid] = Session(
            identity,
            rooms=self.rooms.presence.connect(sid),
            limit_key=identity.quota,
            batched=auth.get("batch") is True,
        )
        await self.sio.enter_room(sid, ALL_SOCKETS)
        await self.sio.enter_room(sid, LIST_DIFF if auth.get("list_diff") is True else LIST_FULL)
        log.debug("classroom socket %s connected as %s", sid, user)
        return True

    def _refuse(self, environ: dict[str, Any], refused: ConnectRefused) -> NoReturn:
        """Log why a socket is refused (for whoever runs the server) and refuse it with a
        sentence its user can act on: ``connect_error`` carries ``{code, message}``."""
        peer = peer_address(environ) or "?"
        log.warning("classroom: refused a socket from %s: %s", peer, refused.reason)
        body = {"code": ErrorCode.UNAUTHORIZED, "message": refused.message}
        raise socketio.exceptions.ConnectionRefusedError(refused.message, body)

    def _admit(self, sid: str, identity: Identity) -> Identity:
        """The identity with its quota key, counted as one more socket of that person; a
        person already holding ``max_sockets_per_user`` sockets is refused."""
        key = limit_key(identity.user, identity.key, self.settings.kernel_user)
        identity = replace(
            identity, quota_key=key, instructor=self.policy.is_instructor(identity.user)
        )
        self.limits.admit(key, sid)
        return identity

    async def _on_disconnect(self, sid: str, *_: Any) -> None:
        session = self.sessions.pop(sid, None)
        if session is None:
            return
        self.limits.release(session.limit_key, sid)
        for departure in await self.rooms.disconnected(sid):
            await self._announce_departure(departure)

    async def _channel_left(self, sid: str, channel: str, closing: bool) -> None:
        try:
            await self.channels.channel_left(sid, channel, closing)
        except Exception:  # (Redis away) the seat goes when the socket does
            log.warning("classroom: %s left %s; forgetting it failed", sid, channel, exc_info=True)

    async def sweep_dead_processes(self) -> None:
        """Let the members on processes that stopped beating depart (Rooms.sweep_dead_processes)
        and tell their rooms."""
        for process_id, departures in await self.rooms.sweep_dead_processes():
            for departure in departures:
                await self._announce_departure(departure)
            log.warning("classroom: process %s stopped beating; %d members departed",
                        process_id, len(departures))  # fmt: skip

    # ---------------------------------------------------------------------------------------
    # dispatch

    async def _on_any(self, event: str, sid: str, *args: Any) -> dict[str, Any] | None:
        session = self.sessions.get(sid)
        if session is None:
            return error_ack(ErrorCode.UNAUTHORIZED, "this socket is not connected")
        data = args[0] if args else None
        if event == Event.BOARD_CURSOR:
            await self._cursor(sid, session, data)
            return None
        if event == jsoncodec.TOO_DEEP:  # a frame the decoder could not read: see jsoncodec
            log.warning("classroom: socket %s sent a frame nested too deep to decode", sid)
            if data is True:
                return error_ack(
                    ErrorCode.BAD_REQUEST, "this message nests too deep to read; send flatter JSON"
                )
            await self.sio.disconnect(sid)  # no ack to carry the error: end that socket only
            return None
        handler = self._handlers.get(event)
        if handler is None:
            return error_ack(ErrorCode.BAD_REQUEST, f"unknown event {event[:64]!r}")
        if len(args) > 1:
            return error_ack(ErrorCode.BAD_REQUEST, "send one payload object per event")
        try:
            payload = p.decode(p.REQUESTS[event], data)
            return await handler(sid, session, payload)
        except ProtocolError as exc:
            return exc.to_ack()
        except Exception:
            log.exception("classroom: %s from %s failed", event, sid)
            return error_ack(ErrorCode.INTERNAL, "the server failed on this request; it was logged")

    # ---------------------------------------------------------------------------------------
    # helpers

    def list_changed(self) -> None:
        """Schedule one room-list broadcast for a burst of changes: after LIST_CHANGED_DELAY,
        and at least LIST_MIN_INTERVAL after the previous one (join/leave churn must not
        send every idle socket whole lists many times a second)."""
        if self._list_changed_handle is None:
            loop = asyncio.get_running_loop()
            delay = max(LIST_CHANGED_DELAY, self._list_sent_at + LIST_MIN_INTERVAL - loop.time())
            self._list_changed_handle = loop.call_later(
                delay, lambda: self.tasks.spawn(self._send_list())
            )

    async def _send_list(self) -> None:
        self._list_changed_handle = None
        self._list_sent_at = asyncio.get_running_loop().time()
        rooms = await self.rooms.list_rooms()
        await self.sio.emit(Event.ROOM_LIST_CHANGED, {"rooms": rooms}, to=LIST_FULL)
        # `room:list_diff` for the sockets that asked: what changed since this process's
        # previous broadcast (with several processes, each diffs against its own).
        listed = {room["id"]: room for room in rooms}
        previous, self._listed = self._listed, listed
        added = [room for room_id, room in listed.items() if room_id not in previous]
        updated = [
            room
            for room_id, room in listed.items()
            if room_id in previous and previous[room_id] != room
        ]
        removed = [room_id for room_id in previous if room_id not in listed]
        if added or updated or removed:
            diff = {"added": added, "updated": updated, "removed": removed}
            await self.sio.emit(Event.ROOM_LIST_DIFF, diff, to=LIST_DIFF)

    @staticmethod
    def _feed(session: Session, board: bool = True) -> Feed:
        """What ``session`` takes of a room's board (a video socket: nothing)."""
        return ("batched" if session.batched else "board") if board else "video"

    async def _bind(self, sid: str, joined: Joined) -> None:
        """Tell the others a member arrived (its socket took its seat and channels in the
        room logic's presence)."""
        room_id = joined.room["id"]
        if joined.newly_present:
            # "auto": a room this member makes big enough goes to the SFU first (rtc:mode), so
            # the others do not start a mesh connection to the newcomer
            await self.sfu_after_arrival(sid, room_id, len(joined.members))
            await self.sio.emit(
                Event.ROOM_MEMBER_JOINED,
                {"room_id": room_id, "member": joined.you},
                to=room_channel(room_id),
                skip_sid=sid,
            )
            self.list_changed()
        if joined.host_changed:  # the creator is back and hosts again
            await self.sio.emit(
                Event.ROOM_UPDATED, {"room": joined.room}, to=room_channel(room_id), skip_sid=sid
            )

    @staticmethod
    def _joined_ack(joined: Joined) -> dict[str, Any]:
        board = joined.board
        return ok_ack(
            room=joined.room,
            you=joined.you,
            members=joined.members,
            board={"seq": board.seq, "ops": board.ops, "complete": board.complete},
            chat=joined.chat,
        )

    async def _announce_departure(self, departure: Departure) -> None:
        room_id, member_id = departure.room_id, departure.member_id
        await self.batcher.flush(room_id)  # the ops the member sent come before it leaves
        left = {"room_id": room_id, "member_id": member_id, "reason": departure.reason}
        # Everyone in the room hears it, the departing member's own sockets too (a kicked
        # member learns it was kicked). Those sockets leave the room's channel first and hear
        # it on their member channel: a socket on another process gets the leave and the
        # event in that order, so after room:member_left no broadcast of the room reaches it.
        own = member_channel(room_id, member_id)

        async def tell() -> None:
            await self.sio.emit(Event.ROOM_MEMBER_LEFT, left, to=[room_channel(room_id), own])

        await self.rooms.presence.see_off(room_id, member_id, departure.sockets, tell)
        if departure.host_changed and departure.room is not None:
            await self.sio.emit(
                Event.ROOM_UPDATED, {"room": departure.room}, to=room_channel(room_id)
            )
        await self.hands_after_departure(room_id, member_id)
        await self.notebook_after_departure(room_id, member_id, departure.reason)
        await self.sfu_after_departure(room_id, member_id)
        self.list_changed()

    # ---------------------------------------------------------------------------------------
    # rooms

    async def room_list(self, sid: str, session: Session, req: p.Empty) -> dict[str, Any]:
        # can_create: so a lobby offers "Create room" only to those who may
        return ok_ack(rooms=await self.rooms.list_rooms(), can_create=session.identity.can_create)

    async def room_create(self, sid: str, session: Session, req: p.RoomCreate) -> dict[str, Any]:
        self.limits.take_churn(session.limit_key)
        joined = await self.rooms.create(session.identity, sid, req, self._feed(session))
        await self._bind(sid, joined)
        self.list_changed()
        ack = await self.with_video(
            {**self._joined_ack(joined), "rtc": self._rtc()}, joined.room["id"]
        )
        ack = await self.with_notebook(ack, joined.room["id"])
        return await self.with_lesson(ack, joined.room["id"])

    async def room_join(self, sid: str, session: Session, req: p.RoomJoin) -> dict[str, Any]:
        self.limits.take_churn(session.limit_key)
        async with self.limits.joining(session.limit_key):
            # A join ack holds the board: no second copy while the first is still unsent.
            self.limits.check_backlog(self.sio, session.limit_key, sid)
            joined = await self.rooms.join(session.identity, sid, req, self._feed(session))
            await self._bind(sid, joined)
            # a big board: made in slices between other sockets' turns
            # rtc: a page's own membership (the side panel's video) publishes as a kernel's does
            ack = {**self._joined_ack(joined), "rtc": self._rtc()}
            ack = await self.with_video(ack, joined.room["id"])
            ack = await self.with_lesson(ack, joined.room["id"])
            ack = await self.with_notebook(ack, joined.room["id"])
            return await encode_ahead(ack, joined.board.ops)  # type: ignore[return-value]

    def _rtc(self) -> dict[str, Any]:
        """The WebRTC configuration a member's browser needs (ICE servers, the mesh's cap)."""
        return {
            "ice_servers": list(self.settings.ice_servers),
            "max_publishers": self.settings.max_publishers,
        }

    async def room_attach(self, sid: str, session: Session, req: p.RoomAttach) -> dict[str, Any]:
        since = req.since if req.board else None
        # A whole member's ack holds the board, as a join's does: one at a time per person
        # (see room_join), and no copy while one is unsent.
        async with self.limits.joining(session.limit_key) if req.board else nullcontext():
            if req.board:
                self.limits.check_backlog(self.sio, session.limit_key, sid)
            joined = await self.rooms.attach(
                session.identity, sid, req.ticket, since, self._feed(session, req.board)
            )
            await self._bind(sid, joined)
            rtc = self._rtc()
            if not req.board:  # a video socket: no board, no chat backlog
                ack = ok_ack(room=joined.room, you=joined.you, members=joined.members, rtc=rtc)
                ack = await self.with_video(ack, joined.room["id"])
                ack = await self.with_notebook(ack, joined.room["id"])
                return await self.with_lesson(ack, joined.room["id"])
            ack = await self.with_video({**self._joined_ack(joined), "rtc": rtc}, joined.room["id"])
            ack = await self.with_lesson(ack, joined.room["id"])
            ack = await self.with_notebook(ack, joined.room["id"])
            return await encode_ahead(ack, joined.board.ops)  # type: ignore[return-value]

    async def room_leave(self, sid: str, session: Session, req: p.RoomRef) -> dict[str, Any]:
        self.limits.take_churn(session.limit_key)
        departure = await self.rooms.leave(req.room_id, session.rooms.get(req.room_id), sid)
        await self._announce_departure(departure)
        return ok_ack()

    async def room_update(self, sid: str, session: Session, req: p.RoomUpdate) -> dict[str, Any]:
        room, _ = await self.rooms.update(session.rooms.get(req.room_id), sid, req)
        await self.sio.emit(Event.ROOM_UPDATED, {"room": room}, to=room_channel(req.room_id))
        self.list_changed()
        return ok_ack(room=room)

    async def room_kick(self, sid: str, session: Session, req: p.RoomKick) -> dict[str, Any]:
        for departure in await self.rooms.kick(session.rooms.get(req.room_id), sid, req):
            await self._announce_departure(departure)
        return ok_ack()

    async def room_close(self, sid: str, session: Session, req: p.RoomRef) -> dict[str, Any]:
        member_id = session.rooms.get(req.room_id)
        await self.recall_before_close(req.room_id, member_id, sid)  # its breakouts close first
        closed = await self.rooms.close(member_id, sid, req.room_id)
        audit.info("close: room=%s by user=%r member=%s", req.room_id, session.identity.user,
                   member_id)  # fmt: skip
        await self._see_off_room(closed.room_id, "closed by the host")
        self.list_changed()
        release_freed_memory()  # the room's board is gone: give its pages back
        return ok_ack()

    async def _see_off_room(self, room_id: str, reason: str) -> None:
        """A deleted room's sockets hear why (its ops sent first), then leave its channels on
        every process (Presence.close); its VideoRoom goes from Janus."""
        await self.batcher.flush(room_id)
        closing = {"room_id": room_id, "reason": reason}
        await self.sio.emit(Event.ROOM_CLOSED, closing, to=room_channel(room_id))
        await self.rooms.presence.close(room_id)
        await self.sfu_room_closed(room_id)

    async def room_ticket(self, sid: str, session: Session, req: p.RoomRef) -> dict[str, Any]:
        who = session.identity
        if not self.tickets.take(who.user):  # per user: more sockets buy no more tickets
            raise ProtocolError(ErrorCode.RATE_LIMITED, "you are asking for tickets too fast")
        member_id = session.rooms.get(req.room_id)
        ticket = await self.rooms.issue_ticket(who, req.room_id, member_id, sid)
        return ok_ack(ticket=ticket, ttl=self.rooms.limits.ticket_ttl)

    # ---------------------------------------------------------------------------------------
    # chat, board, cursors, signaling, announcements

    async def chat_send(self, sid: str, session: Session, req: p.ChatSend) -> dict[str, Any]:
        self.limits.take(self.limits.chats, session.limit_key, "messages")
        self.limits.take_bytes(session.limit_key, len(req.text))
        message = await self.rooms.chat(session.rooms.get(req.room_id), sid, req)
        if req.to is None:
            await self.sio.emit(Event.CHAT_MESSAGE, message, to=room_channel(req.room_id))
        else:
            sender = member_channel(req.room_id, message["from"]["id"])
            await self.sio.emit(Event.CHAT_MESSAGE, message, to=sender)
            if req.to != message["from"]["id"]:
                await self.sio.emit(
                    Event.CHAT_MESSAGE, message, to=member_channel(req.room_id, req.to)
                )
        return ok_ack(message=message)

    async def _present_member(self, room_id: str, member_id: str) -> str:
        """The channel of a member present in the room (else ``not_found``)."""
        if not await self.rooms.presence.is_present(room_id, member_id):
            raise ProtocolError(ErrorCode.NOT_FOUND, "no such member present in this room")
        return member_channel(room_id, member_id)

    async def rtc_signal(self, sid: str, session: Session, req: p.RtcSignal) -> dict[str, Any]:
        # Each signal is relayed whole (an SDP is up to 64 KB): counted and weighed per person.
        self.limits.take(self.limits.signals, session.limit_key, "signaling messages")
        self.limits.take_bytes(session.limit_key, encoded_size(req.data))
        member_id = session.rooms.get(req.room_id)
        await self.rooms.require_member(req.room_id, member_id, sid)
        # the host's rtc:policy: no media-sending offer/answer from who may not publish
        await self.check_signal(req.room_id, member_id or "", req.data)
        data = p.to_builtins(req.data)
        await self.sio.emit(
            Event.RTC_SIGNAL,
            {"room_id": req.room_id, "from": member_id, "data": data},
            to=await self._present_member(req.room_id, req.to),
        )
        return ok_ack()

    async def rtc_media(self, sid: str, session: Session, req: p.RtcMedia) -> dict[str, Any]:
        # each one goes to the whole room, like a message
        self.limits.take(self.limits.media, session.limit_key, "media states")
        member_id = session.rooms.get(req.room_id)
        await self.rooms.require_member(req.room_id, member_id, sid)
        state = {"room_id": req.room_id, "from": member_id, "audio": req.audio, "video": req.video}
        if req.to is None:
            await self.sio.emit(Event.RTC_MEDIA, state, to=room_channel(req.room_id), skip_sid=sid)
        else:
            to = await self._present_member(req.room_id, req.to)
            await self.sio.emit(Event.RTC_MEDIA, state, to=to)
        return ok_ack()

    async def server_announce(
        self, sid: str, session: Session, req: p.ServerAnnounce
    ) -> dict[str, Any]:
        if not session.identity.admin:
            raise ProtocolError(ErrorCode.FORBIDDEN, "only server administrators may announce")
        announcement = {"text": req.text, "from": session.identity.name, "ts": utc_now()}
        await self.sio.emit(Event.SERVER_ANNOUNCEMENT, announcement, to=ALL_SOCKETS)
        return ok_ack()
