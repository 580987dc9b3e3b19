"""Chat and the host's controls in two Chromium pages, while both people's kernels are busy.

Ada (host) and Bob each open a notebook with a whole `Classroom` (board, chat, participants
and video: all browser views). Both notebooks then run `time.sleep(20)`, and while those cells
run: public chat crosses both ways, Bob sends Ada a direct message, Ada locks the board and
hands the room over to Bob, and Bob (now host) unlocks it; each arrives on the other page
before the cells end. Afterwards the kernels' Python API (`classroom.chat.messages`,
`participants.members`) sees what the pages did. Each page has exactly one classroom socket.

Latency (reported, never asserted; printed and written to artifacts/chat-latency.json): the
Enter key's event timestamp on the sender's page to the first animation frame after the
message shows on the other page, idle and while both kernels run a cell.
"""

from __future__ import annotations

import json
import os
import platform
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from .classroom_page import NotebookPage, classroom_setup_cells, wait_until, write_notebook
from .lab import ROOT, Lab
from .test_board_browser import summary

pytestmark = pytest.mark.timeout(600)

SLEEP = 20  # seconds each kernel is busy
SAMPLES = 8  # chat latency samples per phase (the server allows bursts of 20 messages)
ROOM_FILE = "chat-room.txt"
STATE_FILE = "chat-state.json"
SOCKET_PATH = "/classroom/socket.io"

SETUP_ADA, SETUP_BOB = classroom_setup_cells("Chat e2e", ROOM_FILE)
BUSY = f"import time\ntime.sleep({SLEEP})"
DUMP = f"""\
import json
json.dump({{
    "modes": [classroom.mode, classroom.chat.mode, classroom.participants.mode],
    "messages": classroom.chat.messages,
    "members": classroom.participants.members,
    "host": client.connection.rooms[classroom.room_id].info["host"]["name"],
    "board_locked": client.connection.rooms[classroom.room_id].info["board_locked"],
}}, open({STATE_FILE!r}, "w"))"""

# When Enter goes down in the chat box (the event's own timestamp, epoch ms).
WATCH_ENTER_JS = """
(key) => {
  window.__jcEnter = window.__jcEnter || {};
  window.__jcEnter[key] = null;
  const box = document.querySelector('.jc-chat input[type=text]');
  box.addEventListener('keydown', ev => {
    if (ev.key === 'Enter') window.__jcEnter[key] = performance.timeOrigin + ev.timeStamp;
  }, { once: true, capture: true });
}
"""
# When a message with this text first shows in the chat: the animation frame after it is added.
WATCH_MESSAGE_JS = """
([key, text]) => {
  window.__jcShown = window.__jcShown || {};
  window.__jcShown[key] = null;
  const history = document.querySelector('.jc-chat .jc-chat-history');
  const seen = () => Array.from(history.querySelectorAll('.jc-chat-text'))
    .some(el => el.textContent === text);
  const observer = new MutationObserver(() => {
    if (seen()) {
      observer.disconnect();
      requestAnimationFrame(() => { window.__jcShown[key] = performance.timeOrigin + performance.now(); });
    }
  });
  observer.observe(history, { childList: true, subtree: true });
}
"""


class ChatPage(NotebookPage):
    """A notebook page with a whole classroom in it; counts its classroom sockets."""

    def __init__(self, page: Any, lab: Lab, notebook: str, artifacts: Path) -> None:
        super().__init__(page, lab, notebook, artifacts)
        self.sockets: list[Any] = []
        page.on("websocket", lambda ws: self.sockets.append(ws) if SOCKET_PATH in ws.url else None)

    def wait_attached(self, timeout_ms: int = 90_000) -> None:
        for view in (".jc-chat", ".jc-participants"):
            self.page.locator(f"{view}[data-state='attached']").wait_for(timeout=timeout_ms)

    def open_classroom_sockets(self) -> int:
        return sum(1 for ws in self.sockets if not ws.is_closed())

    def chat_box(self) -> Any:
        return self.page.locator(".jc-chat input[type=text]")

    def shows_message(self, text: str) -> Any:
        return self.page.locator(".jc-chat .jc-chat-message", has_text=text)

    def participant(self, name: str) -> Any:
        return self.page.locator(".jc-participants .jc-participant", has_text=name)


