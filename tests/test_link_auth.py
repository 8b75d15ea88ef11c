"""Authenticated frames on a paired link (protocols.link_auth with keys.link_keys): what a
forger, a replayer or an unpaired host gets from the sans-IO link: nothing delivered,
nothing acknowledged, each refusal counted."""

from __future__ import annotations

import time

from hypothesis import given
from hypothesis import strategies as st

from firmware_sim.keystore_file import KeystoreFile
from keys.link_keys import TerminalPairings
from protocols.codes import PAIRING_TYPES, MessageType
from protocols.exchanges import LinkPair, split_frames
from protocols.frame import Frame, FrameDecoder, encode_frame
from protocols.link import FrameRefused, MessageReceived, PeerReset, SessionEnded
from protocols.messages import InfoRequest, Message, SaleRequest
from tests.pairing import host_link, memory_pairings, pair_keys, paired_links, terminal_link


def received(pair: LinkPair, side: str) -> list[MessageReceived]:
    return [e for e in pair.events[side] if isinstance(e, MessageReceived)]


def refusals(pair: LinkPair, side: str) -> list[str]:
    return [e.reason for e in pair.events[side] if isinstance(e, FrameRefused)]


def frames(wire: bytes) -> list[Frame]:
    return [f for f in FrameDecoder().feed(wire, 0.0) if isinstance(f, Frame)]


def host_frames(pair: LinkPair) -> list[bytes]:
    """What the host put on the line, ACKs left out."""
    return [
        f.wire for f in pair.log if f.sender == "host" and frames(f.wire)[0].type != MessageType.ACK
    ]


def feed(pair: LinkPair, wire: bytes) -> bytes:
    """Put ``wire`` on the line to the terminal; what the terminal answers."""
    pair.terminal.receive_data(wire, pair.now)
    pair._collect()
    return pair.terminal.data_to_send()


def test_a_paired_link_delivers_authenticated_messages_both_ways() -> None:
    pair = paired_links()
    pair.send("host", SaleRequest("A1", 100, "EUR"))
    pair.run()
    pair.send("terminal", InfoRequest(request_id=9))
    pair.run()
    [sale] = received(pair, "terminal")
    [info] = received(pair, "host")
    assert sale.authenticated and info.authenticated
    assert pair.terminal.counters.authenticated_sessions == 1
    # every frame after the resets carries a counter and a MAC: 12 bytes past plain
    data = [f for w in host_frames(pair) for f in frames(w) if f.type == MessageType.SALE_REQUEST]
    assert len(data[0].payload) == 4 + 4 + len(b"") + 8 + len(_plain_payload(sale.message))


def _plain_payload(message: Message) -> bytes:
    from protocols.messages import encode_payload

    return encode_payload(message)


def test_a_forged_frame_is_refused_unanswered() -> None:
    pair = paired_links()
    pair.send("host", InfoRequest(request_id=1))
    pair.run()
    frame = frames(host_frames(pair)[-1])[0]  # the request, authenticated
    payload = bytearray(frame.payload)
    payload[9] ^= 0x01  # one bit of the message changed; the CRC made good again
    answer = feed(pair, encode_frame(Frame((frame.seq + 1) & 0xFF, frame.type, bytes(payload))))
    assert answer == b""  # not even an ACK
    assert refusals(pair, "terminal") == ["forged"]
    assert pair.terminal.counters.forged_frames == 1
    assert len(received(pair, "terminal")) == 1


def test_a_replayed_frame_is_refused_even_with_a_fresh_sequence_number_or_crc() -> None:
    pair = paired_links()
    for i in range(3):
        pair.send("host", InfoRequest(request_id=i + 1))
        pair.run()
    old = frames(host_frames(pair)[1])[0]  # the first request (after the reset), long ago
    # as recorded: its sequence number is behind, its counter too: no answer at all
    assert feed(pair, encode_frame(old)) == b""
    # with its sequence number moved ahead, the MAC (over the sequence number) fails
    assert feed(pair, encode_frame(Frame((old.seq + 3) & 0xFF, old.type, old.payload))) == b""
    assert refusals(pair, "terminal") == ["replayed", "forged"]
    assert len(received(pair, "terminal")) == 3


def test_the_last_frame_sent_again_is_acknowledged_again_not_delivered_twice() -> None:
    pair = paired_links()
    pair.send("host", InfoRequest(request_id=1))
    pair.run()
    last = host_frames(pair)[-1]
    answer = frames(feed(pair, last))
    assert [f.type for f in answer] == [MessageType.ACK]
    assert len(received(pair, "terminal")) == 1 and refusals(pair, "terminal") == []


def test_a_reset_recorded_from_an_earlier_session_is_refused_after_the_host_moved_on() -> None:
    pairings = memory_pairings()
    keys = pair_keys(pairings)
    terminal = terminal_link(pairings)
    first = LinkPair(host=host_link(keys, keys.pairing_id), terminal=terminal)
    first.send("host", SaleRequest("A1", 100, "EUR"))
    first.run()
    recorded = b"".join(host_frames(first))  # the old host's reset and its sale
    second = LinkPair(host=host_link(keys, keys.pairing_id, b"New!"), terminal=terminal)
    second.send("host", InfoRequest(request_id=5))
    second.run()
    stale = terminal.counters.stale_frames
    assert feed(second, recorded) == b""
    assert refusals(second, "terminal") == ["replayed"]  # the reset; its sale: another session's
    assert terminal.counters.stale_frames == stale + 1
    assert [e.message for e in received(second, "terminal")] == [InfoRequest(request_id=5)]


