"""Whole exchanges on the wire, produced by two real :class:`~protocols.link.Link` objects
joined in memory under a simulated clock.

``docs/protocol.md`` shows these exchanges in hex and a test rebuilds them, so the document
cannot drift from the code. ``python -m protocols.exchanges`` prints them annotated.

>>> pair = LinkPair()
>>> pair.send("host", InfoRequest())
>>> pair.run()
>>> [describe(f.wire) for f in pair.log]  # doctest: +NORMALIZE_WHITESPACE
['seq=00 LINK_RESET session=486F7374', 'seq=00 ACK', 'seq=01 INFO_REQUEST', 'seq=01 ACK']
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from enum import Enum

from .codes import (
    Capability,
    EntryMode,
    MessageType,
    PinBlockFormat,
    PromptId,
    ReceiptCopy,
    TransactionKind,
    TransactionStatus,
)
from .errors import ErrorCode, ProtocolError
from .frame import Frame, FrameDecoder, encode_frame
from .link import Link, LinkEvent
from .messages import (
    Error,
    InfoRequest,
    InfoResponse,
    Message,
    PinBlockRequest,
    PinBlockResponse,
    Prompt,
    Receipt,
    RefundRequest,
    SaleRequest,
    SimAccepted,
    SimPresentCard,
    TransactionResult,
    decode_payload,
)

__all__ = [
    "WireFrame",
    "LinkPair",
    "describe",
    "split_frames",
    "example_sale_result",
    "EXCHANGES",
    "render",
]

Side = str  # "host" or "terminal"
Fault = Callable[[Side, int, bytes], "bytes | None"]


@dataclass(frozen=True)
class WireFrame:
    """One frame as it crossed the line: when, from whom, the bytes, and what befell it."""

    time: float
    sender: Side
    wire: bytes
    note: str = ""


def split_frames(data: bytes) -> list[bytes]:
    """Cut bytes made of whole frames into one ``bytes`` a frame."""
    decoder = FrameDecoder()
    return [encode_frame(f) for f in decoder.feed(data, 0.0) if isinstance(f, Frame)]


def describe(wire: bytes) -> str:
    """One line for one frame: sequence number, type and the message's fields."""
    frames = [f for f in FrameDecoder().feed(wire, 0.0) if isinstance(f, Frame)]
    if len(frames) != 1:
        return "(not an intact frame: bad CRC)"
    frame = frames[0]
    try:
        name = MessageType(frame.type).name
    except ValueError:
        name = f"TYPE {frame.type:#04x}"
    text = f"seq={frame.seq:02x} {name}"
    if frame.type == MessageType.LINK_RESET:
        return f"{text} session={frame.payload.hex().upper()}"
    if frame.type in (MessageType.ACK, MessageType.NAK):
        return text
    try:
        message = decode_payload(frame.type, frame.payload)
    except ProtocolError as e:
        return f"{text} (rejected: {e.error_code.name})"
    values = " ".join(f"{f.name}={_show(getattr(message, f.name))}" for f in fields(message))  # type: ignore[arg-type]
    return f"{text} {values}".rstrip()


def _show(value: object) -> str:
    if isinstance(value, bytes):
        return value.hex().upper()
    if isinstance(value, Enum):
        return str(value.name)
    if isinstance(value, tuple):
        return f"[{len(value)} items]"
    return repr(value)


