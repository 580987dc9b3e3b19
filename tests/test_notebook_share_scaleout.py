"""Shared notebooks across two real room-server processes sharing one real Redis (the
processes and fixtures of tests/test_scaleout.py): a share and its patches made on one process
reach members on the other, in order; a late joiner and a `since` fetch read the shared store;
the sharer leaving on one process stops the share for the other."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest

from jupyter_classroom.notebook_patch import apply_to_cells, decode_patches

from .peers import Peer
from .test_notebook_share import cell, edit, patch, share, snapshot
from .test_scaleout import ServerProcess, cluster, connect, redis_url  # noqa: F401

pytestmark = pytest.mark.timeout(180)

Connect = Callable[..., Awaitable[Peer]]


async def test_a_share_on_one_process_is_followed_on_the_other(
    cluster: list[ServerProcess],  # noqa: F811
    connect: Connect,  # noqa: F811
) -> None:
    p1, p2 = cluster
    host = await connect(p1, "host")
    room_id = (await host.create("Notebook across"))["room"]["id"]
    far = await connect(p2, "far")
    far_id = (await far.join(room_id))["you"]["id"]
    share_id = await share(host, room_id, [cell("a", ""), cell("b", "# md", "markdown")])
    shared = await far.next("notebook:shared")
    assert shared["notebook"]["summary"]["share_id"] == share_id
    cells, active = shared["notebook"]["cells"], None
    for letter in "hello":
        await patch(host, room_id, share_id, edit("a", {"insert": letter}))
    await patch(host, room_id, share_id, {"type": "active", "cell_id": "b"})
    for seq in range(1, 7):  # in order, each once
        event = await far.next("notebook:patched")
        assert event["seq"] == seq
        cells, active = apply_to_cells(cells, active, decode_patches(event["patches"]))
    assert cells[0]["source"] == "olleh" and active == "b"
    # the other process reads the same state, whole or as the batches after a seq
    assert (await snapshot(far, room_id))["cells"] == cells
    since = await far.ok("notebook:get", {"room_id": room_id, "share_id": share_id, "since": 4})
    assert [b["seq"] for b in since["batches"]] == [5, 6]
    late = await connect(p1, "late")
    joined = await late.join(room_id)
    assert joined["notebook"]["seq"] == 6 and joined["notebook"]["share_id"] == share_id
    # allowed on p1, the far member shares from p2; the host on p1 follows it
    await host.ok("notebook:allow", {"room_id": room_id, "member_id": far_id, "allowed": True})
    assert (await far.next("notebook:sharers"))["sharers"] == [far_id]
    far_share = await share(far, room_id, [cell("f", "far")])
    assert (await host.next("notebook:stopped"))["reason"] == "replaced"
    await patch(far, room_id, far_share, edit("f", {"retain": 3}, {"insert": "!"}))
    host.drain("notebook:patched")
    assert (await snapshot(host, room_id))["cells"] == [cell("f", "far!")]
    # the sharer leaves on p2: the share stops for p1
    await far.ok("room:leave", {"room_id": room_id})
    stopped = await late.next("notebook:stopped")
    while stopped["share_id"] != far_share:
        stopped = await late.next("notebook:stopped")
    assert stopped["reason"] == "left"
    assert (await snapshot(late, room_id))["summary"]["live"] is False
