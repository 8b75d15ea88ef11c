"""ZVT: the transport and the schemas against the specification's rules (and the CRC
catalogue's check value), then ``possim terminal --protocol zvt`` driven by a cash register
written in the test tree (tests/zvt_client.py) over TCP and over a pty, checked against the
terminal's journal."""

from __future__ import annotations

import contextlib
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import serial
from hypothesis import given
from hypothesis import strategies as st

from driver.testing import spawn_terminal
from firmware_sim.cardholder import drain_addressed
from firmware_sim.journal import Journal
from firmware_sim.testing import make_core
from firmware_sim.zvt import ZVT_SESSION, ZvtLink
from protocols.codes import TransactionStatus
from protocols.zvt.apdu import Apdu, ApduStream, ZvtFormatError, encode_apdu
from protocols.zvt.bmp import decode_bmps, encode_bmps
from protocols.zvt.serial import (
    ACK,
    NAK,
    ApduReceived,
    BlockDelivered,
    BlockFailed,
    BlockRefused,
    SerialTransport,
    crc_kermit,
    encode_block,
)
from tests.zvt_client import (
    ACK_APDU,
    ZvtEcr,
    apdu,
    authorization,
    crc16_kermit,
    parse_bmps,
    registration,
)

# --- transport and schemas ---------------------------------------------------------------


def test_crc_is_crc16_kermit() -> None:
    # the CRC catalogue's check value for CRC-16/KERMIT (poly 1021 reflected, init 0)
    assert crc_kermit(b"123456789") == 0x2189 == crc16_kermit(b"123456789")


@given(st.binary(max_size=300))
def test_a_block_round_trips_byte_by_byte(data: bytes) -> None:
    raw = encode_apdu(0x06, 0x01, data)
    block = encode_block(raw)
    assert block.count(0x10) >= 2 + 2 * raw.count(0x10)  # every DLE of the APDU doubled
    receiver = SerialTransport()
    for i, byte in enumerate(block):
        receiver.receive_data(bytes((byte,)), i * 0.001)
    assert receiver.events() == [ApduReceived(raw)]
    assert receiver.data_to_send() == bytes((ACK,))


def test_a_bad_crc_is_naked_and_the_sender_repeats_then_gives_up() -> None:
    block = bytearray(encode_block(bytes.fromhex("800000")))
    block[-1] ^= 0xFF
    receiver = SerialTransport()
    receiver.receive_data(b"noise" + bytes(block), 0.0)
    assert [type(e) for e in receiver.events()] == [BlockRefused]
    assert receiver.data_to_send() == bytes((NAK,))
    sender = SerialTransport()
    sender.send(bytes.fromhex("060F00"), 0.0)
    first = sender.data_to_send()
    sender.receive_data(bytes((NAK,)), 0.1)
    assert sender.data_to_send() == first  # repeated at once
    sender.tick(5.0)  # no answer in time: the third and last try
    assert sender.data_to_send() == first
    sender.tick(10.0)
    assert [type(e) for e in sender.events()] == [BlockFailed]
    sender.send(bytes.fromhex("800000"), 11.0)
    sender.receive_data(bytes((ACK,)), 11.1)
    assert [type(e) for e in sender.events()] == [BlockDelivered]


def test_apdu_lengths_and_bmps() -> None:
    long = encode_apdu(0x06, 0xD3, bytes(300))
    assert long[:5] == bytes.fromhex("06D3FF2C01")  # FF then 300 little-endian
    assert Apdu.decode(long).data == bytes(300)
    with pytest.raises(ZvtFormatError):
        Apdu.decode(long[:-1])
    bmps = [(0x04, 1234), (0x22, bytes.fromhex("476173EEEEEE0010")), (0x27, 0x33)]
    assert decode_bmps(encode_bmps(bmps)) == bmps
    assert encode_bmps([(0x8B, b"VISA")]) == bytes.fromhex("8BF0F456495341")
    for bad in ("04000000", "0400000000123A", "FE00", "8BF0F9", "8BFAF1"):
        with pytest.raises(ZvtFormatError):
            decode_bmps(bytes.fromhex(bad))


