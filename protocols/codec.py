"""A fast, strict encoder and decoder derived from a construct ``Struct`` declaration.

The construct schemas in :mod:`protocols.messages` stay the one definition of every message
(the protocol document is generated from them, and tests check that this codec and construct
agree on every input). This module walks a schema once and builds plain ``struct``/slice
closures for it, because construct's own parser costs tens of microseconds a message and its
``.compile()`` (2.10) reads short fields without a length check, so it would accept truncated
input. Supported: unsigned big-endian integers, fixed ``Bytes``, ``Prefixed(u8, GreedyBytes)``,
``PascalString(u8, ...)``, ``PaddedString(n, ...)``, ``PrefixedArray(u8, ...)``, nested
``Struct``, ``Adapter`` subclasses over any of these, and ``Terminated``.

>>> import construct as c
>>> codec = compile_struct(c.Struct("n" / c.Int16ub, "s" / c.PascalString(c.Int8ub, "ascii")))
>>> codec.encode({"n": 258, "s": "hi"}).hex(" ")
'01 02 02 68 69'
>>> codec.decode(bytes.fromhex("01 02 02 68 69"))
{'n': 258, 's': 'hi'}
>>> codec.decode(bytes.fromhex("01 02 05 68 69"))
Traceback (most recent call last):
...
construct.core.StreamError: 5 bytes needed at offset 3, 2 there
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import construct as c

__all__ = ["StructCodec", "compile_struct"]

Reader = Callable[[bytes, int], tuple[Any, int]]
Writer = Callable[[Any, list[bytes]], None]


@dataclass(frozen=True)
class StructCodec:
    encode: Callable[[dict[str, Any]], bytes]
    decode: Callable[[bytes], dict[str, Any]]


def _short(needed: int, pos: int, have: int) -> c.StreamError:
    return c.StreamError(f"{needed} bytes needed at offset {pos}, {have - pos} there")


def _integer(fmt: str) -> tuple[Reader, Writer]:
    packer = struct.Struct(fmt)
    size = packer.size
    unpack_from, pack = packer.unpack_from, packer.pack

    def read(data: bytes, pos: int) -> tuple[Any, int]:
        if pos + size > len(data):
            raise _short(size, pos, len(data))
        return unpack_from(data, pos)[0], pos + size

    def write(value: Any, out: list[bytes]) -> None:
        out.append(pack(value))

    return read, write


def _fixed_bytes(size: int) -> tuple[Reader, Writer]:
    def read(data: bytes, pos: int) -> tuple[Any, int]:
        end = pos + size
        if end > len(data):
            raise _short(size, pos, len(data))
        return data[pos:end], end

    def write(value: Any, out: list[bytes]) -> None:
        if len(value) != size:
            raise c.StreamError(f"{size} bytes expected, {len(value)} given")
        out.append(bytes(value))

    return read, write


def _prefixed_bytes(encoding: str | None = None) -> tuple[Reader, Writer]:
    """A u8 length, then that many bytes; with ``encoding``, text in them, read and written
    in the same step (``PascalString``: a receipt's lines are most of a sale's fields)."""

    def read(data: bytes, pos: int) -> tuple[Any, int]:
        if pos >= len(data):
            raise _short(1, pos, len(data))
        end = pos + 1 + data[pos]
        if end > len(data):
            raise _short(data[pos], pos + 1, len(data))
        raw = data[pos + 1 : end]
        return (raw if encoding is None else raw.decode(encoding)), end

    def write(value: Any, out: list[bytes]) -> None:
        raw = bytes(value) if encoding is None else value.encode(encoding)
        if len(raw) > 255:
            raise c.StreamError(f"{len(raw)} bytes do not fit a u8 length")
        out.append(bytes((len(raw),)))
        out.append(raw)

    return read, write


def _text(inner: tuple[Reader, Writer], encoding: str, pad_to: int | None) -> tuple[Reader, Writer]:
    read_raw, write_raw = inner

    def read(data: bytes, pos: int) -> tuple[Any, int]:
        raw, pos = read_raw(data, pos)
        if pad_to is not None:
            raw = raw.rstrip(b"\x00")
        return raw.decode(encoding), pos

    def write(value: Any, out: list[bytes]) -> None:
        raw = value.encode(encoding)
        if pad_to is not None:
            if len(raw) > pad_to:
                raise c.PaddingError(f"{len(raw)} bytes do not fit in {pad_to}")
            raw = raw.ljust(pad_to, b"\x00")
        write_raw(raw, out)

    return read, write


def _is_pascal_text(sub: Any) -> bool:
    """PascalString(Int8ub, encoding): a u8-prefixed text."""
    if not isinstance(sub, c.StringEncoded):
        return False
    inner = sub.subcon
    return (
        isinstance(inner, c.Prefixed)
        and inner.lengthfield is c.Int8ub
        and inner.subcon is c.GreedyBytes
    )


def _array(count: tuple[Reader, Writer], item: tuple[Reader, Writer]) -> tuple[Reader, Writer]:
    read_count, write_count = count
    read_item, write_item = item

    def read(data: bytes, pos: int) -> tuple[Any, int]:
        n, pos = read_count(data, pos)
        items = []
        for _ in range(n):
            value, pos = read_item(data, pos)
            items.append(value)
        return items, pos

    def write(value: Any, out: list[bytes]) -> None:
        write_count(len(value), out)
        for element in value:
            write_item(element, out)

    return read, write


def _adapted(adapter: c.Adapter, inner: tuple[Reader, Writer]) -> tuple[Reader, Writer]:
    read_raw, write_raw = inner
    decode, encode = adapter._decode, adapter._encode

    def read(data: bytes, pos: int) -> tuple[Any, int]:
        raw, pos = read_raw(data, pos)
        return decode(raw, None, "(parsing)"), pos

    def write(value: Any, out: list[bytes]) -> None:
        write_raw(encode(value, None, "(building)"), out)

    return read, write


def _struct(schema: c.Struct) -> tuple[Reader, Writer]:
    fields: list[tuple[str, Reader, Writer]] = []
    terminated = False
    for sub in schema.subcons:
        if sub is c.Terminated:
            terminated = True
            continue
        if not sub.name:
            raise TypeError(f"unnamed field {sub!r} is not supported")
        fields.append((sub.name, *_field(sub.subcon)))

    def read(data: bytes, pos: int) -> tuple[Any, int]:
        values = {}
        for name, read_field, _ in fields:
            values[name], pos = read_field(data, pos)
        if terminated and pos != len(data):
            raise c.TerminatedError(f"{len(data) - pos} bytes left over")
        return values, pos

    def write(value: Any, out: list[bytes]) -> None:
        for name, _, write_field in fields:
            write_field(value[name], out)

    return read, write


_FORMATS = {">B", ">H", ">L", ">Q", ">I"}


def _field(sub: Any) -> tuple[Reader, Writer]:
    while isinstance(sub, c.Renamed):
        sub = sub.subcon
    if isinstance(sub, c.FormatField) and sub.fmtstr in _FORMATS:
        return _integer(sub.fmtstr)
    if isinstance(sub, c.Bytes) and isinstance(sub.length, int):
        return _fixed_bytes(sub.length)
    if isinstance(sub, c.Prefixed) and sub.lengthfield is c.Int8ub and sub.subcon is c.GreedyBytes:
        return _prefixed_bytes()
    if _is_pascal_text(sub):
        return _prefixed_bytes(sub.encoding)
    if isinstance(sub, c.StringEncoded):
        inner = sub.subcon
        if isinstance(inner, c.FixedSized) and isinstance(inner.length, int):
            return _text(_fixed_bytes(inner.length), sub.encoding, inner.length)
        return _text(_field(inner), sub.encoding, None)
    if isinstance(sub, c.Rebuild):
        return _field(sub.subcon)
    if isinstance(sub, c.FocusedSeq) and [s.name for s in sub.subcons] == ["count", "items"]:
        count_field, items = (s.subcon for s in sub.subcons)  # PrefixedArray
        return _array(_field(count_field), _field(items.subcon))
    if isinstance(sub, c.Struct):
        return _struct(sub)
    if isinstance(sub, c.Adapter):
        return _adapted(sub, _field(sub.subcon))
    raise TypeError(f"{type(sub).__name__} is not supported by the fast codec")


def compile_struct(schema: c.Struct) -> StructCodec:
    """Encoder and decoder for ``schema``; TypeError for a construct it does not support."""
    read, write = _struct(schema)

    def encode(values: dict[str, Any]) -> bytes:
        out: list[bytes] = []
        write(values, out)
        return b"".join(out)

    def decode(data: bytes) -> dict[str, Any]:
        values: dict[str, Any] = read(data, 0)[0]
        return values

    return StructCodec(encode, decode)
