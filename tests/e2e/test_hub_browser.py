"""The classroom on JupyterHub, as people use it: a real hub configured from the
``jupyterhub_config.py`` of docs/jupyterhub.md (tests/hub_fixture.py reads it from the doc and
substitutes only the site part: loopback, DummyAuthenticator, local processes), a teacher and
a student in headless Chromium (fake camera).

Each logs in through the hub's login form and opens JupyterLab on their own server. The
teacher runs ``Classroom.create(...)`` in a notebook; the student's ``Lobby()`` offers no
"Create room", shows the room live, and joins with the password. Ink and chat cross both
ways, each side plays the other's camera (the page's socket to the hub service authenticates
with the classroom token in its Socket.IO ``auth`` payload: no token in a URL, no hand-made
header), and the student's attempt to create a room from code is refused with the server's
reason. Screenshots go to artifacts/e2e-hub-*.png.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ..hub_fixture import PASSWORD, Hub, missing_dependency, start_hub, stop_hub
from .classroom_page import NotebookPage, wait_until
from .conftest import DEFAULT_TIMEOUT_MS, VIEWPORT
from .lab import LAB_SETTINGS
from .test_classroom_browser import along, assert_ink, play_progress

pytestmark = pytest.mark.timeout(900)

TITLE = "Hub algebra"
ROOM_PASSWORD = "eigen"
TEACHER_PEN = "#1f3a93"  # the whiteboard's default colour
STUDENT_PEN = "#f58231"
TEACHER_STROKE = [(200.0, 150.0), (500.0, 350.0), (800.0, 150.0)]
STUDENT_STROKE = [(200.0, 550.0), (500.0, 450.0), (800.0, 600.0)]
JOIN_DIALOG = ".widget-hbox:has(input[placeholder='Room password'])"

NOTEBOOKS = {
    "teacher": [
        "from jupyter_classroom import Classroom\n\n"
        f"classroom = Classroom.create({TITLE!r}, password={ROOM_PASSWORD!r})\nclassroom",
    ],
    "student": [
        "from jupyter_classroom import Lobby\n\nlobby = Lobby()\nlobby",
        "from jupyter_classroom import Classroom\n\nClassroom.create('My own room')",
    ],
}


def notebook(cells: list[str]) -> dict[str, Any]:
    return {
        "cells": [
            {"cell_type": "code", "execution_count": None, "id": f"c{i}", "metadata": {},
             "outputs": [], "source": source}
            for i, source in enumerate(cells)
        ],
        "metadata": {"kernelspec": {"display_name": "Python 3", "language": "python",
                                    "name": "python3"}},
        "nbformat": 4,
        "nbformat_minor": 5,
    }  # fmt: skip


class HubLab:
    """What NotebookPage needs of a server: where a user's notebook opens (on the hub)."""

    def __init__(self, hub: Hub, user: str) -> None:
        self.hub, self.user = hub, user

    def notebook_url(self, name: str, workspace: str) -> str:
        return f"{self.hub.public}/user/{self.user}/lab/workspaces/{workspace}/tree/{name}"


def prepare_homes(root: Path) -> None:
    """Each user's notebook, and JupyterLab settings a fresh user would not notice (no news
    toast, no autosave), in the home the spawner gives them."""
    for user, cells in NOTEBOOKS.items():
        home = root / "home" / user
        home.mkdir(parents=True, exist_ok=True)
        (home / f"hub-{user}.ipynb").write_text(json.dumps(notebook(cells)))
        for relative, values in LAB_SETTINGS.items():
            path = home / ".jupyter" / "lab" / "user-settings" / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(values))


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hub]:
    missing = missing_dependency()
    if missing is not None:
        pytest.skip(f"JupyterHub test: {missing}")
    root = tmp_path_factory.mktemp("hub-browser")
    prepare_homes(root)
    hub = start_hub(root)
    try:
        for user in NOTEBOOKS:
            hub.start_server(user)
        for user in NOTEBOOKS:
            hub.wait_server(user)
        yield hub
    finally:
        stop_hub(hub)


def log_in(page: Any, hub: Hub, user: str) -> None:
    """The hub's own login form, as a person fills it in."""
    page.goto(f"{hub.public}/hub/login", timeout=60_000)
    page.locator("#username_input").fill(user)
    page.locator("#password_input").fill(PASSWORD)
    page.locator("#login_submit").click()
    page.wait_for_url(lambda url: "/hub/login" not in url, timeout=60_000)


def run_cell(page: NotebookPage, index: int) -> Any:
    """Click into code cell ``index``, Shift+Enter, wait until it ran; returns the cell."""
    cell = page.page.locator(".jp-Notebook .jp-CodeCell").nth(index)
    prompt = cell.locator(".jp-InputArea-prompt")
    cell.locator(".jp-InputArea-editor").click()
    page.page.keyboard.press("Shift+Enter")
    wait_until(
        lambda: (prompt.text_content() or "").strip() not in ("[ ]:", "[*]:", ""),
        90,
        f"{page.notebook}: cell {index} to finish",
    )
    return cell


