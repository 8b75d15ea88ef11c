"""For integrators' tests: a possim terminal to point the driver at, in this process (a thread
on a pty) or as a subprocess, and a pytest fixture (``possim_terminal``) registered through
the ``pytest11`` entry point.

    from driver.testing import simulated_terminal

    with simulated_terminal(cardholder="manual") as port, Terminal(port) as terminal:
        sale = threading.Thread(target=terminal.sale, args=("9.99", "EUR"))
        sale.start()
        terminal.present_card("offline-pin")     # the test plays the cardholder
        terminal.enter_pin()
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["simulated_terminal", "spawn_host", "spawn_terminal", "terminal_process"]


@contextmanager
def simulated_terminal(
    *,
    card: str = "default",
    cardholder: str = "auto",
    journal: str = ":memory:",
    pin: str | None = None,
    port: str = "pty",
) -> Iterator[str]:
    """A terminal in a background thread; yields the port to open."""
    from firmware_sim.runner import TerminalConfig, TerminalRunner

    runner = TerminalRunner(
        TerminalConfig(port=port, card=card, cardholder=cardholder, journal=journal, pin=pin)
    )
    runner.start()
    try:
        yield runner.port.name
    finally:
        runner.stop()


def spawn_terminal(
    *args: str, stdin: int | None = subprocess.DEVNULL, stderr: int | None = subprocess.PIPE
) -> tuple[subprocess.Popen[str], str]:
    """Start ``possim terminal ARGS``; the process and the port it announced. A long run
    should pass ``stderr=subprocess.DEVNULL`` (or read the pipe) so it never fills."""
    process = subprocess.Popen(
        [sys.executable, "-m", "driver.cli", "terminal", *args],
        stdout=subprocess.PIPE,
        stderr=stderr,
        stdin=stdin,
        text=True,
    )
    assert process.stdout is not None
    port = process.stdout.readline().strip()
    if not port:
        process.kill()
        error = process.stderr.read() if process.stderr else ""
        raise RuntimeError(error.strip() or "the terminal did not start")
    return process, port


def spawn_host(
    *args: str, stderr: int | None = subprocess.DEVNULL
) -> tuple[subprocess.Popen[str], str]:
    """Start ``possim host ARGS`` (``--listen`` defaults to a free local port); the process
    and the ``tcp://HOST:PORT`` it announced."""
    if "--listen" not in args:
        args = ("--listen", "127.0.0.1:0", *args)
    process = subprocess.Popen(
        [sys.executable, "-m", "driver.cli", "host", *args],
        stdout=subprocess.PIPE,
        stderr=stderr,
        stdin=subprocess.DEVNULL,
        text=True,
    )
    assert process.stdout is not None
    url = process.stdout.readline().strip()
    if not url:
        process.kill()
        raise RuntimeError("the host did not start")
    return process, url


@contextmanager
def terminal_process(*args: str) -> Iterator[str]:
    """``possim terminal ARGS`` as a subprocess; yields the port it announced."""
    process, port = spawn_terminal(*args)
    try:
        yield port
    finally:
        process.kill()
        process.wait()
