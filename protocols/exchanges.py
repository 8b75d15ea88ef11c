"""Whole exchanges on the wire, produced by two real :class:`~protocols.link.Link` objects
joined in memory under a simulated clock.

``docs/protocol.md`` shows these exchanges in hex and a test rebuilds them, so the document
cannot drift from the code. ``python -m protocols.exchanges`` prints them annotated.

>>> pair = LinkPair()
>>> pair.send("host", InfoRequest())
>>> pair.run()
>>> for f in pair.log:
...     print(f.sender, describe(f.wire))
host seq=00 LINK_RESET version=5 session=486F7374 peer=00000000
terminal seq=00 ACK tag=486F7374
terminal seq=00 LINK_RESET version=5 session=5465726D peer=486F7374
host seq=00 ACK tag=5465726D
host seq=01 INFO_REQUEST tag=1C0A0119 request_id=0
terminal seq=01 ACK tag=1C0A0119
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from enum import IntEnum, IntFlag

from .codes import (
    PROTOCOL_VERSION,
    Capability,
    EntryMode,
    MessageType,
    PinBlockFormat,
    PromptId,
    ReceiptCopy,
    TransactionKind,
    TransactionStatus,
    enum_name,
)
from .errors import ErrorCode, ProtocolError
from .frame import Frame, FrameDecoder, encode_frame
from .link import RESET_SIZE, TAG_SIZE, Link, LinkEvent
from .link_auth import AUTH_RESET_SIZE, data_parts
from .messages import (
    SECRET_FIELDS,
    Error,
    InfoRequest,
    InfoResponse,
    LookupRequest,
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
    payload = frame.payload
    if frame.type == MessageType.LINK_RESET:
        if len(payload) not in (RESET_SIZE, AUTH_RESET_SIZE):
            return f"{text} (rejected: {len(payload)} bytes)"
        text = (
            f"{text} version={payload[0]} session={payload[1:5].hex().upper()}"
            f" peer={payload[5:9].hex().upper()}"
        )
        return f"{text} pairing={payload[9:17].hex().upper()} (MAC)" if payload[9:] else text
    if frame.type in (MessageType.ACK, MessageType.NAK):
        mac = " (MAC)" if len(payload) > TAG_SIZE else ""
        return f"{text} tag={payload[:TAG_SIZE].hex().upper()}{mac}" if payload else text
    parts = data_parts(frame.type, payload)
    text = f"{text} tag={parts.tag.hex().upper()}"
    if parts.counter:
        text = f"{text} counter={int.from_bytes(parts.counter, 'big')} (MAC)"
    try:
        message = parts.message or decode_payload(frame.type, parts.body)
    except ProtocolError as e:
        if frame.type == MessageType.PIN_BLOCK_REQUEST and b"*" in payload:
            return f"{text} (the PAN is masked in traces)"
        return f"{text} (rejected: {e.error_code.name})"
    values = " ".join(
        f"{f.name}={'<hidden>' if f.name in SECRET_FIELDS else _show(getattr(message, f.name))}"
        for f in fields(message)
    )
    return f"{text} {values}".rstrip()


def _show(value: object) -> str:
    if isinstance(value, bytes):
        return value.hex().upper()
    if isinstance(value, (IntEnum, IntFlag)):
        return enum_name(value)
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
    status: TransactionStatus = TransactionStatus.APPROVED, request_id: int = 1
) -> TransactionResult:
    """The approved sale of the examples (12.34 EUR, chip, auth code A1B2C3)."""
    return TransactionResult(
        request_id=request_id,
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


def _prompt(prompt_id: PromptId, text: str, request_id: int = 1) -> Prompt:
    return Prompt(prompt_id, "en", text, request_id=request_id)


def _sale() -> LinkPair:
    pair = LinkPair()
    pair.send("host", SaleRequest("T0001", 1234, "EUR", request_id=1))
    pair.run()
    for message in (
        _prompt(PromptId.INSERT_CARD, "INSERT CARD"),
        _prompt(PromptId.ENTER_PIN, "ENTER PIN"),
        _prompt(PromptId.PIN_OK, "PIN OK"),
        _prompt(PromptId.AUTHORISING, "AUTHORISING"),
        _prompt(PromptId.APPROVED, "APPROVED"),
        _prompt(PromptId.REMOVE_CARD, "REMOVE CARD"),
        Receipt(
            "T0001",
            ReceiptCopy.CUSTOMER,
            ("POSSIM", "SALE", "EUR 12.34", "APPROVED"),
            request_id=1,
        ),
        example_sale_result(),
    ):
        pair.send("terminal", message)
    pair.run()
    return pair


def _refund() -> LinkPair:
    pair = LinkPair()
    pair.send("host", RefundRequest("R0001", 1234, "EUR", "000000000001", request_id=2))
    pair.run()
    refund = TransactionResult(
        request_id=2,
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
    receipt = ("POSSIM", "REFUND", "EUR 12.34")
    pair.send("terminal", Receipt("R0001", ReceiptCopy.CUSTOMER, receipt, request_id=2))
    pair.send("terminal", refund)
    pair.run()
    return pair


def _pin_block() -> LinkPair:
    # PAN, PIN 1234 and KSN FFFF9876543210E00001 under the TDES test BDK of ANSI X9.24-1
    # give the encrypted format-0 PIN block 1B9C1845EB993A7A (X9.24-1 Annex A test vector).
    pair = LinkPair()
    pair.send("host", PinBlockRequest("4012345678909", PinBlockFormat.ISO_0, request_id=3))
    pair.run()
    pair.send("terminal", _prompt(PromptId.ENTER_PIN, "ENTER PIN", request_id=3))
    pair.send(
        "terminal",
        PinBlockResponse(
            PinBlockFormat.ISO_0,
            bytes.fromhex("1B9C1845EB993A7A"),
            bytes.fromhex("FFFF9876543210E00001"),
            request_id=3,
        ),
    )
    pair.run()
    return pair


def _info() -> LinkPair:
    pair = LinkPair()
    pair.send("host", InfoRequest(request_id=4))
    pair.run()
    capabilities = Capability.CHIP | Capability.SWIPE | Capability.PIN_PAD
    info = InfoResponse(PROTOCOL_VERSION, "0.1.0", "PSM00000001", capabilities, request_id=4)
    pair.send("terminal", info)
    pair.run()
    return pair


def _refund_refused() -> LinkPair:
    pair = LinkPair()
    pair.send("host", RefundRequest("R0002", 500, "EUR", "999999999999", request_id=5))
    pair.run()
    error = Error(
        ErrorCode.ORIGINAL_NOT_FOUND, "original_reference", "no sale 999999999999", request_id=5
    )
    pair.send("terminal", error)
    pair.run()
    return pair


def _simulation() -> LinkPair:
    pair = LinkPair()
    pair.send("host", SimPresentCard("default", EntryMode.CHIP, request_id=6))
    pair.run()
    pair.send("terminal", SimAccepted(request_id=6))
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
    pair = LinkPair(fault=_damage_host_frame(2))  # the request, after RESET and an ACK
    pair.send("host", SaleRequest("T0002", 500, "EUR", request_id=7))
    pair.run()
    return pair


def _duplicate() -> LinkPair:
    pair = LinkPair(fault=_lose_terminal_frame(2))  # the ACK of the request
    pair.send("host", SaleRequest("T0003", 700, "EUR", request_id=8))
    pair.run()
    return pair


def _window_gap() -> LinkPair:
    pair = LinkPair(fault=_lose_terminal_frame(5))  # the third frame of the window
    pair.send("host", SaleRequest("T0004", 900, "EUR", request_id=3))
    pair.run()
    for prompt_id, text in (
        (PromptId.INSERT_CARD, "INSERT CARD"),
        (PromptId.ENTER_PIN, "ENTER PIN"),
    ):
        pair.send("terminal", _prompt(prompt_id, text, request_id=3))
    pair.run()  # the first data frame after the terminal's reset goes alone
    for prompt_id, text in (
        (PromptId.PIN_OK, "PIN OK"),
        (PromptId.AUTHORISING, "AUTHORISING"),
        (PromptId.APPROVED, "APPROVED"),
    ):
        pair.send("terminal", _prompt(prompt_id, text, request_id=3))
    pair.run()
    return pair


def _new_session() -> LinkPair:
    pair = LinkPair()
    pair.send("host", LookupRequest("T0001", request_id=9))
    pair.run()
    pair.host = Link(session=bytes.fromhex("4E657721"))  # the checkout restarted: "New!"
    pair.send("terminal", example_sale_result(request_id=9))  # the answer, to the old host
    pair.run()  # the new host drops it and says who it is; the terminal drops the answer
    pair.send("host", InfoRequest(request_id=1))
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
    "window": (
        "A window of frames, one lost: the later ones held, then delivered in order",
        _window_gap,
    ),
    "new-session": (
        "A host restarts: the old session's answer is dropped on both sides, never delivered",
        _new_session,
    ),
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
