"""Two browsers in a room whose video goes through Janus (the SFU), not the mesh.

JupyterLab runs with ``video_mode = "sfu"`` and an *external* Janus (``janus_url``) that the
test starts in a network namespace of its own (tests/netns.py: Janus gathers no loopback ICE
candidates): each page publishes Chromium's fake camera once, to Janus, over the test's veth
pair, and plays the other's camera as Janus forwards it. Janus's own ``listparticipants``
shows both members publishing: the video went through the SFU.

Chromium hides a page's host addresses behind mDNS names until it is granted the camera;
the pages here hold the camera (fake device, granted), and ``WebRtcHideLocalIpsWithMdns`` is
off besides, so the offers carry the veth address Janus can reach. No ICE server is set:
nothing leaves loopback and the veth.
"""

from __future__ import annotations

import asyncio
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
    args = [*CHROMIUM_ARGS, "--disable-features=WebRtcHideLocalIpsWithMdns"]
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
