"""Error codes carried on the wire, and the exceptions that carry them.

Every error the terminal can report has one code here; `docs/protocol.md` lists them
from :data:`ERROR_DESCRIPTIONS`, so the table cannot drift from the code.

>>> err = RemoteProtocolError("amount is not BCD", error_code=ErrorCode.MALFORMED_MESSAGE)
>>> err.error_code.name, isinstance(err, ProtocolError)
('MALFORMED_MESSAGE', True)
"""

from __future__ import annotations

from enum import IntEnum
from typing import Any

__all__ = [
    "ErrorCode",
    "ERROR_DESCRIPTIONS",
    "FieldError",
    "ProtocolError",
    "LocalProtocolError",
    "RemoteProtocolError",
]


class ErrorCode(IntEnum):
    """The 16-bit code of an ERROR message (type 0x7F). High byte: the family."""

    # 0x00xx: the frame or message itself
    MALFORMED_MESSAGE = 0x0001
    UNKNOWN_MESSAGE_TYPE = 0x0002
    MESSAGE_TOO_LONG = 0x0003
    BAD_FRAME = 0x0004
    LINK_FAILURE = 0x0005
    UNEXPECTED_MESSAGE = 0x0006
    QUEUE_FULL = 0x0007
    # 0x01xx: a field's value breaks the input rules
    INVALID_AMOUNT = 0x0101
    INVALID_CURRENCY = 0x0102
    INVALID_PAN = 0x0103
    INVALID_PIN = 0x0104
    INVALID_TRANSACTION_ID = 0x0105
    INVALID_REFERENCE = 0x0106
    UNKNOWN_CARD = 0x0107
    INVALID_PIN_BLOCK_FORMAT = 0x0108
    INVALID_FIELD = 0x0109
    # 0x02xx: the command does not fit the terminal's state
    BUSY = 0x0201
    NOT_ALLOWED_NOW = 0x0202
    NOT_SUPPORTED = 0x0203
    # 0x03xx: the journal's rules
    NO_TRANSACTION = 0x0301
    UNKNOWN_TRANSACTION = 0x0302
    ORIGINAL_NOT_FOUND = 0x0303
    ORIGINAL_NOT_APPROVED = 0x0304
    CURRENCY_MISMATCH = 0x0305
    REFUND_EXCEEDS_SALE = 0x0306
    TRANSACTION_ID_REUSED = 0x0307
    ORIGINAL_WRONG_KIND = 0x0308
    ORIGINAL_CLOSED = 0x0309
    ALREADY_SETTLED = 0x030A
    EXCEEDS_AUTHORIZATION = 0x030B
    # 0x04xx: the device
    CARD_ERROR = 0x0401
    KEY_ERROR = 0x0402
    JOURNAL_ERROR = 0x0403
    INTERNAL_ERROR = 0x04FF
    # 0x05xx: who may drive the terminal
    PASSWORD_REQUIRED = 0x0501
    WRONG_PASSWORD = 0x0502
    PASSWORD_LOCKED = 0x0503
    WRONG_PAIRING_CODE = 0x0504
    PAIRING_LOCKED = 0x0505
    PAIRING_FAILED = 0x0506
    UNKNOWN_PAIRING = 0x0507


