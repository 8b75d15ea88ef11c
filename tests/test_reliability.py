"""Short versions of the reliability runs (the full ones are scripts; figures in
docs/reliability.md): the fault transport does what it says, a line soak and a crash soak
lose nothing and charge nothing twice."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import serial

import driver  # noqa: F401 - registers faulty://
from driver.faults import LineFaults, parse_faulty_url

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))
import soak_crash  # noqa: E402
import soak_line  # noqa: E402


def test_faults_are_seeded_and_counted() -> None:
    first = LineFaults(corrupt=0.1, drop=0.1, duplicate=0.1, seed=42)
    second = LineFaults(corrupt=0.1, drop=0.1, duplicate=0.1, seed=42)
    data = bytes(range(256)) * 4
    assert first.apply(data) == second.apply(data) != data
    assert all(n > 0 for n in first.counts.values())
    assert len(LineFaults(drop=1.0).apply(data)) == 0
    assert LineFaults(duplicate=1.0).apply(b"ab") == b"aabb"
    assert b"".join(LineFaults(split=True, seed=1).pieces(data)) == data


def test_faulty_url_wraps_any_pyserial_port() -> None:
    port = serial.serial_for_url("faulty://loop://?corrupt=1.0&seed=3", timeout=0.1)
    port.write(b"\x00" * 16)
    echoed = port.read(16)
    assert len(echoed) == 16 and echoed != b"\x00" * 16
    port.close()
    clean = serial.serial_for_url("faulty://loop://", timeout=0.1)
    clean.write(b"hello")
    assert clean.read(5) == b"hello"
    with pytest.raises(ValueError):
        parse_faulty_url("faulty://loop://?explode=1")


def test_short_line_soak_loses_nothing() -> None:
    figures = soak_line.soak(0.02, transactions=12, seed=7, max_seconds=60)
    assert figures.attempted == 12
    assert (figures.lost, figures.charged_twice) == (0, 0)
    assert figures.completed + figures.recovered + figures.resolved_after_repair >= 11


def test_short_crash_soak_loses_nothing() -> None:
    figures = soak_crash.run(transactions=6, seed=3)
    assert figures["kills"] == 6
    assert (figures["lost"], figures["charged_twice"]) == (0, 0)
    assert figures["completed"] + figures["recovered"] == 6


def test_reconciliation_catches_money_the_journal_does_not_show(tmp_path: Path) -> None:
    from firmware_sim.authorizer import AuthorizationRequest, BuiltInAuthorizer
    from firmware_sim.journal import Journal
    from firmware_sim.reconcile import reconcile
    from firmware_sim.testing import make_core, shipped_store
    from protocols.codes import EntryMode, TransactionKind

    path = str(tmp_path / "journal.sqlite")
    journal = Journal(path)
    authorizer = BuiltInAuthorizer(shipped_store(), path + ".ledger")
    reference = journal.record_authorizing(
        "T1", TransactionKind.SALE, 1234, "EUR", "", "476173******0010", EntryMode.SWIPE, 0
    )
    authorizer.authorize(
        AuthorizationRequest(
            TransactionKind.SALE,
            reference,
            "4761739001010069",
            "00",
            "2812",
            1234,
            "EUR",
            EntryMode.SWIPE,
            "202611",
        )
    )
    assert reconcile(path).unrecorded == 1  # a crash right here: money taken, no completion
    make_core(journal, authorizer=authorizer)  # the restart's recovery reverses it
    books = reconcile(path)
    assert books.clean and books.reversed == 1 and books.approved == 0
