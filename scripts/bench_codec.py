"""Codec benchmark: whole frames encoded and decoded per second, for a SALE_REQUEST and a
TRANSACTION_RESULT, by

- possim: the production path (``encode_payload`` + ``encode_frame``; ``FrameDecoder`` +
  ``decode_payload``), giving and taking the same typed dataclasses the link uses;
- construct: the same schemas parsed and built by construct itself (``SCHEMA`` and ``FRAME``),
  plain and ``.compile()``d;
- struct floor: a hand-written ``struct`` encoder/decoder of the same bytes, producing the same
  dataclasses (the floor in Python);
- pyiso8583: building and parsing an equivalent ISO 8583 0200 request / 0210 response.

    python scripts/bench_codec.py [--seconds 0.5]

Needs the ``bench`` extra (pyiso8583): pip install -e '.[bench]'.
"""

from __future__ import annotations

import argparse
import functools
import platform
import struct
import sys
from binascii import crc_hqx
from collections.abc import Callable

import construct
from benchlib import rate

from protocols.codes import EntryMode, MessageType, TransactionKind, TransactionStatus
from protocols.currency import by_alpha, by_numeric
from protocols.exchanges import example_sale_result
from protocols.frame import FRAME, Frame, FrameDecoder, encode_frame
from protocols.messages import SaleRequest, TransactionResult, decode_payload, encode_payload

SALE = SaleRequest("T0001", 1234, "EUR")
RESULT = example_sale_result()


# --- possim production path ---------------------------------------------------------------


def possim_encode(message: SaleRequest | TransactionResult) -> bytes:
    return encode_frame(Frame(1, message.TYPE, encode_payload(message)))


def possim_decode(wire: bytes) -> object:
    (frame,) = FrameDecoder().feed(wire, 0.0)
    assert isinstance(frame, Frame)
    return decode_payload(frame.type, frame.payload)


# --- construct itself ---------------------------------------------------------------------


def construct_codec(compiled: bool) -> tuple[Callable[..., bytes], Callable[[bytes], object]]:
    frame_schema = FRAME.compile() if compiled else FRAME
    schemas = {
        cls.TYPE: (cls.SCHEMA.compile() if compiled else cls.SCHEMA, cls)
        for cls in (SaleRequest, TransactionResult)
    }

    def encode(message: SaleRequest | TransactionResult) -> bytes:
        payload = schemas[message.TYPE][0].build(message.__dict__)
        value = {"seq": 1, "type": message.TYPE, "payload": payload}
        return bytes(frame_schema.build({"body": {"value": value}}))

    def decode(wire: bytes) -> object:
        body = frame_schema.parse(wire).body.value
        schema, cls = schemas[body.type]
        values = schema.parse(body.payload)
        return cls(**{k: values[k] for k in cls._FIELD_NAMES})

    return encode, decode


# --- the hand-written floor ---------------------------------------------------------------

_HEAD = struct.Struct(">BHBBB")


def _frame(message_type: int, payload: bytes) -> bytes:
    length = len(payload) + 2
    body = struct.pack(">HBBB", length, -((length >> 8) + (length & 0xFF)) & 0xFF, 1, message_type)
    body += payload
    return b"\x02" + body + struct.pack(">H", crc_hqx(body, 0xFFFF))


def _text(value: str) -> bytes:
    raw = value.encode("ascii")
    return bytes((len(raw),)) + raw


def _read_text(data: bytes, pos: int) -> tuple[str, int]:
    end = pos + 1 + data[pos]
    if end > len(data):
        raise ValueError("short")
    return data[pos + 1 : end].decode("ascii"), end


def _bcd(value: int, size: int) -> bytes:
    return bytes.fromhex(f"{value:0{size * 2}d}")


def floor_encode(message: SaleRequest | TransactionResult) -> bytes:
    header = struct.pack(">H", message.request_id)
    if isinstance(message, SaleRequest):
        payload = (
            header
            + _text(message.client_transaction_id)
            + _bcd(message.amount, 6)
            + _bcd(by_alpha(message.currency).numeric, 2)
        )
        return _frame(MessageType.SALE_REQUEST, payload)
    m = message
    payload = b"".join(
        (
            header,
            _text(m.client_transaction_id),
            bytes((m.kind, m.status)),
            m.response_code.encode("ascii"),
            _text(m.auth_code),
            _text(m.reference),
            _bcd(m.amount, 6),
            _bcd(by_alpha(m.currency).numeric, 2),
            _text(m.masked_pan),
            bytes((m.entry_mode,)),
            _text(m.original_reference),
            struct.pack(">I", m.time),
        )
    )
    return _frame(MessageType.TRANSACTION_RESULT, payload)


