"""Terminal verification results (tag 95) and the transaction status information (tag 9B),
EMV 4.4 Book 3 Annex C5 and C6: each bit that possim sets, by name, as data that traces,
receipts and docs/emv.md print from.

>>> tvr = Tvr()
>>> tvr.set(TvrBit.DDA_FAILED); tvr.set(TvrBit.FLOOR_LIMIT_EXCEEDED)
>>> tvr.value.hex().upper(), tvr.names()
('0800008000', ['DDA failed', 'transaction exceeds floor limit'])
>>> Tvr(bytes.fromhex("0800008000")).matches(bytes.fromhex("FC00000000"))
True
"""

from __future__ import annotations

from enum import Enum

__all__ = ["TvrBit", "TsiBit", "Tvr", "Tsi", "describe_tvr", "describe_tsi"]


class TvrBit(Enum):
    """(byte 1-5, mask): the TVR bits of Book 3 C5."""

    ODA_NOT_PERFORMED = (1, 0x80)
    SDA_FAILED = (1, 0x40)
    ICC_DATA_MISSING = (1, 0x20)
    ON_EXCEPTION_FILE = (1, 0x10)
    DDA_FAILED = (1, 0x08)
    CDA_FAILED = (1, 0x04)
    SDA_SELECTED = (1, 0x02)
    VERSIONS_DIFFER = (2, 0x80)
    EXPIRED_APPLICATION = (2, 0x40)
    NOT_YET_EFFECTIVE = (2, 0x20)
    SERVICE_NOT_ALLOWED = (2, 0x10)
    NEW_CARD = (2, 0x08)
    CARDHOLDER_VERIFICATION_FAILED = (3, 0x80)
    UNRECOGNISED_CVM = (3, 0x40)
    PIN_TRY_LIMIT_EXCEEDED = (3, 0x20)
    PIN_PAD_MISSING = (3, 0x10)
    PIN_NOT_ENTERED = (3, 0x08)
    ONLINE_PIN_ENTERED = (3, 0x04)
    FLOOR_LIMIT_EXCEEDED = (4, 0x80)
    LOWER_OFFLINE_LIMIT_EXCEEDED = (4, 0x40)
    UPPER_OFFLINE_LIMIT_EXCEEDED = (4, 0x20)
    RANDOMLY_SELECTED_ONLINE = (4, 0x10)
    MERCHANT_FORCED_ONLINE = (4, 0x08)
    DEFAULT_TDOL_USED = (5, 0x80)
    ISSUER_AUTHENTICATION_FAILED = (5, 0x40)
    SCRIPT_FAILED_BEFORE_FINAL_AC = (5, 0x20)
    SCRIPT_FAILED_AFTER_FINAL_AC = (5, 0x10)

    @property
    def label(self) -> str:
        return _LABELS.get(self, self.name.lower().replace("_", " "))


_LABELS = {
    TvrBit.ODA_NOT_PERFORMED: "offline data authentication not performed",
    TvrBit.SDA_FAILED: "SDA failed",
    TvrBit.ICC_DATA_MISSING: "ICC data missing",
    TvrBit.ON_EXCEPTION_FILE: "card on the exception file",
    TvrBit.DDA_FAILED: "DDA failed",
    TvrBit.CDA_FAILED: "CDA failed",
    TvrBit.SDA_SELECTED: "SDA selected",
    TvrBit.VERSIONS_DIFFER: "ICC and terminal application versions differ",
    TvrBit.EXPIRED_APPLICATION: "expired application",
    TvrBit.NOT_YET_EFFECTIVE: "application not yet effective",
    TvrBit.NEW_CARD: "new card",
    TvrBit.CARDHOLDER_VERIFICATION_FAILED: "cardholder verification was not successful",
    TvrBit.PIN_TRY_LIMIT_EXCEEDED: "PIN try limit exceeded",
    TvrBit.ONLINE_PIN_ENTERED: "online PIN entered",
    TvrBit.FLOOR_LIMIT_EXCEEDED: "transaction exceeds floor limit",
    TvrBit.LOWER_OFFLINE_LIMIT_EXCEEDED: "lower consecutive offline limit exceeded",
    TvrBit.UPPER_OFFLINE_LIMIT_EXCEEDED: "upper consecutive offline limit exceeded",
    TvrBit.RANDOMLY_SELECTED_ONLINE: "transaction selected randomly for online processing",
    TvrBit.ISSUER_AUTHENTICATION_FAILED: "issuer authentication failed",
    TvrBit.SCRIPT_FAILED_BEFORE_FINAL_AC: "script processing failed before final GENERATE AC",
    TvrBit.SCRIPT_FAILED_AFTER_FINAL_AC: "script processing failed after final GENERATE AC",
}


class TsiBit(Enum):
    """(byte 1-2, mask): the TSI bits of Book 3 C6."""

    ODA_PERFORMED = (1, 0x80)
    CARDHOLDER_VERIFICATION_PERFORMED = (1, 0x40)
    CARD_RISK_MANAGEMENT_PERFORMED = (1, 0x20)
    ISSUER_AUTHENTICATION_PERFORMED = (1, 0x10)
    TERMINAL_RISK_MANAGEMENT_PERFORMED = (1, 0x08)
    SCRIPT_PROCESSING_PERFORMED = (1, 0x04)

    @property
    def label(self) -> str:
        return self.name.lower().replace("_", " ").replace("oda", "offline data authentication")


class _Bits:
    size = 0
    bits: tuple[TvrBit, ...] | tuple[TsiBit, ...] = ()

    def __init__(self, value: bytes = b"") -> None:
        self._value = bytearray(value or bytes(self.size))
        if len(self._value) != self.size:
            raise ValueError(f"{type(self).__name__} is {self.size} bytes")

    def set(self, bit: TvrBit | TsiBit) -> None:
        byte, mask = bit.value
        self._value[byte - 1] |= mask

    def has(self, bit: TvrBit | TsiBit) -> bool:
        byte, mask = bit.value
        return bool(self._value[byte - 1] & mask)

    @property
    def value(self) -> bytes:
        return bytes(self._value)

    def names(self) -> list[str]:
        return [bit.label for bit in self.bits if self.has(bit)]

    def matches(self, action_code: bytes) -> bool:
        """Whether any bit set here is set in ``action_code`` too (Book 3 10.7)."""
        return any(a & b for a, b in zip(self._value, action_code, strict=False))

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.value.hex().upper()})"


class Tvr(_Bits):
    size = 5
    bits = tuple(TvrBit)


class Tsi(_Bits):
    size = 2
    bits = tuple(TsiBit)


def describe_tvr(value: bytes) -> str:
    """'0800008000 (DDA failed; transaction exceeds floor limit)' for a trace."""
    names = Tvr(value).names() if len(value) == 5 else []
    return value.hex().upper() + (f" ({'; '.join(names)})" if names else "")


def describe_tsi(value: bytes) -> str:
    names = Tsi(value).names() if len(value) == 2 else []
    return value.hex().upper() + (f" ({'; '.join(names)})" if names else "")