@given(st.binary(max_size=64))
def test_any_bytes_give_bmps_or_a_format_error(data: bytes) -> None:
    with contextlib.suppress(ZvtFormatError):
        decode_bmps(data)


@given(st.lists(st.binary(max_size=40), max_size=5), st.integers(1, 7))
def test_the_tcp_stream_splits_apdus_wherever_the_bytes_break(
    payloads: list[bytes], chunk: int
) -> None:
    wire = b"".join(encode_apdu(0x06, 0x01, p) for p in payloads)
    stream, got = ApduStream(), []
    for i in range(0, len(wire), chunk):
        stream.feed(wire[i : i + chunk])
        got += stream.apdus()
    assert [Apdu.decode(a).data for a in got] == payloads


# --- the personality, in memory ------------------------------------------------------------


def _run(
    link: ZvtLink, raw: bytes, core: object, now: float = 0.0, card: str | None = None
) -> list[bytes]:
    """Feed one ECR APDU to the personality and the core; the APDUs the PT sends, the ECR
    acknowledging each."""
    from firmware_sim.cardholder import AutoCardholder
    from firmware_sim.core import TerminalCore

    assert isinstance(core, TerminalCore)
    cardholder = AutoCardholder(card) if card else None
    link.receive_data(raw, now)
    sent: list[bytes] = []
    for _ in range(50):
        for event in link.events():
            core.handle_message(event.message, now, event.session)
        for origin, message in drain_addressed(core, cardholder, now):
            link.send(message, now, origin if isinstance(origin, bytes) else None)
        out = link.data_to_send()
        stream = ApduStream()
        stream.feed(out)
        batch = stream.apdus()
        if not batch:
            return sent
        sent += batch
        for one in batch:
            if one[:1] != b"\x80" and one[:1] != b"\x84":
                link.receive_data(ACK_APDU, now)
    return sent


def test_an_ecr_abort_while_the_terminal_waits_for_the_card() -> None:
    core, link = make_core(), ZvtLink(serial=False)
    assert _run(link, registration(), core)[-1][:2] == b"\x06\x0f"
    sent = _run(link, authorization(1234), core)
    assert sent[0] == ACK_APDU and core.txn is not None  # waiting for the card
    # the same Authorization again (a lost ACK, an impatient ECR): refused, not a second payment
    assert _run(link, authorization(1234), core) == [bytes.fromhex("848300")]
    sent = _run(link, apdu(0x06, 0xB0), core)
    assert sent[0] == ACK_APDU and sent[-1] == bytes.fromhex("061E016C")  # aborted: 6C
    entry = core.journal.last()
    assert entry is not None and entry.status is TransactionStatus.CANCELLED
    assert ZVT_SESSION == b"zvt"


# --- the terminal, from outside --------------------------------------------------------------


@contextlib.contextmanager
def zvt_terminal(*args: str) -> Iterator[str]:
    process, port = spawn_terminal("--protocol", "zvt", *args, mode="insecure")
    try:
        yield port
    finally:
        process.kill()
        process.wait()


