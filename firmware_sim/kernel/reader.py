"""The card reader seam: what the kernel needs of a reader (power and APDUs), the in-process
reader that holds a virtual card, and the redaction every shown or recorded APDU goes through.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from protocols.apdu import CommandApdu, Ins, ResponseApdu, exchange_t0
from protocols.errors import ProtocolError
from protocols.tlv import Tlv, decode_tlv, encode_tlv

from ..cards import VirtualCard

__all__ = ["Apdu", "CardFailure", "CardReader", "InProcessReader", "redact_apdu", "redact_response"]

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


# Card data that a trace, a log or the step display must not show in clear (PCI DSS 3.4):
# BCD fields keep the first six and last four digits of the PAN, text fields are starred.
_BCD_CARD_DATA = {0x5A, 0x57, 0x9F6B, 0x9F20}  # PAN, track 2 equivalents, track 2 discretionary
_TEXT_CARD_DATA = {0x5F20, 0x56, 0x9F1F}  # cardholder name, track 1, track 1 discretionary
# the ICC public key certificate carries the whole PAN, and anyone can recover it with the
# public keys the same trace shows (the CA's, then the issuer's from tag 90): zeroed
_OPAQUE_CARD_DATA = {0x9F46}


def _masked_bcd(value: bytes) -> bytes:
    digits = value.hex().upper()
    pan, separator, rest = digits.partition("D")
    pan_digits = pan.rstrip("F")
    shown = pan_digits[:6] + "F" * max(0, len(pan_digits) - 10) + pan_digits[-4:]
    masked = shown[: len(pan_digits)].ljust(len(pan), "F") + separator + "F" * len(rest)
    return bytes.fromhex(masked)


def _masked(items: list[Tlv]) -> list[Tlv]:
    out: list[Tlv] = []
    for tag, value in items:
        if isinstance(value, list):
            out.append((tag, _masked(value)))
        elif tag in _BCD_CARD_DATA:
            out.append((tag, _masked_bcd(value)))
        elif tag in _TEXT_CARD_DATA:
            out.append((tag, b"*" * len(value)))
        elif tag in _OPAQUE_CARD_DATA:
            out.append((tag, bytes(len(value))))
        else:
            out.append((tag, value))
    return out


def redact_response(response: bytes) -> bytes:
    """The card's response as it may be shown or recorded: the PAN (all but its first six and
    last four digits), track 2 and track 1 data and the cardholder name masked, the ICC
    certificate (which holds the PAN) zeroed; data that is not TLV is replaced by zeros. The
    status word stays.

    >>> record = bytes.fromhex(
    ...     "702B5A08476173900101001057114761739001010010D28122010000000000"
    ...     "5F200B504F5353494D2F54455354" "9000")
    >>> masked = redact_response(record).hex().upper()
    >>> masked[8:24], masked[28:62], bytes.fromhex(masked[68:90])
    ('476173FFFFFF0010', '476173FFFFFF0010DFFFFFFFFFFFFFFFFF', b'***********')
    """
    data, status = response[:-2], response[-2:]
    if not data:
        return response
    try:
        return encode_tlv(_masked(decode_tlv(data))) + status
    except ProtocolError:
        return bytes(len(data)) + status


class InProcessReader:
    """A reader holding a virtual card in this process."""

    def __init__(self, card: VirtualCard) -> None:
        self.card = card

    def power_on(self) -> bytes:
        return self.card.power_on()

    def transmit(self, apdu: bytes) -> bytes:
        return exchange_t0(self.card.execute, apdu)

    def power_off(self) -> None:
        pass
