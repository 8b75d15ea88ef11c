"""The link's window (protocol version 5, docs/protocol.md section 3): several data frames
in flight, each delivered once and in the order sent, whatever the line loses; a frame given
up never stalls the receiver for long; a paired link's retransmissions carry new counters."""

from __future__ import annotations

from protocols.codes import MessageType, PromptId
from protocols.exchanges import Fault, LinkPair, split_frames
from protocols.frame import Frame, FrameDecoder
from protocols.link import DeliveryFailed, Link, LinkSettings, MessageDelivered, MessageReceived
from protocols.link_window import WINDOW, ReceiveWindow
from protocols.messages import InfoRequest, Message, Prompt
from tests.pairing import paired_links


def prompts(count: int, request_id: int = 1) -> list[Message]:
    return [
        Prompt(PromptId.AUTHORISING, "en", f"P{i}", request_id=request_id) for i in range(count)
    ]


def got(pair: LinkPair, side: str) -> list[Message]:
    return [e.message for e in pair.events[side] if isinstance(e, MessageReceived)]


def data_frames(wire: bytes) -> list[Frame]:
    return [
        f
        for f in FrameDecoder().feed(wire, 0.0)
        if isinstance(f, Frame) and f.type not in (MessageType.ACK, MessageType.NAK)
    ]


def lose_terminal_seq(seq: int, lost: list[bytes]) -> Fault:
    """A line that loses every copy of the terminal's data frame ``seq`` (kept in ``lost``)."""

    def fault(sender: str, index: int, wire: bytes) -> bytes | None:
        frame = data_frames(wire)
        if sender == "terminal" and frame and frame[0].seq == seq:
            lost.append(wire)
            return None
        return wire

    return fault


def burst(pair: LinkPair, count: int, fault: Fault | None = None) -> list[Message]:
    """``count`` prompts from the terminal at once, carried over ``fault``'s line to rest."""
    pair.fault = fault
    sent = prompts(count)
    for message in sent:
        pair.send("terminal", message)
    pair.run()
    return sent


def warmed(pair: LinkPair) -> LinkPair:
    """Sessions made and one terminal frame acknowledged: the terminal's window is open."""
    pair.send("host", InfoRequest(request_id=1))
    pair.run()
    pair.send("terminal", InfoRequest(request_id=1))
    pair.run()
    pair.events["host"].clear()
    return pair


def test_a_burst_goes_out_at_once_up_to_the_window() -> None:
    pair = warmed(LinkPair())
    for message in prompts(WINDOW + 4):
        pair.send("terminal", message)
    burst = data_frames(pair.terminal.data_to_send())
    assert len(burst) == WINDOW  # the rest wait for the first ACKs
    assert [f.seq for f in burst] == list(range(2, 2 + WINDOW))


def test_the_first_data_frame_after_a_reset_goes_alone() -> None:
    pair = LinkPair()
    pair.send("host", InfoRequest(request_id=1))
    pair.run()  # both resets done; the terminal has sent no data frame in this session
    for message in prompts(3):
        pair.send("terminal", message)
    assert len(data_frames(pair.terminal.data_to_send())) == 1


def test_frames_behind_a_lost_one_are_held_and_delivered_in_order() -> None:
    pair = warmed(LinkPair())
    lost: list[int] = []

    def lose_third(sender: str, index: int, wire: bytes) -> bytes | None:
        frame = data_frames(wire)
        if sender == "terminal" and frame and frame[0].seq == 4 and not lost:
            lost.append(index)
            return None
        return wire

    pair.fault = lose_third
    sent = prompts(6)
    for message in sent:
        pair.send("terminal", message)
    pair._carry("terminal", "host")
    assert got(pair, "host") == sent[:2]  # 2 and 3 delivered; 5, 6, 7 held behind 4
    assert pair.host._window.held == 3
    pair.run()  # 4 comes again after the ACK timeout
    assert got(pair, "host") == sent and lost


def test_a_frame_given_up_does_not_stall_the_frames_behind_it() -> None:
    pair = warmed(LinkPair())
    sent = burst(pair, 3, lose_terminal_seq(2, []))
    failed = [e for e in pair.events["terminal"] if isinstance(e, DeliveryFailed)]
    assert [e.message for e in failed] == [sent[0]]
    assert got(pair, "host") == sent[1:]
    # delivered when the sender gave frame 2 up (4 x ACK timeout) and reset its session
    settings = LinkSettings()
    assert pair.now == settings.ack_timeout * (settings.max_retries + 1)
    assert pair.host._window.held == 0


