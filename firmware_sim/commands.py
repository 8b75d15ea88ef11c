"""Host commands in, answers out: the dispatcher for every request the host can send, the
busy rule (one command at a time), cancel, the stored-outcome queries, settlement and the
simulation controls. A request that the state does not allow is answered NOT_ALLOWED_NOW by
the core; nothing here waits.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from transitions import MachineError

from protocols.codes import (
    PROTOCOL_VERSION,
    CancelOutcome,
    Capability,
    SaleOption,
    TransactionKind,
)
from protocols.errors import ErrorCode, FieldError
from protocols.messages import (
    CancelRequest,
    CancelResponse,
    Counter,
    FollowUpRequest,
    InfoRequest,
    InfoResponse,
    LastResultRequest,
    LookupRequest,
    MerchantAccepted,
    MerchantLogin,
    Message,
    PinBlockRequest,
    PreauthRequest,
    RefundRequest,
    SaleRequest,
    SetPassword,
    SettlementRequest,
    SettlementResponse,
    SimAccepted,
    SimChooseTip,
    SimEnterPin,
    SimPowerCycle,
    SimPresentCard,
    SimPressCancel,
    SimRemoveCard,
    StatusRequest,
    StatusResponse,
)
from protocols.pairing_messages import PairBegin, PairingsRequest, PairStep

from .application import KIND_RULES
from .application.kinds import SETTLED_KINDS
from .application.transaction import Transaction
from .authorizer import Reconciler
from .journal import JournalRuleError, NewTransaction
from .journal_rules import authorized_total, current_tip
from .states import CANCELLABLE_STATES, TerminalState

if TYPE_CHECKING:
    from .core import TerminalCore
    from .pairing import PairingDesk

__all__ = ["FIRMWARE_VERSION", "HostCommands"]

FIRMWARE_VERSION = "0.1.0"
S = TerminalState
CAPABILITIES = (
    Capability.CHIP
    | Capability.SWIPE
    | Capability.PIN_PAD
    | Capability.PRINTER
    | Capability.DUKPT_TDES
    | Capability.DUKPT_AES
    | Capability.SIMULATION_CONTROL
)


class HostCommands:
    def __init__(self, core: TerminalCore) -> None:
        self._core = core

    def handle(self, message: Message) -> bool:
        """Serve a request; False when the message is not a request the terminal serves."""
        method = _HANDLERS.get(type(message))
        if method is None:
            return False
        if _merchant_only(message) and self._core.merchant.required(self._core.origin):
            self._core.merchant.refused()
            self._core.reply_error(
                ErrorCode.PASSWORD_REQUIRED,
                "a merchant command: log in with the merchant password first",
            )
            return True
        method(self, message)
        return True

    def merchant_login(self, message: MerchantLogin) -> None:
        core = self._core
        refusal = core.merchant.login(core.origin, message.password, core.now)
        if refusal is None:
            core.reply(MerchantAccepted())
        else:
            core.reply_error(*refusal)

    def set_password(self, message: SetPassword) -> None:
        core = self._core
        refusal = core.merchant.set_password(core.origin, message.current, message.new, core.now)
        if refusal is None:
            core.reply(MerchantAccepted())
        else:
            core.reply_error(*refusal)

    def pair_begin(self, message: PairBegin) -> None:
        self._answer_pairing(lambda desk: desk.begin(self._core.origin, message, self._core.now))

    def pair_step(self, message: PairStep) -> None:
        self._answer_pairing(lambda desk: desk.step(self._core.origin, message, self._core.now))

    def pairings(self, message: PairingsRequest) -> None:
        self._answer_pairing(lambda desk: desk.manage(message))

    def _answer_pairing(self, act: Callable[[PairingDesk], Message | tuple[ErrorCode, str]]) -> None:
        core = self._core
        if core.pairing is None:
            core.reply_error(ErrorCode.NOT_SUPPORTED, "this terminal keeps no pairings")
            return
        answer = act(core.pairing)
        if isinstance(answer, tuple):
            core.reply_error(*answer)
        else:
            core.reply(answer)

    def _busy(self) -> bool:
        core = self._core
        if core.state is not S.IDLE:
            core.reply_error(ErrorCode.BUSY, f"a command is running ({core.state.name})")
            return True
        return False

    def info(self, message: InfoRequest) -> None:
        self._core.reply(
            InfoResponse(PROTOCOL_VERSION, FIRMWARE_VERSION, self._core.serial_number, CAPABILITIES)
        )

    def status(self, message: StatusRequest) -> None:
        core = self._core
        txn = core.txn
        counts = {f"journal_{k}": v for k, v in core.journal.counts().items()}
        counts.update(core.counters() if core.counters is not None else {})
        counts.update({f"merchant_{k}": v for k, v in vars(core.merchant.counters).items()})
        counts["merchant_password_set"] = int(core.merchant.is_set)
        if core.pairing is not None:
            counts.update({f"pairing_{k}": v for k, v in vars(core.pairing.counters).items()})
            counts["pairings"] = len(core.pairing.pairings)
        core.reply(
            StatusResponse(
                state=core.state.name,
                kind=int(txn.kind) if txn else 0,
                client_transaction_id=txn.client_transaction_id if txn else "",
                amount=txn.amount if txn else 0,
                currency=txn.currency if txn else "",
                reference=txn.reference if txn else "",
                counters=tuple(Counter(k, min(v, 0xFFFFFFFF)) for k, v in counts.items()),
            )
        )

    def _new(self, request: NewTransaction) -> bool:
        """Whether ``request`` is new and allowed; if not, it has been answered (the stored
        outcome of the same request, or the rule it breaks)."""
        core = self._core
        try:
            existing = core.journal.check_new(request)
        except JournalRuleError as e:
            core.reply_error(e.error_code, str(e), e.field)
            return False
        if existing is not None:
            core.records.reply_outcome(existing)
            return False
        return True

    def start(self, message: SaleRequest | RefundRequest | PreauthRequest) -> None:
        """A transaction with the card: sale, refund, pre-authorization."""
        core = self._core
        if self._busy():
            return
        kind = _CARD_KINDS[type(message)]
        original = message.original_reference if isinstance(message, RefundRequest) else ""
        request = NewTransaction(
            message.client_transaction_id, kind, message.amount, message.currency, original
        )
        if not self._new(request):
            return
        tips = message.tip_percentages if isinstance(message, SaleRequest) else ()
        core.txn = Transaction(
            kind,
            message.client_transaction_id,
            message.amount,
            message.currency,
            original,
            language=core.language,
            options=getattr(message, "options", SaleOption.NONE),
            tip_percentages=tips,
            original=core.journal.by_reference(original) if original else None,
        )
        core.start_command(
            message.request_id, "offer_tip" if tips else KIND_RULES[kind].start_trigger
        )

    def follow_up(self, message: FollowUpRequest) -> None:
        """A transaction that names an earlier one and reads no card."""
        core = self._core
        if self._busy():
            return
        kind = TransactionKind(message.kind)
        request = NewTransaction(
            message.client_transaction_id,
            kind,
            message.amount,
            message.currency,
            message.original_reference,
            message.tip_amount,
        )
        if not self._new(request):
            return
        original = core.journal.by_reference(message.original_reference)
        assert original is not None  # the rules found it
        amount, tip = message.amount, message.tip_amount
        if kind is TransactionKind.RELEASE:
            amount = authorized_total(core.journal, original)
        elif kind is TransactionKind.VOID:
            amount = original.approved_amount + current_tip(core.journal, original)
        elif kind is TransactionKind.TIP_ADJUST:
            amount = original.approved_amount
        core.txn = Transaction(
            kind,
            message.client_transaction_id,
            amount,
            message.currency,
            message.original_reference,
            language=core.language,
            tip_amount=tip,
            original=original,
        )
        core.start_command(message.request_id, KIND_RULES[kind].start_trigger)

    def pin_block(self, message: PinBlockRequest) -> None:
        if self._busy():
            return
        self._core.pinpad.request = message
        self._core.start_command(message.request_id, "start_pin_block")

    def cancel(self, message: CancelRequest) -> None:
        core = self._core
        if core.state in CANCELLABLE_STATES:
            core.reply(CancelResponse(CancelOutcome.CANCELLED))
            core.run(lambda: core.fire("cancel"))
        elif core.state is S.IDLE:
            core.reply(CancelResponse(CancelOutcome.NOTHING_RUNNING))
        else:
            core.reply(CancelResponse(CancelOutcome.TOO_LATE))

    def last(self, message: LastResultRequest) -> None:
        entry = self._core.journal.last()
        if entry is None:
            self._core.reply_error(ErrorCode.NO_TRANSACTION, "no transaction yet")
        else:
            self._core.records.reply_outcome(entry)

    def lookup(self, message: LookupRequest) -> None:
        entry = self._core.journal.lookup(message.client_transaction_id)
        if entry is None or entry.state == "authorizing":
            self._core.reply_error(
                ErrorCode.UNKNOWN_TRANSACTION, "no such transaction", "client_transaction_id"
            )
        else:
            self._core.records.reply_outcome(entry)

    def settle(self, message: SettlementRequest) -> None:
        if self._busy():
            return
        batch, totals = self._core.journal.settle(SETTLED_KINDS)
        authorizer = self._core.authorizer
        if isinstance(authorizer, Reconciler):  # an acquirer compares its totals (0500)
            self._core.reconciliation = authorizer.reconcile(batch, totals)
        self._core.reply(SettlementResponse(batch, totals))

    # Simulation control: check that the action is possible, acknowledge it, then do it, so
    # that SIM_ACCEPTED comes before what the action sets off.

    def sim_present(self, message: SimPresentCard) -> None:
        core = self._core
        if message.card not in core.catalogue:
            core.reply_error(ErrorCode.UNKNOWN_CARD, f"no card {message.card!r}", "card")
            return
        if core.state is not S.WAITING_FOR_CARD:
            raise MachineError("no card is wanted now")
        core.reply(SimAccepted())
        core.present_card(message.card, message.entry_mode, core.now)
        if core.state in (S.QR_DISPLAYED,):  # the simulated wallet scans and pays at once
            core.wallet_pays(core.now)

    def sim_pin(self, message: SimEnterPin) -> None:
        core = self._core
        if core.state not in (S.OFFLINE_PIN, S.ONLINE_PIN, S.PIN_ENTRY):
            raise MachineError("no PIN is wanted now")
        core.reply(SimAccepted())
        core.enter_pin(message.entry, core.now)

    def sim_tip(self, message: SimChooseTip) -> None:
        core = self._core
        if core.state is not S.TIP_SELECTION:
            raise MachineError("no tip is asked for now")
        try:
            core.tips.check(message.choice, message.tip_amount)
        except FieldError as e:
            core.reply_error(e.error_code, e.reason, e.field)
            return
        core.reply(SimAccepted())
        core.choose_tip(message.choice, message.tip_amount, core.now)

    def sim_cancel(self, message: SimPressCancel) -> None:
        self._core.reply(SimAccepted())
        self._core.press_cancel(self._core.now)

    def sim_remove(self, message: SimRemoveCard) -> None:
        self._core.reply(SimAccepted())
        self._core.remove_card(self._core.now)

    def sim_power(self, message: SimPowerCycle) -> None:
        self._core.power_cycle_requested = True
        self._core.reply(SimAccepted())


_MERCHANT_FOLLOW_UPS = frozenset({int(TransactionKind.VOID), int(TransactionKind.TIP_ADJUST)})


def _merchant_only(message: Message) -> bool:
    """Refunds, voids, tip adjustments, settlement and pairings: the merchant's commands."""
    if isinstance(message, FollowUpRequest):
        return int(message.kind) in _MERCHANT_FOLLOW_UPS
    return isinstance(message, (RefundRequest, SettlementRequest, PairingsRequest))


