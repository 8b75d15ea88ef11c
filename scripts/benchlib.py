"""Shared timing for the benchmark scripts: calls per second, best of five runs."""

from __future__ import annotations

import time
from collections.abc import Callable


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