def _check_payment(ecr: ZvtEcr, journal: str) -> None:
    assert ecr.command(registration()).ended_with == b"\x06\x0f"
    sale = ecr.command(authorization(1234))
    status = sale.status
    assert status[0x27] == b"\x00" and status[0x04] == bytes.fromhex("000000001234")
    assert status[0x3B].startswith(b"0000") and sale.ended_with == b"\x06\x0f"
    assert status[0x22].hex().upper() == "476173EEEEEE0010"  # the PAN, masked with E
    assert status[0x2A] == b"POSSIM000000001" and status[0x06] == bytes.fromhex("1F110101")
    assert status[0x0E] == bytes.fromhex("2812")  # the card's expiry, YYMM
    assert len(sale.of(0x06, 0xD3)) == 2  # both receipts, for the cash register to print
    receipt = int(status[0x87].hex())
    declined = ecr.command(authorization(1251))
    assert declined.status[0x27] == bytes((51,)) and declined.ended_with == b"\x06\x1e"
    assert ecr.raw(apdu(0x06, 0x99)) == bytes.fromhex("848300")  # not supported
    assert ecr.raw(apdu(0x06, 0x01, bytes.fromhex("0400"))) == bytes.fromhex("849A00")
    assert ecr.raw(registration(password="654321")) == bytes.fromhex("848300")
    # the journal has both, the approval under the receipt number the ECR was given
    entries = [e for e in Journal(journal).entries() if e.kind.name == "SALE"]
    assert [(e.amount, e.status) for e in entries] == [
        (1234, TransactionStatus.APPROVED),
        (1251, TransactionStatus.DECLINED),
    ]
    assert int(entries[0].reference) % 10_000 == receipt


def test_a_payment_over_tcp(tmp_path: Path) -> None:
    journal = str(tmp_path / "journal.sqlite")
    with zvt_terminal("--port", "listen://127.0.0.1:0", "--journal", journal) as url:
        host, _, number = url.removeprefix("socket://").rpartition(":")
        ecr = ZvtEcr.tcp(host, int(number))
        try:
            _check_payment(ecr, journal)
        finally:
            ecr.close()


def test_a_payment_over_a_serial_line(tmp_path: Path) -> None:
    journal = str(tmp_path / "journal.sqlite")
    with zvt_terminal("--port", "pty", "--journal", journal) as tty:
        port = serial.Serial(tty, 9600, timeout=0.2)
        ecr = ZvtEcr.serial(port)
        try:
            _check_payment(ecr, journal)
        finally:
            ecr.close()


def test_bad_zvt_options_are_refused() -> None:
    import sys

    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "driver.cli",
            "terminal",
            "--protocol",
            "zvt",
            "--zvt-password",
            "12ab56",
        ],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert run.returncode == 2 and "--zvt-password" in run.stderr
    assert parse_bmps(bytes.fromhex("2700")) == {0x27: b"\x00"}


@given(st.binary(max_size=200), st.booleans())
def test_nothing_an_ecr_sends_takes_the_terminal_down(garbage: bytes, serial_line: bool) -> None:
    """Any bytes, on either transport: the personality answers or drops them, and a
    registration afterwards is answered as usual (the fuzz invariant of our own link)."""
    core, link = make_core(), ZvtLink(serial=serial_line)
    link.receive_data(garbage, 0.0)
    for event in link.events():
        core.handle_message(event.message, 0.0, event.session)
    for origin, message in drain_addressed(core, None, 0.0):
        link.send(message, 0.0, origin if isinstance(origin, bytes) else None)
    for second in (100.0, 102.0, 104.0, 106.0):  # whatever was half sent is given up
        link.tick(second)
    link.data_to_send()
    if core.txn is not None:  # garbage that was an authorization: the ECR aborts it
        link.receive_data(
            encode_block(apdu(0x06, 0xB0)) if serial_line else apdu(0x06, 0xB0), 100.0
        )
        for event in link.events():
            core.handle_message(event.message, 100.0, event.session)
        for origin, message in drain_addressed(core, None, 100.0):
            link.send(message, 100.0, origin if isinstance(origin, bytes) else None)
    for second in (200.0, 202.0, 204.0, 206.0, 240.0, 242.0, 244.0, 246.0):
        link.tick(second)  # the ECR never acknowledged: the PT gives its messages up
    link.data_to_send()
    raw = registration()
    link.receive_data(encode_block(raw) if serial_line else raw, 300.0)
    out = link.data_to_send()
    if serial_line:
        receiver = SerialTransport()
        receiver.receive_data(out, 300.0)
        answers = [e.apdu for e in receiver.events() if isinstance(e, ApduReceived)]
    else:
        stream = ApduStream()
        stream.feed(out)
        answers = stream.apdus()
    assert ACK_APDU in answers or any(a[:1] == b"\x84" for a in answers), answers


