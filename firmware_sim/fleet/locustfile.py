"""The possim locustfile: each Locust user is one simulated terminal (a
:class:`~firmware_sim.fleet.checkout.FleetTerminal`), paying through the acquirer host at
``--host tcp://HOST:PORT`` as the mix says. `possim fleet` runs it; so can Locust itself:

    POSSIM_FLEET_RATE=2 locust -f firmware_sim/fleet/locustfile.py --host tcp://127.0.0.1:8583

Each transaction is reported to Locust under its kind with its latency: approvals and
declines are successes; an error, a time-out, and a host that does not answer (91) are
failures. When a user stops, its terminal settles (0500 per currency: the host says whether
its totals agree) and its journal's counts go into this worker's results file
(``$POSSIM_FLEET_DIR``), which `possim fleet` reconciles with Locust's counts.

Environment: POSSIM_FLEET_MIX (a mix file, else the default mix), POSSIM_FLEET_RATE
(transactions a second per terminal; 0: think times from the mix), POSSIM_FLEET_DIR,
POSSIM_FLEET_TIMEOUT (seconds a transaction may take, default 15).
"""

from __future__ import annotations

import itertools
import json
import os
import random
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import gevent
from locust import User, constant_throughput, events, task
from locust.runners import STATE_MISSING, MasterRunner, WorkerRunner

from firmware_sim.fleet.checkout import CheckoutError, FleetTerminal, Outcome
from firmware_sim.fleet.mix import DEFAULT_MIX, Mix
from firmware_sim.testing import shipped_store

MIX = Mix.parse(
    Path(os.environ["POSSIM_FLEET_MIX"]).read_text()
    if os.environ.get("POSSIM_FLEET_MIX")
    else DEFAULT_MIX
)
RATE = float(os.environ.get("POSSIM_FLEET_RATE", "0"))
TIMEOUT = float(os.environ.get("POSSIM_FLEET_TIMEOUT", "15"))
DURATION = float(os.environ.get("POSSIM_FLEET_DURATION", "0"))  # seconds; 0: Locust's own
REPORT_WAIT = 1.0  # for a worker's last report to reach the master
TERMINALS_PER_WORKER = 50_000  # 9 workers of 50,000: DUKPT device numbers stay under 2^19
RUN = os.environ.get("POSSIM_FLEET_RUN", "F0")[:2]  # two letters naming the run in DE 41
_numbers = itertools.count(1)


