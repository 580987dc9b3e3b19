"""``ClassroomApp``: the Jupyter server extension that hosts the room server."""

from __future__ import annotations

import asyncio
import gc
import getpass
import hashlib
import importlib.util
import os
import re
import secrets
from typing import Any
from urllib.parse import unquote, urlsplit

from jupyter_server.extension.application import ExtensionApp
from jupyter_server.utils import url_path_join
from traitlets import (
    Bool,
    Dict,
    Enum,
    Float,
    Int,
    List,
    Set,
    TraitError,
    Tuple,
    Unicode,
    default,
    validate,
)

from .. import protocol as p
from .._version import __version__
from ..names import (
    HUB_SERVICE_NAME_ENV,
    HUB_TOKEN_ENV,
    HUB_USER_ENV,
    MEMBER_SECRET_ENV,
    SOCKET_PATH,
    TOKEN_ENV,
    URL_ENV,
)
from ..policy import HubPolicy, HubRoles, Policy, StaticPolicy
from ..rooms import Limits, Rooms
from ..sfu.config import JanusSettings
from ..sfu.service import Sfu, SfuSettings
from ..store import MemoryStore, Store
from ..tasks import TaskSet
from .events import RoomServer
from .fanout import DirectFanoutManager, RedisFanoutManager
from .handler import jupyter_authenticator, make_handler, serves_one_person
from .heap import release_freed_memory
from .quotas import Quotas
from .settings import Settings

EMPTY_ROOM_SWEEP = 60.0
# Seconds between two collections of the collector's young generations while the server runs
# (ClassroomApp.gc_young_threshold, _collect_young)
YOUNG_COLLECT_EVERY = 0.2


def member_secret_key(secret: str) -> bytes:
    """The key member ids are derived with: hex digits as the bytes they spell (the form
    generated secrets take, so ids made before passphrases were allowed stay the same),
    any other passphrase through SHA-256."""
    try:
        return bytes.fromhex(secret)
    except ValueError:
        return hashlib.sha256(secret.encode()).digest()


