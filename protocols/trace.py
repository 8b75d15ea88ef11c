"""Traces: what crossed each line, as JSON lines, and a protocol-analyser reading of them.

A record is one of: bytes a side wrote or read on the host link (``kind`` "bytes"), an APDU
and its response between terminal and card ("apdu"), an authorization between terminal and
authorizer ("authorization"), an ISO 8583 message between terminal and acquirer host
("iso8583", kept masked). Both the terminal (``possim terminal --trace FILE``) and the
driver (``Terminal(..., trace=FILE)``) write them; ``possim trace FILE`` prints them annotated,
with a message-sequence view across host, terminal, card and authorizer.

>>> from protocols.frame import Frame, encode_frame
>>> wire = encode_frame(Frame(1, 0x20, bytes.fromhex("1C0A0119 0005")))
>>> line = record_line(TraceRecord(1.5e9, "host", "bytes", "out", wire.hex()))
>>> annotate([parse_line(line)])[0]
'     0.000  host ───── seq=01 INFO_REQUEST tag=1C0A0119 request_id=5 ───▶ terminal'
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import IntEnum, IntFlag
from typing import Any

from .acquirer.describe import field_lines as iso_field_lines
from .acquirer.describe import summary as iso_summary
from .apdu import CommandApdu, Ins, ResponseApdu
from .codes import PROTOCOL_VERSION, MessageType, enum_name
from .emv_tags import tag_name
from .errors import RemoteProtocolError
from .exchanges import describe
from .frame import Frame, FrameDecoder, FrameDiscarded, encode_frame
from .link import RESET_SIZE, TAG_SIZE
from .link_auth import AUTH_RESET_SIZE, data_parts
from .messages import (
    MESSAGE_CLASSES,
    SECRET_FIELDS,
    PinBlockRequest,
    PinBlockResponse,
    decode_payload,
)
from .tlv import Tlv, decode_tlv
from .zvt.describe import apdu_field_lines, describe_apdu

__all__ = [
    "TraceRecord",
    "record_line",
    "parse_line",
    "annotate",
    "frame_fields",
    "apdu_fields",
    "redact_frame",
    "WireRecorder",
]

PARTIES = ("host", "terminal", "card", "authorizer")


@dataclass(frozen=True)
class TraceRecord:
    time: float
    side: str  # who recorded it: host or terminal
    kind: str  # bytes, apdu, authorization
    direction: str  # out (written by ``side``) or in (read by it)
    hex: str  # bytes: the bytes; apdu: the command; authorization: empty
    response: str = ""  # apdu: the response; authorization: the outcome
    note: str = ""


def record_line(record: TraceRecord) -> str:
    return json.dumps(record.__dict__, separators=(",", ":"))


def parse_line(line: str) -> TraceRecord:
    data: dict[str, Any] = json.loads(line)
    return TraceRecord(**data)


def redact_frame(frame: Frame) -> Frame:
    """The frame as a trace or a display may show it: a PIN_BLOCK_REQUEST's PAN masked (first
    six and last four digits kept), a PIN_BLOCK_RESPONSE's encrypted block zeroed, a merchant
    password starred, the CRC made again; every other frame as it is.

    >>> from protocols.messages import PinBlockRequest, encode_payload
    >>> from protocols.codes import PinBlockFormat
    >>> payload = bytes(TAG_SIZE) + encode_payload(PinBlockRequest("4761739001010010", PinBlockFormat.ISO_0))
    >>> b"476173******0010" in redact_frame(Frame(1, MessageType.PIN_BLOCK_REQUEST, payload)).payload
    True
    """
    if frame.type not in _CARRIES_SECRETS:
        return frame
    parts = data_parts(frame.type, frame.payload)
    tag, body, message = parts.tag, parts.body, parts.message
    if message is None:
        return Frame(frame.seq, frame.type, tag)  # cannot tell where the card data is: none kept
    if isinstance(message, PinBlockRequest):
        pan = message.pan.encode()
        masked = pan[:6] + b"*" * (len(pan) - 10) + pan[-4:]
        body = body.replace(pan, masked, 1)
    elif isinstance(message, PinBlockResponse):
        body = body.replace(message.pin_block, bytes(len(message.pin_block)), 1)
    else:  # a merchant password: each one starred, lengths kept
        for name in sorted(SECRET_FIELDS):
            secret = getattr(message, name, "").encode()
            if secret:
                body = body.replace(secret, b"*" * len(secret), 1)
    return Frame(frame.seq, frame.type, parts.join(body))


_CARRIES_SECRETS = frozenset(
    {
        MessageType.PIN_BLOCK_REQUEST,
        MessageType.PIN_BLOCK_RESPONSE,
        MessageType.MERCHANT_LOGIN,
        MessageType.SET_PASSWORD,
    }
)


class WireRecorder:
    """What a trace keeps of one direction of the host link: whole frames, each through
    :func:`redact_frame`, and of bytes that made no frame only how many there were (they may
    be anything). ``feed`` returns, for each, the redacted frame (None for discarded bytes),
    its wire bytes and a note: what a trace records and a display shows.

    >>> from protocols.frame import encode_frame
    >>> WireRecorder().feed(b"junk" + encode_frame(Frame(1, MessageType.ACK, b"TAG1")), 0.0)[0]
    (None, b'', '4 bytes discarded: no frame')
    """

    def __init__(self) -> None:
        self._decoder = FrameDecoder()

    def feed(self, data: bytes, now: float) -> list[tuple[Frame | None, bytes, str]]:
        return [self._item(item) for item in self._decoder.feed(data, now)]

    def expire(self, now: float) -> list[tuple[Frame | None, bytes, str]]:
        return [self._item(item) for item in self._decoder.expire(now)]

    @staticmethod
    def _item(item: Frame | FrameDiscarded) -> tuple[Frame | None, bytes, str]:
        if isinstance(item, Frame):
            shown = redact_frame(item)
            return shown, encode_frame(shown), ""
        return None, b"", f"{item.size} bytes discarded: no frame"


def frame_fields(frame: Frame) -> list[tuple[str, str, str]]:
    """(field, hex, meaning) for one frame, header to CRC, payload field by field."""
    length = len(frame.payload) + 2
    try:
        name = MessageType(frame.type).name
    except ValueError:
        name = "unknown"
    rows = [
        ("STX", "02", "start of frame"),
        ("LEN", f"{length:04X}", f"{length} bytes of SEQ, TYPE and payload"),
        ("LCS", f"{-((length >> 8) + (length & 0xFF)) & 0xFF:02X}", "length checksum"),
        ("SEQ", f"{frame.seq:02X}", f"sequence number {frame.seq}"),
        ("TYPE", f"{frame.type:02X}", name),
    ]
    cls = MESSAGE_CLASSES.get(frame.type)  # type: ignore[call-overload]
    payload = frame.payload
    if frame.type == MessageType.LINK_RESET:
        if len(payload) in (RESET_SIZE, AUTH_RESET_SIZE):
            rows.append(("version", f"{payload[0]:02X}", f"protocol version {payload[0]}"))
            rows.append(("session", payload[1:5].hex().upper(), "the sender's session id"))
            rows.append(("peer", payload[5:9].hex().upper(), "the peer's, as the sender knows it"))
        if len(payload) == AUTH_RESET_SIZE:
            rows.append(("pairing", payload[9:17].hex().upper(), "the pairing's id"))
            counter = int.from_bytes(payload[17:25], "big")
            rows.append(("counter", payload[17:25].hex().upper(), f"reset counter {counter}"))
            rows.append(("mac", payload[25:].hex().upper(), "HMAC-SHA256 under the reset key"))
        elif len(payload) != RESET_SIZE:
            rows.append(("payload", payload.hex().upper(), f"rejected: not a version {PROTOCOL_VERSION} reset"))
        return rows
    parts = data_parts(frame.type, payload) if cls is not None else None
    if payload:
        rows.append(("tag", payload[:TAG_SIZE].hex().upper(), "session tag: both ids XORed"))
        payload = payload[TAG_SIZE:] if parts is None else parts.body
    if parts is not None and parts.counter:
        number = int.from_bytes(parts.counter, "big")
        rows.append(("counter", parts.counter.hex().upper(), f"frame counter {number}"))
    if cls is not None:
        try:
            decoded = parts.message if parts is not None else None
            message = decoded if decoded is not None else decode_payload(frame.type, payload)
            values = message._wire_values()
            for sub in cls.SCHEMA.subcons:
                if not sub.name:
                    continue
                raw = sub.build(values[sub.name])
                value = getattr(message, sub.name)
                shown = (
                    value.hex().upper()
                    if isinstance(value, bytes)
                    else enum_name(value)
                    if isinstance(value, (IntEnum, IntFlag))
                    else value
                )
                if sub.name in SECRET_FIELDS:  # a password: neither its bytes nor its text
                    raw, shown = b"", "<hidden>"
                rows.append((sub.name, raw.hex().upper(), str(shown)))
        except RemoteProtocolError as e:
            rows.append(("payload", payload.hex().upper(), f"rejected: {e.error_code.name}"))
    if parts is not None and parts.mac:
        rows.append(("mac", parts.mac.hex().upper(), "HMAC-SHA256 under the session key"))
    return rows


def _tlv_lines(items: list[Tlv], depth: int = 0) -> list[str]:
    out = []
    for tag, value in items:
        name = tag_name(tag)
        label = f"{tag:X} ({name})" if name else f"{tag:X}"
        if isinstance(value, list):
            out.append(f"{'  ' * depth}{label}")
            out += _tlv_lines(value, depth + 1)
        else:
            out.append(f"{'  ' * depth}{label} = {value.hex().upper()}")
    return out


def apdu_fields(command: bytes, response: bytes) -> list[str]:
    """An APDU exchange field by field, the response's TLVs as a tree."""
    lines = []
    try:
        apdu = CommandApdu.decode(command)
        try:
            ins = Ins(apdu.ins).name
        except ValueError:
            ins = f"{apdu.ins:02X}"
        if apdu.ins == Ins.VERIFY and apdu.data:
            apdu = CommandApdu(apdu.cla, apdu.ins, apdu.p1, apdu.p2, bytes(len(apdu.data)), apdu.le)
            ins += " (the PIN block is never shown)"
        lines.append(
            f"CLA={apdu.cla:02X} INS={apdu.ins:02X} ({ins}) P1={apdu.p1:02X} P2={apdu.p2:02X}"
            + (f" Lc={len(apdu.data):02X} data={apdu.data.hex().upper()}" if apdu.data else "")
            + (f" Le={apdu.le:02X}" if apdu.le is not None else "")
        )
        answer = ResponseApdu.decode(response)
        lines.append(f"SW={answer.sw:04X}" + (" (OK)" if answer.ok else ""))
        if answer.data:
            try:
                lines += _tlv_lines(decode_tlv(answer.data))
            except RemoteProtocolError:
                lines.append(f"data={answer.data.hex().upper()}")
    except RemoteProtocolError as e:
        lines.append(f"malformed: {e}")
    return lines


