"""What the driver's URL handlers share: bytes gathered into a buffer by ``_fill`` and read
out of it with pyserial's timeout rules (``None`` waits for ``size`` bytes, otherwise what
has come within the timeout, as soon as anything has)."""

from __future__ import annotations

import time
from typing import Any

from serial.serialutil import PortNotOpenError, SerialBase

__all__ = ["BufferedSerial"]


class BufferedSerial(SerialBase):  # type: ignore[misc]
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._buffer = bytearray()
        super().__init__(*args, **kwargs)

    def _fill(self, wait: float) -> None:
        """Add what arrives within ``wait`` seconds to ``self._buffer``."""
        raise NotImplementedError

    def _reconfigure_port(self) -> None:
        pass

    @property
    def in_waiting(self) -> int:
        if not self.is_open:
            raise PortNotOpenError()
        self._fill(0.0)
        return len(self._buffer)

    def read(self, size: int = 1) -> bytes:
        if not self.is_open:
            raise PortNotOpenError()
        deadline = None if self._timeout is None else time.monotonic() + self._timeout
        while len(self._buffer) < size:
            remaining = None if deadline is None else deadline - time.monotonic()
            if remaining is not None and remaining <= 0:
                break
            self._fill(0.05 if remaining is None else min(remaining, 0.05))
            if self._buffer and self._timeout is not None:
                break
        out = bytes(self._buffer[:size])
        del self._buffer[:size]
        return out
