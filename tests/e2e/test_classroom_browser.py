"""Two people, two browsers, one classroom: the instructor's and the student's notebooks run in
JupyterLab in headless Chromium (fake camera), driven with the mouse and keyboard.

Checks what a person would see: the room appears live in the lobby with a lock, a wrong
password is refused, ink crosses over both ways (read back as pixels), chat shows HTML as
text, each side plays the other's camera, and a reloaded student gets the whole board back.
Ink latency is measured and written to docs/performance.md (reported, never asserted).
Screenshots go to artifacts/e2e-*.png.
"""

from __future__ import annotations

import itertools
import json
import os
import platform
import statistics
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from .classroom_page import WATCH_INK_JS, WATCH_PEN_DOWN_JS, NotebookPage, hex_rgb, wait_until
from .lab import Lab
from .performance_doc import replace_section

pytestmark = pytest.mark.timeout(900)

INSTRUCTOR_PEN = "#1f3a93"  # the whiteboard's default colour
STUDENT_PEN = "#f58231"  # chosen in the student's colour picker (no member has this colour)
INSTRUCTOR_STROKE = [(200.0, 150.0), (500.0, 350.0), (800.0, 150.0), (1100.0, 350.0)]
STUDENT_STROKE = [(200.0, 550.0), (500.0, 450.0), (800.0, 600.0)]
BLANK_SPOT = (1400.0, 100.0)
PASSWORD = "eigen"
JOIN_DIALOG = ".widget-hbox:has(input[placeholder='Room password'])"
LATENCY_SAMPLES = 15
LATENCY_PEN_WIDTH = 16  # the widest pen in the toolbar
LATENCY_HEADING = "## End-to-end ink latency (Chromium, loopback)"


def along(
    points: list[tuple[float, float]], fractions: tuple[float, ...]
) -> list[tuple[float, float]]:
    """Points at the given fractions of each segment of a polyline (the ink to look for)."""
    return [
        (x1 + f * (x2 - x1), y1 + f * (y2 - y1))
        for (x1, y1), (x2, y2) in itertools.pairwise(points)
        for f in fractions
    ]


def assert_ink(
    page: NotebookPage, points: list[tuple[float, float]], color: str, timeout: float = 20
) -> None:
    for x, y in points:
        wait_until(
            lambda x=x, y=y: page.ink(x, y, color) > 0,
            timeout,
            f"{page.name}'s board shows {color} ink at ({x:.0f}, {y:.0f})",
        )


