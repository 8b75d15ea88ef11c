"""construct building blocks for message fields: BCD amounts, ISO 4217 currency numbers,
one-byte enums and length-prefixed text.

>>> Amount.build(1234).hex(), Amount.parse(bytes.fromhex("000000001234"))
('000000001234', 1234)
>>> CurrencyNumber.build("EUR").hex(), CurrencyNumber.parse(b"\\x03\\x92")
('0978', 'JPY')
"""

from __future__ import annotations

from enum import IntEnum, IntFlag
from typing import Any

import construct as c

from .currency import by_alpha, by_numeric
from .errors import ErrorCode, FieldError

__all__ = [
    "Amount",
    "CurrencyNumber",
    "EnumByte",
    "ErrorCodeField",
    "AsciiText",
    "Utf8Text",
    "TextLines",
    "bcd_to_int",
    "int_to_bcd",
]


def bcd_to_int(data: bytes, field: str) -> int:
    """Packed BCD (two digits a byte, EMV format n) to an integer."""
    digits = data.hex()
    if not digits.isdigit():
        raise FieldError(field, ErrorCode.MALFORMED_MESSAGE, f"not BCD: {digits}")
    return int(digits)


def int_to_bcd(value: int, size: int, field: str) -> bytes:
    digits = f"{value:0{size * 2}d}"
    if value < 0 or len(digits) != size * 2:
        raise FieldError(field, ErrorCode.INVALID_FIELD, f"does not fit in n{size * 2}")
    return bytes.fromhex(digits)


class _AmountAdapter(c.Adapter):  # type: ignore[misc]
    def _decode(self, obj: bytes, context: Any, path: str) -> int:
        return bcd_to_int(obj, "amount")

    def _encode(self, obj: int, context: Any, path: str) -> bytes:
        return int_to_bcd(obj, 6, "amount")


class _CurrencyAdapter(c.Adapter):  # type: ignore[misc]
    def _decode(self, obj: bytes, context: Any, path: str) -> str:
        return by_numeric(bcd_to_int(obj, "currency")).alpha

    def _encode(self, obj: str, context: Any, path: str) -> bytes:
        return int_to_bcd(by_alpha(obj).numeric, 2, "currency")


class _EnumAdapter(c.Adapter):  # type: ignore[misc]
    def __init__(self, enum: type[IntEnum] | type[IntFlag], subcon: Any) -> None:
        super().__init__(subcon)
        self.enum = enum

    def _decode(self, obj: int, context: Any, path: str) -> IntEnum | IntFlag | int:
        # A value outside the enum stays an int: the message's own check rejects it with
        # the field's name and code.
        try:
            return self.enum(obj)
        except ValueError:
            return obj

    def _encode(self, obj: int, context: Any, path: str) -> int:
        return int(obj)


def EnumByte(enum: type[IntEnum] | type[IntFlag], subcon: Any = c.Int8ub) -> Any:
    """An IntEnum in one byte (or in ``subcon``)."""
    return _EnumAdapter(enum, subcon)


class _ErrorCodeAdapter(c.Adapter):  # type: ignore[misc]
    """An error code; one this version does not know stays a plain int (newer peers)."""

    def _decode(self, obj: int, context: Any, path: str) -> ErrorCode | int:
        try:
            return ErrorCode(obj)
        except ValueError:
            return obj

    def _encode(self, obj: int, context: Any, path: str) -> int:
        return int(obj)


Amount: Any = _AmountAdapter(c.Bytes(6)) * "n12 BCD, minor units (as EMV tag 9F02)"
CurrencyNumber: Any = _CurrencyAdapter(c.Bytes(2)) * "n3 BCD ISO 4217 number (as EMV tag 5F2A)"
ErrorCodeField: Any = _ErrorCodeAdapter(c.Int16ub) * "u16 error code"
AsciiText = c.PascalString(c.Int8ub, "ascii")
Utf8Text = c.PascalString(c.Int8ub, "utf8")
TextLines = c.PrefixedArray(c.Int8ub, Utf8Text)
