"""The host-link frame, and a decoder that finds frames in a noisy byte stream.

Layout (all integers big-endian)::

    STX  LEN(2)  LCS  SEQ  TYPE  PAYLOAD(LEN-2)  CRC(2)
    02   0005    fb   00   21    ...             xxxx

LEN counts SEQ, TYPE and PAYLOAD; LCS is the length checksum, (LEN_hi + LEN_lo + LCS) mod 256
= 0, so a stray 02 in noise is rejected without waiting for LEN bytes; CRC is CRC-16/IBM-3740
over LEN..PAYLOAD.

>>> wire = encode_frame(Frame(seq=0, type=0x20, payload=b""))
>>> wire.hex(" ")
'02 00 02 fe 00 20 20 55'
>>> decoder = FrameDecoder()
>>> noise, frame = decoder.feed(b"\\xff" + wire, now=0.0)
>>> noise.error, frame
(RemoteProtocolError('1 byte of noise'), Frame(seq=0, type=32, payload=b''))
"""

from __future__ import annotations

from dataclasses import dataclass

import construct as c

from .crc import crc16
from .errors import ErrorCode, LocalProtocolError, RemoteProtocolError
from .messages import MAX_PAYLOAD

__all__ = [
    "STX",
    "HEADER_SIZE",
    "OVERHEAD",
    "MAX_FRAME_SIZE",
    "FRAME",
    "Frame",
    "FrameDiscarded",
    "encode_frame",
    "length_checksum",
    "FrameDecoder",
    "INTERBYTE_TIMEOUT",
]

STX = 0x02
HEADER_SIZE = 4  # STX, LEN, LCS
OVERHEAD = HEADER_SIZE + 2 + 2  # + SEQ, TYPE + CRC
MAX_FRAME_SIZE = MAX_PAYLOAD + OVERHEAD
MAX_LEN = MAX_PAYLOAD + 2
INTERBYTE_TIMEOUT = 0.2  # seconds of silence that end a partial frame


def length_checksum(length: int) -> int:
    return -((length >> 8) + (length & 0xFF)) & 0xFF


FRAME = c.Struct(
    "stx" / c.Const(b"\x02"),
    "body"
    / c.RawCopy(
        c.Struct(
            "length" / c.Rebuild(c.Int16ub, c.len_(c.this.payload) + 2),
            "lcs" / c.Rebuild(c.Int8ub, lambda ctx: length_checksum(ctx.length)),
            "seq" / c.Int8ub,
            "type" / c.Int8ub,
            "payload" / c.Bytes(c.this.length - 2),
        )
    ),
    "crc" / c.Checksum(c.Int16ub, crc16, c.this.body.data),
)
"""The frame as one construct declaration (the protocol document is generated from it)."""

_HEADER = c.Struct("stx" / c.Const(b"\x02"), "length" / c.Int16ub, "lcs" / c.Int8ub).compile()
_BODY_AND_CRC = c.Struct("seq" / c.Int8ub, "type" / c.Int8ub, "payload" / c.GreedyBytes).compile()


@dataclass(frozen=True)
class Frame:
    seq: int
    type: int
    payload: bytes


@dataclass(frozen=True)
class FrameDiscarded:
    """Bytes that were not a frame: noise, a bad header, a bad CRC, a truncated frame.

    ``header_ok`` is true for a frame whose header was sound but whose CRC failed: the link
    answers those with NAK."""

    error: RemoteProtocolError
    size: int
    header_ok: bool = False
    seq: int | None = None


