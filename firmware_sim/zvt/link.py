"""The terminal's ZVT personality: ZVT APDUs from the cash register become the same requests
possim's own protocol gives the terminal core (a SALE for an authorization, a CANCEL for the
ECR's abort), and what the core answers (prompts, receipts, the result) goes back as ZVT
intermediate status, print text blocks, status information and completion or abort.

It offers the runner the surface of :class:`protocols.link.Link` (``receive_data``, ``tick``,
``events``, ``send``, ``data_to_send``, ``next_deadline``, ``counters``), so the runner, the
journal, the card kernel, the PIN pad and the authorizer are the ones a possim-protocol
terminal has. Over TCP the APDUs travel bare; on a serial line in DLE STX blocks
(:mod:`protocols.zvt.serial`).

Every PT message that is not a plain acknowledgement waits for the ECR's ``80 00 00`` before
the next one goes (ZVT's master/slave rule); commands the PT does not know are answered
``84 83 00``, APDUs that do not decode ``84 9A 00``, and the terminal goes on.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from protocols.codes import TransactionStatus
from protocols.link_events import MessageReceived
from protocols.messages import (
    CancelRequest,
    Error,
    Message,
    Prompt,
    Receipt,
    SettlementResponse,
    TransactionResult,
)
from protocols.zvt.apdu import Apdu, ApduStream, ZvtFormatError
from protocols.zvt.codes import ACK, NOT_SUPPORTED, Command, result_code_of
from protocols.zvt.serial import ApduReceived, BlockFailed, SerialTransport

from .answers import (
    CANCELLED,
    ERRORS,
    abort,
    completion,
    end_of_day_information,
    intermediate_status,
    print_text_block,
    status_information,
)
from .ecr_commands import EcrSession, Lookups

__all__ = ["ZvtLink", "ZvtCounters", "ZVT_SESSION", "DEFAULT_PASSWORD"]

ZVT_SESSION = b"zvt"  # the origin the core's answers come back with
DEFAULT_PASSWORD = 123456
ECR_ACK_TIMEOUT = 30.0  # how long a PT message waits for the ECR's 80 00 00 before it is dropped
PARTIAL_APDU_TIMEOUT = 5.0  # TCP: the rest of an APDU that stops coming is given up
MAX_PENDING = 64  # PT messages waiting for the ECR's acknowledgements: an ECR that never
# acknowledges but keeps sending commands gets 84 83 00 past this, not a queue without end

# config byte of Registration (ZVT 13, 2.1): who prints, whether the PT reports progress
ECR_PRINTS_PAYMENT_RECEIPTS = 0x02
INTERMEDIATE_STATUS_WANTED = 0x08


@dataclass
class ZvtCounters:
    apdus_received: int = 0
    apdus_refused: int = 0  # did not decode: answered 84 9A 00
    commands_refused: int = 0  # answered 84 83 00: unknown, wrong password, busy, not now
    blocks_failed: int = 0  # serial: no ACK after every try
    messages_dropped: int = 0  # no 80 00 00 from the ECR in time
    partial_apdus_dropped: int = 0  # TCP: an APDU whose rest never came


class ZvtLink:
    """One ECR's ZVT session over one port (``serial``: the DLE STX transport)."""

    def __init__(
        self,
        *,
        serial: bool,
        terminal_id: str = "29001006",
        password: int = DEFAULT_PASSWORD,
        lookups: Lookups | None = None,
        wall_clock: Callable[[], float] = lambda: 0.0,
        observer: Callable[[str, bytes], None] | None = None,
        vu_number: str = "",
    ) -> None:
        self._serial = SerialTransport() if serial else None
        self._stream = ApduStream()
        self._out = bytearray()
        tid = int(terminal_id) if terminal_id.isdigit() and len(terminal_id) == 8 else 29001006
        self.session = EcrSession(password, tid, lookups or Lookups(_none, _none))
        self.counters = ZvtCounters()
        self._wall_clock = wall_clock  # the date and time End-of-Day reports (the runner's)
        self.observer = observer  # sees each APDU, "in" or "out" (traces)
        self.vu_number = vu_number  # BMP 2A: the merchant's contract number (--merchant-id)
        self._events: list[MessageReceived] = []
        self._pending: deque[bytes] = deque()  # PT messages waiting their turn
        self._awaiting: bytes | None = None  # the PT message the ECR has not acknowledged
        self._awaiting_since = 0.0
        self._running = False  # a command of the ECR's is with the core
        self._receipts: list[bytes] = []  # print text blocks, held for after the result
        self._last_data = 0.0

    # --- the Link surface -----------------------------------------------------------------

    def receive_data(self, data: bytes, now: float) -> None:
        if self._serial is not None:
            self._serial.receive_data(data, now)
            self._serial_events(now)
            return
        if data:
            self._last_data = now
        self._stream.feed(data)
        for raw in self._stream.apdus():
            self._apdu(raw, now)

    def _serial_events(self, now: float) -> None:
        assert self._serial is not None
        for event in self._serial.events():
            if isinstance(event, ApduReceived):
                self._apdu(event.apdu, now)
            elif isinstance(event, BlockFailed):
                self.counters.blocks_failed += 1

    def tick(self, now: float) -> None:
        if self._serial is not None:
            self._serial.tick(now)
            self._serial_events(now)
        if self._stream.pending and now - self._last_data > PARTIAL_APDU_TIMEOUT:
            self.counters.partial_apdus_dropped += 1
            self._stream.clear()
        if self._awaiting is not None and now - self._awaiting_since > ECR_ACK_TIMEOUT:
            self.counters.messages_dropped += 1 + len(self._pending)
            self._awaiting = None
            self._pending.clear()

    def next_deadline(self) -> float | None:
        deadlines = []
        if self._serial is not None and (d := self._serial.next_deadline()) is not None:
            deadlines.append(d)
        if self._awaiting is not None:
            deadlines.append(self._awaiting_since + ECR_ACK_TIMEOUT)
        if self._stream.pending:
            deadlines.append(self._last_data + PARTIAL_APDU_TIMEOUT)
        return min(deadlines) if deadlines else None

    def events(self) -> list[MessageReceived]:
        out, self._events = self._events, []
        return out

    def data_to_send(self) -> bytes:
        if self._serial is not None:
            return self._serial.data_to_send()
        out, self._out = bytes(self._out), bytearray()
        return out

    def send(self, message: Message, now: float, session: bytes | None = None) -> None:
        """What the core says, as ZVT."""
        config = self.session.config
        if isinstance(message, Prompt):
            apdu = intermediate_status(message.prompt_id)
            wanted = config & INTERMEDIATE_STATUS_WANTED and self._running
            if apdu is not None and wanted:  # after the completion the ECR is master again
                self._queue(apdu, now)
        elif isinstance(message, Receipt):
            if config & ECR_PRINTS_PAYMENT_RECEIPTS:  # printed after the status information
                self._receipts.append(print_text_block(message))
        elif isinstance(message, TransactionResult):
            self._result(message, now)
        elif isinstance(message, SettlementResponse):
            self._running = False
            tid = self.session.terminal_id
            self._queue(end_of_day_information(message, tid, self._wall_clock()), now)
            self._queue(completion(), now)
        elif isinstance(message, Error) and self._running:
            self._running = False  # the core refused the request: the command ends here
            self._receipts.clear()
            self._queue(abort(ERRORS.get(int(message.code), NOT_SUPPORTED)), now)

    # --- from the ECR ---------------------------------------------------------------------

    def _write(self, apdu: bytes, now: float) -> None:
        if self.observer is not None:
            self.observer("out", apdu)
        if self._serial is not None:
            self._serial.send(apdu, now)
        else:
            self._out += apdu

    def _queue(self, apdu: bytes, now: float) -> None:
        """A PT message that the ECR acknowledges before the next goes."""
        if self._awaiting is None:
            self._awaiting, self._awaiting_since = apdu, now
            self._write(apdu, now)
        else:
            self._pending.append(apdu)

    def _acknowledged(self, now: float) -> None:
        self._awaiting = None
        if self._pending:
            self._awaiting, self._awaiting_since = self._pending.popleft(), now
            self._write(self._awaiting, now)

    def _apdu(self, raw: bytes, now: float) -> None:
        self.counters.apdus_received += 1
        if self.observer is not None:
            self.observer("in", raw)
        try:
            apdu = Apdu.decode(raw)
        except ZvtFormatError as e:
            self._refuse(e.result_code, now)
            return
        if apdu.cls in (0x80, 0x84):  # the ECR acknowledges our last message
            self._acknowledged(now)
            return
        try:
            self._command(apdu, now)
        except ZvtFormatError as e:
            self._refuse(e.result_code, now)

    def _refuse(self, code: int, now: float) -> None:
        if code == NOT_SUPPORTED:
            self.counters.commands_refused += 1
        else:
            self.counters.apdus_refused += 1
        self._write(bytes((0x84, code, 0x00)), now)

    def _command(self, apdu: Apdu, now: float) -> None:
        busy = self._running or self._awaiting is not None
        if apdu.command == Command.ECR_ABORT and not self._running:
            self._write(ACK, now)  # nothing to abort
            return
        if len(self._pending) >= MAX_PENDING:
            raise ZvtFormatError("the ECR acknowledges nothing", NOT_SUPPORTED)
        reply = self.session.handle(apdu, busy)
        self._write(reply.immediate, now)
        for queued in reply.queued:
            self._queue(queued, now)
        if reply.request is not None:
            if not isinstance(reply.request, CancelRequest):
                self._running = True
            self._events.append(MessageReceived(reply.request, 0, ZVT_SESSION))

    # --- the outcome ----------------------------------------------------------------------

    def _result(self, result: TransactionResult, now: float) -> None:
        self._running = False
        if result.status is TransactionStatus.CANCELLED:
            self._receipts.clear()
            self._queue(abort(CANCELLED), now)
            return
        approved = result.status is TransactionStatus.APPROVED
        code = result_code_of(result.response_code) if result.response_code.strip() else 0x66
        if not approved and code == 0:
            code = 0x66
        # status information, then the receipts for the ECR to print, then the completion
        expiry = self.session.lookups.card_expiry(result.reference)
        info = status_information(result, code, self.session.terminal_id, self.vu_number, expiry)
        self._queue(info, now)
        for block in self._receipts:
            self._queue(block, now)
        self._receipts.clear()
        self._queue(completion() if approved else abort(code), now)


def _none(*args: object) -> None:
    return None
