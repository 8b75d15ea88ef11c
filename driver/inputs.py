"""What the driver checks before anything goes on the wire: amounts by the amount rule (as
integers of minor units, or as text or Decimal in major units) and the typed error a rejected
field becomes.

>>> to_minor_units("12.34", "EUR"), to_minor_units(500, "JPY")
(1234, 500)
>>> to_minor_units("0.00", "EUR", "tip_amount", allow_zero=True)
0
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

from protocols.currency import by_alpha, parse_amount
from protocols.errors import ErrorCode, FieldError, LocalProtocolError
from protocols.messages import Prompt
from protocols.validation import check_amount

from .errors import InputRejected, InvalidAmount

__all__ = ["Amount", "PromptHandler", "rejected", "to_minor_units"]

Amount = int | str | Decimal  # int: minor units; str or Decimal: major units ("12.34")
PromptHandler = Callable[[Prompt], None]


def rejected(error: FieldError | LocalProtocolError) -> InputRejected:
    """The typed error for a field the driver refuses to send."""
    if isinstance(error, FieldError):
        return InputRejected(error.error_code, error.field, error.reason)
    return InputRejected(error.error_code, error.field or "", str(error))


def to_minor_units(
    amount: Amount, currency: str, field: str = "amount", *, allow_zero: bool = False
) -> int:
    """The amount in minor units, by the amount rule; InvalidAmount (a ValueError) if not.
    ``allow_zero`` for a tip."""
    try:
        by_alpha(currency)
    except FieldError as e:
        raise rejected(e) from None
    try:
        if isinstance(amount, bool) or not isinstance(amount, (int, str, Decimal)):
            raise FieldError(field, ErrorCode.INVALID_AMOUNT, f"{amount!r} is not an amount")
        if isinstance(amount, int):
            return check_amount(amount, field, allow_zero=allow_zero)
        return parse_amount(str(amount), currency, field, allow_zero=allow_zero)
    except FieldError as e:
        raise InvalidAmount(e.error_code, e.field, e.reason) from None
