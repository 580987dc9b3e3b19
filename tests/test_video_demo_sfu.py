"""notebooks/video_demo.ipynb through a real Janus: the same notebook, run (nbclient) against
a server whose rooms' video goes through the SFU (``video_mode = "sfu"``), shows the same.

Janus gathers no loopback candidates, so it runs in a network namespace the test makes
(tests/netns.py, as tests/test_sfu.py does); the notebook's kernel, a child of the test
process, reaches it over the veth."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .netns import Namespace, veth_namespace
from .test_notebooks import VIDEO_DEMO, check_video_demo, run_notebook

pytestmark = pytest.mark.timeout(300)


@pytest.fixture(scope="module")
def namespace() -> Iterator[Namespace]:
    with veth_namespace("nb") as ns:
        yield ns


@pytest.fixture
def classroom_config(namespace: Namespace) -> dict[str, Any]:
    return namespace.sfu_config((42000, 42999))


async def test_video_demo_through_the_sfu(server: Any, tmp_path: Path) -> None:
    notebook = await run_notebook(VIDEO_DEMO, tmp_path)
    # "(sfu)": the peers were SfuPeers, which send and receive through Janus only
    check_video_demo(notebook, "sfu")
