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


def ber_tlv_items(data: bytes, depth: int = 0) -> list[tuple[int, object]] | None:
    """EMV Book 3 annex B BER-TLV, written from the annex as plainly as possible: the items
    of ``data`` (constructed values as lists), or None where it is malformed. Padding 00/FF
    between items is skipped; tags are at most four bytes; lengths at most three bytes."""
    if depth > 8:
        return None
    items: list[tuple[int, object]] = []
    i = 0
    while i < len(data):
        if data[i] in (0x00, 0xFF):
            i += 1
            continue
        tag_bytes = [data[i]]
        i += 1
        if tag_bytes[0] & 0x1F == 0x1F:  # subsequent bytes follow while b8 is set
            while True:
                if i >= len(data) or len(tag_bytes) >= 4:
                    return None
                tag_bytes.append(data[i])
                i += 1
                if not data[i - 1] & 0x80:
                    break
        if i >= len(data):
            return None
        if data[i] < 0x80:
            length = data[i]
            i += 1
        else:
            count = data[i] & 0x7F
            if count < 1 or count > 3 or i + 1 + count > len(data):
                return None
            length = int.from_bytes(data[i + 1 : i + 1 + count], "big")
            i += 1 + count
        if i + length > len(data):
            return None
        value = data[i : i + length]
        i += length
        tag = int.from_bytes(bytes(tag_bytes), "big")
        if tag_bytes[0] & 0x20:
            inner = ber_tlv_items(value, depth + 1)
            if inner is None:
                return None
            items.append((tag, inner))
        else:
            items.append((tag, value))
    return items