def _receipt(exchange: object) -> bytes:
    from tests.zvt_client import Exchange

    assert isinstance(exchange, Exchange)
    return b"\x87" + exchange.status[0x87]


@pytest.mark.parametrize("transport", ["tcp", "pty"])
def test_every_command_and_the_journal_agrees(tmp_path: Path, transport: str) -> None:
    """Registration, payment, refund, reversal, pre-authorization with book total, partial
    reversal and pre-authorization reversal, status enquiry, diagnosis, end of day: each as
    the specification lays it out, from the test tree's ECR over TCP and over a pty."""
    from tests.zvt_client import bcd

    journal = str(tmp_path / "journal.sqlite")
    port = "listen://127.0.0.1:0" if transport == "tcp" else "pty"
    with zvt_terminal("--port", port, "--journal", journal) as url:
        if transport == "tcp":
            host, _, number = url.removeprefix("socket://").rpartition(":")
            ecr = ZvtEcr.tcp(host, int(number))
        else:
            ecr = ZvtEcr.serial(serial.Serial(url, 9600, timeout=0.2))
        try:
            pw = bytes.fromhex("123456")
            assert ecr.command(registration(config=0x0E)).ended_with == b"\x06\x0f"
            sale = ecr.command(authorization(5000))
            assert sale.status[0x27] == b"\x00"
            refund = ecr.command(apdu(0x06, 0x31, pw + b"\x04" + bcd(1000, 6)))
            assert refund.status[0x27] == b"\x00" and refund.ended_with == b"\x06\x0f"
            too_much = ecr.raw(apdu(0x06, 0x31, pw + b"\x04" + bcd(9000, 6)))
            assert too_much == bytes.fromhex("848300")  # no purchase to book it against
            second = ecr.command(authorization(700))
            reversal = ecr.command(apdu(0x06, 0x30, pw + _receipt(second)))
            assert reversal.status[0x27] == b"\x00"
            again = ecr.command(apdu(0x06, 0x30, pw + _receipt(second)))
            assert again.ended_with == b"\x06\x1e"  # a void of a void's original: refused
            hold = ecr.command(apdu(0x06, 0x22, b"\x04" + bcd(8000, 6)))
            assert hold.status[0x27] == b"\x00"
            booked = ecr.command(apdu(0x06, 0x24, _receipt(hold) + b"\x04" + bcd(6500, 6)))
            assert booked.status[0x27] == b"\x00" and booked.status[0x04] == bcd(6500, 6)
            hold2 = ecr.command(apdu(0x06, 0x22, b"\x04" + bcd(3000, 6)))
            partial = ecr.command(apdu(0x06, 0x23, _receipt(hold2) + b"\x04" + bcd(2500, 6)))
            assert partial.status[0x27] == b"\x00"
            hold3 = ecr.command(apdu(0x06, 0x22, b"\x04" + bcd(1500, 6)))
            released = ecr.command(apdu(0x06, 0x25, _receipt(hold3)))
            assert released.status[0x27] == b"\x00"
            enquiry = ecr.command(apdu(0x05, 0x01, pw))
            assert enquiry.status[0x27] == b"\x00" and enquiry.ended_with == b"\x06\x0f"
            diagnosis = ecr.command(apdu(0x06, 0x70))
            assert diagnosis.of(0x06, 0xD1) and diagnosis.of(0x06, 0xD1)[-1][3] == 0x80
            eod = ecr.command(apdu(0x06, 0x50, pw))
            # net turnover: 5000 - 1000 refunded + 6500 + 2500 booked (the void took 700 out)
            assert eod.status[0x04] == bcd(13000, 6) and eod.ended_with == b"\x06\x0f"
            assert ecr.raw(apdu(0x06, 0x50, bytes.fromhex("999999"))) == bytes.fromhex("848300")
        finally:
            ecr.close()
    kinds = [
        (e.kind.name, e.amount, None if e.status is None else e.status.name)
        for e in Journal(journal).entries()
    ]
    assert kinds == [
        ("SALE", 5000, "APPROVED"),
        ("REFUND", 1000, "APPROVED"),
        ("SALE", 700, "APPROVED"),
        ("VOID", 700, "APPROVED"),  # the second reversal of it was refused: no entry
        ("PREAUTH", 8000, "APPROVED"),
        ("COMPLETION", 6500, "APPROVED"),
        ("PREAUTH", 3000, "APPROVED"),
        ("COMPLETION", 2500, "APPROVED"),
        ("PREAUTH", 1500, "APPROVED"),
        ("RELEASE", 1500, "APPROVED"),
    ], kinds