def test_the_same_recording_is_refused_by_a_restarted_terminal_on_the_same_key_store(
    tmp_path: object,
) -> None:
    store = KeystoreFile(f"{tmp_path}/t.keystore")
    keys = pair_keys(TerminalPairings(store, time.time_ns))
    first = LinkPair(
        host=host_link(keys, keys.pairing_id),
        terminal=terminal_link(TerminalPairings(store, time.time_ns)),
    )
    first.send("host", SaleRequest("A1", 100, "EUR"))
    first.run()
    restarted = terminal_link(
        TerminalPairings(KeystoreFile(f"{tmp_path}/t.keystore"), time.time_ns), session=b"Re!!"
    )
    restarted.receive_data(b"".join(host_frames(first)), 0.0)
    events = restarted.events()
    assert not any(isinstance(e, MessageReceived) for e in events)
    assert [e.reason for e in events if isinstance(e, FrameRefused)][0] == "replayed"


def test_a_terminal_that_requires_pairing_takes_only_pairing_from_an_unpaired_host() -> None:
    pairings = memory_pairings()
    pair = LinkPair(host=host_link(None, None), terminal=terminal_link(pairings, required=True))
    pair.send("host", SaleRequest("A1", 100, "EUR"))
    pair.run()
    assert received(pair, "terminal") == []
    assert refusals(pair, "terminal") == ["unauthenticated"] * 4  # the frame and 3 retries
    # the one kind of message it takes: pairing itself (not decodable yet: a raw frame)
    wire = pair.host.raw_frame(MessageType.PAIR_BEGIN, b"\x00\x01")
    feed(pair, wire)
    assert refusals(pair, "terminal") == ["unauthenticated"] * 4


def test_on_a_serial_line_an_unpaired_host_is_served_unless_pairing_is_required() -> None:
    pairings = memory_pairings()
    pair = LinkPair(host=host_link(None, None), terminal=terminal_link(pairings, required=False))
    pair.send("host", SaleRequest("A1", 100, "EUR"))
    pair.run()
    [sale] = received(pair, "terminal")
    assert not sale.authenticated


def test_a_host_paired_with_another_terminal_gets_no_answer() -> None:
    keys = pair_keys(memory_pairings())  # paired elsewhere
    stranger = memory_pairings()
    pair_keys(stranger)  # this terminal has a pairing, not that one
    pair = LinkPair(host=host_link(keys, keys.pairing_id), terminal=terminal_link(stranger))
    pair.send("host", InfoRequest(request_id=1))
    pair.run()
    assert received(pair, "terminal") == [] and set(refusals(pair, "terminal")) == {"forged"}


def test_a_host_finds_a_restarted_terminal_and_sends_again_authenticated() -> None:
    pairings = memory_pairings()
    keys = pair_keys(pairings)
    pair = LinkPair(host=host_link(keys, keys.pairing_id), terminal=terminal_link(pairings))
    pair.send("host", InfoRequest(request_id=1))
    pair.run()
    pair.terminal = terminal_link(pairings, session=b"Rst2")  # the terminal restarted
    request = InfoRequest(request_id=2)
    pair.send("host", request)
    pair.run()
    ended = [e for e in pair.events["host"] if isinstance(e, SessionEnded)]
    assert ended and request in ended[0].dropped  # the driver sends it again
    pair.send("host", request)
    pair.run()
    assert [e.message for e in pair.events["terminal"] if isinstance(e, MessageReceived)][
        -1
    ] == request
    assert sum(isinstance(e, PeerReset) for e in pair.events["host"]) == 2


def test_a_forged_ack_does_not_count_as_delivery() -> None:
    pair = paired_links()
    pair.send("host", InfoRequest(request_id=1))
    pair.run()
    pair.send("host", InfoRequest(request_id=2))
    out = pair.host.data_to_send()
    [request] = split_frames(out)
    seq = frames(request)[0].seq
    tag = frames(request)[0].payload[:4]
    fake = encode_frame(Frame(seq, MessageType.ACK, tag + bytes(12)))  # counter, MAC made up
    pair.host.receive_data(fake, 0.0)
    assert pair.host.counters.forged_frames == 1 and not pair.host.idle


@given(st.binary(max_size=600), st.integers(0, 255))
def test_any_bytes_in_a_paired_terminal_give_only_link_events_never_a_message(
    noise: bytes, seq: int
) -> None:
    """Bytes from someone without the key, even shaped as frames of every type: nothing is
    delivered, nothing raises, and what goes out is link control only."""
    pairings = memory_pairings()
    pair_keys(pairings)
    terminal = terminal_link(pairings, required=True)
    wire = noise
    for message_type in (MessageType.LINK_RESET, MessageType.SALE_REQUEST, MessageType.ACK):
        wire += encode_frame(Frame(seq, message_type, noise[:200]))
    terminal.receive_data(wire, 0.0)
    terminal.tick(5.0)
    events = terminal.events()
    assert not [e for e in events if isinstance(e, MessageReceived) and e.authenticated]
    assert not [
        e
        for e in events
        if isinstance(e, MessageReceived) and e.message.TYPE not in PAIRING_TYPES
    ]
    out = [f for f in FrameDecoder().feed(terminal.data_to_send(), 0.0) if isinstance(f, Frame)]
    assert all(f.type in (MessageType.ACK, MessageType.NAK, MessageType.LINK_RESET) for f in out)
