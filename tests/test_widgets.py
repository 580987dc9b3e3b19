"""The notebook widgets, driven through ipycanvas's and ipywidgets' own entry points, over a
real server: what A does with the mouse reaches B's replica and B's canvas commands."""

from __future__ import annotations

import asyncio
import io
import json
from typing import Any

import pytest
from ipycanvas.canvas import COMMANDS, _CanvasManager
from PIL import Image

from jupyter_classroom import Client
from jupyter_classroom.widgets import Chat, Classroom, Lobby, Participants, Whiteboard

from .helpers import wait_for

COMMAND_NAMES = {number: name for name, number in COMMANDS.items()}


@pytest.fixture
def canvas_commands(monkeypatch):
    """Every ipycanvas command sent, as (canvas, command name)."""
    sent: list[tuple[Any, str]] = []
    original = _CanvasManager.send_command

    def spy(self, canvas, command, buffers=[]):  # noqa: B006 - ipycanvas's signature
        sent.append((canvas, COMMAND_NAMES.get(command[0], str(command[0]))))
        return original(self, canvas, command, buffers)

    monkeypatch.setattr(_CanvasManager, "send_command", spy)
    return sent


def mouse(board: Whiteboard, event: str, x: float, y: float) -> None:
    """A pointer event as the browser view sends it to the kernel."""
    board.canvas._handle_custom_msg({"event": event, "x": x, "y": y}, [])


def drag(board: Whiteboard, *points: tuple[float, float]) -> None:
    mouse(board, "mouse_down", *points[0])
    for point in points[1:]:
        mouse(board, "mouse_move", *point)
    mouse(board, "mouse_up", *points[-1])


@pytest.fixture
async def pair(server):
    teacher = await asyncio.to_thread(Client, server.url, server.kernel_token, name="teacher")
    student = await asyncio.to_thread(Client, server.url, server.kernel_token, name="student")
    room = await asyncio.to_thread(teacher.create_room, "Widgets", "pw")
    await asyncio.to_thread(student.join, room.id, "pw")
    # the kernel-drawn board (the fallback); the browser-drawn one is tested below and in e2e
    boards = (
        Whiteboard(teacher, room.id, mode="kernel"),
        Whiteboard(student, room.id, mode="kernel"),
    )
    yield teacher, student, room.id, boards
    for board in boards:
        board.close()
    await asyncio.to_thread(teacher.close)
    await asyncio.to_thread(student.close)


def ops_of(client: Client, room_id: str, kind: str | None = None) -> list[dict]:
    return [
        o["op"] for o in client.connection.rooms[room_id].ops if kind in (None, o["op"]["type"])
    ]


async def test_mouse_stroke_reaches_the_other_board(pair, canvas_commands):
    teacher, student, room_id, (board_a, board_b) = pair
    drag(board_a, (100, 100), (200, 150), (300, 200), (310, 210))
    # local ink is drawn at once, before any answer from the server
    assert any(c is board_a.canvas[0] and n == "strokeLines" for c, n in canvas_commands)
    await wait_for(lambda: sum(len(o["points"]) for o in ops_of(student, room_id)) == 4)
    stroke, *extends = ops_of(student, room_id)
    assert stroke["type"] == "stroke" and stroke["points"] == [[100, 100]]
    assert stroke["color"] == board_a.color.value and stroke["tool"] == "pen"
    assert all(e["type"] == "extend" and e["target"] == stroke["id"] for e in extends)
    assert [p for e in extends for p in e["points"]] == [[200, 150], [300, 200], [310, 210]]
    # B's widget drew it on B's board layer as it arrived
    await wait_for(
        lambda: any(c is board_b.canvas[0] and n == "strokeLines" for c, n in canvas_commands)
    )
    assert [o["id"] for o in board_b.objects] == [stroke["id"]]


async def test_a_burst_of_remote_ops_is_painted_in_few_canvas_messages(
    pair, canvas_commands, monkeypatch
):
    teacher, student, room_id, (_, board_b) = pair
    messages: list[int] = []  # commands per canvas message (every board of this kernel)
    original = _CanvasManager._send_custom

    def counting(self, commands, buffers=[]):  # noqa: B006 - ipycanvas's signature
        messages.append(len(commands))
        return original(self, commands, buffers)

    monkeypatch.setattr(_CanvasManager, "_send_custom", counting)
    ops = [
        {"type": "stroke", "id": f"burst{i}", "points": [[10 * i, 5], [10 * i, 50]],
         "color": "#123456", "width": 2}
        for i in range(30)
    ]  # fmt: skip
    await asyncio.gather(*(asyncio.to_thread(teacher.op, op) for op in ops))
    await wait_for(
        lambda: (
            sum(1 for c, n in canvas_commands if c is board_b.canvas[0] and n == "strokeLines")
            == 30
        )
    )
    # the teacher drew through the Client (not its board): every message is the student's
    # board painting what arrived, several strokes per message
    assert 1 <= len(messages) < 30, messages
    assert {o["op"]["id"] for o in student.connection.rooms[room_id].ops} >= {
        op["id"] for op in ops
    }


