"""Fixtures for the browser tests: a fresh JupyterLab and Debian's Chromium via Playwright.

Skipped (with the reason) when Playwright or the Debian package ``chromium`` is missing;
Playwright never downloads a browser of its own here.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from .lab import ROOT, Lab, start_lab, stop_lab

ARTIFACTS = ROOT / "artifacts"
CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "chromium", "chromium-browser")
CHROMIUM_ARGS = [
    "--no-sandbox",  # runs as root in CI
    "--use-fake-device-for-media-stream",  # a synthetic camera and microphone
    "--use-fake-ui-for-media-stream",  # no permission prompt
    "--disable-gpu",
    # Without these Chromium keeps trying to reach Google on the closed network.
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
DEFAULT_TIMEOUT_MS = 30_000
VIEWPORT = {"width": 1500, "height": 1100}


def find_chromium() -> str | None:
    for candidate in CHROMIUM_CANDIDATES:
        found = shutil.which(candidate)
        if found:
            return found
    return None


# pytest-jupyter's autouse fixtures run an asyncio loop around every test; Playwright's sync API
# runs its own loop in this thread. These tests need no in-process server: turn them off here.
@pytest.fixture
def jp_asyncio_loop() -> None:
    return None


@pytest.fixture
def jp_server_cleanup() -> None:
    return None


@pytest.fixture(scope="module")
def chromium_path() -> str:
    path = find_chromium()
    if path is None:
        pytest.skip(
            "Chromium is not installed: apt-get install chromium (the Debian package `chromium`)"
        )
    return path


@pytest.fixture(scope="module")
def playwright_api() -> Any:
    return pytest.importorskip(
        "playwright.sync_api",
        reason="Playwright for Python is not installed: pip install playwright",
    )


@pytest.fixture(scope="module")
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    for stale in ARTIFACTS.glob("e2e-failure-*.png"):
        stale.unlink()
    return ARTIFACTS


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory, artifacts: Path) -> Iterator[Lab]:
    workdir = tmp_path_factory.mktemp("e2e-lab")
    server = start_lab(workdir, artifacts / "e2e-jupyterlab.log")
    try:
        yield server
    finally:
        stop_lab(server)


@pytest.fixture(scope="module")
def browser(playwright_api: Any, chromium_path: str) -> Iterator[Any]:
    with playwright_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium_path, args=CHROMIUM_ARGS, headless=True, timeout=60_000
        )
        try:
            yield browser
        finally:
            browser.close()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    if report.when == "call":
        item.stash[FAILED] = report.failed
    return report


FAILED = pytest.StashKey[bool]()


@pytest.fixture
def new_page(
    browser: Any, lab: Lab, artifacts: Path, request: pytest.FixtureRequest
) -> Iterator[Callable[[str], Any]]:
    """``new_page("student")``: a page in its own browser context (own cookies, own camera)."""
    contexts: list[Any] = []
    logs: list[Any] = []

    pages: dict[str, Any] = {}

    def _new_page(name: str) -> Any:
        context = browser.new_context(
            viewport=VIEWPORT, permissions=["camera", "microphone"], base_url=lab.url
        )
        context.set_default_timeout(DEFAULT_TIMEOUT_MS)
        contexts.append(context)
        page = context.new_page()
        log = (artifacts / f"e2e-console-{name}.log").open("w", encoding="utf-8")
        logs.append(log)
        page.on("console", lambda m: log.write(f"[{m.type}] {m.text}\n"))
        page.on("pageerror", lambda e: log.write(f"[pageerror] {e}\n"))
        # what the page asks of the SFU (rtc:*), to read back when a video test fails
        page.on("websocket", lambda socket: socket.on("framesent", lambda frame: (
            log.write(f"[sent {time.strftime('%H:%M:%S')}] {frame}\n")
            if isinstance(frame, str) and '["rtc:' in frame[:16] else None)))  # fmt: skip
        # Reloading a notebook with unsaved outputs asks "Leave site?": say yes, as a person would.
        page.on("dialog", lambda dialog: dialog.accept())
        pages[name] = page
        return page

    yield _new_page
    if request.node.stash.get(FAILED, True):
        for name, page in pages.items():
            try:
                page.screenshot(path=str(artifacts / f"e2e-failure-{name}.png"), timeout=10_000)
            except Exception as error:  # the page may be gone; the test's own error matters
                print(f"no failure screenshot of {name}: {error}")
    for context in contexts:
        context.close()
    for log in logs:
        log.close()