def _rss() -> int:
    """This process's resident memory, in bytes (Linux)."""
    try:
        return int(Path("/proc/self/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


RESULTS: dict[str, Any] = {
    "rss_at_start": _rss(),  # before any terminal, for the memory a terminal takes
    "rss_all_running": 0,  # once the last terminal of this process started
    "rss_at_stop": 0,  # when the run stopped, before settlement
    "terminals": 0,
    "journal": Counter(),
    "reconciliation": Counter(),
    "settle_errors": 0,
    "reported": 0,  # transactions this process reported to Locust
    "cut_off": 0,  # transactions the stop cut off mid-way: reversed at the restart
    "client_id": "",  # this worker's id at the master
}
BY_WORKER: Counter[str] = Counter()  # at the master: requests each worker reported


def _amount(rng: random.Random, ending: int | None = None) -> int:
    """An amount in cents that no test outcome picks (00-99 but 05, 10, 51, 91), or one
    ending in ``ending``."""
    cents = rng.choice([c for c in range(100) if c not in (5, 10, 51, 91)])
    return rng.randint(1, 199) * 100 + (cents if ending is None else ending)


def _sale(t: FleetTerminal, rng: random.Random) -> list[Outcome]:
    return [t.sale(_amount(rng))]


def _decline(t: FleetTerminal, rng: random.Random) -> list[Outcome]:
    return [replace(t.sale(_amount(rng, 51)), kind="decline")]


def _refund(t: FleetTerminal, rng: random.Random) -> list[Outcome]:
    sale = t.sale(_amount(rng))
    if not sale.approved:
        return [sale]
    return [sale, t.refund(max(1, sale.amount // 2), "EUR", sale.reference)]


def _preauth(t: FleetTerminal, rng: random.Random) -> list[Outcome]:
    hold = t.preauth(_amount(rng))
    if not hold.approved:
        return [hold]
    return [hold, t.complete(hold.reference, max(1, hold.amount - 100))]


def _cancel(t: FleetTerminal, rng: random.Random) -> list[Outcome]:
    return [t.cancelled_sale(_amount(rng))]


RUNS: dict[str, Callable[[FleetTerminal, random.Random], list[Outcome]]] = {
    "sale": _sale,
    "decline": _decline,
    "refund": _refund,
    "preauth": _preauth,
    "cancel": _cancel,
}


class TerminalUser(User):
    """One terminal of the fleet."""

    def wait_time(self) -> float:
        if RATE > 0:
            return float(constant_throughput(RATE)(self))
        return random.uniform(*MIX.think)

    def on_start(self) -> None:
        runner = self.environment.runner
        worker = runner.worker_index if isinstance(runner, WorkerRunner) else 0
        number = worker * TERMINALS_PER_WORKER + next(_numbers)
        self.terminal = FleetTerminal(
            number,
            self.host or "",
            shipped_store(),
            timeout=TIMEOUT,
            terminal_id=f"{RUN}{number:06d}",
        )
        self.rng = random.Random(number)
        RESULTS["terminals"] += 1
        RESULTS["rss_all_running"] = _rss()

    @task
    def transact(self) -> None:
        """One checkout, in a greenlet of its own: Locust stops users by killing their
        greenlets, even mid-task, and a checkout cut off mid-authorization would have to be
        reversed. This one runs to its end (and its report) whatever happens to the user."""
        checkout = gevent.spawn(self._checkout)
        IN_FLIGHT.add(checkout)
        checkout.link(IN_FLIGHT.discard)
        checkout.join()

    def _checkout(self) -> None:
        kind = MIX.pick(self.rng)
        started = time.perf_counter()
        try:
            outcomes = RUNS[kind](self.terminal, self.rng)
        except CheckoutError as e:
            self._report(kind, time.perf_counter() - started, e)
            return
        for outcome in outcomes:
            failure = None
            if outcome.response_code == "91":  # no answer from the host in time
                failure = CheckoutError(f"{outcome.kind}: the host did not answer (91)")
            self._report(outcome.kind, outcome.seconds, failure)

    def _report(self, kind: str, seconds: float, failure: Exception | None) -> None:
        RESULTS["reported"] += 1
        self.environment.events.request.fire(
            request_type="possim",
            name=kind,
            response_time=seconds * 1000,
            response_length=0,
            exception=failure,
            context={},
        )

    def on_stop(self) -> None:
        STOPPED.append(self.terminal)


STOPPED: list[FleetTerminal] = []
IN_FLIGHT: set[Any] = set()  # checkouts still running (their users may be gone)


def _settle_all(**_: Any) -> None:
    """Once every user of this process has stopped: each terminal that was cut off mid-way
    restarts (its cold start reverses what it had not finished), settles (0500: the host
    says whether its totals agree), and its journal is counted."""
    RESULTS["rss_at_stop"] = _rss()
    gevent.joinall(list(IN_FLIGHT), timeout=TIMEOUT + 5)  # let every checkout end
    while STOPPED:
        terminal = STOPPED.pop()
        try:
            RESULTS["cut_off"] += terminal.restart() if not terminal.idle else 0
            verdicts = terminal.settle()
            RESULTS["reconciliation"].update(verdicts.values() or ["nothing to settle"])
        except Exception:  # noqa: BLE001 - counted; the others still settle
            RESULTS["settle_errors"] += 1
        RESULTS["journal"].update(terminal.journal.counts())
        terminal.close()


def _stats(environment: Any) -> dict[str, Any]:
    """Locust's figures as they stand: per kind and in all."""

    def figures(entry: Any) -> dict[str, float]:
        return {
            "count": entry.num_requests,
            "failures": entry.num_failures,
            "p50": entry.get_response_time_percentile(0.50) or 0,
            "p95": entry.get_response_time_percentile(0.95) or 0,
            "p99": entry.get_response_time_percentile(0.99) or 0,
        }

    stats = environment.stats
    kinds = {name: figures(entry) for (name, _), entry in stats.entries.items()}
    return {"kinds": kinds, "total": figures(stats.total), "by_worker": dict(BY_WORKER)}


def _write_results(environment: Any, **_: Any) -> None:
    """This process's terminals' results (once), and, from the master or the only process,
    Locust's final figures (once)."""
    directory = os.environ.get("POSSIM_FLEET_DIR")
    if not directory:
        return
    mine = Path(directory) / f"worker-{os.getpid()}.json"
    if isinstance(environment.runner, WorkerRunner):
        RESULTS["client_id"] = environment.runner.client_id
    if not isinstance(environment.runner, MasterRunner) and not mine.exists():
        mine.write_text(json.dumps(RESULTS))
    final = Path(directory) / "locust.json"
    if not isinstance(environment.runner, WorkerRunner) and not final.exists():
        final.write_text(json.dumps(_stats(environment)))


def _quit(environment: Any) -> None:
    """The run is over: quit, and close the web UI if one serves (it keeps the process up)."""
    environment.runner.quit()
    if environment.web_ui is not None:
        environment.web_ui.stop()


def _run_for_duration(environment: Any, **_: Any) -> None:
    """End the run after POSSIM_FLEET_DURATION seconds, in an order that loses no count:
    each worker (or the only process) stops its users, settles its terminals, sends Locust
    its last figures and writes its results; the master waits for every worker's results,
    keeps Locust's final figures, then quits. (Locust's --run-time quits the master before
    the workers' last reports arrive, and its counts fall short of the journals.)"""
    directory = os.environ.get("POSSIM_FLEET_DIR", "")
    workers = int(os.environ.get("POSSIM_FLEET_WORKERS", "1"))
    runner = environment.runner
    if not DURATION:
        return

    def stop_here() -> None:
        gevent.sleep(DURATION)
        runner.stop()  # the users stop; test_stop settles the terminals
        if isinstance(runner, WorkerRunner):
            runner._send_stats()  # the last figures, before the master counts them
        _write_results(environment)
        if not isinstance(runner, WorkerRunner):
            _quit(environment)

    def stop_master() -> None:
        gevent.sleep(DURATION)
        deadline = time.monotonic() + TIMEOUT + 120
        while time.monotonic() < deadline:
            # every worker still there has written its results (a lost one never will)
            alive = [c for c in runner.clients.all if c.state != STATE_MISSING]
            if len(list(Path(directory).glob("worker-*.json"))) >= min(workers, len(alive)):
                break
            gevent.sleep(0.2)
        gevent.sleep(REPORT_WAIT)  # the workers' last reports, sent before their results
        _write_results(environment)
        _quit(environment)

    gevent.spawn(stop_master if isinstance(runner, MasterRunner) else stop_here)


def _report_progress(environment: Any, **_: Any) -> None:
    """For the one-line progress display: Locust's totals each second, in a small file."""
    directory = os.environ.get("POSSIM_FLEET_DIR")
    if not directory or isinstance(environment.runner, WorkerRunner):
        return

    def loop() -> None:
        target = Path(directory) / "progress.json"
        while True:
            total = environment.stats.total
            fresh = target.with_suffix(".new")
            fresh.write_text(json.dumps([total.num_requests, total.num_failures]))
            fresh.replace(target)
            gevent.sleep(1.0)

    gevent.spawn(loop)


def _count_worker(client_id: str, data: dict[str, Any], **_: Any) -> None:
    BY_WORKER[client_id] += int(data.get("stats_total", {}).get("num_requests", 0))


events.worker_report.add_listener(_count_worker)  # type: ignore[no-untyped-call]
events.test_start.add_listener(_run_for_duration)  # type: ignore[no-untyped-call]
events.test_stop.add_listener(_settle_all)  # type: ignore[no-untyped-call]
events.quitting.add_listener(_write_results)  # type: ignore[no-untyped-call]
events.init.add_listener(_report_progress)  # type: ignore[no-untyped-call]