async def test_cursor_marks_follow_the_pointer_then_go(pair, canvas_commands, monkeypatch):
    from jupyter_classroom.widgets import kernel_board

    monkeypatch.setattr(kernel_board, "CURSOR_IDLE", 0.5)
    teacher, _, _, (board_a, board_b) = pair
    teacher_id = teacher.room.you["id"]
    mouse(board_a, "mouse_move", 40, 50)
    await wait_for(lambda: board_b._cursors.get(teacher_id, (0, 0))[:2] == (40, 50))
    marks = {n for c, n in canvas_commands if c is board_b.canvas[2]}
    assert {"strokeCircle", "fillCircle", "fillText"} <= marks, marks
    await wait_for(lambda: not board_b._cursors, timeout=3)  # the pointer stopped: mark gone
    canvas_commands.clear()
    mouse(board_a, "mouse_move", 60, 70)  # it moves again: the mark is back
    await wait_for(lambda: teacher_id in board_b._cursors)


async def test_shapes_text_and_highlighter(pair, canvas_commands):
    teacher, student, room_id, (board_a, board_b) = pair
    for tool in ("line", "rect", "ellipse", "arrow"):
        board_a.tool.value = tool
        drag(board_a, (10, 10), (50, 60), (90, 80))
    board_a.tool.value = "highlighter"
    drag(board_a, (5, 5), (6, 6))
    board_a.tool.value = "text"
    board_a.text.value = "<b>not bold</b>"
    mouse(board_a, "mouse_down", 400, 300)
    await wait_for(lambda: len(board_b.objects) == 6)
    kinds = [(o["type"], o.get("shape") or o.get("tool")) for o in board_b.objects]
    assert kinds == [
        ("shape", "line"),
        ("shape", "rect"),
        ("shape", "ellipse"),
        ("shape", "arrow"),
        ("stroke", "highlighter"),
        ("text", None),
    ]
    assert board_b.objects[0]["x2"] == 90 and board_b.objects[-1]["text"] == "<b>not bold</b>"
    drawn_on_b = {n for c, n in canvas_commands if c is board_b.canvas[0]}
    assert {"strokeLine", "strokeRect", "ellipse", "fillPolygon", "fillText"} <= drawn_on_b


async def test_undo_redo_erase(pair):
    teacher, student, room_id, (board_a, board_b) = pair
    drag(board_a, (100, 100), (200, 100))
    await wait_for(lambda: len(board_b.objects) == 1)
    board_a.undo()
    await wait_for(lambda: board_b.objects == [])
    board_a.redo()
    await wait_for(lambda: len(board_b.objects) == 1)
    board_a.undo()
    await wait_for(lambda: board_b.objects == [])
    board_a.redo()
    await wait_for(lambda: len(board_b.objects) == 1)
    # the student erases the teacher's stroke with the object eraser
    board_b.tool.value = "eraser"
    mouse(board_b, "mouse_down", 150, 102)
    await wait_for(lambda: board_a.objects == [])
    assert ops_of(teacher, room_id)[-1]["type"] == "erase"


async def test_clear_is_host_only_and_undoable(pair):
    teacher, student, room_id, (board_a, board_b) = pair
    drag(board_b, (10, 10), (20, 20))
    await wait_for(lambda: len(board_a.objects) == 1)
    board_b.clear()
    assert "Only the host" in board_b.status.value
    board_a.clear()
    await wait_for(lambda: board_b.objects == [])
    board_a.undo()
    await wait_for(lambda: len(board_b.objects) == 1)


