"""The configuration of a Janus the room server starts itself (a "managed" Janus).

Janus's packaged defaults suit a demo machine, not a classroom server: HTTP on every
interface, every plugin loaded (the Streaming plugin's demo mountpoints take UDP ports), an
admin API with a well-known secret. The room server writes a configuration of its own into a
private temporary directory instead: the VideoRoom plugin alone, the WebSocket API on a Unix
socket in that directory (reachable by this user only, never over the network), no HTTP, no
admin API, no event handlers or loggers, and the media settings from ``ClassroomApp``.

Plugins and transports are chosen by folder, not by ``disable`` lists: the folders Janus reads
hold links to the few libraries it needs, so a library a later package adds is not loaded.
"""

from __future__ import annotations

import os
import secrets
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

JANUS_LIBRARIES = Path("/usr/lib/x86_64-linux-gnu/janus")
PLUGINS = ("libjanus_videoroom.so",)
TRANSPORTS = ("libjanus_websockets.so",)
API_SOCKET = "janus-api.sock"


@dataclass(frozen=True)
class JanusSettings:
    """What the room server's ``ClassroomApp`` traits say about a managed Janus."""

    binary: str = "janus"
    libraries: Path = JANUS_LIBRARIES
    rtp_ports: tuple[int, int] = (20000, 40000)
    # the address browsers reach Janus at, when Janus is behind a 1:1 NAT (a cloud VM)
    nat_1_1_mapping: str = ""
    # the address Janus writes into its SDP; empty: Janus's own choice
    interface: str = ""
    # interfaces or addresses Janus gathers ICE candidates on ("eth0,10.0."); empty: all
    ice_enforce_list: str = ""
    debug_level: int = 3
    session_timeout: int = 60


def quote(value: str) -> str:
    """A libconfig string literal."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _section(name: str, entries: dict[str, str | int | bool]) -> str:
    lines = [f"{name}: {{"]
    for key, value in entries.items():
        if isinstance(value, bool):
            text = "true" if value else "false"
        elif isinstance(value, int):
            text = str(value)
        else:
            text = quote(value)
        lines.append(f"\t{key} = {text}")
    lines.append("}")
    return "\n".join(lines) + "\n"


@dataclass
class JanusConfig:
    """A Janus configuration directory: ``janus -F <configs> -C <configs>/janus.jcfg``.

    ``admin_key`` guards room creation in the VideoRoom plugin (only the room server, which
    holds it, creates rooms); it never leaves the server.
    """

    root: Path
    settings: JanusSettings
    admin_key: str = field(default_factory=lambda: secrets.token_urlsafe(24))

    @property
    def configs(self) -> Path:
        return self.root / "configs"

    @property
    def main_config(self) -> Path:
        return self.configs / "janus.jcfg"

    @property
    def api_socket(self) -> Path:
        return self.root / API_SOCKET

    @property
    def api_url(self) -> str:
        """The API's URL for :class:`~.janus_api.JanusClient` (``unix:`` + socket path)."""
        return f"unix:{self.api_socket}"

    def command(self) -> list[str]:
        return [self.settings.binary, "--configs-folder", str(self.configs),
                "--config", str(self.main_config)]  # fmt: skip

    @classmethod
    def create(cls, settings: JanusSettings, parent: str | None = None) -> JanusConfig:
        """Write a configuration into a new private directory (mode 0700)."""
        root = Path(tempfile.mkdtemp(prefix="classroom-janus-", dir=parent))
        config = cls(root, settings)
        config.write()
        return config

    def write(self) -> None:
        self.configs.mkdir(parents=True, exist_ok=True)
        folders = {}
        for kind, names in (("plugins", PLUGINS), ("transports", TRANSPORTS),
                            ("events", ()), ("loggers", ())):  # fmt: skip
            folder = self.root / kind
            folder.mkdir(exist_ok=True)
            for name in names:
                link = folder / name
                if not link.exists():
                    os.symlink(self.settings.libraries / kind / name, link)
            folders[kind] = folder
        (self.main_config).write_text(self.main_text(folders))
        (self.configs / "janus.transport.websockets.jcfg").write_text(self.websockets_text())
        (self.configs / "janus.plugin.videoroom.jcfg").write_text(self.videoroom_text())

    def main_text(self, folders: dict[str, Path]) -> str:
        s = self.settings
        general: dict[str, str | int | bool] = {
            "configs_folder": str(self.configs),
            "plugins_folder": str(folders["plugins"]),
            "transports_folder": str(folders["transports"]),
            "events_folder": str(folders["events"]),
            "loggers_folder": str(folders["loggers"]),
            "log_to_stdout": True,
            "debug_level": s.debug_level,
            "debug_colors": False,
            "server_name": "jupyter_classroom",
            "session_timeout": s.session_timeout,
            # the admin API is off (no admin transport); a random secret all the same
            "admin_secret": secrets.token_urlsafe(24),
        }
        if s.interface:
            general["interface"] = s.interface
        media: dict[str, str | int | bool] = {
            "rtp_port_range": f"{s.rtp_ports[0]}-{s.rtp_ports[1]}",
            "ipv6": False,
        }
        nat: dict[str, str | int | bool] = {"nice_debug": False, "ignore_mdns": True}
        if s.nat_1_1_mapping:
            nat["nat_1_1_mapping"] = s.nat_1_1_mapping
            nat["keep_private_host"] = False
        if s.ice_enforce_list:
            nat["ice_enforce_list"] = s.ice_enforce_list
        return "".join([
            _section("general", general),
            _section("media", media),
            _section("nat", nat),
            _section("plugins", {}),
            _section("transports", {}),
            _section("loggers", {}),
            _section("events", {"broadcast": False}),
        ])  # fmt: skip

    def websockets_text(self) -> str:
        return "".join([
            _section("general", {"json": "plain", "ws": True, "ws_unix": str(self.api_socket),
                                 "wss": False}),
            _section("admin", {"admin_ws": False, "admin_wss": False}),
        ])  # fmt: skip

    def videoroom_text(self) -> str:
        return _section("general", {"admin_key": self.admin_key, "lock_rtp_forward": True})
