"""The wire protocol: event names, error codes, limits and payload schemas.

This module is the single source of truth shared by the room server, the Python client and
the aiortc peer; the labextension's TypeScript types are generated from it
(:mod:`jupyter_classroom.protocol_typescript`). ``docs/protocol.md`` documents it for everyone else.

Schemas are msgspec ``Struct`` types: decoding a payload with :func:`decode` both validates it
(types, required fields, sizes, finite numbers) and gives typed objects, so handlers never see
malformed input. Objects sent to clients (RoomInfo, Member, ...) are plain dicts built by the
room logic; the Structs at the end of this module (tables ``ACKS`` and ``EVENTS``) give their
shapes, and tests/test_protocol_typescript.py checks the server's replies against them.
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
    # extension, video through the SFU (Janus), signaled through this socket (docs/sfu.md)
    RTC_PUBLISH: Final = "rtc:publish"
    RTC_SUBSCRIBE: Final = "rtc:subscribe"
    RTC_SUBSCRIBE_ANSWER: Final = "rtc:subscribe_answer"
    RTC_UNPUBLISH: Final = "rtc:unpublish"
    # extension: which simulcast layer of a publisher a watcher takes through the SFU
    RTC_LAYER: Final = "rtc:layer"
    # extension, the host's lecture controls (docs/protocol.md, "Lecture controls"); both are
    # also the events the room hears
    RTC_POLICY: Final = "rtc:policy"
    RTC_MUTE_ALL: Final = "rtc:mute_all"
    SERVER_ANNOUNCE: Final = "server:announce"
    # extension: whether a socket takes a room's board live, and the board on demand
    BOARD_FOLLOW: Final = "board:follow"
    BOARD_SYNC: Final = "board:sync"
    # extension, the tools of a lesson: raised hands, and breakout rooms (docs/protocol.md)
    HAND_RAISE: Final = "hand:raise"
    HAND_LOWER: Final = "hand:lower"
    HAND_TAKE: Final = "hand:take"
    BREAKOUT_OPEN: Final = "breakout:open"
    BREAKOUT_BROADCAST: Final = "breakout:broadcast"
    BREAKOUT_RECALL: Final = "breakout:recall"
    BREAKOUT_BOARD: Final = "breakout:board"
    # extension: shared notebooks, the host's (or an allowed member's) notebook live to the
    # room (docs/protocol.md, "Shared notebooks")
    NOTEBOOK_SHARE: Final = "notebook:share"
    NOTEBOOK_PATCH: Final = "notebook:patch"
    NOTEBOOK_STOP: Final = "notebook:stop"
    NOTEBOOK_GET: Final = "notebook:get"
    NOTEBOOK_ALLOW: Final = "notebook:allow"

    # server → client (BOARD_OP, BOARD_CURSOR and RTC_SIGNAL are used both ways)
    ROOM_LIST_CHANGED: Final = "room:list_changed"
    ROOM_MEMBER_JOINED: Final = "room:member_joined"
    ROOM_MEMBER_LEFT: Final = "room:member_left"
    ROOM_UPDATED: Final = "room:updated"
    ROOM_CLOSED: Final = "room:closed"
    CHAT_MESSAGE: Final = "chat:message"
    SERVER_ANNOUNCEMENT: Final = "server:announcement"
    # extension, both ways: a room's new ops as one list, for sockets that connect with
    # auth.batch; from a client, several ops in one frame with one ack
    BOARD_OPS: Final = "board:ops"
    # extension: a room's ink goes out late (the server is behind), to its drawers; 0 = no more
    BOARD_DELAYED: Final = "board:delayed"
    # extension: what changed in the room list, for sockets that connect with auth.list_diff
    ROOM_LIST_DIFF: Final = "room:list_diff"
    # extension: a room's queue of raised hands after each change; a member's hand taken
    HAND_QUEUE: Final = "hand:queue"
    HAND_TAKEN: Final = "hand:taken"
    # extension: breakout rooms opened in, and recalled to, a main room
    BREAKOUT_OPENED: Final = "breakout:opened"
    BREAKOUT_CLOSED: Final = "breakout:closed"
    # extension, both ways: who publishes through a room's SFU (after each change; on asking)
    RTC_PUBLISHERS: Final = "rtc:publishers"
    # extension: a room's video switched from the mesh to the SFU (video_mode "auto")
    RTC_MODE: Final = "rtc:mode"
    # extension: a room's shared notebook started, changed, stopped; who may share
    NOTEBOOK_SHARED: Final = "notebook:shared"
    NOTEBOOK_PATCHED: Final = "notebook:patched"
    NOTEBOOK_STOPPED: Final = "notebook:stopped"
    NOTEBOOK_SHARERS: Final = "notebook:sharers"


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
MAX_BATCH_OPS: Final = 256  # ops in one client → server `board:ops`
MIN_BREAKOUTS: Final = 2  # groups `breakout:open` makes from `count`
MAX_BREAKOUTS: Final = 20  # breakout rooms open at once in one room
MAX_BREAKOUT_MINUTES: Final = 240
# shared notebooks: a cell's source (characters), one output's JSON (bytes), outputs per
# cell, cells per notebook, a notebook's stored JSON (bytes), patches per notebook:patch,
# steps per edit delta, a share's display path; the batches a server keeps for `since`
MAX_CELL_SOURCE: Final = 100_000
MAX_OUTPUT: Final = 200 * 1024
MAX_OUTPUTS_PER_CELL: Final = 64
MAX_NOTEBOOK_CELLS: Final = 2000
MAX_NOTEBOOK_BYTES: Final = 16 * 1024 * 1024
MAX_NOTEBOOK_PATCHES: Final = 256
MAX_DELTA_STEPS: Final = 4096
MAX_NOTEBOOK_PATH: Final = 512
NOTEBOOK_LOG: Final = 512
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
    # extension: true makes the socket a whole member socket (board channel, board and chat
    # in the ack) rather than a video socket; `since` then asks for a delta as in room:join
    board: bool = False
    since: Annotated[int, msgspec.Meta(ge=0)] | None = None


class ChatSend(_Payload, frozen=True):
    room_id: Id
    text: Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_CHAT_TEXT)]
    to: Id | None = None


class BoardOpSend(_Payload, frozen=True):
    room_id: Id
    op: Op


class BoardOpsSend(_Payload, frozen=True):
    """Extension: several ops in one frame (a page's ops of one animation frame), each
    validated, ruled on and sequenced as if sent alone, in order."""

    room_id: Id
    ops: Annotated[list[Op], msgspec.Meta(min_length=1, max_length=MAX_BATCH_OPS)]


class BoardCursor(_Payload, frozen=True):
    room_id: Id
    x: Coord
    y: Coord


class BoardFollow(_Payload, frozen=True):
    """Extension: ``live: false`` stops the socket's live board (``board:op``, ``board:ops``,
    ``board:cursor``) for the room; it fetches with ``board:sync`` when it needs the board."""

    room_id: Id
    live: bool


class BoardSync(_Payload, frozen=True):
    """Extension: the room's ops after ``since`` (or the whole board), as a join's ack has."""

    room_id: Id
    since: Annotated[int, msgspec.Meta(ge=0)] | None = None


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


Sdp = Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_SDP)]


class RtcPublish(_Payload, frozen=True):
    """Extension: publish through the room's SFU; ``sdp`` is the offer (candidates inside)."""

    room_id: Id
    sdp: Sdp


