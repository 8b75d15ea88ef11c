"""Shared timing for the benchmark scripts: calls per second, best of five runs; a terminal
in a process of its own with a driver on it."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from driver import Terminal
from driver.testing import spawn_terminal


def rate(fn: Callable[[], object], seconds: float) -> float:
    """Calls per second: the best of five runs of about ``seconds`` / 5 each."""
    n = 1
    while True:
        start = time.perf_counter()
        for _ in range(n):
            fn()
        elapsed = time.perf_counter() - start
        if elapsed > 0.02:
            break
        n *= 4
    runs = []
    per_run = max(1, int(n * (seconds / 5) / elapsed))
    for _ in range(5):
        start = time.perf_counter()
        for _ in range(per_run):
            fn()
        runs.append(per_run / (time.perf_counter() - start))
    return max(runs)


@contextmanager
def terminal_process(
    mode: str | None = "insecure",
) -> Iterator[tuple[subprocess.Popen[str], Terminal]]:
    """``possim terminal --port pty`` (in-memory journal) in a process of its own, as checkout
    software meets it, and a driver on it, warmed up with INFO; killed on the way out.
    ``mode``: as :func:`driver.testing.spawn_terminal` takes it."""
    process, port = spawn_terminal("--port", "pty", mode=mode, stderr=subprocess.DEVNULL)
    try:
        with Terminal(port) as terminal:
            terminal.info()
            yield process, terminal
    finally:
        process.kill()
        process.wait()
