"""One person, one member: a kernel that joined a room its page is in already takes the page's
membership (widgets/page_views.PageMembership), over a real server.

The page is played by a Connection of the same user with a client id of its own (a browser
tab's); it hands the kernel a one-time ``room:ticket`` as the page's views do through the
widget comm (``{type: "membership", ticket, member_id}``)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from jupyter_classroom import ClassroomError, Client, Connection
from jupyter_classroom.widgets.page_views import ChatPanel, PageMembership

from .helpers import wait_for

PASSWORD = "pw"


@pytest.fixture
async def lesson(server: Any, connect: Any) -> AsyncIterator[tuple[Any, Connection, Client, str]]:
    teacher = await connect("teacher")
    created = await teacher.create("Lesson", password=PASSWORD)
    room_id = created["room"]["id"]
    teacher.member_id = created["you"]["id"]
    page = Connection(server.url, server.kernel_token, name="Bob", client_id="page-tab")
    await page.connect()
    await page.join(room_id, PASSWORD)  # the side panel's join
    kernel = await asyncio.to_thread(Client, server.url, server.kernel_token, name="Bob")
    await asyncio.to_thread(kernel.join, room_id, PASSWORD)  # a notebook cell's
    yield teacher, page, kernel, room_id
    await asyncio.to_thread(kernel.close)
    await page.close()


async def present(teacher: Any, room_id: str) -> set[str]:
    return {m["id"] for m in (await teacher.join(room_id))["members"]}


async def test_the_kernel_takes_the_pages_membership(lesson: Any) -> None:
    teacher, page, kernel, room_id = lesson
    page_id = page.rooms[room_id].you["id"]
    kernel_id = kernel.connection.rooms[room_id].you["id"]
    assert page_id != kernel_id and len(await present(teacher, room_id)) == 3  # Bob twice
    await page.raise_hand(room_id)  # the panel's hand
    # the browser draws the board: the kernel fetches it on demand only (as a Classroom's)
    await asyncio.wrap_future(kernel.submit(kernel.connection.follow_board(room_id, False)))
    chat = await asyncio.to_thread(ChatPanel, kernel, room_id)
    membership = PageMembership(kernel, room_id, [chat])
    try:
        assert chat.member_id == kernel_id
        ticket = (await page.request("room:ticket", {"room_id": room_id}))["ticket"]
        teacher.drain("room:member_left")
        # the page's view sends it through the comm
        chat._handle_custom_msg({"type": "membership", "ticket": ticket}, [])
        await wait_for(lambda: membership.member_id == page_id)
        assert kernel.connection.rooms[room_id].you["id"] == page_id
        assert chat.member_id == page_id  # views rendered later share the page's link
        assert kernel.connection.rooms[room_id].live is False  # still on demand
        left = await teacher.next("room:member_left")
        assert left == {"room_id": room_id, "member_id": kernel_id, "reason": "left"}
        assert await present(teacher, room_id) == {teacher.member_id, page_id}
        # the kernel speaks as the page's member, whose hand is still up
        message = await asyncio.to_thread(kernel.say, "from the cell", room_id=room_id)
        assert message["from"]["id"] == page_id
        assert [h["member_id"] for h in kernel.connection.rooms[room_id].hands] == [page_id]
        # a second offer (another view of the page) changes nothing
        chat._handle_custom_msg({"type": "membership", "ticket": "spent"}, [])
        await asyncio.sleep(0.3)
        assert kernel.connection.rooms[room_id].you["id"] == page_id
    finally:
        membership.close()
        chat.close()


async def test_a_refused_ticket_leaves_the_kernel_its_own_member(lesson: Any) -> None:
    teacher, page, kernel, room_id = lesson
    kernel_id = kernel.connection.rooms[room_id].you["id"]
    membership = PageMembership(kernel, room_id, [])
    with pytest.raises(ClassroomError) as refused:
        await asyncio.wrap_future(kernel.submit(membership._take("not-a-ticket")))
    assert refused.value.code == "unauthorized"
    # back in as the kernel's own member, with no password asked again
    assert kernel.connection.rooms[room_id].you["id"] == kernel_id
    assert kernel_id in await present(teacher, room_id)
    assert membership.member_id is None
    membership.close()


async def test_after_a_reconnect_the_kernel_asks_the_page_again(lesson: Any, server: Any) -> None:
    teacher, page, kernel, room_id = lesson
    page_id = page.rooms[room_id].you["id"]
    kernel_id = kernel.connection.rooms[room_id].you["id"]
    chat = await asyncio.to_thread(ChatPanel, kernel, room_id)
    sent: list[Any] = []
    chat.send = sent.append  # type: ignore[method-assign]  # (what the views would receive)
    membership = PageMembership(kernel, room_id, [chat])
    try:
        ticket = (await page.request("room:ticket", {"room_id": room_id}))["ticket"]
        chat._handle_custom_msg({"type": "membership", "ticket": ticket}, [])
        await wait_for(lambda: membership.member_id == page_id)
        # the kernel's socket drops; its reconnect re-joins as the kernel's own member
        room_server = server.app.room_server
        key = kernel.connection.auth["client_id"]
        (sid,) = [s for s, sess in room_server.sessions.items() if sess.identity.key == key]
        room_server.sio.get_environ(sid)["tornado.handler"].close()
        await wait_for(lambda: sent)
        assert sent == [{"type": "membership_request", "member_id": kernel_id}]
        assert kernel.connection.rooms[room_id].you["id"] == kernel_id
        assert chat.member_id == kernel_id  # the views' offers name it again
        # the page answers with a new ticket: one member again
        ticket = (await page.request("room:ticket", {"room_id": room_id}))["ticket"]
        chat._handle_custom_msg({"type": "membership", "ticket": ticket}, [])
        await wait_for(lambda: kernel.connection.rooms[room_id].you["id"] == page_id)
        await wait_for(lambda: chat.member_id == page_id)
        assert await present(teacher, room_id) == {teacher.member_id, page_id}
    finally:
        membership.close()
        chat.close()


async def test_a_teacher_who_made_the_room_in_the_kernel_stays_its_host(
    server: Any, connect: Any
) -> None:
    """The teacher creates the room from a cell, a student joins, then the teacher's panel
    joins too: when the kernel takes the panel's membership the host role goes with it (to
    the panel's member, the same person), not to the student who came first."""
    kernel = await asyncio.to_thread(Client, server.url, server.kernel_token, name="Ann")
    page = Connection(server.url, server.kernel_token, name="Ann", client_id="page-tab")
    try:
        room = await asyncio.to_thread(kernel.create_room, "Lesson")
        room_id, kernel_id = room.id, room.you["id"]
        student = await connect("student")
        await student.join(room_id)
        await page.connect()
        page_id = (await page.join(room_id)).you["id"]
        chat = await asyncio.to_thread(ChatPanel, kernel, room_id)
        membership = PageMembership(kernel, room_id, [chat])
        # a refused ticket (one of another user's page): the kernel joins back as its own
        # member and, having created the room, hosts it again
        with pytest.raises(ClassroomError):
            await asyncio.wrap_future(kernel.submit(membership._take("not-a-ticket", page_id)))
        assert kernel.connection.rooms[room_id].you == {**room.you, "role": "host"}
        assert (await student.join(room_id))["room"]["host"]["id"] == kernel_id
        ticket = (await page.request("room:ticket", {"room_id": room_id}))["ticket"]
        student.drain("room:updated")
        # the page's view sends the ticket with its member's id through the comm
        chat._handle_custom_msg({"type": "membership", "ticket": ticket, "member_id": page_id}, [])
        await wait_for(lambda: membership.member_id == page_id)
        joined = await student.join(room_id)
        assert joined["room"]["host"]["id"] == page_id
        roles = {m["id"]: m["role"] for m in joined["members"]}
        assert roles == {page_id: "host", joined["you"]["id"]: "member"}
        assert kernel.connection.rooms[room_id].you["role"] == "host"
        assert (await student.next("room:updated"))["room"]["host"]["id"] == page_id
        membership.close()
        chat.close()
    finally:
        await asyncio.to_thread(kernel.close)
        await page.close()


