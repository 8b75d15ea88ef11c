"""Fleets (issue 15): a fleet terminal is the real application driven by a scripted checkout,
paying through a real `possim host`; `possim fleet` runs many under Locust (in processes of
their own: Locust patches the process it runs in) and reconciles the host, Locust and the
journals."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from driver.testing import spawn_host
from firmware_sim.fleet.checkout import FleetTerminal
from firmware_sim.fleet.cli import _free_port
from firmware_sim.fleet.mix import Mix
from firmware_sim.testing import shipped_store
from keys import Pin
from protocols.codes import PinBlockFormat, TransactionStatus
from tests.miniclient import possim


@pytest.fixture
def host(tmp_path: Path) -> Iterator[str]:
    process, url = spawn_host("--ledger", str(tmp_path / "ledger.sqlite"))
    try:
        yield url
    finally:
        process.kill()
        process.wait()


def needs_locust() -> None:
    if importlib.util.find_spec("locust") is None:
        if os.environ.get("CI"):
            pytest.fail("CI installs the fleet extra (scripts/setup): Locust is missing")
        pytest.skip("Locust is not installed: pip install -e '.[fleet]'")


def test_a_fleet_terminal_pays_every_kind_online_and_settles_in_balance(host: str) -> None:
    store = shipped_store()
    one, two = FleetTerminal(1, host, store), FleetTerminal(2, host, store)
    try:
        sale = one.sale(1234)
        assert sale.approved and sale.seconds > 0
        assert one.refund(600, "EUR", sale.reference).approved
        hold = one.preauth(5000)
        assert one.complete(hold.reference, 4200).approved
        assert one.cancelled_sale(700).status is TransactionStatus.CANCELLED
        assert two.sale(1051).response_code == "51"  # declined by amount, as ever
        assert two.sale(999).approved
        assert one.settle() == {"EUR": "in balance"}
        assert two.settle() == {"EUR": "in balance"}
        assert one.journal.counts()["transactions"] == 5
        # each terminal its own PIN pad: another DUKPT device, so another KSN
        blocks = [
            t.core.pinpad.keys.encrypt(Pin("1234"), "4012345678909", PinBlockFormat.ISO_0)
            for t in (one, two)
        ]
        devices = {int.from_bytes(b.ksn, "big") >> 21 for b in blocks}  # counter bits off
        assert len(devices) == 2
    finally:
        one.close()
        two.close()


def test_mix_files_are_read_or_refused_with_the_reason() -> None:
    assert Mix.parse("[mix]\nsale = 1\n[think]\nmin = 0\nmax = 0\n").think == (0.0, 0.0)
    for bad, reason in [
        ("sale = 1", "not a mix file"),
        ("[other]\n", "[mix] section"),
        ("[mix]\nteleport = 1\n", "unknown kind"),
        ("[mix]\nsale = lots\n", "whole number"),
        ("[mix]\nsale = 0\n", "every weight is zero"),
        ("[mix]\nsale = 1\n[think]\nmin = 3\nmax = 1\n", "min <= max"),
    ]:
        with pytest.raises(ValueError, match=re.escape(reason)):
            Mix.parse(bad)


def run_fleet(host: str, results: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "driver.cli", "fleet", "--host", host, "--results", str(results)]
        + list(extra),
        capture_output=True,
        text=True,
        timeout=180,
    )


def test_possim_fleet_runs_headless_and_reconciles(host: str, tmp_path: Path) -> None:
    needs_locust()
    done = run_fleet(host, tmp_path, "--terminals", "12", "--rate", "24", "--duration", "3")
    assert done.returncode == 0, done.stderr[-2000:]
    summary = done.stdout.strip().splitlines()[-1]
    assert summary.startswith("fleet: 12 terminals, ") and "0 errors" in summary
    assert "settled in balance 12 of 12 terminals" in summary
    stats = json.loads((tmp_path / "locust.json").read_text())
    assert stats["total"]["count"] > 12 and set(stats["kinds"]) >= {"sale", "decline"}
    assert "fleet:" in done.stderr  # the progress line


def test_possim_fleet_with_two_workers_reconciles(host: str, tmp_path: Path) -> None:
    needs_locust()
    done = run_fleet(
        host, tmp_path, "--terminals", "10", "--rate", "20", "--duration", "3", "--workers", "2"
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert len(list(tmp_path.glob("worker-*.json"))) == 2
    assert "settled in balance 10 of 10 terminals" in done.stdout


def test_bad_fleet_arguments_are_refused_before_anything_starts(tmp_path: Path) -> None:
    mix = tmp_path / "mix.ini"
    mix.write_text("[mix]\nteleport = 1\n")
    for args, reason in [
        (["--terminals", "0", "--rate", "1", "--duration", "1"], "at least 1"),
        (["--terminals", "50001", "--rate", "1", "--duration", "1"], "at most 50000"),
        (["--terminals", "1", "--rate", "1", "--duration", "1", "--mix", str(mix)], "unknown kind"),
    ]:
        done = possim("fleet", "--host", "tcp://127.0.0.1:9", *args)
        assert done.returncode == 2 and reason in done.stderr
    done = possim(
        "fleet", "--host", "http://x", "--terminals", "1", "--rate", "1", "--duration", "1"
    )
    assert done.returncode == 2


def _start_fleet(host: str, results: Path, *extra: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "driver.cli", "fleet", "--host", host, "--results", str(results)]
        + list(extra),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_a_host_restarted_mid_run_costs_declines_and_the_books_still_balance(
    tmp_path: Path,
) -> None:
    needs_locust()
    import time

    address = f"127.0.0.1:{_free_port()}"
    ledger = str(tmp_path / "ledger.sqlite")
    first, url = spawn_host("--listen", address, "--ledger", ledger)
    fleet = _start_fleet(
        url, tmp_path, "--terminals", "8", "--rate", "16", "--duration", "9", "--timeout", "2"
    )
    try:
        time.sleep(4)
        first.kill()  # the host goes down mid-run, mid-transaction for some
        first.wait()
        time.sleep(1.5)
        second, _ = spawn_host("--listen", address, "--ledger", ledger)  # and comes back
        try:
            out, err = fleet.communicate(timeout=120)
        finally:
            second.kill()
            second.wait()
    finally:
        fleet.kill()
    assert fleet.returncode == 0, err[-2000:]
    summary = out.strip().splitlines()[-1]
    assert "settled in balance 8 of 8 terminals" in summary
    assert " 0 errors" not in summary  # the outage is in the figures: declined 91, counted


def test_a_slow_host_slows_the_fleet_and_nothing_else(tmp_path: Path) -> None:
    needs_locust()
    slow, url = spawn_host("--delay", "0.3")
    try:
        done = run_fleet(
            url, tmp_path, "--terminals", "6", "--rate", "6", "--duration", "3", "--timeout", "3"
        )
    finally:
        slow.kill()
        slow.wait()
    assert done.returncode == 0, done.stderr[-2000:]
    stats = json.loads((tmp_path / "locust.json").read_text())
    assert stats["kinds"]["sale"]["p50"] >= 300 and stats["total"]["failures"] == 0


def test_a_worker_killed_mid_run_is_reported_and_the_rest_reconciles(
    host: str, tmp_path: Path
) -> None:
    needs_locust()
    import time

    import psutil

    fleet = _start_fleet(
        host, tmp_path, "--terminals", "10", "--rate", "20", "--duration", "7", "--workers", "2"
    )
    try:
        time.sleep(4)
        workers = [
            p
            for p in psutil.Process(fleet.pid).children(recursive=True)
            if "--worker" in p.cmdline()
        ]
        assert len(workers) == 2
        workers[0].kill()
        out, err = fleet.communicate(timeout=180)
    finally:
        fleet.kill()
    assert fleet.returncode == 0, err[-2000:]
    summary = out.strip().splitlines()[-1]
    assert "1 worker(s) lost" in summary and "settled in balance 5 of 5 terminals" in summary


def test_the_web_ui_serves_while_the_run_lasts_and_the_run_still_reconciles(
    host: str, tmp_path: Path
) -> None:
    needs_locust()
    import time
    import urllib.request

    port = _free_port()
    fleet = _start_fleet(
        host,
        tmp_path,
        "--terminals",
        "4",
        "--rate",
        "4",
        "--duration",
        "3",
        "--web",
        "--web-port",
        str(port),
    )
    try:
        page = b""
        for _ in range(40):
            try:
                page = urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2).read()
                break
            except OSError:
                time.sleep(0.1)
        out, err = fleet.communicate(timeout=120)
    finally:
        fleet.kill()
    assert b"locust" in page.lower()
    assert fleet.returncode == 0, err[-2000:]
    assert "settled in balance 4 of 4 terminals" in out
