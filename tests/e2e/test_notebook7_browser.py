"""The classroom in Notebook 7's own UI (not JupyterLab's), while both people's kernels are busy.

Same Jupyter server, same extension, other front-end: Ada (host) and Bob each open a notebook
at ``/notebooks/<path>``. Ada runs `Classroom.create(...)`, Bob `Classroom.join(...)`; both
pages show the browser views (board, chat, participants), not the kernel-drawn fallback. Then
both notebooks run `time.sleep(20)`, and while those cells run: ink drawn with the mouse and
chat cross both ways, before the cells end. Afterwards the kernels see the same board and chat.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from .classroom_page import classroom_setup_cells, wait_until, write_notebook
from .lab import Lab
from .notebook7_page import NOTEBOOK7_APP_NAME, Notebook7Page

pytestmark = pytest.mark.timeout(600)

ADA_PEN = "#1f3a93"  # the board's default colour
BOB_PEN = "#e6194b"
SLEEP = 20  # seconds each kernel is busy while the people draw and chat
ROOM_FILE = "nb7-room.txt"
STATE_FILE = "nb7-state.json"

SETUP_ADA, SETUP_BOB = classroom_setup_cells("Notebook 7 e2e", ROOM_FILE)
BUSY = f"import time\ntime.sleep({SLEEP})"
DUMP = f"""\
import json
json.dump({{
    "modes": [classroom.mode, classroom.board.mode, classroom.chat.mode,
              classroom.participants.mode],
    "objects": classroom.board.objects,
    "messages": [m["text"] for m in classroom.chat.messages],
}}, open({STATE_FILE!r}, "w"))"""


def test_classroom_crosses_both_ways_in_notebook7_while_kernels_run(
    new_page: Any, lab: Lab, artifacts: Path, playwright_api: Any
) -> None:
    expect = playwright_api.expect
    expect.set_options(timeout=10_000)
    write_notebook(lab.root_dir / "nb7_ada.ipynb", SETUP_ADA, BUSY, DUMP)
    write_notebook(lab.root_dir / "nb7_bob.ipynb", SETUP_BOB, BUSY, DUMP)
    ada = Notebook7Page(new_page("nb7-ada"), lab, "nb7_ada.ipynb", artifacts)
    bob = Notebook7Page(new_page("nb7-bob"), lab, "nb7_bob.ipynb", artifacts)

    for page in (ada, bob):
        page.open()
        # Notebook 7's page, not JupyterLab's
        assert page.app_name() == NOTEBOOK7_APP_NAME, page.app_name()
        assert not page.is_jupyterlab_shell()
        page.run_cell(0)
        page.wait_attached()
    for page in (ada, bob):
        assert all(page.modes().values()), (page.name, page.modes())
        expect(page.page.locator(".jc-board-status")).to_contain_text("Drawn in the browser")
        expect(page.page.locator(".jc-participants .jc-participant")).to_have_count(2)

    # Both kernels are busy for SLEEP seconds; everything below happens meanwhile.
    ada.start_cell(1)
    bob.start_cell(1)
    busy_since = time.monotonic()

    # ink, Ada -> Bob
    ada.drag([(200, 150), (500, 300), (800, 150)])
    for page in (ada, bob):
        wait_until(lambda p=page: p.shows_ink(500, 300, ADA_PEN), 5, f"Ada's ink on {page.name}")

    # ink in another colour, Bob -> Ada
    bob.choose_color(BOB_PEN)
    bob.drag([(200, 500), (500, 600), (800, 500)])
    for page in (ada, bob):
        wait_until(lambda p=page: p.shows_ink(500, 600, BOB_PEN), 5, f"Bob's ink on {page.name}")

    # chat both ways
    ada.chat_box().fill("Notebook 7: can you see my ink?")
    ada.chat_box().press("Enter")
    expect(bob.chat_message("can you see my ink?")).to_be_visible()
    bob.chat_box().fill("Yes, and here is mine")
    bob.chat_box().press("Enter")
    expect(ada.chat_message("here is mine")).to_be_visible()
    crossed_after = time.monotonic() - busy_since

    # all of it arrived while both cells were still running
    assert ada.prompt(1) == "[*]:" and bob.prompt(1) == "[*]:", (
        f"the cells ended before ink and chat crossed ({crossed_after:.1f} s)"
    )
    print(f"Notebook 7: ink and chat crossed both ways {crossed_after:.1f} s into the cells")
    for page in (ada, bob):
        page.show_board()
        page.page.screenshot(path=str(artifacts / f"e2e-nb7-busy-{page.name}.png"))

    # After the cells: the kernels' Python API sees what the pages did.
    for page in (ada, bob):
        wait_until(lambda p=page: p.prompt(1) != "[*]:", SLEEP + 30, f"{page.name}: cell ends")
    for page in (ada, bob):
        path = lab.root_dir / STATE_FILE
        path.unlink(missing_ok=True)
        page.run_cell(2)
        state = json.loads(path.read_text())
        assert state["modes"] == ["browser"] * 4, (page.name, state["modes"])
        assert [o["type"] for o in state["objects"]] == ["stroke", "stroke"], state["objects"]
        assert [o["color"] for o in state["objects"]] == [ADA_PEN, BOB_PEN], state["objects"]
        for text in ("Notebook 7: can you see my ink?", "Yes, and here is mine"):
            assert text in state["messages"], (page.name, state["messages"])