def test_only_the_sender_ends_a_gap_however_late_the_line() -> None:
    window = ReceiveWindow[str]()
    window.start(0)
    assert window.offer(1, "a") == ("new", ["a"])
    assert window.offer(3, "c") == ("held", [])
    assert window.offer(5, "e") == ("held", [])
    assert window.offer(4, "d") == ("held", [])
    # the sender gave 2 up and, with nothing in flight, sent a reset of the session (frame 6)
    assert window.start(6) == ["c", "d", "e"]
    assert window.offer(2, "b") == ("duplicate", [])  # too late: not delivered after all
    assert window.offer(7, "f") == ("new", ["f"])


def test_a_late_retransmission_of_a_frame_given_up_is_not_delivered() -> None:
    pair = warmed(LinkPair())
    late: list[bytes] = []
    sent = burst(pair, 2, lose_terminal_seq(2, late))
    assert got(pair, "host") == sent[1:]
    pair.host.receive_data(late[-1], pair.now)  # the line hands it over at last
    pair._collect()
    assert got(pair, "host") == sent[1:] and pair.host.counters.duplicates >= 1


def test_a_frame_a_window_ahead_proves_the_gap_settled() -> None:
    window = ReceiveWindow[str]()
    window.start(0)
    window.offer(1, "a")
    assert window.offer(3, "c") == ("held", [])
    # the sender may send 2 + WINDOW only once 2 is settled (acknowledged or given up)
    verdict, delivered = window.offer(2 + WINDOW, "far")
    assert delivered == ["c"] and verdict == "held" and window.last == 3


def test_the_window_wraps_around_the_sequence_numbers() -> None:
    pair = warmed(LinkPair(terminal=Link(session=bytes.fromhex("5465726D"), first_seq=250)))
    sent = burst(pair, 12)
    assert got(pair, "host") == sent


def test_paired_retransmissions_carry_new_counters_and_are_delivered_once() -> None:
    pair = paired_links()
    pair.send("host", InfoRequest(request_id=1))
    pair.run()
    pair.send("terminal", InfoRequest(request_id=2))
    pair.run()
    pair.events["host"].clear()
    dropped: list[bytes] = []

    def lose_acks_once(sender: str, index: int, wire: bytes) -> bytes | None:
        if sender == "host" and len(dropped) < 3:
            dropped.append(wire)
            return None
        return wire

    sent = burst(pair, 3, lose_acks_once)
    assert got(pair, "host") == sent  # the retransmissions were ACKed again, not delivered
    delivered = [e for e in pair.events["terminal"] if isinstance(e, MessageDelivered)]
    assert [e.message for e in delivered][-3:] == sent
    sent_seq2 = [
        frame.payload
        for entry in pair.log
        if entry.sender == "terminal"
        for frame in data_frames(entry.wire)
        if frame.seq == 2 and frame.type == MessageType.PROMPT
    ]
    counters = {p[4:8] for p in sent_seq2}
    assert len(sent_seq2) == 2 and len(counters) == 2  # sent twice, two counters
    assert pair.terminal.counters.forged_frames == pair.host.counters.replayed_frames == 0


def test_split_frames_keeps_a_burst_apart() -> None:
    pair = warmed(LinkPair())
    for message in prompts(4):
        pair.send("terminal", message)
    assert len(split_frames(pair.terminal.data_to_send())) == 4


def test_an_old_reset_of_the_session_played_back_after_the_numbers_wrap_is_refused() -> None:
    pair = paired_links()
    pair.send("host", InfoRequest(request_id=1))
    pair.run()
    [reset] = [
        f.wire
        for f in pair.log
        if f.sender == "terminal"
        and data_frames(f.wire)[:1]
        and data_frames(f.wire)[0].type == MessageType.LINK_RESET
    ]
    for _ in range(3):  # the terminal's numbers move on until its reset's is "ahead" again
        burst(pair, 60)
    pair.host.receive_data(reset, pair.now)  # recorded, played back
    pair._collect()
    assert pair.host.counters.replayed_frames == 1
    [last] = burst(pair, 1)
    assert got(pair, "host")[-1] == last  # still delivered, not taken for a duplicate
