"""A throwaway JupyterLab for the browser tests: its own port, token, notebooks and settings.

Loopback only; every wait is bounded; the process group is killed at the end.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from jupyter_classroom.names import LABEXTENSION

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = ROOT / "notebooks"
START_TIMEOUT = 90.0  # seconds for JupyterLab to answer

# Settings a fresh user would not notice but which make runs deterministic: no news toast
# over the notebook, no autosave racing the reload step.
LAB_SETTINGS = {
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {"fetchNews": "false"},
    "@jupyterlab/docmanager-extension/plugin.jupyterlab-settings": {"autosave": False},
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Lab:
    url: str  # http://127.0.0.1:PORT/
    token: str
    root_dir: Path
    process: subprocess.Popen[bytes]
    log_path: Path

    def notebook_url(self, name: str, workspace: str) -> str:
        """The notebook in its own workspace, so two people's pages don't restore each other's tabs."""
        return f"{self.url}lab/workspaces/{workspace}/tree/{name}?token={self.token}"

    def log_tail(self, chars: int = 4000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return ""


def _answers(url: str, token: str) -> bool:
    request = urllib.request.Request(
        f"{url}api/status", headers={"Authorization": f"token {token}"}
    )
    try:
        with urllib.request.urlopen(request, timeout=2) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def start_lab(
    workdir: Path,
    log_path: Path,
    jupyter: Path | None = None,
    disabled: tuple[str, ...] = (),
    base_env: dict[str, str] | None = None,
    server_args: tuple[str, ...] = (),
) -> Lab:
    """Start JupyterLab on a copy of notebooks/ and wait until it answers (``jupyter``: the
    command of another environment, such as a clean venv with the built wheel, run in
    ``base_env``; ``disabled``: lab extensions disabled, as ``jupyter labextension disable``
    does, in a config dir of this Lab's own; ``server_args``: more command-line options, such
    as ``--ClassroomApp.video_mode=sfu``)."""
    root_dir = workdir / "notebooks"
    shutil.copytree(
        NOTEBOOKS, root_dir, ignore=shutil.ignore_patterns(".ipynb_checkpoints", "*.png")
    )
    settings_dir = workdir / "lab-settings"
    for relative, values in LAB_SETTINGS.items():
        path = settings_dir / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values))
    env = {
        **(os.environ if base_env is None else base_env),
        "JUPYTERLAB_SETTINGS_DIR": str(settings_dir),
        "JUPYTERLAB_WORKSPACES_DIR": str(workdir / "lab-workspaces"),
        "JUPYTER_RUNTIME_DIR": str(workdir / "runtime"),
    }
    if disabled:
        page_config = workdir / "jupyter-config" / "labconfig" / "page_config.json"
        page_config.parent.mkdir(parents=True, exist_ok=True)
        page_config.write_text(json.dumps({"disabledExtensions": dict.fromkeys(disabled, True)}))
        env["JUPYTER_CONFIG_DIR"] = str(page_config.parent.parent)
    extra: list[str] = []
    if jupyter is None:
        # This tree's venv: serve the extension as built from this tree (labextension/ ->
        # jupyter_classroom/labextension), ahead of the copy the editable install put in
        # share/jupyter/labextensions when it was made. Another environment serves its own.
        extensions = workdir / "labextensions"
        extensions.mkdir(exist_ok=True)
        (extensions / LABEXTENSION).symlink_to(ROOT / "jupyter_classroom" / "labextension")
        # Notebook 7 (same server, /tree and /notebooks) lists extensions on its own path.
        extra += [f"--{app}.extra_labextensions_path={extensions}"
                  for app in ("LabApp", "JupyterNotebookApp")]  # fmt: skip
        jupyter = Path(sys.executable).parent / "jupyter"
    port, token = free_port(), secrets.token_hex(24)
    command = [
        str(jupyter), "lab", "--no-browser", "--allow-root",
        "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}", "--ServerApp.port_retries=0",
        f"--ServerApp.token={token}", f"--ServerApp.root_dir={root_dir}",
        "--LabApp.check_for_updates_class=jupyterlab.handlers.announcements.NeverCheckForUpdate",
        *extra,
        *server_args,
    ]  # fmt: skip
    log = log_path.open("wb")
    process = subprocess.Popen(
        command, cwd=workdir, env=env, stdout=log, stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    log.close()
    lab = Lab(f"http://127.0.0.1:{port}/", token, root_dir, process, log_path)
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"JupyterLab exited with {process.returncode}:\n{lab.log_tail()}")
        if _answers(lab.url, token):
            return lab
        time.sleep(0.25)
    stop_lab(lab)
    raise TimeoutError(f"JupyterLab did not answer in {START_TIMEOUT:.0f} s:\n{lab.log_tail()}")


def stop_lab(lab: Lab, grace: float = 10.0) -> None:
    """SIGTERM the server's process group (server and kernels), then SIGKILL what is left."""
    if lab.process.poll() is None:
        try:
            os.killpg(lab.process.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            lab.process.wait(grace)
        except subprocess.TimeoutExpired:
            pass
    try:  # kernels live in the same session/process group
        os.killpg(lab.process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    lab.process.wait(5)
