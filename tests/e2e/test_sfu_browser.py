"""Two browsers in a room whose video goes through Janus (the SFU), not the mesh.

JupyterLab runs with ``video_mode = "sfu"`` and an *external* Janus (``janus_url``) that the
test starts in a network namespace of its own (tests/netns.py: Janus gathers no loopback ICE
candidates): each page publishes Chromium's fake camera once, to Janus, over the test's veth
pair, and plays the other's camera as Janus forwards it. Janus's own ``listparticipants``
shows both members publishing: the video went through the SFU. A class (a teacher and two
students) sees and hears each other (Chromium's fake microphone beeps: an AnalyserNode on the
received track hears it), and a fourth page joining changes none of their connections.

Chromium hides a page's host addresses behind mDNS names until it is granted the camera;
the pages here hold the camera (fake device, granted), and ``WebRtcHideLocalIpsWithMdns`` is
off besides, so the offers carry the veth address Janus can reach. No ICE server is set:
nothing leaves loopback and the veth.
"""

from __future__ import annotations

import asyncio
import re
import shutil
import subprocess
import time
from collections.abc import Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import pytest

from jupyter_classroom.sfu.config import JanusConfig, JanusSettings
from jupyter_classroom.sfu.janus_api import JanusError, JanusSession

from ..netns import Namespace, veth_namespace
from .classroom_page import NotebookPage, classroom_setup_cells, wait_until, write_notebook
from .conftest import CHROMIUM_ARGS
from .lab import Lab, start_lab, stop_lab
from .test_classroom_browser import play_progress

pytestmark = pytest.mark.timeout(600)

ROOM_FILE = "sfu-room.txt"
SETUP_ADA, SETUP_BOB = classroom_setup_cells("SFU e2e", ROOM_FILE)
JANUS_RTP_PORTS = (42000, 42999)
JANUS_START_TIMEOUT = 30.0
T = TypeVar("T")


# -------------------------------------------------------------------------------------------
# an external Janus in a namespace, the JupyterLab that uses it, a Chromium showing addresses


@pytest.fixture(scope="module")
def namespace() -> Iterator[Namespace]:
    with veth_namespace("b") as ns:
        yield ns


def run_async(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run ``coroutine`` on a loop of its own, in a thread: Playwright's sync API keeps its
    loop running in this one."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


async def _janus_answers(url: str) -> bool:
    try:
        session = await JanusSession.open(url, connect_timeout=1.0)
    except (OSError, JanusError):
        return False
    await session.close()
    return True


@pytest.fixture(scope="module")
def janus(
    namespace: Namespace, tmp_path_factory: pytest.TempPathFactory, artifacts: Path
) -> Iterator[JanusConfig]:
    """Janus with the configuration the room server would write for a managed one (the
    VideoRoom only, its API on a Unix socket), run by the test: to the room server it is an
    external Janus (``janus_url``)."""
    settings = JanusSettings(rtp_ports=JANUS_RTP_PORTS, interface=namespace.inside_ip,
                             ice_enforce_list=namespace.inside_ip)  # fmt: skip
    config = JanusConfig.create(settings, str(tmp_path_factory.mktemp("janus")))
    binary = shutil.which("janus") or "/usr/bin/janus"
    with (artifacts / "e2e-sfu-janus.log").open("wb") as log:
        process = subprocess.Popen(
            [*namespace.prefix(), binary, *config.command()[1:]],
            stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        deadline = time.monotonic() + JANUS_START_TIMEOUT
        while not (config.api_socket.exists() and run_async(_janus_answers(config.api_url))):
            assert process.poll() is None, f"Janus exited with {process.returncode}"
            assert time.monotonic() < deadline, "Janus's API did not answer"
            time.sleep(0.1)
        yield config
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)


@pytest.fixture(scope="module")
def lab(
    tmp_path_factory: pytest.TempPathFactory, artifacts: Path, janus: JanusConfig
) -> Iterator[Lab]:
    server = start_lab(
        tmp_path_factory.mktemp("e2e-sfu-lab"),
        artifacts / "e2e-sfu-jupyterlab.log",
        server_args=(
            "--ClassroomApp.video_mode=sfu",
            f"--ClassroomApp.janus_url={janus.api_url}",
            f"--ClassroomApp.janus_admin_key={janus.admin_key}",
        ),
    )
    try:
        yield server
    finally:
        stop_lab(server)


@pytest.fixture(scope="module")
def browser(playwright_api: Any, chromium_path: str) -> Iterator[Any]:
    # autoplay with sound, as after a click: the tiles play unmuted and the test's
    # AudioContext runs (it listens to what each page receives)
    args = [*CHROMIUM_ARGS, "--disable-features=WebRtcHideLocalIpsWithMdns",
            "--autoplay-policy=no-user-gesture-required"]  # fmt: skip
    with playwright_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium_path, args=args, headless=True, timeout=60_000
        )
        try:
            yield browser
        finally:
            browser.close()