class ClassroomApp(ExtensionApp):
    """A classroom inside Jupyter: rooms with a whiteboard, chat and video signaling."""

    name = "jupyter_classroom"
    description = __doc__
    version = __version__
    # `jupyter classroom` loads the server's other extensions, unless it is a hub service
    load_other_extensions = not os.environ.get(HUB_SERVICE_NAME_ENV)

    # limits ----------------------------------------------------------------------------------
    max_rooms = Int(Limits.max_rooms, config=True, help="Rooms this server holds at once.")
    max_rooms_per_user = Int(
        Limits.max_rooms_per_user, config=True, help="Rooms one user may have open at once."
    )
    max_members = Int(
        Limits.max_members, config=True, help="Members per room (a room may ask for fewer)."
    )
    chat_backlog = Int(
        Limits.chat_backlog, config=True, help="Chat messages a room keeps for late joiners."
    )
    max_board_ops = Int(
        Limits.max_board_ops,
        config=True,
        help="Ops a board holds (live strokes folded); beyond, clear it.",
    )
    extend_window = Int(
        Settings.extend_window,
        config=True,
        help="Live-stroke `extend` ops kept as sent, so reconnects get exact deltas; "
        "older ones are folded into their strokes.",
    )
    max_message_size = Int(
        Settings.max_message_size,
        config=True,
        help="Largest websocket frame in bytes; a larger one closes that socket.",
    )
    max_send_buffer = Int(
        Quotas.max_send_buffer,
        config=True,
        help="Unsent bytes a socket may have queued for `slow_grace` seconds before it is "
        "dropped as too slow a reader.",
    )
    slow_grace = Float(Settings.slow_grace, config=True, help="See max_send_buffer.")
    max_title = Int(Limits.title, config=True, help="Longest room title.")
    max_chat_text = Int(Limits.chat_text, config=True, help="Longest chat message.")
    max_points = Int(Limits.points, config=True, help="Most points in one board op.")
    ops_per_second = Float(
        Quotas.ops_per_second, config=True, help="Board ops per second per person (bursts of 2x)."
    )
    chats_per_second = Float(
        Quotas.chats_per_second,
        config=True,
        help="Chat messages per second per person (bursts of 4x).",
    )
    join_failures = Int(
        Limits.join_failures,
        config=True,
        help="Wrong passwords per user and room before a lockout.",
    )
    join_lockout = Float(Limits.join_lockout, config=True, help="Seconds a join lockout lasts.")
    join_failures_per_address = Int(
        Limits.join_failures_per_address,
        config=True,
        help="Wrong passwords from one peer address (every user there, every room) before a "
        "lockout; larger than join_failures since a classroom may share one address (NAT).",
    )
    ticket_ttl = Float(Limits.ticket_ttl, config=True, help="Seconds a room:ticket stays valid.")
    tickets_per_second = Float(
        Quotas.tickets_per_second,
        config=True,
        help="room:ticket requests per second per user (all their sockets).",
    )
    ticket_burst = Float(
        Quotas.ticket_burst, config=True, help="Burst of room:ticket requests per user."
    )
    empty_room_ttl = Float(
        Settings.empty_room_ttl,
        config=True,
        help="Seconds an empty room is kept before it is closed.",
    )

    # what one person may take (server/quotas.py; docs/protocol.md "Quotas") ----------------
    empty_unlisted_room_ttl = Float(
        Settings.empty_unlisted_room_ttl,
        config=True,
        help="Seconds an empty unlisted room is kept (nobody can find it in the lobby, so it "
        "is someone's scratch or test room) before it is closed; at most empty_room_ttl.",
    )
    max_board_bytes = Int(
        Limits.max_board_bytes,
        config=True,
        help="Bytes of ops (as JSON) a board holds, erased and undone ones included; beyond, "
        "board:op is too_large. 0: no limit. A late joiner receives it all in one reply.",
    )
    max_image_bytes_per_member = Int(
        Limits.max_image_bytes_per_member,
        config=True,
        help="Bytes of images one member may put on one board (50 figures of 200 KB). 0: none.",
    )
    bytes_per_second = Float(
        Quotas.bytes_per_second,
        config=True,
        help="Bytes a second one person may send to be relayed (board ops, chat, signaling), "
        "across all of their sockets; bursts of bytes_burst.",
    )
    bytes_burst = Float(Quotas.bytes_burst, config=True, help="See bytes_per_second.")
    max_sockets_per_user = Int(
        Quotas.max_sockets_per_user,
        config=True,
        help="Sockets one person may hold at once (a named user; the server's own user counts "
        "per client, since on a single-user server that is the whole class). 0: no limit.",
    )
    signals_per_second = Float(
        Quotas.signals_per_second,
        config=True,
        help="rtc:signal messages per second per person (bursts of 4x).",
    )
    media_per_second = Float(
        Quotas.media_per_second,
        config=True,
        help="rtc:media states per second per person (bursts of 20).",
    )
    joins_per_second = Float(
        Quotas.joins_per_second,
        config=True,
        help="room:join, room:leave and room:create per second per person (bursts of 15x).",
    )
    room_reserve = Int(
        Limits.room_reserve,
        config=True,
        help="Of max_rooms, the rooms only admins and instructor_users (hub: the instructor "
        "group) may open, so that students cannot fill the server before the teacher.",
    )

    # people ----------------------------------------------------------------------------------
    admin_users = Set(
        Unicode(),
        config=True,
        help="Usernames with server-admin rights (server:announce). Empty: every user of a "
        "single-user server (Jupyter's token or password login) is an admin; under another "
        "identity provider, the owner (kernel_user) alone; as a hub service, hub admins.",
    )
    instructor_users = Set(
        Unicode(),
        allow_none=True,
        default_value=None,
        config=True,
        help="Usernames that may create rooms. None (the default): everyone may.",
    )
    allow_display_name = Bool(
        None,
        allow_none=True,
        config=True,
        help="Whether clients may choose their display name (auth.name). None (the default): "
        "yes on a single-user server (Jupyter's token or password login), no as a JupyterHub "
        "service or under any other identity provider that names several users, where "
        "members show as their usernames (else a student could appear as 'Teacher').",
    )
    kernel_user = Unicode(
        config=True, help="The username of sockets that authenticate with the kernel token."
    )

    @default("kernel_user")
    def _default_kernel_user(self) -> str:
        return os.environ.get(HUB_USER_ENV) or getpass.getuser()

    # JupyterHub service mode (hub.py) ------------------------------------------------------
    hub_service = Bool(
        None,
        allow_none=True,
        config=True,
        help="Run as a JupyterHub service (`jupyter classroom` at /services/<name>/): hub users, "
        "authenticated by hub tokens. None: when $JUPYTERHUB_SERVICE_NAME is set.",
    )
    hub_instructor_group = Unicode(
        Settings.hub_instructor_group,
        config=True,
        help="In service mode, the hub group whose members (with hub admins) may create rooms.",
    )

    def _jupyter_server_config(self) -> dict[str, Any]:
        # Called only when this app starts the server (`jupyter classroom`), before the server
        # makes its identity provider: where it becomes a hub service.
        config: dict[str, Any] = super()._jupyter_server_config()
        if self.hub_service or (self.hub_service is None and os.environ.get(HUB_SERVICE_NAME_ENV)):
            from ..hub import service_server_config  # needs jupyterhub

            config["ServerApp"].update(service_server_config())
        return config

    # video -----------------------------------------------------------------------------------
    ice_servers = List(
        Dict(),
        config=True,
        help='ICE servers for WebRTC, as RTCIceServer dicts: [{"urls": "stun:stun.example.org"}]',
    )
    max_publishers = Int(
        Settings.max_publishers, config=True, help="Cameras a room's mesh carries at once."
    )

    # video through the SFU (Janus; sfu/, server/sfu_events.py, docs/sfu.md) -----------------
    video_mode = Enum(
        ["auto", "mesh", "sfu"],
        "mesh",
        config=True,
        help="How rooms carry video: 'mesh' (browsers connect to each other; the rtc:publish "
        "family is refused), 'sfu' (through Janus) or 'auto' (mesh while a room is small, the "
        "SFU from sfu_threshold members; the SFU events are on).",
    )
    sfu_threshold = Int(6, config=True, help="With video_mode 'auto': members from which a "
                        "room's video goes through the SFU.")  # fmt: skip
    janus_url = Unicode(
        "",
        config=True,
        help="An external Janus's WebSocket API (ws://127.0.0.1:8188/, or unix:/path/to/socket), "
        "shared by several room-server processes. Empty: the room server runs Janus itself "
        "(started when a room first needs it, stopped with the server).",
    )
    janus_admin_key = Unicode(
        "", config=True, help="The external Janus's VideoRoom admin_key, if it sets one."
    )
    janus_binary = Unicode("janus", config=True, help="The Janus executable (managed Janus).")
    janus_command_prefix = List(
        Unicode(),
        config=True,
        help="Words before janus_binary in its command line (['nice', '-n', '5'], or "
        "['ip', 'netns', 'exec', NAME] as the tests do).",
    )
    janus_rtp_ports = Tuple(
        Int(), Int(), default_value=(20000, 40000), config=True,
        help="The UDP port range a managed Janus takes media on (open it in the firewall).",
    )  # fmt: skip
    janus_public_ip = Unicode(
        "",
        config=True,
        help="The address browsers reach a managed Janus at when it is behind a 1:1 NAT (a "
        "cloud VM): Janus's nat_1_1_mapping. Empty: its own addresses.",
    )
    janus_interface = Unicode(
        "", config=True, help="The address a managed Janus writes into its SDP. Empty: its choice."
    )
    janus_ice_enforce_list = Unicode(
        "",
        config=True,
        help="Interfaces or address prefixes a managed Janus gathers ICE candidates on "
        "('eth0', '10.0.'). Empty: all.",
    )

    def make_sfu(self) -> Sfu | None:
        """The SFU component, unless video is a mesh."""
        if self.video_mode == "mesh":
            return None
        janus = JanusSettings(
            binary=self.janus_binary,
            rtp_ports=(int(self.janus_rtp_ports[0]), int(self.janus_rtp_ports[1])),
            nat_1_1_mapping=self.janus_public_ip,
            interface=self.janus_interface,
            ice_enforce_list=self.janus_ice_enforce_list,
        )
        return Sfu(
            SfuSettings(
                mode="sfu" if self.video_mode == "sfu" else "auto",
                threshold=self.sfu_threshold,
                janus_url=self.janus_url,
                janus_admin_key=self.janus_admin_key,
                janus=janus,
                janus_command_prefix=tuple(self.janus_command_prefix),
            )
        )

    # wiring ----------------------------------------------------------------------------------
    kernel_token = Unicode(
        help="The secret kernels of this server use to connect (JUPYTER_CLASSROOM_TOKEN)."
    )

    @default("kernel_token")
    def _default_kernel_token(self) -> str:
        return secrets.token_urlsafe(32)

    # scale-out -------------------------------------------------------------------------------
    redis_url = Unicode(
        None,
        allow_none=True,
        config=True,
        help="Redis URL (redis://host:6379/0) shared by several room-server processes: rooms "
        "live in Redis and emits reach sockets of every process. None: one process, in memory.",
    )

    @validate("redis_url")
    def _check_redis_client(self, proposal: Any) -> str | None:
        url: str | None = proposal["value"]
        if url and importlib.util.find_spec("redis") is None:
            raise TraitError(
                "ClassroomApp.redis_url needs the Redis client: "
                'pip install "jupyter-live-classroom[redis]"'
            )
        return url

    process_ttl = Float(
        Settings.process_ttl,
        config=True,
        help="With redis_url: seconds without a heartbeat after which the other processes take "
        "a room-server process for dead (killed, its machine gone) and let its sockets' "
        "members depart from their rooms ('disconnected'). Each process beats every third of it.",
    )

    gc_young_threshold = Int(
        Settings.gc_young_threshold,
        config=True,
        help="Allocations between two collections of Python's youngest garbage-collector "
        "generation in the server process (Python's default: 700). A busy room allocates "
        "containers for every op, packet and ack, so at 700 the collector runs thousands of "
        "times a second, and its older generations walk every op of every board: ten busy "
        "rooms fell behind for it (docs/performance.md). Raised at start, never lowered; "
        "the young generations are then collected every 0.2 s and what lives at start is "
        "frozen out of later collections (gc.freeze). 0 leaves Python's collector alone.",
    )

    member_secret = Unicode(
        config=True,
        help="The secret member ids are derived from (at least 16 characters: hex digits, or "
        "any passphrase). Every process of one deployment needs the same one. Default: "
        f"${MEMBER_SECRET_ENV}; else random per process or, with redis_url, the first "
        "process's random one shared through Redis (in clear, like everything in Redis: "
        "configure it instead where Redis is shared or backed up).",
    )

    @validate("member_secret")
    def _validate_member_secret(self, proposal: Any) -> str:
        secret = str(proposal["value"])
        if len(secret) < 16:
            raise TraitError("ClassroomApp.member_secret must be at least 16 characters")
        return secret

    @default("member_secret")
    def _default_member_secret(self) -> str:
        if os.environ.get(MEMBER_SECRET_ENV):
            return os.environ[MEMBER_SECRET_ENV]
        secret = secrets.token_hex(32)
        if self.redis_url:
            self.log.warning(
                "classroom: no member_secret configured; sharing a random one through Redis "
                "(key jc:member-secret), where whoever reads Redis can forge member ids. "
                "Set ClassroomApp.member_secret or $%s on every process instead.",
                MEMBER_SECRET_ENV,
            )
            # Several processes: the first one's random secret becomes everyone's.
            import redis

            client = redis.Redis.from_url(self.redis_url, decode_responses=True)
            try:
                client.set("jc:member-secret", secret, nx=True)
                secret = str(client.get("jc:member-secret"))
            finally:
                client.close()
        return secret

    def make_settings(self, *, one_person: bool, hub: bool) -> Settings:
        """The traits as one :class:`Settings` (the only place that reads them), with what
        depends on the server decided: ``one_person``, Jupyter's own token or password login
        (everyone is the owner), lets clients choose display names unless configured; another
        identity provider names several users, none of whom may pose as another. A ``hub``
        service takes hub tokens only: no kernel token (kernels send their hub token)."""
        return Settings(
            limits=Limits(
                max_rooms=self.max_rooms,
                max_rooms_per_user=self.max_rooms_per_user,
                max_members=self.max_members,
                chat_backlog=self.chat_backlog,
                max_board_ops=self.max_board_ops,
                title=min(self.max_title, p.MAX_TITLE),
                chat_text=min(self.max_chat_text, p.MAX_CHAT_TEXT),
                points=min(self.max_points, p.MAX_POINTS),
                join_failures=self.join_failures,
                join_lockout=self.join_lockout,
                join_failures_per_address=self.join_failures_per_address,
                ticket_ttl=self.ticket_ttl,
                max_board_bytes=self.max_board_bytes,
                max_image_bytes_per_member=self.max_image_bytes_per_member,
                room_reserve=min(self.room_reserve, self.max_rooms),
            ),
            quotas=Quotas(
                ops_per_second=self.ops_per_second,
                chats_per_second=self.chats_per_second,
                media_per_second=self.media_per_second,
                signals_per_second=self.signals_per_second,
                joins_per_second=self.joins_per_second,
                bytes_per_second=self.bytes_per_second,
                bytes_burst=self.bytes_burst,
                tickets_per_second=self.tickets_per_second,
                ticket_burst=self.ticket_burst,
                max_sockets_per_user=self.max_sockets_per_user,
                max_send_buffer=self.max_send_buffer,
            ),
            kernel_user=self.kernel_user,
            kernel_token="" if hub else self.kernel_token,
            allow_display_name=(
                one_person and not hub
                if self.allow_display_name is None
                else self.allow_display_name
            ),
            admin_users=frozenset(self.admin_users),
            instructor_users=(
                None if self.instructor_users is None else frozenset(self.instructor_users)
            ),
            hub_instructor_group=self.hub_instructor_group,
            ice_servers=tuple(self.ice_servers),
            max_publishers=self.max_publishers,
            max_message_size=self.max_message_size,
            slow_grace=self.slow_grace,
            extend_window=self.extend_window,
            empty_room_ttl=self.empty_room_ttl,
            empty_unlisted_room_ttl=min(self.empty_unlisted_room_ttl, self.empty_room_ttl),
            process_ttl=self.process_ttl,
            gc_young_threshold=self.gc_young_threshold,
        )

    @staticmethod
    def make_policy(settings: Settings, hub_roles: HubRoles | None, one_person: bool) -> Policy:
        """Who is an admin and who teaches: the hub says so for a JupyterHub service (besides
        ``admin_users`` and ``instructor_users``), the configured names elsewhere."""
        if hub_roles is not None:
            return HubPolicy(
                hub_roles,
                settings.hub_instructor_group,
                admin_users=settings.admin_users,
                instructor_users=settings.instructor_users or frozenset(),
            )
        return StaticPolicy.for_server(
            settings.admin_users,
            settings.instructor_users,
            owner=settings.kernel_user,
            one_person=one_person,
        )

    def make_store(self) -> Store:
        window = self.classroom_settings.extend_window
        if self.redis_url:
            from ..store.redis import RedisStore  # needs the redis package

            return RedisStore(self.redis_url, extend_window=window)
        return MemoryStore(extend_window=window)

    def initialize_settings(self) -> None:
        provider = getattr(self.serverapp, "identity_provider", None)
        # a JupyterHub service's identity provider records what the hub says of each user
        hub_roles: HubRoles | None = getattr(provider, "classroom_roles", None)
        one_person = serves_one_person(provider)
        self.classroom_settings = settings = self.make_settings(
            one_person=one_person, hub=hub_roles is not None
        )
        self.policy = self.make_policy(settings, hub_roles, one_person)
        self.store = self.make_store()
        self.rooms = Rooms(
            self.store, settings.limits, secret=member_secret_key(self.member_secret)
        )
        self.room_server = RoomServer(
            self.rooms,
            settings,
            self.policy,
            jupyter_authenticator(settings.kernel_user),
            client_manager=(
                RedisFanoutManager(self.redis_url, channel="jupyter_classroom")
                if self.redis_url
                else DirectFanoutManager()
            ),
        )
        self.sfu = self.make_sfu()
        if self.sfu is not None:
            self.room_server.use_sfu(self.sfu)
        self._housekeepers = TaskSet("housekeeping task")  # a failure is logged, not lost
        self.publish_environment()
        self.settings["classroom_room_server"] = self.room_server

    def initialize_handlers(self) -> None:
        settings = self.classroom_settings
        handler = make_handler(
            self.room_server.sio,
            settings.quotas.max_send_buffer,
            settings.slow_grace,
            reports=self.room_server,  # waits of a socket's reading and writes: board:delayed
        )
        self.handlers.append((f"/{SOCKET_PATH}/", handler))
        # Some clients (aiohttp's URL normalisation) send a base_url such as /user/a%40b/
        # decoded; serve that spelling of the path too.
        base_url = self.serverapp.base_url if self.serverapp else "/"
        if unquote(base_url) != base_url:
            pattern = re.escape(url_path_join(unquote(base_url), SOCKET_PATH)) + "/"
            assert self.serverapp is not None
            self.serverapp.web_app.add_handlers(".*$", [(pattern, handler)])

    def publish_environment(self) -> None:
        """Tell the kernels this server starts where the room server is and how to enter.

        Kernels inherit the server's environment, so a ``Client()`` inside one needs no
        configuration.
        """
        serverapp = self.serverapp
        assert serverapp is not None
        if os.environ.get(URL_ENV) and not os.environ.get(TOKEN_ENV):
            # The deployment points kernels at a shared room server (a JupyterHub service,
            # which takes the classroom token the hub gave this server): leave it to them.
            return
        if os.environ.get(HUB_SERVICE_NAME_ENV):
            return  # this is the hub service itself: it starts no kernels
        if serverapp.sock:
            self.log.warning("classroom: kernels cannot reach a server on a UNIX socket")
            return
        scheme = "https" if serverapp.certfile else "http"
        ip = serverapp.ip
        if ip in ("", "0.0.0.0", "*", "localhost"):
            host = "127.0.0.1"
        elif ip in ("::", "::1"):
            host = "[::1]"
        else:
            host = f"[{ip}]" if ":" in ip else ip
        os.environ[URL_ENV] = f"{scheme}://{host}:{serverapp.port}{serverapp.base_url}"
        os.environ[TOKEN_ENV] = self.kernel_token

    def publish_page_config(self) -> None:
        """Tell this server's JupyterLab pages where their classroom socket goes and with
        which token (``labextension/src/page/connect.ts`` reads both from PageConfig).

        The room server of this server: its own path, and the page's own Jupyter token. A
        hub's shared service (``$JUPYTER_CLASSROOM_URL`` without a kernel token): the
        service's path, and the classroom-only token the hub gave this server
        (``$JUPYTER_CLASSROOM_HUB_TOKEN``): never the page's token for this server, which
        would let the service into it.
        """
        serverapp = self.serverapp
        if serverapp is None or os.environ.get(HUB_SERVICE_NAME_ENV):
            return
        url = os.environ.get(URL_ENV)
        shared = bool(url) and os.environ.get(TOKEN_ENV) != self.kernel_token
        base = urlsplit(url).path if shared and url else serverapp.base_url
        page_config = serverapp.web_app.settings.setdefault("page_config_data", {})
        page_config["classroomSocketPath"] = url_path_join(base, SOCKET_PATH)
        page_config["classroomToken"] = os.environ.get(HUB_TOKEN_ENV, "") if shared else ""

    async def _start_jupyter_server_extension(self, serverapp: Any) -> None:
        self.publish_environment()  # the port is final now (port_retries may have moved it)
        self.publish_page_config()
        young, *older = gc.get_threshold()
        if self.classroom_settings.gc_young_threshold > young:
            gc.set_threshold(self.classroom_settings.gc_young_threshold, *older)
            # What lives at start (Jupyter's, JupyterLab's and our modules: ~200,000
            # objects) is kept out of every later collection: a full one then walks the
            # rooms' objects only (half the stall under ten busy rooms). Unfrozen at stop.
            gc.collect()
            gc.freeze()
            self._housekeepers.spawn(self._collect_young())
        self._housekeepers.spawn(self._sweep_empty_rooms())
        self._housekeepers.spawn(self._keep_alive())

    async def _keep_alive(self) -> None:
        """Beat for this process; let members on processes that stopped beating depart;
        recall the breakouts whose time has passed (whichever process opened them)."""
        ttl = self.classroom_settings.process_ttl
        while True:
            try:
                await self.rooms.presence.heartbeat(ttl)
                await self.room_server.sweep_dead_processes()
                await self.room_server.sweep_breakouts()
            except Exception:  # Redis away for a while: try again at the next beat
                self.log.warning("classroom: heartbeat or sweep failed", exc_info=True)
            await asyncio.sleep(ttl / 3)

    async def _collect_young(self) -> None:
        """Collect the young generations every YOUNG_COLLECT_EVERY seconds. With the raised
        threshold they would otherwise be collected once ten times it had piled up (the
        second generation's own threshold): under ten busy rooms ~100,000 objects, mostly
        ops just stored in boards, walked in one go, a 40-60 ms stall of every socket every
        ten seconds (the ten-room p99, docs/performance.md). Collected this often they hold
        a few thousand: the same walking, in pieces of a millisecond or two."""
        while True:
            await asyncio.sleep(YOUNG_COLLECT_EVERY)
            gc.collect(1)

    async def _sweep_empty_rooms(self) -> None:
        """Close rooms that stayed empty for ``empty_room_ttl`` seconds (unlisted ones:
        ``empty_unlisted_room_ttl``)."""
        settings = self.classroom_settings
        listed_ttl, unlisted_ttl = settings.empty_room_ttl, settings.empty_unlisted_room_ttl
        interval = min(EMPTY_ROOM_SWEEP, unlisted_ttl / 4)
        while True:
            await asyncio.sleep(interval)
            # under each room's lock, as a join: see Rooms.close_empty_rooms
            if await self.rooms.close_empty_rooms(listed_ttl, unlisted_ttl):
                self.room_server.list_changed()
                release_freed_memory()

    async def stop_extension(self) -> None:
        await self._housekeepers.cancel_all()
        gc.unfreeze()
        if self.sfu is not None:
            await self.sfu.close()
        await self.rooms.shut_down()


main = launch_new_instance = ClassroomApp.launch_instance
