"""ZVT bitmaps (BMPs): a one-byte tag and a value whose format the tag fixes (ZVT 13,
chapter 12), as data; one construct schema per format, a sequence of BMPs as a GreedyRange
that must use every byte.

>>> encode_bmps([(0x04, 1234), (0x49, 978)]).hex().upper()
'04000000001234490978'
>>> decode_bmps(bytes.fromhex("04000000001234490978"))
[(4, 1234), (73, 978)]
>>> decode_bmps(bytes.fromhex("8BF0F456495341"))
[(139, b'VISA')]
"""

from __future__ import annotations

from typing import Any

import construct as c

from .apdu import ZvtFormatError

__all__ = ["BMPS", "Bmp", "bmp_name", "decode_bmps", "encode_bmps", "BMP_SEQUENCE"]

Bmp = tuple[int, Any]  # (tag, value): int for BCD and binary numbers, bytes otherwise


class _Bcd(c.Adapter):  # type: ignore[misc]
    """Packed BCD digits as an int; a nibble over 9 does not decode."""

    def __init__(self, size: int) -> None:
        super().__init__(c.Bytes(size))
        self.digits = size * 2

    def _decode(self, obj: bytes, context: Any, path: str) -> int:
        text = obj.hex()
        if not text.isdigit():
            raise c.ValidationError(f"BCD digits expected, not {text.upper()}", path=path)
        return int(text)

    def _encode(self, obj: int, context: Any, path: str) -> bytes:
        text = f"{obj:0{self.digits}d}"
        if len(text) != self.digits or obj < 0:
            raise c.ValidationError(f"{obj} does not fit {self.digits} BCD digits", path=path)
        return bytes.fromhex(text)


class _FDigits(c.Adapter):  # type: ignore[misc]
    """The length of an LLVAR or LLLVAR: each decimal digit as F0 to F9."""

    def __init__(self, size: int) -> None:
        super().__init__(c.Bytes(size))
        self.size = size

    def _decode(self, obj: bytes, context: Any, path: str) -> int:
        if any(b >> 4 != 0xF or b & 0x0F > 9 for b in obj):
            raise c.ValidationError("an L..VAR length is digits F0 to F9", path=path)
        return int("".join(str(b & 0x0F) for b in obj))

    def _encode(self, obj: int, context: Any, path: str) -> bytes:
        text = f"{obj:0{self.size}d}"
        if len(text) != self.size:
            raise c.ValidationError(f"{obj} bytes do not fit an L..VAR", path=path)
        return bytes(0xF0 | int(d) for d in text)


class _TlvLength(c.Construct):  # type: ignore[misc]
    """The TLV container's length: one byte under 80, else 81 and one byte or 82 and two."""

    def _parse(self, stream: Any, context: Any, path: str) -> int:
        first: int = c.stream_read(stream, 1, path)[0]
        if first < 0x80:
            return first
        if first not in (0x81, 0x82):
            raise c.ValidationError("a TLV length is under 80, or 81 or 82 and the length")
        return int.from_bytes(c.stream_read(stream, first - 0x80, path), "big")

    def _build(self, obj: int, stream: Any, context: Any, path: str) -> int:
        if obj < 0x80:
            raw = bytes((obj,))
        elif obj < 0x100:
            raw = b"\x81" + bytes((obj,))
        else:
            raw = b"\x82" + obj.to_bytes(2, "big")
        c.stream_write(stream, raw, len(raw), path)
        return obj


_FORMATS: dict[str, Any] = {
    "llvar": c.Prefixed(_FDigits(2), c.GreedyBytes),
    "lllvar": c.Prefixed(_FDigits(3), c.GreedyBytes),
    "tlv": c.Prefixed(_TlvLength(), c.GreedyBytes),
}

