"""Hypothesis stateful tests: random command and event sequences against the link (over a
lossy in-memory line) and against the terminal core. Nothing crashes, nothing is delivered
twice or out of order, and the terminal always comes back to idle."""

from __future__ import annotations

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule
from strategies import any_message

from firmware_sim.cardholder import drain
from firmware_sim.cards import CATALOGUE
from firmware_sim.states import WAITING_STATES, TerminalState
from firmware_sim.testing import make_core
from protocols.codes import EntryMode, PinBlockFormat, PinEntry
from protocols.frame import Frame, FrameDecoder, encode_frame
from protocols.link import DeliveryFailed, Link, MessageReceived, SessionEnded
from protocols.messages import (
    CancelRequest,
    InfoRequest,
    LastResultRequest,
    LookupRequest,
    Message,
    PinBlockRequest,
    RefundRequest,
    SaleRequest,
    SettlementRequest,
    SimEnterPin,
    SimPresentCard,
    SimPressCancel,
    SimRemoveCard,
)
from tests.pairing import paired_links

SIDES = ("a", "b")


class LinkOverALossyLine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.links = {"a": Link(), "b": Link()}
        self.now = 0.0
        self.sent: dict[str, list[Message]] = {"a": [], "b": []}
        self.got: dict[str, list[Message]] = {"a": [], "b": []}
        self.failed: dict[str, list[Message]] = {"a": [], "b": []}
        self.wire: dict[str, bytearray] = {"a": bytearray(), "b": bytearray()}

    def _other(self, side: str) -> str:
        return "b" if side == "a" else "a"

    def _collect(self) -> None:
        for side in SIDES:
            for event in self.links[side].events():
                if isinstance(event, MessageReceived):
                    self.got[side].append(event.message)
                elif isinstance(event, DeliveryFailed) and event.message is not None:
                    self.failed[side].append(event.message)
                elif isinstance(event, SessionEnded):  # a paired side restarted its session
                    self.failed[side].extend(event.dropped)

    @precondition(lambda self: len(self.sent["a"]) + len(self.sent["b"]) < 40)
    @rule(side=st.sampled_from(SIDES), message=any_message)
    def send(self, side: str, message: Message) -> None:
        if len(self.links[side]._queue) < 60:
            self.links[side].send(message, self.now)
            self.sent[side].append(message)

    @rule(
        side=st.sampled_from(SIDES),
        fault=st.sampled_from(["clean", "drop", "corrupt", "duplicate", "noise"]),
        cut=st.integers(0, 400),
        noise=st.binary(max_size=8),
    )
    def carry(self, side: str, fault: str, cut: int, noise: bytes) -> None:
        self.wire[side] += self.links[side].data_to_send()
        data = bytes(self.wire[side][:cut] if cut else self.wire[side])
        del self.wire[side][: len(data)]
        if fault == "drop":
            data = b""
        elif fault == "corrupt" and data:
            damaged = bytearray(data)
            damaged[cut % len(damaged)] ^= 0x5A
            data = bytes(damaged)
        elif fault == "duplicate":
            data += data
        elif fault == "noise":
            data = noise + data
        self.links[self._other(side)].receive_data(data, self.now)
        self._collect()

    @rule(seconds=st.floats(0.01, 2.0))
    def wait(self, seconds: float) -> None:
        self.now += seconds
        for side in SIDES:
            self.links[side].tick(self.now)
        self._collect()

    @invariant()
    def nothing_twice_nothing_invented_in_order(self) -> None:
        for side in SIDES:
            other = self._other(side)
            got = self.got[other]
            assert [m for m in self.sent[side] if any(m is g or m == g for g in got)][
                : len(got)
            ] == got or (_subsequence(got, self.sent[side]))

    def teardown(self) -> None:
        # repair the line: everything not given up arrives
        for _ in range(400):
            for side in SIDES:
                self.links[self._other(side)].receive_data(
                    bytes(self.wire[side]) + self.links[side].data_to_send(), self.now
                )
                self.wire[side].clear()
            self._collect()
            if all(self.links[s].idle for s in SIDES) and not any(self.wire.values()):
                break
            self.now += 0.5
            for side in SIDES:
                self.links[side].tick(self.now)
            self._collect()
        for side in SIDES:
            other = self._other(side)
            wanted = [m for m in self.sent[side] if not any(m is f for f in self.failed[side])]
            assert _subsequence(wanted, self.got[other])
            assert _subsequence(self.got[other], self.sent[side])


