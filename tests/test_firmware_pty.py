"""The terminal as a process: over a real pty (and TCP), driven by a minimal host built only
on protocols/; bad bytes on the wire; and a kill -9 in the middle of an authorization."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from miniclient import ROOT, MiniClient, start_terminal

from protocols.codes import EntryMode, PinBlockFormat, PinEntry, TransactionStatus
from protocols.errors import ErrorCode
from protocols.messages import (
    Error,
    InfoRequest,
    InfoResponse,
    LastResultRequest,
    PinBlockRequest,
    PinBlockResponse,
    Receipt,
    SaleRequest,
    SimAccepted,
    SimEnterPin,
    SimPresentCard,
    SimRemoveCard,
    TransactionResult,
)


@pytest.fixture
def terminal(tmp_path: Path):  # type: ignore[no-untyped-def]
    process, port = start_terminal("--port", "pty", "--journal", str(tmp_path / "journal.sqlite"))
    client = MiniClient(port)
    yield client
    client.close()
    process.kill()
    process.wait()


def result_of(messages: list[object]) -> TransactionResult:
    (result,) = [m for m in messages if isinstance(m, TransactionResult)]
    return result


def test_sale_and_pin_block_over_a_real_pty(terminal: MiniClient) -> None:
    got = terminal.request(SaleRequest("T1", 1234, "EUR"), TransactionResult)
    result = result_of(got)
    assert (result.status, result.response_code, result.entry_mode) == (
        TransactionStatus.APPROVED,
        "00",
        EntryMode.CHIP,
    )
    assert any(isinstance(m, Receipt) for m in got)
    # the sale used DUKPT counter 1 for its online PIN; the PIN block gets counter 2:
    # ANSI X9.24-1-2009 Annex A, PIN 1234, PAN 4012345678909, KSN ...E00002
    got = terminal.request(PinBlockRequest("4012345678909", PinBlockFormat.ISO_0), PinBlockResponse)
    block = got[-1]
    assert isinstance(block, PinBlockResponse)
    assert (block.pin_block.hex().upper(), block.ksn.hex().upper()) == (
        "10A01C8D02C69107",
        "FFFF9876543210E00002",
    )
    again = result_of(terminal.request(SaleRequest("T1", 1234, "EUR"), TransactionResult))
    assert again == result  # idempotent over the wire too


def test_garbage_and_a_malformed_message_get_documented_codes(terminal: MiniClient) -> None:
    terminal.send_raw(b"\x02\x00\x99noise\xff" * 3)
    terminal.request(InfoRequest(), InfoResponse)  # the link resynchronised
    bad = terminal.link.raw_frame(0x21, bytes.fromhex("0007 02 5431 00000000123a 0978"))
    terminal.send_raw(bad)
    got = terminal.wait_for(Error)
    error = got[-1]
    assert isinstance(error, Error)
    assert (error.code, error.field, error.request_id) == (ErrorCode.MALFORMED_MESSAGE, "amount", 7)
    unknown = terminal.link.raw_frame(0x6E, b"")
    terminal.send_raw(unknown)
    assert terminal.wait_for(Error)[-1].code is ErrorCode.UNKNOWN_MESSAGE_TYPE  # type: ignore[attr-defined]
    assert isinstance(terminal.request(InfoRequest(), InfoResponse)[-1], InfoResponse)


def test_tcp_listen_mode() -> None:
    process, port = start_terminal("--port", "listen://127.0.0.1:0")
    try:
        assert port.startswith("socket://127.0.0.1:")
        client = MiniClient(port)
        result = result_of(client.request(SaleRequest("T1", 1291, "EUR"), TransactionResult))
        assert (result.status, result.response_code) == (TransactionStatus.DECLINED, "91")
        client.close()
    finally:
        process.kill()
        process.wait()


def test_manual_cardholder_driven_by_simulation_control() -> None:
    process, port = start_terminal("--port", "pty", "--cardholder", "manual")
    try:
        client = MiniClient(port)
        client.link.send(SaleRequest("T1", 1234, "EUR"), time.monotonic())
        client.pump(0.3)
        got = client.request(SimPresentCard("offline-pin", EntryMode.CHIP), SimAccepted)
        assert any(isinstance(m, SimAccepted) for m in got)
        got = client.request(SimEnterPin(PinEntry.CORRECT), TransactionResult)
        assert result_of(got).status is TransactionStatus.APPROVED
        assert isinstance(client.request(SimRemoveCard(), SimAccepted)[-1], SimAccepted)
        client.close()
    finally:
        process.kill()
        process.wait()


def test_kill_9_mid_authorization_then_restart_tells_the_truth(tmp_path: Path) -> None:
    journal = tmp_path / "journal.sqlite"
    process, port = start_terminal(
        "--port",
        "pty",
        "--journal",
        str(journal),
        "--card",
        "magstripe-only",
        "--authorizer-latency",
        "30",
    )
    client = MiniClient(port)
    client.link.send(SaleRequest("T1", 1234, "EUR"), time.monotonic())
    deadline = time.monotonic() + 10
    state = None
    while time.monotonic() < deadline and state != "authorizing":
        client.pump(0.1)
        if journal.exists():
            with sqlite3.connect(journal) as db:
                row = db.execute("SELECT state FROM transactions").fetchone()
            state = row[0] if row else None
    assert state == "authorizing"
    time.sleep(0.3)  # the authorizer has decided and is "on the network"
    process.send_signal(signal.SIGKILL)
    process.wait()
    client.close()
    with sqlite3.connect(str(journal) + ".ledger") as db:
        assert db.execute("SELECT status FROM ledger").fetchall() == [("authorized",)]

    process, port = start_terminal("--port", "pty", "--journal", str(journal))
    try:
        client = MiniClient(port)
        got = client.request(LastResultRequest(), TransactionResult)
        result = result_of(got)
        assert (result.client_transaction_id, result.status, result.response_code) == (
            "T1",
            TransactionStatus.FAILED,
            "96",
        )
        receipt = [m for m in got if isinstance(m, Receipt)][0]
        assert "REVERSED - NOT CHARGED" in receipt.lines
        with sqlite3.connect(str(journal) + ".ledger") as db:
            assert db.execute("SELECT status FROM ledger").fetchall() == [("reversed",)]
        # the same sale again does not authorize twice: it reports the stored outcome
        assert (
            result_of(client.request(SaleRequest("T1", 1234, "EUR"), TransactionResult)) == result
        )
        client.close()
    finally:
        process.kill()
        process.wait()


def test_cli_cards_and_bad_terminal_arguments() -> None:
    cards = subprocess.run(
        [sys.executable, "-m", "driver.cli", "cards"], capture_output=True, text=True, cwd=ROOT
    )
    assert (
        cards.returncode == 0 and "wrong-pin" in cards.stdout and "4761739001010010" in cards.stdout
    )
    for args, status in (
        (["--card", "nope"], 2),
        (["--pin", "98x"], 2),
        (["--reader", "pcsc"], 2),
        (["--port", "/nonexistent/tty"], 5),  # no such port
        (["--journal", "/nonexistent/dir/journal.sqlite"], 7),  # the journal cannot be written
    ):
        bad = subprocess.run(
            [sys.executable, "-m", "driver.cli", "terminal", *args],
            capture_output=True,
            text=True,
            cwd=ROOT,
            timeout=20,
            # not the PC/SC tests' private pcscd (its socket is in the environment once they
            # have run): --reader pcsc here is the case of no reader service at all
            env={k: v for k, v in os.environ.items() if k != "PCSCLITE_CSOCK_NAME"},
        )
        assert bad.returncode == status, args
        assert len(bad.stderr.strip().splitlines()) == 1, bad.stderr
        assert "98x" not in bad.stderr  # a rejected PIN is not echoed


def test_cardholder_typing_at_the_keyboard() -> None:
    process, port = start_terminal("--port", "pty", "--cardholder", "manual")
    assert process.stdin is not None
    try:
        client = MiniClient(port)
        client.link.send(SaleRequest("T1", 1234, "EUR"), time.monotonic())
        client.pump(0.3)
        process.stdin.write("card offline-pin chip\n")
        process.stdin.flush()
        client.pump(0.3)
        process.stdin.write("pin 1234\n")
        process.stdin.flush()
        result = result_of(client.wait_for(TransactionResult))
        assert result.status is TransactionStatus.APPROVED
        process.stdin.write("remove\n")
        process.stdin.flush()
        assert isinstance(client.request(InfoRequest(), InfoResponse)[-1], InfoResponse)
        client.close()
    finally:
        process.kill()
        process.wait()


def test_wire_accurate_pacing_at_9600_baud() -> None:
    process, port = start_terminal("--port", "pty", "--baud", "9600", "--pace")
    try:
        client = MiniClient(port)
        started = time.monotonic()
        got = client.request(SaleRequest("T1", 1234, "EUR"), TransactionResult)
        elapsed = time.monotonic() - started
        sent_by_terminal = sum(len(m.SCHEMA.build(m._wire_values())) + 8 for m in got)
        assert result_of(got).status is TransactionStatus.APPROVED
        assert elapsed >= sent_by_terminal * 10 / 9600  # the payload bytes alone take this long
        client.close()
    finally:
        process.kill()
        process.wait()