def measure(
    sender: ChatPage, receiver: ChatPage, phase: str, go_on: Callable[[], bool] = lambda: True
) -> list[float]:
    """Sender types a message and presses Enter: Enter's timestamp to the receiver's frame.
    Up to SAMPLES samples, while ``go_on()`` holds."""
    delays: list[float] = []
    for i in range(SAMPLES):
        if not go_on():
            break
        key, text = f"{phase}-{i}", f"latency {phase} {i}"
        receiver.page.evaluate(WATCH_MESSAGE_JS, [key, text])
        sender.page.evaluate(WATCH_ENTER_JS, key)
        box = sender.chat_box()
        box.fill(text)
        box.press("Enter")
        entered = wait_until(
            lambda key=key: sender.page.evaluate("k => window.__jcEnter[k]", key), 10, "Enter"
        )
        shown = wait_until(
            lambda key=key: receiver.page.evaluate("k => window.__jcShown[k]", key),
            10,
            f"{text!r} on {receiver.name}'s page",
        )
        delays.append(shown - entered)
        sender.page.wait_for_timeout(150)  # well under the chat rate limit
    return delays


def test_chat_and_host_controls_cross_while_kernels_run(
    new_page: Any, lab: Lab, artifacts: Path, browser: Any, playwright_api: Any
) -> None:
    expect = playwright_api.expect
    expect.set_options(timeout=10_000)
    write_notebook(lab.root_dir / "chat_ada.ipynb", SETUP_ADA, BUSY, DUMP)
    write_notebook(lab.root_dir / "chat_bob.ipynb", SETUP_BOB, BUSY, DUMP)
    ada = ChatPage(new_page("chat-ada"), lab, "chat_ada.ipynb", artifacts)
    bob = ChatPage(new_page("chat-bob"), lab, "chat_bob.ipynb", artifacts)

    ada.open()
    ada.run_first_code_cell()
    ada.wait_attached()
    bob.open()
    bob.run_first_code_cell()
    bob.wait_attached()
    for page, me, other in ((ada, "Ada", "Bob"), (bob, "Bob", "Ada")):
        expect(page.page.locator(".jc-participants .jc-participant")).to_have_count(2)
        expect(page.participant(me)).to_contain_text("(you)")
        expect(page.participant(other)).not_to_contain_text("(you)")
    expect(ada.participant("Ada").locator(".jc-participant-host")).to_have_count(1)
    expect(bob.page.locator(".jc-participants-lock")).to_be_hidden()  # Bob is not the host

    latency = {"idle": measure(ada, bob, "idle")}

    # Both kernels are busy for SLEEP seconds; everything below happens meanwhile.
    ada.start_cell(1)
    bob.start_cell(1)
    busy_since = time.monotonic()

    # public chat both ways: Enter on Ada's page, the Send button on Bob's
    ada.chat_box().fill("Question 1: what is an eigenvector?")
    ada.chat_box().press("Enter")
    expect(bob.shows_message("Question 1")).to_be_visible()
    bob.chat_box().fill("<b>A vector</b> that keeps its direction")
    bob.page.locator(".jc-chat button", has_text="Send").click()
    expect(ada.shows_message("keeps its direction")).to_contain_text("<b>A vector</b>")
    expect(ada.page.locator(".jc-chat .jc-chat-text b")).to_have_count(0)  # text, never HTML

    # a direct message from Bob to Ada, marked as one on both pages
    bob.page.locator(".jc-chat select.jc-chat-to").select_option(label="Ada")
    bob.chat_box().fill("Can I ask you privately?")
    bob.chat_box().press("Enter")
    private = ada.shows_message("privately")
    expect(private).to_contain_text("(direct, to you)")
    expect(private).to_have_class(re.compile(r"\bjc-chat-direct\b"))
    expect(bob.shows_message("privately")).to_contain_text("(direct, to Ada)")

    # the host locks the board: Bob's page says so
    ada.page.locator(".jc-participants-lock").click()
    expect(bob.page.locator(".jc-participants")).to_have_attribute("data-board-locked", "true")
    expect(ada.page.locator(".jc-participants-lock")).to_have_text("Unlock board")

    # ... hands the room over to Bob, who (kernel busy too) unlocks it from his page
    ada.participant("Bob").get_by_role("button", name="Make host").click()
    expect(bob.page.locator(".jc-participants")).to_have_attribute("data-host", "true")
    expect(ada.page.locator(".jc-participants")).to_have_attribute("data-host", "false")
    expect(bob.participant("Bob").locator(".jc-participant-host")).to_have_count(1)
    bob.page.locator(".jc-participants-lock").click()
    expect(ada.page.locator(".jc-participants")).to_have_attribute("data-board-locked", "false")
    crossed_after = time.monotonic() - busy_since
    # everything above arrived while both cells were still running
    assert ada.prompt(1) == "[*]:" and bob.prompt(1) == "[*]:", (
        f"the cells ended before the chat work was done ({crossed_after:.1f} s)"
    )

    def busy() -> bool:
        return ada.prompt(1) == "[*]:" and bob.prompt(1) == "[*]:"

    # latency while both kernels run: the samples that fit in what is left of the cells
    latency["kernel_busy"] = measure(bob, ada, "busy", busy)
    ada.page.screenshot(path=str(artifacts / "e2e-chat-busy-ada.png"))
    bob.page.screenshot(path=str(artifacts / "e2e-chat-busy-bob.png"))

    # One classroom socket per page carried board, chat, participants and video.
    for page in (ada, bob):
        assert page.open_classroom_sockets() == 1, [ws.url for ws in page.sockets]
        print(f"{page.name}: classroom websockets opened {len(page.sockets)}, open 1")

    # After the cells: the kernels' Python API sees what the pages did.
    wait_until(lambda: ada.prompt(1) != "[*]:", SLEEP + 30, "Ada's cell ends")
    wait_until(lambda: bob.prompt(1) != "[*]:", SLEEP + 30, "Bob's cell ends")
    for page, name in ((ada, "Ada"), (bob, "Bob")):
        path = lab.root_dir / STATE_FILE
        path.unlink(missing_ok=True)
        page.run_cell(2)
        state = json.loads(path.read_text())
        assert state["modes"] == ["browser"] * 3, state["modes"]
        texts = [m["text"] for m in state["messages"]]
        assert "Question 1: what is an eigenvector?" in texts, (name, texts)
        assert "Can I ask you privately?" in texts, (name, texts)  # to Ada, from Bob
        assert state["host"] == "Bob", (name, state)
        assert sorted(m["name"] for m in state["members"]) == ["Ada", "Bob"], state["members"]
        assert state["board_locked"] is False

    report = {
        "what": "chat: the sender's Enter keydown timeStamp to the first animation frame after "
        "the message is in the other page's chat; Chromium headless, loopback",
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs",
        "browser": browser.version,
        "crossed_while_busy_after_s": round(crossed_after, 1),
        **{phase: summary(values) for phase, values in latency.items() if values},
    }
    (ROOT / "artifacts").mkdir(exist_ok=True)
    (ROOT / "artifacts" / "chat-latency.json").write_text(json.dumps(report, indent=2))
    for phase in ("idle", "kernel_busy"):
        if phase not in report:
            print(f"chat Enter -> other page  {phase:12} no sample (the cells ended first)")
            continue
        figures = report[phase]
        print(f"chat Enter -> other page  {phase:12} p50 {figures['p50_ms']:6.1f} ms  "
              f"p95 {figures['p95_ms']:6.1f} ms")  # fmt: skip