def play_progress(page: NotebookPage, member_id: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The remote tile's <video> plays: data present now, and time and frames move on."""
    first = wait_until(
        lambda: (
            (s := page.video_state(member_id))
            and s["readyState"] >= 2
            and s["videoWidth"] > 0
            and s
        ),
        45,
        f"{page.name} plays {member_id}'s video",
    )
    page.page.wait_for_timeout(1200)
    second = page.video_state(member_id)
    assert second is not None
    return first, second


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


def measure_ink_latency(instructor: NotebookPage, student: NotebookPage) -> dict[str, Any]:
    """Pen-down (the browser's mousedown timestamp) to the first frame showing the ink, on the
    instructor's own canvas (through their kernel) and on the student's (through the server
    and the student's kernel). Dots along the bottom of the board, one at a time.

    On the student's board the instructor's cursor mark (a dot of radius 6) sits right where
    the pen goes down and is drawn above the ink: with the widest pen (a dot of radius 8) the
    ink shows around it, so the watched pixels are 7 units left of the pen (the name label is
    up and to the right)."""
    instructor.page.locator(".jc-whiteboard select").select_option(label=str(LATENCY_PEN_WIDTH))
    box = instructor.show_board()
    rgb = hex_rgb(INSTRUCTOR_PEN)
    local: list[float] = []
    remote: list[float] = []
    for i in range(LATENCY_SAMPLES):
        x, y = 100.0 + i * 95.0, 840.0
        key = f"s{i}"
        instructor.page.mouse.move(*instructor.to_screen(box, x, y))
        instructor.page.wait_for_timeout(300)  # the pointer's cursor mark settles first
        wx = x - LATENCY_PEN_WIDTH / 2 + 1
        assert instructor.ink(wx, y, INSTRUCTOR_PEN, r=1) == 0
        assert student.ink(wx, y, INSTRUCTOR_PEN, r=1) == 0
        student.page.evaluate(WATCH_INK_JS, [key, wx, y, 1, rgb, 48, 15_000])
        instructor.page.evaluate(WATCH_INK_JS, [key, wx, y, 1, rgb, 48, 15_000])
        instructor.page.evaluate(WATCH_PEN_DOWN_JS, key)
        instructor.page.mouse.down()
        instructor.page.wait_for_timeout(60)
        instructor.page.mouse.up()
        read = "k => [window.__jcPen[k], window.__jcInk[k]]"
        pen, mine = wait_until(
            lambda read=read, key=key: (v := instructor.page.evaluate(read, key)) and all(v) and v,
            20,
            f"latency sample {i} on the instructor's board",
        )
        theirs = wait_until(
            lambda key=key: student.page.evaluate("k => window.__jcInk[k]", key),
            20,
            f"latency sample {i} on the student's board",
        )
        local.append(mine - pen)
        remote.append(theirs - pen)
    return {
        "samples": LATENCY_SAMPLES,
        "local_ms": [round(v, 1) for v in local],
        "remote_ms": [round(v, 1) for v in remote],
        "local_median_ms": round(statistics.median(local), 1),
        "local_p90_ms": round(percentile(local, 0.9), 1),
        "remote_median_ms": round(statistics.median(remote), 1),
        "remote_p90_ms": round(percentile(remote, 0.9), 1),
        "dots": [(100.0 + i * 95.0 - 5, 840.0) for i in range(LATENCY_SAMPLES)],
    }


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} CPUs, {platform.system()} {platform.release()}"


def write_latency(result: dict[str, Any], browser_version: str, artifacts: Path) -> None:
    (artifacts / "e2e-ink-latency.json").write_text(json.dumps(result, indent=2))
    when = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    load = ", ".join(f"{v:.1f}" for v in os.getloadavg())
    section = f"""{LATENCY_HEADING}

Measured by `tests/e2e/test_classroom_browser.py` on {when}; {machine()}; Chromium
{browser_version} headless, JupyterLab and both kernels on the same machine (loopback). Reported,
not asserted: every run rewrites this section (raw samples in `artifacts/e2e-ink-latency.json`).
Load average (1, 5, 15 min) when written: {load}; the browser, the server and both kernels share
these CPUs, so figures move with whatever else runs.

The instructor presses the mouse on the board ({result["samples"]} dots, one at a time). Time runs
from the browser's `mousedown` timestamp to the first animation frame whose canvas pixels show the
ink (`getImageData` polled every frame, so figures are rounded up to a frame, ~16 ms).

| path | what it goes through | median | p90 |
|---|---|---|---|
| pen to local ink | the browser board paints it on the next animation frame (no kernel) | {result["local_median_ms"]:.0f} ms | {result["local_p90_ms"]:.0f} ms |
| pen to remote ink | that frame's ops on the page socket, room server (`board:ops`), student's page | {result["remote_median_ms"]:.0f} ms | {result["remote_p90_ms"]:.0f} ms |
"""
    replace_section(LATENCY_HEADING, section)


