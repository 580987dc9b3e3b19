"""A real JupyterHub on loopback, with the classroom as a managed service, for tests.

Configured from the ``jupyterhub_config.py`` block of docs/jupyterhub.md: its classroom part
as it stands, its site part replaced by this module's loopback one (see :func:`write_config`).
Two users: ``teacher`` (in the ``instructors`` group) and ``student``; single-user servers
spawned as local processes (``SimpleLocalProcessSpawner``, ``--allow-root``); the proxy is
configurable-http-proxy from npm; a test-only service ``driver`` holds an admin-ish token to
start servers and mint user tokens. Everything lives in one temporary directory.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jupyter_classroom.names import LABEXTENSION

from .helpers import free_port

REPO = Path(__file__).resolve().parent.parent
CHP_ENV = "CONFIGURABLE_HTTP_PROXY"  # path of the configurable-http-proxy executable
CHP_CANDIDATES = (
    REPO / ".venv" / "chp" / "node_modules" / ".bin" / "configurable-http-proxy",
    REPO / "node_modules" / ".bin" / "configurable-http-proxy",
)
SERVICE = "classroom"
USERS = ("teacher", "student")
GROUP = "instructors"
PASSWORD = "classroom-test"  # DummyAuthenticator's, for every user


def find_chp() -> str | None:
    """The configurable-http-proxy executable: $CONFIGURABLE_HTTP_PROXY, the project's npm
    install (.venv/chp, see the Makefile), or PATH."""
    if os.environ.get(CHP_ENV):
        return shutil.which(os.environ[CHP_ENV])
    for candidate in CHP_CANDIDATES:
        if candidate.exists():
            return str(candidate)
    return shutil.which("configurable-http-proxy")


def missing_dependency() -> str | None:
    """What a hub test lacks, or None."""
    try:
        import jupyterhub  # noqa: F401
    except ImportError:
        return "jupyterhub is not installed (pip install jupyterhub)"
    if find_chp() is None:
        return (
            "configurable-http-proxy is not installed (npm install --prefix .venv/chp "
            f"configurable-http-proxy, or set ${CHP_ENV})"
        )
    if shutil.which("node") is None:
        return "node is not installed (configurable-http-proxy needs it)"
    return None


@dataclass
class Hub:
    root: Path
    public: str  # http://127.0.0.1:port (the proxy)
    driver_token: str
    process: subprocess.Popen[bytes] | None = None
    tokens: dict[str, str] = field(default_factory=dict)  # user -> a token of theirs (all scopes)
    # user -> a token of theirs limited to the classroom service (what kernels and pages send)
    classroom_tokens: dict[str, str] = field(default_factory=dict)

    @property
    def log(self) -> str:
        try:
            return (self.root / "hub.log").read_text(errors="replace")[-6000:]
        except OSError:
            return ""

    @property
    def service_url(self) -> str:
        return f"{self.public}/services/{SERVICE}/"

    def api(self, method: str, path: str, body: Any = None, token: str | None = None) -> Any:
        """Call the hub's REST API (as the driver service unless ``token``)."""
        request = urllib.request.Request(
            f"{self.public}/hub/api{path}",
            method=method,
            data=None if body is None else json.dumps(body).encode(),
            headers={"Authorization": f"token {token or self.driver_token}"},
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            text = response.read()
        return json.loads(text) if text else None

    def wait(self, what: str, check: Any, timeout: float) -> Any:
        deadline = time.monotonic() + timeout
        while True:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(f"the hub exited while waiting for {what}:\n{self.log}")
            try:
                result = check()
            except (OSError, urllib.error.URLError, ValueError, KeyError):
                result = None
            if result:
                return result
            if time.monotonic() > deadline:
                raise TimeoutError(f"no {what} in {timeout} s:\n{self.log}")
            time.sleep(0.25)

    def start_server(self, user: str) -> None:
        self.api("POST", f"/users/{user}/server")

    def wait_server(self, user: str, timeout: float = 90) -> None:
        def ready() -> bool:
            server = self.api("GET", f"/users/{user}")["servers"].get("", {})
            return bool(server.get("ready"))

        self.wait(f"server of {user}", ready, timeout)


DOC = REPO / "docs" / "jupyterhub.md"
DOC_BLOCK_START = "# jupyterhub_config.py"
SITE_MARK = "# --- your site"
CLASSROOM_MARK = "# --- the classroom"
# What the doc's site part defines for the classroom part; the test's site part defines the
# same (test_hub.py fails if the doc's site part comes to define other names).
SITE_NAMES = frozenset({"PUBLIC_URL", "CLASSROOM_PORT", "CLASSROOM_DIR"})


@dataclass(frozen=True)
class DocConfig:
    """docs/jupyterhub.md's ``jupyterhub_config.py``, in its three parts."""

    head: str  # imports and `c = get_config()`
    site: str  # the site's settings (replaced by the test's loopback ones)
    classroom: str  # the classroom: copied as is

    def site_names(self) -> set[str]:
        return _assigned_names(self.site)

    def free_names(self) -> set[str]:
        """Names the classroom part uses without defining them (from head or site)."""
        import ast
        import builtins

        tree = ast.parse(self.classroom)
        used = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
        defined = _assigned_names(self.classroom) | _assigned_names(self.head) | {"c"}
        return used - defined - set(dir(builtins))


def _assigned_names(source: str) -> set[str]:
    import ast

    names: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update((a.asname or a.name).split(".")[0] for a in node.names)
    return names


def doc_config(doc: Path = DOC) -> DocConfig:
    """The config block of docs/jupyterhub.md, split at its ``# ---`` marks."""
    import re

    blocks = re.findall(r"```python\n(.*?)```", doc.read_text(), re.S)
    found = [b for b in blocks if b.startswith(DOC_BLOCK_START)]
    if len(found) != 1:
        raise AssertionError(f"{doc}: expected one ```python block starting {DOC_BLOCK_START!r}")
    block = found[0]
    if SITE_MARK not in block or CLASSROOM_MARK not in block:
        raise AssertionError(
            f"{doc}: the config block lost its {SITE_MARK!r} / {CLASSROOM_MARK!r} marks"
        )
    head, rest = block.split(SITE_MARK, 1)
    site, classroom = rest.split(CLASSROOM_MARK, 1)
    return DocConfig(head, SITE_MARK + site, CLASSROOM_MARK + classroom)


def write_config(root: Path, chp: str, ports: dict[str, int], driver_token: str) -> Path:
    """docs/jupyterhub.md's config with this test's site part (loopback, DummyAuthenticator,
    local processes, a temporary directory) in place of the doc's, plus a test-only
    ``driver`` service. The classroom part is the doc's, unchanged."""
    doc = doc_config()
    if doc.site_names() - {"c"} != SITE_NAMES:
        raise AssertionError(
            f"docs/jupyterhub.md's site part defines {sorted(doc.site_names())}; the hub tests "
            f"substitute {sorted(SITE_NAMES)}: update tests/hub_fixture.py with the doc"
        )
    if not doc.free_names() <= SITE_NAMES:
        raise AssertionError(
            f"docs/jupyterhub.md's classroom part needs {sorted(doc.free_names())}, "
            f"not all defined by the site part {sorted(SITE_NAMES)}"
        )
    public = f"http://127.0.0.1:{ports['public']}"
    home = root / "home"
    classroom_dir = root / "classroom"
    for path in (home, *(classroom_dir / d for d in ("config", "data", "runtime"))):
        path.mkdir(parents=True, exist_ok=True)  # as the doc says to
    if os.geteuid() == 0:  # as the doc says for a hub run as root
        (classroom_dir / "config" / "jupyter_server_config.py").write_text(
            "c.ServerApp.allow_root = True\n"
        )
    site = f"""
# --- the test's site (in place of the doc's) ---------------------------------------------------
import sys

PUBLIC_URL = {public!r}
CLASSROOM_PORT = {ports["service"]}
CLASSROOM_DIR = {str(classroom_dir)!r}

c.JupyterHub.bind_url = PUBLIC_URL + "/"
c.JupyterHub.public_url = PUBLIC_URL
c.JupyterHub.hub_bind_url = "http://127.0.0.1:{ports["hub"]}"
c.JupyterHub.db_url = "sqlite:///{root / "jupyterhub.sqlite"}"
c.JupyterHub.cookie_secret_file = "{root / "cookie_secret"}"
c.JupyterHub.pid_file = "{root / "hub.pid"}"
c.JupyterHub.cleanup_servers = True
c.JupyterHub.cleanup_proxy = True
c.JupyterHub.log_level = "INFO"
c.ConfigurableHTTPProxy.command = [{chp!r}]
c.ConfigurableHTTPProxy.api_url = "http://127.0.0.1:{ports["proxy_api"]}"
c.ConfigurableHTTPProxy.pid_file = "{root / "proxy.pid"}"
c.ConfigurableHTTPProxy.should_start = True

c.JupyterHub.authenticator_class = "dummy"
c.DummyAuthenticator.password = {PASSWORD!r}
c.Authenticator.allowed_users = {set(USERS)!r}
c.JupyterHub.load_groups = {{{GROUP!r}: {{"users": ["teacher"]}}}}

c.JupyterHub.spawner_class = "simple"
c.SimpleLocalProcessSpawner.home_dir_template = "{home}/{{username}}"
c.Spawner.cmd = [sys.executable, "-m", "jupyterhub.singleuser"]
c.Spawner.args = ["--allow-root"] if {os.geteuid() == 0} else []
c.Spawner.default_url = "/lab"
c.Spawner.start_timeout = 90
c.Spawner.env_keep.append("JUPYTER_PATH")  # the tree's own labextension build: see start_hub
c.Spawner.http_timeout = 90

"""
    driver = f"""
# --- test only: a service that starts servers and mints tokens for the test -------------------
c.JupyterHub.services.append({{"name": "driver", "api_token": {driver_token!r}}})
c.JupyterHub.load_roles.append(
    {{"name": "driver", "services": ["driver"], "scopes": ["admin:users", "admin:servers", "tokens"]}}
)
"""
    path = root / "jupyterhub_config.py"
    path.write_text(doc.head + site + doc.classroom + driver)
    return path


def start_hub(root: Path) -> Hub:
    chp = find_chp()
    assert chp is not None
    ports = {name: free_port() for name in ("public", "hub", "proxy_api", "service")}
    driver_token = os.urandom(16).hex()
    config = write_config(root, chp, ports, driver_token)
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("JUPYTERHUB_", "JUPYTER_CLASSROOM_", "JPY_")) and k != "JUPYTER_TOKEN"
    }
    # Users' JupyterLab serves the labextension as built in this tree
    # (jupyter_classroom/labextension, what an install copies): an editable install's copy in
    # the environment is as old as the install, and the test must run the code under test.
    built = REPO / "jupyter_classroom" / "labextension"
    if (built / "package.json").exists():
        jupyter_path = root / "jupyter-path"
        (jupyter_path / "labextensions").mkdir(parents=True, exist_ok=True)
        link = jupyter_path / "labextensions" / LABEXTENSION
        if not link.exists():
            link.symlink_to(built, target_is_directory=True)
        env["JUPYTER_PATH"] = str(jupyter_path)
    node_bin = str(Path(shutil.which("node") or "/usr/bin/node").parent)
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), node_bin, env.get("PATH", "")])
    hub = Hub(root=root, public=f"http://127.0.0.1:{ports['public']}", driver_token=driver_token)
    with open(root / "hub.log", "wb") as log:
        hub.process = subprocess.Popen(
            [sys.executable, "-m", "jupyterhub", "-f", str(config)],
            cwd=root,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    try:
        hub.wait("hub API", lambda: hub.api("GET", "/") is not None, 90)
        for user in USERS:
            hub.tokens[user] = hub.api(
                "POST", f"/users/{user}/tokens", {"note": "classroom test", "expires_in": 900}
            )["token"]
            hub.classroom_tokens[user] = hub.api(
                "POST",
                f"/users/{user}/tokens",
                {
                    "note": "classroom test, classroom only",
                    "expires_in": 900,
                    "scopes": [f"access:services!service={SERVICE}"],
                },
            )["token"]
    except BaseException:
        stop_hub(hub)
        raise
    return hub


def stop_hub(hub: Hub) -> None:
    """Stop the hub and everything it started (services, proxy, servers, kernels), all at
    once: each Jupyter server shuts its own kernels down on SIGTERM."""
    process = hub.process
    if process is None:
        return
    import psutil

    try:
        hub_process = psutil.Process(process.pid)
        processes = [hub_process, *hub_process.children(recursive=True)]
    except psutil.Error:
        processes = []
    for each in processes:
        try:
            each.terminate()
        except psutil.Error:
            pass
    _, alive = psutil.wait_procs(processes, timeout=15)
    for each in alive:  # by pid, only what this hub started
        try:
            each.kill()
        except psutil.Error:
            pass
    try:
        process.wait(5)
    except subprocess.TimeoutExpired:
        pass
