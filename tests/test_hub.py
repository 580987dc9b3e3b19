"""JupyterHub service mode, end to end: a real hub configured from docs/jupyterhub.md (the
classroom as its managed service), real single-user servers and kernels. The teacher's kernel
creates a room, the student's kernel (on the student's own server) finds and joins it; hub
identities decide who may do what; nothing gets in without a hub token limited to the
classroom, and the service refuses tokens that could enter users' servers.

Needs jupyterhub (pip) and configurable-http-proxy (npm): skipped, naming what is missing,
without them. Plus unit tests of the pieces that need no hub.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import aiohttp
import pytest
import socketio
from yarl import URL

from jupyter_classroom.client.connection import Connection
from jupyter_classroom.policy import HubPolicy

from .hub_fixture import PASSWORD, SERVICE, USERS, Hub, missing_dependency, start_hub, stop_hub
from .peers import ServerInfo

MISSING = missing_dependency()
needs_hub = pytest.mark.skipif(MISSING is not None, reason=f"JupyterHub test: {MISSING}")

SOCKET_PATH = f"/services/{SERVICE}/classroom/socket.io"


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hub]:
    if MISSING is not None:
        pytest.skip(f"JupyterHub test: {MISSING}")
    hub = start_hub(tmp_path_factory.mktemp("hub"))
    try:
        yield hub
    finally:
        stop_hub(hub)


class Kernel:
    """A kernel on a user's single-user server, driven over the server's REST API and the
    kernel websocket (through the hub's proxy, with the user's token)."""

    def __init__(self, hub: Hub, user: str, session: aiohttp.ClientSession) -> None:
        self.base = f"{hub.public}/user/{user}/api/kernels"
        self.headers = {"Authorization": f"token {hub.tokens[user]}"}
        self.http = session
        self.session_id = uuid.uuid4().hex
        self.ws: aiohttp.ClientWebSocketResponse | None = None

    async def start(self) -> None:
        async with self.http.post(self.base, headers=self.headers, json={"name": "python3"}) as r:
            assert r.status == 201, await r.text()
            self.id = (await r.json())["id"]
        url = f"{self.base}/{self.id}/channels".replace("http://", "ws://")
        self.ws = await self.http.ws_connect(url, headers=self.headers, max_msg_size=0)
        await self._request("kernel_info_request", {}, timeout=60)

    async def stop(self) -> None:
        if self.ws is not None:
            await self.ws.close()
        async with self.http.delete(f"{self.base}/{self.id}", headers=self.headers):
            pass

    async def _request(self, msg_type: str, content: dict[str, Any], timeout: float) -> str:
        assert self.ws is not None
        msg_id = uuid.uuid4().hex
        await self.ws.send_str(
            json.dumps(
                {
                    "header": {
                        "msg_id": msg_id,
                        "msg_type": msg_type,
                        "session": self.session_id,
                        "username": "test",
                        "version": "5.3",
                        "date": "2026-01-01T00:00:00Z",
                    },
                    "parent_header": {},
                    "metadata": {},
                    "content": content,
                    "channel": "shell",
                    "buffers": [],
                }
            )
        )
        out: list[str] = []
        replied = idle = False
        error: dict[str, Any] | None = None
        deadline = time.monotonic() + timeout  # (asyncio.timeout needs Python 3.11)
        while not (replied and idle):
            msg = await self.ws.receive(timeout=max(0.1, deadline - time.monotonic()))
            if msg.type != aiohttp.WSMsgType.TEXT:
                raise RuntimeError(f"kernel websocket closed: {msg}")
            data = json.loads(msg.data)
            if data.get("parent_header", {}).get("msg_id") != msg_id:
                continue
            kind = data["header"]["msg_type"]
            if kind == "stream":
                out.append(data["content"]["text"])
            elif kind == "error":
                error = data["content"]
            elif kind == "status" and data["content"]["execution_state"] == "idle":
                idle = True
            elif kind.endswith("_reply"):
                replied = True
        if error is not None:
            raise AssertionError("\n".join([*error["traceback"], *out]))
        return "".join(out)

    async def run(self, code: str, timeout: float = 45) -> Any:
        """Run ``code``; its last printed line is JSON: return it parsed."""
        output = await self._request(
            "execute_request",
            {
                "code": code,
                "silent": False,
                "store_history": False,
                "user_expressions": {},
                "allow_stdin": False,
                "stop_on_error": True,
            },
            timeout,
        )
        return json.loads(output.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def servers(hub: Hub) -> Hub:
    """Both users' single-user servers, spawned through the hub API (at once)."""
    for user in USERS:
        hub.start_server(user)
    for user in USERS:
        hub.wait_server(user)
    return hub