class RtcSubscribe(_Payload, frozen=True):
    """Extension: watch ``member_id``'s published media through the SFU."""

    room_id: Id
    member_id: Id


class RtcSubscribeAnswer(_Payload, frozen=True):
    room_id: Id
    member_id: Id
    sdp: Sdp


class RtcLayer(_Payload, frozen=True):
    """Extension: take the ``high`` (full) or ``low`` (a quarter of the size) layer of
    ``publisher``'s simulcast video, which this member watches through the SFU. A publisher
    sending one layer (aiortc) goes on sending it."""

    room_id: Id
    publisher: Id
    layer: Literal["high", "low"]


class RtcPolicy(_Payload, frozen=True):
    """Extension (the host): the room's video policy. An absent field stays as it is."""

    room_id: Id
    students_publish: bool | None = None  # false: only the host sends audio and video
    lecture: bool | None = None  # true: clients show the host's tile large


class ServerAnnounce(_Payload, frozen=True):
    text: Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_ANNOUNCEMENT)]


class HandTarget(_Payload, frozen=True):
    """``hand:lower`` (without ``member_id``: your own hand) and ``hand:take`` (without
    ``member_id``: the first in the queue)."""

    room_id: Id
    member_id: Id | None = None


class BreakoutOpen(_Payload, frozen=True):
    """Extension: ``groups`` (lists of member ids) as given; else the members but the host
    split at random into ``count`` groups. ``minutes``: the server recalls them then."""

    room_id: Id
    count: Annotated[int, msgspec.Meta(ge=MIN_BREAKOUTS, le=MAX_BREAKOUTS)] | None = None
    groups: (
        Annotated[
            list[Annotated[list[Id], msgspec.Meta(min_length=1, max_length=10_000)]],
            msgspec.Meta(min_length=1, max_length=MAX_BREAKOUTS),
        ]
        | None
    ) = None
    minutes: Annotated[float, msgspec.Meta(gt=0, le=MAX_BREAKOUT_MINUTES)] | None = None
    copy_board: bool = False


