"""The input rules of design.md as functions: each returns the value or raises FieldError.

Both sides call them: the driver before it sends (a clear error at the API), the terminal
when it receives (a documented code on the wire).

>>> check_amount(1234)
1234
>>> check_pan("4761739001010010")
'4761739001010010'
>>> check_pan("4761739001010011")
Traceback (most recent call last):
...
protocols.errors.FieldError: pan: Luhn check digit is wrong
"""

from __future__ import annotations

from .currency import MAX_MINOR_UNITS, by_alpha
from .errors import ErrorCode, FieldError

__all__ = [
    "MAX_AMOUNT",
    "check_amount",
    "check_currency",
    "check_pan",
    "check_transaction_id",
    "check_reference",
    "check_card_name",
    "luhn_ok",
    "mask_pan",
]

MAX_AMOUNT = MAX_MINOR_UNITS  # EMV Amount, Authorised (9F02) is n12
_PRINTABLE = frozenset(chr(c) for c in range(0x21, 0x7F))


def check_amount(value: int, field: str = "amount", *, allow_zero: bool = False) -> int:
    """An amount in minor units: 1 to 999999999999 (0 too where ``allow_zero``: a tip, the
    amount of a request that has none).

    >>> check_amount(0, "tip_amount", allow_zero=True)
    0
    """
    if type(value) is not int:
        raise FieldError(field, ErrorCode.INVALID_AMOUNT, "must be an integer of minor units")
    lowest = 0 if allow_zero else 1
    if not lowest <= value <= MAX_AMOUNT:
        raise FieldError(
            field, ErrorCode.INVALID_AMOUNT, f"must be {lowest} to {MAX_AMOUNT} minor units"
        )
    return value


def check_currency(value: str, field: str = "currency") -> str:
    return by_alpha(value, field).alpha


def luhn_ok(digits: str) -> bool:
    """The Luhn (mod 10) check of ISO/IEC 7812-1 Annex B."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def check_pan(value: str, field: str = "pan") -> str:
    if not isinstance(value, str) or not value.isascii() or not value.isdigit():
        raise FieldError(field, ErrorCode.INVALID_PAN, "must be digits")
    if not 12 <= len(value) <= 19:
        raise FieldError(field, ErrorCode.INVALID_PAN, "must be 12 to 19 digits")
    if not luhn_ok(value):
        raise FieldError(field, ErrorCode.INVALID_PAN, "Luhn check digit is wrong")
    return value


def _check_printable(
    value: str, field: str, code: ErrorCode, max_len: int, min_len: int = 1
) -> str:
    if not isinstance(value, str) or not min_len <= len(value) <= max_len:
        raise FieldError(field, code, f"must be {min_len} to {max_len} characters")
    if not _PRINTABLE.issuperset(value):
        raise FieldError(field, code, "must be printable ASCII without spaces")
    return value


def check_transaction_id(value: str, field: str = "client_transaction_id") -> str:
    return _check_printable(value, field, ErrorCode.INVALID_TRANSACTION_ID, 32)


def check_reference(value: str, field: str = "reference") -> str:
    if not isinstance(value, str) or not 1 <= len(value) <= 12:
        raise FieldError(field, ErrorCode.INVALID_REFERENCE, "must be 1 to 12 characters")
    if not (value.isascii() and value.isalnum()):
        raise FieldError(field, ErrorCode.INVALID_REFERENCE, "must be letters or digits")
    return value


def check_card_name(value: str, field: str = "card") -> str:
    return _check_printable(value, field, ErrorCode.UNKNOWN_CARD, 32)


def mask_pan(pan: str) -> str:
    """PCI DSS masking: at most the first six and last four digits shown.

    >>> mask_pan("4761739001010010")
    '476173******0010'
    """
    return pan[:6] + "*" * (len(pan) - 10) + pan[-4:]
