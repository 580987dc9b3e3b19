"""Hands and breakouts from Python: ``Client`` and ``Classroom`` over a real server."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from jupyter_classroom import ClassroomError, Client
from jupyter_classroom.widgets import Classroom

from .helpers import stroke, wait_for


@pytest.fixture
async def lesson(server):
    """A teacher's Classroom and two students' (kernel-drawn), in one room."""
    clients = [
        await asyncio.to_thread(Client, server.url, server.kernel_token, name=name)
        for name in ("teacher", "ann", "ben")
    ]
    teacher = await asyncio.to_thread(Classroom.create, "Lesson", client=clients[0], mode="kernel")
    students = [
        await asyncio.to_thread(Classroom.join, teacher.room_id, client=client, mode="kernel")
        for client in clients[1:]
    ]
    yield teacher, *students
    for classroom in (teacher, *students):
        classroom.close()
    for client in clients:
        await asyncio.to_thread(client.close)


def member_id(classroom: Classroom) -> str:
    return str(classroom.client.connection.rooms[classroom.room_id].you["id"])


async def test_hands_from_python(lesson):
    teacher, ann, ben = lesson
    taken: list[dict[str, Any]] = []
    ann.client.on("hand:taken", taken.append)
    assert teacher.hands == []
    await asyncio.to_thread(ben.raise_hand)
    await asyncio.to_thread(ann.raise_hand)
    queue = [member_id(ben), member_id(ann)]
    # every replica follows hand:queue
    for classroom in lesson:
        await wait_for(lambda c=classroom: [h["member_id"] for h in c.hands] == queue)
    assert ben.client.hands == ben.hands  # the client's current room is the lesson's
    with pytest.raises(ClassroomError) as refused:
        await asyncio.to_thread(ben.lower_hand, member_id(ann))
    assert refused.value.code == "forbidden"
    with pytest.raises(ClassroomError) as refused:
        await asyncio.to_thread(ben.take_hand)
    assert refused.value.code == "forbidden"
    hand = await asyncio.to_thread(teacher.take_hand, member_id(ann))
    assert hand is not None and hand["name"] == "ann"
    await wait_for(lambda: taken, message="ann heard that her hand was taken")
    assert taken[0]["by"] == member_id(teacher)
    assert await asyncio.to_thread(ben.lower_hand) == []
    await wait_for(lambda: teacher.hands == [] and ann.hands == [])
    assert await asyncio.to_thread(teacher.take_hand) is None


async def test_breakouts_from_python(lesson):
    teacher, ann, ben = lesson
    opened: list[dict[str, Any]] = []
    ann.client.on("breakout:opened", opened.append)
    await asyncio.to_thread(teacher.client.op, stroke("main-1"), room_id=teacher.room_id)
    groups = [[member_id(ann)], [member_id(ben)]]
    breakouts = await asyncio.to_thread(teacher.breakout, groups, minutes=30, copy_board=True)
    assert [b["members"] for b in breakouts] == groups
    await wait_for(lambda: opened and ann.breakouts == breakouts)
    assert opened[0]["ends_at"].endswith("Z")
    # each student joins their group's room and draws there; the copy of the board is there
    for student, breakout in ((ann, breakouts[0]), (ben, breakouts[1])):
        room = await asyncio.to_thread(student.client.join, breakout["room_id"])
        assert [o["op"]["id"] for o in room.ops] == ["main-1"]
        assert room.info["parent_id"] == teacher.room_id
        name = student.client.connection.rooms[teacher.room_id].you["name"]
        await asyncio.to_thread(student.client.op, stroke(f"{name}-1"), room_id=breakout["room_id"])
    with pytest.raises(ClassroomError) as refused:  # ann may not enter ben's group
        await asyncio.to_thread(ann.client.join, breakouts[1]["room_id"])
    assert refused.value.code == "forbidden"
    with pytest.raises(ClassroomError) as refused:  # nor look at its board while it is open
        await asyncio.to_thread(ann.breakout_board, breakouts[1]["room_id"])
    assert refused.value.code == "forbidden"
    live = await asyncio.to_thread(teacher.breakout_board, breakouts[1]["room_id"])
    assert [o["op"]["id"] for o in live["ops"]] == ["main-1", "ben-1"]
    await asyncio.to_thread(teacher.broadcast, "Two minutes left")
    breakout_room = ann.client.connection.rooms[breakouts[0]["room_id"]]
    await wait_for(lambda: [m["text"] for m in breakout_room.chat] == ["Two minutes left"])
    with pytest.raises(ClassroomError) as refused:
        await asyncio.to_thread(ann.recall)
    assert refused.value.code == "forbidden"

    assert await asyncio.to_thread(teacher.recall) == breakouts
    await wait_for(lambda: breakouts[0]["room_id"] not in ann.client.connection.rooms)
    await wait_for(lambda: ann.breakouts == [] and teacher.breakouts == [])
    # the replicas list the kept groups (once each), as a join's ack does for a late joiner
    for person in (ann, ben, teacher):
        main = person.client.connection.rooms[teacher.room_id]
        await wait_for(lambda main=main: main.kept_breakouts == breakouts)
    rejoined = await asyncio.to_thread(ben.client.join, teacher.room_id)
    assert rejoined.kept_breakouts == breakouts
    for student, breakout, drawn in ((ann, breakouts[0], "ann-1"), (ben, breakouts[1], "ben-1")):
        board = await asyncio.to_thread(student.breakout_board, breakout["room_id"])
        assert [o["op"]["id"] for o in board["ops"]] == ["main-1", drawn]
    with pytest.raises(ClassroomError) as refused:
        await asyncio.to_thread(teacher.recall)
    assert refused.value.code == "conflict"
