"""Profile our server under one bench workload with py-spy (``pip install py-spy``).

    python -m bench.profile fanout --seconds 20 [--ours-path /tmp/jc-opt] [--nice -10] [--kind ours_stock|ours_redis]

Starts ours as ``bench.run`` does, samples the server process with ``py-spy record`` while
the workload runs, and prints where the server's time goes: the top functions by own time and
by total time (from the collapsed stacks, also kept in ``bench/results/profile-<name>.txt``).
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import subprocess
import sys
from pathlib import Path

from . import run as bench

PYSPY = Path(sys.executable).with_name("py-spy")


def summarize(collapsed: Path, top: int) -> str:
    own: collections.Counter[str] = collections.Counter()
    total: collections.Counter[str] = collections.Counter()
    samples = 0
    for line in collapsed.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack:
            continue
        count = int(count_text)
        frames = [f.split(" (")[0] + " " + f.split(" (")[-1].rstrip(")").split(":")[0].split("/")[-1]
                  for f in stack.split(";")]  # fmt: skip
        samples += count
        own[frames[-1]] += count
        for frame in set(frames):
            total[frame] += count
    lines = [f"{samples} samples", "", "own time:"]
    lines += [f"  {100 * n / samples:5.1f}%  {f}" for f, n in own.most_common(top)]
    lines += ["", "total time (inclusive):"]
    lines += [f"  {100 * n / samples:5.1f}%  {f}" for f, n in total.most_common(top * 2)]
    return "\n".join(lines)


async def main(args: argparse.Namespace) -> None:
    bench.PRIORITY = args.nice
    bench.ensure_node_modules()
    bench.RESULTS.mkdir(exist_ok=True)
    # --kind ours_redis: the server on a redis-server of its own (the first process of a
    # two-process kind is the one sampled)
    server = bench.start_server(args.kind, args.ours_path, [])
    suffix = "" if args.kind == "ours" else f"-{args.kind}"
    out = bench.RESULTS / f"profile-{args.workload}{suffix}.txt"
    spy = subprocess.Popen(  # noqa: ASYNC220 (started once, before the workload)
        [str(PYSPY), "record", "--pid", str(server.process.pid), "--rate", "200",
         "--format", "raw", "--output", str(out), "--duration", str(int(args.seconds) + 30)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        await asyncio.sleep(1)
        if args.workload == "fanout":
            result = await bench.fanout(server, args.rooms, args.seconds, 1)
        else:
            result = await bench.latejoin(server, args.ops, 5)
        print(bench.summary(result))
    finally:
        spy.send_signal(2)  # py-spy writes its output on SIGINT
        spy.wait(timeout=30)
        server.stop()
    print(summarize(out, args.top))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("workload", choices=["fanout", "latejoin"])
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--rooms", type=int, default=1)
    parser.add_argument("--ops", type=int, default=10_000)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--nice", type=int, default=0)
    parser.add_argument("--ours-path")
    parser.add_argument("--kind", default="ours", choices=["ours", "ours_stock", *bench.REDIS])
    asyncio.run(main(parser.parse_args()))
