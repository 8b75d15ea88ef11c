"""The acquirer leg: `possim host` (ISO 8583 over TCP, a real SQLite ledger) and terminals that
go online through it. Real sockets, real ptys, real files; no mocks."""

from __future__ import annotations

import asyncio
import socket
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from driver import Terminal
from firmware_sim.acquirer import AcquirerClient, Identity
from firmware_sim.host import AcquirerHost, HostLedger
from firmware_sim.issuer import AuthorizationRequest
from firmware_sim.runner import TerminalConfig, TerminalRunner
from keys import KeyStore
from protocols.acquirer.codec import (
    AcquirerFormatError,
    LengthPrefixedDecoder,
    decode,
    encode,
    encode_sealed,
    frame,
)
from protocols.codes import EntryMode, TransactionKind

MAC = KeyStore.load().message_authenticator()


@contextmanager
def running_host(ledger: str) -> Iterator[tuple[AcquirerHost, str]]:
    """An AcquirerHost on its own event loop thread, on a free local port."""
    host = AcquirerHost(ledger)
    loop = asyncio.new_event_loop()
    started = threading.Event()
    address: list[tuple[str, int]] = []

    def run() -> None:
        asyncio.set_event_loop(loop)
        address.append(loop.run_until_complete(host.start("127.0.0.1", 0)))
        started.set()
        loop.run_forever()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    assert started.wait(5)
    try:
        yield host, f"tcp://{address[0][0]}:{address[0][1]}"
    finally:

        async def shut() -> None:
            assert host.server is not None
            host.server.close()
            for task in asyncio.all_tasks():
                if task is not asyncio.current_task():
                    task.cancel()

        asyncio.run_coroutine_threadsafe(shut(), loop).result(5)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)
        loop.close()
        host.close()


@contextmanager
def online_terminal(url: str, journal: str, timeout: float = 5.0) -> Iterator[TerminalRunner]:
    runner = TerminalRunner(
        TerminalConfig(port="pty", journal=journal, acquirer=url, acquirer_timeout=timeout)
    )
    runner.start()
    try:
        yield runner
    finally:
        runner.stop()


def sealed(doc: dict[str, str]) -> bytes:
    return encode_sealed(doc, MAC.mac)


def exchange(url: str, *messages: bytes) -> list[bytes]:
    """Send framed messages on one connection; the framed answers, one per message."""
    host, port = url.removeprefix("tcp://").rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=5) as sock:
        decoder, answers = LengthPrefixedDecoder(), []
        for message in messages:
            sock.sendall(frame(message))
            while not (got := decoder.feed(sock.recv(65536))):
                pass
            answers += got
        return answers


def sale_doc(stan: str, rrn: str, amount: int = 1234, tid: str = "TESTTID1") -> dict[str, str]:
    """A swiped sale of the default card, no PIN."""
    return {
        "t": "0200",
        "3": "000000",
        "4": f"{amount:012d}",
        "7": "1126010203",
        "11": stan,
        "12": "010203",
        "13": "1126",
        "22": "901",
        "35": "4761739001010010D27122010000000000000",
        "37": rrn,
        "41": tid,
        "42": "POSSIM000000001",
        "48": "TK0011",
        "49": "978",
    }


# --- the host on its own ---------------------------------------------------------------


