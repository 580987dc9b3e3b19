"""Who stays out and who keeps the room (issue 16, items 4, 5, 11): a kick holds against a new
client id, the creator gets the room back, a new password keeps out those who were away."""

from __future__ import annotations

from .multiuser import as_user, jp_server_config, redis_url, store_kind

__all__ = ["as_user", "jp_server_config", "redis_url", "store_kind"]  # fixtures used here


async def test_a_kick_holds_against_a_new_client_id(as_user):
    host = await as_user("host")
    room_id = (await host.create("Strict"))["room"]["id"]
    kicked = await as_user("outsider", client_id="first")
    other_client = await as_user("outsider", client_id="second")  # the same user's notebook
    kicked_id = (await kicked.join(room_id))["you"]["id"]
    other_id = (await other_client.join(room_id))["you"]["id"]
    bystander = await as_user("member")
    await bystander.join(room_id)
    await host.ok("room:kick", {"room_id": room_id, "member_id": kicked_id})
    left = {(await bystander.next("room:member_left"))["member_id"] for _ in range(2)}
    assert left == {kicked_id, other_id}  # every client of the kicked user is out
    # coming back as a new client of the same user does not undo the kick
    again = await as_user("outsider", client_id="a-new-one")
    assert await again.error("room:join", {"room_id": room_id}) == "forbidden"
    assert await other_client.error("room:join", {"room_id": room_id}) == "forbidden"
    assert await other_client.error("chat:send", {"room_id": room_id, "text": "hi"}) == (
        "not_member"
    )
    # other users are not affected
    await (await as_user("student1")).join(room_id)


async def test_the_creator_gets_the_room_back(as_user):
    teacher = await as_user("host", client_id="teacher")
    created = await teacher.create("Lesson")
    room_id, teacher_id = created["room"]["id"], created["you"]["id"]
    student = await as_user("member")
    student_id = (await student.join(room_id))["you"]["id"]
    await teacher.disconnect()  # a short network drop
    updated = await student.next("room:updated")
    assert updated["room"]["host"]["id"] == student_id  # the role passed on, as before
    # the student host cannot lock the teacher out or remove them
    lock = {"room_id": room_id, "password": "mine now"}
    assert await student.error("room:update", lock) == "forbidden"
    kick = {"room_id": room_id, "member_id": teacher_id}
    assert await student.error("room:kick", kick) == "forbidden"
    # the teacher comes back and is host again
    back = await as_user("host", client_id="teacher")
    rejoined = await back.join(room_id)
    assert rejoined["you"] == {**rejoined["you"], "id": teacher_id, "role": "host"}
    assert rejoined["room"]["host"]["id"] == teacher_id
    assert (await student.next("room:updated"))["room"]["host"]["id"] == teacher_id
    assert await student.error("room:update", {"room_id": room_id, "title": "x"}) == "forbidden"
    # the creator may still hand the role over on purpose; then it is the new host's
    await back.ok("room:update", {"room_id": room_id, "host": student_id})
    assert (await back.call("room:update", {"room_id": room_id, "title": "t"}))["error"][
        "code"
    ] == "forbidden"
    await student.ok("room:update", {"room_id": room_id, "title": "Renamed by the student"})


async def test_a_new_password_keeps_out_those_who_were_away(as_user):
    host = await as_user("host")
    room_id = (await host.create("Guarded", password="first"))["room"]["id"]
    away = await as_user("member", client_id="laptop")
    await away.join(room_id, password="first")
    present = await as_user("outsider")
    await present.join(room_id, password="first")
    await away.disconnect()
    await host.ok("room:update", {"room_id": room_id, "password": "second"})
    back = await as_user("member", client_id="laptop")  # the same member as before
    assert await back.error("room:join", {"room_id": room_id}) == "bad_password"
    assert await back.error("room:join", {"room_id": room_id, "password": "first"}) == (
        "bad_password"
    )
    await back.join(room_id, password="second")
    # those present at the change stay members (and rejoin without it)
    await present.ok("chat:send", {"room_id": room_id, "text": "still here"})
    await present.join(room_id)