class BreakoutBroadcast(_Payload, frozen=True):
    room_id: Id
    text: Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_CHAT_TEXT)]


class BreakoutBoard(_Payload, frozen=True):
    room_id: Id  # the main room
    breakout_id: Id  # a breakout's room_id


# --------------------------------------------------------------------------------------------
# Shared notebooks (docs/protocol.md, "Shared notebooks")

# An nbformat v4 output dict, relayed as sent. msgspec cannot say "a dict whose output_type is
# one of four and whose JSON is at most MAX_OUTPUT bytes": notebooks.py checks both.
Output = Annotated[dict[str, Any], msgspec.Meta(extra={"typescript": "NotebookOutput"})]
# One step of a Yjs text delta: {retain: n} | {insert: text} | {delete: n}; an untagged union
# msgspec cannot decode into Structs, so notebooks.py checks each step.
DeltaStep = Annotated[dict[str, Union[int, str]], msgspec.Meta(extra={"typescript": "TextDelta"})]  # noqa: UP007
CellType = Literal["code", "markdown", "raw"]
CellSource = Annotated[str, msgspec.Meta(max_length=MAX_CELL_SOURCE)]
Outputs = Annotated[list[Output], msgspec.Meta(max_length=MAX_OUTPUTS_PER_CELL)]


class Cell(msgspec.Struct, frozen=True):
    """A notebook cell as shared: nbformat's, without metadata and attachments. ``outputs``
    only on code cells. Unknown fields are ignored (a sharer may send nbformat's whole cell)."""

    id: Id
    cell_type: CellType
    source: CellSource
    outputs: Outputs = msgspec.field(default_factory=list)
    execution_count: int | None = None


class _Patch(msgspec.Struct, tag_field="type", frozen=True):
    pass


class InsertPatch(_Patch, tag="insert", frozen=True):
    """Insert ``cell`` at ``index`` (clamped to the number of cells)."""

    index: Annotated[int, msgspec.Meta(ge=0)]
    cell: Cell


class DeletePatch(_Patch, tag="delete", frozen=True):
    cell_id: Id


class MovePatch(_Patch, tag="move", frozen=True):
    """Move the cell to ``index`` of the list without it (clamped)."""

    cell_id: Id
    index: Annotated[int, msgspec.Meta(ge=0)]


class SourcePatch(_Patch, tag="source", frozen=True):
    """The cell's whole source (small cells, or a resync after ``conflict``)."""

    cell_id: Id
    source: CellSource


class EditPatch(_Patch, tag="edit", frozen=True):
    """A Yjs text delta on the cell's source (JupyterLab's ``sourceChange``): positions and
    lengths in UTF-16 code units, as in JavaScript."""

    cell_id: Id
    delta: Annotated[list[DeltaStep], msgspec.Meta(min_length=1, max_length=MAX_DELTA_STEPS)]


class OutputsPatch(_Patch, tag="outputs", frozen=True):
    """Replace the cell's outputs (a code cell's)."""

    cell_id: Id
    outputs: Outputs
    execution_count: int | None = None


class CellTypePatch(_Patch, tag="cell_type", frozen=True):
    """Change the cell's type; its outputs are cleared when it stops being code."""

    cell_id: Id
    cell_type: CellType