def test_the_trace_annotates_zvt_apdus_with_no_card_data_or_password(tmp_path: Path) -> None:
    import sys

    trace, journal = tmp_path / "terminal.trace", str(tmp_path / "journal.sqlite")
    with zvt_terminal(
        "--port", "listen://127.0.0.1:0", "--trace", str(trace), "--journal", journal
    ) as url:
        host, _, number = url.removeprefix("socket://").rpartition(":")
        ecr = ZvtEcr.tcp(host, int(number))
        try:
            ecr.command(registration())
            ecr.command(authorization(1234))
        finally:
            ecr.close()
    text = trace.read_text()
    assert "4761739001010010" not in text and "123456" not in text  # PAN and password
    shown = subprocess.run(
        [sys.executable, "-m", "driver.cli", "trace", "--fields", str(trace)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "ZVT REGISTRATION" in shown and "ZVT AUTHORIZATION 04=1234 49=978" in shown
    assert "BMP 22 PAN (masked with E) = 476173EEEEEE0010" in shown
    assert "ZVT STATUS_INFORMATION 27=0" in shown and "ZVT COMPLETION" in shown


def test_possim_last_reads_a_zvt_terminal_s_journal(tmp_path: Path) -> None:
    """A ZVT terminal has no possim-protocol port: possim last --journal answers "did that
    payment go through?" from its journal, while it runs."""
    import json
    import sys

    journal = str(tmp_path / "journal.sqlite")
    with zvt_terminal("--port", "listen://127.0.0.1:0", "--journal", journal) as url:
        host, _, number = url.removeprefix("socket://").rpartition(":")
        ecr = ZvtEcr.tcp(host, int(number))
        try:
            ecr.command(registration())
            ecr.command(authorization(4321))
        finally:
            ecr.close()
        run = subprocess.run(
            [sys.executable, "-m", "driver.cli", "last", "--journal", journal, "--json"],
            capture_output=True,
            text=True,
            timeout=30,
        )
    assert run.returncode == 0, run.stderr
    last = json.loads(run.stdout)
    assert (last["status"], last["amount"], last["masked_pan"]) == (
        "approved",
        "43.21",
        "476173******0010",
    )
    missing = subprocess.run(
        [sys.executable, "-m", "driver.cli", "last", "--journal", str(tmp_path / "none")],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert missing.returncode == 2 and "no journal" in missing.stderr


def test_a_terminal_killed_mid_payment_reverses_it_at_restart(tmp_path: Path) -> None:
    """kill -9 while the authorizer is being asked; the terminal restarts on its journal and
    reverses what never completed before it takes the ECR's next command: the ECR's retry is
    a new payment, and the journal holds one reversed and one approved, never two charges."""
    import sqlite3
    import time

    journal = str(tmp_path / "journal.sqlite")
    process, url = spawn_terminal(
        "--protocol",
        "zvt",
        "--port",
        "listen://127.0.0.1:0",
        "--journal",
        journal,
        "--authorizer-latency",
        "5",
        mode="insecure",
    )
    try:
        host, _, number = url.removeprefix("socket://").rpartition(":")
        ecr = ZvtEcr.tcp(host, int(number))
        assert ecr.command(registration()).ended_with == b"\x06\x0f"
        ecr.transport.send(authorization(1234))
        assert ecr.transport.receive(10) == ACK_APDU
        deadline, state = time.monotonic() + 10, None
        while state != "authorizing":
            assert time.monotonic() < deadline
            time.sleep(0.05)
            with sqlite3.connect(journal) as db:  # read only: the terminal is writing
                row = db.execute("SELECT state FROM transactions").fetchone()
            state = row[0] if row else None
        process.kill()
        process.wait()
        ecr.close()
    finally:
        if process.poll() is None:
            process.kill()
    with zvt_terminal("--port", "listen://127.0.0.1:0", "--journal", journal) as url:
        host, _, number = url.removeprefix("socket://").rpartition(":")
        ecr = ZvtEcr.tcp(host, int(number))
        try:
            ecr.command(registration())
            assert ecr.command(authorization(1234)).status[0x27] == b"\x00"
        finally:
            ecr.close()
    entries = Journal(journal).entries()
    assert [(e.state, e.response_code) for e in entries] == [
        ("reversed", "96"),
        ("completed", "00"),
    ]
    with sqlite3.connect(journal + ".ledger") as db:  # the issuer's side: charged once
        statuses = [row[0] for row in db.execute("SELECT status FROM ledger ORDER BY rowid")]
    assert statuses == ["reversed", "authorized"]


def test_docs_zvt_shows_the_bytes_the_terminal_sends() -> None:
    """docs/zvt.md's exchange: the Registration and Authorization as the ECR builds them,
    and the terminal's answers to them (all but the status information, which has the time)."""
    text = (Path(__file__).parent.parent / "docs" / "zvt.md").read_text()
    core, link = make_core(), ZvtLink(serial=False, vu_number="POSSIM000000001")
    assert f"ECR {registration(config=0x08).hex(' ').upper()} " in text
    answers = _run(link, registration(config=0x08), core)
    for raw in answers:
        assert f"PT  {raw.hex(' ').upper()}" in text, raw.hex()
    assert f"ECR {authorization(1234).hex(' ').upper()} " in text
    answers = _run(link, authorization(1234), core, card="default")
    assert answers[-1] == bytes.fromhex("060F00") and len(answers) == 6
    shown = [a for a in answers if a[:2] != b"\x04\x0f"]
    for raw in shown:
        assert f"PT  {raw.hex(' ').upper()}" in text, raw.hex()


def test_an_ecr_that_never_acknowledges_gets_refusals_not_an_endless_queue() -> None:
    from firmware_sim.zvt.link import MAX_PENDING

    core, link = make_core(), ZvtLink(serial=False)
    link.receive_data(registration(), 0.0)  # its completion is never acknowledged
    enquiry = apdu(0x05, 0x01, bytes.fromhex("123456"))
    link.receive_data(enquiry * 1000, 1.0)
    stream = ApduStream()
    stream.feed(link.data_to_send())
    answers = stream.apdus()
    assert answers.count(bytes.fromhex("848300")) == 1000 - MAX_PENDING // 2
    assert len(link._pending) <= MAX_PENDING
    assert link.counters.commands_refused == 1000 - MAX_PENDING // 2
    link.tick(100.0)  # the ECR is given up on; the terminal answers again
    link.data_to_send()
    link.receive_data(registration(), 101.0)
    assert link.data_to_send().startswith(ACK_APDU)
    assert core.state.name == "IDLE"


def test_the_serial_queue_has_an_end_when_nothing_is_acknowledged() -> None:
    from protocols.zvt.serial import MAX_QUEUED

    sender = SerialTransport()
    for i in range(1000):
        sender.send(encode_apdu(0x84, 0x83), float(i) / 1000)
    assert sender.counters["blocks_dropped"] == 1000 - 1 - MAX_QUEUED  # one in flight
