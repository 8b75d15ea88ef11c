"""The paper cuts a new user found: each fixed, each with a test that failed before."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from miniclient import ROOT, possim

from driver import InputRejected, InvalidAmount, Terminal
from driver.testing import simulated_terminal, terminal_process
from firmware_sim.layout import display_width
from firmware_sim.receipts import WIDTH
from protocols.codes import Capability, EntryMode, enum_name
from protocols.exchanges import describe
from protocols.frame import Frame, encode_frame
from protocols.messages import InfoResponse, encode_payload


def one_line(done: subprocess.CompletedProcess[str]) -> str:
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in done.stderr, done.stderr
    return lines[0]


# 1. --display FILE.png is an image a QR reader reads


@pytest.mark.skipif(shutil.which("zbarimg") is None, reason="zbar-tools (scripts/setup) reads QR")
def test_the_display_draws_a_png_that_a_qr_reader_reads(tmp_path: Path) -> None:
    png, svg = tmp_path / "qr.png", tmp_path / "qr.svg"
    for target in (png, svg):
        with terminal_process("--port", "pty", "--entry", "qr", "--display", str(target)) as port:
            with Terminal(port) as terminal:
                outcome = terminal.sale("12.34", "EUR", client_transaction_id="QR1")
        assert outcome.approved and outcome.entry_mode is EntryMode.QR
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert b"<svg" in svg.read_bytes()[:400]
    read = subprocess.run(["zbarimg", "--raw", "-q", str(png)], capture_output=True, text=True)
    payload = read.stdout.strip()
    assert payload.startswith("000201") and "5303978" in payload and "540512.34" in payload


def test_other_display_files_get_the_text_drawing(tmp_path: Path) -> None:
    text = tmp_path / "display.txt"
    with terminal_process("--port", "pty", "--entry", "qr", "--display", str(text)) as port:
        with Terminal(port) as terminal:
            assert terminal.sale("1.00", "EUR").approved
    drawn = text.read_text(encoding="utf-8")
    assert "█" in drawn and "000201" in drawn


# 2. amounts are plain decimals

BAD_AMOUNTS = [
    ("1e9", "EUR"),
    ("-5.00", "EUR"),
    ("+5.00", "EUR"),
    ("1,000.00", "EUR"),
    ("1 000", "EUR"),
    ("12.345", "EUR"),
    ("10.5", "JPY"),
    ("0", "EUR"),
    ("0.00", "EUR"),
    ("10000000000.00", "EUR"),
    ("１２", "EUR"),  # full-width digits
    ("12.", "EUR"),
    ("", "EUR"),
]


@pytest.mark.parametrize(("amount", "currency"), BAD_AMOUNTS)
def test_a_bad_amount_is_refused_before_anything_is_sent(amount: str, currency: str) -> None:
    done = possim("sale", "--port", "/dev/no-such-port", "--amount", amount, "--currency", currency)
    assert done.returncode == 2  # rejected input, not "no such port": the port was not opened
    assert "INVALID_AMOUNT" in one_line(done)
    with simulated_terminal() as port, Terminal(port) as terminal:
        with pytest.raises(InvalidAmount) as info:
            terminal.sale(amount, currency)
        assert isinstance(info.value, ValueError) and isinstance(info.value, InputRejected)
        assert terminal._link.counters.frames_sent == 0  # nothing went to the terminal


def test_good_amounts_follow_the_currency_exponent() -> None:
    with simulated_terminal() as port, Terminal(port) as terminal:
        assert terminal.sale("1500", "JPY").amount == 1500
        assert terminal.sale("1.234", "KWD").amount == 1234
        assert terminal.sale("0.5", "EUR").amount == 50
    assert "plain EUR amount" in one_line(possim("sale", "--port", "x", "--amount", "1e9"))


# 3. receipts in the card's language, the merchant's copy in the terminal's


def test_the_cardholder_copy_follows_the_card_and_the_merchant_copy_the_terminal() -> None:
    with simulated_terminal(card="chinese") as port, Terminal(port) as terminal:
        outcome = terminal.sale("12.34", "EUR")
    assert outcome.approved
    assert "持卡人存根" in outcome.receipt and "交易成功" in outcome.receipt
    assert "MERCHANT COPY" in outcome.merchant_receipt and "APPROVED" in outcome.merchant_receipt
    for receipt in (outcome.receipt, outcome.merchant_receipt):
        aligned = [line for line in receipt if "  " in line]  # label ... value lines
        assert len(aligned) >= 3
        assert {display_width(line) for line in aligned} == {WIDTH}, receipt
    # the Chinese label is narrower in characters than its English twin, but not in columns
    assert any(line.startswith("参考号") for line in outcome.receipt)


def test_both_copies_are_in_the_json_and_survive_a_lookup(tmp_path: Path) -> None:
    journal = tmp_path / "j.sqlite"
    with terminal_process("--port", "pty", "--card", "chinese", "--journal", str(journal)) as port:
        sale = json.loads(possim("sale", "--port", port, "--amount", "5.00", "--id", "Z1", "--json").stdout)
        looked_up = json.loads(possim("lookup", "--port", port, "--id", "Z1", "--json").stdout)
    assert sale["receipt"] == looked_up["receipt"] and "交易成功" in sale["receipt"]
    assert sale["merchant_receipt"] == looked_up["merchant_receipt"]
    assert "APPROVED" in sale["merchant_receipt"]


# 4. possim status


def test_status_shows_the_state_the_transaction_and_the_counters() -> None:
    with simulated_terminal(cardholder="manual") as port, Terminal(port) as terminal:
        sale = threading.Thread(target=terminal.sale, args=("7.00", "EUR"), kwargs={"client_transaction_id": "ST1"})
        sale.start()
        for _ in range(100):
            status = terminal.status()
            if status.state == "WAITING_FOR_CARD":
                break
        assert status.state == "WAITING_FOR_CARD"
        assert (status.client_transaction_id, status.amount, status.currency) == ("ST1", 700, "EUR")
        assert status.to_json()["transaction"]["amount"] == "7.00"
        terminal.cancel()
        sale.join(10)
        counters = terminal.status().counters
    for name in (
        "link_frames_sent",
        "link_frames_received",
        "link_retransmissions",
        "link_naks_sent",
        "link_frames_discarded",
        "link_stale_frames",
        "journal_transactions",
        "journal_cancelled",
    ):
        assert name in counters, name
    assert counters["journal_cancelled"] == 1 and counters["link_frames_received"] > 0


def test_possim_status_from_the_shell() -> None:
    with terminal_process("--port", "pty") as port:
        assert possim("sale", "--port", port, "--amount", "1.00").returncode == 0
        data = json.loads(possim("status", "--port", port, "--json").stdout)
        text = possim("status", "--port", port).stdout
    assert data["state"] == "idle" and data["transaction"] is None
    assert data["counters"]["journal_approved"] == 1
    assert data["counters"]["link_sessions"] >= 2  # a session per process
    assert "link_stale_frames" in text


# 6. no setuptools warnings on a fresh install


def test_an_editable_install_prints_no_warnings(tmp_path: Path) -> None:
    # into a venv of its own: pip would otherwise replace the install the suite runs from
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(tmp_path)], check=True)
    done = subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(tmp_path / "bin" / "python"), "install"]
        + ["-qq", "--no-deps", "-e", str(ROOT)],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    shown = done.stdout + done.stderr
    assert "Warning" not in shown and "deprecat" not in shown.lower(), shown


# 7. one line, a distinct exit status, no traceback


def test_every_cli_error_path_is_one_line_with_its_own_status(tmp_path: Path) -> None:
    help_text = possim("--help").stdout
    for status in range(8):
        assert f"\n  {status}  " in help_text
    bad_port = possim("info", "--port", "/dev/no-such-port")
    assert bad_port.returncode == 5 and "no port" in one_line(bad_port)
    nothing = possim("info", "--port", "socket://127.0.0.1:9")
    assert nothing.returncode == 3 and "possim terminal" in one_line(nothing)
    journal = possim("terminal", "--journal", str(tmp_path / "missing" / "j.sqlite"))
    assert journal.returncode == 7 and "--journal" in one_line(journal)
    card = possim("terminal", "--card", "no-such-card")
    assert card.returncode == 2 and "possim cards" in one_line(card)
    with terminal_process("--port", "pty") as port:
        with Terminal(port):  # holds the port
            busy = possim("info", "--port", port)
        assert busy.returncode == 6 and "busy" in one_line(busy)
        reference = possim("refund", "--port", port, "--amount", "1.00", "--reference", "999999999999")
        assert reference.returncode == 2 and "possim last or possim lookup" in one_line(reference)


def test_a_closed_pipe_is_no_error() -> None:
    done = subprocess.run(
        f"{sys.executable} -m driver.cli cards | head -1",
        shell=True,
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert "Traceback" not in done.stderr and done.stdout.startswith("card")


# 8. possim cards


def test_the_cards_table_fits_its_content() -> None:
    lines = possim("cards").stdout.splitlines()
    table = [line for line in lines[: lines.index("")] if line]
    start = table[0].index("PAN")
    for line in table[1:]:
        name, _, rest = line.partition(" ")
        assert line[start : start + 16].isdigit(), line  # every PAN in its column
        assert line[start - 2 : start] == "  ", line  # and apart from the name


# 9. money as people read it


def test_a_refused_refund_says_its_amounts_in_the_currency() -> None:
    with simulated_terminal() as port, Terminal(port) as terminal:
        sale = terminal.sale("20.00", "EUR")
        with pytest.raises(InputRejected) as info:
            terminal.refund("25.00", "EUR", sale.reference)
    assert "EUR 0.00 of EUR 20.00 already refunded" in str(info.value)


# 10. the same output on every Python that setup.cfg accepts


def test_flag_combinations_are_named_on_every_python() -> None:
    combined = Capability.CHIP | Capability.SWIPE | Capability.PIN_PAD
    assert enum_name(combined) == "CHIP|SWIPE|PIN_PAD"
    frame = encode_frame(
        Frame(1, 0x30, b"TAG!" + encode_payload(InfoResponse(2, "1", "S", combined)))
    )
    assert "capabilities=CHIP|SWIPE|PIN_PAD" in describe(frame)