def test_instructor_and_student_in_two_browsers(
    new_page: Any, lab: Lab, artifacts: Path, browser: Any, playwright_api: Any
) -> None:
    expect = playwright_api.expect
    expect.set_options(timeout=20_000)
    instructor = NotebookPage(new_page("instructor"), lab, "instructor.ipynb", artifacts)
    student = NotebookPage(new_page("student"), lab, "student.ipynb", artifacts)

    # 1. The student opens the lobby before any room exists.
    student.open()
    student.run_first_code_cell()
    lobby = student.page.locator(".jc-lobby")
    expect(lobby).to_contain_text("No rooms yet")
    student.screenshot("01-lobby-empty", ".jc-lobby")

    # 2. The instructor opens the room; it shows up in the student's lobby live, locked.
    instructor.open()
    instructor.run_first_code_cell()
    expect(instructor.page.locator(".jc-classroom")).to_contain_text("Linear algebra")
    expect(instructor.page.locator(".jc-whiteboard canvas").first).to_be_visible()
    room_row = lobby.locator(".jc-lobby-room", has_text="Linear algebra")
    expect(room_row).to_be_visible()
    expect(room_row.locator(".jc-locked")).to_contain_text("password")  # needs a password
    expect(room_row).to_contain_text("by Instructor")
    student.screenshot("02-lobby-room-live", ".jc-lobby")

    # 3. Join asks for the password; a wrong one is refused in red.
    room_row.get_by_role("button", name="Join").click()
    password = lobby.locator("input[placeholder='Room password']")
    expect(password).to_be_visible()
    dialog_join = lobby.locator(JOIN_DIALOG).get_by_role("button", name="Join")
    password.fill("not the password")
    dialog_join.click()
    error = lobby.locator(".jc-error")
    expect(error).to_have_text("Wrong password.")
    expect(error).to_have_css("color", "rgb(187, 0, 0)")
    expect(student.page.locator(".jc-classroom")).to_have_count(0)
    student.screenshot("03-wrong-password", ".jc-lobby")

    # 4. The right password joins; both participant lists show both people.
    password.fill(PASSWORD)
    dialog_join.click()
    expect(student.page.locator(".jc-classroom")).to_contain_text("Linear algebra")
    expect(error).to_have_count(0)
    for page in (instructor, student):
        rows = page.page.locator(".jc-participants .jc-participant")
        expect(rows).to_have_count(2)
        expect(rows.filter(has_text="Instructor")).to_have_count(1)
        expect(rows.filter(has_text="Student")).to_have_count(1)
    expect(instructor.page.locator(".jc-participants")).to_contain_text("Student")
    expect(student.page.locator(".jc-participant", has_text="Student")).to_contain_text("(you)")
    instructor.screenshot("04-joined", ".jc-participants")
    student.screenshot("04-joined", ".jc-classroom")

    # 5. The instructor draws with the mouse; the stroke shows on both boards.
    assert student.ink(*BLANK_SPOT, INSTRUCTOR_PEN) == 0
    instructor.draw(INSTRUCTOR_STROKE)
    instructor_ink = along(INSTRUCTOR_STROKE, (0.1, 0.5, 0.8))
    assert_ink(instructor, instructor_ink, INSTRUCTOR_PEN)
    assert_ink(student, instructor_ink, INSTRUCTOR_PEN)
    assert student.ink(*BLANK_SPOT, INSTRUCTOR_PEN, r=20) == 0
    student.show_board()
    instructor.screenshot("05-instructor-drew", ".jc-whiteboard")
    student.screenshot("05-instructor-drew", ".jc-whiteboard")

    # 6. The student picks orange and draws back; the instructor sees it.
    student.choose_color(STUDENT_PEN)
    student.draw(STUDENT_STROKE)
    student_ink = along(STUDENT_STROKE, (0.1, 0.5, 0.8))
    assert_ink(student, student_ink, STUDENT_PEN)
    assert_ink(instructor, student_ink, STUDENT_PEN)
    (artifacts / "e2e-06-board-student.png").write_bytes(student.board_png())
    instructor.show_board()
    instructor.screenshot("06-student-drew", ".jc-whiteboard")

    # 7. Chat both ways (the button, and Enter); HTML in a message is shown as text, never run.
    welcome = "Welcome! Today: eigenvectors."
    instructor.send_chat(welcome, press_enter=True)
    expect(student.page.locator(".jc-chat-message", has_text=welcome)).to_be_visible()
    tricky = 'Is <b>bold?</b> ok <img src=x onerror="window.__jcXss=1"> & "quotes"'
    student.send_chat(tricky)
    for page in (instructor, student):
        message = page.page.locator(".jc-chat-message", has_text="bold?")
        expect(message).to_be_visible()
        assert tricky in message.inner_text(), message.inner_text()
        expect(page.page.locator(".jc-chat img")).to_have_count(0)
        expect(message.locator("b", has_text="bold?")).to_have_count(0)
        assert page.page.evaluate("() => window.__jcXss") is None
    assert [t for t in instructor.chat_texts() if welcome in t]
    expect(student.page.locator(".jc-chat input[type=text]")).to_have_value("")
    instructor.screenshot("07-chat", ".jc-chat")
    student.screenshot("07-chat", ".jc-chat")

    # 8. Video: each side plays the other's fake camera; mute toggles, and the other side's
    #    tile shows it.
    instructor_id, student_id = instructor.local_member_id(), student.local_member_id()
    assert instructor_id != student_id
    for page, other in ((instructor, student_id), (student, instructor_id)):
        expect(page.page.locator(".jc-video")).to_have_attribute(
            "data-publishing", "true", timeout=45_000
        )
        first, second = play_progress(page, other)
        assert second["currentTime"] > first["currentTime"], (first, second)
        if first["frames"] is not None:
            assert second["frames"] > first["frames"], (first, second)
        tile = page.page.locator(f".jc-video-tile[data-member-id='{other}']")
        expect(tile).to_have_attribute("data-state", "connected")
    mute = student.page.locator(".jc-video-mute")
    local_audio = "() => document.querySelector('.jc-video-local video').srcObject.getAudioTracks()[0].enabled"
    expect(mute).to_have_text("Mute")
    assert student.page.evaluate(local_audio) is True
    mute.click()
    expect(mute).to_have_text("Unmute")
    expect(mute).to_have_attribute("aria-pressed", "true")
    assert student.page.evaluate(local_audio) is False
    student_tile = instructor.page.locator(f".jc-video-tile[data-member-id='{student_id}']")
    expect(student_tile).to_have_attribute("data-audio", "off")
    expect(student_tile).to_have_attribute("data-video", "on")
    instructor.screenshot("08-video-student-muted", ".jc-video")
    student.screenshot("08-video-muted", ".jc-video")
    mute.click()
    expect(mute).to_have_text("Mute")
    assert student.page.evaluate(local_audio) is True
    expect(student_tile).to_have_attribute("data-audio", "on")

    # 9. Ink latency, local and remote (reported in docs/performance.md, not asserted).
    latency = measure_ink_latency(instructor, student)
    write_latency(latency, browser.version, artifacts)
    dots = latency["dots"]
    instructor.screenshot("09-latency-dots", ".jc-whiteboard")

    # 10. The student reloads the page, runs the notebook again, rejoins: the whole board is back.
    student.reload()
    expect(student.page.locator(".jc-classroom")).to_have_count(0)
    student.run_first_code_cell()
    room_row = student.page.locator(".jc-lobby .jc-lobby-room", has_text="Linear algebra")
    room_row.get_by_role("button", name="Join").click()
    password = student.page.locator(".jc-lobby input[placeholder='Room password']")
    password.fill(PASSWORD)
    student.page.locator(f".jc-lobby {JOIN_DIALOG}").get_by_role("button", name="Join").click()
    expect(student.page.locator(".jc-classroom")).to_contain_text("Linear algebra")
    assert_ink(student, instructor_ink, INSTRUCTOR_PEN)
    assert_ink(student, student_ink, STUDENT_PEN)
    assert_ink(student, dots, INSTRUCTOR_PEN)
    assert student.ink(*BLANK_SPOT, INSTRUCTOR_PEN, r=20) == 0
    (artifacts / "e2e-10-board-after-reload-student.png").write_bytes(student.board_png())
    expect(student.page.locator(".jc-chat-message", has_text=welcome)).to_be_visible()
    # Re-running `Lobby(name="Student")` makes a new kernel client, hence a new member; the old
    # client of the same kernel stays connected (so may still be listed): see the report.
    expect(instructor.page.locator(".jc-participant", has_text="Student").first).to_be_visible()
    student.show_board()
    student.screenshot("10-after-reload", ".jc-whiteboard")

    # 11. ... and the video comes back on both sides.
    rejoined_id = student.local_member_id()
    for page, other in ((instructor, rejoined_id), (student, instructor_id)):
        first, second = play_progress(page, other)
        assert second["currentTime"] > first["currentTime"], (first, second)
    instructor.screenshot("11-video-after-reload", ".jc-video")
    student.screenshot("11-video-after-reload", ".jc-video")
    instructor.screenshot("11-participants-after-reload", ".jc-participants")
