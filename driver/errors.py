"""The driver's exceptions. A decline is a result, not an exception.

>>> e = InputRejected(ErrorCode.INVALID_AMOUNT, "amount", "must be 1 to 999999999999 minor units")
>>> isinstance(e, TerminalError), e.code.name, e.field
(True, 'INVALID_AMOUNT', 'amount')
"""

from __future__ import annotations

from protocols.errors import ErrorCode

__all__ = [
    "TerminalError",
    "InputRejected",
    "InvalidAmount",
    "MerchantPasswordError",
    "PairingFailed",
    "error_for",
    "LineLost",
    "NotPaired",
    "PortNotFound",
    "PortBusy",
    "OutcomeUnknown",
    "TerminalTimeout",
    "ProtocolViolation",
]


class TerminalError(Exception):
    """Base of every driver error."""


class InputRejected(TerminalError):
    """The request was refused, by the driver's own checks or by the terminal's ERROR
    message. ``code`` is the documented wire code; the terminal is idle again."""

    def __init__(self, code: ErrorCode | int, field: str, text: str) -> None:
        super().__init__(f"{text} ({field})" if field else text)
        self.code = code
        self.field = field
        self.text = text

    def __reduce__(self) -> tuple[object, ...]:
        return (type(self), (self.code, self.field, self.text))


class InvalidAmount(InputRejected, ValueError):
    """An amount that breaks the amount rule (plain digits, at most the currency's decimals,
    more than zero, at most 12 digits in minor units). Raised before anything is sent."""


class MerchantPasswordError(InputRejected):
    """A merchant command (refund, void, tip adjustment, settlement) without the merchant
    password (PASSWORD_REQUIRED), with a wrong one (WRONG_PASSWORD), or while logins are
    locked after wrong ones (PASSWORD_LOCKED)."""


_PASSWORD_CODES = frozenset(
    {ErrorCode.PASSWORD_REQUIRED, ErrorCode.WRONG_PASSWORD, ErrorCode.PASSWORD_LOCKED}
)


class PairingFailed(InputRejected):
    """Pairing did not complete: the code typed is not the one the terminal shows, or
    someone is in the middle (WRONG_PAIRING_CODE), too many attempts failed
    (PAIRING_LOCKED), a step came out of order (PAIRING_FAILED), or there is no pairing with
    that id (UNKNOWN_PAIRING). Nothing was stored on either side."""


_PAIRING_CODES = frozenset(
    {
        ErrorCode.WRONG_PAIRING_CODE,
        ErrorCode.PAIRING_LOCKED,
        ErrorCode.PAIRING_FAILED,
        ErrorCode.UNKNOWN_PAIRING,
    }
)


def error_for(code: ErrorCode | int, field: str, text: str) -> InputRejected:
    """The typed error for the terminal's ERROR ``code``."""
    if code in _PASSWORD_CODES:
        return MerchantPasswordError(code, field, text)
    if code in _PAIRING_CODES:
        return PairingFailed(code, field, text)
    return InputRejected(code, field, text)


class LineLost(TerminalError):
    """The line to the terminal failed (no ACK after the retries, or the port closed)."""


class NotPaired(LineLost):
    """The terminal took the link but answers none of this host's requests: it requires a
    paired host (always over TCP), and this host has no pairing for it. Pair with
    ``Terminal.pair`` (``possim pair --port P``)."""


class PortNotFound(LineLost):
    """The port does not exist (no such device, nothing listening at that address)."""


class PortBusy(LineLost):
    """Another program has the port (a serial port is opened by one program at a time)."""


class OutcomeUnknown(LineLost):
    """The line failed while a sale or refund ran and its outcome could not be learnt yet.
    Ask again with ``lookup(client_transaction_id)``: the terminal's journal has the truth.
    Do not send the payment again under a new id."""

    def __init__(self, client_transaction_id: str, text: str) -> None:
        super().__init__(text)
        self.client_transaction_id = client_transaction_id

    def __reduce__(self) -> tuple[object, ...]:
        return (type(self), (self.client_transaction_id, str(self)))


class TerminalTimeout(TerminalError):
    """No answer within the timeout."""


class ProtocolViolation(TerminalError):
    """The terminal sent something the protocol does not allow."""
