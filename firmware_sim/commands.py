"""Host commands in, answers out: the dispatcher for every request the host can send, the
busy rule (one command at a time), cancel, the stored-outcome queries, settlement and the
simulation controls. A request that the state does not allow is answered NOT_ALLOWED_NOW by
the core; nothing here waits.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from transitions import MachineError

from protocols.codes import PROTOCOL_VERSION, CancelOutcome, Capability, TransactionKind
from protocols.errors import ErrorCode
from protocols.messages import (
    CancelRequest,
    CancelResponse,
    Counter,
    InfoRequest,
    InfoResponse,
    LastResultRequest,
    LookupRequest,
    Message,
    PinBlockRequest,
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
)

from .application import KIND_RULES, Transaction
from .journal import JournalRuleError
from .states import CANCELLABLE_STATES, TerminalState

if TYPE_CHECKING:
    from .core import TerminalCore

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
        method(self, message)
        return True

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

    def start(self, message: SaleRequest | RefundRequest) -> None:
        core = self._core
        if self._busy():
            return
        kind = TransactionKind.SALE if isinstance(message, SaleRequest) else TransactionKind.REFUND
        original = message.original_reference if isinstance(message, RefundRequest) else ""
        try:
            existing = core.journal.check_new(
                message.client_transaction_id, kind, message.amount, message.currency, original
            )
        except JournalRuleError as e:
            core.reply_error(e.error_code, str(e), e.field)
            return
        if existing is not None:
            core.records.reply_outcome(existing)
            return
        core.txn = Transaction(
            kind,
            message.client_transaction_id,
            message.amount,
            message.currency,
            original,
            language=core.language,
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
        batch, totals = self._core.journal.settle()
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

    def sim_cancel(self, message: SimPressCancel) -> None:
        self._core.reply(SimAccepted())
        self._core.press_cancel(self._core.now)

    def sim_remove(self, message: SimRemoveCard) -> None:
        self._core.reply(SimAccepted())
        self._core.remove_card(self._core.now)

    def sim_power(self, message: SimPowerCycle) -> None:
        self._core.power_cycle_requested = True
        self._core.reply(SimAccepted())


_HANDLERS: dict[type, Callable[[HostCommands, Any], None]] = {
    InfoRequest: HostCommands.info,
    SaleRequest: HostCommands.start,
    RefundRequest: HostCommands.start,
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
