"""Shared notebooks from Python over a real server: the Connection's replica (chunked shares,
the resume rule, fetching after a gap), and ``Classroom.share_notebook`` watching a file on
disk while a member follows it."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any

import nbformat
import pytest

from jupyter_classroom import ClassroomError, Client, Connection
from jupyter_classroom import protocol as p
from jupyter_classroom.client.notebooks import FRAME_BUDGET, cells_from_notebook
from jupyter_classroom.notebooks import NotebookLimits
from jupyter_classroom.widgets import Classroom

from .conftest import MakeConnection
from .helpers import hold_rejoins, wait_for
from .peers import ServerInfo


def notebook(*sources: str, outputs: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    nb = nbformat.v4.new_notebook()
    nb.metadata["language_info"] = {"name": "python"}
    for index, source in enumerate(sources):
        cell = nbformat.v4.new_code_cell(source, id=f"c{index}")
        if index == 0 and outputs:
            cell.outputs = [nbformat.from_dict(o) for o in outputs]
            cell.execution_count = 1
        nb.cells.append(cell)
    return dict(nb)


async def pair(connection: MakeConnection) -> tuple[Connection, Connection, str]:
    host, student = await connection("host"), await connection("student")
    room = await host.create_room("notebooks")
    await student.join(room.id)
    return host, student, room.id


async def server_cells(conn: Connection, room_id: str) -> list[dict[str, Any]]:
    ack = await conn.request("notebook:get", {"room_id": room_id})
    return list(ack["notebook"]["cells"])


async def test_a_large_notebook_is_shared_in_chunks_and_followed(connection: MakeConnection):
    host, student, room_id = await pair(connection)
    seen: list[dict[str, Any]] = []
    student.on("notebook:patched", seen.append)
    sources = [f"# cell {i}\n" + "x" * 20_000 for i in range(30)]  # ~600 KB: several frames
    snapshot = await host.share_notebook(room_id, notebook(*sources), path="big.ipynb")
    assert [c["source"] for c in snapshot["cells"]] == sources
    assert snapshot["summary"]["seq"] >= 2 and snapshot["summary"]["path"] == "big.ipynb"
    await wait_for(lambda: (student.rooms[room_id].notebook or {}).get("summary", {}).get("seq")
                   == snapshot["summary"]["seq"])  # fmt: skip
    assert student.rooms[room_id].notebook == host.rooms[room_id].notebook
    assert [e["seq"] for e in seen] == list(range(1, snapshot["summary"]["seq"] + 1))
    assert student.rooms[room_id].notebook["cells"] == await server_cells(student, room_id)
    # the sharer's changes: its replica and the student's, as the server has them
    seq = await host.patch_notebook(room_id, [
        {"type": "edit", "cell_id": "c1", "delta": [{"retain": 2}, {"insert": "!"}]},
        {"type": "move", "cell_id": "c0", "index": 29},
        {"type": "outputs", "cell_id": "c2", "execution_count": 3,
         "outputs": [{"output_type": "execute_result", "execution_count": 3,
                      "data": {"text/plain": "3"}, "metadata": {}}]},
    ])  # fmt: skip
    await wait_for(lambda: student.rooms[room_id].notebook["summary"]["seq"] == seq)
    cells = await server_cells(student, room_id)
    assert cells[0]["source"].startswith("# !cell 1") and cells[-1]["id"] == "c0"
    assert (
        student.rooms[room_id].notebook["cells"] == cells == host.rooms[room_id].notebook["cells"]
    )


async def test_the_replica_fetches_what_a_gap_lost(connection: MakeConnection, server: ServerInfo):
    host, student, room_id = await pair(connection)
    snapshot = await host.share_notebook(room_id, notebook("a", "b"))
    share_id = snapshot["summary"]["share_id"]
    await wait_for(lambda: student.rooms[room_id].notebook is not None)
    stale = student.rooms[room_id].notebook
    synced: list[dict[str, Any]] = []
    student.on("notebook:synced", synced.append)
    for letter in "xyz":
        await host.patch_notebook(room_id, [{"type": "edit", "cell_id": "c0",
                                             "delta": [{"insert": letter}]}])  # fmt: skip
    await wait_for(lambda: student.rooms[room_id].notebook["summary"]["seq"] == 3)
    # the student's replica lost two batches (as a dropped message would): the next batch
    # opens a gap, which it fills with notebook:get since; nothing is applied twice
    room = student.rooms[room_id]
    room.notebook = {
        **stale,
        "summary": {**stale["summary"], "seq": 1},
        "cells": [{**stale["cells"][0], "source": "xa"}, stale["cells"][1]],
    }
    await host.patch_notebook(room_id, [{"type": "edit", "cell_id": "c1",
                                         "delta": [{"retain": 1}, {"insert": "!"}]}])  # fmt: skip
    await wait_for(lambda: synced, message="the replica fetched the batches it lacked")
    await wait_for(lambda: room.notebook["summary"]["seq"] == 4)
    assert [c["source"] for c in room.notebook["cells"]] == ["zyxa", "b!"]
    assert room.notebook["cells"] == await server_cells(student, room_id)
    # when the server's log no longer has them: the whole snapshot
    server.app.room_server.notebooks.limits = NotebookLimits(log_size=1)
    room.notebook = {**room.notebook, "summary": {**room.notebook["summary"], "seq": 1}}
    synced.clear()
    await host.patch_notebook(room_id, [{"type": "delete", "cell_id": "c1"}])
    await wait_for(lambda: synced and room.notebook["summary"]["seq"] == 5)
    assert room.notebook["cells"] == await server_cells(student, room_id) and share_id
    assert [c["id"] for c in room.notebook["cells"]] == ["c0"]


async def test_a_late_joiner_and_a_new_share(connection: MakeConnection):
    host, student, room_id = await pair(connection)
    first = await host.share_notebook(room_id, notebook("one"))
    await host.patch_notebook(room_id, [{"type": "source", "cell_id": "c0", "source": "uno"}])
    late = await connection("late")
    room = await late.join(room_id)
    await wait_for(lambda: room.notebook is not None and room.notebook["summary"]["seq"] == 1)
    assert room.notebook["cells"][0]["source"] == "uno"
    # a new share replaces everything; stopping keeps the last state readable
    second = await host.share_notebook(room_id, notebook("two", "three"), path="b.ipynb")
    assert second["summary"]["share_id"] != first["summary"]["share_id"]
    await wait_for(lambda: room.notebook["summary"]["share_id"] == second["summary"]["share_id"])
    assert [c["source"] for c in room.notebook["cells"]] == ["two", "three"]
    await host.stop_notebook(room_id)
    await wait_for(lambda: room.notebook["summary"]["live"] is False)
    with pytest.raises(ClassroomError) as refused:
        await late.share_notebook(room_id, notebook("mine"))
    assert refused.value.code == "forbidden"
    sharers = await host.allow_sharing(room_id, room.you["id"])
    assert sharers == [room.you["id"]]
    await wait_for(lambda: student.rooms[room_id].sharers == sharers)
    mine = await late.share_notebook(room_id, notebook("mine"))
    assert mine["summary"]["sharer"]["id"] == room.you["id"]


def test_cells_from_nbformat_fit_the_frame() -> None:
    big = {"output_type": "display_data", "metadata": {},
           "data": {"image/png": "A" * (150 * 1024)}}  # fmt: skip
    odd = {"output_type": "stream", "name": "stdout", "text": 5}  # the server refuses it
    nb = notebook("plot()", "text", outputs=[big, big, odd, {"output_type": "stream",
                                                             "name": "stdout", "text": "ok"}])  # fmt: skip
    nb["cells"].append({"cell_type": "markdown", "metadata": {}, "source": ["# a", "\nb"]})
    nb["cells"].append({"cell_type": "code", "metadata": {}, "source": "", "id": "c1",
                        "outputs": [], "execution_count": None})  # fmt: skip
    cells, language = cells_from_notebook(nb)
    assert language == "python"
    assert [c["id"] for c in cells] == ["c0", "c1", "cell-2", "c1-3"]
    assert cells[2] == {"id": "cell-2", "cell_type": "markdown", "source": "# a\nb",
                        "outputs": [], "execution_count": None}  # fmt: skip
    kept = cells[0]["outputs"]
    assert kept[0] == big and kept[1]["output_type"] == "stream" and len(kept) == 3
    assert kept[-1]["text"] == "[2 output(s) too large or malformed to share]\n"
    from jupyter_classroom.client.notebooks import _encode

    assert len(_encode(cells[0])) <= FRAME_BUDGET
    # a long source leaves less room for outputs; one past MAX_CELL_SOURCE is cut, saying so
    long = notebook("s" * 90_000, outputs=[big])
    long["cells"].append({"cell_type": "raw", "metadata": {}, "source": "r" * 100_500})
    (with_output, cut), _ = cells_from_notebook(long)
    assert (
        len(_encode(with_output)) <= FRAME_BUDGET
        and "too large" in with_output["outputs"][0]["text"]
    )
    assert len(cut["source"]) == p.MAX_CELL_SOURCE and cut["source"].endswith("too long to share]")


@pytest.fixture
async def classrooms(server: ServerInfo):
    """A teacher's Classroom and a student's (kernel-drawn), in one room."""
    clients = [
        await asyncio.to_thread(Client, server.url, server.kernel_token, name=name)
        for name in ("teacher", "student")
    ]
    teacher = await asyncio.to_thread(Classroom.create, "Share", client=clients[0], mode="kernel")
    student = await asyncio.to_thread(
        Classroom.join, teacher.room_id, client=clients[1], mode="kernel"
    )
    yield teacher, student
    for classroom in (teacher, student):
        classroom.close()
    for client in clients:
        await asyncio.to_thread(client.close)


def touch_later(path: Path) -> None:
    """Make sure the next write has another mtime than the last (coarse clocks)."""
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 2_000_000_000))


async def test_classroom_shares_a_file_and_follows_it(classrooms, tmp_path: Path):
    teacher, student = classrooms
    path = tmp_path / "lesson.ipynb"
    nb = nbformat.v4.new_notebook()
    nb.metadata["language_info"] = {"name": "python"}
    nb.cells = [nbformat.v4.new_markdown_cell("# Lesson", id="intro"),
                nbformat.v4.new_code_cell("x = 1", id="code")]  # fmt: skip
    nbformat.write(nb, path)
    assert student.shared_notebook is None
    summary = await asyncio.to_thread(teacher.share_notebook, path, interval=0.2)
    assert summary["path"] == "lesson.ipynb" and summary["live"] is True

    def sources() -> list[str]:
        shared = student.shared_notebook
        return [c["source"] for c in shared["cells"]] if shared else []

    await wait_for(lambda: sources() == ["# Lesson", "x = 1"])
    # the teacher edits and saves the file: the student sees the change
    nb.cells[1].source = "x = 2\nprint(x)"
    nb.cells[1].outputs = [nbformat.v4.new_output("stream", name="stdout", text="2\n")]
    nb.cells[1].execution_count = 1
    nb.cells.insert(1, nbformat.v4.new_markdown_cell("Now **run** it", id="note"))
    nbformat.write(nb, path)
    touch_later(path)
    await wait_for(lambda: sources() == ["# Lesson", "Now **run** it", "x = 2\nprint(x)"],
                   message="the student's notebook follows the file")  # fmt: skip
    shared = student.shared_notebook
    assert shared is not None
    nbformat.validate(nbformat.from_dict(shared))  # a valid notebook, ready to save
    code = shared["cells"][2]
    assert code["outputs"][0]["text"] == "2\n" and code["execution_count"] == 1
    assert shared["metadata"]["language_info"]["name"] == "python"
    # stop: the student keeps the last state, marked ended; the file is no longer followed
    await asyncio.to_thread(teacher.stop_sharing)
    room = student.client.connection.rooms[student.room_id]
    await wait_for(lambda: room.notebook is not None and not room.notebook["summary"]["live"])
    nb.cells[0].source = "# Changed after stop"
    nbformat.write(nb, path)
    touch_later(path)
    await asyncio.sleep(0.6)
    assert sources()[0] == "# Lesson"


async def test_a_reconnected_replica_gets_exactly_what_it_missed(
    connection: MakeConnection, server: ServerInfo
):
    host, student, room_id = await pair(connection)
    await host.share_notebook(room_id, notebook(""))
    applied: list[int] = []
    student.on("notebook:patched", lambda event: applied.append(event["seq"]))
    fetched: list[dict[str, Any]] = []
    teacher_went_on = asyncio.Event()  # (the rejoin waits for it: see hold_rejoins)
    hold_rejoins(student, teacher_went_on)
    original = student.request

    async def request(event: str, payload: dict[str, Any]) -> dict[str, Any]:
        ack = await original(event, payload)
        if event == "notebook:get":
            fetched.append({"payload": payload, "ack": ack})
        return ack

    student.request = request
    for letter in "ab":
        await host.patch_notebook(room_id, [{"type": "edit", "cell_id": "c0",
                                             "delta": [{"insert": letter}]}])  # fmt: skip
    await wait_for(lambda: applied == [1, 2])
    # the student's websocket drops (a network fault); the teacher goes on meanwhile
    (sid,) = [s for s, session in server.app.room_server.sessions.items()
              if session.identity.name == "student"]  # fmt: skip
    disconnects: list[dict[str, Any]] = []
    student.on("disconnect", disconnects.append)
    # (the connection cut under the websocket: no closing handshake, as a network fault)
    server.app.room_server.sio.get_environ(sid)["tornado.handler"].ws_connection.stream.close()
    await wait_for(lambda: disconnects)
    for letter in "cde":
        await host.patch_notebook(room_id, [{"type": "edit", "cell_id": "c0",
                                             "delta": [{"insert": letter}]}])  # fmt: skip
    teacher_went_on.set()
    room = student.rooms[room_id]
    await wait_for(lambda: student.connected and room.notebook["summary"]["seq"] == 5)
    # the rejoin's ack said seq 5: it asked for what came after its 2, and got exactly 3..5
    (got,) = fetched
    assert got["payload"]["since"] == 2
    assert [batch["seq"] for batch in got["ack"]["batches"]] == [3, 4, 5]
    await host.patch_notebook(room_id, [{"type": "edit", "cell_id": "c0",
                                         "delta": [{"insert": "f"}]}])  # fmt: skip
    await wait_for(lambda: room.notebook["summary"]["seq"] == 6)
    assert (
        room.notebook["cells"][0]["source"]
        == "fedcba"
        == (await server_cells(student, room_id))[0]["source"]
    )


async def test_a_new_share_fetched_drops_what_was_held_for_the_old(connection: MakeConnection):
    host, student, room_id = await pair(connection)
    first = await host.share_notebook(room_id, notebook("one"))
    room = student.rooms[room_id]
    await wait_for(lambda: room.notebook is not None)
    gets: list[dict[str, Any]] = []
    original = student.request

    async def request(event: str, payload: dict[str, Any]) -> dict[str, Any]:
        if event == "notebook:get":
            gets.append(payload)
        return await original(event, payload)

    student.request = request
    # the student still has the first share, with a batch of it held past a gap (seq 7;
    # 1..6 lost on the way), having missed the second share's notebook:shared (as a dropped
    # message would: the replica is set back to that state once the event came)
    held = [{"type": "source", "cell_id": "c0", "source": "stale, of the first share"}]
    second = await host.share_notebook(room_id, notebook("two"))
    await wait_for(lambda: room.notebook["summary"]["share_id"] == second["summary"]["share_id"])
    room.notebook, room.notebook_ahead = first, {7: held}
    # the second share's next batch: another share than the student's, so it fetches it whole
    synced: list[dict[str, Any]] = []
    student.on("notebook:synced", synced.append)
    await host.patch_notebook(room_id, [{"type": "source", "cell_id": "c0", "source": "2"}])
    await wait_for(lambda: synced and room.notebook["summary"]["share_id"] == second["summary"][
        "share_id"])  # fmt: skip
    # what was held for the first share is dropped, not kept to apply to the second (at its
    # seq 7), nor fetched for again and again
    assert room.notebook_ahead == {} and len(gets) == 1
    for n in range(3, 9):
        await host.patch_notebook(room_id, [{"type": "source", "cell_id": "c0", "source": str(n)}])
    await wait_for(lambda: room.notebook["summary"]["seq"] == 7)
    assert room.notebook["cells"] == await server_cells(student, room_id)
    assert room.notebook["cells"][0]["source"] == "8"


async def test_the_watch_waits_for_the_next_save_of_a_broken_file(
    classrooms, tmp_path: Path, caplog: pytest.LogCaptureFixture, server: ServerInfo
):
    teacher, student = classrooms
    path = tmp_path / "lesson.ipynb"
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("x = 1", id="code")]
    nbformat.write(nb, path)
    with pytest.raises(ValueError):  # (a busy loop)
        teacher.share_notebook(path, interval=0)
    await asyncio.to_thread(teacher.share_notebook, path, interval=0.02)
    await wait_for(lambda: student.shared_notebook is not None)
    caplog.set_level("WARNING", logger="jupyter_classroom")
    path.write_text('{"cells": [')  # not a notebook: one warning, not one per look
    touch_later(path)
    watch = teacher._notebook_watch
    assert watch is not None
    await wait_for(lambda: watch.mtime == path.stat().st_mtime_ns)
    await asyncio.sleep(0.3)  # (some fifteen looks)
    warnings = [r for r in caplog.records if "not a notebook" in r.getMessage()]
    assert len(warnings) == 1
    # a cell the server refuses (too large): one warning; the next save is sent
    server.app.room_server.notebooks.limits = NotebookLimits(max_source=50)
    nb.cells[0].source = "y" * 51
    nbformat.write(nb, path)
    touch_later(path)
    await wait_for(lambda: watch.mtime == path.stat().st_mtime_ns)
    await asyncio.sleep(0.3)
    refused = [r for r in caplog.records if "could not send" in r.getMessage()]
    assert len(refused) == 1 and "too_large" in refused[0].getMessage()
    nb.cells[0].source = "x = 2"
    nbformat.write(nb, path)
    touch_later(path)
    await wait_for(lambda: student.shared_notebook["cells"][0]["source"] == "x = 2")


async def test_the_sharers_replica_fills_a_gap_in_its_own_acks(connection: MakeConnection):
    host, student, room_id = await pair(connection)
    snapshot = await host.share_notebook(room_id, notebook("a"))
    share_id = snapshot["summary"]["share_id"]
    # a batch whose ack never reached the replica (a timeout): the server has it
    lost = [{"type": "edit", "cell_id": "c0", "delta": [{"insert": "1"}]}]
    await host.request(
        "notebook:patch", {"room_id": room_id, "share_id": share_id, "patches": lost}
    )
    seq = await host.patch_notebook(room_id, [{"type": "edit", "cell_id": "c0",
                                               "delta": [{"insert": "2"}]}])  # fmt: skip
    room = host.rooms[room_id]
    await wait_for(lambda: room.notebook["summary"]["seq"] == seq == 2)
    assert room.notebook["cells"] == await server_cells(host, room_id)
    assert room.notebook["cells"][0]["source"] == "21a" and room.notebook_ahead == {}