def test_every_kind_online_and_the_ledger_matches_the_settlement(tmp_path: Path) -> None:
    with running_host(str(tmp_path / "host.sqlite")) as (host, url):
        with online_terminal(url, str(tmp_path / "journal.sqlite")) as runner:
            with Terminal(runner.port.name) as terminal:
                sale = terminal.sale(1234, "EUR", client_transaction_id="S1")
                declined = terminal.sale(1251, "EUR", client_transaction_id="S2")
                partial = terminal.sale(2010, "EUR", client_transaction_id="S3", allow_partial=True)
                refund = terminal.refund(500, "EUR", sale.reference, client_transaction_id="R1")
                hold = terminal.preauth(5000, "EUR", client_transaction_id="P1")
                more = terminal.increment(hold.reference, 1000, client_transaction_id="I1")
                capture = terminal.complete(
                    hold.reference, 4200, tip=500, client_transaction_id="C1"
                )
                hold2 = terminal.preauth(3000, "EUR", client_transaction_id="P2")
                release = terminal.release(hold2.reference, client_transaction_id="L1")
                sale4 = terminal.sale(800, "EUR", client_transaction_id="S4")
                void = terminal.void(sale4.reference, client_transaction_id="V1")
                tip = terminal.adjust_tip(sale.reference, 200, client_transaction_id="T1")
                terminal.settle()
            counters = runner.status_counters()
        assert [r.response_code for r in (sale, declined, partial, refund)] == [
            "00",
            "51",
            "10",
            "00",
        ]
        assert partial.approved_amount == 1005
        assert all(r.approved for r in (hold, more, capture, hold2, release, sale4, void, tip))
        # every kind went to the host, and at settlement the host found the batch in balance
        assert counters["acquirer_requests"] == 12 and counters["acquirer_timeouts"] == 0
        assert counters["acquirer_in_balance"] == 1 and counters["acquirer_out_of_balance"] == 0
        assert host.counters.reconciliations == 1 and host.counters.out_of_balance == 0
        statuses = {ref.split(":")[1]: status for ref, _, _, status in host.ledger.issuer.ledger()}
        assert statuses[sale4.reference] == "voided"
        assert statuses[hold.reference] == "captured"
        assert statuses[hold2.reference] == "released"


def test_a_request_sent_again_is_answered_the_same_and_charged_once(tmp_path: Path) -> None:
    with running_host(str(tmp_path / "host.sqlite")) as (host, url):
        first = sealed(sale_doc("000001", "000000000001"))
        repeat = sealed({**sale_doc("000001", "000000000001"), "t": "0201"})
        answers = exchange(url, first, first) + exchange(url, repeat)
        assert answers[0] == answers[1] == answers[2]
        assert decode(answers[0])["39"] == "00"
        # the same STAN for another transaction: 94, and the first one stands
        other = exchange(url, sealed(sale_doc("000001", "000000000002")))[0]
        assert decode(other)["39"] == "94"
        assert len(host.ledger.issuer.ledger()) == 1
        assert host.counters.replayed == 2


def test_format_errors_get_30_and_bad_framing_closes_only_that_connection(tmp_path: Path) -> None:
    with running_host(str(tmp_path / "host.sqlite")) as (host, url):
        missing_amount = {k: v for k, v in sale_doc("000002", "000000000002").items() if k != "4"}
        wrong_mac = sealed(sale_doc("000003", "000000000003"))[:-1] + b"0"
        unknown_kind = sealed({**sale_doc("000004", "000000000004"), "48": "TK0029"})
        answers = exchange(url, b"0200garbage", encode(missing_amount), wrong_mac, unknown_kind)
        assert [decode(a)["39"] for a in answers] == ["30", "30", "30", "30"]
        assert [decode(a)["t"] for a in answers] == ["0210"] * 4
        # a length header of zero cannot be resynchronised: that connection is closed
        hostname, port = url.removeprefix("tcp://").rsplit(":", 1)
        with socket.create_connection((hostname, int(port)), timeout=5) as sock:
            sock.sendall(b"\x00\x00" + b"x" * 10)
            assert sock.recv(100) == b""
        assert host.counters.connections_closed == 1
        # and the host goes on: nothing was written, the next sale is approved
        assert decode(exchange(url, sealed(sale_doc("000005", "000000000005")))[0])["39"] == "00"
        assert host.counters.mac_failures == 1
        assert len(host.ledger.issuer.ledger()) == 1


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=600))
def test_the_host_parser_never_raises(data: bytes) -> None:
    ledger = HostLedger(":memory:")
    with ledger.transaction():
        answer = ledger.handle(data, now=1.7e9)
    assert answer is None or decode(answer)["39"] == "30"


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(0, 0xFFFF), max_size=5), st.binary(max_size=200))
def test_the_length_decoder_refuses_or_splits(lengths: list[int], tail: bytes) -> None:
    data = b"".join(n.to_bytes(2, "big") + bytes(min(n, 50)) for n in lengths) + tail
    decoder = LengthPrefixedDecoder()
    try:
        for message in decoder.feed(data):
            assert 0 < len(message) <= 4096
    except AcquirerFormatError:
        pass