class ActivePatch(_Patch, tag="active", frozen=True):
    """The sharer's active cell (null: none)."""

    cell_id: Id | None


Patch = Union[  # noqa: UP007
    InsertPatch, DeletePatch, MovePatch, SourcePatch, EditPatch, OutputsPatch, CellTypePatch,
    ActivePatch,
]  # fmt: skip


class NotebookShare(_Payload, frozen=True):
    """Share a notebook with the room (the host, or a member the host allowed); replaces the
    room's current share. A large notebook: the first cells here, the rest as ``insert``
    patches (a frame is at most MAX_FRAME)."""

    room_id: Id
    path: Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_NOTEBOOK_PATH)]
    language: Annotated[str, msgspec.Meta(max_length=64)] | None = None
    cells: Annotated[list[Cell], msgspec.Meta(max_length=MAX_NOTEBOOK_CELLS)] = msgspec.field(
        default_factory=list
    )


class NotebookPatch(_Payload, frozen=True):
    """The sharer's changes, applied in order as one batch (one ``seq``), or none of them."""

    room_id: Id
    share_id: Id
    patches: Annotated[list[Patch], msgspec.Meta(min_length=1, max_length=MAX_NOTEBOOK_PATCHES)]


class NotebookGet(_Payload, frozen=True):
    """The room's share: the batches after ``since`` (of ``share_id``) when the server still
    has them all, else the whole snapshot."""

    room_id: Id
    share_id: Id | None = None
    since: Annotated[int, msgspec.Meta(ge=0)] | None = None


class NotebookAllow(_Payload, frozen=True):
    """(The host) whether ``member_id`` may share notebooks too."""

    room_id: Id
    member_id: Id
    allowed: bool


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
    Event.BOARD_OPS: BoardOpsSend,
    Event.BOARD_CURSOR: BoardCursor,
    Event.RTC_SIGNAL: RtcSignal,
    Event.RTC_MEDIA: RtcMedia,
    Event.RTC_PUBLISH: RtcPublish,
    Event.RTC_SUBSCRIBE: RtcSubscribe,
    Event.RTC_SUBSCRIBE_ANSWER: RtcSubscribeAnswer,
    Event.RTC_UNPUBLISH: RoomRef,
    Event.RTC_LAYER: RtcLayer,
    Event.RTC_PUBLISHERS: RoomRef,
    Event.RTC_POLICY: RtcPolicy,
    Event.RTC_MUTE_ALL: RoomRef,
    Event.SERVER_ANNOUNCE: ServerAnnounce,
    Event.BOARD_FOLLOW: BoardFollow,
    Event.BOARD_SYNC: BoardSync,
    Event.HAND_RAISE: RoomRef,
    Event.HAND_LOWER: HandTarget,
    Event.HAND_TAKE: HandTarget,
    Event.BREAKOUT_OPEN: BreakoutOpen,
    Event.BREAKOUT_BROADCAST: BreakoutBroadcast,
    Event.BREAKOUT_RECALL: RoomRef,
    Event.BREAKOUT_BOARD: BreakoutBoard,
    Event.NOTEBOOK_SHARE: NotebookShare,
    Event.NOTEBOOK_PATCH: NotebookPatch,
    Event.NOTEBOOK_STOP: RoomRef,
    Event.NOTEBOOK_GET: NotebookGet,
    Event.NOTEBOOK_ALLOW: NotebookAllow,
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


# --------------------------------------------------------------------------------------------
# Server → client: objects, acks and events
#
# The server builds these as plain dicts (the room logic and the stores keep dicts); the
# Structs below describe those dicts so that every shape on the wire has one schema here.
# The TypeScript types of the labextension are generated from them and from the client
# payloads above (``python -m jupyter_classroom.protocol_typescript``). Unknown fields are
# allowed: a newer server may add optional ones.

# `extra={"typescript": ...}` names the TypeScript type a field gets in the generated file.
ErrorCodeName = Annotated[str, msgspec.Meta(extra={"typescript": "ErrorCode"})]
IceServer = Annotated[dict[str, Any], msgspec.Meta(extra={"typescript": "RTCIceServer"})]


class _Reply(msgspec.Struct, frozen=True):
    """Base of the shapes the server sends."""