async def janus_publishers(config: JanusConfig) -> list[list[str]]:
    """Per VideoRoom of this Janus (private ones too: we hold the admin key), the displays
    (member ids) of its publishers, as Janus lists them."""
    session = await JanusSession.open(config.api_url)
    try:
        handle = await session.attach()
        listed = await handle.message({"request": "list", "admin_key": config.admin_key})
        rooms = []
        for room in listed.data["list"]:
            found = await handle.message({"request": "listparticipants", "room": room["room"]})
            participants = found.data["participants"]
            rooms.append(sorted(p["display"] for p in participants if p.get("publisher")))
        return rooms
    finally:
        await session.close()


def test_two_browsers_see_each_other_through_janus(
    new_page: Any, lab: Lab, artifacts: Path, playwright_api: Any, janus: JanusConfig,
    namespace: Namespace,
) -> None:  # fmt: skip
    expect = playwright_api.expect
    expect.set_options(timeout=30_000)
    write_notebook(lab.root_dir / "sfu_ada.ipynb", SETUP_ADA)
    write_notebook(lab.root_dir / "sfu_bob.ipynb", SETUP_BOB)
    ada = NotebookPage(new_page("sfu-ada"), lab, "sfu_ada.ipynb", artifacts)
    bob = NotebookPage(new_page("sfu-bob"), lab, "sfu_bob.ipynb", artifacts)
    # Count what each page's RTCPeerConnections do: the SFU's, never one per member.
    for page in (ada, bob):
        page.page.add_init_script(WATCH_PEER_CONNECTIONS_JS)

    ada.open()
    ada.run_first_code_cell()
    bob.open()
    bob.run_first_code_cell()

    # Both video views are in the room's SFU mode and publish their camera.
    ada_id, bob_id = ada.local_member_id(), bob.local_member_id()
    assert ada_id != bob_id
    for page in (ada, bob):
        video = page.page.locator(".jc-video")
        expect(video).to_have_attribute("data-video-mode", "sfu")
        expect(video).to_have_attribute("data-publishing", "true", timeout=45_000)

    # Each plays the other's camera: frames decoded, time moving on.
    for page, other in ((ada, bob_id), (bob, ada_id)):
        first, second = play_progress(page, other)
        assert second["currentTime"] > first["currentTime"], (first, second)
        if first["frames"] is not None:
            assert second["frames"] > first["frames"], (first, second)
        expect(page.page.locator(f".jc-video-tile[data-member-id='{other}']")).to_have_attribute(
            "data-state", "connected"
        )
    ada.screenshot("sfu-01-video", ".jc-video")
    bob.screenshot("sfu-01-video", ".jc-video")

    # Janus carries both cameras: its one VideoRoom lists both members as publishers.
    rooms = wait_until(
        lambda: (
            (found := run_async(janus_publishers(janus))) == [sorted([ada_id, bob_id])] and found
        ),
        20,
        "Janus lists both members as publishers",
    )
    assert rooms == [sorted([ada_id, bob_id])]

    # And the media went to Janus, not to the other page: every connection of each page that
    # carried media has Janus's veth address as its remote end, none was a mesh connection.
    for page in (ada, bob):
        remote = page.page.evaluate(REMOTE_ADDRESSES_JS)
        assert remote["pcs"] >= 2, remote  # one up, one down per other publisher
        assert remote["addresses"] == [namespace.inside_ip], remote


