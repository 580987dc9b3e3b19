"""Two Python students (``MediaPeer``) and a host in a mesh room: when the host stops and
then allows students' media, both students renegotiate the connection between them at the
same moment (each offers); perfect negotiation settles the glare and they see each other
again, without a refused description. Those crossings restart the link between them (aiortc
has no rollback); they are no failures, so the link still recovers from a real one."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from jupyter_classroom.media import ColorTrack, MediaPeer
from jupyter_classroom.media.link import MAX_RESTARTS

from .conftest import MakeConnection
from .helpers import mean_colour, wait_for
from .test_video_policy import GREEN, RED, flowing, stopped, watch_signals

BLUE = (40, 40, 220)


@pytest.mark.timeout(180)
async def test_two_students_renegotiating_at_once_see_each_other_again(
    server: Any, connection: MakeConnection, peers: list[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    seen, refusals = watch_signals(server, monkeypatch)
    alice, bob, cleo = await connection("alice"), await connection("bob"), await connection("cleo")
    room = await alice.create_room("lecture")
    host = MediaPeer(alice, room.id)
    peers.append(host)
    await host.start()
    await host.publish(ColorTrack(RED, fps=15))
    students = []
    for conn, colour in ((bob, GREEN), (cleo, BLUE)):
        student = MediaPeer(conn)
        peers.append(student)
        await student.publish(ColorTrack(colour, fps=15))
        await student.join(room.id)
        students.append(student)
    b, c = students
    b_of_c = await b.wait_for_track(c.member_id, timeout=30)
    c_of_b = await c.wait_for_track(b.member_id, timeout=30)
    await flowing(b_of_c)
    await flowing(c_of_b)

    for _ in range(2):
        await alice.set_video_policy(room.id, students_publish=False)
        await wait_for(lambda: not b.may_publish and not c.may_publish)
        await stopped(b_of_c)
        await stopped(c_of_b)
        for s in students:  # they still watch the host
            await flowing(await s.wait_for_track(host.member_id, timeout=30))
        await alice.set_video_policy(room.id, students_publish=True)
        b_of_c = await b.wait_for_track(c.member_id, timeout=30)
        c_of_b = await c.wait_for_track(b.member_id, timeout=30)
        await flowing(b_of_c)
        await flowing(c_of_b)
        assert np.allclose(mean_colour(b_of_c), BLUE, atol=25)
        assert np.allclose(mean_colour(c_of_b), GREEN, atol=25)
        for s, colour in ((b, GREEN), (c, BLUE)):
            seen_by_host = await host.wait_for_track(s.member_id, timeout=30)
            await flowing(seen_by_host)
            assert np.allclose(mean_colour(seen_by_host), colour, atol=25)
    assert refusals == [], refusals

    # the crossed offers restarted the link between them (more often than a failure may)...
    link = max((b.links[c.member_id], c.links[b.member_id]), key=lambda link: link.restarts)
    assert link.restarts >= MAX_RESTARTS
    # ...yet a connection failure now is its first: the link stays (the polite side waits
    # for the impolite one's restart, the impolite one restarts) and the video goes on
    link._put("failed", link.pc)
    await flowing(b_of_c)
    await flowing(c_of_b)
    assert not link.closed and link.failures == 1