async def test_lock_stops_members_drawing(pair):
    teacher, student, room_id, (board_a, board_b) = pair
    assert board_b.lock_button.disabled and not board_a.lock_button.disabled
    board_a.lock_button.value = True
    await wait_for(lambda: student.connection.rooms[room_id].info["board_locked"])
    await wait_for(lambda: "locked" in board_b.status.value)
    drag(board_b, (10, 10), (20, 20))
    drag(board_a, (30, 30), (40, 40))
    await wait_for(lambda: len(board_b.objects) == 1)
    await asyncio.sleep(0.3)
    # only the host's stroke is on the board (an empty board must fail this too)
    ops = student.connection.rooms[room_id].ops
    assert [o["op"]["points"][0] for o in ops if o["op"]["type"] == "stroke"] == [[30, 30]]
    assert {o["author"] for o in ops} == {teacher.room.you["id"]}


async def test_late_join_and_client_ready_redraw_the_board(pair, server, canvas_commands):
    teacher, student, room_id, (board_a, _) = pair
    for i in range(3):
        drag(board_a, (10 * i, 10), (10 * i + 5, 20))
    await wait_for(lambda: len(ops_of(student, room_id, "extend")) == 3)
    late = await asyncio.to_thread(Client, server.url, server.kernel_token, name="late")
    try:
        await asyncio.to_thread(late.join, room_id, "pw")
        canvas_commands.clear()
        board_c = Whiteboard(late, room_id, mode="kernel")
        assert len(board_c.objects) == 3
        assert (
            sum(1 for c, n in canvas_commands if c is board_c.canvas[0] and n == "strokeLines") == 3
        )
        # a browser reload (a new view) asks for the whole board again
        canvas_commands.clear()
        board_c.canvas._canvases[-1]._handle_frontend_event(None, {"event": "client_ready"}, [])
        assert (
            sum(1 for c, n in canvas_commands if c is board_c.canvas[0] and n == "strokeLines") == 3
        )
        board_c.close()
    finally:
        await asyncio.to_thread(late.close)


async def test_exports(pair, tmp_path):
    teacher, student, room_id, (board_a, board_b) = pair
    stroke_id = await asyncio.to_thread(
        board_a.draw_stroke, [(100, 100), (700, 100)], color="#ff0000", width=12
    )
    await wait_for(lambda: len(board_b.objects) == 1)
    png = board_b.export(tmp_path / "board.png")
    image = Image.open(io.BytesIO(png.read_bytes())).convert("RGB")
    assert image.size == (1600, 900)
    assert image.getpixel((400, 100)) == (255, 0, 0)  # on the stroke
    assert image.getpixel((400, 300)) == (255, 255, 255)  # off it
    svg = board_b.export(tmp_path / "board.svg").read_text()
    assert svg.startswith("<svg") and f'data-op="{stroke_id}"' in svg and 'stroke="#ff0000"' in svg
    saved = json.loads(board_b.export(tmp_path / "board.json").read_text())
    assert [o["id"] for o in saved["objects"]] == [stroke_id]
    with pytest.raises(ValueError, match=r"png, \.svg or \.json"):
        board_b.export(tmp_path / "board.gif")
    # a saved board loads onto another room's board
    other = await asyncio.to_thread(teacher.create_room, "Copy")
    board_copy = Whiteboard(teacher, other.id)
    assert await asyncio.to_thread(board_copy.load, tmp_path / "board.json") == 1
    assert board_copy.objects[0]["points"] == [[100, 100], [700, 100]]
    board_copy.close()


async def test_put_figure(pair):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    teacher, student, room_id, (board_a, board_b) = pair
    figure, axes = plt.subplots(figsize=(4, 3))
    axes.plot([0, 1, 2], [0, 1, 4])
    await asyncio.to_thread(board_a.put_figure, figure, 50, 50)
    plt.close(figure)
    await wait_for(lambda: len(board_b.objects) == 1)
    image = board_b.objects[0]
    assert image["type"] == "image" and image["src"].startswith("data:image/png;base64,")
    assert image["x"] == 50 and image["w"] > 0


async def test_chat_widget_escapes_and_sends_directly(pair):
    teacher, student, room_id, _ = pair
    chat_a = Chat(teacher, room_id, mode="kernel")
    chat_b = Chat(student, room_id, mode="kernel")
    try:
        chat_a.text.value = "<img src=x onerror=alert(1)>"
        chat_a.send_button.click()
        await wait_for(lambda: "onerror" in chat_b.history.value)
        # Enter in the text box sends as well (the view's "submit" message)
        chat_b.text.value = "pressed enter"
        chat_b.text._handle_custom_msg({"event": "submit"}, [])
        await wait_for(lambda: "pressed enter" in chat_a.history.value)
        assert chat_b.text.value == ""
        assert "&lt;img src=x onerror=alert(1)&gt;" in chat_b.history.value
        assert "<img" not in chat_b.history.value
        assert "teacher" in chat_b.history.value
        # a direct message from the recipient picker
        assert [label for label, _ in chat_b.to.options] == ["Everyone", "teacher"]
        chat_b.to.value = teacher.room.you["id"]
        chat_b.post("just for you")
        await wait_for(lambda: "just for you" in chat_a.history.value)
        assert "<i>to teacher</i>" in chat_a.history.value
    finally:
        chat_a.close()
        chat_b.close()


