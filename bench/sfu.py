"""Workload of bench/: one camera watched by 1, 5, 10 and 20 viewers, through the mesh and
through the SFU (Janus), side by side.

A publisher process of its own (``--role publisher``) creates a room and publishes a test
pattern (moving bars and a frame counter, so every frame carries a real payload); the bench
process then adds aiortc viewers, 1, then up to 5, 10 and 20. Mesh: our server in its default
``video_mode``, the publisher's ``MediaPeer`` offers to each viewer over ``rtc:signal`` and
sends (and encodes) one copy per viewer. SFU: our server with ``video_mode = "sfu"`` and its
managed Janus, run in a network namespace the bench makes (``tests/netns.py``: Janus gathers no
loopback candidates); the publisher's ``SfuPeer`` sends one stream to Janus, which forwards it.

With every viewer decoding, for ``--window`` seconds: the publisher's upload (the RTP bytes its
connections sent, from aiortc's outbound-rtp stats), the publisher process's CPU, the frames
each viewer received, and for the SFU Janus's CPU (``/proc/<pid>/stat``). Then, SFU and mesh:
join → first frame for a newcomer (its ``room:join`` to its first decoded frame) while the
twenty watch. Needs root (network namespaces) and the Debian package ``janus``.

    python -m bench.sfu                # both modes, prints and writes its docs/performance.md section
    python -m bench.sfu --quick --no-write
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import statistics
import sys
import time
from contextlib import AsyncExitStack
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import psutil
from aiortc import RTCPeerConnection
from aiortc.stats import RTCOutboundRtpStreamStats

from jupyter_classroom.client.connection import Connection
from jupyter_classroom.media import MediaPeer, SfuPeer, TestPatternTrack

from .run import DOC, RESULTS, ROOT, CpuMeter, Server, log, prioritize, start_process

COUNTS = (1, 5, 10, 20)
JOINS = 5  # newcomers timed, join → first frame
CAMERA: dict[str, Any] = {"width": 320, "height": 180, "fps": 15.0}
JANUS_RTP_PORTS = (43000, 43999)
START, END = "<!-- bench-sfu:start -->", "<!-- bench-sfu:end -->"
HEADING = "## Video: one camera to many viewers, mesh vs SFU"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


# ------------------------------------------------------------------------------------------
# the publisher (its own process, so its CPU is its own)


async def upload(pcs: list[RTCPeerConnection]) -> int:
    total = 0
    for pc in pcs:
        stats = await pc.getStats()
        total += sum(s.bytesSent for s in stats.values()
                     if isinstance(s, RTCOutboundRtpStreamStats) and s.kind == "video")  # fmt: skip
    return total


async def publisher(url: str, token: str, mode: str) -> None:
    """Create a room, publish the test pattern, then answer ``STATS`` lines on stdin with
    the RTP bytes sent so far (every connection), until ``QUIT``."""
    conn = Connection(url, headers={"Authorization": f"token {token}"}, name="teacher")
    await conn.connect()
    room = await conn.create_room(f"bench {mode}")
    camera = TestPatternTrack(width=CAMERA["width"], height=CAMERA["height"], fps=CAMERA["fps"])
    peer: SfuPeer | MediaPeer
    if mode == "sfu":
        peer = SfuPeer(conn, room.id, watch=False)
        await peer.publish(camera)
    else:
        peer = MediaPeer(conn, room.id)
        await peer.start()
        await peer.publish(camera)
    print(f"ROOM {room.id} {peer.member_id}", flush=True)
    while line := await asyncio.to_thread(sys.stdin.readline):
        if line.strip() == "QUIT":
            break
        if isinstance(peer, SfuPeer):
            pcs = [peer.sending] if peer.sending is not None else []
        else:
            pcs = [link.pc for link in peer.links.values() if not link.closed]
        stats = {"bytes": await upload(pcs), "connections": len(pcs), "frames": camera.frames_sent}
        print("STATS " + json.dumps(stats), flush=True)
    await peer.close()
    await conn.close()


class Publisher:
    """The driver's handle on the publisher process."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self.ps = psutil.Process(process.pid)

    @classmethod
    async def start(cls, server: Server, mode: str) -> tuple[Publisher, str, str]:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bench.sfu", "--role", "publisher", "--mode", mode,
            "--url", server.url, "--token", server.token, cwd=ROOT,
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
            preexec_fn=prioritize, start_new_session=True,
        )  # fmt: skip
        self = cls(process)
        room_id, member_id = (await self.expect("ROOM", 60)).split()
        return self, room_id, member_id

    async def expect(self, prefix: str, timeout: float) -> str:
        assert self.process.stdout is not None
        while True:
            raw = await asyncio.wait_for(self.process.stdout.readline(), timeout)
            if not raw:
                raise RuntimeError(f"the publisher exited before {prefix}")
            if raw.startswith(prefix.encode()):
                return raw.decode()[len(prefix) :].strip()

    async def stats(self) -> dict[str, Any]:
        assert self.process.stdin is not None
        self.process.stdin.write(b"STATS\n")
        await self.process.stdin.drain()
        return dict(json.loads(await self.expect("STATS", 30)))

    async def stop(self) -> None:
        if self.process.returncode is None and self.process.stdin is not None:
            self.process.stdin.write(b"QUIT\n")
            try:
                await self.process.stdin.drain()
                await asyncio.wait_for(self.process.wait(), 15)
            except (TimeoutError, ConnectionError):
                self.process.kill()
                await self.process.wait()


