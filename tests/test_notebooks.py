"""Every notebook in notebooks/ runs top to bottom against a real server (nbclient); what
notebooks/video_demo.ipynb shows is checked too (here in a mesh room;
tests/test_video_demo_sfu.py runs it through a real Janus)."""

from __future__ import annotations

import base64
import io
import re
from pathlib import Path
from typing import Any

import nbformat
import numpy as np
import pytest
from nbclient import NotebookClient
from PIL import Image

NOTEBOOK_DIR = Path(__file__).parent.parent / "notebooks"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("*.ipynb"))
VIDEO_DEMO = NOTEBOOK_DIR / "video_demo.ipynb"

# the colour bars of TestPatternTrack (jupyter_classroom/media/tracks.py)
BARS = [(255, 255, 255), (255, 255, 0), (0, 255, 255), (0, 255, 0),
        (255, 0, 255), (255, 0, 0), (0, 0, 255), (0, 0, 0)]  # fmt: skip


async def run_notebook(path: Path, tmp_path: Path) -> Any:
    """The notebook, executed (its outputs filled in); no cell may end in an error."""
    notebook = nbformat.read(path, as_version=4)
    # The kernel inherits JUPYTER_CLASSROOM_URL/TOKEN, which the running server exported.
    client = NotebookClient(
        notebook,
        timeout=120,
        kernel_name="python3",
        resources={"metadata": {"path": str(tmp_path)}},
    )
    await client.async_execute()
    outputs = [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    return notebook


def cell_text(cell: Any) -> str:
    return "".join(o.text for o in cell.outputs if o.output_type == "stream")


def cell_image(cell: Any) -> np.ndarray:
    (png,) = [o.data["image/png"] for o in cell.outputs if "image/png" in o.get("data", {})]
    return np.asarray(Image.open(io.BytesIO(base64.b64decode(png))).convert("RGB"))


def code_cell(notebook: Any, starts: str) -> Any:
    (cell,) = [c for c in notebook.cells if c.cell_type == "code" and c.source.startswith(starts)]
    return cell


def check_video_demo(notebook: Any, mode: str) -> None:
    """What the demo showed: the room's mode, real successive frames, the colour bars as the
    student saw them, the live plot, the recording."""
    assert f"({mode})" in cell_text(code_cell(notebook, "camera = video_peer"))
    counted = re.search(
        r"(\d+) frames received; frame numbers went from (\d+) to (\d+)",
        cell_text(code_cell(notebook, "received = viewer.wait_frames")),
    )
    assert counted, notebook
    frames, first, last = (int(g) for g in counted.groups())
    assert frames >= 45 and last > first
    # the student's picture: every colour bar of the pattern, within codec tolerance
    seen = cell_image(code_cell(notebook, "from PIL import Image"))
    assert seen.shape == (240, 320, 3)
    row = seen[180].astype(int)
    for bar in BARS:
        assert np.abs(row - bar).max(axis=1).min() < 50, (bar, row[::10])
    plot = cell_image(code_cell(notebook, "import numpy as np"))
    assert plot.shape == (240, 320, 3) and plot.mean() > 180  # the white figure
    recorded = re.search(
        r"lesson\.mp4: (\d+) frames of 320x240", cell_text(code_cell(notebook, "import av"))
    )
    assert recorded and int(recorded.group(1)) >= 10


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
async def test_notebook_runs(server: Any, path: Path, tmp_path: Path) -> None:
    notebook = await run_notebook(path, tmp_path)
    if path == VIDEO_DEMO:
        check_video_demo(notebook, "mesh")
