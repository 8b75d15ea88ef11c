"""The merchant password: once set, refunds, voids, tip adjustments and settlement need it,
per link session; wrong ones are counted and lock; it survives restarts as a scrypt hash; it
never reaches a trace. Real ptys, real files."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from driver import MerchantPasswordError, Terminal
from driver.testing import spawn_terminal
from firmware_sim.merchant import FIRST_LOCK, MerchantGuard
from firmware_sim.runner import TerminalConfig, TerminalRunner
from keys.merchant import hash_password
from protocols.errors import ErrorCode

ROOT = Path(__file__).resolve().parent.parent
SECRET = "merchant-42"


def runner_on(journal: Path, trace: Path | None = None) -> TerminalRunner:
    runner = TerminalRunner(
        TerminalConfig(port="pty", journal=str(journal), trace=str(trace) if trace else None)
    )
    runner.start()
    return runner


def test_merchant_commands_need_the_password_once_it_is_set(tmp_path: Path) -> None:
    journal = tmp_path / "journal.sqlite"
    runner = runner_on(journal)
    try:
        with Terminal(runner.port.name) as t:
            sale = t.sale(1234, "EUR", client_transaction_id="S1")
            assert t.status().counters["merchant_password_set"] == 0
            t.set_password(SECRET)
        with Terminal(runner.port.name) as t:  # a new session, no password given
            for attempt in (
                lambda: t.refund(500, "EUR", sale.reference, client_transaction_id="R1"),
                lambda: t.void(sale.reference, client_transaction_id="V1"),
                lambda: t.adjust_tip(sale.reference, 100, client_transaction_id="T1"),
                t.settle,
            ):
                with pytest.raises(MerchantPasswordError) as refused:
                    attempt()
                assert refused.value.code == ErrorCode.PASSWORD_REQUIRED
            assert t.sale(800, "EUR", client_transaction_id="S2").approved  # sales are open
            counters = t.status().counters
        # nothing was journaled for the refused ones: one more transaction, the sale
        assert counters["journal_transactions"] == 2
        assert counters["merchant_refused_without_login"] == 4
        with Terminal(runner.port.name, password=SECRET) as t:
            assert t.refund(500, "EUR", sale.reference, client_transaction_id="R1").approved
            assert t.settle().batch_number == 1
    finally:
        runner.stop()


def test_wrong_passwords_are_counted_and_lock(tmp_path: Path) -> None:
    runner = runner_on(tmp_path / "journal.sqlite")
    try:
        with Terminal(runner.port.name) as t:
            sale = t.sale(1234, "EUR", client_transaction_id="S1")
            t.set_password(SECRET)
        codes = []
        for _ in range(4):
            with Terminal(runner.port.name, password="guess-guess") as t:
                with pytest.raises(MerchantPasswordError) as refused:
                    t.void(sale.reference, client_transaction_id="V1")
                codes.append(refused.value.code)
        assert codes == [
            ErrorCode.WRONG_PASSWORD,
            ErrorCode.WRONG_PASSWORD,
            ErrorCode.PASSWORD_LOCKED,  # the third wrong one locks
            ErrorCode.PASSWORD_LOCKED,
        ]
        with Terminal(runner.port.name, password=SECRET) as t:  # locked even for the right one
            with pytest.raises(MerchantPasswordError) as refused:
                t.void(sale.reference, client_transaction_id="V1")
            assert refused.value.code == ErrorCode.PASSWORD_LOCKED
            t.power_cycle()  # a cold start does not clear a lock
            with pytest.raises(MerchantPasswordError):
                t.login()
            counters = t.status().counters
        assert counters["merchant_wrong_passwords"] == 3 and counters["merchant_lockouts"] == 1
    finally:
        runner.stop()


def test_a_lock_ends_and_doubles() -> None:
    guard = MerchantGuard(hash_password(SECRET, salt=bytes(16)))
    for _ in range(3):
        refusal = guard.login("s", "wrong-one", now=100.0)
    assert refusal is not None and refusal[0] == ErrorCode.PASSWORD_LOCKED
    assert guard.login("s", SECRET, now=100.0 + FIRST_LOCK - 1) is not None  # still locked
    assert guard.login("s", SECRET, now=100.0 + FIRST_LOCK) is None  # over
    for _ in range(3):
        guard.login("t", "wrong-one", now=200.0)
    assert guard.login("t", SECRET, now=200.0 + FIRST_LOCK) is not None  # the second: 60 s
    assert guard.login("t", SECRET, now=200.0 + 2 * FIRST_LOCK) is None


def test_the_password_survives_a_restart_as_a_hash_only(tmp_path: Path) -> None:
    journal = tmp_path / "journal.sqlite"
    runner = runner_on(journal)
    try:
        with Terminal(runner.port.name) as t:
            t.set_password(SECRET)
    finally:
        runner.stop()
    keystore = Path(str(journal) + ".keystore")
    assert oct(keystore.stat().st_mode & 0o777) == "0o600"
    text = keystore.read_text()
    assert SECRET not in text and json.loads(text)["merchant_password"].startswith("scrypt$")
    runner = runner_on(journal)
    try:
        with Terminal(runner.port.name) as t:
            with pytest.raises(MerchantPasswordError):
                t.settle()
            with pytest.raises(MerchantPasswordError):  # changing it needs the current one
                t.set_password("another-one", current="not-the-one")
            t.set_password("another-one", current=SECRET)
            t.settle()  # this session set it: logged in
    finally:
        runner.stop()


def test_no_password_reaches_a_trace(tmp_path: Path) -> None:
    trace, host_trace = tmp_path / "terminal.trace", tmp_path / "host.trace"
    runner = runner_on(tmp_path / "journal.sqlite", trace)
    try:
        with Terminal(runner.port.name, trace=str(host_trace)) as t:
            t.set_password(SECRET)
            t.set_password("second-secret", current=SECRET)
            t.login("second-secret")
    finally:
        runner.stop()
    shown = subprocess.run(
        [sys.executable, "-m", "driver.cli", "trace", "--fields", str(trace), str(host_trace)],
        capture_output=True,
        text=True,
        cwd=ROOT,
    ).stdout
    assert "SET_PASSWORD" in shown and "MERCHANT_LOGIN" in shown and "<hidden>" in shown
    for secret in (SECRET, "second-secret"):
        for text in (trace.read_text(), host_trace.read_text(), shown):
            assert secret not in text and secret.encode().hex() not in text


def test_the_command_line_sets_and_uses_the_password(tmp_path: Path) -> None:
    process, port = spawn_terminal("--port", "pty", "--journal", str(tmp_path / "j.sqlite"))
    try:
        assert process.stderr is not None
        assert "no merchant password is set" in process.stderr.readline()

        def possim(
            *args: str, env: dict[str, str] | None = None
        ) -> subprocess.CompletedProcess[str]:
            return subprocess.run(
                [sys.executable, "-m", "driver.cli", *args, "--port", port],
                capture_output=True,
                text=True,
                cwd=ROOT,
                env={**os.environ, **(env or {})},
            )

        # a password that breaks the rules is refused before the port is opened
        short = subprocess.run(
            [
                sys.executable,
                "-m",
                "driver.cli",
                "password",
                "--port",
                "/nonexistent",
                "--new",
                "abc",
            ],
            capture_output=True,
            text=True,
            cwd=ROOT,
        )
        assert short.returncode == 2 and "6-32 printable ASCII" in short.stderr
        assert possim("password", "--new", SECRET).returncode == 0
        refused = possim("settle")
        assert refused.returncode == 2 and "--password" in refused.stderr
        assert possim("settle", "--password", "wrong-one").returncode == 2
        assert possim("settle", env={"POSSIM_MERCHANT_PASSWORD": SECRET}).returncode == 0
    finally:
        process.kill()
        process.wait()
