"""Fleet benchmark: what a terminal of a fleet costs in memory, and how throughput grows from
one Locust worker to two, each against a `possim host` on this machine.

    python scripts/bench_fleet.py [--terminals 1000] [--duration 30] [--scale-duration 20]

1. ``--terminals`` terminals in one worker at 0.2 checkouts a second each: the worker's
   resident memory before any terminal, once all run, and when the run stops, per terminal
   (measured by the worker itself, from /proc/self/statm).
2. 200 terminals asked for more than they can do (5,000 checkouts a second), with one worker
   and then two: transactions a second, and the ratio; with the host's and the machine's
   CPU over each run, to show which was the bottleneck.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from driver.testing import spawn_host  # noqa: E402


def fleet(url: str, results: Path, *args: str) -> tuple[str, float]:
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "driver.cli", "fleet", "--host", url, "--results", str(results)]
        + list(args),
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"possim fleet failed: {done.stderr[-2000:]}")
    return done.stdout.strip().splitlines()[-1], time.monotonic() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--terminals", type=int, default=1000)
    parser.add_argument("--duration", type=float, default=30)
    parser.add_argument("--scale-duration", type=float, default=20)
    args = parser.parse_args()
    print(f"python {platform.python_version()}, {platform.machine()}, {os.cpu_count()} cores")
    host, url = spawn_host()
    try:
        with tempfile.TemporaryDirectory() as directory:
            results = Path(directory)
            rate = args.terminals * 0.2
            summary, _ = fleet(
                url,
                results,
                *("--terminals", str(args.terminals), "--rate", f"{rate:g}"),
                *("--duration", f"{args.duration:g}"),
            )
            [worker] = [json.loads(p.read_text()) for p in results.glob("worker-*.json")]
            n = worker["terminals"]
            running = (worker["rss_all_running"] - worker["rss_at_start"]) / n / 1024
            stopped = (worker["rss_at_stop"] - worker["rss_at_start"]) / n / 1024
            per = worker["journal"]["transactions"] / n
            print(f"\n{summary}")
            print(
                f"memory a terminal, one worker of {n}: {running:.0f} KB once all run, "
                f"{stopped:.0f} KB when the run stops ({per:.1f} transactions each)"
            )
        figures = {}
        for workers in (1, 2):
            with tempfile.TemporaryDirectory() as directory:
                host_cpu = psutil.Process(host.pid).cpu_times()
                machine = psutil.cpu_times()
                summary, wall = fleet(
                    url,
                    Path(directory),
                    *("--terminals", "200", "--rate", "5000", "--workers", str(workers)),
                    *("--duration", f"{args.scale_duration:g}"),
                )
                host_after, machine_after = psutil.Process(host.pid).cpu_times(), psutil.cpu_times()
                stats = json.loads((Path(directory) / "locust.json").read_text())
            rate = stats["total"]["count"] / args.scale_duration
            figures[workers] = rate
            host_busy = (
                host_after.user + host_after.system - host_cpu.user - host_cpu.system
            ) / wall
            idle = (machine_after.idle - machine.idle) / wall / (os.cpu_count() or 1)
            print(f"\n{workers} worker(s): {summary}")
            print(
                f"  {rate:,.0f} transactions/s; over the whole command ({wall:.0f} s: start, "
                f"load, settlement) the host used {host_busy * 100:.0f} % of a core and the "
                f"machine was {idle * 100:.0f} % idle"
            )
        print(f"\n2 workers / 1 worker: {figures[2] / figures[1]:.2f}x")
    finally:
        host.kill()
        host.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