@pytest.fixture
async def kernels(servers: Hub) -> AsyncIterator[dict[str, Kernel]]:
    hub = servers
    async with aiohttp.ClientSession() as http:
        started: dict[str, Kernel] = {}
        try:
            for user in USERS:
                started[user] = Kernel(hub, user, http)
            await asyncio.gather(*(k.start() for k in started.values()))
            yield started
        finally:
            for kernel in started.values():
                try:
                    await kernel.stop()
                except Exception:
                    pass


WAIT_FOR = """
def wait_for(check, timeout=20):
    deadline = time.time() + timeout
    while not check():
        if time.time() > deadline:
            raise TimeoutError("condition never held")
        time.sleep(0.05)
"""


@needs_hub
async def test_kernels_share_the_hub_service(hub: Hub, kernels: dict[str, Kernel]) -> None:
    teacher, student = kernels["teacher"], kernels["student"]

    # Each kernel is pointed at the service by the spawner's environment; the local extension
    # in each single-user server did not put its own URL or token over it.
    setup = (
        "import json, os, time\nfrom jupyter_classroom import Client, ClassroomError\n" + WAIT_FOR
    )
    env = "print(json.dumps([os.environ.get('JUPYTER_CLASSROOM_URL'), 'JUPYTER_CLASSROOM_TOKEN' in os.environ, os.environ.get('JUPYTER_CLASSROOM_HUB_TOKEN')]))"
    for user, kernel in kernels.items():
        url, kernel_token, classroom_token = await kernel.run(setup + env)
        assert (url, kernel_token) == (hub.service_url, False)
        # the hub minted this server a token of its user that can use the classroom and
        # nothing else: no access to any Jupyter server (issue 16, item 8)
        model = hub.api("GET", "/user", token=classroom_token)
        assert model["name"] == user
        assert f"access:services!service={SERVICE}" in model["scopes"]
        assert not [s for s in model["scopes"] if "servers" in s or s.startswith("tokens")]

    created = await teacher.run(
        "c = Client()\n"
        "room = c.create_room('Hub room', password='pw')\n"
        "print(json.dumps({'id': room.id, 'you': room.you}))"
    )
    room_id = created["id"]
    assert created["you"]["name"] == "teacher"  # the hub username
    assert created["you"]["role"] == "host"

    joined = await student.run(
        "s = Client(name='Teacher')\n"  # a chosen name: the service shows the hub name
        "rooms = s.list_rooms()\n"
        "room_id = next(r['id'] for r in rooms if r['title'] == 'Hub room')\n"
        "def code(call):\n"
        "    try:\n"
        "        call()\n"
        "        return 'ok'\n"
        "    except ClassroomError as e:\n"
        "        return e.code\n"
        "wrong = code(lambda: s.join(room_id, password='nope'))\n"
        "create = code(lambda: s.create_room('Mine'))\n"
        "room = s.join(room_id, password='pw')\n"
        "s.say('hello from student')\n"
        "s.op({'type': 'stroke', 'points': [[1, 2], [30, 40]], 'color': '#ff0000', 'width': 3, 'tool': 'pen'})\n"
        "print(json.dumps({'id': room_id, 'wrong': wrong, 'create': create, 'you': room.you,\n"
        "                  'members': sorted(m['name'] for m in room.members.values())}))"
    )
    assert joined["id"] == room_id
    assert joined["wrong"] == "bad_password"
    assert joined["create"] == "forbidden"  # not in the instructors group
    assert joined["you"]["name"] == "student"  # not 'Teacher': hub names by default
    assert joined["members"] == ["student", "teacher"]

    seen_by_teacher = await teacher.run(
        "wait_for(lambda: any(m['text'] == 'hello from student' for m in c.room.chat) and c.room.ops)\n"
        "c.say('hello from teacher')\n"
        "c.op({'type': 'text', 'x': 10, 'y': 20, 'text': 'x = 1', 'color': '#000000', 'size': 16})\n"
        "announce = 'ok'\n"
        "try:\n"
        "    c.request('server:announce', {'text': 'hi'})\n"
        "except ClassroomError as e:\n"
        "    announce = e.code\n"
        "print(json.dumps({'chat': [m['text'] for m in c.room.chat],\n"
        "                  'ops': [o['op']['type'] for o in c.room.ops], 'announce': announce}))"
    )
    assert seen_by_teacher["chat"] == ["hello from student", "hello from teacher"]
    assert seen_by_teacher["ops"] == ["stroke", "text"]
    assert seen_by_teacher["announce"] == "forbidden"  # an instructor, not a hub admin

    seen_by_student = await student.run(
        "wait_for(lambda: len(s.room.ops) == 2 and len(s.room.chat) == 2)\n"
        "close = code(lambda: s.request('room:close', {'room_id': room_id}))\n"
        "print(json.dumps({'chat': [m['text'] for m in s.room.chat],\n"
        "                  'ops': [o['op']['type'] for o in s.room.ops], 'close': close}))"
    )
    assert seen_by_student["chat"] == ["hello from student", "hello from teacher"]
    assert seen_by_student["ops"] == ["stroke", "text"]
    assert seen_by_student["close"] == "forbidden"

    # The server's own $JUPYTERHUB_API_TOKEN (access:servers!server) is never sent, and the
    # service refuses it when given by hand, saying why (the default server role does not
    # even reach services).
    refused = await student.run(
        "try:\n"
        "    Client(token=os.environ['JUPYTERHUB_API_TOKEN'], timeout=10)\n"
        "    print(json.dumps('accepted'))\n"
        "except ClassroomError as e:\n"
        "    print(json.dumps(e.message))"
    )
    assert "student may not use this classroom" in refused

    closed = await teacher.run(
        "c.request('room:close', {'room_id': room.id})\n"
        "print(json.dumps([r['id'] for r in c.list_rooms()]))"
    )
    assert room_id not in closed
    assert (
        await student.run(
            "wait_for(lambda: room_id not in s.connection.rooms)\n"
            "s.close(); print(json.dumps('closed'))"
        )
        == "closed"
    )