class ErrorBody(_Reply, frozen=True):
    """An ack's ``error`` (and a refused connect's ``connect_error`` data)."""

    code: ErrorCodeName
    message: str


class HostRef(_Reply, frozen=True):
    id: Id
    name: str


class RoomInfo(_Reply, frozen=True):
    id: Id
    title: str
    host: HostRef
    members: int  # present members
    locked: bool  # a password is needed to join
    board_locked: bool
    created_at: str  # ISO 8601 UTC
    max_members: int
    # extension: a breakout room's main room (breakout rooms are unlisted)
    parent_id: Id | msgspec.UnsetType = msgspec.UNSET


class Member(_Reply, frozen=True):
    id: Id
    name: str
    color: Color
    role: Literal["host", "member"]


class Hand(_Reply, frozen=True):
    """A raised hand; a room's queue is ordered by ``raised_at``."""

    member_id: Id
    name: str
    raised_at: str  # ISO 8601 UTC


class Breakout(_Reply, frozen=True):
    room_id: Id  # a real, unlisted room: join it with room:join
    title: str
    members: list[Id]  # the main room's members assigned to it


class ChatSender(_Reply, frozen=True):
    id: Id
    name: str


class ChatMessage(_Reply, frozen=True):
    id: str
    room_id: Id
    sender: ChatSender = msgspec.field(name="from")
    to: Id | None
    text: str
    ts: str


class MergedExtend(_Reply, frozen=True):
    """One of the ``extend`` ops a ``board:ops`` list merged into a later one of its stroke:
    its seq, its id and how many of the merged op's points are its (from the front)."""

    seq: int
    id: Id
    points: int


class BoardOp(_Reply, frozen=True):
    seq: int  # assigned by the server: strictly increasing per room, from 1
    author: Id  # the member who sent the op
    ts: str
    op: Op


class BoardState(_Reply, frozen=True):
    """A board in an ack: the whole board (``complete``) or the ops after ``since``."""

    seq: int  # the board's latest seq (folded extends leave gaps in the ops' seqs)
    ops: list[BoardOp]
    complete: bool


class RtcConfig(_Reply, frozen=True):
    ice_servers: list[IceServer]
    max_publishers: int


class VideoInfo(_Reply, frozen=True):
    """extension: how a room carries video now: peer to peer, or through the SFU (Janus)."""

    mode: Literal["mesh", "sfu"]


class VideoPolicy(_Reply, frozen=True):
    """extension: the host's lecture controls of a room (``rtc:policy``'s ack)."""

    students_publish: bool  # false: members other than the host may not send audio/video
    lecture: bool  # the host's tile large, the others in a strip


# acks: the fields of `{"ok": true, ...}`


class OkReply(_Reply, frozen=True):
    pass


class RoomListReply(_Reply, frozen=True):
    rooms: list[RoomInfo]
    # extension: whether this socket's user may room:create (a lobby hides its create form)
    can_create: bool | msgspec.UnsetType = msgspec.UNSET


class JoinedReply(_Reply, frozen=True):
    room: RoomInfo
    you: Member
    members: list[Member]
    board: BoardState
    chat: list[ChatMessage]
    hands: list[Hand] | msgspec.UnsetType = msgspec.UNSET  # extension: the raised hands
    # extension: the room's breakouts, only while they are open
    breakouts: BreakoutsOpened | msgspec.UnsetType = msgspec.UNSET
    # extension: the groups of the room's recalled breakouts, whose boards are kept (to read
    # with breakout:board), the last recalled last; absent when there are none
    kept_breakouts: list[Breakout] | msgspec.UnsetType = msgspec.UNSET
    # extension: the room's video mode, from servers whose video_mode is "sfu" or "auto"
    video: VideoInfo | msgspec.UnsetType = msgspec.UNSET
    # extension: the host's lecture controls (rtc:policy)
    video_policy: VideoPolicy | msgspec.UnsetType = msgspec.UNSET
    # extension: the WebRTC configuration, as room:attach's (a page's own membership's video)
    rtc: RtcConfig | msgspec.UnsetType = msgspec.UNSET
    # extension: the room's shared notebook (live or ended; fetch it with notebook:get) and
    # the members the host allowed to share besides themself
    notebook: NotebookSummary | msgspec.UnsetType = msgspec.UNSET
    sharers: list[Id] | msgspec.UnsetType = msgspec.UNSET