def test_a_growing_room_switches_from_the_mesh_to_the_sfu(
    new_page: Any, tmp_path_factory: pytest.TempPathFactory, artifacts: Path,
    playwright_api: Any, janus: JanusConfig,
) -> None:  # fmt: skip
    """``video_mode = "auto"`` with ``sfu_threshold = 2``: Ada alone is a mesh; Bob joining
    switches her page to the SFU (``rtc:mode``) and his attaches in it; each sees the other."""
    expect = playwright_api.expect
    expect.set_options(timeout=30_000)
    lab = start_lab(
        tmp_path_factory.mktemp("e2e-sfu-auto-lab"),
        artifacts / "e2e-sfu-auto-jupyterlab.log",
        server_args=(
            "--ClassroomApp.video_mode=auto",
            "--ClassroomApp.sfu_threshold=2",
            f"--ClassroomApp.janus_url={janus.api_url}",
            f"--ClassroomApp.janus_admin_key={janus.admin_key}",
        ),
    )
    try:
        ada_setup, bob_setup = classroom_setup_cells("SFU auto e2e", "sfu-auto-room.txt")
        write_notebook(lab.root_dir / "auto_ada.ipynb", ada_setup)
        write_notebook(lab.root_dir / "auto_bob.ipynb", bob_setup)
        ada = NotebookPage(new_page("auto-ada"), lab, "auto_ada.ipynb", artifacts)
        bob = NotebookPage(new_page("auto-bob"), lab, "auto_bob.ipynb", artifacts)
        ada.open()
        ada.run_first_code_cell()
        ada_video = ada.page.locator(".jc-video")
        expect(ada_video).to_have_attribute("data-publishing", "true", timeout=45_000)
        expect(ada_video).to_have_attribute("data-video-mode", "mesh")

        bob.open()
        bob.run_first_code_cell()
        ada_id, bob_id = ada.local_member_id(), bob.local_member_id()
        for page in (ada, bob):
            expect(page.page.locator(".jc-video")).to_have_attribute("data-video-mode", "sfu")
        for page, other in ((ada, bob_id), (bob, ada_id)):
            first, second = play_progress(page, other)
            assert second["currentTime"] > first["currentTime"], (first, second)
        wait_until(
            lambda: sorted([ada_id, bob_id]) in run_async(janus_publishers(janus)),
            20,
            "Janus lists Ada and Bob as publishers",
        )
        ada.screenshot("sfu-02-switched", ".jc-video")
    finally:
        stop_lab(lab)


def joiner_cell(name: str, room_file: str) -> str:
    """A student's first cell: joins the classroom whose id is in ``room_file``."""
    return f"""\
from jupyter_classroom import Client
from jupyter_classroom.widgets import Classroom
client = Client(name={name!r})
classroom = Classroom.join(open({room_file!r}).read(), client=client)
classroom"""


def open_in_class(new_page: Any, lab: Lab, artifacts: Path, name: str, cell: str) -> NotebookPage:
    write_notebook(lab.root_dir / f"{name}.ipynb", cell)
    page = NotebookPage(new_page(name), lab, f"{name}.ipynb", artifacts)
    page.page.add_init_script(WATCH_PEER_CONNECTIONS_JS)
    page.open()
    page.run_first_code_cell()
    return page


def hears(page: NotebookPage, member_id: str) -> dict[str, Any]:
    """What ``page`` receives of ``member_id``'s microphone over a few seconds (Chromium's
    fake device beeps): the track's state, its peak level and its inbound-rtp audio stats."""
    heard = page.page.evaluate(HEAR_JS, [member_id, AUDIO_LISTEN_MS])
    assert heard is not None, f"{page.name} has no audio track from {member_id}"
    return dict(heard)


def test_a_class_sees_and_hears_each_other_and_a_fourth_changes_nothing(
    new_page: Any, lab: Lab, artifacts: Path, playwright_api: Any, janus: JanusConfig,
    namespace: Namespace,
) -> None:  # fmt: skip
    """A teacher and two students in SFU mode see and hear each other, through Janus; a
    fourth page joining adds one subscription on each page and changes nothing else: the
    existing connections, their receivers and tracks stay, and their frames keep coming."""
    expect = playwright_api.expect
    expect.set_options(timeout=30_000)
    room_file = "sfu-class-room.txt"
    teacher_cell, _ = classroom_setup_cells("SFU class e2e", room_file)
    pages = [open_in_class(new_page, lab, artifacts, "class-teacher", teacher_cell)]
    for name in ("Ben", "Cleo"):
        pages.append(
            open_in_class(new_page, lab, artifacts, f"class-{name.lower()}",
                          joiner_cell(name, room_file))
        )  # fmt: skip
    ids = [page.local_member_id() for page in pages]
    assert len(set(ids)) == 3
    for page in pages:
        video = page.page.locator(".jc-video")
        expect(video).to_have_attribute("data-video-mode", "sfu")
        expect(video).to_have_attribute("data-publishing", "true", timeout=45_000)

    # everyone sees and hears the two others
    for page, member_id in (
        (pg, other) for pg in pages for other in ids if other != pg.local_member_id()
    ):
        first, second = play_progress(page, member_id)
        assert second["currentTime"] > first["currentTime"], (page.name, first, second)
        heard = hears(page, member_id)
        assert heard["readyState"] == "live" and heard["context"] == "running", heard
        assert heard["peak"] > 0.05, (page.name, member_id, heard)  # the beep, not silence
        print(f"{page.name} hears {member_id}: {heard}")
        before, after = heard["before"], heard["after"]
        assert after["packets"] > before["packets"] and after["bytes"] > before["bytes"], heard
    wait_until(
        lambda: sorted(ids) in run_async(janus_publishers(janus)), 20,
        "Janus lists the three as publishers",
    )  # fmt: skip
    pages[0].screenshot("sfu-03-class", ".jc-video")

    # a fourth joins: each page gains one connection (down from the newcomer), no other changes
    before = [page.page.evaluate(CONNECTIONS_JS) for page in pages]
    fourth = open_in_class(new_page, lab, artifacts, "class-dora", joiner_cell("Dora", room_file))
    dora = fourth.local_member_id()
    for page in pages:
        first, second = play_progress(page, dora)
        assert second["currentTime"] > first["currentTime"], (page.name, first, second)
    for page, old in zip(pages, before, strict=True):
        now = page.page.evaluate(CONNECTIONS_JS)
        assert now["connections"][: len(old["connections"])] == old["connections"], (
            page.name,
            old,
            now,
        )
        added = now["connections"][len(old["connections"]) :]
        assert [c["state"] for c in added] == ["connected"], (page.name, added)
        assert {m: now["tiles"][m] for m in old["tiles"]} == old["tiles"], (page.name, old, now)
        # and the old streams still move: more frames decoded on the same connections
        frames = page.page.evaluate(FRAMES_DECODED_JS)
        page.page.wait_for_timeout(1500)
        later = page.page.evaluate(FRAMES_DECODED_JS)
        assert len(old["receiving"]) == 2, old
        for index in old["receiving"]:
            assert later[index] > frames[index], (page.name, index, frames, later)
    pages[0].screenshot("sfu-04-fourth", ".jc-video")