async def _connect(hub: Hub, **kwargs: Any) -> socketio.AsyncClient:
    sio = socketio.AsyncClient(reconnection=False, handle_sigint=False)
    await sio.connect(
        hub.public, socketio_path=SOCKET_PATH, transports=["websocket"], wait_timeout=10, **kwargs
    )
    return sio


async def _refusal(hub: Hub, **kwargs: Any) -> str:
    """The message of a refused connect (fails if the connect is accepted)."""
    sio = socketio.AsyncClient(reconnection=False, handle_sigint=False)
    said: list[Any] = []
    sio.on("connect_error", said.append)
    with pytest.raises(socketio.exceptions.ConnectionError):
        await sio.connect(
            hub.public,
            socketio_path=SOCKET_PATH,
            transports=["websocket"],
            wait_timeout=10,
            **kwargs,
        )
    assert said and said[-1]["data"]["code"] == "unauthorized", said
    return str(said[-1]["message"])


async def _can_list_rooms(sio: socketio.AsyncClient) -> bool:
    try:
        ack = await sio.call("room:list", {}, timeout=10)
        return bool(ack["ok"])
    finally:
        await sio.disconnect()


def page_config(page: str) -> dict[str, Any]:
    found = re.search(r'id="jupyter-config-data"[^>]*>(.*?)</script>', page, re.S)
    assert found is not None
    return dict(json.loads(found.group(1)))


@needs_hub
async def test_browser_tokens_reach_the_service(servers: Hub) -> None:
    """A browser logged in to the hub reaches the service two ways: the service's own OAuth
    cookie, and the classroom token its JupyterLab page was given (PageConfig
    ``classroomToken``, in the Socket.IO auth payload). The page's own token (its server's
    OAuth token, which always includes access to that server) is refused by the service."""
    hub = servers
    jar = aiohttp.CookieJar(unsafe=True)  # cookies for 127.0.0.1
    async with aiohttp.ClientSession(cookie_jar=jar) as http:
        async with http.get(f"{hub.public}/hub/login") as r:
            assert r.status == 200
        xsrf = jar.filter_cookies(URL(f"{hub.public}/hub/login"))["_xsrf"].value
        form = {"username": "student", "password": PASSWORD, "_xsrf": xsrf}
        async with http.post(f"{hub.public}/hub/login", data=form) as r:
            assert r.status == 200, await r.text()

        # OAuth with the hub, through the service's page (a page for people), sets the cookie
        async with http.get(f"{hub.service_url}classroom/") as r:
            assert r.status == 200, await r.text()
            assert r.headers["Content-Type"].startswith("text/html")
            home = await r.text()
            assert 'Signed in as <b class="jc-home-user">student</b>' in home
            assert 'href="/hub/home"' in home
        cookies = jar.filter_cookies(URL(f"{hub.service_url}classroom/socket.io/"))
        cookie = "; ".join(f"{name}={morsel.value}" for name, morsel in cookies.items())
        assert await _can_list_rooms(await _connect(hub, headers={"Cookie": cookie}))

        # What JupyterLab's page holds: the service's socket path and a classroom token
        async with http.get(f"{hub.public}/user/student/lab") as r:
            assert r.status == 200
            config = page_config(await r.text())
        assert config["classroomSocketPath"] == SOCKET_PATH
        assert config["classroomToken"] and config["classroomToken"] != config["token"]
        assert await _can_list_rooms(await _connect(hub, auth={"token": config["classroomToken"]}))
        # the page's own token: this config gives it no access to the service (and it always
        # holds access to the student's server, so the service would refuse it anyway)
        refusal = await _refusal(hub, auth={"token": config["token"]})
        assert "student may not use this classroom" in refusal


