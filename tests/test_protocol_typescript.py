"""The TypeScript protocol types are current, and the server's replies and events have the
shapes protocol.py (the source of those types) gives them."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import msgspec

from jupyter_classroom import protocol as p
from jupyter_classroom.protocol_typescript import generate

from .peers import Peer

Connect = Callable[..., Awaitable[Peer]]

GENERATED = Path(__file__).parent.parent / "labextension" / "src" / "protocol.generated.ts"
REGENERATE = (
    "python -m jupyter_classroom.protocol_typescript > labextension/src/protocol.generated.ts"
)


def test_generated_typescript_is_current() -> None:
    assert GENERATED.read_text(encoding="utf-8") == generate(), (
        f"{GENERATED.name} is out of date with jupyter_classroom/protocol.py; run {REGENERATE}"
    )


def test_every_event_has_a_schema_each_way() -> None:
    names = {v for k, v in vars(p.Event).items() if k.isupper()}
    assert set(p.REQUESTS) | set(p.EVENTS) == names
    assert set(p.ACKS) == set(p.REQUESTS) - {p.Event.BOARD_CURSOR}


def test_typescript_names_every_event_error_code_and_limit() -> None:
    text = GENERATED.read_text(encoding="utf-8")
    for cls in (p.Event, p.ErrorCode):
        for value in (v for k, v in vars(cls).items() if k.isupper()):
            assert f"'{value}'" in text
    assert "export const MAX_POINTS = 5000;" in text
    assert "export const BOARD_WIDTH = 1600;" in text
    assert "export type Op = StrokeOp | ExtendOp | ShapeOp | TextOp | ImageOp | EraseOp" in text


def conforms(schema: type, data: Any) -> None:
    """``data`` decodes as ``schema`` and is exactly what the schema would send: no field
    the schema lacks, none it requires missing, defaults as they would be filled in."""
    decoded: Any = msgspec.convert(data, type=schema, strict=True)
    assert msgspec.json.decode(msgspec.json.encode(decoded)) == data, (
        f"protocol.{schema.__name__} does not describe what the server sent, {data!r}: "
        f"change the schema in protocol.py (new fields optional) and run {REGENERATE}"
    )


def ack_conforms(event: str, ack: dict[str, Any]) -> None:
    assert ack.pop("ok") is True
    conforms(p.ACKS[event], ack)


async def test_server_replies_and_events_match_their_schemas(connect: Connect) -> None:
    alice = await connect("alice", auth={"batch": True})
    bob = await connect("bob")
    png = "data:image/png;base64,iVBORw0KGgo="
    created = await alice.create("shapes", password="pw")
    room_id = created["room"]["id"]
    ack_conforms(p.Event.ROOM_CREATE, created)
    ack_conforms(p.Event.ROOM_LIST, await bob.ok(p.Event.ROOM_LIST))
    ack_conforms(p.Event.ROOM_JOIN, await bob.join(room_id, password="pw"))
    conforms(p.EVENTS[p.Event.ROOM_MEMBER_JOINED], await alice.next(p.Event.ROOM_MEMBER_JOINED))
    conforms(p.EVENTS[p.Event.ROOM_LIST_CHANGED], await bob.next(p.Event.ROOM_LIST_CHANGED))

    ops = [
        {"type": "stroke", "id": "s", "points": [[1, 2]], "color": "#000000", "width": 2,
         "tool": "highlighter"},
        {"type": "extend", "id": "e", "target": "s", "points": [[3, 4]]},
        {"type": "shape", "id": "sh", "shape": "rect", "x1": 0, "y1": 0, "x2": 5, "y2": 5,
         "color": "#000000", "width": 1, "fill": "#ffffff"},
        {"type": "text", "id": "t", "x": 1, "y": 1, "text": "hi", "color": "#000000", "size": 12},
        {"type": "image", "id": "i", "x": 0, "y": 0, "w": 1, "h": 1, "src": png},
        {"type": "erase", "id": "x", "target": "t"},
        {"type": "undo", "id": "u", "target": "x"},
        {"type": "clear", "id": "c"},
    ]  # fmt: skip
    for op in ops:
        ack = await alice.ok(p.Event.BOARD_OP, {"room_id": room_id, "op": op})
        ack_conforms(p.Event.BOARD_OP, ack)
        event = await bob.next(p.Event.BOARD_OP)
        conforms(p.EVENTS[p.Event.BOARD_OP], event)
    batched: list[Any] = []
    while len(batched) < len(ops):
        event = await alice.next(p.Event.BOARD_OPS)
        conforms(p.EVENTS[p.Event.BOARD_OPS], event)
        batched += event["ops"]
    rejoined = await bob.join(room_id, since=2)
    ack_conforms(p.Event.ROOM_JOIN, rejoined)

    await bob.sio.emit(p.Event.BOARD_CURSOR, {"room_id": room_id, "x": 3, "y": 4.5})
    conforms(p.EVENTS[p.Event.BOARD_CURSOR], await alice.next(p.Event.BOARD_CURSOR))

    ack_conforms(p.Event.CHAT_SEND, await bob.ok(p.Event.CHAT_SEND, {"room_id": room_id, "text": "a"}))  # fmt: skip
    conforms(p.EVENTS[p.Event.CHAT_MESSAGE], await alice.next(p.Event.CHAT_MESSAGE))
    direct = {"room_id": room_id, "text": "b", "to": created["you"]["id"]}
    ack_conforms(p.Event.CHAT_SEND, await bob.ok(p.Event.CHAT_SEND, direct))
    conforms(p.EVENTS[p.Event.CHAT_MESSAGE], await alice.next(p.Event.CHAT_MESSAGE))

    update = {"room_id": room_id, "board_locked": True, "title": "renamed"}
    ack_conforms(p.Event.ROOM_UPDATE, await alice.ok(p.Event.ROOM_UPDATE, update))
    conforms(p.EVENTS[p.Event.ROOM_UPDATED], await bob.next(p.Event.ROOM_UPDATED))

    ticket = await bob.ok(p.Event.ROOM_TICKET, {"room_id": room_id})
    ticket.pop("ok")
    conforms(p.ACKS[p.Event.ROOM_TICKET], ticket)
    video = await connect("bob", client_id=bob.auth["client_id"])
    ack_conforms(p.Event.ROOM_ATTACH, await video.ok(p.Event.ROOM_ATTACH, ticket))

    alice_id, bob_id = created["you"]["id"], rejoined["you"]["id"]
    assert alice_id != bob_id
    signal = {"room_id": room_id, "to": bob_id, "data": {"type": "offer", "sdp": "v=0"}}
    ack_conforms(p.Event.RTC_SIGNAL, await alice.ok(p.Event.RTC_SIGNAL, signal))
    conforms(p.EVENTS[p.Event.RTC_SIGNAL], await video.next(p.Event.RTC_SIGNAL))
    media = {"room_id": room_id, "audio": True, "video": False}
    ack_conforms(p.Event.RTC_MEDIA, await alice.ok(p.Event.RTC_MEDIA, media))
    conforms(p.EVENTS[p.Event.RTC_MEDIA], await video.next(p.Event.RTC_MEDIA))

    ack_conforms(p.Event.SERVER_ANNOUNCE, await alice.ok(p.Event.SERVER_ANNOUNCE, {"text": "hi"}))
    conforms(p.EVENTS[p.Event.SERVER_ANNOUNCEMENT], await bob.next(p.Event.SERVER_ANNOUNCEMENT))

    kick = {"room_id": room_id, "member_id": bob_id}
    ack_conforms(p.Event.ROOM_KICK, await alice.ok(p.Event.ROOM_KICK, kick))
    conforms(p.EVENTS[p.Event.ROOM_MEMBER_LEFT], await bob.next(p.Event.ROOM_MEMBER_LEFT))
    ack_conforms(p.Event.ROOM_CLOSE, await alice.ok(p.Event.ROOM_CLOSE, {"room_id": room_id}))

    carol = await connect("carol")
    other = (await carol.create("another"))["room"]["id"]
    await alice.join(other)
    ack_conforms(p.Event.ROOM_LEAVE, await alice.ok(p.Event.ROOM_LEAVE, {"room_id": other}))
    left = await carol.next(p.Event.ROOM_MEMBER_LEFT)
    conforms(p.EVENTS[p.Event.ROOM_MEMBER_LEFT], left)
    assert left["member_id"] == alice_id
    await alice.join(other)
    await carol.ok(p.Event.ROOM_CLOSE, {"room_id": other})
    conforms(p.EVENTS[p.Event.ROOM_CLOSED], await alice.next(p.Event.ROOM_CLOSED))


async def test_a_refusal_has_the_error_body_shape(connect: Connect) -> None:
    alice = await connect("alice")
    ack = await alice.call(p.Event.ROOM_JOIN, {"room_id": "nosuchroom"})
    assert ack.pop("ok") is False
    conforms(p.ErrorBody, ack["error"])
    assert ack["error"]["code"] in {v for k, v in vars(p.ErrorCode).items() if k.isupper()}