def _subsequence(small: list[Message], big: list[Message]) -> bool:
    """``small`` appears in ``big`` in order (each element once)."""
    position = 0
    for item in small:
        while position < len(big) and big[position] != item:
            position += 1
        if position == len(big):
            return False
        position += 1
    return True


TestLinkOverALossyLine = LinkOverALossyLine.TestCase
TestLinkOverALossyLine.settings = settings(max_examples=60, stateful_step_count=40, deadline=None)


class PairedLinkOverALossyLine(LinkOverALossyLine):
    """The same over a paired link: every frame under a MAC and a counter, every
    retransmission under a new one (protocols/link_auth.py)."""

    def __init__(self) -> None:
        super().__init__()
        pair = paired_links()
        self.links = {"a": pair.host, "b": pair.terminal}


TestPairedLinkOverALossyLine = PairedLinkOverALossyLine.TestCase
TestPairedLinkOverALossyLine.settings = settings(
    max_examples=40, stateful_step_count=40, deadline=None
)

NOW = 1_764_000_000.0
cards = st.sampled_from(sorted(CATALOGUE))
ids = st.sampled_from([f"T{i}" for i in range(6)])


class TerminalUnderRandomEvents(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.core = make_core()
        self.now = NOW
        self.references: list[str] = []

    def _send(self, message: Message) -> None:
        self.core.handle_message(message, self.now)
        self._drain()

    def _drain(self) -> None:
        for message in drain(self.core, None, self.now):
            reference = getattr(message, "reference", "")
            if reference:
                self.references.append(reference)

    @rule(txn_id=ids, amount=st.integers(1, 99_999))
    def sale(self, txn_id: str, amount: int) -> None:
        self._send(SaleRequest(txn_id, amount, "EUR"))

    @rule(txn_id=ids, amount=st.integers(1, 5000), data=st.data())
    def refund(self, txn_id: str, amount: int, data: st.DataObject) -> None:
        reference = (
            data.draw(st.sampled_from(self.references)) if self.references else "000000000001"
        )
        self._send(RefundRequest(txn_id, amount, "EUR", reference))

    @rule(
        message=st.sampled_from(
            [
                CancelRequest(),
                InfoRequest(),
                LastResultRequest(),
                SettlementRequest(),
                SimPressCancel(),
                SimRemoveCard(),
                PinBlockRequest("4012345678909", PinBlockFormat.ISO_0),
            ]
        )
    )
    def request(self, message: Message) -> None:
        self._send(message)

    @rule(txn_id=ids)
    def lookup(self, txn_id: str) -> None:
        self._send(LookupRequest(txn_id))

    @rule(card=cards, mode=st.sampled_from([EntryMode.CHIP, EntryMode.SWIPE]))
    def present(self, card: str, mode: EntryMode) -> None:
        self._send(SimPresentCard(card, mode))

    @rule(entry=st.sampled_from(PinEntry))
    def pin(self, entry: PinEntry) -> None:
        self._send(SimEnterPin(entry))

    @rule(seconds=st.sampled_from([1.0, 31.0, 61.0]))
    def wait(self, seconds: float) -> None:
        self.now += seconds
        self.core.tick(self.now)
        self._drain()

    @invariant()
    def resting_in_idle_or_a_waiting_state(self) -> None:
        assert self.core.state is TerminalState.IDLE or self.core.state in WAITING_STATES
        assert not self.core.journal.unfinished()

    def teardown(self) -> None:
        self._send(CancelRequest())
        self._send(SimRemoveCard())
        assert self.core.state is TerminalState.IDLE


TestTerminalUnderRandomEvents = TerminalUnderRandomEvents.TestCase
TestTerminalUnderRandomEvents.settings = settings(
    max_examples=60, stateful_step_count=30, deadline=None
)


def test_frame_helpers_still_agree() -> None:
    assert FrameDecoder().feed(encode_frame(Frame(1, 0x20, b"")), 0.0) == [Frame(1, 0x20, b"")]
