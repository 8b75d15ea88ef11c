"""The sans-IO link: ACK/NAK, retransmission against an injected clock, duplicates, resets,
resynchronisation, bounded queues; and the end-to-end property under faults."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from protocols.codes import PROTOCOL_VERSION, MessageType, PromptId
from protocols.errors import ErrorCode, LocalProtocolError, RemoteProtocolError
from protocols.exchanges import EXCHANGES, LinkPair, split_frames
from protocols.frame import Frame, FrameDecoder, FrameDiscarded, encode_frame
from protocols.link import (
    DeliveryFailed,
    DuplicateFrame,
    Link,
    LinkSettings,
    MessageDelivered,
    MessageDropped,
    MessageReceived,
    MessageRejected,
    PeerIncompatible,
    PeerReset,
    Retransmitted,
    SessionEnded,
    StaleFrame,
)
from protocols.messages import InfoRequest, LookupRequest, Message, Prompt, SaleRequest
from tests.pairing import paired_links


def received(pair: LinkPair, side: str) -> list[Message]:
    return [e.message for e in pair.events[side] if isinstance(e, MessageReceived)]


def sale(i: int) -> SaleRequest:
    return SaleRequest(f"M{i}", 100 + i, "EUR")


def test_a_message_is_delivered_once_and_acknowledged() -> None:
    pair = LinkPair()
    pair.send("host", sale(1))
    pair.run()
    assert received(pair, "terminal") == [sale(1)]
    assert pair.events["terminal"][0] == PeerReset(0)
    assert MessageDelivered(1, sale(1)) in pair.events["host"]
    assert pair.host.idle and pair.host.next_deadline() is None


def test_a_damaged_frame_is_nakked_and_sent_again_at_once() -> None:
    pair = EXCHANGES["nak"][1]()
    assert received(pair, "terminal") == [SaleRequest("T0002", 500, "EUR", request_id=7)]
    assert Retransmitted(1, 2, "nak") in pair.events["host"]
    assert pair.now == 0.0  # no timeout was needed


def test_a_lost_ack_gives_a_duplicate_that_is_acked_not_delivered() -> None:
    pair = EXCHANGES["duplicate"][1]()
    assert received(pair, "terminal") == [SaleRequest("T0003", 700, "EUR", request_id=8)]
    assert DuplicateFrame(1) in pair.events["terminal"]
    assert Retransmitted(1, 2, "timeout") in pair.events["host"]
    assert any(isinstance(e, MessageDelivered) and e.seq == 1 for e in pair.events["host"])


def test_retransmission_times_and_giving_up_follow_the_settings() -> None:
    settings = LinkSettings(ack_timeout=0.5, max_retries=2)
    host = Link(settings)
    host.send(InfoRequest(), now=10.0)
    sent_at = [10.0] if host.data_to_send() else []
    now = 10.0
    while (deadline := host.next_deadline()) is not None:
        now = deadline
        host.tick(now)
        if host.data_to_send():
            sent_at.append(now)
    assert sent_at == [10.0, 10.5, 11.0]  # first try + 2 retries
    events = host.events()
    assert DeliveryFailed(0, None, 3) in events  # the LINK_RESET, never acknowledged
    assert DeliveryFailed(-1, InfoRequest(), 0) in events  # the request waiting behind it
    assert host.idle


def test_after_a_failed_reset_the_next_message_is_preceded_by_a_reset_again() -> None:
    host = Link(LinkSettings(ack_timeout=0.5, max_retries=0))
    host.send(InfoRequest(), now=0.0)
    host.tick(0.5)
    host.data_to_send()
    host.events()
    host.send(InfoRequest(), now=1.0)
    frames = FrameDecoder().feed(host.data_to_send(), 1.0)
    assert [f.type for f in frames if isinstance(f, Frame)] == [MessageType.LINK_RESET]


def test_a_restarted_host_is_not_mistaken_for_a_duplicate() -> None:
    pair = LinkPair()
    pair.send("host", sale(1))  # LINK_RESET is seq 0, the sale seq 1
    pair.run()
    pair.host = Link()  # the checkout restarts: its next data frame is seq 1 again
    pair.send("host", sale(2))
    pair.run()
    assert received(pair, "terminal") == [sale(1), sale(2)]


def connected() -> LinkPair:
    """Host and terminal links after the handshake, nothing in flight."""
    pair = LinkPair()
    pair.send("host", InfoRequest())
    pair.run()
    pair.events = {"host": [], "terminal": []}
    return pair


def test_an_intact_frame_with_a_bad_payload_is_acked_and_rejected() -> None:
    pair = connected()
    bad = pair.host.raw_frame(MessageType.SALE_REQUEST, bytes.fromhex("0009 02 5431 00"))
    pair.terminal.receive_data(bad, 0.0)
    events = pair.terminal.events()
    assert isinstance(events[-1], MessageRejected)
    assert events[-1].error.error_code is ErrorCode.MALFORMED_MESSAGE
    assert events[-1].request_id == 9
    acks = [f for f in FrameDecoder().feed(pair.terminal.data_to_send(), 0.0) if isinstance(f, Frame)]
    assert [(f.seq, f.type, f.payload) for f in acks] == [(2, MessageType.ACK, pair.host._tag)]


def test_the_queue_is_bounded() -> None:
    host = Link(LinkSettings(max_queued=3))
    for i in range(3):
        host.send(sale(i), now=0.0)
    with pytest.raises(LocalProtocolError) as info:
        host.send(sale(9), now=0.0)
    assert info.value.error_code is ErrorCode.QUEUE_FULL


def test_sequence_numbers_wrap_and_all_600_messages_arrive_in_order() -> None:
    pair = LinkPair()
    messages = [LookupRequest(f"W{i}") for i in range(600)]
    for i in range(0, 600, 50):
        for message in messages[i : i + 50]:
            pair.send("host", message)
        pair.run()
    assert received(pair, "terminal") == messages


def test_stale_ack_for_another_seq_or_session_is_ignored() -> None:
    host = Link(session=b"HOST")
    host.send(InfoRequest(), now=0.0)
    host.receive_data(encode_frame(Frame(9, MessageType.ACK, b"HOST")), 0.0)  # another seq
    assert host.events() == [] and not host.idle
    host.receive_data(encode_frame(Frame(0, MessageType.ACK, b"OLD!")), 0.0)  # another session
    assert host.events() == [StaleFrame(0, MessageType.ACK)] and not host.idle
    host.receive_data(encode_frame(Frame(0, MessageType.ACK, b"")), 0.0)  # no tag at all
    assert isinstance(host.events()[0], FrameDiscarded) and not host.idle


@given(st.binary(max_size=2000))
def test_any_bytes_in_give_only_link_events_and_only_acks_or_naks_out(data: bytes) -> None:
    link = Link()
    link.receive_data(data, 0.0)
    link.tick(1.0)
    for event in link.events():
        if isinstance(event, (FrameDiscarded, MessageRejected)):
            assert isinstance(event.error, RemoteProtocolError)
        else:
            assert isinstance(event, (MessageReceived, DuplicateFrame, PeerReset))
    out = [f for f in FrameDecoder().feed(link.data_to_send(), 0.0)]
    assert all(isinstance(f, Frame) and f.type in (MessageType.ACK, MessageType.NAK) for f in out)


@st.composite
def line_faults(draw: st.DrawFn) -> dict[tuple[str, int], str]:
    """For some frames on the line: what happens to them."""
    plan = {}
    for _ in range(draw(st.integers(0, 25))):
        key = (draw(st.sampled_from(["host", "terminal"])), draw(st.integers(0, 60)))
        plan[key] = draw(st.sampled_from(["drop", "corrupt", "duplicate", "noise", "split"]))
    return plan


@pytest.mark.parametrize("paired", [False, True], ids=["plain", "paired"])
@given(count=st.integers(1, 20), plan=line_faults(), noise=st.binary(min_size=1, max_size=8))
def test_under_faults_every_message_arrives_once_in_order_or_is_reported_failed(
    paired: bool, count: int, plan: dict[tuple[str, int], str], noise: bytes
) -> None:
    def fault(sender: str, index: int, wire: bytes) -> bytes | None:
        what = plan.get((sender, index))
        if what == "drop":
            return None
        if what == "corrupt":
            damaged = bytearray(wire)
            damaged[index % len(wire)] ^= 0x10
            return bytes(damaged)
        if what == "duplicate":
            return wire + wire
        if what == "noise":
            return noise + wire + noise
        if what == "split":  # the frame arrives with garbage in its middle: it is lost
            return wire[:3] + noise + wire[3:]
        return wire

    pair = paired_links(fault) if paired else LinkPair(fault=fault)
    sent: dict[str, list[Message]] = {"host": [], "terminal": []}
    for i in range(count):  # traffic both ways at once
        sent["host"].append(sale(i))
        sent["terminal"].append(LookupRequest(f"U{i}"))
        pair.send("host", sent["host"][-1])
        pair.send("terminal", sent["terminal"][-1])
    pair.run()
    for side, other in (("host", "terminal"), ("terminal", "host")):
        got = received(pair, other)
        failed = {e.message for e in pair.events[side] if isinstance(e, DeliveryFailed)}
        acked = {e.message for e in pair.events[side] if isinstance(e, MessageDelivered)}
        assert len(got) == len(set(got))  # none delivered twice
        assert [m for m in sent[side] if m in got] == got  # in order, nothing invented
        assert [m for m in sent[side] if m not in failed] == [
            m for m in got if m not in failed
        ]  # every message not reported failed arrived
        assert (acked - {None}) <= set(got)


def test_split_frames_cuts_a_burst_into_frames() -> None:
    burst = encode_frame(Frame(0, 6, b"")) + encode_frame(Frame(1, 6, b""))
    assert split_frames(burst) == [encode_frame(Frame(0, 6, b"")), encode_frame(Frame(1, 6, b""))]


@pytest.mark.parametrize("name", list(EXCHANGES))
def test_every_exchange_fed_byte_by_byte_gives_the_same_events(name: str) -> None:
    pair = EXCHANGES[name][1]()
    for sender in ("host", "terminal"):
        wire = b"".join(f.wire for f in pair.log if f.sender == sender and f.note != "lost")
        whole, split = Link(session=b"Rcv1"), Link(session=b"Rcv1")
        whole.receive_data(wire, 0.0)
        for i in range(len(wire)):
            split.receive_data(wire[i : i + 1], 0.0)
        assert list(map(repr, whole.events())) == list(map(repr, split.events()))
        assert whole.data_to_send() == split.data_to_send()


def test_a_stale_link_reset_does_not_let_a_frame_through_twice() -> None:
    # Found by tests/test_stateful.py: the reset retransmitted after its ACK was late, then the
    # line duplicated the burst: RESET 0, INFO 1, RESET 0, INFO 1. A reset of the session in
    # force is a duplicate: resetting again would deliver INFO 1 twice.
    pair = LinkPair()
    pair.send("host", InfoRequest())
    pair.run()
    reset = encode_frame(Frame(0, MessageType.LINK_RESET, bytes((PROTOCOL_VERSION,)) + b"HostTerm"))
    info = pair.host.raw_frame(MessageType.INFO_REQUEST, bytes(2))
    terminal = pair.terminal
    terminal.events()
    terminal.receive_data((reset + info) * 2, 0.0)
    assert [e for e in terminal.events() if isinstance(e, MessageReceived)] == [
        MessageReceived(InfoRequest(), 2)
    ]
    # a reset without a session id, or of protocol version 1, is not a frame to act on
    terminal.receive_data(encode_frame(Frame(2, MessageType.LINK_RESET, bytes((PROTOCOL_VERSION,)) + bytes(8))), 0.0)
    assert isinstance(terminal.events()[-1], FrameDiscarded)
    terminal.receive_data(encode_frame(Frame(2, MessageType.LINK_RESET, b"NEW!")), 0.0)
    assert terminal.events() == [PeerIncompatible(1)]


def test_a_new_host_session_drops_what_was_queued_for_the_old_one() -> None:
    pair = connected()
    answers = [LookupRequest(f"A{i}") for i in range(3)]
    for message in answers:
        pair.send("terminal", message)
    pair._carry("terminal", "host")  # the first answer goes out; the host dies before its ACK
    pair.host = Link(session=b"New!")  # a new checkout process
    pair.events["host"] = []
    pair.send("host", InfoRequest(request_id=5))
    pair.run()
    ended = [e for e in pair.events["terminal"] if isinstance(e, SessionEnded)]
    assert ended == [SessionEnded(tuple(answers))]
    assert pair.terminal.counters.messages_dropped == 3
    assert received(pair, "terminal")[-1] == InfoRequest(request_id=5)
    assert received(pair, "host") == []  # nothing of the old session reached the new host


def test_frames_of_an_old_session_are_dropped_in_both_directions() -> None:
    pair = connected()
    old_host = pair.host
    pair.send("terminal", LookupRequest("OLD"))
    to_old_host = pair.terminal.data_to_send()  # the terminal's frame to the old host, in flight
    stale_request = old_host.raw_frame(MessageType.INFO_REQUEST, bytes(2))  # the old host's
    pair.host = Link(session=b"New!")
    pair.send("host", InfoRequest(request_id=1))
    pair.run()
    pair.events = {"host": [], "terminal": []}
    pair.host.receive_data(to_old_host, 0.0)  # late bytes of the old session, both ways
    pair.terminal.receive_data(stale_request, 0.0)
    pair._collect()
    assert received(pair, "host") == [] and received(pair, "terminal") == []
    assert [type(e) for e in pair.events["host"]] == [StaleFrame]
    assert [type(e) for e in pair.events["terminal"]] == [StaleFrame]
    assert pair.host.data_to_send() == b"" and pair.terminal.data_to_send() == b""  # no ACKs


def test_both_sides_starting_at_once_agree_on_one_session() -> None:
    pair = LinkPair()
    pair.send("host", InfoRequest(request_id=1))
    pair.send("terminal", LookupRequest("X", request_id=2))
    pair.run()
    assert received(pair, "terminal") == [InfoRequest(request_id=1)]
    assert received(pair, "host") == [LookupRequest("X", request_id=2)]
    assert pair.host.ready and pair.terminal.ready


def test_a_restarted_terminal_tells_a_host_still_in_the_old_session() -> None:
    pair = connected()
    pair.terminal = Link(session=b"Boot")  # the terminal restarted; the host does not know
    request = InfoRequest(request_id=3)
    pair.send("host", request)
    pair.run()
    assert SessionEnded((request,)) in pair.events["host"]  # the driver learns at once
    assert pair.host.ready and pair.terminal.ready  # and a new session is in force


def test_a_full_queue_drops_its_oldest_prompt_then_refuses() -> None:
    terminal = Link(LinkSettings(max_queued=3))
    prompt = Prompt(PromptId.INSERT_CARD, "en", "INSERT CARD")
    terminal.send(prompt, 0.0)
    terminal.send(LookupRequest("A"), 0.0)
    terminal.send(LookupRequest("B"), 0.0)
    terminal.send(LookupRequest("C"), 0.0)  # the prompt makes room
    assert terminal.events() == [MessageDropped(prompt, "queue full")]
    with pytest.raises(LocalProtocolError) as info:
        terminal.send(LookupRequest("D"), 0.0)
    assert info.value.error_code is ErrorCode.QUEUE_FULL
    assert terminal.counters.messages_dropped == 1


def test_a_host_that_waits_for_a_reset_that_never_comes_gives_the_request_up() -> None:
    host = Link(LinkSettings(ack_timeout=0.5, max_retries=1), session=b"HOST")
    host.send(InfoRequest(), 0.0)
    host.data_to_send()
    host.receive_data(encode_frame(Frame(0, MessageType.ACK, b"HOST")), 0.1)  # no reset after it
    assert host.next_deadline() == pytest.approx(1.1)
    host.tick(1.1)
    assert DeliveryFailed(-1, InfoRequest(), 0) in host.events()
