"""Random bytes for the terminal, drawn from the operating system a page at a time.

Every transaction asks for a few unpredictable numbers (tag 9F37, four bytes each). Asked
one by one, each is a system call, and in a process where the terminal shares the
interpreter with a host (tests, benchmarks) each lets go of the GIL. The pool reads 4 KiB
from ``secrets`` (the OS's CSPRNG) and hands it out in order, each byte once; a forked child
starts with an empty pool, so parent and child never hand out the same bytes.

>>> pool = RandomPool()
>>> len(pool(4)), pool(4) != pool(4)
(4, True)
"""

from __future__ import annotations

import os
import secrets
import weakref

__all__ = ["RandomPool"]

_POOLS: weakref.WeakSet[RandomPool] = weakref.WeakSet()


def _forget_all() -> None:
    for pool in list(_POOLS):
        pool._forget()


os.register_at_fork(after_in_child=_forget_all)


class RandomPool:
    """One per terminal (a pool is not shared between threads)."""

    PAGE = 4096

    def __init__(self) -> None:
        self._buffer = b""
        self._used = 0
        _POOLS.add(self)

    def _forget(self) -> None:
        self._buffer, self._used = b"", 0

    def __call__(self, size: int) -> bytes:
        if size > self.PAGE:
            return secrets.token_bytes(size)
        if self._used + size > len(self._buffer):
            self._buffer, self._used = secrets.token_bytes(self.PAGE), 0
        start = self._used
        self._used += size
        return self._buffer[start : self._used]
