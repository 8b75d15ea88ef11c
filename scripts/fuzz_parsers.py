"""Coverage-guided fuzzing (atheris, libFuzzer) of every parser that takes bytes from outside:
the frame decoder and the link, every message payload, APDUs, BER-TLV and DOLs, track 2, and
the acquirer leg's ISO 8583 (the length decoder, the message decoder with its checks and
composite fields, and the host's handling of a message on an in-memory ledger), and ZVT (the
APDU, BMP and serial decoders, the trace's description and redaction, and the terminal's ZVT
personality in front of a live terminal core).
Any exception other than the documented ones is a finding.

    python scripts/fuzz_parsers.py -max_total_time=120      # libFuzzer options pass through

Needs the ``fuzz`` extra: pip install -e '.[fuzz]'.
"""

from __future__ import annotations

import sys

import atheris

with atheris.instrument_imports():
    from firmware_sim.cardholder import drain_addressed
    from firmware_sim.host import HostLedger
    from firmware_sim.testing import make_core
    from firmware_sim.zvt import ZvtLink
    from keys.link_keys import MemoryVault, TerminalPairings
    from keys.pairing import LongTermKey
    from protocols.acquirer.codec import (
        AcquirerFormatError,
        LengthPrefixedDecoder,
        decode,
        parse_amounts,
        parse_icc_request,
        parse_private,
    )
    from protocols.acquirer.spec import SPEC
    from protocols.apdu import CommandApdu, ResponseApdu
    from protocols.codes import PAIRING_TYPES
    from protocols.errors import RemoteProtocolError
    from protocols.frame import Frame, FrameDecoder, FrameDiscarded, encode_frame
    from protocols.link import Link, LinkGuard, MessageReceived
    from protocols.messages import MESSAGE_CLASSES, decode_payload, encode_payload
    from protocols.tlv import decode_tlv, parse_dol
    from protocols.track2 import Track2
    from protocols.zvt.apdu import Apdu, ApduStream, ZvtFormatError
    from protocols.zvt.bmp import decode_bmps
    from protocols.zvt.describe import apdu_field_lines, describe_apdu, redact_zvt_apdu
    from protocols.zvt.serial import SerialTransport

import iso8583  # noqa: E402

HOST = HostLedger(":memory:")
PAIRINGS = TerminalPairings(MemoryVault(), clock=lambda: 1)
PAIRINGS.add(LongTermKey(bytes(8), bytes(range(32))), "fuzz", now=0)

TYPES = sorted(MESSAGE_CLASSES)
CORE = make_core()  # one terminal for the whole run: its state carries from input to input
ZVT = {False: ZvtLink(serial=False), True: ZvtLink(serial=True)}
CLOCK = [0.0]


def one_input(data: bytes) -> None:
    if not data:
        return
    target, body = data[0] % 10, data[1:]
    if target == 0:
        decoder = FrameDecoder()
        events = decoder.feed(body, 0.0) + decoder.expire(1.0)
        for event in events:
            assert isinstance(event, (Frame, FrameDiscarded))
            if isinstance(event, Frame):
                assert encode_frame(event) in body
        assert decoder.buffered == 0
    elif target == 1:  # a plain link, and a paired terminal's that requires pairing
        paired = bool(body) and body[0] & 1
        guard = LinkGuard(PAIRINGS, "terminal", required=True, open_types=PAIRING_TYPES)
        link = Link(session=b"FUZZ", guard=guard if paired else None)
        link.receive_data(body, 0.0)
        link.tick(5.0)
        for event in link.events():  # without the key, nothing authenticated gets through
            assert not (paired and isinstance(event, MessageReceived) and event.authenticated)
        link.data_to_send()
    elif target == 2 and body:
        try:
            message = decode_payload(TYPES[body[0] % len(TYPES)], body[1:])
        except RemoteProtocolError:
            return
        assert encode_payload(message) == body[1:]
    elif target == 3:
        for parse in (CommandApdu.decode, ResponseApdu.decode):
            try:
                parse(body)
            except RemoteProtocolError:
                pass
    elif target == 4:
        for parse in (decode_tlv, parse_dol):
            try:
                parse(body)
            except RemoteProtocolError:
                pass
    elif target == 5:
        try:
            Track2.decode(body)
        except RemoteProtocolError:
            pass
    elif target == 6:
        try:
            LengthPrefixedDecoder().feed(body)
        except AcquirerFormatError:
            pass
        text = body.decode("latin-1")
        for parse in (decode, parse_private, parse_amounts, parse_icc_request):
            try:
                parse(body if parse is decode else text)  # type: ignore[operator]
            except AcquirerFormatError:
                pass
    elif target == 8:  # ZVT decoders: a value or ZvtFormatError; traces never raise
        for parse in (Apdu.decode, decode_bmps):
            try:
                parse(body)  # type: ignore[operator]
            except ZvtFormatError:
                pass
        stream = ApduStream()
        stream.feed(body)
        for raw in stream.apdus():
            describe_apdu(raw)
            apdu_field_lines(raw)
            assert len(redact_zvt_apdu(raw)) >= 3
        serial_line = SerialTransport()
        serial_line.receive_data(body, 0.0)
        serial_line.tick(10.0)
        serial_line.events()
    elif target == 9:  # the ZVT personality and the terminal behind it never raise
        link = ZVT[bool(body) and bool(body[0] & 1)]
        CLOCK[0] += 1.0
        now = CLOCK[0]
        link.receive_data(body[1:], now)
        link.tick(now + 0.5)
        for event in link.events():
            CORE.handle_message(event.message, now, event.session)
        for origin, message in drain_addressed(CORE, None, now):
            link.send(message, now, origin if isinstance(origin, bytes) else None)
        CORE.tick(now)
        link.data_to_send()
    else:  # the host never raises, and answers what has an MTI
        with HOST.transaction():
            answer = HOST.handle(body, 1.7e9)
        # an answer to noise is a refusal: 30, or 94/96 (a MAC cannot be guessed into 00)
        assert answer is None or iso8583.decode(answer, SPEC)[0]["39"] in ("30", "94", "96")


def main() -> None:
    atheris.Setup(sys.argv, one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
