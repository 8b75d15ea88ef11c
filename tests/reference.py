"""Independent reference implementations that tests compare our code against."""

from __future__ import annotations


def crc16_bitwise(data: bytes, *, poly: int = 0x1021, init: int = 0xFFFF) -> int:
    """CRC-16/IBM-3740 from its catalogue parameters, one bit at a time (no table, no C)."""
    crc = init
    for byte in data:
        crc ^= byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ poly) if crc & 0x8000 else crc << 1
            crc &= 0xFFFF
    return crc


def frame_bytes(seq: int, message_type: int, payload: bytes) -> bytes:
    """A frame built from the layout table of docs/protocol.md, by hand."""
    length = len(payload) + 2
    hi, lo = divmod(length, 256)
    body = bytes([hi, lo, (-(hi + lo)) % 256, seq, message_type]) + payload
    return b"\x02" + body + crc16_bitwise(body).to_bytes(2, "big")
