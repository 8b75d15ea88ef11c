"""The terminal core: the transaction state machine and its decisions, with no I/O of its own.

Messages from the host and the cardholder's actions go in; messages for the host come out of
:meth:`TerminalCore.take_outbox`. The clock is passed in (``now``, Unix seconds). The card
reader, the authorizer, the journal and the secure element are handed in by the runner; the
core talks to them in plain calls and writes the journal before anything becomes visible.

>>> from firmware_sim.testing import make_core
>>> core = make_core()
>>> core.handle_message(SaleRequest("T1", 1234, "EUR"), now=0.0)
>>> [type(m).__name__ for m in core.take_outbox()][:2]
['Prompt', 'Prompt']
>>> core.state.name
'WAITING_FOR_CARD'
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Protocol

from transitions import Machine, MachineError

from keys import EncryptedPinBlock, KeyStore, Pin, PinPad
from keys.errors import SecureElementError
from protocols.apdu import CommandApdu, Ins, ResponseApdu, Sw, exchange_t0
from protocols.codes import (
    PROTOCOL_VERSION,
    CancelOutcome,
    Capability,
    EntryMode,
    PinBlockFormat,
    PinEntry,
    PromptId,
    ReceiptCopy,
    TransactionKind,
    TransactionStatus,
)
from protocols.currency import by_alpha, format_amount, format_money
from protocols.emvqr import build_mpm, parse_mpm
from protocols.errors import ErrorCode, ProtocolError
from protocols.messages import (
    CancelRequest,
    CancelResponse,
    Counter,
    Error,
    InfoRequest,
    InfoResponse,
    LastResultRequest,
    LookupRequest,
    Message,
    PinBlockRequest,
    PinBlockResponse,
    Prompt,
    Receipt,
    RefundRequest,
    SaleRequest,
    SettlementRequest,
    SettlementResponse,
    SimAccepted,
    SimEnterPin,
    SimPowerCycle,
    SimPresentCard,
    SimPressCancel,
    SimRemoveCard,
    StatusRequest,
    StatusResponse,
    TransactionResult,
    with_request_id,
)
from protocols.tlv import build_dol_data, decode_tlv, flatten, parse_dol
from protocols.track2 import Track2
from protocols.validation import mask_pan

from .authorizer import AuthorizationRequest, Authorizer, ChipData
from .cards import CATALOGUE, PPSE, PSE, CardProfile, Cvm, VirtualCard
from .journal import Journal, JournalEntry, JournalRuleError
from .prompts import LANGUAGES, prompt_text
from .receipts import ReceiptFacts, receipt_lines
from .states import CANCELLABLE_STATES, TRANSITIONS, TerminalState

__all__ = ["CardReader", "InProcessReader", "TerminalCore", "FIRMWARE_VERSION", "redact_apdu"]

FIRMWARE_VERSION = "0.1.0"
CARD_TIMEOUT = 60.0
CONTACTLESS_CVM_LIMIT = 5000  # minor units: above it a tap needs online PIN
PIN_TIMEOUT = 30.0
S = TerminalState
Origin = Hashable | None  # opaque to the core: where a request came from (the link session)


class CardReader(Protocol):
    """What the core needs of a contact reader: power and APDUs."""

    def power_on(self) -> bytes: ...

    def transmit(self, apdu: bytes) -> bytes: ...

    def power_off(self) -> None: ...


def redact_apdu(command: bytes) -> bytes:
    """The command as it may be shown or recorded: VERIFY's data (the plaintext PIN block) is
    replaced by zeros, so a clear PIN never reaches a trace, a log or the step display.

    >>> redact_apdu(bytes.fromhex("0020008008241234FFFFFFFFFF")).hex().upper()
    '00200080080000000000000000'
    """
    if len(command) > 5 and command[1] == Ins.VERIFY:
        return command[:5] + bytes(len(command) - 5)
    return command


class InProcessReader:
    """A reader holding a virtual card in this process."""

    def __init__(self, card: VirtualCard) -> None:
        self.card = card
        self.log: list[tuple[bytes, bytes]] = []

    def power_on(self) -> bytes:
        return self.card.power_on()

    def transmit(self, apdu: bytes) -> bytes:
        response = exchange_t0(self.card.execute, apdu)
        self.log.append((redact_apdu(apdu), response))
        return response

    def power_off(self) -> None:
        pass


class CardFailure(Exception):
    """The card answered in a way the flow cannot go on with."""


@dataclass
class Transaction:
    kind: TransactionKind
    client_transaction_id: str
    amount: int
    currency: str
    original_reference: str = ""
    entry_mode: EntryMode = EntryMode.NONE
    card: CardProfile | None = None
    reader: CardReader | None = None
    tags: dict[int, bytes] = field(default_factory=dict)
    track2: Track2 | None = None
    pin_block: EncryptedPinBlock | None = None
    cvm_result: str = ""
    chip: ChipData | None = None
    reference: str = ""
    response_code: str = ""
    auth_code: str = ""
    status: TransactionStatus | None = None
    language: str = "en"
    fallback: bool = False  # the chip failed: the stripe of a chip card is accepted
    qr_payload: str = ""  # the EMVCo merchant-presented QR shown for this sale

    @property
    def pan(self) -> str:
        if self.track2 is not None:
            return self.track2.pan
        return self.tags.get(0x5A, b"").hex().upper().rstrip("F")


class TerminalCore:
    """One terminal. ``wallet`` holds the cardholder's virtual cards by catalogue name, so a
    card's PIN try counter and ATC persist from one transaction to the next."""

    def __init__(
        self,
        *,
        journal: Journal,
        authorizer: Authorizer,
        store: KeyStore | None = None,
        catalogue: dict[str, CardProfile] | None = None,
        language: str = "en",
        serial_number: str = "PSM00000001",
        cardholder_pin: str | None = None,
        random: Callable[[int], bytes] = secrets.token_bytes,
        step_hook: Callable[[str, TerminalState, TerminalState, list[str]], None] | None = None,
        apdu_observer: Callable[[bytes, bytes], None] | None = None,
        display_observer: Callable[[str], None] | None = None,
        counters: Callable[[], dict[str, int]] | None = None,
    ) -> None:
        self.counters = counters  # the link's and the runner's, for STATUS
        self.display_observer = display_observer  # sees the QR payloads the display shows
        # step_hook(trigger, source, destination, triggers allowed now) runs before each
        # transition (step mode); apdu_observer(command, response) sees every APDU (traces)
        self.step_hook = None  # not while powering on: recovery runs before anyone watches
        self.apdu_observer = apdu_observer
        self.journal = journal
        self.authorizer = authorizer
        self._store = store or KeyStore.load()
        self._pin_pad: PinPad = self._store.pin_pad(*journal.pin_pad_counters())
        self.catalogue = catalogue or CATALOGUE
        self.language = language if language in LANGUAGES else "en"
        self.serial_number = serial_number
        self.cardholder_pin = cardholder_pin
        self._random = random
        self.wallet: dict[str, VirtualCard] = {}
        self.txn: Transaction | None = None
        self._request_id = 0  # of the request being handled: its answers carry it
        self._command_id = 0  # of the request that started the running command
        self._origin: Origin = None  # where the request being handled came from
        self._command_origin: Origin = None  # ... and the running command's request
        self._pin_block_request: PinBlockRequest | None = None
        self._outbox: list[tuple[Origin, Message]] = []
        self._now = 0.0
        self._deadline: float | None = None
        self.power_cycle_requested = False
        self.history: list[tuple[str, str, str]] = []  # (trigger, source, dest), for students
        self.machine = Machine(
            model=self,
            states=TerminalState,
            transitions=TRANSITIONS,
            initial=S.IDLE,
            queued=True,
            auto_transitions=False,
            before_state_change="_before",
            after_state_change="_entered",
            send_event=True,
        )
        self._on_enter: dict[TerminalState, Callable[[], None]] = {
            S.WAITING_FOR_CARD: self._enter_waiting_for_card,
            S.CARD_READ: self._enter_card_read,
            S.APPLICATION_SELECTION: self._enter_application_selection,
            S.READING_APPLICATION_DATA: self._enter_reading_application_data,
            S.CARDHOLDER_VERIFICATION: self._enter_cardholder_verification,
            S.OFFLINE_PIN: self._enter_pin_wait,
            S.ONLINE_PIN: self._enter_pin_wait,
            S.TERMINAL_RISK_MANAGEMENT: self._enter_risk_management,
            S.ONLINE_AUTHORIZATION: self._enter_online_authorization,
            S.COMPLETION: self._enter_completion,
            S.APPROVED: self._enter_outcome,
            S.DECLINED: self._enter_outcome,
            S.RECEIPT: self._enter_receipt,
            S.CARD_REMOVAL: self._enter_card_removal,
            S.CANCELLED: self._enter_cancelled,
            S.ERROR: self._enter_error,
            S.PIN_ENTRY: self._enter_pin_wait,
            S.QR_DISPLAYED: self._enter_qr_displayed,
            S.PIN_BLOCK_READY: self._enter_pin_block_ready,
            S.RECOVERY: self._enter_recovery,
            S.IDLE: self._enter_idle,
        }
        self._fire("power_on")
        self.step_hook = step_hook

    state: TerminalState  # set by transitions

    # --- plumbing ------------------------------------------------------------------------

    def _before(self, event: Any) -> None:
        if self.step_hook is not None:
            source = TerminalState[event.transition.source]
            dest = TerminalState[event.transition.dest]
            self.step_hook(event.event.name, source, dest, self.allowed_triggers())

    def _entered(self, event: Any) -> None:
        self.history.append((event.event.name, event.transition.source, event.transition.dest))
        self._on_enter[self.state]()

    def _fire(self, trigger: str) -> None:
        getattr(self, trigger)()

    def take_outbox(self) -> list[Message]:
        """The messages for the host, oldest first."""
        return [message for _, message in self.take_addressed()]

    def take_addressed(self) -> list[tuple[Origin, Message]]:
        """The messages for the host, each with the ``origin`` of the request it answers (as
        given to :meth:`handle_message`), so the runner can drop an answer whose session has
        ended."""
        out, self._outbox = self._outbox, []
        return out

    def next_deadline(self) -> float | None:
        return self._deadline

    def allowed_triggers(self) -> list[str]:
        return sorted(self.machine.get_triggers(self.state))

    def _send(self, message: Message) -> None:
        """Send a message of the running command: it carries the command's request id."""
        self._outbox.append((self._command_origin, with_request_id(message, self._command_id)))

    def _reply(self, message: Message) -> None:
        """Answer the request being handled now: the answer carries its request id."""
        self._outbox.append((self._origin, with_request_id(message, self._request_id)))

    def _prompt(self, prompt_id: PromptId) -> None:
        language = self.txn.language if self.txn else self.language
        self._send(Prompt(prompt_id, language, prompt_text(prompt_id, language)))

    def _error(self, code: ErrorCode, text: str, field_name: str = "") -> None:
        self._send(Error(code, field_name, text[:255]))

    def _reply_error(self, code: ErrorCode, text: str, field_name: str = "") -> None:
        self._reply(Error(code, field_name, text[:255]))

    def _run(self, action: Callable[[], None]) -> None:
        """Run an action that fires triggers; any fault ends the transaction in ERROR."""
        try:
            action()
        except MachineError:
            raise
        except Exception as e:  # noqa: BLE001 - a fault must never crash the terminal
            self._fault(e)

    _failure: Exception | None = None

    def _fault(self, error: Exception) -> None:
        self._failure = error
        if self.state is S.IDLE:
            self._reply_error(ErrorCode.INTERNAL_ERROR, f"internal error: {type(error).__name__}")
            return
        try:
            self._fire("fail")
        except MachineError:  # pragma: no cover - a fault where the table expects none
            self.machine.set_state(S.ERROR)
            self._enter_error()

    # --- inputs --------------------------------------------------------------------------

    def handle_message(self, message: Message, now: float, origin: Origin = None) -> None:
        """A message from the host. Its answers carry its ``request_id``; a command it starts
        (sale, refund, PIN block) sends its prompts and outcome under the same id. ``origin``
        (the link session it came in) comes back with each answer from :meth:`take_addressed`.
        """
        self._now = now
        self._request_id, self._origin = message.request_id, origin
        handler = self._HANDLERS.get(type(message))
        if handler is None:
            self._reply_error(ErrorCode.UNEXPECTED_MESSAGE, f"{type(message).__name__} is not a request")
            return
        try:
            handler(self, message)
        except MachineError:
            self._reply_error(ErrorCode.NOT_ALLOWED_NOW, f"not allowed in state {self.state.name}")

    def reject(self, error: ProtocolError, request_id: int = 0, origin: Origin = None) -> None:
        """A frame that arrived intact but did not decode: answer with its code."""
        self._request_id, self._origin = request_id, origin
        self._reply_error(error.error_code, str(error), error.field or "")

    def tick(self, now: float) -> None:
        """Let time pass: a wait for a card or a PIN that runs out ends as cancelled."""
        self._now = now
        if (
            self._deadline is not None
            and now >= self._deadline
            and self.state in CANCELLABLE_STATES
        ):
            self._deadline = None
            self._run(lambda: self._fire("cancel"))

    # cardholder's actions (from simulation control, the automatic or a typing cardholder)

    def present_card(self, name: str, mode: EntryMode, now: float) -> None:
        self._now = now
        profile = self.catalogue.get(name)
        if profile is None:
            raise KeyError(name)
        if mode not in profile.interfaces:
            mode = EntryMode.NONE
        txn = self.txn
        if txn is None or self.state is not S.WAITING_FOR_CARD:
            raise MachineError("no card is wanted now")
        txn.card, txn.entry_mode = profile, mode
        self._run(lambda: self._fire("card_presented"))

    def present_reader(self, reader: CardReader, now: float) -> None:
        """A card was inserted in a real (PC/SC) reader: read it by its chip."""
        self._now = now
        txn = self.txn
        if txn is None or self.state is not S.WAITING_FOR_CARD:
            raise MachineError("no card is wanted now")
        txn.card, txn.reader, txn.entry_mode = None, reader, EntryMode.CHIP
        self._run(lambda: self._fire("card_presented"))

    def wallet_pays(self, now: float) -> None:
        """The simulated wallet scans the QR code on the display and pays it with its card."""
        self._now = now
        txn = self.txn
        if txn is None or self.state is not S.QR_DISPLAYED or txn.card is None:
            raise MachineError("no QR code is waiting to be paid")
        scanned = parse_mpm(txn.qr_payload)  # the wallet checks the CRC and the amount
        if scanned.get("54") != format_amount(txn.amount, txn.currency):
            raise MachineError("the QR code's amount is not the sale's")
        txn.track2 = txn.card.track2  # the wallet's card credentials go to the issuer
        self._run(lambda: self._fire("wallet_paid"))

    def enter_pin(self, entry: PinEntry, now: float) -> None:
        """The simulated cardholder keys in the card's PIN, a wrong one, or bypasses."""
        self.type_pin(self._typed_pin(entry), now)

    def type_pin(self, pin: Pin | None, now: float) -> None:
        """PIN digits from the keypad (None: the cardholder bypasses PIN entry)."""
        self._now = now
        if self.state not in (S.OFFLINE_PIN, S.ONLINE_PIN, S.PIN_ENTRY):
            raise MachineError("no PIN is wanted now")
        self._run(lambda: self._pin_entered(pin))

    def remove_card(self, now: float) -> None:
        self._now = now
        if self.txn is not None and self.txn.reader is not None:
            self.txn.reader.power_off()
        if self.state is S.CARD_REMOVAL:
            self._run(lambda: self._fire("finish"))
        elif self.state in (S.OFFLINE_PIN, S.ONLINE_PIN) and self.txn and self.txn.reader:
            self._run(lambda: self._fire("cancel"))

    def press_cancel(self, now: float) -> None:
        self._now = now
        if self.state in CANCELLABLE_STATES:
            self._run(lambda: self._fire("cancel"))

    # --- host requests -------------------------------------------------------------------

    def _info(self, message: InfoRequest) -> None:
        capabilities = (
            Capability.CHIP
            | Capability.SWIPE
            | Capability.PIN_PAD
            | Capability.PRINTER
            | Capability.DUKPT_TDES
            | Capability.DUKPT_AES
            | Capability.SIMULATION_CONTROL
        )
        self._reply(
            InfoResponse(PROTOCOL_VERSION, FIRMWARE_VERSION, self.serial_number, capabilities)
        )

    def _status(self, message: StatusRequest) -> None:
        txn = self.txn
        counts = {f"journal_{k}": v for k, v in self.journal.counts().items()}
        counts.update(self.counters() if self.counters is not None else {})
        self._reply(
            StatusResponse(
                state=self.state.name,
                kind=int(txn.kind) if txn else 0,
                client_transaction_id=txn.client_transaction_id if txn else "",
                amount=txn.amount if txn else 0,
                currency=txn.currency if txn else "",
                reference=txn.reference if txn else "",
                counters=tuple(Counter(k, min(v, 0xFFFFFFFF)) for k, v in counts.items()),
            )
        )

    def _busy(self) -> bool:
        if self.state is not S.IDLE:
            self._reply_error(ErrorCode.BUSY, f"a command is running ({self.state.name})")
            return True
        return False

    def _start(self, message: SaleRequest | RefundRequest) -> None:
        if self._busy():
            return
        kind = TransactionKind.SALE if isinstance(message, SaleRequest) else TransactionKind.REFUND
        original = message.original_reference if isinstance(message, RefundRequest) else ""
        try:
            existing = self.journal.check_new(
                message.client_transaction_id, kind, message.amount, message.currency, original
            )
        except JournalRuleError as e:
            self._reply_error(e.error_code, str(e), e.field)
            return
        if existing is not None:
            self._reply_outcome(existing)
            return
        self.txn = Transaction(
            kind,
            message.client_transaction_id,
            message.amount,
            message.currency,
            original,
            language=self.language,
        )
        self._command_id, self._command_origin = message.request_id, self._origin
        self._run(
            lambda: self._fire("start_sale" if kind is TransactionKind.SALE else "start_refund")
        )

    def _pin_block(self, message: PinBlockRequest) -> None:
        if self._busy():
            return
        self._pin_block_request = message
        self._command_id, self._command_origin = message.request_id, self._origin
        self._run(lambda: self._fire("start_pin_block"))

    def _cancel(self, message: CancelRequest) -> None:
        if self.state in CANCELLABLE_STATES:
            self._reply(CancelResponse(CancelOutcome.CANCELLED))
            self._run(lambda: self._fire("cancel"))
        elif self.state is S.IDLE:
            self._reply(CancelResponse(CancelOutcome.NOTHING_RUNNING))
        else:
            self._reply(CancelResponse(CancelOutcome.TOO_LATE))

    def _last(self, message: LastResultRequest) -> None:
        entry = self.journal.last()
        if entry is None:
            self._reply_error(ErrorCode.NO_TRANSACTION, "no transaction yet")
        else:
            self._reply_outcome(entry)

    def _lookup(self, message: LookupRequest) -> None:
        entry = self.journal.lookup(message.client_transaction_id)
        if entry is None or entry.state == "authorizing":
            self._reply_error(
                ErrorCode.UNKNOWN_TRANSACTION, "no such transaction", "client_transaction_id"
            )
        else:
            self._reply_outcome(entry)

    def _settle(self, message: SettlementRequest) -> None:
        if self._busy():
            return
        batch, totals = self.journal.settle()
        self._reply(SettlementResponse(batch, totals))

    # Simulation control: check that the action is possible, acknowledge it, then do it, so
    # that SIM_ACCEPTED comes before what the action sets off.

    def _sim_present(self, message: SimPresentCard) -> None:
        if message.card not in self.catalogue:
            self._reply_error(ErrorCode.UNKNOWN_CARD, f"no card {message.card!r}", "card")
            return
        if self.state is not S.WAITING_FOR_CARD:
            raise MachineError("no card is wanted now")
        self._reply(SimAccepted())
        self.present_card(message.card, message.entry_mode, self._now)
        if self.state in {S.QR_DISPLAYED}:  # the simulated wallet scans and pays at once
            self.wallet_pays(self._now)

    def _sim_pin(self, message: SimEnterPin) -> None:
        if self.state not in (S.OFFLINE_PIN, S.ONLINE_PIN, S.PIN_ENTRY):
            raise MachineError("no PIN is wanted now")
        self._reply(SimAccepted())
        self.enter_pin(message.entry, self._now)

    def _sim_cancel(self, message: SimPressCancel) -> None:
        self._reply(SimAccepted())
        self.press_cancel(self._now)

    def _sim_remove(self, message: SimRemoveCard) -> None:
        self._reply(SimAccepted())
        self.remove_card(self._now)

    def _sim_power(self, message: SimPowerCycle) -> None:
        self.power_cycle_requested = True
        self._reply(SimAccepted())

    _HANDLERS: dict[type, Callable[[TerminalCore, Any], None]] = {
        InfoRequest: _info,
        SaleRequest: _start,
        RefundRequest: _start,
        PinBlockRequest: _pin_block,
        CancelRequest: _cancel,
        LastResultRequest: _last,
        LookupRequest: _lookup,
        SettlementRequest: _settle,
        StatusRequest: _status,
        SimPresentCard: _sim_present,
        SimEnterPin: _sim_pin,
        SimPressCancel: _sim_cancel,
        SimRemoveCard: _sim_remove,
        SimPowerCycle: _sim_power,
    }

    # --- states ---------------------------------------------------------------------------

    def _enter_idle(self) -> None:
        self.txn = None
        self._pin_block_request = None
        self._deadline = None

    def _enter_recovery(self) -> None:
        for entry in self.journal.unfinished():
            self.authorizer.reverse(entry.reference)
            facts = ReceiptFacts(
                entry.kind,
                entry.amount,
                entry.currency,
                entry.masked_pan,
                entry.entry_mode,
                "reversed",
                "96",
                entry.reference,
                "",
                entry.time,
            )
            self.journal.record_reversal(
                entry.client_transaction_id, *self._receipts(facts, self.language)
            )
        self._fire("finish")

    def _enter_waiting_for_card(self) -> None:
        assert self.txn is not None
        self._deadline = self._now + CARD_TIMEOUT
        self._send(
            Prompt(
                PromptId.AMOUNT,
                self.txn.language,
                format_money(self.txn.amount, self.txn.currency),
            )
        )
        self._prompt(PromptId.INSERT_CARD)

    def _enter_card_read(self) -> None:
        txn = self.txn
        assert txn is not None
        self._deadline = None
        if txn.card is None and txn.reader is not None:  # a card in a real reader
            txn.reader.power_on()
            self._fire("chip_read")
            return
        card = txn.card
        assert card is not None
        if txn.entry_mode in (EntryMode.CHIP, EntryMode.TAP):
            virtual = self.wallet.setdefault(card.name, VirtualCard(card, self._store))
            txn.reader = InProcessReader(virtual)
            txn.reader.power_on()
            self._fire("chip_read" if txn.entry_mode is EntryMode.CHIP else "tap_read")
        elif txn.entry_mode is EntryMode.QR:
            txn.qr_payload = build_mpm(
                amount=format_amount(txn.amount, txn.currency),
                currency_numeric=by_alpha(txn.currency).numeric,
                reference=txn.client_transaction_id[:25],
                merchant_id=self.serial_number,
            )
            self._prompt(PromptId.SCAN_QR_CODE)
            if self.display_observer is not None:
                self.display_observer(txn.qr_payload)
            self._fire("show_qr")
        elif txn.entry_mode is EntryMode.SWIPE:
            txn.track2 = card.track2
            if txn.track2.chip_card and not txn.fallback:
                self._prompt(PromptId.USE_CHIP_READER)  # a chip card must use its chip
                self._fire("use_chip")
            else:
                self._fire("stripe_read")
        else:
            self._prompt(PromptId.NOT_ACCEPTED)
            self._fire("use_chip")

    def _apdu(self, apdu: CommandApdu) -> ResponseApdu:
        assert self.txn is not None and self.txn.reader is not None
        command = apdu.encode()
        raw = self.txn.reader.transmit(command)
        if self.apdu_observer is not None:
            self.apdu_observer(redact_apdu(command), raw)
        return ResponseApdu.decode(raw)

    def _enter_application_selection(self) -> None:
        assert self.txn is not None
        if self.txn.entry_mode is EntryMode.TAP:
            self._select_contactless()
            return
        select_pse = self._apdu(CommandApdu(0x00, Ins.SELECT, 0x04, 0x00, PSE, le=0))
        if select_pse.sw & 0xFF00 == 0x6F00:
            # the chip does not work: fall back to the stripe (EMV Book 4 11.1)
            self.txn.fallback = True
            self._prompt(PromptId.USE_MAG_STRIPE)
            self._fire("chip_failed")
            return
        if not select_pse.ok:
            raise CardFailure("no payment system environment")
        self._take_language(flatten(decode_tlv(select_pse.data)))
        directory = self._apdu(CommandApdu(0x00, Ins.READ_RECORD, 0x01, 0x0C, le=0))
        aid = flatten(decode_tlv(directory.data)).get(0x4F)
        if not directory.ok or aid is None:
            raise CardFailure("no application in the directory")
        select = self._apdu(CommandApdu(0x00, Ins.SELECT, 0x04, 0x00, aid, le=0))
        if not select.ok:
            raise CardFailure("the application cannot be selected")
        self.txn.tags.update(flatten(decode_tlv(select.data)))
        self._take_language(self.txn.tags)
        self._fire("application_selected")

    def _select_contactless(self) -> None:
        """EMV contactless Book B entry point, simplified: SELECT the PPSE, take the first
        application of its directory, SELECT it."""
        assert self.txn is not None
        ppse = self._apdu(CommandApdu(0x00, Ins.SELECT, 0x04, 0x00, PPSE, le=0))
        aid = flatten(decode_tlv(ppse.data)).get(0x4F) if ppse.ok else None
        if aid is None:
            raise CardFailure("no contactless application (PPSE)")
        select = self._apdu(CommandApdu(0x00, Ins.SELECT, 0x04, 0x00, aid, le=0))
        if not select.ok:
            raise CardFailure("the contactless application cannot be selected")
        self.txn.tags.update(flatten(decode_tlv(select.data)))
        self._take_language(self.txn.tags)
        self._fire("application_selected")

    def _take_language(self, tags: dict[int, bytes]) -> None:
        """The card's language preference (tag 5F2D), if this terminal speaks it."""
        assert self.txn is not None
        preferences = tags.get(0x5F2D, b"").decode("ascii", "replace")
        for i in range(0, len(preferences) - 1, 2):
            if preferences[i : i + 2] in LANGUAGES:
                self.txn.language = preferences[i : i + 2]
                return

    def _terminal_data(self) -> dict[int, bytes]:
        txn = self.txn
        assert txn is not None
        when = datetime.fromtimestamp(self._now, timezone.utc)
        return {
            0x9F02: bytes.fromhex(f"{txn.amount:012d}"),
            0x9F03: bytes(6),
            0x9F1A: bytes.fromhex("0826"),
            0x95: bytes(5),
            0x5F2A: bytes.fromhex(f"{by_alpha(txn.currency).numeric:04d}"),
            0x9A: bytes.fromhex(when.strftime("%y%m%d")),
            0x9C: b"\x00" if txn.kind is TransactionKind.SALE else b"\x20",
            0x9F37: self._random(4),
            0x9F66: self._ttq(),
        }

    def _ttq(self) -> bytes:
        """Terminal transaction qualifiers: zero on the contact path; for a tap, qVSDC and
        online PIN supported, and CVM required above the contactless CVM limit."""
        txn = self.txn
        if txn is None or txn.entry_mode is not EntryMode.TAP:
            return bytes(4)
        return bytes((0x24, 0x40 if txn.amount > CONTACTLESS_CVM_LIMIT else 0x00, 0x00, 0x00))

    def _enter_reading_application_data(self) -> None:
        txn = self.txn
        assert txn is not None
        pdol = parse_dol(txn.tags.get(0x9F38, b""))
        data = build_dol_data(pdol, self._terminal_data())
        gpo = self._apdu(
            CommandApdu(
                0x80, Ins.GET_PROCESSING_OPTIONS, 0, 0, bytes((0x83, len(data))) + data, le=0
            )
        )
        if not gpo.ok:
            raise CardFailure("GET PROCESSING OPTIONS was refused")
        answer = flatten(decode_tlv(gpo.data))
        if 0x80 in answer:  # format 1: AIP and AFL
            template = answer[0x80]
            txn.tags[0x82], afl = template[:2], template[2:]
        else:  # format 2 (contactless): the cryptogram comes with it
            txn.tags[0x82], afl = answer.get(0x82, b""), answer.get(0x94, b"")
            atc, cid = answer.get(0x9F36, b"\x00\x00"), answer.get(0x9F27, b"\x00")
            txn.tags[0x9F36], txn.tags[0x9F27] = atc, cid
            txn.chip = ChipData(atc, data + txn.tags[0x82] + atc, answer.get(0x9F26, b""))
        for i in range(0, len(afl), 4):
            sfi, first, last = afl[i] >> 3, afl[i + 1], afl[i + 2]
            for record in range(first, last + 1):
                response = self._apdu(
                    CommandApdu(0x00, Ins.READ_RECORD, record, sfi << 3 | 4, le=0)
                )
                if not response.ok:
                    raise CardFailure(f"record {record} of SFI {sfi} is missing")
                for tag, value in flatten(decode_tlv(response.data)).items():
                    txn.tags.setdefault(tag, value)
        if 0x57 in txn.tags:
            txn.track2 = Track2.decode(txn.tags[0x57])
        self._fire("data_read")

    def _enter_cardholder_verification(self) -> None:
        txn = self.txn
        assert txn is not None
        if txn.kind is TransactionKind.REFUND:
            txn.cvm_result = "NO CVM (REFUND)"
            self._fire("verified")
            return
        if txn.entry_mode is EntryMode.SWIPE:
            self._fire("ask_online_pin")
            return
        if txn.entry_mode is EntryMode.QR:
            txn.cvm_result = "NO CVM (WALLET)"  # the wallet authenticated its holder
            self._fire("verified")
            return
        if txn.entry_mode is EntryMode.TAP:
            if txn.amount > CONTACTLESS_CVM_LIMIT:
                self._fire("ask_online_pin")
            else:
                txn.cvm_result = "NO CVM (CONTACTLESS)"
                self._fire("verified")
            return
        cvm_list = txn.tags.get(0x8E, b"")
        rule = cvm_list[8] & 0x3F if len(cvm_list) >= 10 else Cvm.NO_CVM.value
        if rule == Cvm.OFFLINE_PIN.value:
            self._fire("ask_offline_pin")
        elif rule == Cvm.ONLINE_PIN.value:
            self._fire("ask_online_pin")
        else:
            txn.cvm_result = "NO CVM"
            self._fire("verified")

    def _enter_qr_displayed(self) -> None:
        self._deadline = self._now + CARD_TIMEOUT

    def _enter_pin_wait(self) -> None:
        self._deadline = self._now + PIN_TIMEOUT
        self._prompt(PromptId.ENTER_PIN)

    def _typed_pin(self, entry: PinEntry) -> Pin | None:
        card = self.txn.card if self.txn else None
        correct = card.pin if card else (self.cardholder_pin or "1234")
        if entry is PinEntry.BYPASS:
            return None
        if entry is PinEntry.CORRECT:
            return Pin(correct)
        return Pin("0000" if correct != "0000" else "1111")

    def cardholder_types(self) -> PinEntry:
        """What the automatic cardholder keys in: the PIN it believes in (``--pin``, else the
        card's own, else the catalogue's cardholder PIN) decides correct or wrong."""
        card = self.txn.card if self.txn else None
        believed = self.cardholder_pin or (card.typed_pin if card else "1234")
        actual = card.pin if card else (self.cardholder_pin or "1234")
        return PinEntry.CORRECT if believed == actual else PinEntry.WRONG

    def _pin_entered(self, pin: Pin | None) -> None:
        self._deadline = None
        if self.state is S.PIN_ENTRY:
            request = self._pin_block_request
            assert request is not None
            if pin is None:
                self._fire("cancel")
                return
            self._encrypted = self._pin_pad.encrypt(pin, request.pan, request.format)
            self.journal.save_pin_pad_counters(self._pin_pad.counters)
            self._fire("pin_typed")
            return
        txn = self.txn
        assert txn is not None
        if pin is None:  # PIN bypass: not allowed by these cards' CVM lists
            txn.response_code = "55"
            self._fire("decline")
        elif self.state is S.ONLINE_PIN:
            txn.pin_block = self._pin_pad.encrypt(pin, txn.pan, PinBlockFormat.ISO_0)
            txn.cvm_result = "PIN VERIFIED ONLINE"
            self._fire("verified")
        else:
            self._verify_offline(pin)

    def _verify_offline(self, pin: Pin) -> None:
        txn = self.txn
        assert txn is not None
        block = f"2{len(pin):X}{pin._digits}".ljust(16, "F")
        response = self._apdu(CommandApdu(0x00, Ins.VERIFY, 0x00, 0x80, bytes.fromhex(block)))
        if response.ok:
            txn.cvm_result = "PIN VERIFIED"
            self._prompt(PromptId.PIN_OK)
            self._fire("verified")
            return
        tries = Sw.pin_tries_left(response.sw)
        if tries:
            self._prompt(PromptId.INCORRECT_PIN)
            if tries == 1:
                self._prompt(PromptId.LAST_PIN_TRY)
            self._fire("pin_incorrect")
            return
        txn.response_code = "75"  # PIN tries exceeded
        self._fire("decline")

    def _enter_risk_management(self) -> None:
        # Floor limit zero: every transaction goes online. The first GENERATE AC asks for an
        # ARQC over CDOL1; the card adds its AIP and ATC.
        txn = self.txn
        assert txn is not None
        if txn.entry_mode is EntryMode.TAP and txn.tags.get(0x9F27, b"\x80")[0] & 0xC0 != 0x80:
            txn.response_code = "Z1"  # the card declined offline (AAC at GPO)
            self._fire("decline")
            return
        if txn.entry_mode is EntryMode.CHIP and txn.kind is TransactionKind.SALE:
            cdol1 = parse_dol(txn.tags.get(0x8C, b""))
            data = build_dol_data(cdol1, self._terminal_data())
            response = self._apdu(CommandApdu(0x80, Ins.GENERATE_AC, 0x80, 0x00, data, le=0))
            if not response.ok:
                raise CardFailure("first GENERATE AC was refused")
            template = flatten(decode_tlv(response.data)).get(0x80, b"")
            cid, atc, cryptogram = template[0], template[1:3], template[3:11]
            if cid & 0xC0 != 0x80:
                txn.response_code = "Z1"  # the card declined offline (AAC)
                self._fire("decline")
                return
            txn.chip = ChipData(atc, data + txn.tags.get(0x82, b"") + atc, cryptogram)
            txn.tags[0x9F36] = atc
        self._fire("go_online")

    def _enter_online_authorization(self) -> None:
        txn = self.txn
        assert txn is not None
        self._prompt(PromptId.AUTHORISING)
        pan = txn.pan
        txn.reference = self.journal.record_authorizing(
            txn.client_transaction_id,
            txn.kind,
            txn.amount,
            txn.currency,
            txn.original_reference,
            mask_pan(pan),
            txn.entry_mode,
            int(self._now),
            self._pin_pad.counters if txn.pin_block is not None else None,
        )
        if txn.track2 is not None:
            expiry = txn.track2.expiry
        elif 0x5F24 in txn.tags:
            expiry = txn.tags[0x5F24].hex()[:4]
        else:
            expiry = txn.card.expiry if txn.card else "0000"
        when = datetime.fromtimestamp(self._now, timezone.utc)
        psn = txn.tags.get(0x5F34, b"\x00").hex()
        response = self.authorizer.authorize(
            AuthorizationRequest(
                kind=txn.kind,
                reference=txn.reference,
                pan=pan,
                pan_sequence=psn,
                expiry=expiry,
                amount=txn.amount,
                currency=txn.currency,
                entry_mode=txn.entry_mode,
                date=when.strftime("%Y%m"),
                pin_block=txn.pin_block,
                chip=txn.chip,
                original_reference=txn.original_reference,
            )
        )
        txn.response_code, txn.auth_code = response.response_code, response.auth_code
        self._arpc = response.arpc
        if txn.chip is not None and txn.entry_mode is EntryMode.CHIP:
            self._fire("authorized")
        elif response.approved:
            self._fire("approve")
        else:
            self._fire("decline")

    def _enter_completion(self) -> None:
        txn = self.txn
        assert txn is not None
        arc = txn.response_code.encode()[:2]
        values = {0x8A: arc, 0x91: self._arpc + arc, **self._terminal_data()}
        cdol2 = parse_dol(txn.tags.get(0x8D, b""))
        data = build_dol_data(cdol2, values)
        p1 = 0x40 if txn.response_code == "00" else 0x00  # ask for a TC only when approved
        response = self._apdu(CommandApdu(0x80, Ins.GENERATE_AC, p1, 0x00, data, le=0))
        template = flatten(decode_tlv(response.data)).get(0x80, b"") if response.ok else b""
        if template[:1] == b"\x40":
            self._fire("approve")
            return
        if txn.response_code == "00":
            txn.response_code = "Z3"  # approved online but the card refused (AAC)
            self.authorizer.reverse(txn.reference)
        self._fire("decline")

    def _enter_outcome(self) -> None:
        txn = self.txn
        assert txn is not None
        approved = self.state is S.APPROVED
        txn.status = TransactionStatus.APPROVED if approved else TransactionStatus.DECLINED
        if approved:
            txn.response_code = "00"
        self._prompt(PromptId.APPROVED if approved else PromptId.DECLINED)
        self._fire("print_receipt")

    def _enter_receipt(self) -> None:
        txn = self.txn
        assert txn is not None and txn.status is not None
        facts = ReceiptFacts(
            txn.kind,
            txn.amount,
            txn.currency,
            mask_pan(txn.pan) if txn.pan else "",
            txn.entry_mode,
            "approved" if txn.status is TransactionStatus.APPROVED else "declined",
            txn.response_code,
            txn.reference,
            txn.auth_code,
            int(self._now),
            txn.cvm_result,
        )
        receipts = self._receipts(facts, txn.language)
        entry = self._record(txn.status, txn.response_code, txn.auth_code, receipts)
        self._send_outcome(entry)
        if txn.entry_mode is EntryMode.CHIP:
            self._fire("ask_removal")
        else:
            self._fire("finish")

    def _enter_card_removal(self) -> None:
        self._prompt(PromptId.REMOVE_CARD)

    def _enter_cancelled(self) -> None:
        self._deadline = None
        if self._pin_block_request is not None:
            self._prompt(PromptId.CANCELLED)
            self._error(ErrorCode.NOT_ALLOWED_NOW, "PIN entry cancelled")
            self._fire("finish")
            return
        txn = self.txn
        assert txn is not None
        self._prompt(PromptId.CANCELLED)
        entry = self._record(TransactionStatus.CANCELLED, "", "", ((), ()))
        self._send_outcome(entry)
        self._fire("finish")

    def _enter_error(self) -> None:
        self._deadline = None
        failure = getattr(self, "_failure", None)
        text = f"{type(failure).__name__}: {failure}" if failure else "the transaction failed"
        code = (
            ErrorCode.CARD_ERROR
            if isinstance(failure, (CardFailure, ProtocolError))
            else (
                ErrorCode.KEY_ERROR
                if isinstance(failure, SecureElementError)
                else ErrorCode.INTERNAL_ERROR
            )
        )
        txn = self.txn
        try:
            if txn is not None and txn.reference:
                # the authorizer may have approved: undo it, then record the truth
                self.authorizer.reverse(txn.reference)
                self.journal.record_reversal(txn.client_transaction_id, (), ())
            elif txn is not None:
                self._record(TransactionStatus.FAILED, "", "", ((), ()))
        except Exception:  # noqa: BLE001 - the journal failed too; recovery will reverse
            code, text = ErrorCode.JOURNAL_ERROR, f"{text}; the journal could not record it"
        self._prompt(PromptId.PROCESSING_ERROR)
        self._error(code, text)
        self._failure = None
        self._fire("finish")

    def _enter_pin_block_ready(self) -> None:
        block = self._encrypted
        self._send(PinBlockResponse(block.format, block.pin_block, block.ksn))
        self._fire("finish")

    def _record(
        self,
        status: TransactionStatus,
        response_code: str,
        auth_code: str,
        receipts: tuple[tuple[str, ...], tuple[str, ...]],
    ) -> JournalEntry:
        """Commit the running transaction's outcome to the journal, with the cardholder's
        and the merchant's receipts."""
        txn = self.txn
        assert txn is not None
        return self.journal.record_completion(
            txn.client_transaction_id,
            txn.kind,
            txn.amount,
            txn.currency,
            txn.original_reference,
            status,
            response_code,
            auth_code,
            mask_pan(txn.pan) if txn.pan else "",
            txn.entry_mode,
            int(self._now),
            *receipts,
        )

    def _receipts(
        self, facts: ReceiptFacts, card_language: str
    ) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """The cardholder's copy in the card's language, the merchant's in the terminal's."""
        return (
            receipt_lines(facts, card_language, ReceiptCopy.CUSTOMER),
            receipt_lines(facts, self.language, ReceiptCopy.MERCHANT),
        )

    def _reply_outcome(self, entry: JournalEntry) -> None:
        """A stored outcome as the answer to the request being handled (LOOKUP, LAST, a
        repeated SALE)."""
        self._send_outcome(entry, self._reply)

    def _send_outcome(
        self, entry: JournalEntry, send: Callable[[Message], None] | None = None
    ) -> None:
        send = send or self._send
        status = entry.status if entry.status is not None else TransactionStatus.FAILED
        if entry.receipt:
            send(Receipt(entry.client_transaction_id, ReceiptCopy.CUSTOMER, entry.receipt))
        if entry.merchant_receipt:
            send(Receipt(entry.client_transaction_id, ReceiptCopy.MERCHANT, entry.merchant_receipt))
        send(
            TransactionResult(
                client_transaction_id=entry.client_transaction_id,
                kind=entry.kind,
                status=status,
                response_code=entry.response_code.ljust(2)[:2],
                auth_code=entry.auth_code,
                reference=entry.reference,
                amount=entry.amount,
                currency=entry.currency,
                masked_pan=entry.masked_pan,
                entry_mode=entry.entry_mode,
                original_reference=entry.original_reference,
                time=entry.time,
            )
        )