async def test_a_second_classroom_of_the_room_does_not_take_the_page_member_out(
    lesson: Any,
) -> None:
    """Two Classrooms of one room shown before the hand-over: the first takes the page's
    membership; an offer to the second (its views still name the kernel's former member,
    say after a reload) must not leave the page's member, which the kernel is already."""
    teacher, page, kernel, room_id = lesson
    page_id = page.rooms[room_id].you["id"]
    first = await asyncio.to_thread(ChatPanel, kernel, room_id)
    second = await asyncio.to_thread(ChatPanel, kernel, room_id)
    one = PageMembership(kernel, room_id, [first])
    two = PageMembership(kernel, room_id, [second])
    try:
        ticket = (await page.request("room:ticket", {"room_id": room_id}))["ticket"]
        first._handle_custom_msg({"type": "membership", "ticket": ticket, "member_id": page_id}, [])
        await wait_for(lambda: one.member_id == page_id)
        teacher.drain("room:member_left")
        ticket = (await page.request("room:ticket", {"room_id": room_id}))["ticket"]
        second._handle_custom_msg(
            {"type": "membership", "ticket": ticket, "member_id": page_id}, []
        )
        await teacher.nothing("room:member_left", wait=0.5)
        assert room_id in page.rooms and kernel.connection.rooms[room_id].you["id"] == page_id
        assert await present(teacher, room_id) == {teacher.member_id, page_id}
    finally:
        for closing in (one, two, first, second):
            closing.close()