async def test_lobby_join_dialog_and_classroom(server):
    teacher = await asyncio.to_thread(Client, server.url, server.kernel_token, name="teacher")
    student = await asyncio.to_thread(Client, server.url, server.kernel_token, name="student")
    try:
        lobby = await asyncio.to_thread(Lobby, student)
        assert "No rooms yet" in lobby.room_list.children[0].value
        classroom = await asyncio.to_thread(
            Classroom.create, "Physics", "quark", client=teacher, mode="kernel"
        )
        await wait_for(lambda: len(lobby.rooms) == 1)
        assert "Physics" in lobby.room_list.children[0].children[0].value
        assert "jc-locked" in lobby.room_list.children[0].children[0].value  # needs a password
        lobby.choose(lobby.rooms[0]["id"])
        assert lobby.join_dialog.layout.display == "flex"
        lobby.join_password.value = "wrong"
        await asyncio.to_thread(lobby._join_pending)
        assert "Wrong password" in lobby.message.value and lobby.classroom is None
        lobby.join_password.value = "quark"
        await asyncio.to_thread(lobby._join_pending)
        assert lobby.classroom is not None and lobby.room_slot.children == (lobby.classroom,)
        await wait_for(lambda: "2 here" in classroom.participants.children[0].value)
        assert "student" in str([c.children[0].value for c in classroom.participants.children[1:3]])
        # the host's controls: kick
        student_id = student.room.you["id"]
        classroom.participants.kick(student_id)
        await wait_for(lambda: room_gone(student, classroom.room_id))
    finally:
        await asyncio.to_thread(teacher.close)
        await asyncio.to_thread(student.close)


def room_gone(client: Client, room_id: str) -> bool:
    return room_id not in client.connection.rooms


async def test_video_model_hands_the_view_a_ticket(pair, connect):
    from jupyter_classroom.widgets import Video

    teacher, student, room_id, _ = pair
    video = Video(student, room_id)
    assert video.member_id == student.room.you["id"] and video.room_id == room_id
    assert video.socket_path.endswith("classroom/socket.io")
    replies: list[dict] = []
    video.send = replies.append  # what the browser view would receive
    video._handle_custom_msg({"type": "ticket_request", "request_id": "r1"}, [])
    await wait_for(lambda: replies)
    assert replies[0]["type"] == "ticket" and replies[0]["request_id"] == "r1"
    browser = await connect("browser")
    attached = await browser.ok("room:attach", {"ticket": replies[0]["ticket"]})
    assert attached["you"]["id"] == student.room.you["id"]
    # the view says the student's microphone is off: the teacher's participants list shows it
    participants = Participants(teacher, room_id, mode="kernel")
    try:

        def row() -> str:
            return str([c.children[0].value for c in participants.children[1:3]])

        assert "microphone off" not in row()
        await browser.ok("rtc:media", {"room_id": room_id, "audio": False, "video": True})
        await wait_for(lambda: "microphone off" in row())
        assert "camera off" not in row()
        await browser.ok("rtc:media", {"room_id": room_id, "audio": True, "video": False})
        await wait_for(lambda: "camera off" in row() and "microphone off" not in row())
    finally:
        participants.close()


@pytest.mark.parametrize(
    "classroom_config", [{"admin_users": ["ops"], "instructor_users": ["someone-else"]}]
)
async def test_lobby_offers_create_only_to_those_who_may(server):
    """The server's room:list says can_create: the lobby hides its create form from a user
    who may only join, and a create tried anyway shows the server's reason."""
    client = await asyncio.to_thread(Client, server.url, server.kernel_token, name="student")
    try:
        lobby = await asyncio.to_thread(Lobby, client)
        assert lobby.may_create is False
        assert lobby.create_form.layout.display == "none"
        assert "instructor" in lobby.room_list.children[0].value
        lobby.title.value = "Mine"
        assert await asyncio.to_thread(lobby.create) is None
        assert "You may join rooms but not create them." in lobby.message.value
    finally:
        await asyncio.to_thread(client.close)


