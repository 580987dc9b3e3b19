"""The automatic fallback: a browser board, chat or participants list that no front-end loads
(VS Code, Colab, Notebook 6, a JupyterLab without our extension) becomes kernel-drawn in
place, over a real server. A view of ours says it loaded with a `rendered` or
`ticket_request` comm message; here they come through ipywidgets' own entry point, and the
widgets are "shown" through `_repr_mimebundle_`, what IPython's display calls."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from jupyter_classroom import Client
from jupyter_classroom.widgets import Classroom, Video, Whiteboard, frontend
from jupyter_classroom.widgets.board_canvas import BoardCanvas, BrowserWhiteboard
from jupyter_classroom.widgets.chat import KernelChat
from jupyter_classroom.widgets.kernel_board import KernelWhiteboard
from jupyter_classroom.widgets.participants import KernelParticipants

from .helpers import wait_for

VIEW = "application/vnd.jupyter.widget-view+json"


@pytest.fixture
async def room(server, monkeypatch):
    monkeypatch.setattr(frontend, "VIEW_GRACE", 0.3)
    monkeypatch.setattr(frontend, "VIEW_SETTLE", 0.05)
    teacher = await asyncio.to_thread(Client, server.url, server.kernel_token, name="teacher")
    student = await asyncio.to_thread(Client, server.url, server.kernel_token, name="student")
    created = await asyncio.to_thread(teacher.create_room, "Fallback")
    await asyncio.to_thread(student.join, created.id)
    yield teacher, student, created.id
    await asyncio.to_thread(teacher.close)
    await asyncio.to_thread(student.close)


def show(widget: Any) -> None:
    """What IPython's display does with a widget."""
    assert widget._repr_mimebundle_()[VIEW]["model_id"] == widget.model_id


def mouse(canvas: Any, event: str, x: float, y: float) -> None:
    """A pointer event as ipycanvas's browser view sends it to the kernel."""
    canvas._handle_custom_msg({"event": event, "x": x, "y": y}, [])


async def objects_of(board: Whiteboard) -> list[dict[str, Any]]:
    # off this loop's thread: the server runs on it, and objects may ask it for the board
    return await asyncio.to_thread(lambda: board.objects)


async def test_a_board_no_front_end_loads_becomes_kernel_drawn(room):
    teacher, student, room_id = room
    board = Whiteboard(teacher, room_id, mode="browser")
    try:
        assert isinstance(board, BrowserWhiteboard) and board.mode == "browser"
        view = board.canvas
        assert isinstance(view, BoardCanvas)
        first = await asyncio.to_thread(board.draw_stroke, [(10, 10), (50, 50)], "#ff0000")
        second = await asyncio.to_thread(
            board.put, {"type": "text", "x": 5, "y": 5, "text": "hi", "color": "#000000",
                        "size": 12}
        )  # fmt: skip
        show(board)  # ... and no view ever says it loaded
        await wait_for(lambda: board.mode == "kernel")

        # in place: the same widget now holds a line saying why and the kernel-drawn board
        note, drawn = board.children
        assert "could not load the classroom's browser board; the kernel draws it" in note.value
        assert isinstance(drawn, KernelWhiteboard) and drawn is board.kernel_drawn
        assert board.canvas is drawn.canvas and view.comm is None and not board.rendered
        # the kernel follows the board live again (a browser board only fetched it on demand)
        await wait_for(lambda: teacher.connection.rooms[room_id].live)
        assert [o["id"] for o in drawn.objects] == [first, second]

        # one outbox and one undo stack: Python's undo takes back the last op put before the
        # switch, the kernel board's Undo button the one before
        await asyncio.to_thread(board.undo)
        await wait_for(lambda: [o["id"] for o in drawn.objects] == [first])
        drawn.undo_button.click()
        await wait_for(lambda: drawn.objects == [])
        # ink drawn on the kernel board is pending in the board's outbox until acked (the
        # server runs on this loop, which does not turn in between), and Python undoes it
        mouse(drawn.canvas, "mouse_down", 100, 100)
        mouse(drawn.canvas, "mouse_move", 200, 150)
        mouse(drawn.canvas, "mouse_up", 200, 150)
        pending = [op["id"] for op in board._pending.values() if op["type"] == "stroke"]
        assert len(pending) == 1 and [o["id"] for o in board.objects] == pending
        await wait_for(lambda: [o["op"]["id"] for o in student.connection.rooms[room_id].ops
                                if o["op"]["type"] == "stroke"][-1:] == pending)  # fmt: skip
        await asyncio.to_thread(board.undo)
        await wait_for(lambda: board.objects == [])
        # refusals show on the kernel board's status line
        await asyncio.to_thread(board.redo)
        await wait_for(lambda: [o["id"] for o in board.objects] == pending)
        board.undo()
        board.undo()
        board.undo()
        board.undo()
        assert "Nothing of yours to undo." in drawn.status.value
        # exports see the same board
        assert (await objects_of(board)) == drawn.objects
    finally:
        board.close()
    assert board.kernel_drawn is not None and board.kernel_drawn.comm is None


