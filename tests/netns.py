"""A network namespace joined to the test's own by a veth pair, for Janus.

Janus gathers no loopback ICE candidates, so a test that runs it needs another address: the
test makes a namespace of its own (named after its PID), with a /30 on a veth pair from a
private range, runs Janus inside it (``ip netns exec``) and keeps every packet on that veth.
Everything is removed afterwards, also when the test fails.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Namespace:
    name: str
    inside_ip: str  # Janus's address, in the namespace
    outside_ip: str  # the test process's address on the veth
    outside_link: str  # the test's end of the veth
    inside_link: str  # the namespace's end

    def prefix(self) -> list[str]:
        """Command words that run a command inside the namespace."""
        return ["ip", "netns", "exec", self.name]

    def sfu_config(self, rtp_ports: tuple[int, int]) -> dict[str, Any]:
        """ClassroomApp settings for a room server whose managed Janus runs in here, on its
        own range of RTP ports (tests running at once must not share one)."""
        return {
            "video_mode": "sfu",
            "janus_command_prefix": self.prefix(),
            "janus_interface": self.inside_ip,
            "janus_ice_enforce_list": self.inside_ip,
            "janus_rtp_ports": list(rtp_ports),
        }

    @contextlib.contextmanager
    def rtp_dropped(self, ssrc: int) -> Iterator[None]:
        """The RTP packets of ``ssrc`` sent towards the namespace are dropped meanwhile (by
        the SSRC, which SRTP leaves in the clear: 20 bytes of IPv4 header, 8 of UDP, then 8
        into the RTP header)."""
        match = ["u32", f"{ssrc:#010x}", "0xffffffff", "at", "36"]
        with self._throttled([], self.outside_link, match, "8bit"):
            yield

    @contextlib.contextmanager
    def port_throttled(self, port: int, rate: str) -> Iterator[None]:
        """What the namespace sends to the test's UDP ``port`` goes at ``rate`` (a tc rate,
        e.g. "100kbit") meanwhile, the rest dropped: a congested link to that peer."""
        match = ["ip", "dport", str(port), "0xffff"]
        with self._throttled(self.prefix(), self.inside_link, match, rate):
            yield

    @contextlib.contextmanager
    def _throttled(
        self, prefix: list[str], link: str, match: list[str], rate: str
    ) -> Iterator[None]:
        """UDP on ``link`` matching ``match`` (a tc u32 match) goes to an HTB class of
        ``rate`` with room for two packets (this machine's kernel has no tc actions, and HTB
        but no prio); the rest passes."""
        dev = ["dev", link]
        steps = [
            ["qdisc", "add", *dev, "root", "handle", "1:", "htb", "default", "10"],
            ["class", "add", *dev, "parent", "1:", "classid", "1:10", "htb", "rate", "10gbit"],
            ["class", "add", *dev, "parent", "1:", "classid", "1:20", "htb", "rate", rate],
            ["qdisc", "add", *dev, "parent", "1:20", "pfifo", "limit", "2"],
            ["filter", "add", *dev, "parent", "1:", "protocol", "ip", "prio", "1", "u32",
             "match", "ip", "protocol", "17", "0xff", "match", *match, "flowid", "1:20"],
        ]  # fmt: skip
        try:
            for step in steps:
                subprocess.run([*prefix, "tc", *step], check=True, capture_output=True, text=True)
            yield
        finally:
            subprocess.run([*prefix, "tc", "qdisc", "del", *dev, "root"], capture_output=True)


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, text=True)


@contextlib.contextmanager
def veth_namespace(tag: str = "") -> Iterator[Namespace]:
    pid = os.getpid()
    name = f"jcsfu{tag}{pid}"
    outside, inside = f"jco{tag}{pid}"[:15], f"jci{tag}{pid}"[:15]
    subnet = f"10.213.{pid % 250}"
    ns = Namespace(name, f"{subnet}.1", f"{subnet}.2", outside, inside)
    try:
        _ip("netns", "add", name)
        _ip("link", "add", outside, "type", "veth", "peer", "name", inside)
        _ip("link", "set", inside, "netns", name)
        _ip("addr", "add", f"{ns.outside_ip}/30", "dev", outside)
        _ip("link", "set", outside, "up")
        _ip("netns", "exec", name, "ip", "addr", "add", f"{ns.inside_ip}/30", "dev", inside)
        _ip("netns", "exec", name, "ip", "link", "set", inside, "up")
        _ip("netns", "exec", name, "ip", "link", "set", "lo", "up")
        yield ns
    finally:
        with contextlib.suppress(subprocess.CalledProcessError):
            _ip("link", "del", outside)  # its peer goes with it
        with contextlib.suppress(subprocess.CalledProcessError):
            _ip("netns", "del", name)