class RoomReply(_Reply, frozen=True):
    room: RoomInfo


class TicketReply(_Reply, frozen=True):
    ticket: str
    ttl: float | msgspec.UnsetType = msgspec.UNSET  # extension: seconds the ticket is good for


class AttachedReply(_Reply, frozen=True):
    room: RoomInfo
    you: Member
    members: list[Member]
    rtc: RtcConfig
    # with `board: true` in the request: the member's board and chat, as in room:join
    board: BoardState | msgspec.UnsetType = msgspec.UNSET
    chat: list[ChatMessage] | msgspec.UnsetType = msgspec.UNSET
    hands: list[Hand] | msgspec.UnsetType = msgspec.UNSET  # extension: the raised hands
    # extension: the room's breakouts, only while they are open
    breakouts: BreakoutsOpened | msgspec.UnsetType = msgspec.UNSET
    # extension: the groups of the room's recalled breakouts, whose boards are kept (to read
    # with breakout:board), the last recalled last; absent when there are none
    kept_breakouts: list[Breakout] | msgspec.UnsetType = msgspec.UNSET
    # extension: the room's video mode, from servers whose video_mode is "sfu" or "auto"
    video: VideoInfo | msgspec.UnsetType = msgspec.UNSET
    # extension: the host's lecture controls (rtc:policy)
    video_policy: VideoPolicy | msgspec.UnsetType = msgspec.UNSET
    # extension: the room's shared notebook and its allowed sharers, as in room:join
    notebook: NotebookSummary | msgspec.UnsetType = msgspec.UNSET
    sharers: list[Id] | msgspec.UnsetType = msgspec.UNSET


class ChatSent(_Reply, frozen=True):
    message: ChatMessage


class OpAccepted(_Reply, frozen=True):
    seq: int


class OpResult(msgspec.Struct, frozen=True, omit_defaults=True):
    """One op of a ``board:ops`` batch: its ``seq``, or why it was refused."""

    seq: int | msgspec.UnsetType = msgspec.UNSET
    error: ErrorBody | msgspec.UnsetType = msgspec.UNSET


class OpsAccepted(_Reply, frozen=True):
    results: list[OpResult]  # one per op sent, in order


class BoardSynced(_Reply, frozen=True):
    board: BoardState


class HandsReply(_Reply, frozen=True):
    hands: list[Hand]


class HandTakenReply(_Reply, frozen=True):
    hands: list[Hand]
    taken: Hand | None  # null: the queue was empty


class BreakoutsOpened(_Reply, frozen=True):
    breakouts: list[Breakout]
    ends_at: str | None  # ISO 8601 UTC: when the server recalls them


class BreakoutsReply(_Reply, frozen=True):
    breakouts: list[Breakout]


class Sharer(_Reply, frozen=True):
    id: Id
    name: str


class NotebookSummary(_Reply, frozen=True):
    """A room's share, without its cells."""

    share_id: Id
    room_id: Id
    sharer: Sharer
    path: str  # the sharer's display path
    language: str | None
    seq: int  # the last batch applied (0: as shared)
    live: bool  # false: stopped (the sharer stopped or left); the last state stays readable
    cells: int  # how many
    started_at: str  # ISO 8601 UTC


class NotebookSnapshot(_Reply, frozen=True):
    summary: NotebookSummary
    cells: list[Cell]
    active: Id | None  # the sharer's active cell


class NotebookBatch(_Reply, frozen=True):
    """One accepted notebook:patch: its seq and patches."""

    seq: int
    patches: list[Patch]


class NotebookReply(_Reply, frozen=True):
    notebook: NotebookSnapshot


class NotebookPatchReply(_Reply, frozen=True):
    seq: int


class NotebookGetReply(_Reply, frozen=True):
    """``notebook``: the whole share (null: none). Or, for a ``since`` the server can serve,
    ``notebook: null`` with ``share_id`` and the ``batches`` after ``since`` in order."""

    notebook: NotebookSnapshot | None
    share_id: Id | msgspec.UnsetType = msgspec.UNSET
    batches: list[NotebookBatch] | msgspec.UnsetType = msgspec.UNSET


