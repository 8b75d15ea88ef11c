"""For integrators' tests: a possim terminal to point the driver at, in this process (a thread
on a pty) or as a subprocess, and a pytest fixture (``possim_terminal``) registered through
the ``pytest11`` entry point.

The terminals start ``--insecure`` (no pairing, no merchant password) unless asked for
``paired=True`` or ``POSSIM_TEST_PAIRED=1`` is set: then each is paired with this host
through the real exchange (the code read off the terminal's display) and the pairing kept
in the pairing file (``$POSSIM_PAIRINGS``), so a ``Terminal(port)`` authenticates its frames.

    from driver.testing import simulated_terminal

    with simulated_terminal(cardholder="manual") as port, Terminal(port) as terminal:
        sale = threading.Thread(target=terminal.sale, args=("9.99", "EUR"))
        sale.start()
        terminal.present_card("offline-pin")     # the test plays the cardholder
        terminal.enter_pin()
"""

from __future__ import annotations

import os
import queue
import re
import subprocess
import sys
import threading
import time
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import IO, TYPE_CHECKING

if TYPE_CHECKING:
    from firmware_sim.runner import TerminalRunner

__all__ = [
    "simulated_terminal",
    "spawn_host",
    "spawn_terminal",
    "terminal_process",
    "pair_with",
    "pair_runner",
    "paired_by_default",
]

_CODE = re.compile(r"Pairing code ((?:\d ?){6})")


def paired_by_default() -> bool:
    """Whether the helpers pair their terminals (``POSSIM_TEST_PAIRED=1``) or start them
    ``--insecure`` (the default, for integrators' own tests)."""
    return os.environ.get("POSSIM_TEST_PAIRED") == "1"


def pair_with(port: str, read_code: Callable[[], str], pairings: str | None = None) -> None:
    """Pair this host with the terminal at ``port``: ``read_code`` reads the code off the
    terminal's display, as its user would."""
    from .terminal import Terminal

    with Terminal(port, pairings=pairings) as terminal:
        terminal.pair(read_code, "possim tests")


def pair_runner(runner: TerminalRunner, url: str | None = None) -> None:
    """Pair this host with a terminal running in this process (the code off its display)."""
    shown = runner.display

    def display_line(wait: float) -> str | None:
        time.sleep(min(wait, 0.01))
        return shown[-1] if shown else ""

    pair_with(url or runner.port.name, lambda: _code_from(display_line))


def _code_from(lines: Callable[[float], str | None], within: float = 10.0) -> str:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        line = lines(deadline - time.monotonic())
        if line is None:
            break
        found = _CODE.search(line)
        if found:
            return found.group(1).replace(" ", "")
    raise RuntimeError("the terminal showed no pairing code")


_READERS: weakref.WeakKeyDictionary[IO[str], queue.Queue[str]] = weakref.WeakKeyDictionary()


def _stdout_lines(stream: IO[str]) -> Callable[[float], str | None]:
    """The lines a terminal process prints, one at a time, waiting at most the time given
    (a thread reads the pipe: a buffered pipe and select do not mix)."""
    lines = _READERS.get(stream)
    if lines is None:
        lines = _READERS[stream] = queue.Queue()
        feed = lines

        def read() -> None:
            for line in stream:
                feed.put(line)

        threading.Thread(target=read, name="possim-display", daemon=True).start()

    def next_line(wait: float) -> str | None:
        try:
            return lines.get(timeout=max(0.0, wait))
        except queue.Empty:
            return None

    return next_line


@contextmanager
def simulated_terminal(
    *,
    card: str = "default",
    cardholder: str = "auto",
    journal: str = ":memory:",
    pin: str | None = None,
    port: str = "pty",
    paired: bool | None = None,
) -> Iterator[str]:
    """A terminal in a background thread; yields the port to open."""
    from firmware_sim.runner import TerminalConfig, TerminalRunner

    paired = paired_by_default() if paired is None else paired
    config = TerminalConfig(
        port=port, card=card, cardholder=cardholder, journal=journal, pin=pin, insecure=not paired
    )
    runner = TerminalRunner(config)
    runner.start()
    try:
        if paired:
            pair_runner(runner)
        yield runner.port.name
    finally:
        runner.stop()


def spawn_terminal(
    *args: str,
    stdin: int | None = subprocess.DEVNULL,
    stderr: int | None = subprocess.PIPE,
    mode: str | None = None,
) -> tuple[subprocess.Popen[str], str]:
    """Start ``possim terminal ARGS``; the process and the port it announced, paired with
    this host or started ``--insecure`` (see the module's note). A long run should pass
    ``stderr=subprocess.DEVNULL`` (or read the pipe) so it never fills.

    ``mode``: "paired", "insecure", or "unpaired" (secure, and left for the caller to pair);
    by default paired under ``POSSIM_TEST_PAIRED=1``, else insecure."""
    if mode is None:
        insecure = "--insecure" in args or not (paired_by_default() or "--require-pairing" in args)
        mode = "insecure" if insecure else "paired"
    if mode == "insecure" and "--insecure" not in args:
        args = (*args, "--insecure")
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
    if mode == "paired":
        pair_with(port, lambda: _code_from(_stdout_lines(process.stdout)))  # type: ignore[arg-type]
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
