"""The wire protocol: event names, error codes, limits and payload schemas.

This module is the single source of truth shared by the room server, the Python client and
the aiortc peer. ``docs/protocol.md`` documents it for everyone else.

Schemas are msgspec ``Struct`` types: decoding a payload with :func:`decode` both validates it
(types, required fields, sizes, finite numbers) and gives typed objects, so handlers never see
malformed input. Objects sent to clients (RoomInfo, Member, ...) are plain dicts built by the
room logic; their shapes are documented in ``docs/protocol.md``.
"""

from __future__ import annotations

from typing import Annotated, Any, Final, Literal, TypeVar, Union

import msgspec

# --------------------------------------------------------------------------------------------
# Event names


class Event:
    """Every event name of the protocol, client → server and server → client."""

    # client → server
    ROOM_LIST: Final = "room:list"
    ROOM_CREATE: Final = "room:create"
    ROOM_JOIN: Final = "room:join"
    ROOM_LEAVE: Final = "room:leave"
    ROOM_UPDATE: Final = "room:update"
    ROOM_KICK: Final = "room:kick"
    ROOM_CLOSE: Final = "room:close"
    ROOM_TICKET: Final = "room:ticket"
    ROOM_ATTACH: Final = "room:attach"
    CHAT_SEND: Final = "chat:send"
    BOARD_OP: Final = "board:op"
    BOARD_CURSOR: Final = "board:cursor"
    RTC_SIGNAL: Final = "rtc:signal"
    RTC_MEDIA: Final = "rtc:media"  # extension: which of a member's tracks are on (both ways)
    SERVER_ANNOUNCE: Final = "server:announce"

    # server → client (BOARD_OP, BOARD_CURSOR and RTC_SIGNAL are used both ways)
    ROOM_LIST_CHANGED: Final = "room:list_changed"
    ROOM_MEMBER_JOINED: Final = "room:member_joined"
    ROOM_MEMBER_LEFT: Final = "room:member_left"
    ROOM_UPDATED: Final = "room:updated"
    ROOM_CLOSED: Final = "room:closed"
    CHAT_MESSAGE: Final = "chat:message"
    SERVER_ANNOUNCEMENT: Final = "server:announcement"
    # extension: a room's new ops as one list, for sockets that connect with auth.batch
    BOARD_OPS: Final = "board:ops"


class ErrorCode:
    """The error codes an ack may carry."""

    BAD_REQUEST: Final = "bad_request"
    UNAUTHORIZED: Final = "unauthorized"
    FORBIDDEN: Final = "forbidden"
    NOT_FOUND: Final = "not_found"
    BAD_PASSWORD: Final = "bad_password"
    ROOM_FULL: Final = "room_full"
    NOT_MEMBER: Final = "not_member"
    RATE_LIMITED: Final = "rate_limited"
    TOO_LARGE: Final = "too_large"
    CONFLICT: Final = "conflict"
    INTERNAL: Final = "internal"