# --- the terminal's side ---------------------------------------------------------------


class SilentHost:
    """A TCP server that accepts, reads, and never answers: a host that has hung."""

    def __init__(self) -> None:
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self.received = 0
        self.connections: list[socket.socket] = []
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self) -> None:
        while True:
            try:
                conn, _ = self.server.accept()
            except OSError:
                return
            self.connections.append(conn)
            threading.Thread(target=self._drain, args=(conn,), daemon=True).start()

    def _drain(self, conn: socket.socket) -> None:
        while True:
            try:
                data = conn.recv(4096)
            except OSError:
                return
            if not data:
                return
            self.received += len(data)

    def close(self) -> None:
        self.server.close()
        for conn in self.connections:
            conn.close()


def card_sale(reference: str, amount: int = 1234) -> AuthorizationRequest:
    return AuthorizationRequest(
        TransactionKind.SALE,
        reference,
        "4761739001010010",
        "01",
        "2712",
        amount,
        "EUR",
        EntryMode.SWIPE,
        "202611",
        track2="4761739001010010D27122010000000000000",
    )


def test_no_answer_in_time_declines_91_and_the_reversal_follows_when_the_host_is_back(
    tmp_path: Path,
) -> None:
    # the sign-on is answered by nobody either: a hung host. Start a real host first so the
    # client is signed on, then hang: the client keeps its connection to the real host, so
    # instead point a client at the silent one and check what it queues.
    silent = SilentHost()
    outbox = str(tmp_path / "journal.sqlite")
    client = AcquirerClient(
        f"tcp://127.0.0.1:{silent.port}", outbox, Identity("TESTTID1", "M1"), timeout=0.5
    )
    try:
        # the sign-on goes unanswered: nothing of the sale was sent, nothing to reverse
        assert client.authorize(card_sale("000000000001")).response_code == "91"
        assert client.outbox.waiting() == []
    finally:
        client.close()
        silent.close()

    with running_host(str(tmp_path / "host.sqlite")) as (host, url):
        client = AcquirerClient(
            url, outbox, Identity("TESTTID1", "M1"), timeout=2.0, retry_interval=0.2
        )
        try:
            approved = client.authorize(card_sale("000000000002"))
            assert approved.response_code == "00"
            # the host hangs for this one: its answer comes too late, so the client reverses
            host_loop_hang = threading.Event()
            original_commit = host._commit

            def slow_commit(messages: list[bytes]) -> list[bytes | None]:
                if not host_loop_hang.is_set():
                    host_loop_hang.set()
                    time.sleep(3.0)
                return original_commit(messages)

            host._commit = slow_commit  # type: ignore[method-assign]
            late = client.authorize(card_sale("000000000003"))
            assert late.response_code == "91"
            assert [q.doc["t"] for q in client.outbox.waiting()] == ["0420"]
            deadline = time.monotonic() + 10
            while client.outbox.waiting() and time.monotonic() < deadline:
                time.sleep(0.1)
            assert client.outbox.waiting() == []  # the sender thread delivered it
            statuses = {ref: status for ref, _, _, status in host.ledger.issuer.ledger()}
            # the host did approve the late one, and the reversal undid it: never charged
            assert statuses["TESTTID1:000000000003"] == "reversed"
            assert statuses["TESTTID1:000000000002"] == "authorized"
        finally:
            client.close()


def test_a_request_arriving_after_its_reversal_is_never_approved(tmp_path: Path) -> None:
    with running_host(str(tmp_path / "host.sqlite")) as (host, url):
        reversal = {
            "t": "0420",
            **{
                k: v
                for k, v in sale_doc("000010", "000000000009").items()
                if k not in ("t", "22", "35")
            },
            "90": "0200000009112601020300000000000000000000000",
        }
        reversal["90"] = reversal["90"][:42]
        late = sealed(sale_doc("000009", "000000000009"))
        answers = exchange(url, sealed(reversal), late)
        assert decode(answers[0])["39"] == "00"
        assert decode(answers[1])["39"] == "12"
        statuses = {ref: status for ref, _, _, status in host.ledger.issuer.ledger()}
        assert statuses == {"TESTTID1:000000000009": "reversed"}