@dataclass
class LinkPair:
    """A host link and a terminal link joined by an in-memory line with an optional fault.

    ``fault(sender, index, frame_bytes)`` returns the bytes the line delivers (None: lost);
    ``index`` counts the frames that sender has put on the line."""

    fault: Fault | None = None
    now: float = 0.0
    host: Link = field(default_factory=lambda: Link(session=bytes.fromhex("486F7374")))
    terminal: Link = field(default_factory=lambda: Link(session=bytes.fromhex("5465726D")))
    log: list[WireFrame] = field(default_factory=list)
    events: dict[Side, list[LinkEvent]] = field(
        default_factory=lambda: {"host": [], "terminal": []}
    )
    _sent: dict[Side, int] = field(default_factory=lambda: {"host": 0, "terminal": 0})

    def link(self, side: Side) -> Link:
        return self.host if side == "host" else self.terminal

    def send(self, side: Side, message: Message) -> None:
        self.link(side).send(message, self.now)

    def run(self, max_steps: int = 1000) -> None:
        """Carry frames both ways, letting time pass for timeouts, until both links rest."""
        for _ in range(max_steps):
            moved = self._carry("host", "terminal") | self._carry("terminal", "host")
            if moved:
                continue
            deadlines = [d for d in (self.host.next_deadline(), self.terminal.next_deadline()) if d]
            if not deadlines:
                return
            self.now = max(self.now, min(deadlines))
            self.host.tick(self.now)
            self.terminal.tick(self.now)
            self._collect()
        raise RuntimeError("the links did not come to rest")

    def _carry(self, sender: Side, receiver: Side) -> bool:
        data = self.link(sender).data_to_send()
        for wire in split_frames(data):
            index = self._sent[sender]
            self._sent[sender] += 1
            delivered = self.fault(sender, index, wire) if self.fault else wire
            note = "" if delivered == wire else "lost" if delivered is None else "damaged"
            self.log.append(WireFrame(round(self.now, 3), sender, delivered or wire, note))
            if delivered is not None:
                self.link(receiver).receive_data(delivered, self.now)
        self._collect()
        return bool(data)

    def _collect(self) -> None:
        for side in ("host", "terminal"):
            self.events[side].extend(self.link(side).events())


# --- the exchanges of docs/protocol.md ----------------------------------------------------

_T = 1_764_000_000  # a fixed transaction time for the examples


def example_sale_result(
    status: TransactionStatus = TransactionStatus.APPROVED,
) -> TransactionResult:
    """The approved sale of the examples (12.34 EUR, chip, auth code A1B2C3)."""
    return TransactionResult(
        client_transaction_id="T0001",
        kind=TransactionKind.SALE,
        status=status,
        response_code="00",
        auth_code="A1B2C3",
        reference="000000000001",
        amount=1234,
        currency="EUR",
        masked_pan="476173******0010",
        entry_mode=EntryMode.CHIP,
        original_reference="",
        time=_T,
    )


def _prompt(prompt_id: PromptId, text: str) -> Prompt:
    return Prompt(prompt_id, "en", text)


def _sale() -> LinkPair:
    pair = LinkPair()
    pair.send("host", SaleRequest("T0001", 1234, "EUR"))
    pair.run()
    for message in (
        _prompt(PromptId.INSERT_CARD, "INSERT CARD"),
        _prompt(PromptId.ENTER_PIN, "ENTER PIN"),
        _prompt(PromptId.PIN_OK, "PIN OK"),
        _prompt(PromptId.AUTHORISING, "AUTHORISING"),
        _prompt(PromptId.APPROVED, "APPROVED"),
        _prompt(PromptId.REMOVE_CARD, "REMOVE CARD"),
        Receipt("T0001", ReceiptCopy.CUSTOMER, ("POSSIM", "SALE", "EUR 12.34", "APPROVED")),
        example_sale_result(),
    ):
        pair.send("terminal", message)
    pair.run()
    return pair


def _refund() -> LinkPair:
    pair = LinkPair()
    pair.send("host", RefundRequest("R0001", 1234, "EUR", "000000000001"))
    pair.run()
    refund = TransactionResult(
        client_transaction_id="R0001",
        kind=TransactionKind.REFUND,
        status=TransactionStatus.APPROVED,
        response_code="00",
        auth_code="D4E5F6",
        reference="000000000002",
        amount=1234,
        currency="EUR",
        masked_pan="476173******0010",
        entry_mode=EntryMode.CHIP,
        original_reference="000000000001",
        time=_T + 60,
    )
    pair.send("terminal", Receipt("R0001", ReceiptCopy.CUSTOMER, ("POSSIM", "REFUND", "EUR 12.34")))
    pair.send("terminal", refund)
    pair.run()
    return pair