class ProtocolError(Exception):
    """A request the server refuses; becomes ``{"ok": false, "error": {code, message}}``."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message

    def to_ack(self) -> dict[str, Any]:
        return error_ack(self.code, self.message)


def error_ack(code: str, message: str) -> dict[str, Any]:
    return {"ok": False, "error": {"code": code, "message": message}}


def ok_ack(**fields: Any) -> dict[str, Any]:
    return {"ok": True, **fields}


# --------------------------------------------------------------------------------------------
# Limits: the protocol's upper bounds. Servers may configure lower ones (ClassroomApp traits).

BOARD_WIDTH: Final = 1600
BOARD_HEIGHT: Final = 900
MAX_TITLE: Final = 100
MAX_PASSWORD: Final = 128
MAX_CHAT_TEXT: Final = 4000
MAX_POINTS: Final = 5000
MAX_IMAGE_SRC: Final = 200 * 1024
MAX_FRAME: Final = 256 * 1024
MAX_NAME: Final = 64
MAX_ID: Final = 64
MAX_SDP: Final = 64 * 1024
MAX_TEXT_OP: Final = 2000
MAX_ANNOUNCEMENT: Final = 1000
# Coordinates may sit off the visible board (a shape dragged past the edge) but stay bounded;
# the bound also rejects NaN and infinities, which Python's json module happily decodes.
COORD_LIMIT: Final = 16000.0

Title = Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_TITLE)]
Password = Annotated[str, msgspec.Meta(max_length=MAX_PASSWORD)]
Id = Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_ID, pattern=r"^[A-Za-z0-9_.:-]+$")]
Color = Annotated[str, msgspec.Meta(pattern=r"^#[0-9a-fA-F]{6}$")]
Coord = Annotated[float, msgspec.Meta(ge=-COORD_LIMIT, le=COORD_LIMIT)]
Width = Annotated[float, msgspec.Meta(gt=0, le=200)]
Point = tuple[Coord, Coord]
Points = Annotated[list[Point], msgspec.Meta(max_length=MAX_POINTS)]
NonEmptyPoints = Annotated[list[Point], msgspec.Meta(min_length=1, max_length=MAX_POINTS)]


class _Payload(msgspec.Struct, forbid_unknown_fields=False, frozen=True):
    """Base of every client payload. Unknown fields are ignored so that newer clients can add
    optional fields without older servers refusing them."""


# --------------------------------------------------------------------------------------------
# Board operations (a tagged union on "type")


class _Op(msgspec.Struct, tag_field="type", frozen=True):
    id: Id


class StrokeOp(_Op, tag="stroke", frozen=True):
    points: NonEmptyPoints
    color: Color
    width: Width
    tool: Literal["pen", "highlighter"] = "pen"


class ExtendOp(_Op, tag="extend", frozen=True):
    target: Id
    points: NonEmptyPoints


class ShapeOp(_Op, tag="shape", frozen=True):
    shape: Literal["line", "rect", "ellipse", "arrow"]
    x1: Coord
    y1: Coord
    x2: Coord
    y2: Coord
    color: Color
    width: Width
    fill: Color | None = None


class TextOp(_Op, tag="text", frozen=True):
    x: Coord
    y: Coord
    text: Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_TEXT_OP)]
    color: Color
    size: Annotated[float, msgspec.Meta(ge=4, le=400)]


class ImageOp(_Op, tag="image", frozen=True):
    x: Coord
    y: Coord
    w: Annotated[float, msgspec.Meta(gt=0, le=COORD_LIMIT)]
    h: Annotated[float, msgspec.Meta(gt=0, le=COORD_LIMIT)]
    src: Annotated[
        str,
        msgspec.Meta(
            max_length=MAX_IMAGE_SRC,
            pattern=r"^data:image/(png|jpeg|gif|webp);base64,[A-Za-z0-9+/=]+$",
        ),
    ]


class EraseOp(_Op, tag="erase", frozen=True):
    target: Id


class ClearOp(_Op, tag="clear", frozen=True):
    pass


class UndoOp(_Op, tag="undo", frozen=True):
    target: Id


Op = Union[StrokeOp, ExtendOp, ShapeOp, TextOp, ImageOp, EraseOp, ClearOp, UndoOp]  # noqa: UP007

# --------------------------------------------------------------------------------------------
# Client → server payloads


class Empty(_Payload, frozen=True):
    pass


class RoomCreate(_Payload, frozen=True):
    title: Title
    password: Password | None = None
    listed: bool = True
    max_members: Annotated[int, msgspec.Meta(ge=1, le=10_000)] | None = None


class RoomJoin(_Payload, frozen=True):
    room_id: Id
    password: Password | None = None
    since: Annotated[int, msgspec.Meta(ge=0)] | None = None


class RoomRef(_Payload, frozen=True):
    room_id: Id


class RoomUpdate(_Payload, frozen=True):
    room_id: Id
    title: Title | None = None
    # UNSET (absent) leaves the password alone; null removes it; a string sets it.
    password: Password | msgspec.UnsetType | None = msgspec.UNSET
    board_locked: bool | None = None
    host: Id | None = None  # extension: hand the host role to this member


class RoomKick(_Payload, frozen=True):
    room_id: Id
    member_id: Id


class RoomAttach(_Payload, frozen=True):
    ticket: Annotated[str, msgspec.Meta(min_length=1, max_length=256)]


class ChatSend(_Payload, frozen=True):
    room_id: Id
    text: Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_CHAT_TEXT)]
    to: Id | None = None


class BoardOpSend(_Payload, frozen=True):
    room_id: Id
    op: Op


class BoardCursor(_Payload, frozen=True):
    room_id: Id
    x: Coord
    y: Coord


class RtcCandidate(msgspec.Struct, frozen=True, omit_defaults=True):
    candidate: Annotated[str, msgspec.Meta(max_length=4096)]
    sdpMid: Annotated[str, msgspec.Meta(max_length=256)] | None = None
    sdpMLineIndex: Annotated[int, msgspec.Meta(ge=0, le=1024)] | None = None
    usernameFragment: Annotated[str, msgspec.Meta(max_length=256)] | None = None


class RtcData(msgspec.Struct, frozen=True, omit_defaults=True):
    type: Literal["offer", "answer", "candidate", "bye"]
    sdp: Annotated[str, msgspec.Meta(max_length=MAX_SDP)] | None = None
    candidate: RtcCandidate | None = None


class RtcSignal(_Payload, frozen=True):
    room_id: Id
    to: Id
    data: RtcData


class RtcMedia(_Payload, frozen=True):
    """Extension: the sender's microphone and camera are on or off, for the room (or one
    member, ``to``, who just connected to it). Tiles show it; media flows regardless."""

    room_id: Id
    audio: bool
    video: bool
    to: Id | None = None


class ServerAnnounce(_Payload, frozen=True):
    text: Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_ANNOUNCEMENT)]


# The schema of each client → server event, in one table.
REQUESTS: Final[dict[str, type[_Payload]]] = {
    Event.ROOM_LIST: Empty,
    Event.ROOM_CREATE: RoomCreate,
    Event.ROOM_JOIN: RoomJoin,
    Event.ROOM_LEAVE: RoomRef,
    Event.ROOM_UPDATE: RoomUpdate,
    Event.ROOM_KICK: RoomKick,
    Event.ROOM_CLOSE: RoomRef,
    Event.ROOM_TICKET: RoomRef,
    Event.ROOM_ATTACH: RoomAttach,
    Event.CHAT_SEND: ChatSend,
    Event.BOARD_OP: BoardOpSend,
    Event.BOARD_CURSOR: BoardCursor,
    Event.RTC_SIGNAL: RtcSignal,
    Event.RTC_MEDIA: RtcMedia,
    Event.SERVER_ANNOUNCE: ServerAnnounce,
}

P = TypeVar("P")


def decode(schema: type[P], data: Any) -> P:
    """Validate an already JSON-decoded payload against ``schema``.

    Raises :class:`ProtocolError` with ``bad_request`` (or ``too_large`` for a size limit) and
    a message that names the offending field.
    """
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ProtocolError(ErrorCode.BAD_REQUEST, "the payload must be a JSON object")
    try:
        return msgspec.convert(data, type=schema, strict=True)
    except msgspec.ValidationError as exc:
        message = str(exc)
        code = ErrorCode.TOO_LARGE if "length <=" in message else ErrorCode.BAD_REQUEST
        raise ProtocolError(code, f"invalid payload: {message}") from None


def to_builtins(obj: Any) -> Any:
    """A schema object as plain JSON-ready builtins (UNSET fields left out)."""
    return msgspec.to_builtins(obj)
