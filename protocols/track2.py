"""Track 2 equivalent data (EMV tag 57; ISO/IEC 7813): PAN, separator D, expiry YYMM,
service code, discretionary data, padded with F to whole bytes.

>>> t = Track2.decode(bytes.fromhex("4761739001010010D2812201123456789F"))
>>> t.pan, t.expiry, t.service_code, t.chip_card
('4761739001010010', '2812', '201', True)
>>> t.encode().hex().upper()
'4761739001010010D2812201123456789F'
"""

from __future__ import annotations

from dataclasses import dataclass

from .errors import ErrorCode, RemoteProtocolError

__all__ = ["Track2"]


@dataclass(frozen=True)
class Track2:
    pan: str
    expiry: str  # YYMM
    service_code: str
    discretionary: str = ""

    @property
    def chip_card(self) -> bool:
        """Service code first digit 2 or 6: a chip card, to be read by its chip."""
        return self.service_code[:1] in ("2", "6")

    @property
    def pin_required(self) -> bool:
        """Service code third digit 0, 3, 5, 6 or 7: PIN required or offered (ISO 7813)."""
        return self.service_code[2:3] in ("0", "3", "5", "6", "7")

    def encode(self) -> bytes:
        digits = f"{self.pan}D{self.expiry}{self.service_code}{self.discretionary}"
        if len(digits) % 2:
            digits += "F"
        return bytes.fromhex(digits)

    @classmethod
    def decode(cls, raw: bytes) -> Track2:
        digits = raw.hex().upper().rstrip("F")
        pan, sep, rest = digits.partition("D")
        if not sep or not pan.isdigit() or len(rest) < 7 or not rest.isdigit():
            raise RemoteProtocolError("track 2 data is malformed", error_code=ErrorCode.CARD_ERROR)
        return cls(pan, rest[:4], rest[4:7], rest[7:])
