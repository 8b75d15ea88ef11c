"""A card reader on pyscard: any PC/SC reader, a real one or vpcd's "Virtual PCD".

Handles T=0's procedure bytes the way ISO 7816-4 asks: 61xx (more data: GET RESPONSE with
Le=xx) and 6Cxx (wrong Le: the same command again with Le=xx).
"""

from __future__ import annotations

from typing import Any

from protocols.apdu import exchange_t0

__all__ = ["PcscReader", "list_readers"]


def list_readers() -> list[str]:
    from smartcard.System import readers

    return [str(r) for r in readers()]


class PcscReader:
    """The first reader whose name starts with ``name`` (any reader when empty)."""

    def __init__(self, name: str = "") -> None:
        from smartcard.System import readers

        matches = [r for r in readers() if str(r).startswith(name)]
        if not matches:
            raise OSError(f"no PC/SC reader named {name!r} (readers: {list_readers()})")
        self.reader = matches[0]
        self.name = str(self.reader)
        self._connection: Any = None

    def __repr__(self) -> str:
        return f"PcscReader({self.name!r})"

    def card_present(self) -> bool:
        from smartcard.Exceptions import CardConnectionException, NoCardException

        if self._connection is not None:
            try:
                self._connection.getATR()
                self._connection.transmit([0x80, 0xCA, 0x9F, 0x36, 0x00])  # GET DATA: a ping
                return True
            except (CardConnectionException, NoCardException):
                self.power_off()
                return False
        try:
            connection = self.reader.createConnection()
            connection.connect()
            connection.disconnect()
            return True
        except (CardConnectionException, NoCardException):
            return False

    def power_on(self) -> bytes:
        self._connection = self.reader.createConnection()
        self._connection.connect()
        return bytes(self._connection.getATR())

    def transmit(self, apdu: bytes) -> bytes:
        if self._connection is None:
            self.power_on()
        return exchange_t0(self._raw, apdu)

    def _raw(self, apdu: bytes) -> bytes:
        data, sw1, sw2 = self._connection.transmit(list(apdu))
        return bytes(data) + bytes((sw1, sw2))

    def power_off(self) -> None:
        if self._connection is not None:
            try:
                self._connection.disconnect()
            except Exception:  # noqa: BLE001 - the card may already be gone
                pass
            self._connection = None
