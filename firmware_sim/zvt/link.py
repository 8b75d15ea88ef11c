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

import secrets
from collections import deque
from dataclasses import dataclass
from datetime import datetime, timezone

from protocols.codes import PromptId, ReceiptCopy, TransactionStatus
from protocols.currency import by_alpha, by_numeric
from protocols.errors import ErrorCode
from protocols.link_events import MessageReceived
from protocols.messages import (
    CancelRequest,
    Error,
    Message,
    Prompt,
    Receipt,
    SaleRequest,
    TransactionResult,
)
from protocols.tlv import encode_tlv
from protocols.zvt.apdu import Apdu, ApduStream, ZvtFormatError, encode_apdu
from protocols.zvt.bmp import Bmp, decode_bmps, encode_bmps
from protocols.zvt.codes import ACK, NOT_SUPPORTED, PROTOCOL_ERROR, Command, result_code_of
from protocols.zvt.serial import ApduReceived, BlockFailed, SerialTransport

__all__ = ["ZvtLink", "ZvtCounters", "ZVT_SESSION", "DEFAULT_PASSWORD"]

ZVT_SESSION = b"zvt"  # the origin the core's answers come back with
DEFAULT_PASSWORD = 123456
ECR_ACK_TIMEOUT = 30.0  # how long a PT message waits for the ECR's 80 00 00 before it is dropped
PARTIAL_APDU_TIMEOUT = 5.0  # TCP: the rest of an APDU that stops coming is given up

# config byte of Registration (ZVT 13, 2.1): who prints, whether the PT reports progress
ECR_PRINTS_PAYMENT_RECEIPTS = 0x02
INTERMEDIATE_STATUS_WANTED = 0x08

_INTERMEDIATE = {
    PromptId.INSERT_CARD: 0x0A,
    PromptId.PRESENT_CARD: 0x0A,
    PromptId.ENTER_PIN: 0x01,
    PromptId.INCORRECT_PIN: 0x15,
    PromptId.AUTHORISING: 0x04,
    PromptId.REMOVE_CARD: 0x0B,
    PromptId.DECLINED: 0x1D,
    PromptId.PLEASE_WAIT: 0x0E,
}
_ERRORS: dict[int, int] = {  # the core's refusals, as ZVT result codes
    ErrorCode.BUSY: 0x9C,  # please wait
    ErrorCode.INVALID_CURRENCY: 0x6F,  # wrong currency
    ErrorCode.INVALID_AMOUNT: 0xC8,  # amount too small
}
_CANCELLED = 0x6C  # abort via time-out or abort key


@dataclass
class ZvtCounters:
    apdus_received: int = 0
    apdus_refused: int = 0  # did not decode: answered 84 9A 00
    unknown_commands: int = 0  # answered 84 83 00
    blocks_failed: int = 0  # serial: no ACK after every try
    messages_dropped: int = 0  # no 80 00 00 from the ECR in time
    partial_apdus_dropped: int = 0  # TCP: an APDU whose rest never came


