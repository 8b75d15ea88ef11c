"""The UTC date and time as the terminal writes them (EMV tag 9A, receipts, the issuer's
expiry check), remembered for the second: a transaction asks for the same second's date
several times, and formatting one costs more than the rest of the step around it.

>>> utc_text(1_760_000_000.7, "%y%m%d %H:%M:%S")
'251009 08:53:20'
"""

from __future__ import annotations

import functools
from datetime import datetime, timezone

__all__ = ["utc_text"]


def utc_text(now: float, pattern: str) -> str:
    """``now`` (seconds since the epoch) in ``pattern`` (strftime's, to the second)."""
    return _utc_text(int(now), pattern)


@functools.lru_cache(maxsize=16)
def _utc_text(second: int, pattern: str) -> str:
    return datetime.fromtimestamp(second, timezone.utc).strftime(pattern)
