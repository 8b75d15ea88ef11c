"""Coverage-guided fuzzing (atheris, libFuzzer) of every parser that takes bytes from outside:
the frame decoder and the link, every message payload, APDUs, BER-TLV and DOLs, track 2.
Any exception other than the documented ones is a finding.

    python scripts/fuzz_parsers.py -max_total_time=120      # libFuzzer options pass through

Needs the ``fuzz`` extra: pip install -e '.[fuzz]'.
"""

from __future__ import annotations

import sys

import atheris

with atheris.instrument_imports():
    from protocols.apdu import CommandApdu, ResponseApdu
    from protocols.errors import RemoteProtocolError
    from protocols.frame import Frame, FrameDecoder, FrameDiscarded, encode_frame
    from protocols.link import Link
    from protocols.messages import MESSAGE_CLASSES, decode_payload, encode_payload
    from protocols.tlv import decode_tlv, parse_dol
    from protocols.track2 import Track2

TYPES = sorted(MESSAGE_CLASSES)


def one_input(data: bytes) -> None:
    if not data:
        return
    target, body = data[0] % 6, data[1:]
    if target == 0:
        decoder = FrameDecoder()
        events = decoder.feed(body, 0.0) + decoder.expire(1.0)
        for event in events:
            assert isinstance(event, (Frame, FrameDiscarded))
            if isinstance(event, Frame):
                assert encode_frame(event) in body
        assert decoder.buffered == 0
    elif target == 1:
        link = Link(session=b"FUZZ")
        link.receive_data(body, 0.0)
        link.tick(5.0)
        link.events()
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
    else:
        try:
            Track2.decode(body)
        except RemoteProtocolError:
            pass


def main() -> None:
    atheris.Setup(sys.argv, one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