# tag -> (name, format): "bcdN" N bytes of packed BCD, "binN" an N-byte number (1: a byte),
# "asciiN"/"bytesN" N bytes as they are, "llvar"/"lllvar" a length in F-digits then bytes,
# "tlv" the TLV container (ZVT 13, chapter 12 and 9)
BMPS: dict[int, tuple[str, str]] = {
    0x01: ("timeout", "bin1"),
    0x02: ("max. status infos", "bin1"),
    0x03: ("service byte", "bin1"),
    0x04: ("amount", "bcd6"),
    0x05: ("pump number", "bin1"),
    0x06: ("TLV container", "tlv"),
    0x0B: ("trace number", "bcd3"),
    0x0C: ("time HHMMSS", "bcd3"),
    0x0D: ("date MMDD", "bcd2"),
    0x0E: ("expiry date YYMM", "bcd2"),
    0x17: ("card sequence number", "bcd2"),
    0x19: ("payment type / status byte", "bin1"),
    0x22: ("PAN (masked with E)", "llvar"),
    0x23: ("track 2 data", "llvar"),
    0x24: ("track 3 data", "lllvar"),
    0x27: ("result code", "bin1"),
    0x29: ("terminal ID", "bcd4"),
    0x2A: ("VU number", "ascii15"),
    0x2D: ("track 1 data", "llvar"),
    0x37: ("original trace number", "bcd3"),
    0x3A: ("CVV/CVC", "bcd2"),
    0x3B: ("authorisation attribute (auth code)", "ascii8"),
    0x3C: ("additional data / text", "lllvar"),
    0x3D: ("password", "bcd3"),
    0x49: ("currency code", "bcd2"),
    0x60: ("individual totals", "lllvar"),
    0x87: ("receipt number", "bcd2"),
    0x88: ("turnover record number", "bcd3"),
    0x8A: ("card type", "bin1"),
    0x8B: ("card name", "llvar"),
    0x8C: ("card type ID of the network operator", "bin1"),
    0xA0: ("result code AS", "bin1"),
    0xA7: ("chip data", "llvar"),
    0xAA: ("date YYMMDD", "bcd3"),
    0xAF: ("EMV print data", "lllvar"),
    0xBA: ("AID parameter", "bytes5"),
}


def _value_schema(fmt: str) -> Any:
    if fmt in _FORMATS:
        return _FORMATS[fmt]
    kind, size = fmt.rstrip("0123456789"), int(fmt[len(fmt.rstrip("0123456789")) :])
    if kind == "bcd":
        return _Bcd(size)
    if kind == "bin":
        return c.BytesInteger(size)
    return c.Bytes(size)


BMP = c.Struct(
    "tag" / c.Int8ub,
    "value"
    / c.Switch(
        c.this.tag,
        {tag: _value_schema(fmt) for tag, (_, fmt) in BMPS.items()},
        default=c.Error,
    ),
)
BMP_SEQUENCE = c.Struct("bmps" / c.GreedyRange(BMP), c.Terminated)


def bmp_name(tag: int) -> str:
    return BMPS.get(tag, ("unknown", ""))[0]


def decode_bmps(data: bytes) -> list[Bmp]:
    """Every BMP of ``data``; ZvtFormatError naming what is wrong (an unknown tag, a length
    past the end, digits that are not BCD)."""
    try:
        parsed = BMP_SEQUENCE.parse(data)
    except c.ConstructError as e:
        raise ZvtFormatError(f"BMPs do not decode: {_first_line(e)}") from None
    return [(item.tag, item.value) for item in parsed.bmps]


def encode_bmps(bmps: list[Bmp]) -> bytes:
    try:
        return bytes(BMP_SEQUENCE.build({"bmps": [{"tag": t, "value": v} for t, v in bmps]}))
    except c.ConstructError as e:
        raise ZvtFormatError(f"BMPs do not encode: {_first_line(e)}") from None


def _first_line(error: Exception) -> str:
    return str(error).splitlines()[0] if str(error) else type(error).__name__