async def test_lobby_offers_create_to_an_instructor(server):
    client = await asyncio.to_thread(Client, server.url, server.kernel_token, name="teacher")
    try:
        lobby = await asyncio.to_thread(Lobby, client)
        assert lobby.may_create is True and lobby.create_form.layout.display != "none"
    finally:
        await asyncio.to_thread(client.close)


async def test_browser_board_leaves_drawing_to_the_page(pair, connect, canvas_commands):
    """The browser-drawn board: the kernel hands its view a ticket, the page socket attached
    with it draws as the member, and the kernel keeps the Python API over its replica without
    painting anything."""
    from jupyter_classroom.widgets.board_canvas import BoardCanvas, BrowserWhiteboard

    teacher, student, room_id, (_, kernel_board) = pair
    kernel_board.close()  # its listeners would keep the board live for the student's kernel
    board = Whiteboard(student, room_id, mode="browser")
    try:
        assert isinstance(board, BrowserWhiteboard) and board.mode == "browser"
        assert isinstance(board.canvas, BoardCanvas) and board.children == (board.canvas,)
        assert board.canvas.member_id == student.room.you["id"]
        assert board.canvas.socket_path.endswith("classroom/socket.io")
        assert (board.canvas.width, board.canvas.height) == (1600, 900)
        assert board.canvas._model_module == "jupyter-classroom"

        # the view asks for a ticket; the page socket attaches as the student, board included
        replies: list[dict] = []
        board.canvas.send = replies.append
        board.canvas._handle_custom_msg({"type": "ticket_request", "request_id": "t1"}, [])
        await wait_for(lambda: replies)
        assert replies[0]["type"] == "ticket" and replies[0]["request_id"] == "t1"
        page = await connect("page", auth={"batch": True})
        attached = await page.ok("room:attach", {"ticket": replies[0]["ticket"], "board": True})
        assert attached["you"]["id"] == student.room.you["id"] and attached["board"]["complete"]
        board.canvas._handle_custom_msg({"type": "rendered"}, [])
        assert board.rendered

        # the page draws as the student: the kernel's replica and objects have it, unpainted
        stroke = {"type": "stroke", "id": "pg1", "points": [[1, 2], [3, 4]], "color": "#123456",
                  "width": 4.0, "tool": "pen"}  # fmt: skip
        await page.ok("board:op", {"room_id": room_id, "op": stroke})
        # the kernel does not follow the board live: it fetches it when Python reads it
        # (off this loop's thread: the server runs on it)
        await wait_for(lambda: not student.connection.rooms[room_id].live)
        assert [o["id"] for o in await objects_of(board)] == ["pg1"]
        await wait_for(lambda: [o["op"]["id"] for o in ops_of_room(teacher, room_id)] == ["pg1"])
        # ops from Python reach the page like anyone's
        drawn = await asyncio.to_thread(board.draw_stroke, [(5, 5), (9, 9)], "#ff0000")
        listed = await page.next("board:ops")
        while drawn not in [o["op"]["id"] for o in listed["ops"]]:
            listed = await page.next("board:ops")
        # the teacher's ops arrive too, and the kernel draws none of it
        await asyncio.to_thread(teacher.op, {"type": "text", "x": 1, "y": 1, "text": "hi",
                                             "color": "#000000", "size": 12})  # fmt: skip
        assert len(await objects_of(board)) == 3
        assert not [c for c, _ in canvas_commands if c is board.canvas]
        await asyncio.to_thread(board.undo)  # this kernel's own last op
        objects = await objects_of(board)
        assert [o["id"] for o in objects] == ["pg1", objects[-1]["id"]]
        assert objects[-1]["type"] == "text"
    finally:
        board.close()


async def objects_of(board: Whiteboard) -> list[dict[str, Any]]:
    return await asyncio.to_thread(lambda: board.objects)


def ops_of_room(client: Client, room_id: str) -> list[dict]:
    return list(client.connection.rooms[room_id].ops)