def test_the_host_lectures_students_watch_and_are_muted(
    new_page: Any, lab: Lab, artifacts: Path, playwright_api: Any, janus: JanusConfig
) -> None:
    """The host's lecture controls in the video's toolbar: the lecture layout (the host's tile
    large at everyone), students' publishing off (a student's tile goes at the others, its
    feed leaves Janus, its buttons are disabled with a tooltip; it still plays the host) and
    on again, then Mute all (the student's microphone shows muted at the teacher)."""
    expect = playwright_api.expect
    expect.set_options(timeout=30_000)
    room_file = "sfu-lecture-room.txt"
    teacher_cell, _ = classroom_setup_cells("SFU lecture e2e", room_file)
    teacher = open_in_class(new_page, lab, artifacts, "lecture-teacher", teacher_cell)
    ben = open_in_class(new_page, lab, artifacts, "lecture-ben", joiner_cell("Ben", room_file))
    cleo = open_in_class(new_page, lab, artifacts, "lecture-cleo", joiner_cell("Cleo", room_file))
    pages = (teacher, ben, cleo)
    teacher_id, ben_id = teacher.local_member_id(), ben.local_member_id()
    for page in pages:
        expect(page.page.locator(".jc-video")).to_have_attribute(
            "data-publishing", "true", timeout=45_000
        )
    controls = teacher.page.locator(".jc-video-host-controls")
    expect(controls).to_be_visible()
    expect(ben.page.locator(".jc-video-host-controls")).to_be_hidden()

    # the lecture layout: the teacher's tile large everywhere
    controls.locator(".jc-video-lecture").click()
    for page in pages:
        expect(page.page.locator(".jc-video")).to_have_attribute("data-layout", "lecture")
    for page in (ben, cleo):
        tile = page.page.locator(f".jc-video-tile[data-member-id='{teacher_id}']")
        expect(tile).to_have_attribute("data-lecture-role", "main")
    expect(teacher.page.locator(".jc-video-local")).to_have_attribute("data-lecture-role", "main")

    # students' publishing off: Ben's tile goes at the others, his feed leaves Janus
    controls.locator(".jc-video-students-publish").click()
    for page in (teacher, cleo):
        expect(page.page.locator(f".jc-video-tile[data-member-id='{ben_id}']")).to_be_hidden()
    ben_video = ben.page.locator(".jc-video")
    expect(ben_video).to_have_attribute("data-status", "not-allowed")
    expect(ben_video).to_have_attribute("data-publishing", "false")
    for button in (".jc-video-camera", ".jc-video-mute"):
        expect(ben.page.locator(button)).to_be_disabled()
        expect(ben.page.locator(button)).to_have_attribute("title", re.compile("host does not"))
    wait_until(
        lambda: [teacher_id] in run_async(janus_publishers(janus)), 20,
        "Janus lists only the teacher as a publisher",
    )  # fmt: skip
    first, second = play_progress(ben, teacher_id)  # Ben still watches the teacher
    assert second["currentTime"] > first["currentTime"], (first, second)
    ben.screenshot("sfu-05-lecture-student", ".jc-video")

    # on again: Ben starts his camera, the others see him; then Mute all
    controls.locator(".jc-video-students-publish").click()
    expect(ben.page.locator(".jc-video-camera")).to_be_enabled()
    ben.page.locator(".jc-video-camera").click()
    expect(ben_video).to_have_attribute("data-publishing", "true", timeout=45_000)
    ben_at_teacher = teacher.page.locator(f".jc-video-tile[data-member-id='{ben_id}']")
    expect(ben_at_teacher).to_be_visible()
    play_progress(teacher, ben_id)
    expect(ben_at_teacher).to_have_attribute("data-audio", "on")
    controls.locator(".jc-video-mute-all").click()
    expect(ben_at_teacher).to_have_attribute("data-audio", "off")
    expect(ben.page.locator(".jc-video-mute")).to_have_text("Unmute")
    expect(teacher.page.locator(".jc-video-mute")).to_have_text("Mute")  # the host's own mic
    teacher.screenshot("sfu-06-muted", ".jc-video")
    # docs/lecture.png: Cleo's view, the teacher large, Ben (muted) and herself in the strip
    play_progress(cleo, ben_id)
    cleo.page.locator(".jc-video").screenshot(path=str(DOCS / "lecture.png"))


