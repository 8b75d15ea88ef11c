"""ISO 8583 messages of the acquirer leg in and out, with no I/O: the 2-byte length header,
encoding and decoding through pyiso8583 with the stock spec, the checks of :mod:`.spec`, the
place of the MAC, and the composite fields (DE 48 subelements, DE 54 amounts, DE 55 ICC data,
DE 90 original data).

>>> raw = encode({"t": "0800", "7": "1126010203", "11": "000001", "41": "POSSIM01", "70": "301"})
>>> raw[:4], raw[-16:]  # the MAC field is last and zero until sealed
(b'0800', b'0000000000000000')
>>> doc = decode(seal(raw, bytes(range(8))))
>>> doc["70"], doc["128"]
('301', '0001020304050607')
>>> LengthPrefixedDecoder().feed(frame(b"0800") + frame(b"08")[:1])
[b'0800']
"""

from __future__ import annotations

from collections.abc import Callable

import iso8583

from ..errors import RemoteProtocolError
from ..tlv import decode_tlv, encode_tlv, flatten
from .spec import ARQC_DATA, MESSAGES, SPEC, SUBELEMENTS

__all__ = [
    "AcquirerFormatError",
    "HEADER_SIZE",
    "MAX_MESSAGE",
    "LengthPrefixedDecoder",
    "frame",
    "encode",
    "decode",
    "check",
    "mac_field",
    "mac_input",
    "seal",
    "encode_sealed",
    "ascii_digits",
    "mac_matches",
    "private",
    "parse_private",
    "amount_block",
    "parse_amounts",
    "icc_request",
    "parse_icc_request",
    "icc_response",
    "parse_icc_response",
    "original_data",
    "parse_original_data",
    "redact",
]

HEADER_SIZE = 2  # big-endian length of the message that follows
MAX_MESSAGE = 4096  # longer is refused: the longest possim sends is under 700
MAC_SIZE = 16  # hex digits of the 8-byte MAC


class AcquirerFormatError(ValueError):
    """A message that does not parse or breaks :mod:`.spec`. ``mti`` is the message type when
    it could be read (the host then answers with response code 30), else ""."""

    def __init__(self, text: str, mti: str = "", field: int | None = None) -> None:
        super().__init__(text)
        self.mti = mti
        self.field = field


def frame(message: bytes) -> bytes:
    """The message behind its 2-byte length header."""
    if len(message) > MAX_MESSAGE:
        raise AcquirerFormatError(f"a message is at most {MAX_MESSAGE} bytes")
    return len(message).to_bytes(HEADER_SIZE, "big") + message


class LengthPrefixedDecoder:
    """Bytes from the connection in, whole messages out. A length of 0 or over
    :data:`MAX_MESSAGE` raises AcquirerFormatError: the stream cannot be resynchronised, so
    the connection is closed."""

    def __init__(self) -> None:
        self._buffer = bytearray()

    def feed(self, data: bytes) -> list[bytes]:
        self._buffer += data
        messages = []
        while len(self._buffer) >= HEADER_SIZE:
            length = int.from_bytes(self._buffer[:HEADER_SIZE], "big")
            if not 0 < length <= MAX_MESSAGE:
                raise AcquirerFormatError(f"a length header of {length}")
            if len(self._buffer) < HEADER_SIZE + length:
                break
            messages.append(bytes(self._buffer[HEADER_SIZE : HEADER_SIZE + length]))
            del self._buffer[: HEADER_SIZE + length]
        return messages

    @property
    def pending(self) -> int:
        """Bytes of a message not yet complete."""
        return len(self._buffer)


def mac_field(doc: dict[str, str]) -> str:
    """DE 64, or DE 128 when a field past 64 needs the secondary bitmap."""
    return "128" if any(k.isdigit() and 64 < int(k) < 128 for k in doc) else "64"


def encode(doc: dict[str, str]) -> bytes:
    """The message with a zero MAC as its last field, ready for :func:`seal`."""
    doc = {k: v for k, v in doc.items() if k not in ("p", "1", "64", "128")}
    doc[mac_field(doc)] = "0" * MAC_SIZE
    try:
        raw, _ = iso8583.encode(doc, SPEC)
    except iso8583.EncodeError as e:
        raise AcquirerFormatError(f"cannot encode: {e}", doc.get("t", "")) from None
    return bytes(raw)


def mac_input(raw: bytes) -> bytes:
    """What the MAC covers: the message as sent, up to the MAC's value (the last field)."""
    return raw[:-MAC_SIZE]


def seal(raw: bytes, mac: bytes) -> bytes:
    """The message with ``mac`` (8 bytes) in its MAC field."""
    return raw[:-MAC_SIZE] + mac.hex().upper().encode()


def encode_sealed(doc: dict[str, str], mac: Callable[[bytes], bytes]) -> bytes:
    """The message with its MAC: ``mac`` (the key store's) over :func:`mac_input`."""
    raw = encode(doc)
    return seal(raw, mac(mac_input(raw)))