def _arrow(source: str, target: str, label: str, when: float) -> str:
    left, right = sorted((source, target), key=PARTIES.index)
    pointing_right = source == left
    body = f"─── {label} ───"
    arrow = f"──{body}▶" if pointing_right else f"◀{body}──"
    return f"{when:10.3f}  {left} {arrow} {right}"


def annotate(records: list[TraceRecord], *, fields: bool = False) -> list[str]:
    """The message-sequence view; with ``fields`` every frame and APDU decoded field by field.
    Frames are taken from the recording side's outgoing bytes (and incoming bytes recorded by
    a side whose peer did not trace)."""
    sides_out = {r.side for r in records if r.kind == "bytes" and r.direction == "out"}
    decoders: dict[tuple[str, str], FrameDecoder] = {}
    lines: list[str] = []
    start = min((r.time for r in records), default=0.0)
    for record in sorted(records, key=lambda r: r.time):
        if record.kind == "bytes":
            sender = (
                record.side
                if record.direction == "out"
                else ("terminal" if record.side == "host" else "host")
            )
            if record.direction == "in" and sender in sides_out:
                continue  # the sender's own record shows it
            receiver = "terminal" if sender == "host" else "host"
            decoder = decoders.setdefault((sender, receiver), FrameDecoder())
            for item in decoder.feed(bytes.fromhex(record.hex), record.time):
                if not isinstance(item, Frame):
                    lines.append(f"{record.time - start:10.3f}  {sender}: {item.error}")
                    continue
                lines.append(
                    _arrow(sender, receiver, describe(encode_frame(item)), record.time - start)
                )
                if fields:
                    lines += [f"{'':12}{f:<24}{h:<34}{m}" for f, h, m in frame_fields(item)]
        elif record.kind == "apdu":
            command = bytes.fromhex(record.hex)
            try:
                name = Ins(command[1]).name if len(command) > 1 else "?"
            except ValueError:
                name = f"INS {command[1]:02X}"
            response = bytes.fromhex(record.response)
            lines.append(_arrow("terminal", "card", name, record.time - start))
            lines.append(
                _arrow("card", "terminal", f"SW {response[-2:].hex().upper()}", record.time - start)
            )
            if fields:
                lines += [f"{'':12}{line}" for line in apdu_fields(command, response)]
        elif record.kind == "authorization":
            lines.append(_arrow("terminal", "authorizer", record.note, record.time - start))
            lines.append(_arrow("authorizer", "terminal", record.response, record.time - start))
        elif record.kind == "zvt":  # a ZVT cash register, as the terminal read and wrote it
            raw = bytes.fromhex(record.hex)
            ends = ("terminal", "host") if record.direction == "out" else ("host", "terminal")
            lines.append(_arrow(*ends, "ZVT " + describe_apdu(raw), record.time - start))
            if fields:
                lines += [f"{'':12}{line}" for line in apdu_field_lines(raw)]
        elif record.kind == "iso8583":  # the acquirer leg, as the terminal sent and read it
            raw = bytes.fromhex(record.hex)
            ends = (
                ("terminal", "authorizer")
                if record.direction == "out"
                else ("authorizer", "terminal")
            )
            lines.append(_arrow(*ends, iso_summary(raw), record.time - start))
            if fields:
                lines += [f"{'':12}{line}" for line in iso_field_lines(raw)]
    return lines
