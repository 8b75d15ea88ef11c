"""Backing off after failures: the third failure in a row locks for 30 s, each further lock
twice as long; a success clears the row (not the doubling). Time is passed in.

>>> backoff = Backoff()
>>> [backoff.failed(now=0.0) for _ in range(3)], backoff.wait(now=10.0)
([0.0, 0.0, 30.0], 20.0)
>>> backoff.failed(now=31.0), backoff.failed(now=31.0), backoff.failed(now=31.0)
(0.0, 0.0, 60.0)
"""

from __future__ import annotations

__all__ = ["Backoff", "LOCK_AFTER", "FIRST_LOCK"]

LOCK_AFTER = 3  # failures in a row
FIRST_LOCK = 30.0  # seconds; doubled at each further lock


class Backoff:
    def __init__(self, after: int = LOCK_AFTER, first: float = FIRST_LOCK) -> None:
        self._after = after
        self._first = first
        self._in_a_row = 0
        self._locked_until = 0.0
        self.lockouts = 0

    def wait(self, now: float) -> float:
        """Seconds until the lock ends; 0 when there is none."""
        return max(0.0, float(self._locked_until - now))

    def failed(self, now: float) -> float:
        """Count a failure; the seconds of the lock it started (0.0: none)."""
        self._in_a_row += 1
        if self._in_a_row < self._after:
            return 0.0
        length = self._first * (1 << self.lockouts)
        self._locked_until = now + length
        self.lockouts += 1
        self._in_a_row = 0
        return length

    def succeeded(self) -> None:
        self._in_a_row = 0