ERROR_DESCRIPTIONS: dict[ErrorCode, str] = {
    ErrorCode.MALFORMED_MESSAGE: "an intact frame whose payload does not parse as its message type",
    ErrorCode.UNKNOWN_MESSAGE_TYPE: "an intact frame with a message type this protocol does not define",
    ErrorCode.MESSAGE_TOO_LONG: "a message whose payload exceeds the 2048-byte maximum",
    ErrorCode.BAD_FRAME: "bytes discarded by the link: garbage, a bad header, a bad CRC, a truncated frame",
    ErrorCode.LINK_FAILURE: "no ACK after the last retransmission; the frame was not delivered",
    ErrorCode.UNEXPECTED_MESSAGE: "a message that only travels the other way (a response sent to the terminal)",
    ErrorCode.QUEUE_FULL: "more messages queued on the link than it holds (64)",
    ErrorCode.INVALID_AMOUNT: "amount is not 1 to 999999999999 minor units",
    ErrorCode.INVALID_CURRENCY: "currency is not an active ISO 4217 code",
    ErrorCode.INVALID_PAN: "PAN is not 12 to 19 digits with a valid Luhn check digit",
    ErrorCode.INVALID_PIN: "PIN is not 4 to 12 digits",
    ErrorCode.INVALID_TRANSACTION_ID: "client transaction id is not 1 to 32 printable ASCII characters",
    ErrorCode.INVALID_REFERENCE: "reference is not 1 to 12 letters or digits",
    ErrorCode.UNKNOWN_CARD: "no card of that name in the test card catalogue",
    ErrorCode.INVALID_PIN_BLOCK_FORMAT: "PIN block format is not one the command supports (0 or 4)",
    ErrorCode.INVALID_FIELD: "another field is out of its documented range",
    ErrorCode.BUSY: "a command is already running; only CANCEL and simulation control are taken",
    ErrorCode.NOT_ALLOWED_NOW: "the terminal's state does not allow this command or event now",
    ErrorCode.NOT_SUPPORTED: "the device does not support this command (simulation control on real hardware)",
    ErrorCode.NO_TRANSACTION: "no transaction in the journal yet",
    ErrorCode.UNKNOWN_TRANSACTION: "no transaction with that client transaction id",
    ErrorCode.ORIGINAL_NOT_FOUND: "refund: no sale with that reference",
    ErrorCode.ORIGINAL_NOT_APPROVED: "refund: the referenced sale was not approved",
    ErrorCode.CURRENCY_MISMATCH: "refund: currency differs from the sale's",
    ErrorCode.REFUND_EXCEEDS_SALE: "refund: refunds in total would exceed the sale's amount",
    ErrorCode.TRANSACTION_ID_REUSED: "the client transaction id was used before for a different request",
    ErrorCode.ORIGINAL_WRONG_KIND: "the referenced transaction is of a kind this request cannot follow (a completion of a sale, a tip on a refund)",
    ErrorCode.ORIGINAL_CLOSED: "the referenced transaction is closed: already completed, released or voided",
    ErrorCode.ALREADY_SETTLED: "the referenced transaction's batch is settled: refund it instead",
    ErrorCode.EXCEEDS_AUTHORIZATION: "the capture (with its tip) is more than the pre-authorization's authorized total",
    ErrorCode.CARD_ERROR: "the card could not be read or answered wrongly",
    ErrorCode.KEY_ERROR: "the secure element could not do it (a key missing, a DUKPT counter exhausted)",
    ErrorCode.JOURNAL_ERROR: "the journal could not record the step; nothing was authorized",
    ErrorCode.INTERNAL_ERROR: "a fault in the terminal; it returned to idle",
    ErrorCode.PASSWORD_REQUIRED: "refunds, voids, tip adjustments, settlement and setting the password need MERCHANT_LOGIN first in this link session, once a merchant password is set",
    ErrorCode.WRONG_PASSWORD: "the merchant password is wrong (counted; the third wrong one in a row locks)",
    ErrorCode.PASSWORD_LOCKED: "too many wrong passwords: no login for a while (30 s, doubling with each further lock)",
    ErrorCode.WRONG_PAIRING_CODE: "the code the host's user typed is not the one the terminal showed (or someone is in the middle); the attempt is over and counted",
    ErrorCode.PAIRING_LOCKED: "too many failed pairing attempts: none for a while (30 s after the third in a row, doubling with each further lock)",
    ErrorCode.PAIRING_FAILED: "a pairing step out of order, or with no pairing in progress: start again with PAIR_BEGIN",
    ErrorCode.UNKNOWN_PAIRING: "no pairing with that id on this terminal",
}


class FieldError(ValueError):
    """A value breaks an input rule. Carries the field's name and the wire code.

    >>> e = FieldError("amount", ErrorCode.INVALID_AMOUNT, "amount must be positive")
    >>> str(e), e.field
    ('amount: amount must be positive', 'amount')
    """

    def __init__(self, field: str, error_code: ErrorCode, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.error_code = error_code
        self.reason = reason

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.field, self.error_code, self.reason))


class ProtocolError(Exception):
    """Abstract: the protocol was broken. Raise a subclass.

    ``error_code`` is the code to answer with; ``field`` names the offending field, if any.
    """

    error_code: ErrorCode = ErrorCode.MALFORMED_MESSAGE

    def __init__(
        self, msg: str, *, error_code: ErrorCode | None = None, field: str | None = None
    ) -> None:
        if type(self) is ProtocolError:
            raise TypeError("ProtocolError is abstract: raise Local- or RemoteProtocolError")
        super().__init__(msg)
        if error_code is not None:
            self.error_code = error_code
        self.field = field

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild, (type(self), str(self), self.error_code, self.field))


def _rebuild(
    cls: type[ProtocolError], msg: str, code: ErrorCode, field: str | None
) -> ProtocolError:
    return cls(msg, error_code=code, field=field)


class LocalProtocolError(ProtocolError):
    """We were about to break the protocol (an invalid message to send)."""


class RemoteProtocolError(ProtocolError):
    """The peer broke the protocol (bytes or a message that do not follow it)."""