class SharersReply(_Reply, frozen=True):
    sharers: list[Id]


# events the server sends


class RoomListChanged(_Reply, frozen=True):
    rooms: list[RoomInfo]


class RoomListDiff(_Reply, frozen=True):
    """The room list's changes since the previous list or diff (``auth.list_diff``)."""

    added: list[RoomInfo]
    updated: list[RoomInfo]  # each whole, replacing the one with its id
    removed: list[Id]


class MemberJoined(_Reply, frozen=True):
    room_id: Id
    member: Member


class MemberLeft(_Reply, frozen=True):
    room_id: Id
    member_id: Id
    reason: Literal["left", "disconnected", "kicked"]


class RoomClosed(_Reply, frozen=True):
    room_id: Id
    reason: str


class BoardOpEvent(BoardOp, frozen=True):
    """``board:op`` to the room's other members: a BoardOp with its room."""

    room_id: Id


class ListedOp(BoardOp, frozen=True, omit_defaults=True):
    """An op in a ``board:ops`` list. ``merged``: the earlier extends of this op's stroke
    merged into it, in order (their points come first in ``op.points``); a client expands
    them back to one extend per seq (docs/protocol.md, "Merged extends")."""

    merged: list[MergedExtend] = msgspec.field(default_factory=list)


class BoardOpsEvent(_Reply, frozen=True):
    """``board:ops`` to sockets that connected with ``auth.batch``, in seq order."""

    room_id: Id
    ops: list[ListedOp]


class BoardDelayed(_Reply, frozen=True):
    """``board:delayed`` to a room's drawers: the server sends the room's ink ``delay_ms``
    late (it is behind); a later one with 0 when it has caught up."""

    room_id: Id
    delay_ms: int


class CursorEvent(_Reply, frozen=True):
    room_id: Id
    member_id: Id
    x: float
    y: float


class RtcSignalEvent(_Reply, frozen=True):
    room_id: Id
    sender: Id = msgspec.field(name="from")
    data: RtcData


class RtcMediaEvent(_Reply, frozen=True):
    room_id: Id
    sender: Id = msgspec.field(name="from")
    audio: bool
    video: bool


class SdpReply(_Reply, frozen=True):
    """``rtc:publish``'s answer, ``rtc:subscribe``'s offer: the SFU's SDP."""

    sdp: str


class PublishersReply(_Reply, frozen=True):
    """``rtc:publishers``'s ack: who publishes through the room's SFU now."""

    publishers: list[Id]


class RtcPublishers(_Reply, frozen=True):
    """The members whose media the room's SFU carries now. ``reset``: the SFU restarted and
    lost every stream: publishers publish again, watchers subscribe again."""

    room_id: Id
    publishers: list[Id]
    reset: bool = False


class RtcMode(_Reply, frozen=True):
    """A room's video now goes through the SFU: its members stop the mesh and publish there."""

    room_id: Id
    mode: Literal["mesh", "sfu"]


class RtcPolicyEvent(_Reply, frozen=True):
    """The host changed the room's video policy (sent to the room, the host's sockets too)."""

    room_id: Id
    students_publish: bool
    lecture: bool


class RtcMuteAll(_Reply, frozen=True):
    """The host asks every member to turn its microphone off (it may turn it on again while
    ``students_publish`` holds)."""

    room_id: Id
    by: Id  # the host


class HandQueue(_Reply, frozen=True):
    room_id: Id
    hands: list[Hand]


class HandTaken(_Reply, frozen=True):
    room_id: Id
    member_id: Id  # you
    by: Id  # the host who took your hand


class BreakoutOpenedEvent(BreakoutsOpened, frozen=True):
    room_id: Id


class BreakoutClosedEvent(BreakoutsReply, frozen=True):
    room_id: Id


class NotebookShared(_Reply, frozen=True):
    room_id: Id
    notebook: NotebookSnapshot


class NotebookPatched(_Reply, frozen=True):
    room_id: Id
    share_id: Id
    seq: int
    patches: list[Patch]


class NotebookStopped(_Reply, frozen=True):
    room_id: Id
    share_id: Id
    reason: Literal["stopped", "left", "replaced"]