def test_board_mode_follows_the_installed_extension(tmp_path, monkeypatch):
    """Detection reads Jupyter's data path, as an installed wheel has it."""
    from jupyter_classroom.widgets.frontend import board_mode, labextension_installed

    monkeypatch.delenv("JUPYTER_CLASSROOM_BOARD", raising=False)
    data = tmp_path / "share" / "jupyter"
    monkeypatch.setenv("JUPYTER_PATH", str(data))
    monkeypatch.setattr("sys.prefix", str(tmp_path / "empty-prefix"))
    monkeypatch.setenv("JUPYTER_NO_CONFIG", "1")
    monkeypatch.setenv("JUPYTER_DATA_DIR", str(tmp_path / "user-data"))
    monkeypatch.setattr("jupyter_core.paths.SYSTEM_JUPYTER_PATH", [])
    monkeypatch.setattr("jupyter_core.paths.ENV_JUPYTER_PATH", [])
    assert not labextension_installed() and board_mode() == "kernel"
    extension = data / "labextensions" / "jupyter-live-classroom"  # as the wheel installs it
    extension.mkdir(parents=True)
    (extension / "package.json").write_text(json.dumps({"name": "jupyter-live-classroom"}))
    assert not labextension_installed(), "a package.json without a build is not an extension"
    (extension / "package.json").write_text(
        json.dumps({"name": "jupyter-live-classroom", "jupyterlab": {"_build": {"load": "x.js"}}})
    )
    assert labextension_installed() and board_mode() == "browser"
    assert board_mode("kernel") == "kernel"
    monkeypatch.setenv("JUPYTER_CLASSROOM_BOARD", "kernel")
    assert board_mode() == "kernel"
    with pytest.raises(ValueError, match="'browser' or 'kernel'"):
        board_mode("canvas")


async def test_browser_chat_and_participants_keep_the_python_api(pair, connect):
    """With the extension, chat and participants are browser views on the page socket: the
    kernel hands each a ticket, and its Python API still works over the client's replica."""
    from jupyter_classroom.widgets.chat import BrowserChat
    from jupyter_classroom.widgets.participants import BrowserParticipants

    teacher, student, room_id, _ = pair
    chat = Chat(teacher, room_id, mode="browser")
    participants = Participants(teacher, room_id, mode="browser")
    classroom = Classroom(student, room_id, mode="browser")
    try:
        assert isinstance(chat, BrowserChat) and chat.mode == "browser"
        assert isinstance(participants, BrowserParticipants) and participants.mode == "browser"
        assert classroom.mode == "browser" and classroom.chat.mode == "browser"
        for panel, name in ((chat.panel, "Chat"), (participants.panel, "Participants")):
            assert (panel._model_name, panel._view_name) == (f"{name}Model", f"{name}View")
            assert panel._view_module == "jupyter-classroom"
            assert panel.room_id == room_id and panel.member_id == teacher.room.you["id"]
            assert panel.socket_path.endswith("classroom/socket.io")
        # the view's ticket attaches a page socket as the teacher, who can chat from there
        replies: list[dict] = []
        chat.panel.send = replies.append
        chat.panel._handle_custom_msg({"type": "ticket_request", "request_id": "q1"}, [])
        await wait_for(lambda: replies)
        assert replies[0]["type"] == "ticket" and replies[0]["request_id"] == "q1"
        page = await connect("page")
        attached = await page.ok("room:attach", {"ticket": replies[0]["ticket"], "board": True})
        assert attached["you"]["id"] == teacher.room.you["id"] and "chat" in attached
        await page.ok("chat:send", {"room_id": room_id, "text": "from the page"})
        # ... and Python posts and reads the replica as before
        chat.post("from python", to=student.room.you["id"])
        chat.post("   ")  # nothing to send
        await wait_for(lambda: [m["text"] for m in classroom.chat.messages][-2:]
                       == ["from the page", "from python"])  # fmt: skip
        assert classroom.chat.messages[-1]["to"] == student.room.you["id"]
        assert {m["name"] for m in chat.members} == {"teacher", "student"}
        # the kernel-drawn list (the fallback) has the lock button too
        drawn = Participants(teacher, room_id, mode="kernel")
        try:
            assert drawn.lock_button.description == "Lock board"
            drawn.lock_button.click()
            await wait_for(lambda: student.connection.rooms[room_id].info["board_locked"])
            await wait_for(lambda: drawn.lock_button.description == "Unlock board")
            drawn.lock_button.click()
            await wait_for(lambda: not student.connection.rooms[room_id].info["board_locked"])
        finally:
            drawn.close()
        # the host's controls from Python
        participants.lock_board(True)
        await wait_for(lambda: student.connection.rooms[room_id].info["board_locked"])
        participants.lock_board(False)
        await wait_for(lambda: not student.connection.rooms[room_id].info["board_locked"])
        participants.make_host(student.room.you["id"])
        await wait_for(lambda: student.connection.rooms[room_id].is_host)
        assert not teacher.connection.rooms[room_id].is_host
    finally:
        for widget in (chat, participants, classroom):
            widget.close()