def mac_matches(raw: bytes, doc: dict[str, str], verify: Callable[[bytes, bytes], bool]) -> bool:
    """Whether the MAC field of ``raw`` (decoded as ``doc``) is right, by ``verify`` (the key
    store's constant-time check); False when the field is not hex."""
    try:
        received = bytes.fromhex(doc[mac_field(doc)])
    except (KeyError, ValueError):
        return False
    return verify(mac_input(raw), received)


def decode(raw: bytes) -> dict[str, str]:
    """The fields of a message, by number as strings ("t" the MTI); AcquirerFormatError if
    it does not parse or breaks :func:`check`."""
    mti = raw[:4].decode("ascii") if len(raw) >= 4 and raw[:4].isdigit() else ""
    try:
        doc, _ = iso8583.decode(raw, SPEC)
    except iso8583.DecodeError as e:
        raise AcquirerFormatError(f"does not parse: {e}", mti) from None
    except Exception as e:  # noqa: BLE001 - pyiso8583 4.0.1 raises KeyError on a bitmap
        # naming field 129 (found by scripts/fuzz_parsers.py), and may raise others: all are
        # a message that does not parse
        raise AcquirerFormatError(f"does not parse: {type(e).__name__}", mti) from None
    fields = {str(k): str(v) for k, v in doc.items() if k not in ("p", "1", "h")}
    check(fields)
    return fields


def check(doc: dict[str, str]) -> None:
    """The MTI is one of :data:`MESSAGES` (or a repeat of one), its mandatory fields are
    there, and its MAC field is last."""
    mti = doc.get("t", "")
    if len(mti) != 4 or not ascii_digits(mti):
        raise AcquirerFormatError(f"message type {mti!r} is not four digits")
    spec = MESSAGES.get(mti[:3] + "0" if mti[3:] == "1" else mti)
    if spec is None:
        raise AcquirerFormatError(f"message type {mti!r} is not used here", mti)
    for use in spec.fields:
        if use.presence == "M" and use.field not in (64, 128) and str(use.field) not in doc:
            raise AcquirerFormatError(f"{mti} without DE {use.field}", mti, use.field)
    numbers = [int(k) for k in doc if k.isdigit()]
    if mac_field(doc) not in doc or max(numbers, default=0) != int(mac_field(doc)):
        raise AcquirerFormatError(f"{mti}: no MAC as the last field", mti, 64)


def ascii_digits(text: str) -> bool:
    """ASCII digits only (str.isdigit also takes superscripts and other scripts' digits)."""
    return text.isascii() and text.isdigit()


# --- DE 48: possim's subelements, tag (2) length (3 digits) value ------------------------


def private(**subelements: str) -> str:
    """DE 48 from subelements (:data:`SUBELEMENTS`); empty values are left out.

    >>> private(TK="1", OR="", PA="1")
    'TK0011PA0011'
    """
    out = []
    for tag, value in subelements.items():
        if tag not in SUBELEMENTS:
            raise ValueError(f"DE 48 has no subelement {tag}")
        if value:
            out.append(f"{tag}{len(value):03d}{value}")
    return "".join(out)


def parse_private(text: str) -> dict[str, str]:
    """The subelements of DE 48; AcquirerFormatError if the layout is broken."""
    out: dict[str, str] = {}
    pos = 0
    while pos < len(text):
        tag, length = text[pos : pos + 2], text[pos + 2 : pos + 5]
        if len(length) != 3 or not ascii_digits(length) or pos + 5 + int(length) > len(text):
            raise AcquirerFormatError(f"DE 48 is broken at position {pos}", field=48)
        out[tag] = text[pos + 5 : pos + 5 + int(length)]
        pos += 5 + int(length)
    return out


# --- DE 54: additional amounts, blocks of 20 ----------------------------------------------


def amount_block(amount_type: str, currency_numeric: int, amount: int) -> str:
    """One block of DE 54: account type 00, amount type, currency, C, 12 digits.

    >>> amount_block("44", 978, 250)
    '0044978C000000000250'
    """
    return f"00{amount_type}{currency_numeric:03d}C{amount:012d}"


def parse_amounts(text: str) -> dict[str, int]:
    """Amount type -> amount (a D block negative)."""
    if len(text) % 20:
        raise AcquirerFormatError("DE 54 is not blocks of 20", field=54)
    out = {}
    for pos in range(0, len(text), 20):
        block = text[pos : pos + 20]
        if block[7] not in "CD" or not ascii_digits(block[8:]):
            raise AcquirerFormatError("DE 54 block is broken", field=54)
        out[block[2:4]] = int(block[8:]) * (1 if block[7] == "C" else -1)
    return out


# --- DE 55: ICC data ---------------------------------------------------------------------

Layout = tuple[tuple[int, int], ...]


