"""``possim fleet``: N simulated terminals paying through an acquirer host, under Locust.

    possim fleet --terminals 200 --rate 100 --duration 60 --host tcp://127.0.0.1:8583
                 [--workers W] [--mix FILE] [--web] [--results DIR] [--timeout SECONDS]

Headless by default, with a one-line progress display on stderr; ``--workers W`` (W > 1)
starts a Locust master and W worker processes on this machine; ``--web`` serves Locust's own
web UI (its charts) and starts the run at once. At the end: one summary line, then the
reconciliation: every terminal settles with the host (0500: the host's ledger and the
terminal's journal must agree), and the journals' transactions must be Locust's requests.
Exit status 0 when everything agrees, 1 saying what differs.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import random
import socket
import string
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..acquirer import parse_acquirer_url
from .mix import DEFAULT_MIX, Mix

__all__ = ["add_fleet_arguments", "run_fleet", "FleetReport", "read_report"]

LOCUSTFILE = Path(__file__).with_name("locustfile.py")


def add_fleet_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--terminals", type=int, required=True, help="how many terminals")
    parser.add_argument(
        "--rate", type=float, required=True, help="transactions a second, the fleet in all"
    )
    parser.add_argument("--duration", type=float, required=True, help="seconds of load")
    parser.add_argument("--host", required=True, metavar="tcp://HOST:PORT", help="the acquirer")
    parser.add_argument("--workers", type=int, default=1, help="Locust worker processes (1)")
    parser.add_argument("--mix", help="the transaction mix (an INI file; see docs/scale.md)")
    parser.add_argument("--web", action="store_true", help="serve Locust's web UI while it runs")
    parser.add_argument("--web-port", type=int, default=8089, help="the web UI's port (8089)")
    parser.add_argument("--results", help="keep Locust's CSV files and the workers' results here")
    parser.add_argument(
        "--timeout", type=float, default=15.0, help="seconds a transaction may take (15)"
    )
    parser.add_argument(
        "--run-id",
        help="two letters naming the run in the terminals' ids (DE 41: XY000001...); random by"
        " default, so that a host that outlives a run does not take new terminals for old ones",
    )


def _fail(text: str) -> int:
    print(f"possim: {text}", file=sys.stderr)
    return 2


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def run_fleet(args: argparse.Namespace) -> int:
    if importlib.util.find_spec("locust") is None:
        return _fail("possim fleet needs Locust: pip install -e '.[fleet]'")
    if args.terminals < 1 or args.rate <= 0 or args.duration <= 0 or args.workers < 1:
        return _fail("--terminals and --workers are at least 1, --rate and --duration over 0")
    if args.terminals > 50_000 * args.workers or args.workers > 9:
        return _fail("at most 50000 terminals a worker, and 9 workers")
    run_id = args.run_id or "".join(random.choice(string.ascii_uppercase) for _ in range(2))
    if len(run_id) != 2 or not run_id.isascii() or not run_id.isalpha():
        return _fail("--run-id is two letters")
    try:
        parse_acquirer_url(args.host)
        mix_text = Path(args.mix).read_text(encoding="utf-8") if args.mix else DEFAULT_MIX
        Mix.parse(mix_text)
    except (OSError, ValueError) as e:
        return _fail(str(e))
    results = Path(args.results or tempfile.mkdtemp(prefix="possim-fleet-"))
    results.mkdir(parents=True, exist_ok=True)
    for old in [*results.glob("worker-*.json"), *results.glob("*.json")]:
        old.unlink(missing_ok=True)
    env = dict(
        os.environ,
        POSSIM_FLEET_DIR=str(results),
        POSSIM_FLEET_RATE=repr(args.rate / args.terminals),
        POSSIM_FLEET_TIMEOUT=repr(args.timeout),
        POSSIM_FLEET_DURATION=repr(args.duration),
        POSSIM_FLEET_WORKERS=str(args.workers),
        POSSIM_FLEET_RUN=run_id.upper(),
        POSSIM_FLEET_MIX=str(Path(args.mix).resolve()) if args.mix else "",
    )
    spawn_rate = max(10.0, args.terminals / 2)  # all terminals in within about 2 s
    common = [
        sys.executable,
        "-m",
        "locust",
        "-f",
        str(LOCUSTFILE),
        "--loglevel",
        os.environ.get("POSSIM_FLEET_LOGLEVEL", "WARNING"),
    ]
    master = [
        *common,
        "-u",
        str(args.terminals),
        "-r",
        repr(spawn_rate),
        "--host",
        args.host,
        "--csv",
        str(results / "stats"),
        "--stop-timeout",
        f"{args.timeout + 5:g}",
        "--exit-code-on-error",
        "0",
    ]
    if args.web:
        master += ["--autostart", "--web-host", "127.0.0.1", "--web-port", str(args.web_port)]
    else:
        master += ["--headless", "--only-summary"]
    workers: list[subprocess.Popen[bytes]] = []
    if args.workers > 1:
        port = _free_port()
        master += ["--master", "--expect-workers", str(args.workers)]
        master += ["--master-bind-port", str(port)]
        worker_command = [*common, "--worker", "--master-port", str(port)]
    log = (results / "locust.log").open("wb")
    started = time.monotonic()
    process = subprocess.Popen(master, env=env, stdout=log, stderr=subprocess.STDOUT)
    if args.workers > 1:
        workers = [
            subprocess.Popen(worker_command, env=env, stdout=log, stderr=subprocess.STDOUT)
            for _ in range(args.workers)
        ]
    if args.web:
        print(
            f"possim: Locust's web UI, while the run lasts: http://127.0.0.1:{args.web_port}",
            file=sys.stderr,
            flush=True,
        )
    try:
        while process.poll() is None:
            _progress(results, time.monotonic() - started, args.duration)
            time.sleep(1.0)
    except KeyboardInterrupt:
        process.terminate()
    finally:
        process.wait()
        for worker in workers:
            try:
                worker.wait(timeout=args.timeout + 30)
            except subprocess.TimeoutExpired:
                worker.kill()
        log.close()
        print(file=sys.stderr)
    report = read_report(results)
    report.expected_workers = args.workers
    print(report.summary(args.terminals, args.duration))
    problems = report.problems(args.terminals)
    for problem in problems:
        print(f"possim: does not reconcile: {problem}", file=sys.stderr)
    if process.returncode not in (0, None) and not problems:
        problems.append(f"Locust exited with status {process.returncode} (see {log.name})")
        print(f"possim: {problems[-1]}", file=sys.stderr)
    return 1 if problems else 0


def _progress(results: Path, elapsed: float, duration: float) -> None:
    """One line, rewritten: time, transactions and failures so far (the locustfile writes
    Locust's totals each second)."""
    done = failed = 0
    try:
        done, failed = json.loads((results / "progress.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        pass
    shown = min(elapsed, duration)
    print(
        f"\rfleet: {shown:5.0f}/{duration:g} s  {done} transactions  {failed} failed",
        end="",
        file=sys.stderr,
        flush=True,
    )


@dataclass
class KindFigures:
    count: int
    failures: int
    p50: float
    p95: float
    p99: float


@dataclass
class FleetReport:
    """What Locust counted and what the workers' terminals say, after a run."""

    kinds: dict[str, KindFigures] = field(default_factory=dict)
    total: KindFigures | None = None
    terminals: int = 0
    journal: Counter[str] = field(default_factory=Counter)
    reconciliation: Counter[str] = field(default_factory=Counter)
    settle_errors: int = 0
    workers: int = 0
    cut_off: int = 0  # cut off mid-way by the stop: journaled, reversed, never reported
    by_worker: dict[str, int] = field(default_factory=dict)  # Locust's count per worker
    reported_by: set[str] = field(default_factory=set)  # the workers whose results came
    expected_workers: int = 1

    def summary(self, terminals: int, duration: float) -> str:
        total = self.total or KindFigures(0, 0, 0, 0, 0)
        kinds = ", ".join(f"{k} {f.count}" for k, f in sorted(self.kinds.items()))
        return (
            f"fleet: {terminals} terminals, {total.count} transactions in {duration:g} s "
            f"({total.count / duration:,.1f}/s): {kinds or 'none'}; p50/p95/p99 "
            f"{total.p50:g}/{total.p95:g}/{total.p99:g} ms; {total.failures} errors; "
            f"{self.cut_off} cut off by the stop and reversed; settled in balance "
            f"{self.reconciliation.get('in balance', 0)} of {self.terminals} terminals"
            + (
                f" ({self.reconciliation['nothing to settle']} with nothing to settle)"
                if self.reconciliation.get("nothing to settle")
                else ""
            )
            + (
                f"; {len(self.lost)} worker(s) lost with their terminals and "
                f"{sum(self.lost.values())} transactions, not reconciled"
                if self.lost
                else ""
            )
        )

    @property
    def lost(self) -> dict[str, int]:
        """Workers Locust heard from whose results never came (killed): what they reported."""
        if self.expected_workers <= 1:
            return {}
        return {w: n for w, n in self.by_worker.items() if w not in self.reported_by}

    def problems(self, terminals: int) -> list[str]:
        found = []
        if self.workers == 0:
            return ["no worker wrote its results: the run did not finish"]
        lost = self.lost
        if self.terminals != terminals and not lost:
            found.append(f"{self.terminals} terminals reported, not {terminals}")
        # a lost worker's terminals (and their journals) went with it: what it reported to
        # Locust is left out, and the rest must still agree
        requests = (self.total.count if self.total else 0) - sum(lost.values())
        if self.journal.get("transactions", 0) != requests + self.cut_off:
            found.append(
                f"the journals hold {self.journal.get('transactions', 0)} transactions, "
                f"Locust counted {requests} and {self.cut_off} were cut off by the stop"
            )
        if self.journal.get("unfinished", 0):
            found.append(f"{self.journal['unfinished']} transactions left unfinished")
        unbalanced = {
            k: v
            for k, v in self.reconciliation.items()
            if k not in ("in balance", "nothing to settle")
        }
        if unbalanced or self.settle_errors:
            found.append(
                f"settlement: {dict(unbalanced)}, {self.settle_errors} terminals could not settle"
            )
        else:
            settled = sum(self.reconciliation.values())  # a verdict per terminal (EUR only)
            if settled < self.terminals:
                found.append(f"{self.terminals - settled} terminals did not settle")
        return found


def _figures(data: dict[str, Any]) -> KindFigures:
    return KindFigures(
        int(data["count"]), int(data["failures"]), data["p50"], data["p95"], data["p99"]
    )


def read_report(results: Path) -> FleetReport:
    report = FleetReport()
    try:
        stats = json.loads((results / "locust.json").read_text(encoding="utf-8"))
        report.total = _figures(stats["total"])
        report.kinds = {name: _figures(f) for name, f in stats["kinds"].items()}
        report.by_worker = {k: int(v) for k, v in stats.get("by_worker", {}).items()}
    except (OSError, ValueError, KeyError):
        pass
    for path in sorted(results.glob("worker-*.json")):
        data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        report.workers += 1
        report.terminals += int(data["terminals"])
        report.journal.update(data["journal"])
        report.reconciliation.update(data["reconciliation"])
        report.settle_errors += int(data["settle_errors"])
        report.cut_off += int(data["cut_off"])
        report.reported_by.add(str(data.get("client_id", "")))
    return report
