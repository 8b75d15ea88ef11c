"""The ZVT APDU: a control field (class and instruction, one byte each), a length (one byte,
or FF and two bytes little-endian for 255 and more), then the data (ZVT 13, chapter 1.3).
Acknowledgements are APDUs too: ``80 00 00`` (positive) and ``84 xx 00`` (negative, xx the
result code).

>>> encode_apdu(0x06, 0x01, bytes.fromhex("04000000001234")).hex().upper()
'06010704000000001234'
>>> Apdu.decode(bytes.fromhex("0601FF0700") + bytes(7)).data == bytes(7)
True
>>> stream = ApduStream()
>>> stream.feed(bytes.fromhex("800000060107")); [a.hex() for a in stream.apdus()]
['800000']
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import construct as c

__all__ = ["Apdu", "ApduStream", "ZvtFormatError", "encode_apdu", "APDU", "MAX_DATA"]

MAX_DATA = 0xFFFF  # the longest length field (FF LL HH)


class ZvtFormatError(ValueError):
    """ZVT bytes that do not decode: the PT answers ``84 xx 00`` (``result_code``)."""

    def __init__(self, text: str, result_code: int = 0x9A) -> None:  # 9A: protocol error
        super().__init__(text)
        self.result_code = result_code


class _Length(c.Construct):  # type: ignore[misc]
    """One byte, or FF then two bytes little-endian."""

    def _parse(self, stream: Any, context: Any, path: str) -> int:
        first: int = c.stream_read(stream, 1, path)[0]
        if first != 0xFF:
            return first
        return int.from_bytes(c.stream_read(stream, 2, path), "little")

    def _build(self, obj: int, stream: Any, context: Any, path: str) -> int:
        if obj < 0xFF:
            c.stream_write(stream, bytes((obj,)), 1, path)
        else:
            c.stream_write(stream, b"\xff" + obj.to_bytes(2, "little"), 3, path)
        return obj


APDU = c.Struct(
    "cls" / c.Int8ub,
    "instr" / c.Int8ub,
    "data" / c.Prefixed(_Length(), c.GreedyBytes),
)


def encode_apdu(cls: int, instr: int, data: bytes = b"") -> bytes:
    if len(data) > MAX_DATA:
        raise ZvtFormatError(f"an APDU carries at most {MAX_DATA} bytes")
    return bytes(APDU.build({"cls": cls, "instr": instr, "data": data}))


@dataclass(frozen=True)
class Apdu:
    cls: int
    instr: int
    data: bytes = b""

    @property
    def command(self) -> int:
        """The control field as one number: 0x0601 for an authorization."""
        return self.cls << 8 | self.instr

    def encode(self) -> bytes:
        return encode_apdu(self.cls, self.instr, self.data)

    @classmethod
    def decode(cls, raw: bytes) -> Apdu:
        """Exactly one APDU; ZvtFormatError for anything else."""
        size = _total_size(raw)
        if size is None or size > len(raw):
            raise ZvtFormatError("the APDU is shorter than its length field says")
        if size < len(raw):
            raise ZvtFormatError("bytes after the APDU's data")
        parsed = APDU.parse(raw)
        return cls(parsed.cls, parsed.instr, parsed.data)


def _total_size(buffer: bytes) -> int | None:
    """The size of the APDU at the start of ``buffer``, once its length field is there."""
    if len(buffer) < 3:
        return None
    if buffer[2] != 0xFF:
        return 3 + buffer[2]
    if len(buffer) < 5:
        return None
    return 5 + int.from_bytes(buffer[3:5], "little")


class ApduStream:
    """The TCP transport: APDUs back to back, no framing around them (ZVT 13, 1.2). Bytes
    in, whole APDUs out, in order; a partial APDU waits for the rest."""

    def __init__(self) -> None:
        self._buffer = b""

    def feed(self, data: bytes) -> None:
        self._buffer += data

    @property
    def pending(self) -> int:
        """Bytes of an APDU not yet whole."""
        return len(self._buffer)

    def apdus(self) -> list[bytes]:
        out: list[bytes] = []
        while True:
            size = _total_size(self._buffer)
            if size is None or len(self._buffer) < size:
                return out
            out.append(self._buffer[:size])
            self._buffer = self._buffer[size:]

    def clear(self) -> None:
        self._buffer = b""