def received_video(page: NotebookPage, member_id: str) -> dict[str, Any] | None:
    """What ``page`` receives of ``member_id``'s camera: the tile's layer (``data-layer``)
    and the inbound-rtp video's frame width on the connection that plays it."""
    found = page.page.evaluate(RECEIVED_VIDEO_JS, member_id)
    return dict(found) if found else None


def test_small_tiles_take_the_low_layer_and_the_large_tile_the_high(
    new_page: Any, lab: Lab, artifacts: Path, playwright_api: Any, janus: JanusConfig
) -> None:
    """Simulcast: every page publishes two layers of its camera (Chromium's two outbound-rtp
    encodings, ``h`` and ``l``, of different widths); in the lecture layout a student's page
    takes the teacher's large tile in the high layer and the other student's strip tile in
    the low one (``rtc:layer``, Janus's ``configure``): the widths it receives say so. Back to
    the grid of two, both tiles are large again and the student's comes in the high layer."""
    expect = playwright_api.expect
    expect.set_options(timeout=30_000)
    room_file = "sfu-layers-room.txt"
    teacher_cell, _ = classroom_setup_cells("SFU layers e2e", room_file)
    teacher = open_in_class(new_page, lab, artifacts, "layers-teacher", teacher_cell)
    ben = open_in_class(new_page, lab, artifacts, "layers-ben", joiner_cell("Ben", room_file))
    cleo = open_in_class(new_page, lab, artifacts, "layers-cleo", joiner_cell("Cleo", room_file))
    teacher_id, ben_id = teacher.local_member_id(), ben.local_member_id()
    for page in (teacher, ben, cleo):
        expect(page.page.locator(".jc-video")).to_have_attribute(
            "data-publishing", "true", timeout=45_000
        )

    # the teacher's camera goes up in two layers of different widths
    def two_layers() -> list[dict[str, Any]] | None:
        sent = teacher.page.evaluate(OUTBOUND_VIDEO_JS)
        widths = {layer["rid"]: layer["width"] for layer in sent if layer["width"]}
        return sent if set(widths) == {"h", "l"} and widths["h"] > widths["l"] else None

    sent = wait_until(two_layers, 30, "the teacher's camera sent in two layers")
    print("the teacher sends", sent)

    controls = teacher.page.locator(".jc-video-host-controls")
    controls.locator(".jc-video-lecture").click()
    teacher_tile = cleo.page.locator(f".jc-video-tile[data-member-id='{teacher_id}']")
    ben_tile = cleo.page.locator(f".jc-video-tile[data-member-id='{ben_id}']")
    expect(teacher_tile).to_have_attribute("data-lecture-role", "main")
    expect(teacher_tile).to_have_attribute("data-layer", "high")
    expect(ben_tile).to_have_attribute("data-lecture-role", "strip")
    expect(ben_tile).to_have_attribute("data-layer", "low")

    seen: dict[str, Any] = {}

    def lecture_widths() -> tuple[dict[str, Any], dict[str, Any]] | None:
        large, small = received_video(cleo, teacher_id), received_video(cleo, ben_id)
        seen.update(teacher=large, ben=small)
        if not (large and small and large["width"] and small["width"]):
            return None
        return (large, small) if large["width"] >= 2 * small["width"] else None

    # (a loaded machine can hold the high layer back a while: Chrome ramps its bandwidth up,
    # and Janus may fall back from it until the room server has it ask for a keyframe)
    large, small = wait_until(
        lecture_widths,
        90,
        lambda: (
            f"Cleo receives the teacher high, Ben low; last {seen}, "
            f"the teacher sends {teacher.page.evaluate(OUTBOUND_VIDEO_JS)}"
        ),
    )
    print("in the lecture layout Cleo receives", {"teacher": large, "ben": small})
    cleo.screenshot("sfu-07-layers-lecture", ".jc-video")

    # the grid of two: Ben's tile is large again, and comes in the high layer
    controls.locator(".jc-video-lecture").click()
    expect(ben_tile).to_have_attribute("data-layer", "high")
    grown = wait_until(
        lambda: (
            (found := received_video(cleo, ben_id)) and found["width"] >= 2 * small["width"]
        ) and found,
        40,
        lambda: f"Cleo receives Ben in the high layer; last {received_video(cleo, ben_id)}, "
        f"Ben sends {ben.page.evaluate(OUTBOUND_VIDEO_JS)}",
    )  # fmt: skip
    print("in the grid Cleo receives Ben", grown)