def floor_decode(wire: bytes) -> object:
    stx, length, lcs, seq, message_type = _HEAD.unpack_from(wire)
    end = 4 + length
    if stx != 2 or struct.unpack_from(">H", wire, end)[0] != crc_hqx(wire[1:end], 0xFFFF):
        raise ValueError("bad frame")
    data = wire[6:end]
    (request_id,) = struct.unpack_from(">H", data)
    txn_id, pos = _read_text(data, 2)
    if message_type == MessageType.SALE_REQUEST:
        amount = int(data[pos : pos + 6].hex())
        currency = by_numeric(int(data[pos + 6 : pos + 8].hex())).alpha
        return SaleRequest(txn_id, amount, currency, request_id=request_id)
    kind, status = TransactionKind(data[pos]), TransactionStatus(data[pos + 1])
    response_code = data[pos + 2 : pos + 4].decode("ascii")
    auth_code, pos = _read_text(data, pos + 4)
    reference, pos = _read_text(data, pos)
    amount = int(data[pos : pos + 6].hex())
    currency = by_numeric(int(data[pos + 6 : pos + 8].hex())).alpha
    masked_pan, pos = _read_text(data, pos + 8)
    entry_mode = EntryMode(data[pos])
    original_reference, pos = _read_text(data, pos + 1)
    (when,) = struct.unpack_from(">I", data, pos)
    return TransactionResult(
        txn_id,
        kind,
        status,
        response_code,
        auth_code,
        reference,
        amount,
        currency,
        masked_pan,
        entry_mode,
        original_reference,
        when,
        request_id=request_id,
    )


# --- pyiso8583 ----------------------------------------------------------------------------


def iso8583_codec() -> tuple[
    Callable[..., bytes], Callable[[bytes], object], dict[str, dict[str, str]]
]:
    import iso8583
    from iso8583.specs import default_ascii as spec

    docs = {
        "sale": {
            "t": "0200",
            "3": "000000",
            "4": "000000001234",
            "11": "000001",
            "41": "T0000001",
            "49": "978",
        },
        "result": {
            "t": "0210",
            "3": "000000",
            "4": "000000001234",
            "11": "000001",
            "37": "000000000001",
            "38": "A1B2C3",
            "39": "00",
            "41": "T0000001",
            "49": "978",
        },
    }

    def encode(doc: dict[str, str]) -> bytes:
        raw, _ = iso8583.encode(dict(doc), spec)
        return bytes(raw)

    def decode(raw: bytes) -> object:
        return iso8583.decode(raw, spec)[0]

    return encode, decode, docs


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=0.5, help="time per figure")
    args = parser.parse_args()
    s = args.seconds

    plain_enc, plain_dec = construct_codec(compiled=False)
    comp_enc, comp_dec = construct_codec(compiled=True)
    iso_enc, iso_dec, iso_docs = iso8583_codec()

    print(
        f"python {platform.python_version()}, construct {construct.__version__}, "
        f"{platform.machine()}; frames per second, best of 5"
    )
    header = f"{'message':<20}{'codec':<26}{'encode/s':>12}{'decode/s':>12}{'enc x floor':>13}{'dec x floor':>13}"
    print(header)
    print("-" * len(header))
    for name, message, iso_name in (
        ("SALE_REQUEST", SALE, "sale"),
        ("TRANSACTION_RESULT", RESULT, "result"),
    ):
        wire = possim_encode(message)
        for codec_enc in (floor_encode, plain_enc, comp_enc):
            assert codec_enc(message) == wire, codec_enc
        for codec_dec in (floor_decode, plain_dec, comp_dec):
            assert codec_dec(wire) == message, codec_dec
        iso_doc = iso_docs[iso_name]
        iso_raw = iso_enc(iso_doc)
        codecs = [
            ("struct floor", floor_encode, floor_decode, message, wire),
            ("possim", possim_encode, possim_decode, message, wire),
            ("construct", plain_enc, plain_dec, message, wire),
            ("construct .compile()", comp_enc, comp_dec, message, wire),
            (
                f"pyiso8583 {iso_raw[:4].decode()}/{len(iso_raw)}B",
                iso_enc,
                iso_dec,
                iso_doc,
                iso_raw,
            ),
        ]
        rows = [
            (codec, rate(functools.partial(enc, value), s), rate(functools.partial(dec, raw), s))
            for codec, enc, dec, value, raw in codecs
        ]
        floor_e, floor_d = rows[0][1], rows[0][2]
        for codec, enc, dec in rows:
            print(
                f"{name:<20}{codec:<26}{enc:>12,.0f}{dec:>12,.0f}{floor_e / enc:>13.2f}{floor_d / dec:>13.2f}"
            )
        print(f"{'':<20}(possim frame: {len(wire)} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
