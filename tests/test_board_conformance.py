"""One board, two implementations: board.py (with the room server's rules) and the
labextension's BoardModel (labextension/src/board/model.ts) must show the same objects.

- The hand-written fixtures in tests/conformance/ go through the server's room logic
  (``Rooms.add_op`` over a ``MemoryStore``: the rules, the store, ``visible_objects``); the
  TypeScript suite (labextension/test/conformance.test.ts) checks the model on the same files.
- Property tests against the compiled TypeScript (a Node process running
  labextension/test/model-driver.ts): random op logs through ``visible_objects`` and the
  model (applied in order, out of order, loaded whole, as pending); random sends by members
  through ``Rooms.add_op`` and ``checkOp`` (same refusals, same board); random clicks through
  widgets/geometry.py and geometry.ts (the eraser hits the same objects).
"""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jupyter_classroom import protocol as p
from jupyter_classroom.board import visible_objects
from jupyter_classroom.rooms import Identity, Rooms
from jupyter_classroom.store import MemoryStore
from jupyter_classroom.widgets.geometry import arrow_head, hits

ROOT = Path(__file__).parent.parent
FIXTURES = sorted((Path(__file__).parent / "conformance").glob("*.json"))
LABEXTENSION = ROOT / "labextension"


def load(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


def plain(value: Any) -> Any:
    """As it would be on the wire (tuples become lists)."""
    return json.loads(json.dumps(value))


def expected_objects(case: dict[str, Any]) -> list[dict[str, Any]]:
    """The fixture's ``visible``: each object as it was sent, strokes with ``points``."""
    sent = {}
    for step in case["steps"]:
        if "op" in step and "refused" not in step:
            sent[step["op"]["id"]] = step["op"]
    points = case.get("points", {})
    objects = []
    for op_id in case["visible"]:
        op = dict(sent[op_id])
        if op_id in points:
            op["points"] = points[op_id]
        objects.append(op)
    return objects


async def run_through_rooms(
    case: dict[str, Any], codes: list[str | None] | None = None
) -> list[dict[str, Any]]:
    """Play the steps through the room logic; return the accepted BoardOps. With ``codes``,
    collect each op's error code (None: accepted) instead of checking ``refused``."""
    rooms = Rooms(MemoryStore())
    members: dict[str, str] = {}  # name -> member id
    sids: dict[str, str] = {}
    names = [case["host"], *sorted({s["by"] for s in case["steps"]} - {case["host"]})]
    names += sorted({s["handover"] for s in case["steps"] if "handover" in s} - set(names))
    room_id = ""
    for name in names:  # the host creates the room, the others join it
        who = Identity(user=name, name=name, key="")
        sids[name] = f"sid-{name}"
        if not room_id:
            joined = await rooms.create(who, sids[name], p.RoomCreate(title="conformance"))
            room_id = joined.room["id"]
        else:
            joined = await rooms.join(who, sids[name], p.RoomJoin(room_id=room_id))
        members[name] = joined.you["id"]
    for index, step in enumerate(case["steps"]):
        by = step["by"]
        where = f"step {index} ({step})"
        if "lock" in step or "handover" in step:
            fields: dict[str, Any] = {"room_id": room_id}
            if "lock" in step:
                fields["board_locked"] = step["lock"]
            else:
                fields["host"] = members[step["handover"]]
            await rooms.update(members[by], sids[by], p.decode(p.RoomUpdate, fields))
            continue
        req = p.decode(p.BoardOpSend, {"room_id": room_id, "op": step["op"]})
        try:
            await rooms.add_op(members[by], sids[by], req)
        except p.ProtocolError as refusal:
            if codes is not None:
                codes.append(refusal.code)
            else:
                assert step.get("refused") == refusal.code, f"{where}: {refusal.message}"
        else:
            if codes is not None:
                codes.append(None)
            else:
                assert "refused" not in step, f"{where} was accepted"
    board = await rooms.store.board(room_id)
    assert board.complete
    return board.ops


@pytest.mark.parametrize("path", FIXTURES, ids=[f.stem for f in FIXTURES])
async def test_the_server_shows_what_the_fixture_says(path: Path) -> None:
    case = load(path)
    accepted = await run_through_rooms(case)
    assert plain(visible_objects(accepted)) == expected_objects(case)


@pytest.mark.parametrize("path", FIXTURES, ids=[f.stem for f in FIXTURES])
def test_visible_objects_of_the_accepted_ops(path: Path) -> None:
    """board.py alone, on the ops as sent (what a client replica holds)."""
    case = load(path)
    ops = [s for s in case["steps"] if "op" in s and "refused" not in s]
    log = [{"seq": n, "author": s["by"], "ts": "", "op": s["op"]} for n, s in enumerate(ops, 1)]
    assert visible_objects(log) == expected_objects(case)


def test_fixtures_cover_every_op_type_and_refusal() -> None:
    steps = [step for path in FIXTURES for step in load(path)["steps"]]
    types = {step["op"]["type"] for step in steps if "op" in step and "refused" not in step}
    assert types == {"stroke", "extend", "shape", "text", "image", "erase", "clear", "undo"}
    refusals = {step["refused"] for step in steps if "refused" in step}
    assert refusals == {"forbidden", "not_found", "bad_request", "conflict"}


# --------------------------------------------------------------------------------------------
# random sequences: board.py against the compiled TypeScript model


class NodeModel:
    """The TypeScript board model in a Node process: one JSON op log in, one answer out."""

    def __init__(self, script: Path) -> None:
        self.process = subprocess.Popen(
            ["node", str(script)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )

    def ask(self, request: dict[str, Any]) -> dict[str, Any]:
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write(json.dumps(request) + "\n")
        self.process.stdin.flush()
        line = self.process.stdout.readline()
        assert line, "the node model stopped"
        return json.loads(line)

    def visible(self, log: list[dict[str, Any]], order: list[int]) -> dict[str, Any]:
        """What the model shows for ops applied each way it offers."""
        return self.ask({"ops": log, "order": order})

    def probe(self, probes: list[dict[str, Any]]) -> dict[str, Any]:
        """Whether clicks hit objects, and the arrow heads of shapes."""
        return self.ask({"probes": probes})

    def send(self, host: str, steps: list[dict[str, Any]]) -> dict[str, Any]:
        """The codes checkOp gives ops members try to send, and the board after."""
        return self.ask({"host": host, "steps": steps})

    def close(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()
        self.process.wait(timeout=10)


def compile_model(out: Path) -> Path:
    """Compile the model and its Node driver (only those files, so a half-written file
    elsewhere in the extension does not matter) into ``out``; the driver's path."""
    tsc = LABEXTENSION / "node_modules" / "typescript" / "bin" / "tsc"
    if shutil.which("node") is None or not tsc.exists():
        pytest.skip("needs node and the labextension's node_modules (jlpm install)")
    command = [
        "node", str(tsc), "--outDir", str(out), "--rootDir", str(LABEXTENSION),
        "--module", "commonjs", "--target", "ES2020", "--moduleResolution", "node",
        "--strict", "--skipLibCheck", "--types", "node", "--lib", "ES2020,DOM",
        str(LABEXTENSION / "test" / "model-driver.ts"),
    ]  # fmt: skip
    done = subprocess.run(command, cwd=LABEXTENSION, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    return out / "test" / "model-driver.js"


@pytest.fixture(scope="module")
def node_model(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NodeModel]:
    model = NodeModel(compile_model(tmp_path_factory.mktemp("model")))
    yield model
    model.close()


IDS = [f"o{i}" for i in range(8)]  # few ids: targets often name an op that exists
COLORS = st.sampled_from(["#000000", "#ff0000", "#00aa00"])
POINTS = st.lists(st.tuples(st.integers(-50, 50), st.integers(-50, 50)), min_size=1, max_size=3)
# Ops as the server stores them (defaults filled in), with ids and targets drawn from a
# small pool so that undo chains, erases of erased ops, extends of undone strokes, unknown
# targets and (beyond what the server lets through) reused ids all come up.
OPS = st.one_of(
    st.builds(lambda i, pts, c, tool: {"type": "stroke", "id": i, "points": pts, "color": c,
                                       "width": 3.0, "tool": tool},
              st.sampled_from(IDS), POINTS, COLORS, st.sampled_from(["pen", "highlighter"])),
    st.builds(lambda i, t, pts: {"type": "extend", "id": i, "target": t, "points": pts},
              st.sampled_from(IDS), st.sampled_from(IDS), POINTS),
    st.builds(lambda i, x: {"type": "shape", "id": i, "shape": "rect", "x1": x, "y1": 0,
                            "x2": 10, "y2": 10, "color": "#000000", "width": 1.0, "fill": None},
              st.sampled_from(IDS), st.integers(0, 9)),
    st.builds(lambda i: {"type": "text", "id": i, "x": 1.0, "y": 2.0, "text": i,
                         "color": "#000000", "size": 12.0}, st.sampled_from(IDS)),
    st.builds(lambda i, t: {"type": "erase", "id": i, "target": t},
              st.sampled_from(IDS), st.sampled_from(IDS)),
    st.builds(lambda i: {"type": "clear", "id": i}, st.sampled_from(IDS)),
    st.builds(lambda i, t: {"type": "undo", "id": i, "target": t},
              st.sampled_from(IDS), st.sampled_from(IDS)),
)  # fmt: skip


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ops=st.lists(OPS, max_size=30), data=st.data())
def test_random_sequences_show_the_same_in_python_and_typescript(
    node_model: NodeModel, ops: list[dict[str, Any]], data: st.DataObject
) -> None:
    log = [{"seq": n, "author": "m", "ts": "", "op": op} for n, op in enumerate(ops, 1)]
    # the order ops arrive in: the model holds early ones until the gap fills
    order = data.draw(st.permutations(range(len(log))))
    expected = plain(visible_objects(log))
    got = node_model.visible(log, list(order))
    assert got["applied"] == expected, "ops applied one by one in seq order"
    assert got["arrived"] == expected, "ops applied in the order they arrived"
    assert got["reset"] == expected, "a board loaded whole"
    assert got["function"] == expected, "visibleObjects()"
    assert got["pending"] == expected, "the last ops as pending"


def test_board_py_matches_on_a_known_case(node_model: NodeModel) -> None:
    """The driver answers for a case whose answer is known (so the property test above
    cannot pass by both sides returning nothing)."""
    stroke = {"type": "stroke", "id": "a", "points": [[0, 0]], "color": "#000000",
              "width": 1.0, "tool": "pen"}  # fmt: skip
    log = [
        {"seq": 1, "author": "m", "ts": "", "op": stroke},
        {"seq": 2, "author": "m", "ts": "", "op": {"type": "extend", "id": "e", "target": "a",
                                                   "points": [[1, 1]]}},
    ]  # fmt: skip
    got = node_model.visible(log, [1, 0])
    for way in ("applied", "arrived", "reset", "function", "pending"):
        assert got[way] == [{**stroke, "points": [[0, 0], [1, 1]]}], way


MEMBERS = st.sampled_from(["alice", "bob", "carol"])  # alice is the host


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps=st.lists(st.fixed_dictionaries({"by": MEMBERS, "op": OPS}), max_size=25))
def test_random_sends_are_judged_and_shown_alike(
    node_model: NodeModel, steps: list[dict[str, Any]]
) -> None:
    """Members send random ops: the room server and checkOp accept and refuse the same ones
    with the same codes, and the boards they leave show the same."""
    case = {"host": "alice", "steps": steps}
    codes: list[str | None] = []
    accepted = asyncio.run(run_through_rooms(case, codes))
    got = node_model.send("alice", steps)
    assert got["codes"] == codes
    assert got["visible"] == plain(visible_objects(accepted))


COORD = st.integers(-60, 260)
SIZE = st.sampled_from([1.0, 2.5, 4.0, 16.0])
DRAWN = st.one_of(
    st.builds(lambda pts, w: {"type": "stroke", "id": "s", "points": pts, "color": "#000000",
                              "width": w, "tool": "pen"},
              st.lists(st.tuples(COORD, COORD), min_size=1, max_size=4), SIZE),
    st.builds(lambda kind, x1, y1, x2, y2, w, fill: {
        "type": "shape", "id": "sh", "shape": kind, "x1": x1, "y1": y1, "x2": x2, "y2": y2,
        "color": "#000000", "width": w, "fill": fill},
        st.sampled_from(["line", "rect", "ellipse", "arrow"]), COORD, COORD, COORD, COORD, SIZE,
        st.sampled_from([None, "#ffffff"])),
    st.builds(lambda x, y, text, size: {"type": "text", "id": "t", "x": x, "y": y, "text": text,
                                        "color": "#000000", "size": size},
              COORD, COORD, st.text("aé€😀 ", min_size=1, max_size=6), st.sampled_from([4.0, 20.0])),
    st.builds(lambda x, y, w, h: {"type": "image", "id": "i", "x": x, "y": y, "w": w, "h": h,
                                  "src": "data:image/png;base64,AA=="},
              COORD, COORD, st.integers(1, 90), st.integers(1, 90)),
)  # fmt: skip


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(probes=st.lists(st.fixed_dictionaries({"object": DRAWN, "x": COORD, "y": COORD}),
                       min_size=1, max_size=40))  # fmt: skip
def test_clicks_hit_the_same_objects_in_python_and_typescript(
    node_model: NodeModel, probes: list[dict[str, Any]]
) -> None:
    """The eraser picks the same object in the browser as on the kernel-drawn board, and
    arrows get the same heads."""
    got = node_model.probe(probes)
    assert got["hits"] == [hits(p["object"], p["x"], p["y"]) for p in probes]
    for probe, head in zip(probes, got["heads"], strict=True):
        o = probe["object"]
        if o["type"] == "shape":
            expected = arrow_head(o["x1"], o["y1"], o["x2"], o["y2"], o["width"])
            flat = [c for point in expected for c in point]
            assert [c for point in head for c in point] == pytest.approx(flat, abs=1e-9)
