"""For students: traces recorded on both sides and printed annotated, and step mode driven
through a real terminal emulator (tmux)."""

from __future__ import annotations

import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from miniclient import ROOT

from driver import Terminal
from driver.testing import terminal_process
from firmware_sim.core import TerminalCore
from firmware_sim.states import TerminalState
from firmware_sim.testing import make_core
from protocols.messages import SaleRequest


def test_traces_from_both_sides_print_as_a_message_sequence(tmp_path: Path) -> None:
    terminal_trace, host_trace = tmp_path / "terminal.trace", tmp_path / "host.trace"
    with terminal_process("--port", "pty", "--trace", str(terminal_trace)) as port:
        with Terminal(port, trace=str(host_trace)) as terminal:
            assert terminal.sale("12.34", "EUR").approved
    shown = subprocess.run(
        [sys.executable, "-m", "driver.cli", "trace", str(terminal_trace), str(host_trace)],
        capture_output=True,
        text=True,
        cwd=ROOT,
    ).stdout
    order = [
        "host ───── seq=01 SALE_REQUEST",
        "terminal ───── SELECT ───▶ card",
        "terminal ◀─── SW 9000 ───── card",
        "terminal ───── GENERATE_AC ───▶ card",
        "terminal ───── SALE EUR 12.34 ref 000000000001 ───▶ authorizer",
        "terminal ◀─── 00 000001 ───── authorizer",
        "TRANSACTION_RESULT",
    ]
    positions = [shown.index(text) for text in order]
    assert positions == sorted(positions)
    fields = subprocess.run(
        [sys.executable, "-m", "driver.cli", "trace", "--fields", str(terminal_trace)],
        capture_output=True,
        text=True,
        cwd=ROOT,
    ).stdout
    assert "000000001234" in fields and "CLA=00 INS=A4 (SELECT)" in fields
    assert "SW=9000 (OK)" in fields and "5F2D (language preference) = 656E" in fields


def test_step_hook_from_python_sees_every_transition() -> None:
    seen: list[tuple[str, str, str, list[str]]] = []
    core: TerminalCore = make_core(
        step_hook=lambda t, a, b, allowed: seen.append((t, a.name, b.name, allowed))
    )
    core.handle_message(SaleRequest("T1", 1234, "EUR"), 1.764e9)
    assert seen[0][:3] == ("start_sale", "IDLE", "WAITING_FOR_CARD")
    assert "start_sale" in seen[0][3] and core.state is TerminalState.WAITING_FOR_CARD


@pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")
def test_step_mode_in_a_terminal(tmp_path: Path) -> None:
    session = f"possim-step-{time.monotonic_ns()}"
    diagram = tmp_path / "now.svg"

    def pane() -> str:
        return subprocess.run(
            ["tmux", "capture-pane", "-p", "-S", "-2000", "-t", session],
            capture_output=True,
            text=True,
        ).stdout

    subprocess.run(
        [
            "tmux",
            "new-session",
            "-d",
            "-s",
            session,
            "-x",
            "220",
            "-y",
            "60",
            f"cd {ROOT} && {sys.executable} -m driver.cli terminal --port pty --step"
            f" --step-diagram {diagram}",
        ],
        check=True,
    )
    try:
        deadline = time.monotonic() + 20
        port = ""
        while time.monotonic() < deadline and not port.startswith("/dev/"):
            time.sleep(0.2)
            port = pane().strip().splitlines()[0] if pane().strip() else ""
        assert port.startswith("/dev/"), pane()
        result: list[object] = []
        with Terminal(port) as terminal:
            worker = threading.Thread(target=lambda: result.append(terminal.sale("12.34", "EUR")))
            worker.start()
            steps = 0
            while worker.is_alive() and steps < 60:
                time.sleep(0.3)
                if pane().rstrip().endswith("[Enter] to go on"):
                    steps += 1
                    subprocess.run(["tmux", "send-keys", "-t", session, "Enter"], check=True)
            worker.join(10)
        screen = pane()
        assert result and result[0].approved  # type: ignore[attr-defined]
        assert steps >= 12
        assert "── step: IDLE (idle)" in screen and "event start_sale -> WAITING_FOR_CARD" in screen
        assert "allowed now:" in screen and "SALE_REQUEST" in screen
        assert "last APDU:" in screen and "INS=AE (GENERATE_AC)" in screen
        if shutil.which("dot"):
            svg = diagram.read_text()  # the last step drawn: its state filled darksalmon
            assert svg.count('fill="darksalmon"') == 1
    finally:
        subprocess.run(["tmux", "kill-session", "-t", session], check=False)


def test_no_clear_pin_in_a_trace_of_an_offline_pin_sale(tmp_path: Path) -> None:
    trace = tmp_path / "terminal.trace"
    with terminal_process("--port", "pty", "--card", "offline-pin", "--trace", str(trace)) as port:
        with Terminal(port) as terminal:
            assert terminal.sale("12.34", "EUR").approved
    recorded = trace.read_text()
    assert "00200080" in recorded.upper()  # the VERIFY was sent...
    assert "241234" not in recorded.upper() and "1234ffff" not in recorded.lower()  # ...unshown
    shown = subprocess.run(
        [sys.executable, "-m", "driver.cli", "trace", "--fields", str(trace)],
        capture_output=True,
        text=True,
        cwd=ROOT,
    ).stdout
    assert "VERIFY (the PIN block is never shown)" in shown and "241234" not in shown


@pytest.mark.parametrize("card", ["default", "contactless-only"])
def test_no_pan_track_2_or_name_in_clear_in_a_trace(tmp_path: Path, card: str) -> None:
    from firmware_sim.cards import CATALOGUE

    profile = CATALOGUE[card]
    trace = tmp_path / "terminal.trace"
    with terminal_process("--port", "pty", "--card", card, "--trace", str(trace)) as port:
        with Terminal(port) as terminal:
            assert terminal.sale("12.34", "EUR").approved
    recorded = trace.read_text().upper()
    assert "00B2" in recorded  # the records were read...
    middle = profile.pan[6:-4]
    assert profile.pan not in recorded and profile.pan[:6] + middle not in recorded  # ...masked
    assert profile.cardholder_name.encode().hex().upper() not in recorded
    shown = subprocess.run(
        [sys.executable, "-m", "driver.cli", "trace", "--fields", str(trace)],
        capture_output=True,
        text=True,
        cwd=ROOT,
    ).stdout.upper()
    assert profile.pan not in shown and profile.cardholder_name.upper() not in shown
