"""Shared notebooks through a real server and real Socket.IO clients: share, patch, stop and
get; late joiners and reconnects (nothing lost or doubled); edit deltas as Yjs applies them;
conflicts, limits and rate limits (no state change); who may do what; and the share's end
when its sharer leaves."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from jupyter_classroom import protocol as p
from jupyter_classroom.notebook_patch import apply_to_cells, decode_patches
from jupyter_classroom.notebooks import NotebookLimits

from .peers import Peer, ServerInfo
from .test_protocol_typescript import ack_conforms, conforms

Connect = Callable[..., Awaitable[Peer]]


def cell(
    cell_id: str,
    source: str = "",
    cell_type: str = "code",
    outputs: list[dict[str, Any]] | None = None,
    execution_count: int | None = None,
) -> dict[str, Any]:
    """A Cell as the server stores and sends it (every field)."""
    return {"id": cell_id, "cell_type": cell_type, "source": source,
            "outputs": outputs or [], "execution_count": execution_count}  # fmt: skip


def stream(text: str) -> dict[str, Any]:
    return {"output_type": "stream", "name": "stdout", "text": text}


async def class_of_two(connect: Connect) -> tuple[Peer, Peer, str, dict[str, str]]:
    host, bob = await connect("host"), await connect("bob")
    created = await host.create("notebooks")
    room_id = created["room"]["id"]
    assert "notebook" not in created and created["sharers"] == []
    ids = {"host": created["you"]["id"], "bob": (await bob.join(room_id))["you"]["id"]}
    return host, bob, room_id, ids


async def share(peer: Peer, room_id: str, cells: list[dict[str, Any]], **fields: Any) -> str:
    payload = {"room_id": room_id, "path": "lesson.ipynb", "language": "python", "cells": cells}
    ack = await peer.ok("notebook:share", {**payload, **fields})
    return str(ack["notebook"]["summary"]["share_id"])


async def patch(peer: Peer, room_id: str, share_id: str, *patches: dict[str, Any]) -> int:
    payload = {"room_id": room_id, "share_id": share_id, "patches": list(patches)}
    return int((await peer.ok("notebook:patch", payload))["seq"])


async def snapshot(peer: Peer, room_id: str) -> dict[str, Any]:
    ack = await peer.ok("notebook:get", {"room_id": room_id})
    assert ack["notebook"] is not None, ack
    return dict(ack["notebook"])


def edit(cell_id: str, *delta: dict[str, Any]) -> dict[str, Any]:
    return {"type": "edit", "cell_id": cell_id, "delta": list(delta)}


def notebook_server(server: ServerInfo) -> Any:
    return server.app.room_server.notebooks


async def test_share_patch_stop_get_round_trip(connect: Connect):
    host, bob, room_id, ids = await class_of_two(connect)
    cells = [cell("a", "print(1)"), cell("b", "# Title", "markdown")]
    ack = await host.ok("notebook:share", {"room_id": room_id, "path": "lesson.ipynb",
                                           "language": "python", "cells": cells})  # fmt: skip
    ack_conforms(p.Event.NOTEBOOK_SHARE, dict(ack))
    shared = ack["notebook"]
    summary = shared["summary"]
    assert shared["cells"] == cells and shared["active"] is None
    assert summary["sharer"] == {"id": ids["host"], "name": "host"}
    assert (summary["seq"], summary["live"], summary["cells"]) == (0, True, 2)
    assert (summary["path"], summary["language"], summary["room_id"]) == (
        "lesson.ipynb", "python", room_id,
    )  # fmt: skip
    for peer in (host, bob):  # the room hears it, the sharer too
        event = await peer.next("notebook:shared")
        conforms(p.EVENTS[p.Event.NOTEBOOK_SHARED], event)
        assert event == {"room_id": room_id, "notebook": shared}
    share_id = summary["share_id"]
    patches = [
        edit("a", {"retain": 6}, {"delete": 1}, {"insert": "'hi'"}),
        {"type": "insert", "index": 1, "cell": cell("c", "x = 2")},
        {"type": "outputs", "cell_id": "a", "outputs": [stream("hi\n")], "execution_count": 1},
        {"type": "active", "cell_id": "c"},
    ]
    seq = await host.ok("notebook:patch", {"room_id": room_id, "share_id": share_id,
                                           "patches": patches})  # fmt: skip
    ack_conforms(p.Event.NOTEBOOK_PATCH, dict(seq))
    assert seq["seq"] == 1
    event = await bob.next("notebook:patched")
    conforms(p.EVENTS[p.Event.NOTEBOOK_PATCHED], event)
    assert (event["share_id"], event["seq"], event["room_id"]) == (share_id, 1, room_id)
    assert event["patches"][0] == patches[0] and event["patches"][1]["cell"] == cell("c", "x = 2")
    await host.nothing("notebook:patched")  # not to the socket that sent it
    got = await bob.ok("notebook:get", {"room_id": room_id})
    ack_conforms(p.Event.NOTEBOOK_GET, dict(got))
    expected = [
        cell("a", "print('hi')", outputs=[stream("hi\n")], execution_count=1),
        cell("c", "x = 2"),
        cell("b", "# Title", "markdown"),
    ]
    assert got["notebook"]["cells"] == expected and got["notebook"]["active"] == "c"
    assert got["notebook"]["summary"] == {**summary, "seq": 1, "cells": 3}
    # the receiver's replica, applying the event by the shared rules, has the same cells
    replica, active = apply_to_cells(shared["cells"], None, decode_patches(event["patches"]))
    assert replica == expected and active == "c"
    # move, delete, cell type (a code cell turned markdown loses its outputs), whole source
    await patch(host, room_id, share_id,
                {"type": "move", "cell_id": "b", "index": 0},
                {"type": "delete", "cell_id": "c"},
                {"type": "cell_type", "cell_id": "a", "cell_type": "markdown"},
                {"type": "source", "cell_id": "b", "source": "# New title"})  # fmt: skip
    after = await snapshot(bob, room_id)
    assert after["cells"] == [
        cell("b", "# New title", "markdown"),
        cell("a", "print('hi')", "markdown"),
    ]
    assert after["active"] is None  # its cell went
    # stop: the room hears it, the state stays readable, patches are refused
    stopped = await bob.error("notebook:stop", {"room_id": room_id})
    assert stopped == "forbidden"
    ack_conforms(p.Event.NOTEBOOK_STOP, dict(await host.ok("notebook:stop", {"room_id": room_id})))
    event = await bob.next("notebook:stopped")
    conforms(p.EVENTS[p.Event.NOTEBOOK_STOPPED], event)
    assert event == {"room_id": room_id, "share_id": share_id, "reason": "stopped"}
    ended = await snapshot(bob, room_id)
    assert ended["summary"]["live"] is False and ended["cells"] == after["cells"]
    refused = {
        "room_id": room_id,
        "share_id": share_id,
        "patches": [{"type": "active", "cell_id": None}],
    }
    assert await host.error("notebook:patch", refused) == "conflict"
    await host.ok("notebook:stop", {"room_id": room_id})  # nothing live: no error, no event
    await bob.nothing("notebook:stopped")


async def test_late_joiner_gets_the_current_notebook(connect: Connect):
    host, bob, room_id, ids = await class_of_two(connect)
    share_id = await share(host, room_id, [cell("a", "1")])
    await patch(host, room_id, share_id, edit("a", {"retain": 1}, {"insert": "+1"}))
    await patch(host, room_id, share_id, {"type": "insert", "index": 9, "cell": cell("b", "2")})
    late = await connect("late")
    joined = await late.join(room_id)
    ack_conforms(p.Event.ROOM_JOIN, dict(joined))
    assert joined["notebook"]["share_id"] == share_id and joined["notebook"]["seq"] == 2
    assert joined["notebook"]["cells"] == 2 and joined["notebook"]["live"] is True
    got = await snapshot(late, room_id)
    assert got["cells"] == [cell("a", "1+1"), cell("b", "2")]
    assert got["summary"] == joined["notebook"]
    # a page socket attached with a ticket sees it in its ack too
    ticket = await bob.ok("room:ticket", {"room_id": room_id})
    page = await connect("bob", client_id=bob.auth["client_id"])
    attached = await page.ok("room:attach", {"ticket": ticket["ticket"], "board": True})
    ack_conforms(p.Event.ROOM_ATTACH, dict(attached))
    assert attached["notebook"]["share_id"] == share_id and attached["sharers"] == []


async def test_no_share_get_is_null(connect: Connect):
    host, bob, room_id, ids = await class_of_two(connect)
    got = await bob.ok("notebook:get", {"room_id": room_id, "since": 3})
    assert got == {"ok": True, "notebook": None}


async def test_since_gets_exactly_the_missed_batches(connect: Connect, server: ServerInfo):
    host, bob, room_id, ids = await class_of_two(connect)
    share_id = await share(host, room_id, [cell("a", "")])
    first = await snapshot(bob, room_id)
    for n in range(5):
        await patch(host, room_id, share_id, edit("a", {"retain": n}, {"insert": str(n)}))
    got = await bob.ok("notebook:get", {"room_id": room_id, "share_id": share_id, "since": 2})
    ack_conforms(p.Event.NOTEBOOK_GET, dict(got))
    assert got["notebook"] is None and got["share_id"] == share_id
    assert [b["seq"] for b in got["batches"]] == [3, 4, 5]
    everything = await bob.ok("notebook:get", {"room_id": room_id, "share_id": share_id,
                                               "since": 0})  # fmt: skip
    assert [b["seq"] for b in everything["batches"]] == [1, 2, 3, 4, 5]
    cells, _ = first["cells"], None
    for batch in everything["batches"]:
        cells, _ = apply_to_cells(cells, None, decode_patches(batch["patches"]))
    assert cells == [cell("a", "01234")] == (await snapshot(bob, room_id))["cells"]
    current = await bob.ok("notebook:get", {"room_id": room_id, "share_id": share_id, "since": 5})
    assert current["batches"] == [] and current["notebook"] is None
    # a since ahead of the share, or of another share: the whole snapshot
    ahead = await bob.ok("notebook:get", {"room_id": room_id, "share_id": share_id, "since": 9})
    assert ahead["notebook"]["summary"]["seq"] == 5 and "batches" not in ahead
    other = await bob.ok("notebook:get", {"room_id": room_id, "share_id": "old", "since": 1})
    assert other["notebook"]["cells"] == [cell("a", "01234")]
    # once the log no longer holds them all: the whole snapshot
    notebook_server(server).limits = NotebookLimits(log_size=2)
    await patch(host, room_id, share_id, edit("a", {"insert": "x"}))
    old = await bob.ok("notebook:get", {"room_id": room_id, "share_id": share_id, "since": 3})
    assert old["notebook"]["cells"] == [cell("a", "x01234")] and "batches" not in old
    recent = await bob.ok("notebook:get", {"room_id": room_id, "share_id": share_id, "since": 4})
    assert [b["seq"] for b in recent["batches"]] == [5, 6]


async def test_a_reconnect_loses_and_doubles_nothing(connect: Connect):
    host, bob, room_id, ids = await class_of_two(connect)
    share_id = await share(host, room_id, [cell("a", "")])
    await patch(host, room_id, share_id, edit("a", {"insert": "a"}))
    event = await bob.next("notebook:patched")
    replica = apply_to_cells([cell("a", "")], None, decode_patches(event["patches"]))[0]
    mine = event["seq"]
    await bob.disconnect()  # bob's connection drops; the share goes on
    for letter in "bcd":
        await patch(host, room_id, share_id, edit("a", {"retain": 1}, {"insert": letter}))
    back = await connect("bob", client_id=bob.auth["client_id"])
    joined = await back.join(room_id)
    assert joined["you"]["id"] == ids["bob"] and joined["notebook"]["seq"] == 4
    missed = await back.ok("notebook:get", {"room_id": room_id, "share_id": share_id,
                                            "since": mine})  # fmt: skip
    assert [b["seq"] for b in missed["batches"]] == [2, 3, 4]
    for batch in missed["batches"]:
        replica = apply_to_cells(replica, None, decode_patches(batch["patches"]))[0]
    assert replica == (await snapshot(back, room_id))["cells"] == [cell("a", "adcb")]


async def test_edit_deltas_apply_as_yjs_does(connect: Connect):
    host, bob, room_id, ids = await class_of_two(connect)
    share_id = await share(host, room_id, [cell("a", "a😀b"), cell("m", "héllo wörld")])
    # "😀" is two UTF-16 code units, as in JavaScript: retain 3 passes it
    await patch(host, room_id, share_id, edit("a", {"retain": 3}, {"insert": "X"}))
    await patch(host, room_id, share_id, edit("a", {"retain": 1}, {"delete": 2}))  # the emoji
    await patch(host, room_id, share_id,
                edit("m", {"retain": 1}, {"delete": 1}, {"insert": "e"}, {"retain": 5},
                     {"delete": 1}, {"insert": "o"}))  # fmt: skip
    await patch(host, room_id, share_id, edit("m", {"insert": "¡"}, {"retain": 11},
                                               {"insert": "!"}))  # fmt: skip
    cells = (await snapshot(bob, room_id))["cells"]
    assert [c["source"] for c in cells] == ["aXb", "¡hello world!"]
    # splitting a surrogate pair, or running past the end: conflict, nothing applied
    await patch(host, room_id, share_id, {"type": "source", "cell_id": "a", "source": "😀"})
    for delta in ([{"retain": 1}, {"insert": "x"}], [{"delete": 1}], [{"retain": 3}],
                  [{"insert": "ok"}, {"delete": 5}]):  # fmt: skip
        payload = {"room_id": room_id, "share_id": share_id, "patches": [edit("a", *delta)]}
        assert await host.error("notebook:patch", payload) == "conflict"
    # a step that is none of the three, or a negative count: bad_request
    for step in ({"retain": -1}, {"retain": 1, "insert": "x"}, {"format": 1}, {"insert": 3}):
        payload = {"room_id": room_id, "share_id": share_id, "patches": [edit("a", step)]}
        assert await host.error("notebook:patch", payload) == "bad_request"
    after = await snapshot(bob, room_id)
    assert after["cells"][0]["source"] == "😀" and after["summary"]["seq"] == 5


async def test_a_conflict_applies_nothing(connect: Connect):
    host, bob, room_id, ids = await class_of_two(connect)
    share_id = await share(host, room_id, [cell("a", "keep"), cell("b", "md", "markdown")])
    before = await snapshot(bob, room_id)
    bad_batches = [
        [
            {"type": "source", "cell_id": "a", "source": "changed"},
            {"type": "delete", "cell_id": "x"},
        ],
        [{"type": "insert", "index": 0, "cell": cell("a")}],  # that id exists
        [{"type": "outputs", "cell_id": "b", "outputs": [], "execution_count": None}],  # markdown
        [{"type": "delete", "cell_id": "a"}, {"type": "move", "cell_id": "a", "index": 0}],
        [{"type": "active", "cell_id": "nope"}],
    ]
    for patches in bad_batches:
        payload = {"room_id": room_id, "share_id": share_id, "patches": patches}
        assert await host.error("notebook:patch", payload) == "conflict", patches
    wrong_share = {
        "room_id": room_id,
        "share_id": "nope",
        "patches": [{"type": "active", "cell_id": None}],
    }
    assert await host.error("notebook:patch", wrong_share) == "conflict"
    assert await snapshot(bob, room_id) == before
    await bob.nothing("notebook:patched")


async def test_every_limit_refuses_and_changes_nothing(connect: Connect, server: ServerInfo):
    host, bob, room_id, ids = await class_of_two(connect)
    share_id = await share(host, room_id, [cell("a", "x")])

    async def refused(patches: list[dict[str, Any]]) -> str:
        payload = {"room_id": room_id, "share_id": share_id, "patches": patches}
        return await host.error("notebook:patch", payload)

    big = {"output_type": "display_data", "data": {"text/plain": "x" * (p.MAX_OUTPUT + 10)},
           "metadata": {}}  # fmt: skip
    assert await refused([{"type": "outputs", "cell_id": "a", "outputs": [big]}]) == "too_large"
    many = [stream("x")] * (p.MAX_OUTPUTS_PER_CELL + 1)
    assert await refused([{"type": "outputs", "cell_id": "a", "outputs": many}]) == "too_large"
    too_many = [{"type": "active", "cell_id": None}] * (p.MAX_NOTEBOOK_PATCHES + 1)
    assert await refused(too_many) == "too_large"
    long = "y" * (p.MAX_CELL_SOURCE + 1)
    assert await refused([{"type": "source", "cell_id": "a", "source": long}]) == "too_large"
    grow = "z" * p.MAX_CELL_SOURCE  # within the limit alone, past it with the "x"
    assert await refused([edit("a", {"insert": grow})]) == "too_large"
    steps = [{"insert": "q"}] * (p.MAX_DELTA_STEPS + 1)
    assert await refused([edit("a", *steps)]) == "too_large"
    odd = {"output_type": "script", "text": "alert(1)"}
    assert await refused([{"type": "outputs", "cell_id": "a", "outputs": [odd]}]) == "bad_request"
    payload = {
        "room_id": room_id,
        "path": "x.ipynb",
        "cells": [cell("m", "t", "markdown", [stream("no")])],
    }
    assert await host.error("notebook:share", payload) == "bad_request"
    twice = {"room_id": room_id, "path": "x.ipynb", "cells": [cell("d"), cell("d")]}
    assert await host.error("notebook:share", twice) == "bad_request"
    # cells and bytes per notebook (lowered here: the protocol's take megabytes to reach)
    notebook_server(server).limits = NotebookLimits(max_cells=3, max_bytes=2000, max_source=500)
    long_cell = [{"type": "insert", "index": 0, "cell": cell("L", "s" * 501)}]
    assert await refused(long_cell) == "too_large"
    four = {"room_id": room_id, "path": "x.ipynb", "cells": [cell(str(i)) for i in range(4)]}
    assert await host.error("notebook:share", four) == "too_large"
    inserts = [{"type": "insert", "index": 0, "cell": cell(f"n{i}")} for i in range(3)]
    assert await refused(inserts) == "too_large"
    assert await refused([{"type": "source", "cell_id": "a", "source": "w" * 2001}]) == "too_large"
    heavy = {"room_id": room_id, "path": "x.ipynb", "cells": [cell("h", "v" * 2001)]}
    assert await host.error("notebook:share", heavy) == "too_large"
    after = await snapshot(bob, room_id)
    assert after["cells"] == [cell("a", "x")] and after["summary"]["seq"] == 0
    assert after["summary"]["share_id"] == share_id
    await bob.nothing("notebook:patched", wait=0.1)


async def test_rate_limits_refuse_and_change_nothing(connect: Connect):
    host, bob, room_id, ids = await class_of_two(connect)
    share_id = await share(host, room_id, [cell("a", "")])
    codes: list[str] = []
    accepted = 0
    for _ in range(200):  # patches: 60/s in bursts of 120
        ack = await host.call("notebook:patch", {"room_id": room_id, "share_id": share_id,
                                                 "patches": [edit("a", {"insert": "k"})]})  # fmt: skip
        if ack["ok"]:
            accepted += 1
        else:
            codes.append(ack["error"]["code"])
            break
    assert codes == ["rate_limited"]
    state = await snapshot(bob, room_id)
    assert state["summary"]["seq"] == accepted and state["cells"][0]["source"] == "k" * accepted


async def test_byte_rate_refuses(connect: Connect):
    host, bob, room_id, ids = await class_of_two(connect)
    allowed = await connect("other")
    room2 = (await allowed.create("bytes"))["room"]["id"]
    share_id = await share(allowed, room2, [cell("a", ""), cell("b", "")])
    chunk = "w" * 95_000
    code = ""
    for n in range(60):  # 2 MB/s: about 190 KB a message
        ack = await allowed.call("notebook:patch", {"room_id": room2, "share_id": share_id,
                                                    "patches": [
            {"type": "source", "cell_id": "a", "source": chunk + str(n)},
            {"type": "source", "cell_id": "b", "source": chunk},
        ]})  # fmt: skip
        if not ack["ok"]:
            code = ack["error"]["code"]
            break
    assert code == "rate_limited" and ack["error"]["message"]
    state = (await allowed.ok("notebook:get", {"room_id": room2}))["notebook"]
    assert state["summary"]["seq"] == n and state["cells"][0]["source"] == chunk + str(n - 1)


async def test_who_may_share_patch_stop_and_see(connect: Connect):
    host, bob, room_id, ids = await class_of_two(connect)
    carol = await connect("carol")
    ids["carol"] = (await carol.join(room_id))["you"]["id"]
    stranger = await connect("stranger")
    other_room = (await stranger.create("elsewhere"))["room"]["id"]
    payload = {"room_id": room_id, "path": "b.ipynb", "cells": [cell("b", "bob's")]}
    assert await bob.error("notebook:share", payload) == "forbidden"
    host_share = await share(host, room_id, [cell("a", "host's")])
    # only the host allows; the room hears who may share
    allow = {"room_id": room_id, "member_id": ids["bob"], "allowed": True}
    assert await bob.error("notebook:allow", allow) == "forbidden"
    missing = {"room_id": room_id, "member_id": "m0000", "allowed": True}
    assert await host.error("notebook:allow", missing) == "not_found"
    allowed = await host.ok("notebook:allow", allow)
    ack_conforms(p.Event.NOTEBOOK_ALLOW, dict(allowed))
    assert allowed["sharers"] == [ids["bob"]]
    for peer in (host, bob, carol):
        event = await peer.next("notebook:sharers")
        conforms(p.EVENTS[p.Event.NOTEBOOK_SHARERS], event)
        assert event == {"room_id": room_id, "sharers": [ids["bob"]]}
    assert (await carol.join(room_id))["sharers"] == [ids["bob"]]  # (joining again: the ack)
    # bob's share replaces the host's: it stops first
    bob_share = await share(bob, room_id, [cell("b", "bob's")], path="b.ipynb")
    stopped = await carol.next("notebook:stopped")
    assert stopped == {"room_id": room_id, "share_id": host_share, "reason": "replaced"}
    assert (await carol.next("notebook:shared"))["notebook"]["summary"]["share_id"] == host_share
    assert (await carol.next("notebook:shared"))["notebook"]["summary"]["share_id"] == bob_share
    # only the sharer patches (the host neither), with the current share's id
    change = {"room_id": room_id, "share_id": bob_share, "patches": [edit("b", {"insert": "!"})]}
    assert await host.error("notebook:patch", change) == "forbidden"
    assert await carol.error("notebook:patch", change) == "forbidden"
    stale = {**change, "share_id": host_share}
    assert await host.error("notebook:patch", stale) == "forbidden"  # not the sharer either way
    await bob.ok("notebook:patch", change)
    # a member of another room sees nothing and may do nothing here
    for event, body in (
        ("notebook:get", {"room_id": room_id}),
        ("notebook:share", {"room_id": room_id, "path": "s.ipynb"}),
        ("notebook:patch", change),
        ("notebook:stop", {"room_id": room_id}),
        ("notebook:allow", {"room_id": room_id, "member_id": ids["carol"], "allowed": True}),
    ):
        assert await stranger.error(event, body) == "not_member", event
    for event in ("notebook:shared", "notebook:patched", "notebook:stopped", "notebook:sharers"):
        assert not stranger.received[event], event
    # ... and their own room has no share
    assert (await stranger.ok("notebook:get", {"room_id": other_room}))["notebook"] is None
    # carol (not allowed) may not stop it; the host may
    assert await carol.error("notebook:stop", {"room_id": room_id}) == "forbidden"
    # taking bob's right away stops his live share
    carol.drain("notebook:stopped")
    revoked = await host.ok("notebook:allow", {**allow, "allowed": False})
    assert revoked["sharers"] == []
    assert (await carol.next("notebook:stopped"))["share_id"] == bob_share
    assert await bob.error("notebook:share", payload) == "forbidden"


async def test_the_share_stops_when_its_sharer_leaves_not_when_they_disconnect(
    connect: Connect,
):
    host, bob, room_id, ids = await class_of_two(connect)
    await host.ok("notebook:allow", {"room_id": room_id, "member_id": ids["bob"], "allowed": True})
    share_id = await share(bob, room_id, [cell("b", "1")])
    # a disconnect keeps it live (the sharer may come back)
    await bob.disconnect()
    await host.nothing("notebook:stopped", wait=0.5)
    assert (await snapshot(host, room_id))["summary"]["live"] is True
    back = await connect("bob", client_id=bob.auth["client_id"])
    assert (await back.join(room_id))["notebook"]["live"] is True
    await patch(back, room_id, share_id, edit("b", {"retain": 1}, {"insert": "2"}))
    # leaving stops it; it stays readable
    await back.ok("room:leave", {"room_id": room_id})
    assert await host.next("notebook:stopped") == {
        "room_id": room_id, "share_id": share_id, "reason": "left",
    }  # fmt: skip
    state = await snapshot(host, room_id)
    assert state["summary"]["live"] is False and state["cells"] == [cell("b", "12")]
    # a kicked sharer's share stops too
    carol = await connect("carol")
    carol_id = (await carol.join(room_id))["you"]["id"]
    await host.ok("notebook:allow", {"room_id": room_id, "member_id": carol_id, "allowed": True})
    carol_share = await share(carol, room_id, [cell("c")])
    host.drain("notebook:sharers")
    await host.ok("room:kick", {"room_id": room_id, "member_id": carol_id})
    assert await host.next("notebook:stopped") == {
        "room_id": room_id, "share_id": carol_share, "reason": "left",
    }  # fmt: skip
    # ... and, gone for good, she is no longer among the sharers (bob, who left, still is)
    assert await host.next("notebook:sharers") == {"room_id": room_id, "sharers": [ids["bob"]]}
    assert (await host.ok("room:join", {"room_id": room_id}))["sharers"] == [ids["bob"]]


async def test_the_share_goes_with_its_room(connect: Connect, server: ServerInfo):
    host, bob, room_id, ids = await class_of_two(connect)
    await share(host, room_id, [cell("a", "x")])
    await host.ok("room:close", {"room_id": room_id})
    store = server.app.rooms.store
    assert await store.notebook_header(room_id) is None and await store.notebook(room_id) is None


@pytest.mark.parametrize("bad", [
    {"path": ""},
    {"path": "x" * (p.MAX_NOTEBOOK_PATH + 1)},
    {"cells": [{"id": "bad id", "cell_type": "code", "source": ""}]},
    {"cells": [{"id": "a", "cell_type": "heading", "source": ""}]},
    {"cells": [{"id": "a", "cell_type": "code", "source": 3}]},
])  # fmt: skip
async def test_malformed_shares_are_bad_requests(connect: Connect, bad: dict[str, Any]):
    host, bob, room_id, ids = await class_of_two(connect)
    payload = {"room_id": room_id, "path": "x.ipynb", "cells": [], **bad}
    assert await host.error("notebook:share", payload) in ("bad_request", "too_large")
    assert (await bob.ok("notebook:get", {"room_id": room_id}))["notebook"] is None


def nested(depth: int) -> Any:
    value: Any = "x"
    for _ in range(depth):
        value = {"k": value}
    return value


LONE = "\ud83d"  # half of a surrogate pair: JSON can carry it (\ud83d), UTF-8 cannot


@pytest.mark.parametrize("bad_output", [
    {"output_type": "display_data", "data": {"text/html": {"not": "a string"}}, "metadata": {}},
    {"output_type": "display_data", "data": {"text/plain": ["ok", 3]}, "metadata": {}},
    {"output_type": "display_data", "data": "text/plain", "metadata": {}},
    {"output_type": "display_data", "data": {}, "metadata": []},
    {"output_type": "execute_result", "data": {}, "metadata": {}, "execution_count": "1"},
    {"output_type": "stream", "name": "stdout", "text": 5},
    {"output_type": "stream", "name": 1, "text": "x"},
    {"output_type": "error", "ename": "E", "evalue": "v", "traceback": "not a list"},
    {"output_type": "display_data", "data": {"application/json": nested(100)}, "metadata": {}},
    {"output_type": "stream", "name": "stdout", "text": "a" + LONE},
])  # fmt: skip
async def test_odd_outputs_are_bad_requests(connect: Connect, bad_output: dict[str, Any]):
    host, bob, room_id, ids = await class_of_two(connect)
    share_id = await share(host, room_id, [cell("a", "x")])
    before = await snapshot(bob, room_id)
    change = {"type": "outputs", "cell_id": "a", "outputs": [bad_output]}
    refused = {"room_id": room_id, "share_id": share_id, "patches": [change]}
    assert await host.error("notebook:patch", refused) == "bad_request"
    insert = {"type": "insert", "index": 0, "cell": cell("b", "", "code", [bad_output])}
    assert await host.error("notebook:patch", {**refused, "patches": [insert]}) == "bad_request"
    whole = {"room_id": room_id, "path": "x.ipynb", "cells": [cell("c", "", "code", [bad_output])]}
    assert await host.error("notebook:share", whole) == "bad_request"
    assert await snapshot(bob, room_id) == before
    await bob.nothing("notebook:patched", wait=0.1)
    # JSON mime types hold any JSON; others a string or a list of strings (nbformat's schema)
    fine = {
        "output_type": "display_data",
        "metadata": {"isolated": True},
        "data": {"application/vnd.custom+json": {"a": [1, None]}, "text/plain": ["a", "b"]},
    }
    await patch(host, room_id, share_id, {**change, "outputs": [fine]})


@pytest.mark.parametrize("field", ["path", "language", "source", "insert", "edit"])
async def test_lone_surrogates_are_bad_requests(connect: Connect, field: str):
    host, bob, room_id, ids = await class_of_two(connect)
    share_id = await share(host, room_id, [cell("a", "x")])
    before = await snapshot(bob, room_id)
    await bob.next("notebook:shared")
    if field in ("path", "language"):
        payload = {"room_id": room_id, "path": "p.ipynb", "cells": [], field: "x" + LONE}
        assert await host.error("notebook:share", payload) == "bad_request"
    else:
        patches = {
            "source": {"type": "source", "cell_id": "a", "source": LONE},
            "insert": {"type": "insert", "index": 0, "cell": cell("b", LONE)},
            "edit": edit("a", {"insert": LONE}),
        }
        payload = {"room_id": room_id, "share_id": share_id, "patches": [patches[field]]}
        assert await host.error("notebook:patch", payload) == "bad_request"
    assert await snapshot(bob, room_id) == before
    await bob.nothing("notebook:shared", wait=0.1)


async def test_racing_shares_and_a_kick_end_as_the_store_says(
    connect: Connect, server: ServerInfo, monkeypatch: pytest.MonkeyPatch
):
    host, bob, room_id, ids = await class_of_two(connect)
    await host.ok("notebook:allow", {"room_id": room_id, "member_id": ids["bob"], "allowed": True})
    store = server.app.rooms.store
    start = store.start_notebook
    gate, held = asyncio.Event(), asyncio.Event()
    hold_before = False  # bob's share held before it is stored, or after (before its event)

    async def slow_start(*args: Any) -> Any:
        if args[1].sharer["id"] != ids["bob"]:
            return await start(*args)
        if hold_before:
            held.set()
            await gate.wait()
        previous = await start(*args)
        if not hold_before:
            held.set()
            await gate.wait()
        return previous

    monkeypatch.setattr(store, "start_notebook", slow_start)
    payload = {"room_id": room_id, "path": "b.ipynb", "cells": [cell("b")]}
    bobs = asyncio.ensure_future(bob.call("notebook:share", payload))
    await held.wait()
    hosts = asyncio.ensure_future(host.call("notebook:share", {**payload, "path": "h.ipynb"}))
    await asyncio.sleep(0.2)  # (the host's share, if nothing holds it, is stored and told now)
    gate.set()
    await asyncio.gather(bobs, hosts)
    header = await store.notebook_header(room_id)
    assert header is not None and header.path == "h.ipynb"
    told = [e["notebook"]["summary"]["path"] for e in bob.received["notebook:shared"]]
    assert told == ["b.ipynb", "h.ipynb"]  # the room's last word is the stored share
    # bob kicked while his share is on its way: it does not go live after he is gone
    hold_before = True
    gate.clear()
    held.clear()
    bobs = asyncio.ensure_future(bob.call("notebook:share", payload))
    await held.wait()
    kick = {"room_id": room_id, "member_id": ids["bob"]}
    kicked = asyncio.ensure_future(host.call("room:kick", kick))
    await asyncio.sleep(0.2)
    gate.set()
    await asyncio.gather(bobs, kicked)
    header = await store.notebook_header(room_id)
    assert header is not None and header.sharer["id"] == ids["bob"] and header.live is False


async def test_a_batch_read_across_another_is_computed_again(
    connect: Connect, server: ServerInfo, monkeypatch: pytest.MonkeyPatch
):
    host, bob, room_id, ids = await class_of_two(connect)
    share_id = await share(host, room_id, [cell("a", "x")])
    store = server.app.rooms.store
    heads = store.notebook_heads

    async def another_batch_first(room: str, cell_ids: list[str]) -> Any:
        # the sharer's other socket inserts cell "n" after this batch read the header (the
        # order without "n") and before it reads the cells
        monkeypatch.setattr(store, "notebook_heads", heads)
        insert = {"type": "insert", "index": 1, "cell": cell("n", "new")}
        other = p.NotebookPatch(
            room_id=room_id, share_id=share_id, patches=decode_patches([insert])
        )
        await notebook_server(server).patch(ids["host"], host.sio.get_sid(), other)
        return await heads(room, cell_ids)

    monkeypatch.setattr(store, "notebook_heads", another_batch_first)
    assert await patch(host, room_id, share_id, edit("n", {"retain": 3}, {"insert": "!"})) == 2
    state = await snapshot(bob, room_id)
    assert [c["source"] for c in state["cells"]] == ["x", "new!"]
