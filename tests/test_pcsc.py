"""The card side through real PC/SC: a private pcscd (own socket, own configuration) with the
vsmartcard vpcd driver, the
virtual card served to it (``possim card``'s VpcdCard), and the terminal reading it with
pyscard (``--reader pcsc``): a full sale from the driver to the card and back."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

import keys
from driver import CancelOutcome, Terminal, TransactionStatus
from driver.testing import terminal_process
from firmware_sim.cards import CATALOGUE, VirtualCard
from firmware_sim.pcsc import PcscReader
from firmware_sim.vpcd import VpcdCard
from tests.pcscd import PrivatePcscd

READER = "Virtual PCD 00 00"


def _serve(card: str, port: int) -> tuple[VpcdCard, threading.Thread]:
    server = VpcdCard(VirtualCard(CATALOGUE[card]), ("127.0.0.1", port))
    thread = threading.Thread(target=server.serve, daemon=True)
    thread.start()
    assert server.connected.wait(10)
    return server, thread


def _wait_for_card(present: bool) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if PcscReader(READER).card_present() == present:
            return
        time.sleep(0.2)
    raise AssertionError(f"card present should be {present}")


def test_a_generic_pcsc_client_reads_the_virtual_card(pcscd: PrivatePcscd) -> None:
    port = pcscd.port
    server, _ = _serve("default", port)
    try:
        _wait_for_card(True)
        reader = PcscReader(READER)
        atr = reader.power_on()
        assert atr.hex().upper() == "3B6800000073C84013009000"
        pse = reader.transmit(bytes.fromhex("00A404000E315041592E5359532E444446303100"))
        assert pse[-2:] == b"\x90\x00" and b"1PAY.SYS.DDF01" in pse
        ppse = reader.transmit(bytes.fromhex("00A404000E325041592E5359532E444446303100"))
        assert ppse[-2:] == b"\x90\x00" and bytes.fromhex("A0000000031010") in ppse
        aid = reader.transmit(bytes.fromhex("00A4040007A000000003101000"))
        assert (
            aid[-2:] == b"\x90\x00" and bytes.fromhex("9F380C9F6604") in aid
        )  # its PDOL, TTQ first
        atc = reader.transmit(bytes.fromhex("80CA9F3600"))
        assert atc[:3] == bytes.fromhex("9F3602") and atc[-2:] == b"\x90\x00"
        pin_tries = reader.transmit(bytes.fromhex("80CA9F1700"))
        assert pin_tries == bytes.fromhex("9F1701039000")
        reader.power_off()
    finally:
        server.stop()


def test_t0_procedure_bytes_are_handled_by_the_reader(pcscd: PrivatePcscd) -> None:
    port = pcscd.port
    server, _ = _serve("t0-card", port)
    try:
        _wait_for_card(True)
        reader = PcscReader(READER)
        reader.power_on()
        raw = reader._raw(bytes.fromhex("00A404000E315041592E5359532E444446303100"))
        assert raw[0] == 0x61  # the card itself answers T=0 style
        pse = reader.transmit(bytes.fromhex("00A404000E315041592E5359532E444446303100"))
        assert pse[-2:] == b"\x90\x00" and b"1PAY.SYS.DDF01" in pse  # via GET RESPONSE
        assert reader._raw(bytes.fromhex("80CA9F1700"))[0] == 0x6C  # Le 00 is wrong
        assert reader.transmit(bytes.fromhex("80CA9F1700")) == bytes.fromhex("9F1701039000")
        reader.power_off()
    finally:
        server.stop()


@pytest.mark.parametrize("card", ["default", "t0-card", "cda"])
def test_a_full_sale_through_pcscd_and_vpcd(pcscd: PrivatePcscd, card: str) -> None:
    port = pcscd.port
    server, _ = _serve(card, port)
    _wait_for_card(True)
    with terminal_process("--port", "pty", "--reader", f"pcsc:{READER}") as tty:
        with Terminal(tty) as terminal:
            outcome = terminal.sale("12.34", "EUR")
            assert (outcome.status, outcome.response_code) == (TransactionStatus.APPROVED, "00")
            pan = CATALOGUE[card].pan
            assert outcome.masked_pan == pan[:6] + "******" + pan[-4:]
            assert server.exchanges >= 8  # SELECT, READ RECORD, GPO, GENERATE AC twice...
            server.stop()  # the cardholder takes the card out
            _wait_for_card(False)
            deadline = time.monotonic() + 5
            while terminal.cancel() is not CancelOutcome.NOTHING_RUNNING:  # removal seen: idle
                assert time.monotonic() < deadline
                time.sleep(0.2)


def test_the_card_reconnects_when_pcscd_restarts(pcscd: PrivatePcscd) -> None:
    server, _ = _serve("offline-pin", pcscd.port)
    try:
        pcscd.stop()
        time.sleep(0.5)
        pcscd.start()
        assert server.connected.wait(10)
        _wait_for_card(True)
        reader = PcscReader(READER)
        reader.power_on()
        assert reader.transmit(bytes.fromhex("80CA9F3600"))[-2:] == b"\x90\x00"
        reader.power_off()
    finally:
        server.stop()


@pytest.mark.parametrize("card", ["cda", "sda"])
def test_an_independent_emv_client_verifies_the_cards_certificates(
    pcscd: PrivatePcscd, card: str
) -> None:
    """``possim card``'s card through pcscd, read by tests/emv_client.py (pyscard, OpenSSL,
    ``cryptography``; none of possim's EMV code): the AIP announces the card's ODA, and its
    certificates and signatures verify under the CA key of ca-keys.test.txt."""
    from tests.emv_client import (
        EmvClient,
        flat,
        openssl_recover,
        recover_icc_modulus,
        recover_issuer_modulus,
        sha1,
    )

    fields = (Path(keys.__file__).parent / "data" / "ca-keys.test.txt").read_text().split()
    ca_modulus = int(fields[-1], 16)
    server, _ = _serve(card, pcscd.port)
    try:
        _wait_for_card(True)
        client = EmvClient(READER)
        read = client.read()
        assert read.tags[0x8F] == b"\xe1"
        issuer = recover_issuer_modulus(ca_modulus, read)
        if card == "sda":
            assert read.tags[0x82] == bytes.fromhex("5800")
            block = openssl_recover(int.from_bytes(issuer, "big"), 3, read.tags[0x93])
            assert block[:2] == b"\x6a\x03"
            assert sha1(block[1:-21], read.static_data) == block[-21:-1]
        else:
            assert read.tags[0x82] == bytes.fromhex("3900")  # CDA and DDA
            icc = recover_icc_modulus(issuer, read)
            un = bytes.fromhex("01020304")
            answer, sw = client.send(bytes.fromhex("0088000004") + un + b"\x00")
            assert sw == 0x9000
            sdad = flat(answer)[0x80]
            block = openssl_recover(int.from_bytes(icc, "big"), 3, sdad)
            assert block[:2] == b"\x6a\x05" and block[-1] == 0xBC
            assert sha1(block[1:-21], un) == block[-21:-1]
        client.close()
    finally:
        server.stop()


def test_possim_oda_checks_the_card_in_a_pcsc_reader(pcscd: PrivatePcscd) -> None:
    """``possim oda --reader pcsc``: the hardware tester's check, through a real pcscd."""
    for card, verified in (("cda", True), ("oda-revoked", False)):
        server, _ = _serve(card, pcscd.port)
        try:
            _wait_for_card(True)
            run = subprocess.run(
                [sys.executable, "-m", "driver.cli", "oda", "--reader", f"pcsc:{READER}", "--json"],
                capture_output=True,
                text=True,
                timeout=60,
            )
            assert run.returncode == 0, run.stderr
            report = json.loads(run.stdout)
            assert report["verified"] is verified
            assert (
                report["masked_pan"]
                == CATALOGUE[card].pan[:6] + "******" + CATALOGUE[card].pan[-4:]
            )
        finally:
            server.stop()
            _wait_for_card(False)