@needs_hub
async def test_the_service_wants_a_classroom_hub_token(hub: Hub) -> None:
    reasons = {
        "no credentials": await _refusal(hub),
        "not a hub token": await _refusal(hub, auth={"token": "not-a-hub-token"}),
        "a header": await _refusal(hub, headers={"Authorization": "token not-a-hub-token"}),
        "a service's token": await _refusal(hub, auth={"token": hub.driver_token}),
        "a user's full token": await _refusal(hub, auth={"token": hub.tokens["student"]}),
        "the same in a header": await _refusal(
            hub, headers={"Authorization": f"token {hub.tokens['student']}"}
        ),
    }
    assert "did not recognise you" in reasons["no credentials"]
    assert "does not know your classroom token" in reasons["not a hub token"]
    assert "not a hub service's" in reasons["a service's token"]
    assert "could also enter Jupyter servers" in reasons["a user's full token"]
    assert "could also enter Jupyter servers" in reasons["the same in a header"]
    for reason in reasons.values():
        assert "{" not in reason and hub.tokens["student"] not in reason
    # the service logs each refusal with its reason, never the token
    log = (hub.root / "hub.log").read_text(errors="replace")
    assert "refused a socket from" in log and "token also holds access:servers" in log
    assert hub.tokens["student"] not in log

    # a user's classroom token is let in, and the hub name is the identity
    sio = await _connect(hub, auth={"token": hub.classroom_tokens["student"]})
    try:
        ack = await sio.call("room:list", {}, timeout=10)
        assert ack["ok"] is True and ack["can_create"] is False
        ack = await sio.call("room:create", {"title": "nope"}, timeout=10)
        assert ack["error"]["code"] == "forbidden"
    finally:
        await sio.disconnect()
    sio = await _connect(hub, auth={"token": hub.classroom_tokens["teacher"]})
    try:
        assert (await sio.call("room:list", {}, timeout=10))["can_create"] is True
    finally:
        await sio.disconnect()

    async with aiohttp.ClientSession() as http:
        student = {"Authorization": f"token {hub.classroom_tokens['student']}"}
        # the service's Jupyter server does nothing else for hub users
        for path in ("api/kernels", "api/contents", "api/sessions"):
            async with http.get(f"{hub.service_url}{path}", headers=student) as r:
                assert r.status == 403, path
        json_please = {**student, "Accept": "application/json"}
        async with http.get(hub.service_url, headers=json_please) as r:  # the hub's link
            assert r.status == 200
            assert r.url.path == f"/services/{SERVICE}/classroom/"
            facts = await r.json()
            assert (facts["user"], facts["may_create"]) == ("student", False)
        # a browser without the service's cookie is sent to the hub's OAuth
        async with http.get(f"{hub.service_url}classroom/", allow_redirects=False) as r:
            assert r.status == 302
            assert "/hub/api/oauth2/authorize" in r.headers["Location"]


# --- pieces that need no hub ---------------------------------------------------------------


