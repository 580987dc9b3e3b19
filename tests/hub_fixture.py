"""A real JupyterHub on loopback, with the classroom as a managed service, for tests.

Two users: ``teacher`` (in the ``instructors`` group) and ``student``; single-user servers
spawned as local processes (``SimpleLocalProcessSpawner``, ``--allow-root``); the proxy is
configurable-http-proxy from npm; a test-only service ``driver`` holds an admin-ish token to
start servers and mint user tokens. Everything lives in one temporary directory.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import textwrap
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

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


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Hub:
    root: Path
    public: str  # http://127.0.0.1:port (the proxy)
    driver_token: str
    process: subprocess.Popen[bytes] | None = None
    tokens: dict[str, str] = field(default_factory=dict)  # user -> a token of theirs

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


def write_config(root: Path, chp: str, ports: dict[str, int], driver_token: str) -> Path:
    public = f"http://127.0.0.1:{ports['public']}"
    service_cmd = [sys.executable, "-c", "from jupyter_classroom.server.app import main; main()"]
    script = shutil.which("jupyter-classroom", path=str(Path(sys.executable).parent))
    if script:
        service_cmd = [script]  # the console script the docs tell people to run
    home = root / "home"
    service_home = root / "service"
    for path in (home, service_home):
        path.mkdir(parents=True, exist_ok=True)
    config = f"""
        import sys
        c = get_config()  # noqa
        c.JupyterHub.bind_url = {public + "/"!r}
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

        c.JupyterHub.services = [
            {{
                "name": {SERVICE!r},
                "url": "http://127.0.0.1:{ports["service"]}",
                "command": {[*service_cmd, "--allow-root"]!r},
                "cwd": "{service_home}",
                "environment": {{
                    "HOME": "{service_home}",
                    "JUPYTER_CONFIG_DIR": "{service_home / "config"}",
                    "JUPYTER_RUNTIME_DIR": "{service_home / "runtime"}",
                }},
                "oauth_no_confirm": True,
            }},
            {{"name": "driver", "api_token": {driver_token!r}}},
        ]
        c.JupyterHub.load_roles = [
            # every user may use the classroom service (browser OAuth and tokens)
            {{"name": "user", "scopes": ["self", "access:services!service={SERVICE}"]}},
            {{
                "name": "driver",
                "services": ["driver"],
                "scopes": ["admin:users", "admin:servers", "tokens"],
            }},
        ]

        c.JupyterHub.spawner_class = "simple"
        c.SimpleLocalProcessSpawner.home_dir_template = "{home}/{{username}}"
        c.Spawner.cmd = [sys.executable, "-m", "jupyterhub.singleuser"]
        c.Spawner.args = ["--allow-root"]
        c.Spawner.start_timeout = 90
        c.Spawner.http_timeout = 90
        c.Spawner.environment = {{"JUPYTER_CLASSROOM_URL": {public + f"/services/{SERVICE}/"!r}}}
        # the kernels' $JUPYTERHUB_API_TOKEN, and the browser's token, may use the service
        c.Spawner.server_token_scopes = [
            "users:activity!user",
            "access:servers!server",
            "access:services!service={SERVICE}",
        ]
        c.Spawner.oauth_client_allowed_scopes = ["access:services!service={SERVICE}"]
    """
    path = root / "jupyterhub_config.py"
    path.write_text(textwrap.dedent(config))
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
