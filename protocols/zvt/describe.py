"""ZVT APDUs as traces show them: the command by name, each BMP by name and value, card
data masked (the PAN keeps its first six and last four digits, track data none), so that a
trace of a ZVT session can be shared like one of possim's own protocol.

>>> describe_apdu(bytes.fromhex("06010A0400000000123449 0978".replace(" ", "")))
'AUTHORIZATION 04=1234 49=978'
>>> describe_apdu(bytes.fromhex("848300"))
'84 83 (negative acknowledgement: function not possible)'
>>> redact_zvt_apdu(bytes.fromhex("06010B 22F0F8 4761739001010010")).hex().upper()
'06010B22F0F8476173EEEEEE0010'
"""

from __future__ import annotations

from .apdu import Apdu, ZvtFormatError, encode_apdu
from .bmp import Bmp, bmp_name, decode_bmps, encode_bmps
from .codes import (
    INTERMEDIATE_STATUS,
    PASSWORD_FIRST,
    PASSWORD_OPTIONAL,
    RESULT_CODES,
    Command,
    registration_fields,
)

__all__ = ["describe_apdu", "apdu_field_lines", "redact_zvt_apdu"]

_TRACKS = {0x23, 0x24, 0x2D}


def _split(apdu: Apdu) -> tuple[bytes, bytes]:
    """(what comes before the BMPs, the BMPs) of a command's data."""
    data = apdu.data
    try:
        command = Command(apdu.command)
    except ValueError:
        return data, b""
    if command is Command.REGISTRATION:
        password, config, currency, bmps = registration_fields(data)
        return data[: len(data) - len(bmps)], bmps
    if command in PASSWORD_FIRST:
        return data[:3], data[3:]
    if command in PASSWORD_OPTIONAL:
        try:
            decode_bmps(data)
            return b"", data
        except ZvtFormatError:
            return data[:3], data[3:]
    if command in (Command.ABORT, Command.INTERMEDIATE_STATUS):
        return data[:1], data[1:] if command is Command.ABORT else b""
    if command is Command.PRINT_LINE:
        return data, b""
    return b"", data


def _masked(tag: int, value: object) -> object:
    if tag == 0x22 and isinstance(value, bytes):
        digits = value.hex().upper().rstrip("F")
        shown = digits[:6] + "E" * max(0, len(digits) - 10) + digits[-4:]
        shown = shown[: len(digits)]
        return bytes.fromhex(shown + ("F" if len(shown) % 2 else ""))
    if tag in _TRACKS and isinstance(value, bytes):
        return b"\xee" * len(value)
    return value


def redact_zvt_apdu(raw: bytes) -> bytes:
    """The APDU with its card data masked; anything that does not decode, zeroed past the
    control field and length (a trace never holds bytes it cannot vouch for)."""
    try:
        apdu = Apdu.decode(raw)
        head, body = _split(apdu)
        bmps = [(t, _masked(t, v)) for t, v in decode_bmps(body)] if body else []
    except ZvtFormatError:
        return raw[:3] + bytes(max(0, len(raw) - 3))
    if apdu.command in {int(c) for c in PASSWORD_FIRST | PASSWORD_OPTIONAL} and len(head) >= 3:
        head = bytes(3) + head[3:]  # the password is never shown
    return encode_apdu(apdu.cls, apdu.instr, head + encode_bmps(bmps))


def _value_text(value: object) -> str:
    return value.hex().upper() if isinstance(value, bytes) else str(value)


def describe_apdu(raw: bytes) -> str:
    """One line: the command and its BMPs, or the acknowledgement."""
    try:
        apdu = Apdu.decode(raw)
    except ZvtFormatError as e:
        return f"undecodable ZVT bytes ({e})"
    if apdu.cls == 0x80:
        return "80 00 (acknowledgement)"
    if apdu.cls == 0x84:
        return (
            f"84 {apdu.instr:02X} (negative acknowledgement: {RESULT_CODES.get(apdu.instr, '?')})"
        )
    try:
        name = Command(apdu.command).name
    except ValueError:
        return f"{apdu.cls:02X} {apdu.instr:02X} (not a command possim knows)"
    head, body = _split(apdu)
    parts = [name]
    if apdu.command == Command.INTERMEDIATE_STATUS and head:
        parts.append(INTERMEDIATE_STATUS.get(head[0], f"status {head[0]:02X}"))
    if apdu.command == Command.ABORT and head:
        parts.append(f"result {head[0]:02X} {RESULT_CODES.get(head[0], '(authorisation system)')}")
    try:
        parts += [f"{t:02X}={_value_text(_masked(t, v))}"[:40] for t, v in decode_bmps(body)]
    except ZvtFormatError:
        parts.append("(BMPs do not decode)")
    return " ".join(parts)


def apdu_field_lines(raw: bytes) -> list[str]:
    """Field by field: control field, length, then each BMP with its name."""
    try:
        apdu = Apdu.decode(raw)
    except ZvtFormatError as e:
        return [f"undecodable: {e}"]
    lines = [f"CLASS={apdu.cls:02X} INSTR={apdu.instr:02X} LEN={len(apdu.data)}"]
    head, body = _split(apdu)
    if head:
        lines.append(f"head={head.hex().upper()}")
    try:
        bmps: list[Bmp] = decode_bmps(body)
    except ZvtFormatError as e:
        return [*lines, f"BMPs: {e}"]
    lines += [f"BMP {t:02X} {bmp_name(t)} = {_value_text(_masked(t, v))}" for t, v in bmps]
    return lines
