"""No card data in clear in anything possim writes: a full session (every transaction kind,
every entry mode, online through the acquirer host, a PIN block, a PC/SC reader session)
with traces on both sides, then every file written and every command's output is scanned
for the PAN (ASCII, BCD, and both as hex), the cardholder name, the PIN blocks the session
produced, and the shipped keys."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from driver import Terminal
from driver.testing import terminal_process
from firmware_sim.catalogue import CATALOGUE
from firmware_sim.runner import TerminalConfig, TerminalRunner
from tests.pcscd import PrivatePcscd
from tests.test_acquirer import running_host
from tests.test_pcsc import READER, _serve, _wait_for_card

ROOT = Path(__file__).resolve().parent.parent
PAN = CATALOGUE["default"].pan
NAME = CATALOGUE["default"].cardholder_name
KEYS = (
    "0123456789ABCDEFFEDCBA9876543210",  # TDES BDK, the issuer master key
    "FEDCBA9876543210F1F1F1F1F1F1F1F1",  # AES BDK
    "2B7E151628AED2A6ABF7158809CF4F3C",  # the acquirer MAC key
)


def forbidden(pin_blocks: list[str]) -> list[bytes]:
    """Every form the card data, PIN blocks and keys could take in a file."""
    texts = [PAN, NAME, *pin_blocks, *KEYS]
    forms = []
    for text in texts:
        forms += [text.encode(), text.encode().hex().encode(), text.encode().hex().upper().encode()]
        forms += [text.lower().encode()]
    forms.append(bytes.fromhex(PAN))  # the PAN as BCD, in a binary file
    return forms


def scan(directory: Path, outputs: list[str], pin_blocks: list[str]) -> list[str]:
    found = []
    patterns = forbidden(pin_blocks)
    for path in sorted(directory.rglob("*")):
        if path.is_file():
            data = path.read_bytes()
            found += [f"{path.name}: {p[:12]!r}" for p in patterns if p in data]
    for i, output in enumerate(outputs):
        found += [f"output {i}: {p[:12]!r}" for p in patterns if p in output.encode()]
    return found


def pcsc_session(tmp_path: Path, pcscd: PrivatePcscd) -> None:
    """A sale with the card in a reader behind a real pcscd, traced on both sides."""
    server, _ = _serve("default", pcscd.port)
    try:
        _wait_for_card(True)
        trace = str(tmp_path / "terminal-pcsc.trace")
        with terminal_process(
            "--port",
            "pty",
            "--reader",
            f"pcsc:{READER}",
            "--trace",
            trace,
            "--journal",
            str(tmp_path / "journal-pcsc.sqlite"),
        ) as tty:
            with Terminal(tty, trace=str(tmp_path / "host-pcsc.trace")) as t:
                assert t.sale("12.34", "EUR").approved
    finally:
        server.stop()


def test_a_full_session_leaves_no_card_data_in_any_file(
    tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    outputs: list[str] = []
    pin_blocks: list[str] = []
    with running_host(str(tmp_path / "host.sqlite")) as (_, url):
        for entry in ("chip", "swipe", "tap", "qr"):
            runner = TerminalRunner(
                TerminalConfig(
                    port="pty",
                    journal=str(tmp_path / f"journal-{entry}.sqlite"),
                    entry=entry,
                    acquirer=url,
                    terminal_id=f"T-{entry}",
                    trace=str(tmp_path / f"terminal-{entry}.trace"),
                )
            )
            runner.start()
            try:
                trace = str(tmp_path / f"host-{entry}.trace")
                with Terminal(runner.port.name, trace=trace) as t:
                    sale = t.sale(1234, "EUR", client_transaction_id="S1")
                    assert sale.approved, sale
                    block = t.pin_block(PAN, 0)
                    pin_blocks.append(block.pin_block.hex().upper())
                    if entry == "chip":
                        t.refund(500, "EUR", sale.reference, client_transaction_id="R1")
                        hold = t.preauth(5000, "EUR", client_transaction_id="P1")
                        t.increment(hold.reference, 1000, client_transaction_id="I1")
                        t.complete(hold.reference, 4000, tip=500, client_transaction_id="C1")
                        hold2 = t.preauth(3000, "EUR", client_transaction_id="P2")
                        t.release(hold2.reference, client_transaction_id="L1")
                        other = t.sale(800, "EUR", client_transaction_id="S2")
                        t.void(other.reference, client_transaction_id="V1")
                        t.adjust_tip(sale.reference, 200, client_transaction_id="T1")
                        t.sale(1251, "EUR", client_transaction_id="S3")  # declined
                        t.settle()
                for command in (["last", "--json"], ["status", "--json"], ["last"]):
                    done = subprocess.run(
                        [sys.executable, "-m", "driver.cli", *command, "--port", runner.port.name],
                        capture_output=True,
                        text=True,
                        cwd=ROOT,
                    )
                    outputs += [done.stdout, done.stderr]
            finally:
                runner.stop()
    # a PC/SC reader session: the card in a reader behind a real pcscd (where there is one:
    # CI must have it; elsewhere the rest of the session is still scanned)
    try:
        pcscd: PrivatePcscd = request.getfixturevalue("pcscd")
    except pytest.skip.Exception:
        pcscd = None  # type: ignore[assignment]
    if pcscd is not None:
        pcsc_session(tmp_path, pcscd)
    shown = subprocess.run(
        [
            sys.executable,
            "-m",
            "driver.cli",
            "trace",
            "--fields",
            *map(str, tmp_path.glob("*.trace")),
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    outputs += [shown.stdout, shown.stderr]
    assert "PIN_BLOCK_REQUEST" in shown.stdout and "0200 financial request" in shown.stdout
    written = [p.name for p in tmp_path.iterdir()]
    assert any(n.endswith(".trace") for n in written) and any("sqlite" in n for n in written)
    assert scan(tmp_path, outputs, pin_blocks) == []