# ------------------------------------------------------------------------------------------
# the viewers (this process) and the meters


def janus_cpu_seconds(pid: int) -> float:
    """utime + stime of a process, from /proc/<pid>/stat (fields 14 and 15)."""
    text = Path(f"/proc/{pid}/stat").read_text()
    fields = text[text.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def janus_pid(server: Server) -> int:
    for child in server.ps.children(recursive=True):
        if child.name() == "janus":
            return int(child.pid)
    raise RuntimeError("the server's managed Janus is not running")


class Viewers:
    def __init__(self, server: Server, mode: str, room_id: str, publisher_id: str) -> None:
        self.server, self.mode, self.room_id, self.publisher_id = (
            server, mode, room_id, publisher_id)  # fmt: skip
        self.peers: list[SfuPeer | MediaPeer] = []
        self.connections: list[Connection] = []

    async def add(self, name: str) -> tuple[SfuPeer | MediaPeer, float]:
        """A viewer joins and watches: its join → first decoded frame, in seconds."""
        conn = Connection(self.server.url, headers=self.server.headers, name=name)
        await conn.connect()
        self.connections.append(conn)
        peer: SfuPeer | MediaPeer
        joined_at = time.monotonic()
        if self.mode == "sfu":
            await conn.join(self.room_id)
            peer = SfuPeer(conn, self.room_id)
            self.peers.append(peer)
            await peer.start()
        else:  # listens first, answers the publisher's offer; offers to nobody itself
            peer = MediaPeer(conn, receive=("video",))
            peer.room_id = self.room_id
            self.peers.append(peer)
            await conn.join(self.room_id)
        video = await peer.wait_for_track(self.publisher_id, timeout=60)
        await video.wait_frames(1, timeout=60)
        assert video.first_frame_at is not None
        return peer, video.first_frame_at - joined_at

    def frames(self) -> list[int]:
        return [(v.frames if (v := p.video(self.publisher_id)) else 0) for p in self.peers]

    async def close(self) -> None:
        for peer in self.peers:
            await peer.close()
        for conn in self.connections:
            await conn.close()


async def measure_mode(mode: str, server: Server, window: float) -> dict[str, Any]:
    pub, room_id, publisher_id = await Publisher.start(server, mode)
    viewers = Viewers(server, mode, room_id, publisher_id)
    janus = janus_pid(server) if mode == "sfu" else None
    rows: list[dict[str, Any]] = []
    joins: list[float] = []
    try:
        for count in COUNTS:
            have = len(viewers.peers)
            await asyncio.gather(*[viewers.add(f"viewer{n}") for n in range(have, count)])
            await asyncio.sleep(2)  # the newcomers' keyframes are behind us
            meter = CpuMeter({"publisher": pub.ps, "server": server.ps})
            before, frames0 = await pub.stats(), viewers.frames()
            j0 = janus_cpu_seconds(janus) if janus else 0.0
            meter.start()
            await asyncio.sleep(window)
            cpu = meter.stop()
            after, frames1 = await pub.stats(), viewers.frames()
            wall = cpu["wall_s"]
            fps = [(b - a) / wall for a, b in zip(frames0, frames1, strict=True)]
            row = {
                "viewers": count,
                "upload_kbit_s": 8 * (after["bytes"] - before["bytes"]) / wall / 1000,
                "publisher_connections": after["connections"],
                "camera_fps": (after["frames"] - before["frames"]) / wall,
                "publisher_cpu_pct": cpu["publisher"],
                "server_cpu_pct": cpu["server"],
                "machine_busy_pct": cpu["machine_busy_pct"],
                "viewer_fps_mean": statistics.mean(fps),
                "viewer_fps_min": min(fps),
            }
            if janus:
                row["janus_cpu_pct"] = 100 * (janus_cpu_seconds(janus) - j0) / wall
                row["janus_cpu_pct_per_stream"] = row["janus_cpu_pct"] / count
            rows.append(row)
            log(f"{mode}: {count} viewers: " + ", ".join(f"{k} {v:.1f}" for k, v in row.items()))
        for n in range(JOINS):  # newcomers, one at a time, while the others watch
            peer, seconds = await viewers.add(f"newcomer{n}")
            joins.append(seconds)
            viewers.peers.remove(peer)
            await peer.close()
            if room_id in peer.connection.rooms:
                await peer.connection.leave(room_id)
        log(f"{mode}: join → first frame {', '.join(f'{s:.2f}' for s in joins)} s")
    finally:
        await viewers.close()
        await pub.stop()
    return {"rows": rows, "join_first_frame_s": joins,
            "join_first_frame_s_median": statistics.median(joins) if joins else None}  # fmt: skip


async def run_sfu(window: float = 10.0) -> dict[str, Any]:
    """Both modes, each on a fresh server; the figures and how they were taken."""
    from tests.netns import veth_namespace  # the test helper that makes the namespace

    if os.geteuid() != 0 or shutil.which("janus") is None or shutil.which("ip") is None:
        raise RuntimeError("bench.sfu needs root (network namespaces), janus and ip")
    report: dict[str, Any] = {
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "cores": psutil.cpu_count(logical=True),
        "load_before": list(os.getloadavg()),
        "window_s": window,
        "camera": CAMERA,
    }
    async with AsyncExitStack() as stack:
        ns = stack.enter_context(veth_namespace("b"))
        for mode in ("mesh", "sfu"):
            extra: list[str] = []
            if mode == "sfu":
                extra = ["--ClassroomApp.video_mode=sfu",
                         f"--ClassroomApp.janus_interface={ns.inside_ip}",
                         f"--ClassroomApp.janus_ice_enforce_list={ns.inside_ip}",
                         *[f"--ClassroomApp.janus_rtp_ports={p}" for p in JANUS_RTP_PORTS],
                         *[f"--ClassroomApp.janus_command_prefix={w}" for w in ns.prefix()]]  # fmt: skip
            log(f"sfu bench: {mode}")
            server = start_process(f"ours_{mode}", None, extra)
            try:
                report[mode] = await measure_mode(mode, server, window)
            finally:
                server.stop()
    report["load_after"] = list(os.getloadavg())
    return report


# ------------------------------------------------------------------------------------------
# the section of docs/performance.md


def markdown(report: dict[str, Any]) -> str:
    mesh, sfu = report["mesh"]["rows"], report["sfu"]["rows"]
    lines = [
        "| viewers | mesh upload | SFU upload | mesh publisher CPU | SFU publisher CPU "
        "| mesh viewer fps (min) | SFU viewer fps (min) | Janus CPU | Janus CPU per stream |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for m, s in zip(mesh, sfu, strict=True):
        lines.append(
            f"| {m['viewers']} | {m['upload_kbit_s']:,.0f} kbit/s | {s['upload_kbit_s']:,.0f} kbit/s "
            f"| {m['publisher_cpu_pct']:.0f}% | {s['publisher_cpu_pct']:.0f}% "
            f"| {m['viewer_fps_mean']:.1f} ({m['viewer_fps_min']:.1f}) "
            f"| {s['viewer_fps_mean']:.1f} ({s['viewer_fps_min']:.1f}) "
            f"| {s['janus_cpu_pct']:.1f}% | {s['janus_cpu_pct_per_stream']:.2f}% |"
        )
    joins = report["sfu"]["join_first_frame_s"]
    mesh_joins = report["mesh"]["join_first_frame_s"]
    busy = max(r["machine_busy_pct"] for r in mesh + sfu)
    # what one more forwarded stream costs Janus: the slope from the fewest to the most viewers
    slope = (sfu[-1]["janus_cpu_pct"] - sfu[0]["janus_cpu_pct"]) / (
        sfu[-1]["viewers"] - sfu[0]["viewers"])  # fmt: skip
    camera = report["camera"]
    target = "met" if joins and max(joins) < 1 else "not met"
    load = ", ".join(f"{v:.1f}" for v in report["load_before"])
    return f"""{START}
{HEADING}

Measured by `python -m bench.sfu` (also a part of `python -m bench.run`) on {report["date"]},
{report["cores"]} CPUs; load average before the run {load}; the busiest measuring window had
the whole machine at {busy:.0f}% of one core (everything: publisher, viewers, server, Janus and
whatever else ran). Everything runs on this one machine, so on a busy machine the figures
move; the ratios between the columns are what this table is for.

One publisher (an aiortc process of its own) sends a {camera["width"]}x{camera["height"]} test
pattern at {camera["fps"]:.0f} fps (moving bars and a frame counter: every frame has a payload);
aiortc viewers in the bench process watch it, 1, then 5, 10 and 20. **Mesh**: our server's
default video, the publisher's `MediaPeer` sends, and encodes, one copy per viewer over
`rtc:signal`. **SFU**: `video_mode = "sfu"` with the server's managed Janus in a network
namespace (a veth pair, as `tests/test_sfu.py`); the publisher's `SfuPeer` sends one stream
and Janus forwards it. Each row is a {report["window_s"]:.0f} s window with every viewer decoding:
upload = the RTP bytes the publisher's connections sent (aiortc outbound-rtp stats) per second;
publisher CPU = its process (psutil), in % of one core; viewer fps = frames each viewer
received, mean and lowest; Janus CPU = utime + stime of the `janus` process from
`/proc/<pid>/stat` over the window, and that divided by the number of forwarded streams.
Janus's cost per forwarded stream, from 1 to {sfu[-1]["viewers"]} viewers: **{slope:.2f}% of a core
per stream** ({sfu[0]["janus_cpu_pct"]:.1f}% → {sfu[-1]["janus_cpu_pct"]:.1f}%).

{chr(10).join(lines)}

Join → first frame (a newcomer's `room:join` to its first decoded frame while the others watch,
{len(joins)} newcomers one at a time; loopback and a veth, so no network delay: on a real
network add the round trips of ICE and DTLS): SFU median {report["sfu"]["join_first_frame_s_median"]:.2f} s
(max {max(joins):.2f} s; target < 1 s: **{target}**); mesh median
{report["mesh"]["join_first_frame_s_median"]:.2f} s (max {max(mesh_joins):.2f} s).
{END}"""


def write_section(section: str) -> None:
    """Put ``section`` in place of the previous one (between its markers), or at the end."""
    text = DOC.read_text() if DOC.exists() else "# Performance\n"
    if START in text and END in text:
        head, rest = text.split(START, 1)
        text = head + section + rest.split(END, 1)[1]
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    DOC.write_text(text)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--role", choices=("bench", "publisher"), default="bench")
    parser.add_argument("--mode", choices=("mesh", "sfu"), default="sfu")
    parser.add_argument("--url")
    parser.add_argument("--token")
    parser.add_argument("--quick", action="store_true", help="5 s windows instead of 10 s")
    parser.add_argument("--no-write", action="store_true", help="do not touch docs/")
    args = parser.parse_args()
    if args.role == "publisher":
        asyncio.run(publisher(args.url, args.token, args.mode))
        return
    report = asyncio.run(run_sfu(5.0 if args.quick else 10.0))
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "sfu.json").write_text(json.dumps(report, indent=1))
    section = markdown(report)
    print(section)
    if not args.no_write:
        write_section(section)
        log(f"wrote {DOC.relative_to(ROOT)} (between the bench-sfu markers)")


if __name__ == "__main__":
    main()