def test_kernel_uses_its_classroom_token_only_for_the_configured_service(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("JUPYTER_CLASSROOM_URL", "https://hub.example.org/services/classroom/")
    monkeypatch.delenv("JUPYTER_CLASSROOM_TOKEN", raising=False)
    monkeypatch.setenv("JUPYTER_CLASSROOM_HUB_TOKEN", "classroom-only")
    monkeypatch.setenv("JUPYTERHUB_API_TOKEN", "enters-the-server")
    conn = Connection()
    assert conn.auth["token"] == "classroom-only" and conn.headers == {}
    assert conn.socket_path == "/services/classroom/classroom/socket.io"
    # never to a server the caller names, and never the server's own hub token
    assert "token" not in Connection("https://elsewhere.example.org/").auth
    assert Connection(token="kt").auth["token"] == "kt"
    monkeypatch.delenv("JUPYTER_CLASSROOM_HUB_TOKEN")
    assert "token" not in Connection().auth


def test_extension_keeps_a_configured_service_url(
    server: ServerInfo, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = "https://hub.example.org/services/classroom/"
    monkeypatch.setenv("JUPYTER_CLASSROOM_URL", url)
    monkeypatch.delenv("JUPYTER_CLASSROOM_TOKEN", raising=False)
    server.app.publish_environment()
    import os

    assert os.environ["JUPYTER_CLASSROOM_URL"] == url
    assert "JUPYTER_CLASSROOM_TOKEN" not in os.environ
    # its JupyterLab pages are told the service's socket and the classroom-only token
    monkeypatch.setenv("JUPYTER_CLASSROOM_HUB_TOKEN", "classroom-only")
    server.app.publish_page_config()
    page_config = server.app.serverapp.web_app.settings["page_config_data"]
    assert page_config["classroomSocketPath"] == "/services/classroom/classroom/socket.io"
    assert page_config["classroomToken"] == "classroom-only"
    # a local server's own URL and token (a nested server's) are still replaced
    monkeypatch.setenv("JUPYTER_CLASSROOM_TOKEN", "parent")
    server.app.publish_environment()
    assert os.environ["JUPYTER_CLASSROOM_TOKEN"] == server.kernel_token
    # ... and its pages use its own room server with their own Jupyter token
    server.app.publish_page_config()
    assert page_config["classroomSocketPath"] == server.socket_path
    assert page_config["classroomToken"] == ""


def test_hub_roles_map_onto_admins_and_instructors() -> None:
    """What the hub says of each user (recorded as the identity provider checks them) decides
    through :class:`HubPolicy`; a user the hub never named is neither admin nor instructor."""
    hub = pytest.importorskip("jupyter_classroom.hub", reason="jupyterhub is not installed")
    provider = hub.HubIdentityProvider()
    for model in (
        {"name": "boss", "admin": True, "groups": []},
        {"name": "teacher", "admin": False, "groups": ["instructors"]},
        {"name": "student", "admin": False, "groups": ["class-a"]},
    ):
        user = hub.HubUser(model)
        provider.classroom_roles.record(user.username, user.admin, user.groups)
    policy = HubPolicy(provider.classroom_roles, "instructors", admin_users=frozenset({"ops"}))
    people = ("boss", "teacher", "student", "ops", "nobody")
    assert {u for u in people if policy.is_admin(u)} == {"boss", "ops"}  # never "everyone"
    assert {u for u in people if policy.may_create(u)} == {"boss", "teacher", "ops"}
    assert {u for u in people if policy.is_instructor(u)} == {"boss", "teacher", "ops"}
    # the hub's later answer wins (a user taken out of the group)
    provider.classroom_roles.record("teacher", False, ())
    assert not policy.may_create("teacher")


def test_service_server_config_follows_the_hub_environment() -> None:
    hub = pytest.importorskip("jupyter_classroom.hub", reason="jupyterhub is not installed")
    config = hub.service_server_config(
        {
            "JUPYTERHUB_SERVICE_PREFIX": "/services/classroom/",
            "JUPYTERHUB_SERVICE_URL": "http://127.0.0.1:10101",
        }
    )
    assert config["base_url"] == "/services/classroom/"
    assert (config["ip"], config["port"], config["port_retries"]) == ("127.0.0.1", 10101, 0)
    assert config["identity_provider_class"] is hub.HubIdentityProvider
    assert config["authorizer_class"] is hub.HubAuthorizer
    with pytest.raises(RuntimeError, match="JUPYTERHUB_SERVICE_PREFIX"):
        hub.service_server_config({})


def test_open_endpoints_are_marked_as_open_by_design() -> None:
    """The OAuth callback (how a browser becomes authenticated) and the socket upgrade (whose
    credentials arrive in the Socket.IO auth payload) are open by design: marked
    ``@allow_unauthenticated``, so Jupyter Server neither lists them as unchecked endpoints nor
    blocks them under ``ServerApp.allow_unauthenticated_access = False``."""
    hub = pytest.importorskip("jupyter_classroom.hub", reason="jupyterhub is not installed")
    import socketio
    from jupyter_server.serverapp import ServerWebApplication

    from jupyter_classroom.server.handler import make_handler

    socket_handler = make_handler(socketio.AsyncServer(async_mode="tornado"), 1 << 20, 10.0)
    check = ServerWebApplication._check_handler_auth
    for handler in (hub.HubOAuthCallback, socket_handler):
        assert check(None, "/x", handler) == [], handler  # type: ignore[arg-type]