_CARD_KINDS: dict[type, TransactionKind] = {
    SaleRequest: TransactionKind.SALE,
    RefundRequest: TransactionKind.REFUND,
    PreauthRequest: TransactionKind.PREAUTH,
}

_HANDLERS: dict[type, Callable[[HostCommands, Any], None]] = {
    InfoRequest: HostCommands.info,
    MerchantLogin: HostCommands.merchant_login,
    SetPassword: HostCommands.set_password,
    PairBegin: HostCommands.pair_begin,
    PairStep: HostCommands.pair_step,
    PairingsRequest: HostCommands.pairings,
    SaleRequest: HostCommands.start,
    RefundRequest: HostCommands.start,
    PreauthRequest: HostCommands.start,
    FollowUpRequest: HostCommands.follow_up,
    SimChooseTip: HostCommands.sim_tip,
    PinBlockRequest: HostCommands.pin_block,
    CancelRequest: HostCommands.cancel,
    LastResultRequest: HostCommands.last,
    LookupRequest: HostCommands.lookup,
    SettlementRequest: HostCommands.settle,
    StatusRequest: HostCommands.status,
    SimPresentCard: HostCommands.sim_present,
    SimEnterPin: HostCommands.sim_pin,
    SimPressCancel: HostCommands.sim_cancel,
    SimRemoveCard: HostCommands.sim_remove,
    SimPowerCycle: HostCommands.sim_power,
}