def test_the_queue_survives_a_terminal_restart(tmp_path: Path) -> None:
    outbox = str(tmp_path / "journal.sqlite")
    silent = SilentHost()
    silent.close()  # nothing listens there now: connections are refused
    client = AcquirerClient(f"tcp://127.0.0.1:{silent.port}", outbox, Identity("TESTTID1", "M1"))
    client.outbox.about_to_send(
        __import__("firmware_sim.acquirer.messages", fromlist=["Sent"]).Sent(
            "000000000005", "0200", "000005", "1126010203", 1, "000000", 1234, "EUR"
        )
    )
    assert client.reverse("000000000005")  # queued; the host is not there
    client.close()
    with sqlite3.connect(outbox) as db:
        assert db.execute("SELECT COUNT(*) FROM acquirer_outbox WHERE done = 0").fetchone() == (1,)
    with running_host(str(tmp_path / "host.sqlite")) as (host, url):
        client = AcquirerClient(url, outbox, Identity("TESTTID1", "M1"), retry_interval=0.1)
        try:
            assert client.flush() == 1
            assert host.counters.messages >= 2  # the sign-on and the reversal
        finally:
            client.close()


def test_the_trace_decodes_the_iso_leg_with_no_card_data_in_clear(tmp_path: Path) -> None:
    import json
    import subprocess
    import sys

    trace = tmp_path / "terminal.trace"
    with running_host(str(tmp_path / "host.sqlite")) as (_, url):
        runner = TerminalRunner(
            TerminalConfig(port="pty", acquirer=url, acquirer_timeout=5, trace=str(trace))
        )
        runner.start()
        try:
            with Terminal(runner.port.name) as terminal:
                terminal.sale(1234, "EUR", client_transaction_id="S1")
        finally:
            runner.stop()
    pan = "4761739001010010"
    records = [json.loads(line) for line in trace.read_text().splitlines()]
    iso = [r for r in records if r["kind"] == "iso8583"]
    assert len(iso) == 4  # sign-on and its answer, the sale and its answer
    for record in iso:
        assert pan.encode().hex() not in record["hex"] and pan not in record["hex"]
    shown = subprocess.run(
        [sys.executable, "-m", "driver.cli", "trace", "--fields", str(trace)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "0200 financial request" in shown and "0210 financial response" in shown
    assert "476173******0010" in shown and pan not in shown
    assert "DE 52   PIN                                   0000000000000000" in shown


def test_broken_icc_data_is_a_format_error_not_a_malfunction(tmp_path: Path) -> None:
    # found by scripts/fuzz_parsers.py: DE 55 that is hex but not BER-TLV was answered 96
    with running_host(str(tmp_path / "host.sqlite")) as (host, url):
        broken = sealed({**sale_doc("000001", "000000000001"), "55": "9F2608AABB"})
        assert decode(exchange(url, broken)[0])["39"] == "30"
        assert host.counters.internal_errors == 0 and host.ledger.issuer.ledger() == []


def test_a_message_type_of_other_characters_closes_the_connection_quietly() -> None:
    # found by scripts/fuzz_parsers.py: "\xaf00 " passed as an MTI and its answer crashed
    ledger = HostLedger(":memory:")
    with ledger.transaction():
        assert ledger.handle(bytes.fromhex("af303020") + b"\t" * 20, now=1.7e9) is None
        assert ledger.handle(b"0\xb300" + b"0" * 20, now=1.7e9) is None
    assert ledger.counters.format_errors == 2


def test_a_bitmap_naming_field_129_is_a_format_error() -> None:
    # found by scripts/fuzz_parsers.py: pyiso8583 4.0.1 raises KeyError('129') on this
    raw = b"0200" + b"8000000000000000" + b"8000000000000000" + b"0" * 16
    try:
        decode(raw)
    except AcquirerFormatError as e:
        assert e.mti == "0200"
    else:
        raise AssertionError("decoded")
    ledger = HostLedger(":memory:")
    with ledger.transaction():
        answer = ledger.handle(raw, now=1.7e9)
    assert answer is not None and decode(answer)["39"] == "30"


@pytest.mark.parametrize("entry", ["chip", "swipe", "tap", "qr"])
def test_every_entry_mode_goes_online_and_its_cryptogram_verifies(
    tmp_path: Path, entry: str
) -> None:
    # a contactless card's cryptogram covers other data than a contact card's (DE 55's
    # layout follows DE 22): a wrong layout would be answered 88
    with running_host(str(tmp_path / "host.sqlite")) as (host, url):
        runner = TerminalRunner(TerminalConfig(port="pty", acquirer=url, entry=entry))
        runner.start()
        try:
            with Terminal(runner.port.name) as terminal:
                outcome = terminal.sale(1234, "EUR", client_transaction_id="S1")
            requests = runner.status_counters()["acquirer_requests"]
        finally:
            runner.stop()
        assert (outcome.response_code, requests) == ("00", 1)
        assert host.counters.format_errors == 0


def test_reconciliation_counts_only_that_terminals_entries(tmp_path: Path) -> None:
    # terminal ids are the ledger's prefix: "T_000001" must not take in "TX000001"'s (an SQL
    # LIKE would: _ matches any character)
    with running_host(str(tmp_path / "host.sqlite")) as (host, url):
        exchange(url, sealed(sale_doc("000001", "000000000001", tid="T_000001")))
        exchange(url, sealed(sale_doc("000001", "000000000001", tid="TX000001")))
        issuer = host.ledger.issuer
        assert issuer.open_totals("T_000001:", "EUR") == (0, 0, 1, 1234)
        with issuer.transaction():
            issuer.close_batch("T_000001:", "EUR", "T_000001:1")
        assert issuer.open_totals("TX000001:", "EUR") == (0, 0, 1, 1234)


def test_a_host_restart_between_payments_costs_no_decline(tmp_path: Path) -> None:
    # the client's idle connection is dead after the host restarts: it must notice before
    # sending, not decline the next payment 91 and reverse it for nothing
    from driver.testing import spawn_host

    port = socket.create_server(("127.0.0.1", 0))
    listen = f"127.0.0.1:{port.getsockname()[1]}"
    port.close()
    ledger = str(tmp_path / "host.sqlite")
    host, url = spawn_host("--listen", listen, "--ledger", ledger)
    client = AcquirerClient(url, str(tmp_path / "journal.sqlite"), Identity("TESTTID1", "M1"))
    try:
        assert client.authorize(card_sale("000000000001")).response_code == "00"
        host.terminate()
        host.wait()
        host, _ = spawn_host("--listen", listen, "--ledger", ledger)
        assert client.authorize(card_sale("000000000002")).response_code == "00"
        assert client.counters.reversals_queued == 0 and client.counters.connections == 2
    finally:
        client.close()
        host.terminate()
        host.wait()


def test_nothing_overtakes_a_reversal_the_host_has_not_had(tmp_path: Path) -> None:
    from driver.testing import spawn_host
    from firmware_sim.acquirer.messages import Sent

    probe = socket.create_server(("127.0.0.1", 0))
    listen = f"127.0.0.1:{probe.getsockname()[1]}"
    probe.close()  # nothing listens there yet: connections are refused
    client = AcquirerClient(
        f"tcp://{listen}",
        str(tmp_path / "journal.sqlite"),
        Identity("TESTTID1", "M1"),
        retry_interval=3600,
    )
    try:
        client.outbox.about_to_send(
            Sent("000000000001", "0200", "000001", "1126010203", 1, "000000", 1234, "EUR")
        )
        assert client.reverse("000000000001")  # queued: the host is not there
        sale = client.authorize(card_sale("000000000002"))
        assert sale.response_code == "91" and client.outbox.sent("000000000002") is None
        completion = AuthorizationRequest(
            TransactionKind.COMPLETION,
            "000000000003",
            "",
            "",
            "",
            4000,
            "EUR",
            EntryMode.NONE,
            "202611",
            original_reference="000000000001",
        )
        assert client.authorize(completion).approved  # approved here, queued behind
        assert [q.doc["t"] for q in client.outbox.waiting()] == ["0420", "0220"]
        host, _ = spawn_host("--listen", listen, "--ledger", str(tmp_path / "host.sqlite"))
        try:
            assert client.flush() == 2  # in order
        finally:
            host.terminate()
            host.wait()
    finally:
        client.close()
