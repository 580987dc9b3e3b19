"""The built wheel in a clean venv: both extensions enabled, and two people in JupyterLab
(Chromium) get the browser's board and video, not the fallback."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from jupyter_classroom.names import LABEXTENSION

from .classroom_page import NotebookPage
from .lab import Lab, start_lab, stop_lab
from .test_classroom_browser import (
    INSTRUCTOR_PEN,
    INSTRUCTOR_STROKE,
    JOIN_DIALOG,
    PASSWORD,
    STUDENT_PEN,
    STUDENT_STROKE,
    along,
    assert_ink,
    play_progress,
)
from .wheel import build_dists, clean_env, install_wheel, run


@pytest.fixture(scope="module")
def user_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """A user's environment: nothing of this tree's venv, and no Node.js on PATH."""
    return clean_env(tmp_path_factory.mktemp("no-node-bin"))


@pytest.fixture(scope="module")
def wheel_bin(tmp_path_factory: pytest.TempPathFactory, user_env: dict[str, str]) -> Path:
    """The bin directory of a clean venv with the built wheel and JupyterLab installed."""
    work = tmp_path_factory.mktemp("wheel")
    sdist, wheel = build_dists(work / "dist")
    assert sdist.name.startswith("jupyter_live_classroom-") and wheel.suffix == ".whl"
    return install_wheel(wheel, work / "venv", user_env)


@pytest.fixture(scope="module")
def wheel_lab(
    wheel_bin: Path,
    user_env: dict[str, str],
    tmp_path_factory: pytest.TempPathFactory,
    artifacts: Path,
) -> Iterator[Lab]:
    workdir = tmp_path_factory.mktemp("wheel-lab")
    server = start_lab(
        workdir,
        artifacts / "e2e-wheel-jupyterlab.log",
        jupyter=wheel_bin / "jupyter",
        base_env=user_env,
    )
    try:
        yield server
    finally:
        stop_lab(server)


def test_the_installed_wheel_enables_both_extensions(
    wheel_bin: Path, user_env: dict[str, str]
) -> None:
    env = user_env
    server = run([wheel_bin / "jupyter", "server", "extension", "list"], wheel_bin, 120, env)
    assert any("jupyter_classroom" in line and "enabled" in line for line in server.splitlines()), (
        server
    )
    assert "jupyter_classroom" in server and "OK" in server, server
    lab = run([wheel_bin / "jupyter", "labextension", "list"], wheel_bin, 120, env)
    row = next((line for line in lab.splitlines() if LABEXTENSION in line), "")
    assert "enabled" in row and "OK" in row, lab
    # What the widgets ask before they choose the browser's views over the kernel-drawn ones.
    found = run(
        [wheel_bin / "python", "-c",
         "import json; from jupyter_classroom.widgets.video import labextension_installed; "
         "print(json.dumps(labextension_installed()))"],
        wheel_bin, 120, env,
    )  # fmt: skip
    assert json.loads(found.strip().splitlines()[-1]) is True, found


def test_two_people_draw_and_see_each_other_from_the_wheel(
    wheel_lab: Lab, browser: Any, playwright_api: Any, artifacts: Path
) -> None:
    expect = playwright_api.expect
    expect.set_options(timeout=20_000)
    contexts = []

    def page_for(name: str) -> Any:
        context = browser.new_context(
            viewport={"width": 1500, "height": 1100}, permissions=["camera", "microphone"]
        )
        context.set_default_timeout(30_000)
        contexts.append(context)
        page = context.new_page()
        page.on("dialog", lambda dialog: dialog.accept())
        return page

    try:
        instructor = NotebookPage(page_for("instructor"), wheel_lab, "instructor.ipynb", artifacts)
        student = NotebookPage(page_for("student"), wheel_lab, "student.ipynb", artifacts)
        instructor.open()
        instructor.run_first_code_cell()
        student.open()
        student.run_first_code_cell()
        lobby = student.page.locator(".jc-lobby")
        room_row = lobby.locator(".jc-lobby-room", has_text="Linear algebra")
        room_row.get_by_role("button", name="Join").click()
        lobby.locator("input[placeholder='Room password']").fill(PASSWORD)
        lobby.locator(JOIN_DIALOG).get_by_role("button", name="Join").click()
        expect(student.page.locator(".jc-classroom")).to_contain_text("Linear algebra")

        # The browser's views, not the kernel-drawn fallback.
        for page in (instructor, student):
            expect(page.page.locator(".jc-board[data-mode='browser']")).to_have_count(1)
            expect(page.page.locator(".jc-chat.jc-chat-browser")).to_have_count(1)
            expect(page.page.locator(".jc-whiteboard-kernel")).to_have_count(0)

        # Ink both ways.
        instructor.draw(INSTRUCTOR_STROKE)
        assert_ink(student, along(INSTRUCTOR_STROKE, (0.1, 0.5, 0.8)), INSTRUCTOR_PEN)
        student.choose_color(STUDENT_PEN)
        student.draw(STUDENT_STROKE)
        assert_ink(instructor, along(STUDENT_STROKE, (0.1, 0.5, 0.8)), STUDENT_PEN)

        # Video both ways: the browser's view, not "needs the JupyterLab extension".
        instructor_id, student_id = instructor.local_member_id(), student.local_member_id()
        for page, other in ((instructor, student_id), (student, instructor_id)):
            first, second = play_progress(page, other)
            assert second["currentTime"] > first["currentTime"], (first, second)
        instructor.screenshot("wheel-instructor", ".jc-classroom")
        student.screenshot("wheel-student", ".jc-classroom")
    finally:
        for context in contexts:
            context.close()