def encode_frame(frame: Frame) -> bytes:
    """The frame's bytes on the wire."""
    if not 0 <= frame.seq <= 0xFF or not 0 <= frame.type <= 0xFF:
        raise LocalProtocolError("seq and type are one byte each", error_code=ErrorCode.BAD_FRAME)
    if len(frame.payload) > MAX_PAYLOAD:
        raise LocalProtocolError(
            f"payload of {len(frame.payload)} bytes is over {MAX_PAYLOAD}",
            error_code=ErrorCode.MESSAGE_TOO_LONG,
        )
    length = len(frame.payload) + 2
    body = bytes((length >> 8, length & 0xFF, length_checksum(length), frame.seq, frame.type))
    body += frame.payload
    crc = crc16(body)
    return b"\x02" + body + bytes((crc >> 8, crc & 0xFF))


def _noise(size: int) -> FrameDiscarded:
    return FrameDiscarded(
        RemoteProtocolError(
            f"{size} byte{'s' if size > 1 else ''} of noise", error_code=ErrorCode.BAD_FRAME
        ),
        size,
    )


FrameEvent = Frame | FrameDiscarded


class FrameDecoder:
    """Bytes in, frames out; never raises on input, never holds more than one frame's bytes.

    Noise before a frame, a header whose LCS fails and a frame whose CRC fails are reported as
    :class:`FrameDiscarded` and scanning resumes at the next byte, so a frame hidden behind a
    false start is still found. A partial frame followed by INTERBYTE_TIMEOUT of silence is
    truncated: it is discarded and the bytes after its STX are scanned again.
    """

    def __init__(self, interbyte_timeout: float = INTERBYTE_TIMEOUT) -> None:
        self._buffer = bytearray()
        self._last_byte_at = 0.0
        self._interbyte_timeout = interbyte_timeout

    @property
    def buffered(self) -> int:
        return len(self._buffer)

    def deadline(self) -> float | None:
        """When the partial frame held now counts as truncated; None when nothing is held."""
        return self._last_byte_at + self._interbyte_timeout if self._buffer else None

    def feed(self, data: bytes, now: float) -> list[FrameEvent]:
        events = self.expire(now) if self._buffer else []
        if data:
            self._buffer += data
            self._last_byte_at = now
            self._scan(events, flush=False)
        return events

    def expire(self, now: float) -> list[FrameEvent]:
        """Discard a partial frame that has waited past the inter-byte timeout."""
        events: list[FrameEvent] = []
        deadline = self.deadline()
        if deadline is not None and now >= deadline:
            self._scan(events, flush=True)
        return events

    def _scan(self, events: list[FrameEvent], *, flush: bool) -> None:
        buf = self._buffer
        noise = 0
        while buf:
            start = buf.find(b"\x02")
            if start < 0:
                noise += len(buf)
                buf.clear()
                break
            if start:
                noise += start
                del buf[:start]
            if len(buf) < HEADER_SIZE:
                if not flush:
                    break
                noise += 1
                del buf[:1]
                continue
            length = (buf[1] << 8) | buf[2]
            if not 2 <= length <= MAX_LEN or length_checksum(length) != buf[3]:
                noise += 1
                del buf[:1]
                continue
            total = HEADER_SIZE + length + 2
            if len(buf) < total:
                if not flush:
                    break
                if noise:
                    events.append(_noise(noise))
                    noise = 0
                events.append(
                    FrameDiscarded(
                        RemoteProtocolError(
                            f"frame truncated after {len(buf)} of {total} bytes",
                            error_code=ErrorCode.BAD_FRAME,
                        ),
                        1,
                    )
                )
                del buf[:1]
                continue
            if noise:
                events.append(_noise(noise))
                noise = 0
            expected = (buf[total - 2] << 8) | buf[total - 1]
            if crc16(buf[1 : total - 2]) != expected:
                events.append(
                    FrameDiscarded(
                        RemoteProtocolError("bad CRC", error_code=ErrorCode.BAD_FRAME),
                        1,
                        header_ok=True,
                        seq=buf[4],
                    )
                )
                del buf[:1]
                continue
            events.append(Frame(buf[4], buf[5], bytes(buf[6 : total - 2])))
            del buf[:total]
        if noise:
            events.append(_noise(noise))
