"""The cardholder's PIN as the secure element holds it: never printed, compared in constant time.

>>> pin = Pin("1234")
>>> pin, str(pin)
(Pin(4 digits), 'Pin(4 digits)')
>>> pin.matches(Pin("1234")), pin.matches(Pin("4321"))
(True, False)
>>> Pin("12a4")
Traceback (most recent call last):
...
protocols.errors.FieldError: pin: must be 4 to 12 digits
"""

from __future__ import annotations

import hmac

from protocols.errors import ErrorCode, FieldError

__all__ = ["Pin"]


class Pin:
    """A PIN of 4 to 12 digits (ISO 9564-1). Its digits are reachable only inside keys/."""

    __slots__ = ("_digits",)

    def __init__(self, digits: str) -> None:
        if not (
            isinstance(digits, str)
            and 4 <= len(digits) <= 12
            and digits.isascii()
            and digits.isdigit()
        ):
            raise FieldError("pin", ErrorCode.INVALID_PIN, "must be 4 to 12 digits")
        self._digits = digits

    def __len__(self) -> int:
        return len(self._digits)

    def __repr__(self) -> str:
        return f"Pin({len(self._digits)} digits)"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Pin) and self.matches(other)

    def __hash__(self) -> int:
        return hash((Pin, len(self._digits)))

    def __reduce__(self) -> tuple[object, ...]:
        raise TypeError("a PIN is not serialised")

    def matches(self, other: Pin) -> bool:
        """Constant-time comparison."""
        return hmac.compare_digest(self._digits.encode(), other._digits.encode())
