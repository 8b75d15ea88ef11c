"""BER-TLV as EMV uses it (EMV 4.4 Book 3 Annex B): tags of one or more bytes, definite
lengths of one to three bytes, constructed tags holding TLVs; and Data Object Lists (DOL: a
list of tag and length with no values).

>>> data = encode_tlv([(0x6F, [(0x84, bytes.fromhex("A0000000031010")), (0x50, b"VISA")])])
>>> data.hex().upper()
'6F0F8407A0000000031010500456495341'
>>> flatten(decode_tlv(data))[0x50]
b'VISA'
>>> parse_dol(bytes.fromhex("9F02069F1A0295055F2A029A039C019F3704"))[:2]
((40706, 6), (40730, 2))
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

from .errors import ErrorCode, RemoteProtocolError

__all__ = [
    "Tlv",
    "encode_tlv",
    "decode_tlv",
    "flatten",
    "parse_dol",
    "build_dol_data",
    "tag_bytes",
    "is_constructed",
    "first_object",
]

# A decoded TLV: tag and either raw bytes (primitive) or nested TLVs (constructed).
Tlv = tuple[int, "bytes | list[Tlv]"]

MAX_DEPTH = 8


def _error(text: str) -> RemoteProtocolError:
    return RemoteProtocolError(f"BER-TLV: {text}", error_code=ErrorCode.CARD_ERROR)


def tag_bytes(tag: int) -> bytes:
    return tag.to_bytes(max(1, (tag.bit_length() + 7) // 8), "big")


def is_constructed(tag: int) -> bool:
    return bool(tag_bytes(tag)[0] & 0x20)


def _encode_length(length: int) -> bytes:
    if length < 0x80:
        return bytes((length,))
    if length <= 0xFF:
        return bytes((0x81, length))
    if length <= 0xFFFF:
        return bytes((0x82,)) + length.to_bytes(2, "big")
    raise ValueError("a TLV value is at most 65535 bytes")


def encode_tlv(items: list[Tlv]) -> bytes:
    out = bytearray()
    for tag, value in items:
        raw = encode_tlv(value) if isinstance(value, list) else value
        out += tag_bytes(tag) + _encode_length(len(raw)) + raw
    return bytes(out)


def _read_tag(data: bytes, pos: int) -> tuple[int, int]:
    if pos >= len(data):
        raise _error("tag runs past the end")
    start = pos
    if data[pos] & 0x1F == 0x1F:
        pos += 1
        while pos < len(data) and data[pos] & 0x80:
            pos += 1
        if pos >= len(data) or pos - start > 3:
            raise _error("tag runs past the end or is over four bytes")
    pos += 1
    return int.from_bytes(data[start:pos], "big"), pos


def _read_length(data: bytes, pos: int) -> tuple[int, int]:
    if pos >= len(data):
        raise _error("length runs past the end")
    first = data[pos]
    if first < 0x80:
        return first, pos + 1
    size = first & 0x7F
    if not 1 <= size <= 3 or pos + 1 + size > len(data):
        raise _error("bad length field")
    return int.from_bytes(data[pos + 1 : pos + 1 + size], "big"), pos + 1 + size


def decode_tlv(data: bytes, depth: int = 0) -> list[Tlv]:
    """Every TLV in ``data``; RemoteProtocolError(CARD_ERROR) if malformed. Padding bytes
    00 and FF between TLVs are skipped (Book 3 B.1)."""
    if depth > MAX_DEPTH:
        raise _error("nested too deep")
    items: list[Tlv] = []
    pos, size = 0, len(data)
    while pos < size:
        first = data[pos]
        if first == 0x00 or first == 0xFF:
            pos += 1
            continue
        if first & 0x1F == 0x1F:  # a tag of more than one byte: the slow path
            tag, pos = _read_tag(data, pos)
        else:
            tag, pos = first, pos + 1
        if pos < size and data[pos] < 0x80:  # the common short length
            length, pos = data[pos], pos + 1
        else:
            length, pos = _read_length(data, pos)
        end = pos + length
        if end > size:
            raise _error(f"value of tag {tag:X} runs past the end")
        value = data[pos:end]
        # constructed: bit 6 of the tag's first byte (Book 3 B.2)
        items.append((tag, decode_tlv(value, depth + 1) if first & 0x20 else value))
        pos = end
    return items


def first_object(data: bytes) -> tuple[int, bytes]:
    """The tag of the first data object in ``data`` and its value as raw bytes, as sent: what
    offline data authentication signs of a record (Book 3 10.3).

    >>> first_object(bytes.fromhex("70035A0112"))
    (112, b'Z\\x01\\x12')
    """
    tag, pos = _read_tag(data, 0)
    length, pos = _read_length(data, pos)
    if pos + length > len(data):
        raise _error(f"value of tag {tag:X} runs past the end")
    return tag, data[pos : pos + length]


def flatten(items: list[Tlv]) -> dict[int, bytes]:
    """Every primitive tag's value, at any depth (the first occurrence wins)."""
    out: dict[int, bytes] = {}
    for tag, value in items:
        if isinstance(value, list):
            for inner_tag, inner_value in flatten(value).items():
                out.setdefault(inner_tag, inner_value)
        else:
            out.setdefault(tag, value)
    return out


def parse_dol(dol: bytes) -> tuple[tuple[int, int], ...]:
    """A Data Object List: (tag, length) pairs. Remembered for the same bytes: a card sends
    the same PDOL and CDOLs at every transaction (and they hold no card data)."""
    return _parse_dol(dol)


@functools.lru_cache(maxsize=64)
def _parse_dol(dol: bytes) -> tuple[tuple[int, int], ...]:
    out = []
    pos = 0
    while pos < len(dol):
        tag, pos = _read_tag(dol, pos)
        length, pos = _read_length(dol, pos)
        out.append((tag, length))
    return tuple(out)


def build_dol_data(dol: Sequence[tuple[int, int]], values: dict[int, bytes]) -> bytes:
    """The DOL's values concatenated; a missing tag is zeros, a long one is cut (Book 3 5.4)."""
    out = bytearray()
    for tag, length in dol:
        value = values.get(tag, b"")
        out += value[:length].ljust(length, b"\x00") if len(value) != length else value
    return bytes(out)