def test_a_watcher_gets_the_high_layer_back_after_losing_it(
    new_page: Any, lab: Lab, artifacts: Path, janus: JanusConfig, namespace: Namespace
) -> None:
    """The teacher's high layer stops reaching Janus for a while (its packets dropped on
    the way, as a congested link does) while the low one goes on: Janus falls back to the
    low layer, and goes up again only on a keyframe of the high one. Once the high layer
    flows again the student's page receives it again (a retransmitted keyframe, or the one
    the room server has Janus ask for: it tells Janus the layer again until it is back)."""
    room_file = "sfu-recover-room.txt"
    teacher_cell, _ = classroom_setup_cells("SFU recover e2e", room_file)
    teacher = open_in_class(new_page, lab, artifacts, "recover-teacher", teacher_cell)
    ben = open_in_class(new_page, lab, artifacts, "recover-ben", joiner_cell("Ben", room_file))
    teacher_id = teacher.local_member_id()

    def width() -> int:
        found = received_video(ben, teacher_id)
        return int(found["width"]) if found else 0

    wait_until(lambda: width() >= 640, 90, lambda: f"Ben receives the teacher high: {width()}")
    (high,) = [layer for layer in teacher.page.evaluate(OUTBOUND_VIDEO_JS) if layer["rid"] == "h"]
    with namespace.rtp_dropped(high["ssrc"]):
        wait_until(
            lambda: width() == 160, 30, lambda: f"Janus falls back to the low layer: {width()}"
        )
        time.sleep(1)
    wait_until(
        lambda: width() >= 640, 60, lambda: f"Ben receives the teacher high again: {width()}"
    )


def test_a_tile_whose_video_comes_weak_says_so(
    new_page: Any, lab: Lab, artifacts: Path, playwright_api: Any, janus: JanusConfig,
    namespace: Namespace,
) -> None:  # fmt: skip
    """The link from Janus to the student's page congests (what Janus sends it limited to
    100 kbit/s, the rest dropped): the page sees the teacher's video lose packets, takes the
    low layer of it for a while and marks the tile "Weak connection"; the link clear again,
    the mark goes (after the 30 s hold) and the tile is marked good."""
    expect = playwright_api.expect
    room_file = "sfu-weak-room.txt"
    teacher_cell, _ = classroom_setup_cells("SFU weak e2e", room_file)
    teacher = open_in_class(new_page, lab, artifacts, "weak-teacher", teacher_cell)
    ben = open_in_class(new_page, lab, artifacts, "weak-ben", joiner_cell("Ben", room_file))
    teacher_id = teacher.local_member_id()
    wait_until(
        lambda: (found := received_video(ben, teacher_id)) and found["frames"] > 10,
        90,
        "Ben plays the teacher",
    )
    tile = ben.page.locator(f".jc-video-tile[data-member-id='{teacher_id}']")
    mark = tile.locator(".jc-video-weak")
    expect(mark).to_be_hidden()
    port = ben.page.evaluate(RECEIVING_PORT_JS, teacher_id)
    with namespace.port_throttled(port, "100kbit"):
        expect(tile).to_have_attribute("data-reception", "weak", timeout=30_000)
        expect(mark).to_be_visible()
        expect(mark).to_have_text("Weak connection")
        # docs/weak-connection.png: the student's view, the teacher's tile marked
        ben.page.locator(".jc-video").screenshot(path=str(DOCS / "weak-connection.png"))
    expect(tile).to_have_attribute("data-reception", "good", timeout=60_000)
    expect(mark).to_be_hidden()


