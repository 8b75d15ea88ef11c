"""The frame: golden bytes, the schema and the fast path agree, and the decoder survives noise."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from reference import frame_bytes

from protocols.errors import ErrorCode, LocalProtocolError, RemoteProtocolError
from protocols.frame import (
    FRAME,
    INTERBYTE_TIMEOUT,
    MAX_FRAME_SIZE,
    Frame,
    FrameDecoder,
    FrameDiscarded,
    encode_frame,
)
from protocols.messages import MAX_PAYLOAD

frames = st.builds(Frame, st.integers(0, 255), st.integers(0, 255), st.binary(max_size=MAX_PAYLOAD))
small_frames = st.builds(Frame, st.integers(0, 255), st.integers(0, 255), st.binary(max_size=40))

GOLDEN = [
    # (seq, type, payload hex, frame hex); CRCs from the bitwise reference in tests/reference.py
    (0, 0x20, "", "02 0002 fe 00 20 2055"),
    (1, 0x06, "", "02 0002 fe 01 06 57c0"),
    (1, 0x21, "02 5431 000000001234 0978", None),
    (255, 0x7F, "ff" * 300, None),
]


@pytest.mark.parametrize(("seq", "type_", "payload_hex", "frame_hex"), GOLDEN)
def test_golden_frames(seq: int, type_: int, payload_hex: str, frame_hex: str | None) -> None:
    payload = bytes.fromhex(payload_hex)
    wire = frame_bytes(seq, type_, payload)
    if frame_hex is not None:
        assert wire == bytes.fromhex(frame_hex)
    assert encode_frame(Frame(seq, type_, payload)) == wire
    assert FrameDecoder().feed(wire, 0.0) == [Frame(seq, type_, payload)]


@given(frames)
def test_fast_path_and_construct_schema_agree(frame: Frame) -> None:
    wire = encode_frame(frame)
    built = FRAME.build(
        {"body": {"value": {"seq": frame.seq, "type": frame.type, "payload": frame.payload}}}
    )
    assert built == wire
    parsed = FRAME.parse(wire).body.value
    assert Frame(parsed.seq, parsed.type, parsed.payload) == frame
    assert FrameDecoder().feed(wire, 0.0) == [frame]


@given(st.lists(small_frames, max_size=6))
def test_fed_whole_or_byte_by_byte_gives_the_same_frames(items: list[Frame]) -> None:
    wire = b"".join(encode_frame(f) for f in items)
    whole = FrameDecoder().feed(wire, 0.0)
    decoder = FrameDecoder()
    one_by_one = [e for i in range(len(wire)) for e in decoder.feed(wire[i : i + 1], 0.0)]
    assert whole == one_by_one == items


def test_oversized_payload_is_a_local_error() -> None:
    with pytest.raises(LocalProtocolError) as info:
        encode_frame(Frame(0, 0x21, bytes(MAX_PAYLOAD + 1)))
    assert info.value.error_code is ErrorCode.MESSAGE_TOO_LONG


def test_bad_crc_is_discarded_with_its_seq_for_a_nak() -> None:
    wire = bytearray(encode_frame(Frame(7, 0x21, b"abc")))
    wire[-1] ^= 0xFF
    events = FrameDecoder().feed(bytes(wire), 0.0)
    assert isinstance(events[0], FrameDiscarded)
    assert events[0].header_ok and events[0].seq == 7
    assert all(isinstance(e, FrameDiscarded) for e in events)


def test_a_frame_hidden_behind_a_false_start_is_found() -> None:
    good = encode_frame(Frame(3, 0x20, b""))
    false_start = bytes.fromhex("02 0010 f0 01 21")  # a header promising 16 bytes, then cut
    decoder = FrameDecoder()
    assert decoder.feed(false_start + good, now=0.0) == []  # still waiting for 16 bytes
    events = decoder.feed(b"", now=INTERBYTE_TIMEOUT)  # silence: the false start is truncated
    assert events[-1] == Frame(3, 0x20, b"")
    assert "truncated" in str(events[0].error)  # type: ignore[union-attr]
    assert decoder.buffered == 0


def test_header_with_a_bad_length_checksum_is_rejected_at_once() -> None:
    decoder = FrameDecoder()
    events = decoder.feed(bytes.fromhex("02 0010 00"), 0.0)
    assert [type(e) for e in events] == [FrameDiscarded] and decoder.buffered == 0


@given(st.binary(max_size=3000), st.integers(1, 64))
def test_any_bytes_give_frames_or_remote_errors_and_never_hang(data: bytes, chunk: int) -> None:
    decoder = FrameDecoder()
    events = []
    for i in range(0, len(data), chunk):
        events += decoder.feed(data[i : i + chunk], 0.0)
        assert decoder.buffered < MAX_FRAME_SIZE
    events += decoder.expire(INTERBYTE_TIMEOUT)
    assert decoder.buffered == 0
    for event in events:
        assert isinstance(event, (Frame, FrameDiscarded))
        if isinstance(event, FrameDiscarded):
            assert isinstance(event.error, RemoteProtocolError)
    discarded = sum(e.size for e in events if isinstance(e, FrameDiscarded))
    kept = sum(len(encode_frame(e)) for e in events if isinstance(e, Frame))
    assert discarded + kept == len(data)  # every byte accounted for, once


@st.composite
def noisy_stream(draw: st.DrawFn) -> tuple[bytes, list[Frame]]:
    """Frames with noise between them, some damaged, some sent twice.

    Returns the bytes and the frames that crossed undamaged, in order."""
    wire = bytearray()
    expected: list[Frame] = []
    for i in range(draw(st.integers(1, 12))):
        frame = Frame(i, 0x21, draw(st.binary(max_size=30)))
        wire += draw(st.binary(max_size=12))  # noise, often with 0x02 in it
        if draw(st.booleans()) and draw(st.booleans()):  # a quarter are damaged
            damaged = bytearray(encode_frame(frame))
            damaged[draw(st.integers(1, len(damaged) - 1))] ^= 1 << draw(st.integers(0, 7))
            wire += damaged
        else:
            copies = draw(st.integers(1, 2))
            wire += encode_frame(frame) * copies
            expected += [frame] * copies
    return bytes(wire), expected


@given(noisy_stream(), st.integers(1, 50))
def test_every_undamaged_frame_is_found_once_in_order(
    stream: tuple[bytes, list[Frame]], chunk: int
) -> None:
    wire, expected = stream
    decoder = FrameDecoder()
    found = []
    for i in range(0, len(wire), chunk):
        found += [e for e in decoder.feed(wire[i : i + chunk], 0.0) if isinstance(e, Frame)]
    found += [e for e in decoder.expire(INTERBYTE_TIMEOUT) if isinstance(e, Frame)]
    assert found == expected
