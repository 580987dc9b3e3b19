"""Simulcast layers through a real Janus: ``rtc:layer`` reaches the watcher's subscriber
handle as Janus's ``configure`` (the chosen substream on its video streams), and only a
member watching that publisher may ask. The browsers' two layers and the widths each tile
receives are tests/e2e/test_sfu_browser.py's; aiortc publishes one layer, which its watchers
go on receiving whichever layer they ask for."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from jupyter_classroom import ClassroomError
from jupyter_classroom.media import ColorTrack
from jupyter_classroom.protocol import Event
from jupyter_classroom.sfu import streams
from jupyter_classroom.sfu.janus_api import JanusHandle, PluginReply
from jupyter_classroom.sfu.state import SUBSTREAMS

from .conftest import MakeConnection
from .helpers import wait_for
from .test_sfu import RED, classroom_config, namespace, two_in_a_room

pytestmark = pytest.mark.timeout(120)
__all__ = ["classroom_config", "namespace"]  # the Janus of test_sfu.py, in its namespace


def record_messages(handle: JanusHandle) -> list[tuple[dict[str, Any], PluginReply]]:
    """What the room server asks of ``handle`` from now on, with Janus's replies."""
    seen: list[tuple[dict[str, Any], PluginReply]] = []
    message = handle.message

    async def recording(body: dict[str, Any], *args: Any, **kwargs: Any) -> PluginReply:
        reply = await message(body, *args, **kwargs)
        seen.append((body, reply))
        return reply

    handle.message = recording  # type: ignore[method-assign]
    return seen


async def test_a_watcher_chooses_the_layer_janus_forwards(
    server: Any, connection: MakeConnection, peers: list[Any]
) -> None:
    teacher, student = await two_in_a_room(connection, peers)
    await teacher.publish(ColorTrack(RED, fps=15))
    received = await student.wait_for_track(teacher.member_id, timeout=20)
    await received.wait_frames(5, timeout=20)
    room = server.app.sfu.rooms.rooms[teacher.room_id]
    subscription = room.subscribers[(student.member_id, teacher.member_id)]
    assert subscription.layer == "high" and len(subscription.video_mids) == 1
    seen = record_messages(subscription.handle)

    await student.set_layer(teacher.member_id, "low")
    (mid,) = subscription.video_mids
    body, reply = seen[-1]
    assert body == {"request": "configure", "streams": [{"mid": mid, "substream": 0}]}
    assert reply.data.get("configured") == "ok", reply.data  # Janus took it
    assert subscription.layer == "low"

    await student.set_layer(teacher.member_id, "high")
    assert seen[-1][0]["streams"] == [{"mid": mid, "substream": 2}]
    assert seen[-1][1].data.get("configured") == "ok"
    # aiortc sends one layer: the watcher goes on receiving it
    await received.wait_frames(received.frames + 5, timeout=20)


async def test_janus_forwarding_another_layer_is_told_it_again(
    server: Any, connection: MakeConnection, peers: list[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Janus says (its subscriber event) it forwards another substream than the layer asked
    for: it dropped from the high layer (the publisher's high layer paused a moment), or it
    is still on a high one when the low one was asked for; it moves only on a keyframe of the
    one wanted. The room server tells it the layer again (``configure``, which makes Janus ask
    the publisher for a keyframe), less and less often, until Janus says it forwards that
    one. (aiortc publishes one layer, so Janus's events are given here as Janus 1.1 words
    them for a browser's two layers.)"""
    monkeypatch.setattr(streams, "RECOVER_FIRST", 0.2)
    teacher, student = await two_in_a_room(connection, peers)
    await teacher.publish(ColorTrack(RED, fps=15))
    await student.wait_for_track(teacher.member_id, timeout=20)
    subscription = server.app.sfu.rooms.rooms[teacher.room_id].subscribers[
        (student.member_id, teacher.member_id)
    ]
    (mid,) = subscription.video_mids
    # (what the room server asks Janus to configure; the watcher's "start" may still be on
    # its way when the recording begins)
    seen = record_messages(subscription.handle)

    def configured() -> list[tuple[dict[str, Any], PluginReply]]:
        return [(body, reply) for body, reply in seen if body["request"] == "configure"]

    def janus_says(substream: int) -> None:
        data = {"videoroom": "event", "room": 1, "mid": mid, "substream": substream}
        event = {"janus": "event", "plugindata": {"plugin": "janus.plugin.videoroom", "data": data}}
        subscription.handle.on_event(subscription.handle, event)

    async def told_again(substream: int) -> None:
        told = len(configured())
        await wait_for(lambda: len(configured()) >= told + 2)  # told again, and again
        for body, reply in configured()[told:]:
            assert body == {
                "request": "configure",
                "streams": [{"mid": mid, "substream": substream}],
            }
            assert reply.data.get("configured") == "ok", reply.data

    async def left_alone() -> None:
        told = len(configured())
        await asyncio.sleep(4 * streams.RECOVER_FIRST)
        assert len(configured()) == told

    janus_says(1)
    janus_says(0)  # fell back
    await told_again(SUBSTREAMS["high"])
    janus_says(1)  # back on the high layer: no more telling
    await left_alone()

    await student.set_layer(teacher.member_id, "low")  # Janus stays on the high one
    await told_again(SUBSTREAMS["low"])
    janus_says(0)  # on the low layer it was asked for: left on it
    await left_alone()


async def test_only_a_member_watching_that_publisher_chooses_its_layer(
    server: Any, connection: MakeConnection, peers: list[Any]
) -> None:
    teacher, student = await two_in_a_room(connection, peers)
    await teacher.publish(ColorTrack(RED, fps=15))
    await student.wait_for_track(teacher.member_id, timeout=20)
    room_id = teacher.room_id
    layer = {"room_id": room_id, "publisher": teacher.member_id, "layer": "low"}

    outsider = await connection("mallory")
    await outsider.create_room("elsewhere")
    with pytest.raises(ClassroomError) as refused:
        await outsider.request(Event.RTC_LAYER, layer)
    assert refused.value.code == "not_member"

    # the teacher watches nobody; nobody watches itself
    with pytest.raises(ClassroomError) as refused:
        await teacher.set_layer(student.member_id, "low")
    assert refused.value.code == "not_found"
    with pytest.raises(ClassroomError) as refused:
        await teacher.connection.request(Event.RTC_LAYER, layer)
    assert refused.value.code == "bad_request"

    bad_requests: list[dict[str, Any]] = [
        {**layer, "layer": "medium"},
        {**layer, "layer": 0},
        {"room_id": room_id, "layer": "low"},
        {**layer, "publisher": "not an id!"},
    ]
    for bad in bad_requests:
        with pytest.raises(ClassroomError) as refused:
            await student.connection.request(Event.RTC_LAYER, bad)
        assert refused.value.code == "bad_request", bad

    # the subscription kept what was asked before the refusals: nothing
    room = server.app.sfu.rooms.rooms[room_id]
    assert room.subscribers[(student.member_id, teacher.member_id)].layer == "high"
    await student.set_layer(teacher.member_id, "low")
    assert room.subscribers[(student.member_id, teacher.member_id)].layer == "low"