def test_students_watch_only_in_a_mesh_room(
    new_page: Any, tmp_path_factory: pytest.TempPathFactory, artifacts: Path,
    playwright_api: Any,
) -> None:  # fmt: skip
    """The same control in a mesh room (no Janus): the student's page starts its connections
    over receive-only, which the server relays (it refuses media-sending offers from a
    student then), so the student keeps playing the teacher; the teacher loses the student's
    tile. On again, the student's camera reaches the teacher."""
    expect = playwright_api.expect
    expect.set_options(timeout=30_000)
    lab = start_lab(
        tmp_path_factory.mktemp("e2e-lecture-mesh-lab"),
        artifacts / "e2e-lecture-mesh-jupyterlab.log",
    )
    try:
        room_file = "mesh-lecture-room.txt"
        teacher_cell, _ = classroom_setup_cells("Mesh lecture e2e", room_file)
        teacher = open_in_class(new_page, lab, artifacts, "mesh-teacher", teacher_cell)
        ben = open_in_class(new_page, lab, artifacts, "mesh-ben", joiner_cell("Ben", room_file))
        teacher_id, ben_id = teacher.local_member_id(), ben.local_member_id()
        for page in (teacher, ben):
            video = page.page.locator(".jc-video")
            expect(video).to_have_attribute("data-video-mode", "mesh")
            expect(video).to_have_attribute("data-publishing", "true", timeout=45_000)
        play_progress(teacher, ben_id)
        teacher.page.locator(".jc-video-students-publish").click()
        ben_video = ben.page.locator(".jc-video")
        expect(ben_video).to_have_attribute("data-status", "not-allowed")
        expect(ben_video).to_have_attribute("data-publishing", "false")
        ben_at_teacher = teacher.page.locator(f".jc-video-tile[data-member-id='{ben_id}']")
        expect(ben_at_teacher).to_be_hidden()
        # the receive-only connection, negotiated again through the server, plays the teacher
        first, second = play_progress(ben, teacher_id)
        assert second["currentTime"] > first["currentTime"], (first, second)
        expect(
            ben.page.locator(f".jc-video-tile[data-member-id='{teacher_id}']")
        ).to_have_attribute("data-state", "connected")
        # on again: Ben's camera reaches the teacher (his offer now sends media)
        teacher.page.locator(".jc-video-students-publish").click()
        ben.page.locator(".jc-video-camera").click()
        expect(ben_video).to_have_attribute("data-publishing", "true", timeout=45_000)
        expect(ben_at_teacher).to_be_visible()
        first, second = play_progress(teacher, ben_id)
        assert second["currentTime"] > first["currentTime"], (first, second)
    finally:
        stop_lab(lab)


DOCS = Path(__file__).resolve().parents[2] / "docs"

# The layer a tile takes and the width of the video it receives (inbound-rtp's frameWidth on
# the connection whose receiver plays the tile's video track).
RECEIVED_VIDEO_JS = """
async (memberId) => {
  const tile = document.querySelector(`.jc-video-tile[data-member-id="${memberId}"]`);
  const video = tile && tile.querySelector('video');
  const track = video && video.srcObject && video.srcObject.getVideoTracks()[0];
  if (!track) return null;
  const pc = window.__jcPcs.find(
    pc => pc.connectionState !== 'closed' && pc.getReceivers().some(r => r.track === track));
  if (!pc) return null;
  let width = 0, frames = 0, pli = 0, keyframes = 0;
  (await pc.getStats()).forEach(r => {
    if (r.type === 'inbound-rtp' && r.kind === 'video') {
      width = r.frameWidth || 0;
      frames = r.framesDecoded || 0;
      pli = r.pliCount || 0;
      keyframes = r.keyFramesDecoded || 0;
    }
  });
  return { layer: tile.dataset.layer, width, frames, videoWidth: video.videoWidth, pli, keyframes };
}
"""

# The local UDP port of the connection on which the page receives ``memberId``'s video.
RECEIVING_PORT_JS = """
async (memberId) => {
  const tile = document.querySelector(`.jc-video-tile[data-member-id="${memberId}"]`);
  const track = tile.querySelector('video').srcObject.getVideoTracks()[0];
  const pc = window.__jcPcs.find(
    pc => pc.connectionState !== 'closed' && pc.getReceivers().some(r => r.track === track));
  const stats = Array.from((await pc.getStats()).values());
  const transport = stats.find(r => r.type === 'transport');
  const pair = stats.find(r => r.id === transport.selectedCandidatePairId);
  return stats.find(r => r.id === pair.localCandidateId).port;
}
"""

# The page's outbound video encodings: rid, width, frames encoded.
OUTBOUND_VIDEO_JS = """
async () => {
  const out = [];
  for (const pc of window.__jcPcs) {
    if (pc.connectionState === 'closed') continue;
    (await pc.getStats()).forEach(r => {
      if (r.type === 'outbound-rtp' && r.kind === 'video')
        out.push({ rid: r.rid || '', width: r.frameWidth || 0, frames: r.framesEncoded || 0,
                   limit: r.qualityLimitationReason, active: r.active, pli: r.pliCount,
                   keyframes: r.keyFramesEncoded, ssrc: r.ssrc });
    });
  }
  return out;
}
"""
AUDIO_LISTEN_MS = 2500