def _pin_block() -> LinkPair:
    # PAN, PIN 1234 and KSN FFFF9876543210E00001 under the TDES test BDK of ANSI X9.24-1
    # give the encrypted format-0 PIN block 1B9C1845EB993A7A (X9.24-1 Annex A test vector).
    pair = LinkPair()
    pair.send("host", PinBlockRequest("4012345678909", PinBlockFormat.ISO_0))
    pair.run()
    pair.send("terminal", _prompt(PromptId.ENTER_PIN, "ENTER PIN"))
    pair.send(
        "terminal",
        PinBlockResponse(
            PinBlockFormat.ISO_0,
            bytes.fromhex("1B9C1845EB993A7A"),
            bytes.fromhex("FFFF9876543210E00001"),
        ),
    )
    pair.run()
    return pair


def _info() -> LinkPair:
    pair = LinkPair()
    pair.send("host", InfoRequest())
    pair.run()
    capabilities = Capability.CHIP | Capability.SWIPE | Capability.PIN_PAD
    pair.send("terminal", InfoResponse(1, "0.1.0", "PSM00000001", capabilities))
    pair.run()
    return pair


def _refund_refused() -> LinkPair:
    pair = LinkPair()
    pair.send("host", RefundRequest("R0002", 500, "EUR", "999999999999"))
    pair.run()
    error = Error(ErrorCode.ORIGINAL_NOT_FOUND, "original_reference", "no sale 999999999999")
    pair.send("terminal", error)
    pair.run()
    return pair


def _simulation() -> LinkPair:
    pair = LinkPair()
    pair.send("host", SimPresentCard("default", EntryMode.CHIP))
    pair.run()
    pair.send("terminal", SimAccepted())
    pair.run()
    return pair


def _damage_host_frame(index: int) -> Fault:
    def fault(sender: Side, i: int, wire: bytes) -> bytes | None:
        if sender == "host" and i == index:
            damaged = bytearray(wire)
            damaged[7] ^= 0x01  # one bit of the payload flipped on the line
            return bytes(damaged)
        return wire

    return fault


def _lose_terminal_frame(index: int) -> Fault:
    def fault(sender: Side, i: int, wire: bytes) -> bytes | None:
        return None if sender == "terminal" and i == index else wire

    return fault


def _nak() -> LinkPair:
    pair = LinkPair(fault=_damage_host_frame(1))
    pair.send("host", SaleRequest("T0002", 500, "EUR"))
    pair.run()
    return pair


def _duplicate() -> LinkPair:
    pair = LinkPair(fault=_lose_terminal_frame(1))
    pair.send("host", SaleRequest("T0003", 700, "EUR"))
    pair.run()
    return pair


EXCHANGES: dict[str, tuple[str, Callable[[], LinkPair]]] = {
    "info": ("INFO: who is the terminal", _info),
    "sale": ("A sale with its prompts, receipt and result", _sale),
    "refund": ("A refund of that sale", _refund),
    "pin-block": ("A PIN block (format 0, TDES DUKPT)", _pin_block),
    "error": ("A refused refund: ERROR with its code", _refund_refused),
    "simulation": ("Simulation control: present the default card", _simulation),
    "nak": ("A damaged frame: NAK, then retransmission", _nak),
    "duplicate": ("A lost ACK: retransmission, acknowledged again, delivered once", _duplicate),
}


def render(name: str) -> str:
    """The exchange as text: one frame a line pair, time, direction, hex and meaning."""
    pair = EXCHANGES[name][1]()
    lines = []
    for frame in pair.log:
        arrow = "host -> terminal" if frame.sender == "host" else "terminal -> host"
        note = f"  [{frame.note} on the line]" if frame.note else ""
        lines.append(f"t={frame.time:5.3f}  {arrow}  {describe(frame.wire)}{note}")
        lines.append(f"    {frame.wire.hex(' ')}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    names = (argv if argv is not None else sys.argv[1:]) or list(EXCHANGES)
    for name in names:
        if name not in EXCHANGES:
            print(f"unknown exchange {name!r}; choose from {', '.join(EXCHANGES)}", file=sys.stderr)
            return 2
        print(f"== {name}: {EXCHANGES[name][0]}")
        print(render(name))
        print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