class ZvtLink:
    """One ECR's ZVT session over one port (``serial``: the DLE STX transport)."""

    def __init__(
        self, *, serial: bool, terminal_id: str = "29001006", password: int = DEFAULT_PASSWORD
    ) -> None:
        self._serial = SerialTransport() if serial else None
        self._stream = ApduStream()
        self._out = bytearray()
        self.password = password
        self.terminal_id = int(terminal_id) if terminal_id.isdigit() else 29001006
        self.registered = False
        self.config = 0
        self.currency = 978
        self.counters = ZvtCounters()
        self._events: list[MessageReceived] = []
        self._pending: deque[bytes] = deque()  # PT messages waiting their turn
        self._awaiting: bytes | None = None  # the PT message the ECR has not acknowledged
        self._awaiting_since = 0.0
        self._running: str | None = None  # the client transaction id of the running payment
        self._receipts: list[bytes] = []  # print text blocks, held for after the result
        self._last_data = 0.0

    # --- the Link surface -----------------------------------------------------------------

    def receive_data(self, data: bytes, now: float) -> None:
        if self._serial is not None:
            self._serial.receive_data(data, now)
            for event in self._serial.events():
                if isinstance(event, ApduReceived):
                    self._apdu(event.apdu, now)
                elif isinstance(event, BlockFailed):
                    self.counters.blocks_failed += 1
            return
        if data:
            self._last_data = now
        self._stream.feed(data)
        for raw in self._stream.apdus():
            self._apdu(raw, now)

    def tick(self, now: float) -> None:
        if self._serial is not None:
            self._serial.tick(now)
            for event in self._serial.events():
                if isinstance(event, ApduReceived):
                    self._apdu(event.apdu, now)
                elif isinstance(event, BlockFailed):
                    self.counters.blocks_failed += 1
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
        if isinstance(message, Prompt):
            code = _INTERMEDIATE.get(message.prompt_id)
            wanted = self.config & INTERMEDIATE_STATUS_WANTED and self._running is not None
            if code is not None and wanted:  # after the completion the ECR is master again
                self._queue(encode_apdu(0x04, 0xFF, bytes((code,))), now)
        elif isinstance(message, Receipt):
            if self.config & ECR_PRINTS_PAYMENT_RECEIPTS:  # printed after the status information
                self._receipts.append(_print_text_block(message))
        elif isinstance(message, TransactionResult):
            self._result(message, now)
        elif isinstance(message, Error) and self._running is not None:
            self._running = None  # the core refused the request: the payment ends here
            code = _ERRORS.get(int(message.code), NOT_SUPPORTED)
            self._queue(encode_apdu(0x06, 0x1E, bytes((code,))), now)

    # --- from the ECR ---------------------------------------------------------------------

    def _write(self, apdu: bytes, now: float) -> None:
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
            self.counters.unknown_commands += 1
        else:
            self.counters.apdus_refused += 1
        self._write(bytes((0x84, code, 0x00)), now)

    def _command(self, apdu: Apdu, now: float) -> None:
        try:
            command = Command(apdu.command)
        except ValueError:
            self._refuse(NOT_SUPPORTED, now)
            return
        if command is Command.REGISTRATION:
            self._registration(apdu.data, now)
        elif command is Command.LOG_OFF:
            self.registered = False
            self._write(ACK, now)
        elif command is Command.STATUS_ENQUIRY:
            self._check_password(apdu.data[:3])
            decode_bmps(apdu.data[3:])
            self._write(ACK, now)
            status = [(0x27, 0x00 if self._running is None else 0x9C), (0x29, self.terminal_id)]
            self._queue(encode_apdu(0x04, 0x0F, encode_bmps(status)), now)
            self._queue(encode_apdu(0x06, 0x0F), now)
        elif command is Command.AUTHORIZATION:
            self._authorization(apdu.data, now)
        elif command is Command.ECR_ABORT:
            self._write(ACK, now)
            if self._running is not None:
                self._events.append(MessageReceived(CancelRequest(), 0, ZVT_SESSION))
        else:  # a command possim knows of but does not perform
            self._refuse(NOT_SUPPORTED, now)

    def _check_password(self, raw: bytes) -> None:
        if len(raw) != 3 or not raw.hex().isdigit() or int(raw.hex()) != self.password:
            raise ZvtFormatError("wrong password", NOT_SUPPORTED)

    def _registration(self, data: bytes, now: float) -> None:
        if len(data) < 4:
            raise ZvtFormatError("Registration is password, config byte, [currency], [BMPs]")
        self._check_password(data[:3])
        config, rest = data[3], data[4:]
        currency = None
        if len(rest) >= 2 and rest[0] not in (0x03, 0x06):  # a currency code before any BMP
            if not rest[:2].hex().isdigit():
                raise ZvtFormatError("the currency code is not BCD", PROTOCOL_ERROR)
            currency, rest = int(rest[:2].hex()), rest[2:]
        decode_bmps(rest)
        if currency is not None:
            try:
                by_numeric(currency)
            except (KeyError, ValueError):
                raise ZvtFormatError("unknown currency", 0x6F) from None
            self.currency = currency
        self.config, self.registered = config, True
        self._write(ACK, now)
        answer: list[Bmp] = [(0x19, 0x00), (0x29, self.terminal_id)]
        if currency is not None:
            answer.append((0x49, currency))
        self._queue(encode_apdu(0x06, 0x0F, encode_bmps(answer)), now)

    def _authorization(self, data: bytes, now: float) -> None:
        bmps = dict(decode_bmps(data))
        if 0x04 not in bmps:
            raise ZvtFormatError("an authorization needs its amount (BMP 04)", PROTOCOL_ERROR)
        if not self.registered:
            raise ZvtFormatError("register first", 0x6B)  # function deactivated
        if self._running is not None or self._awaiting is not None:
            raise ZvtFormatError("a transaction is running", 0x9C)  # please wait
        currency = int(bmps.get(0x49, self.currency))
        try:
            alpha = by_numeric(currency).alpha
        except (KeyError, ValueError):
            raise ZvtFormatError("unknown currency", 0x6F) from None
        self._write(ACK, now)
        self._running = f"zvt-{secrets.token_hex(8)}"
        request = SaleRequest(self._running, int(bmps[0x04]), alpha)
        self._events.append(MessageReceived(request, 0, ZVT_SESSION))

    # --- the outcome ----------------------------------------------------------------------

    def _result(self, result: TransactionResult, now: float) -> None:
        self._running = None
        if result.status is TransactionStatus.CANCELLED:
            self._receipts.clear()
            self._queue(encode_apdu(0x06, 0x1E, bytes((_CANCELLED,))), now)
            return
        approved = result.status is TransactionStatus.APPROVED
        code = result_code_of(result.response_code) if result.response_code.strip() else 0x66
        if not approved and code == 0:
            code = 0x66
        # status information, then the receipts for the ECR to print, then the completion
        self._queue(encode_apdu(0x04, 0x0F, encode_bmps(self._status_bmps(result, code))), now)
        for block in self._receipts:
            self._queue(block, now)
        self._receipts.clear()
        if approved:
            self._queue(encode_apdu(0x06, 0x0F), now)
        else:
            self._queue(encode_apdu(0x06, 0x1E, bytes((code,))), now)

    def _status_bmps(self, result: TransactionResult, code: int) -> list[Bmp]:
        when = datetime.fromtimestamp(result.time, timezone.utc)
        number = int(result.reference) if result.reference.isdigit() else 0
        bmps: list[Bmp] = [
            (0x27, code),
            (0x04, result.amount),
            (0x49, by_alpha(result.currency).numeric),
            (0x0B, number % 1_000_000),  # trace number
            (0x0C, int(when.strftime("%H%M%S"))),
            (0x0D, int(when.strftime("%m%d"))),
        ]
        if result.masked_pan:
            bmps.append((0x22, _masked_pan_field(result.masked_pan)))
        bmps.append((0x29, self.terminal_id))
        if result.auth_code:
            bmps.append((0x3B, result.auth_code.encode().ljust(8)[:8]))
        bmps += [(0x87, number % 10_000), (0x88, number % 1_000_000)]
        if result.masked_pan:
            bmps += [(0x8A, 0x0A), (0x8B, b"VISA")]  # the catalogue's AID is Visa's
        return bmps


def _masked_pan_field(masked: str) -> bytes:
    """BMP 22: the PAN in BCD with E for each masked digit, F-padded to whole bytes."""
    digits = masked.replace("*", "E")
    if len(digits) % 2:
        digits += "F"
    return bytes.fromhex(digits)


def _print_text_block(receipt: Receipt) -> bytes:
    """06 D3 with a TLV container: print texts (25) holding the receipt type (1F07: 01
    merchant, 02 customer) and one text line (07) per line."""
    kind = b"\x01" if receipt.copy is ReceiptCopy.MERCHANT else b"\x02"
    lines = [(0x07, line.encode("ascii", "replace")) for line in receipt.lines]
    container = encode_tlv([(0x25, [(0x1F07, kind), *lines])])
    return encode_apdu(0x06, 0xD3, encode_bmps([(0x06, container)]))