class NotebookSharers(_Reply, frozen=True):
    room_id: Id
    sharers: list[Id]


class Announcement(_Reply, frozen=True):
    text: str
    sender: str = msgspec.field(name="from")  # the admin's display name
    ts: str


# The ack of each client → server event (board:cursor has none), and the payload of each
# server → client event.
ACKS: Final[dict[str, type[_Reply]]] = {
    Event.ROOM_LIST: RoomListReply,
    Event.ROOM_CREATE: JoinedReply,
    Event.ROOM_JOIN: JoinedReply,
    Event.ROOM_LEAVE: OkReply,
    Event.ROOM_UPDATE: RoomReply,
    Event.ROOM_KICK: OkReply,
    Event.ROOM_CLOSE: OkReply,
    Event.ROOM_TICKET: TicketReply,
    Event.ROOM_ATTACH: AttachedReply,
    Event.CHAT_SEND: ChatSent,
    Event.BOARD_OP: OpAccepted,
    Event.BOARD_OPS: OpsAccepted,
    Event.RTC_SIGNAL: OkReply,
    Event.RTC_MEDIA: OkReply,
    Event.RTC_PUBLISH: SdpReply,
    Event.RTC_SUBSCRIBE: SdpReply,
    Event.RTC_SUBSCRIBE_ANSWER: OkReply,
    Event.RTC_UNPUBLISH: OkReply,
    Event.RTC_LAYER: OkReply,
    Event.RTC_PUBLISHERS: PublishersReply,
    Event.RTC_POLICY: VideoPolicy,
    Event.RTC_MUTE_ALL: OkReply,
    Event.SERVER_ANNOUNCE: OkReply,
    Event.BOARD_FOLLOW: OkReply,
    Event.BOARD_SYNC: BoardSynced,
    Event.HAND_RAISE: HandsReply,
    Event.HAND_LOWER: HandsReply,
    Event.HAND_TAKE: HandTakenReply,
    Event.BREAKOUT_OPEN: BreakoutsOpened,
    Event.BREAKOUT_BROADCAST: OkReply,
    Event.BREAKOUT_RECALL: BreakoutsReply,
    Event.BREAKOUT_BOARD: BoardSynced,
    Event.NOTEBOOK_SHARE: NotebookReply,
    Event.NOTEBOOK_PATCH: NotebookPatchReply,
    Event.NOTEBOOK_STOP: OkReply,
    Event.NOTEBOOK_GET: NotebookGetReply,
    Event.NOTEBOOK_ALLOW: SharersReply,
}

EVENTS: Final[dict[str, type[_Reply]]] = {
    Event.ROOM_LIST_CHANGED: RoomListChanged,
    Event.ROOM_LIST_DIFF: RoomListDiff,
    Event.ROOM_MEMBER_JOINED: MemberJoined,
    Event.ROOM_MEMBER_LEFT: MemberLeft,
    Event.ROOM_UPDATED: RoomReply,
    Event.ROOM_CLOSED: RoomClosed,
    Event.CHAT_MESSAGE: ChatMessage,
    Event.BOARD_OP: BoardOpEvent,
    Event.BOARD_OPS: BoardOpsEvent,
    Event.BOARD_CURSOR: CursorEvent,
    Event.BOARD_DELAYED: BoardDelayed,
    Event.RTC_SIGNAL: RtcSignalEvent,
    Event.RTC_MEDIA: RtcMediaEvent,
    Event.RTC_PUBLISHERS: RtcPublishers,
    Event.RTC_MODE: RtcMode,
    Event.RTC_POLICY: RtcPolicyEvent,
    Event.RTC_MUTE_ALL: RtcMuteAll,
    Event.SERVER_ANNOUNCEMENT: Announcement,
    Event.HAND_QUEUE: HandQueue,
    Event.HAND_TAKEN: HandTaken,
    Event.BREAKOUT_OPENED: BreakoutOpenedEvent,
    Event.BREAKOUT_CLOSED: BreakoutClosedEvent,
    Event.NOTEBOOK_SHARED: NotebookShared,
    Event.NOTEBOOK_PATCHED: NotebookPatched,
    Event.NOTEBOOK_STOPPED: NotebookStopped,
    Event.NOTEBOOK_SHARERS: NotebookSharers,
}
