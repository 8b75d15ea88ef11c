"""Who may drive a running terminal (issue 14): pairing by the code on its display, wrong
codes backing off, listing and revoking, and each attack on the link tried against a
`possim terminal` process over TCP and over a pty (pairing required by choice there): an
unpaired host, a forged frame, a recorded session replayed, an old session's frame, a frame
replayed within a session. Each is refused unanswered, counted in STATUS, and journals
nothing; the paired host is served throughout."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import serial

from driver import NotPaired, PairingFailed, Terminal
from driver.pairings import PairingFile
from driver.testing import _code_from, _stdout_lines, spawn_terminal
from protocols.codes import MessageType, TransactionStatus
from protocols.errors import ErrorCode
from protocols.frame import Frame, FrameDecoder, encode_frame
from protocols.link import Link, LinkGuard, MessageReceived
from protocols.messages import LastResultRequest, SaleRequest, TransactionResult
from tests.miniclient import MiniClient, possim

PORTS = {"tcp": ("--port", "listen://127.0.0.1:0"), "pty": ("--port", "pty", "--require-pairing")}


@pytest.fixture(params=sorted(PORTS))
def unpaired_terminal(
    request: pytest.FixtureRequest,
) -> Iterator[tuple[subprocess.Popen[str], str]]:
    """A `possim terminal` that answers only paired hosts, and no host paired yet."""
    process, port = spawn_terminal(*PORTS[request.param], mode="unpaired")
    try:
        yield process, port
    finally:
        process.kill()
        process.wait()


def code_of(process: subprocess.Popen[str]) -> str:
    assert process.stdout is not None
    return _code_from(_stdout_lines(process.stdout))


def pair(process: subprocess.Popen[str], port: str) -> None:
    with Terminal(port) as terminal:
        terminal.pair(lambda: code_of(process), "tests")


def counters(port: str) -> dict[str, int]:
    with Terminal(port) as terminal:
        return terminal.status().counters


class RecordingClient(MiniClient):
    """A paired host (this test's pairing file) that keeps every byte it wrote."""

    def __init__(self, url: str) -> None:
        super().__init__(url)
        self.sent = bytearray()
        write = self.serial.write

        def recording(data: bytes) -> int | None:
            self.sent += data
            return write(data)

        self.serial.write = recording  # type: ignore[method-assign]


def silence(url: str, wire: bytes, wait: float = 1.5) -> bytes:
    """Write ``wire`` to the terminal on a line of our own; whatever comes back."""
    line = serial.serial_for_url(url, timeout=0.05)
    try:
        line.write(wire)
        got = bytearray()
        end = time.monotonic() + wait
        while time.monotonic() < end:
            got += line.read(4096)
        return bytes(got)
    finally:
        line.close()


def data_frames(wire: bytes, message_type: int) -> list[Frame]:
    return [
        f for f in FrameDecoder().feed(wire, 0.0) if isinstance(f, Frame) and f.type == message_type
    ]


def test_possim_pair_then_authenticated_sales_and_nothing_before(
    unpaired_terminal: tuple[subprocess.Popen[str], str],
) -> None:
    process, port = unpaired_terminal
    refused = possim("sale", "--port", port, "--amount", "1.00", "--timeout", "10")
    assert refused.returncode != 0 and "not paired" in refused.stderr
    assert "possim pair --port" in refused.stderr
    done = subprocess.Popen(
        [sys.executable, "-m", "driver.cli", "pair", "--port", port, "--json"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    out, err = done.communicate(code_of(process) + "\n", timeout=60)  # typed at the keyboard
    assert done.returncode == 0, err
    assert json.loads(out)["paired"] is True
    sale = possim("sale", "--port", port, "--amount", "2.00", "--json")
    assert sale.returncode == 0 and json.loads(sale.stdout)["status"] == "approved"
    seen = counters(port)
    assert seen["journal_transactions"] == 1  # the refused sale never reached the journal
    assert seen["link_unauthenticated_frames"] >= 1 and seen["link_authenticated_sessions"] >= 2
    assert seen["pairings"] == 1 and seen["pairing_paired"] == 1


def test_wrong_codes_are_refused_and_back_off_and_store_nothing(
    unpaired_terminal: tuple[subprocess.Popen[str], str],
) -> None:
    process, port = unpaired_terminal
    codes = []
    with Terminal(port) as terminal:
        for _ in range(3):

            def wrong() -> str:
                shown = code_of(process)
                codes.append(shown)
                return f"{(int(shown) + 1) % 10**6:06d}"

            with pytest.raises(PairingFailed) as failed:
                terminal.pair(wrong, "mallory")
            assert failed.value.code in (ErrorCode.WRONG_PAIRING_CODE, ErrorCode.PAIRING_LOCKED)
        assert failed.value.code is ErrorCode.PAIRING_LOCKED  # the third in a row locks
        with pytest.raises(PairingFailed) as locked:
            terminal.pair(lambda: "000000", "mallory")
        assert locked.value.code is ErrorCode.PAIRING_LOCKED
    assert len(set(codes)) == 3  # a fresh code for each attempt
    assert PairingFile().link_keys(port) is None
    pair_later = subprocess.run(
        [sys.executable, "-m", "driver.cli", "pair", "--port", port],
        input="123456\n",
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert pair_later.returncode != 0 and "PAIRING_LOCKED" in pair_later.stderr


def test_pairings_are_listed_and_revoked_and_a_revoked_host_is_not_served(
    unpaired_terminal: tuple[subprocess.Popen[str], str],
) -> None:
    process, port = unpaired_terminal
    pair(process, port)
    listed = possim("pair", "--port", port, "--list", "--json")
    assert listed.returncode == 0, listed.stderr
    [entry] = json.loads(listed.stdout)["pairings"]
    assert entry["host_name"] == "tests"
    revoked = possim("pair", "--port", port, "--revoke", entry["pairing_id"], "--json")
    assert revoked.returncode == 0 and json.loads(revoked.stdout)["pairings"] == []
    assert PairingFile().link_keys(port) is None  # forgotten here too
    with Terminal(port) as terminal, pytest.raises(NotPaired):
        terminal.sale("1.00", "EUR")


def test_forged_replayed_and_old_session_frames_are_refused_unanswered(
    unpaired_terminal: tuple[subprocess.Popen[str], str],
) -> None:
    process, port = unpaired_terminal
    pair(process, port)
    # a paired host's session, recorded byte for byte: its reset and one sale
    first = RecordingClient(port)
    got = first.request(SaleRequest("REC-1", 1000, "EUR", request_id=41), TransactionResult)
    assert any(isinstance(m, TransactionResult) for m in got)
    [recorded_sale] = data_frames(bytes(first.sent), MessageType.SALE_REQUEST)
    # the same host, still in session: a forged frame; then, after a later request, its
    # own sale again (a replay: older than the last frame delivered)
    # (the sale's own frame with one bit of its MAC flipped, the CRC made good: a forgery
    # that takes no sequence number from the host, whose next frame must follow the sale's)
    payload = recorded_sale.payload
    bad_mac = payload[:-1] + bytes((payload[-1] ^ 0x01,))
    first.send_raw(encode_frame(Frame(recorded_sale.seq, recorded_sale.type, bad_mac)))
    first.pump(0.3)
    assert first.received == []
    first.request(LastResultRequest(request_id=42), TransactionResult)
    first.send_raw(encode_frame(recorded_sale))
    first.pump(0.5)
    assert first.received == []
    first.close()
    # another host session; then the first one's recording played back on a new connection
    assert counters(port)["journal_transactions"] == 1
    assert data_frames(silence(port, bytes(first.sent)), MessageType.TRANSACTION_RESULT) == []
    # an unpaired host's sale, and a sale with a made-up MAC and no pairing at all
    stranger = Link(guard=LinkGuard())
    stranger.send(SaleRequest("STRANGER", 500, "EUR", request_id=7), 0.0)
    line = serial.serial_for_url(port, timeout=0.05)
    try:
        for _ in range(20):
            line.write(stranger.data_to_send())
            stranger.receive_data(line.read(4096), time.monotonic())
            stranger.tick(time.monotonic())
        assert not [e for e in stranger.events() if isinstance(e, MessageReceived)]
    finally:
        line.close()
    seen = counters(port)
    assert seen["journal_transactions"] == 1  # only the paired host's one sale
    assert seen["link_forged_frames"] >= 1
    assert seen["link_replayed_frames"] >= 2  # the sale within its session; the old reset
    assert seen["link_stale_frames"] >= 1  # the recorded sale, of a session that has ended
    assert seen["link_unauthenticated_frames"] >= 1
    with Terminal(port) as terminal:  # the paired host is served on
        outcome = terminal.sale("3.00", "EUR")
        assert outcome.status is TransactionStatus.APPROVED


def test_insecure_serves_anyone_and_says_so(tmp_path: Path) -> None:
    process, port = spawn_terminal(
        "--port", "listen://127.0.0.1:0", "--journal", str(tmp_path / "j.db"), mode="insecure"
    )
    try:
        with Terminal(port, pairings=tmp_path / "none.json") as terminal:
            assert not terminal.paired
            assert terminal.sale("1.00", "EUR").approved
            terminal.set_password("merchant-42")  # kept, but not asked for while insecure
            assert terminal.refund("1.00", "EUR", terminal.last().reference).approved
    finally:
        process.kill()
        _, err = process.communicate()
    assert "INSECURE" in err


def test_the_integrators_fixture_is_insecure_unless_asked(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from driver.testing import simulated_terminal

    monkeypatch.setenv("POSSIM_TEST_PAIRED", "0")  # as in an integrator's own test run
    with simulated_terminal(port="listen://127.0.0.1:0") as port:
        with Terminal(port, pairings=tmp_path / "none.json") as terminal:
            assert not terminal.paired and terminal.sale("1.00", "EUR").approved
    with simulated_terminal(port="listen://127.0.0.1:0", paired=True) as port:
        with Terminal(port) as terminal:  # paired through the real exchange
            assert terminal.paired and terminal.sale("1.00", "EUR").approved


def test_a_paired_session_traces_decoded_and_masked(tmp_path: Path) -> None:
    from driver.testing import pair_runner
    from firmware_sim.runner import TerminalConfig, TerminalRunner
    from protocols.trace import annotate, parse_line

    trace = tmp_path / "terminal.trace"
    runner = TerminalRunner(TerminalConfig(port="pty", trace=str(trace), require_pairing=True))
    runner.start()
    try:
        pair_runner(runner)
        with Terminal(runner.port.name) as terminal:
            terminal.pin_block("4761739001010010")
    finally:
        runner.stop()
    lines = annotate([parse_line(line) for line in trace.read_text().splitlines()], fields=True)
    text = "\n".join(lines)
    answer = next(line for line in lines if "PIN_BLOCK_RESPONSE" in line and "counter=" in line)
    assert "(MAC)" in answer and "pin_block=0000000000000000" in answer  # decoded, zeroed
    assert any("PIN_BLOCK_REQUEST" in line and "masked" in line for line in lines)
    assert "4761739001010010" not in text and "pairing=" in text
    assert "HMAC-SHA256 under the session key" in text  # the --fields view names the MAC
