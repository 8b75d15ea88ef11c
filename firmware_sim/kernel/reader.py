"""The card reader seam: what the kernel needs of a reader (power and APDUs), the in-process
reader that holds a virtual card, and the redaction every shown or recorded APDU goes through.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from protocols.apdu import CommandApdu, Ins, ResponseApdu, exchange_t0

from ..cards import VirtualCard

__all__ = ["Apdu", "CardFailure", "CardReader", "InProcessReader", "redact_apdu"]

Apdu = Callable[[CommandApdu], ResponseApdu]
"""One command-response exchange with the card in the reader."""


class CardFailure(Exception):
    """The card answered in a way the flow cannot go on with."""


class CardReader(Protocol):
    """What the kernel needs of a contact reader: power and APDUs."""

    def power_on(self) -> bytes: ...

    def transmit(self, apdu: bytes) -> bytes: ...

    def power_off(self) -> None: ...


def redact_apdu(command: bytes) -> bytes:
    """The command as it may be shown or recorded: VERIFY's data (the plaintext PIN block) is
    replaced by zeros, so a clear PIN never reaches a trace, a log or the step display.

    >>> redact_apdu(bytes.fromhex("0020008008241234FFFFFFFFFF")).hex().upper()
    '00200080080000000000000000'
    """
    if len(command) > 5 and command[1] == Ins.VERIFY:
        return command[:5] + bytes(len(command) - 5)
    return command


class InProcessReader:
    """A reader holding a virtual card in this process."""

    def __init__(self, card: VirtualCard) -> None:
        self.card = card
        self.log: list[tuple[bytes, bytes]] = []

    def power_on(self) -> bytes:
        return self.card.power_on()

    def transmit(self, apdu: bytes) -> bytes:
        response = exchange_t0(self.card.execute, apdu)
        self.log.append((redact_apdu(apdu), response))
        return response

    def power_off(self) -> None:
        pass
