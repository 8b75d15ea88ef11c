"""The card side through real PC/SC: a private pcscd (own socket, own configuration) with the
vsmartcard vpcd driver, the
virtual card served to it (``possim card``'s VpcdCard), and the terminal reading it with
pyscard (``--reader pcsc``): a full sale from the driver to the card and back."""

from __future__ import annotations

import os
import random
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from driver import CancelOutcome, Terminal, TransactionStatus
from driver.testing import terminal_process
from firmware_sim.cards import CATALOGUE, VirtualCard
from firmware_sim.pcsc import PcscReader, list_readers
from firmware_sim.vpcd import VpcdCard

VPCD_DRIVER = Path("/usr/lib/pcsc/drivers/serial/libifdvpcd.so")
READER = "Virtual PCD 00 00"


class PrivatePcscd:
    """A pcscd of our own: its own reader configuration (vpcd on a private port) and its own
    socket. pcsc-lite 1.9.9's daemon always listens on /run/pcscd/pcscd.comm, so it runs in a
    private mount namespace where that directory is ours; clients find it through
    PCSCLITE_CSOCK_NAME, which libpcsclite honours."""

    def __init__(self, root: Path) -> None:
        self.port = random.randint(36000, 36999)
        self.config = root / "reader.conf.d"
        self.config.mkdir()
        (self.config / "vpcd").write_text(
            f'FRIENDLYNAME "Virtual PCD"\nDEVICENAME /dev/null:0x{self.port:X}\n'
            f"LIBPATH {VPCD_DRIVER}\nCHANNELID 0x{self.port:X}\n"
        )
        self.socket_dir = root / "run"
        self.socket_dir.mkdir()
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        Path("/run/pcscd").mkdir(parents=True, exist_ok=True)
        script = (
            f"mount --bind {self.socket_dir} /run/pcscd && exec pcscd --foreground -c {self.config}"
        )
        self.process = subprocess.Popen(
            ["unshare", "--mount", "--propagation", "private", "sh", "-c", script],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                if any(name.startswith("Virtual PCD") for name in list_readers()):
                    return
            except Exception:  # noqa: BLE001 - not up yet
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError("the private pcscd did not show the Virtual PCD reader")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(10)
            self.process = None


@pytest.fixture(scope="module")
def pcscd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrivatePcscd]:
    usable = shutil.which("pcscd") and shutil.which("unshare") and VPCD_DRIVER.exists()
    if not usable or os.geteuid() != 0:
        if os.environ.get("CI"):
            pytest.fail("CI must install pcscd and vsmartcard-vpcd and run as root")
        pytest.skip("pcscd, vsmartcard-vpcd, unshare or root is missing")
    daemon = PrivatePcscd(tmp_path_factory.mktemp("pcscd"))
    os.environ["PCSCLITE_CSOCK_NAME"] = str(daemon.socket_dir / "pcscd.comm")
    daemon.start()
    try:
        yield daemon
    finally:
        daemon.stop()


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


@pytest.mark.parametrize("card", ["default", "t0-card"])
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