def test_teacher_and_student_on_jupyterhub(
    hub: Hub, browser: Any, artifacts: Path, playwright_api: Any
) -> None:
    started = time.monotonic()
    expect = playwright_api.expect
    expect.set_options(timeout=30_000)
    contexts = []
    pages: dict[str, NotebookPage] = {}
    logs = []
    try:
        for user in NOTEBOOKS:
            context = browser.new_context(viewport=VIEWPORT, permissions=["camera", "microphone"])
            context.set_default_timeout(DEFAULT_TIMEOUT_MS)
            contexts.append(context)
            page = context.new_page()
            log = (artifacts / f"e2e-hub-console-{user}.log").open("w", encoding="utf-8")
            logs.append(log)
            page.on("console", lambda m, log=log: log.write(f"[{m.type}] {m.text}\n"))
            page.on("dialog", lambda dialog: dialog.accept())
            log_in(page, hub, user)
            pages[user] = NotebookPage(page, HubLab(hub, user), f"hub-{user}.ipynb", artifacts)
        teacher, student = pages["teacher"], pages["student"]
        run_class(hub, teacher, student, expect)
    except BaseException:
        for user, page in pages.items():
            try:
                page.page.screenshot(path=str(artifacts / f"e2e-hub-failure-{user}.png"))
            except Exception as error:
                print(f"no failure screenshot of {user}: {error}")
        print(hub.log)
        raise
    finally:
        for context in contexts:
            context.close()
        for log in logs:
            log.close()
        print(f"hub e2e: {time.monotonic() - started:.0f} s after the hub and servers were up")


def run_class(hub: Hub, teacher: NotebookPage, student: NotebookPage, expect: Any) -> None:
    # 1. The student opens the lobby before any room exists: no "Create room" for a student.
    student.open()
    student.run_first_code_cell()
    lobby = student.page.locator(".jc-lobby")
    expect(lobby).to_contain_text("No rooms yet")
    expect(lobby.get_by_role("button", name="Create room")).to_be_hidden()
    student.screenshot("hub-01-lobby", ".jc-lobby")

    # 2. The teacher (in the hub's instructors group) opens a room: it shows up in the lobby.
    teacher.open()
    teacher.run_first_code_cell()
    expect(teacher.page.locator(".jc-classroom")).to_contain_text(TITLE)
    room_row = lobby.locator(".jc-lobby-room", has_text=TITLE)
    expect(room_row).to_be_visible()
    expect(room_row).to_contain_text("by teacher")  # hub usernames
    student.screenshot("hub-02-room-listed", ".jc-lobby")

    # 3. The student joins with the password.
    room_row.get_by_role("button", name="Join").click()
    lobby.locator("input[placeholder='Room password']").fill(ROOM_PASSWORD)
    lobby.locator(JOIN_DIALOG).get_by_role("button", name="Join").click()
    expect(student.page.locator(".jc-classroom")).to_contain_text(TITLE)
    for page in (teacher, student):
        expect(page.page.locator(".jc-participants .jc-participant")).to_have_count(2)

    # 4. Ink both ways, read back as pixels.
    teacher.draw(TEACHER_STROKE)
    teacher_ink = along(TEACHER_STROKE, (0.2, 0.5, 0.8))
    assert_ink(teacher, teacher_ink, TEACHER_PEN)
    assert_ink(student, teacher_ink, TEACHER_PEN)
    student.choose_color(STUDENT_PEN)
    student.draw(STUDENT_STROKE)
    student_ink = along(STUDENT_STROKE, (0.2, 0.5, 0.8))
    assert_ink(student, student_ink, STUDENT_PEN)
    assert_ink(teacher, student_ink, STUDENT_PEN)
    teacher.screenshot("hub-04-ink", ".jc-whiteboard")
    student.screenshot("hub-04-ink", ".jc-whiteboard")

    # 5. Chat both ways.
    teacher.send_chat("Welcome to the hub class", press_enter=True)
    expect(
        student.page.locator(".jc-chat-message", has_text="Welcome to the hub class")
    ).to_be_visible()
    student.send_chat("Thanks, teacher")
    expect(teacher.page.locator(".jc-chat-message", has_text="Thanks, teacher")).to_be_visible()
    student.screenshot("hub-05-chat", ".jc-chat")

    # 6. Video plays both ways: each page's socket reached the hub service with its classroom
    #    token in the Socket.IO auth payload.
    teacher_id, student_id = teacher.local_member_id(), student.local_member_id()
    for page, other in ((teacher, student_id), (student, teacher_id)):
        expect(page.page.locator(".jc-video")).to_have_attribute(
            "data-publishing", "true", timeout=60_000
        )
        first, second = play_progress(page, other)
        assert second["currentTime"] > first["currentTime"], (first, second)
        expect(page.page.locator(f".jc-video-tile[data-member-id='{other}']")).to_have_attribute(
            "data-state", "connected"
        )
    teacher.screenshot("hub-06-video", ".jc-video")
    student.screenshot("hub-06-video", ".jc-video")

    # 7. The student tries to create a room from code: refused, in the server's words.
    cell = run_cell(student, 1)
    error = cell.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']")
    expect(error).to_contain_text("forbidden: you may join rooms but not create them")
    error.evaluate("el => el.scrollIntoView({block: 'end'})")  # the traceback's last line
    student.screenshot("hub-07-create-refused")

    # 8. The service's own page, for a person: who you are, and the way back to the hub.
    student.page.goto(f"{hub.service_url}", timeout=60_000)
    expect(student.page.locator(".jc-home-user")).to_have_text("student")
    expect(student.page.locator("body")).to_contain_text("a participant")
    expect(student.page.locator("a.jc-home-hub")).to_have_attribute("href", "/hub/home")
    student.page.screenshot(path=str(student.artifacts / "e2e-hub-08-service-page-student.png"))
    teacher.page.goto(f"{hub.service_url}", timeout=60_000)
    expect(teacher.page.locator(".jc-home-rooms")).to_contain_text(TITLE)
    teacher.page.screenshot(path=str(teacher.artifacts / "e2e-hub-08-service-page-teacher.png"))