def icc_request(data: bytes, arqc: bytes, layout: Layout = ARQC_DATA) -> str:
    """DE 55 of a request: each element of ``layout`` (:data:`ARQC_DATA` for a contact card;
    ``data`` is their values in that order, as the card's CDOL1 and AIP and ATC gave them)
    and the ARQC (9F26)."""
    size = sum(n for _, n in layout)
    if len(data) != size:
        raise ValueError(f"the ARQC's data is {size} bytes, not {len(data)}")
    items, pos = [], 0
    for tag, size in layout:
        items.append((tag, data[pos : pos + size]))
        pos += size
    items.append((0x9F26, arqc))
    return encode_tlv(items).hex().upper()  # type: ignore[arg-type]


def parse_icc_request(text: str, layout: Layout = ARQC_DATA) -> tuple[bytes, bytes, bytes]:
    """(ATC, the ARQC's data rebuilt in ``layout`` order, ARQC) from DE 55."""
    tags = _icc_tags(text)
    try:
        data = b"".join(tags[tag] for tag, _ in layout)
        return tags[0x9F36], data, tags[0x9F26]
    except KeyError as e:
        raise AcquirerFormatError(f"DE 55 without tag {e.args[0]:X}", field=55) from None


def icc_response(arpc: bytes, response_code: str, scripts: bytes = b"") -> str:
    """DE 55 of an answer: 91, issuer authentication data (ARPC method 1 then the ARC),
    then the issuer's scripts (templates 71 and 72, as they are)."""
    return (encode_tlv([(0x91, arpc + response_code.encode())]) + scripts).hex().upper()


def parse_icc_response(text: str) -> tuple[bytes, bytes]:
    """The ARPC (empty if absent) and the issuer scripts (templates 71 and 72, re-encoded)
    from DE 55 of an answer."""
    try:
        items = decode_tlv(bytes.fromhex(text))
    except (ValueError, RemoteProtocolError) as e:
        raise AcquirerFormatError(f"DE 55 is not BER-TLV in hex: {e}", field=55) from None
    arpc = flatten(items).get(0x91, b"")[:8]
    scripts = encode_tlv([item for item in items if item[0] in (0x71, 0x72)])
    return arpc, scripts


def _icc_tags(text: str) -> dict[int, bytes]:
    try:
        return flatten(decode_tlv(bytes.fromhex(text)))
    except (ValueError, RemoteProtocolError) as e:  # not hex, or not BER-TLV
        raise AcquirerFormatError(f"DE 55 is not BER-TLV in hex: {e}", field=55) from None


# --- DE 90: original data elements -------------------------------------------------------


def original_data(mti: str, stan: str, transmitted: str) -> str:
    """DE 90: the original's MTI (4), STAN (6), DE 7 (10), then 22 zeros.

    >>> len(original_data("0200", "000042", "1126010203"))
    42
    """
    return f"{mti}{stan}{transmitted}" + "0" * 22


def parse_original_data(text: str) -> tuple[str, str, str]:
    if len(text) != 42 or not ascii_digits(text):
        raise AcquirerFormatError("DE 90 is not 42 digits", field=90)
    return text[:4], text[4:10], text[10:20]


# --- traces ------------------------------------------------------------------------------


def _mask_digits(text: str) -> str:
    """The first six and last four digits of a PAN kept, the rest starred."""
    return (
        text[:6] + "*" * max(0, len(text) - 10) + text[-4:] if len(text) > 10 else "*" * len(text)
    )


def redact(raw: bytes) -> bytes:
    """The message as it may be shown or kept in a trace: the PAN (DE 2) and track 2 (DE 35)
    masked, the expiry (DE 14) starred, the PIN block (DE 52, DE 48 PB) zeroed. A message that
    does not parse is kept as its MTI alone: what else it holds cannot be told.

    >>> doc = {"t": "0200", "2": "4761739001010010", "14": "2712", "52": "1A2B3C4D5E6F7081"}
    >>> iso8583.decode(redact(encode(doc)), SPEC)[0]["2"]
    '476173******0010'
    """
    try:
        doc, _ = iso8583.decode(raw, SPEC)
        fields = {str(k): str(v) for k, v in doc.items() if k not in ("p", "1", "h")}
        if "2" in fields:
            fields["2"] = _mask_digits(fields["2"])
        if "14" in fields:
            fields["14"] = "****"
        if "35" in fields:
            pan, sep, rest = fields["35"].replace("=", "D").partition("D")
            fields["35"] = _mask_digits(pan) + sep + "*" * len(rest)
        if "52" in fields:
            fields["52"] = "0" * len(fields["52"])
        if "48" in fields:
            sub = parse_private(fields["48"])
            if "PB" in sub:
                sub["PB"] = "0" * len(sub["PB"])
            fields["48"] = "".join(f"{t}{len(v):03d}{v}" for t, v in sub.items())
        masked, _ = iso8583.encode(fields, SPEC)
        return bytes(masked)
    except Exception:  # noqa: BLE001 - whatever breaks, nothing of the message is kept
        return raw[:4] if raw[:4].isdigit() else b""