async def test_a_board_whose_view_loaded_stays_in_the_browser(room):
    teacher, _, room_id = room
    rendered = Whiteboard(teacher, room_id, mode="browser")
    asked = Whiteboard(teacher, room_id, mode="browser")  # a view asking for a ticket loaded
    unseen = Whiteboard(teacher, room_id, mode="browser")  # made, never shown
    missing = Whiteboard(teacher, room_id, mode="browser")
    boards = (rendered, asked, unseen, missing)
    try:
        replies: list[dict[str, Any]] = []
        asked.canvas.send = replies.append
        for board in (rendered, asked, missing):
            show(board)
        rendered.canvas._handle_custom_msg({"type": "rendered"}, [])
        asked.canvas._handle_custom_msg({"type": "ticket_request", "request_id": "t1"}, [])
        # the boards shown together wait alike: once the unloaded one switched, the others
        # had their turn
        await wait_for(lambda: missing.mode == "kernel")
        assert [b.mode for b in boards] == ["browser", "browser", "browser", "kernel"]
        assert rendered.children == (rendered.canvas,) and rendered.rendered
        assert rendered.kernel_drawn is None and rendered.canvas.comm is not None
        await wait_for(lambda: replies)
        assert replies[0]["type"] == "ticket"
    finally:
        for board in boards:
            board.close()


async def test_chat_and_participants_fall_back_with_the_classroom(room, monkeypatch):
    teacher, student, room_id = room
    # the extension is installed where the server runs (the test server's data dirs are
    # isolated), so the classroom has a video view too
    monkeypatch.setattr("jupyter_classroom.widgets.classroom.labextension_installed", lambda: True)
    classroom = Classroom(teacher, room_id, mode="browser")
    try:
        assert classroom.mode == "browser"
        video = classroom.video
        assert isinstance(video, Video)
        show(classroom)  # a Classroom shown starts its parts' watches
        await wait_for(lambda: classroom.participants.mode == "kernel")
        await wait_for(lambda: classroom.mode == "kernel" and classroom.chat.mode == "kernel")
        # video has no kernel fallback: its slot says why there is none
        await wait_for(lambda: classroom.video is not video)
        assert "which this front-end did not load" in classroom.video.value
        assert classroom.children[-1] is classroom.video and video.comm is None

        chat = classroom.chat
        assert isinstance(chat.kernel_drawn, KernelChat)
        assert "browser chat; the kernel draws it" in chat.children[0].value
        assert chat.children[1] is chat.kernel_drawn and chat.panel.comm is None
        # Python's post and the kernel chat's text box both send; others' messages show
        chat.post("from python")
        chat.kernel_drawn.text.value = "typed"
        chat.kernel_drawn.send_button.click()
        await asyncio.to_thread(student.say, "hello teacher")
        for text in ("from python", "typed", "hello teacher"):
            await wait_for(lambda t=text: t in chat.kernel_drawn.history.value)

        participants = classroom.participants
        listed = participants.kernel_drawn
        assert isinstance(listed, KernelParticipants)
        assert "participants list; the kernel draws it" in participants.children[0].value
        assert "student" in "".join(
            getattr(child, "value", "") for row in listed.children for child in
            getattr(row, "children", [row])
        )  # fmt: skip
        participants.lock_board(True)
        await wait_for(lambda: student.connection.rooms[room_id].info["board_locked"])
        await wait_for(lambda: listed.lock_button.description == "Unlock board")
    finally:
        classroom.close()


KERNEL_SETUP = """\
from jupyter_classroom import Client
from jupyter_classroom.widgets import Whiteboard, frontend
frontend.VIEW_GRACE = 1.0
client = Client(name="kernel")
room = client.create_room("Fallback in a kernel")
loaded = Whiteboard(client, room.id, mode="browser")
missing = Whiteboard(client, room.id, mode="browser")
display(loaded, missing)
print(loaded.canvas.comm.comm_id)"""


async def run_cell(kc: Any, code: str, timeout: float = 60) -> str:
    """Runs ``code`` in the kernel and returns its stdout (fails on an error)."""
    msg_id = kc.execute(code)
    out: list[str] = []
    while True:
        msg = await kc.get_iopub_msg(timeout=timeout)
        if msg["parent_header"].get("msg_id") != msg_id:
            continue
        kind, content = msg["msg_type"], msg["content"]
        assert kind != "error", "\n".join(content["traceback"])
        if kind == "stream":
            out.append(content["text"])
        if kind == "status" and content["execution_state"] == "idle":
            return "".join(out)


async def test_in_a_kernel_a_view_heard_only_after_a_long_cell_still_counts(server):
    """In a real kernel: the view's `rendered` waits in the shell queue behind a cell longer
    than the grace; the kernel reads it before deciding, so that board stays in the browser,
    while a board whose view never spoke becomes kernel-drawn."""
    from jupyter_client.manager import start_new_async_kernel

    km, kc = await start_new_async_kernel(kernel_name="python3")
    try:
        comm_id = (await run_cell(kc, KERNEL_SETUP)).strip()
        kc.execute("import time; time.sleep(3)")  # longer than the grace
        # what the front-end's view sends while that cell runs
        kc.session.send(kc.shell_channel.socket, "comm_msg", {
            "comm_id": comm_id, "data": {"method": "custom", "content": {"type": "rendered"}},
        })  # fmt: skip
        modes = await run_cell(kc, "import asyncio\nawait asyncio.sleep(2)\n"
                                   "print(loaded.mode, missing.mode, loaded.rendered)")  # fmt: skip
        assert modes.split() == ["browser", "kernel", "True"]
    finally:
        await run_cell(kc, "client.close()")
        kc.stop_channels()
        await km.shutdown_kernel(now=True)