# The audio track a page plays in ``memberId``'s tile: listened to through an AnalyserNode for
# ``ms`` (the peak of the waveform), and the inbound-rtp audio stats of the connection that
# receives it, before and after.
HEAR_JS = """
async ([memberId, ms]) => {
  const tile = document.querySelector(`.jc-video-tile[data-member-id="${memberId}"]`);
  const stream = tile && tile.querySelector('video') && tile.querySelector('video').srcObject;
  const track = stream && stream.getAudioTracks()[0];
  if (!track) return null;
  const pc = window.__jcPcs.find(
    pc => pc.connectionState !== 'closed' && pc.getReceivers().some(r => r.track === track));
  const inbound = async () => {
    let found = { packets: 0, bytes: 0 };
    if (pc) (await pc.getStats()).forEach(r => {
      if (r.type === 'inbound-rtp' && r.kind === 'audio')
        found = { packets: r.packetsReceived, bytes: r.bytesReceived };
    });
    return found;
  };
  const before = await inbound();
  const context = new AudioContext();
  await context.resume();
  const analyser = context.createAnalyser();
  analyser.fftSize = 2048;
  context.createMediaStreamSource(new MediaStream([track])).connect(analyser);
  const samples = new Float32Array(analyser.fftSize);
  let peak = 0;
  for (const end = performance.now() + ms; performance.now() < end; ) {
    analyser.getFloatTimeDomainData(samples);
    for (const v of samples) peak = Math.max(peak, Math.abs(v));
    await new Promise(resolve => setTimeout(resolve, 20));
  }
  const state = context.state;
  await context.close();
  return { readyState: track.readyState, muted: track.muted, context: state, peak,
           before, after: await inbound(), found: !!pc };
}
"""

# Every RTCPeerConnection the page made, in order, with its state and the ids of the tracks
# it sends and receives; and, per tile, the ids of the tracks it plays.
CONNECTIONS_JS = """
() => {
  const connections = window.__jcPcs.map(pc => ({
    state: pc.connectionState,
    sends: pc.getSenders().filter(s => s.track).map(s => s.track.id).sort(),
    receives: pc.getReceivers().filter(r => r.track).map(r => r.track.id).sort(),
  }));
  // a publishing connection has receivers too (unused): only the subscriptions count
  const receiving = connections
    .map((c, i) => (c.state === 'connected' && !c.sends.length && c.receives.length ? i : -1))
    .filter(i => i >= 0);
  const tiles = {};
  document.querySelectorAll('.jc-video-tile[data-member-id]').forEach(tile => {
    const stream = tile.querySelector('video') && tile.querySelector('video').srcObject;
    tiles[tile.dataset.memberId] = stream ? stream.getTracks().map(t => t.id).sort() : [];
  });
  return { connections, receiving, tiles };
}
"""

# Per connection (by index), the video frames it has decoded so far.
FRAMES_DECODED_JS = """
async () => {
  const out = [];
  for (const pc of window.__jcPcs) {
    let frames = 0;
    if (pc.connectionState !== 'closed') (await pc.getStats()).forEach(r => {
      if (r.type === 'inbound-rtp' && r.kind === 'video') frames += r.framesDecoded || 0;
    });
    out.push(frames);
  }
  return out;
}
"""


# Wraps RTCPeerConnection before the page's scripts run: every connection is kept, so the test
# can read, from getStats, the address of the remote end of the pair each one uses.
WATCH_PEER_CONNECTIONS_JS = """
(() => {
  const Original = window.RTCPeerConnection;
  window.__jcPcs = [];
  window.RTCPeerConnection = function (...args) {
    const pc = new Original(...args);
    window.__jcPcs.push(pc);
    return pc;
  };
  window.RTCPeerConnection.prototype = Original.prototype;
})();
"""

REMOTE_ADDRESSES_JS = """
async () => {
  const addresses = new Set();
  for (const pc of window.__jcPcs) {
    if (pc.connectionState === 'closed') continue;
    const stats = await pc.getStats();
    stats.forEach(report => {
      if (report.type === 'candidate-pair' && report.state === 'succeeded' && report.nominated) {
        const remote = stats.get(report.remoteCandidateId);
        if (remote) addresses.add(remote.address || remote.ip);
      }
    });
  }
  return { pcs: window.__jcPcs.length, addresses: Array.from(addresses).sort() };
}
"""
