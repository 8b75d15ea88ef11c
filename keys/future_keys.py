"""The future-key register walk that TDES (X9.24-1) and AES (X9.24-3) DUKPT devices share.

Register ``i`` holds the key of the next counter whose lowest set bit is ``i``. Taking the key
of ``counter``: if the counter has fewer one-bits than allowed, the registers below its lowest
bit are refilled from this key and the counter advances by one; otherwise the counter skips
ahead by its lowest bit. Either way the used register is erased.
"""

from __future__ import annotations

from collections.abc import Callable

from .errors import DukptExhaustedError, SecureElementError

__all__ = ["FutureKeys"]


class FutureKeys:
    """Registers and counter of an originating device; ``derive(key, counter)`` makes the key
    of ``counter`` from the key one bit above it."""

    __slots__ = ("_registers", "counter", "_max_one_bits", "_derive")

    def __init__(
        self, base_key: bytes, bits: int, max_one_bits: int, derive: Callable[[bytes, int], bytes]
    ) -> None:
        self._registers: list[bytes | None] = [derive(base_key, 1 << bit) for bit in range(bits)]
        self.counter = 1
        self._max_one_bits = max_one_bits
        self._derive = derive

    def __repr__(self) -> str:
        return f"FutureKeys(counter={self.counter:#x})"

    def take(self) -> tuple[bytes, int]:
        """The key of the current counter and that counter; then both move on."""
        counter = self.counter
        if counter >= 1 << len(self._registers):
            raise DukptExhaustedError("the DUKPT counter is exhausted: load a new initial key")
        low = (counter & -counter).bit_length() - 1
        key = self._registers[low]
        if key is None:  # pragma: no cover - the register invariant makes this unreachable
            raise SecureElementError("future key register is empty")
        if bin(counter).count("1") < self._max_one_bits:
            for bit in range(low - 1, -1, -1):
                self._registers[bit] = self._derive(key, counter | 1 << bit)
            self.counter = counter + 1
        else:
            self.counter = counter + (1 << low)
        self._registers[low] = None
        return key, counter

    def held(self) -> int:
        """How many registers hold a key."""
        return sum(r is not None for r in self._registers)

    def _set(self, counter: int, key: bytes) -> None:
        """Put the device at ``counter`` with ``key`` in its register (tests only)."""
        self._registers[(counter & -counter).bit_length() - 1] = key
        self.counter = counter
