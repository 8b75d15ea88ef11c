"""One terminal of a fleet: the real terminal application (card kernel against a catalogue
card, PIN pad, journal) authorizing through the acquirer client, driven by a scripted
checkout (requests handed to the core, the automatic cardholder answering its prompts)
instead of a host link.

    terminal = FleetTerminal(1, "tcp://127.0.0.1:8583", store)   # terminal id F0000001
    outcome = terminal.sale(1234, "EUR")      # an Outcome: kind, status, response code, reference
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass

from keys import KeyStore
from protocols.codes import EntryMode, TransactionKind, TransactionStatus
from protocols.messages import (
    CancelRequest,
    Error,
    FollowUpRequest,
    Message,
    PreauthRequest,
    RefundRequest,
    SaleRequest,
    SettlementRequest,
    TransactionResult,
    with_request_id,
)

from ..acquirer import AcquirerClient, Identity
from ..cardholder import AutoCardholder, drain_addressed
from ..core import TerminalCore
from ..journal import Journal
from ..states import TerminalState

__all__ = ["FleetTerminal", "Outcome", "CheckoutError"]

ORIGIN = b"fleet"


class CheckoutError(Exception):
    """The terminal refused the request (ERROR) or did not finish it in time."""


@dataclass(frozen=True)
class Outcome:
    kind: str
    status: TransactionStatus
    response_code: str
    reference: str
    amount: int
    seconds: float = 0.0  # from the request to the result

    @property
    def approved(self) -> bool:
        return self.status is TransactionStatus.APPROVED


class FleetTerminal:
    """``number``: the terminal's place in the fleet: its PIN pad is a DUKPT device of its
    own (KSN device bits). ``terminal_id`` (DE 41, 8 characters): ``F`` and seven digits of
    the number unless given (a fleet names its run in it, so that a host that outlives a run
    does not take the next run's fresh terminals for the old ones)."""

    def __init__(
        self,
        number: int,
        host: str,
        store: KeyStore,
        *,
        journal: str = ":memory:",
        card: str = "default",
        merchant_id: str = "POSSIM000000001",
        timeout: float = 15.0,
        terminal_id: str | None = None,
    ) -> None:
        terminal_id = terminal_id or f"F{number:07d}"
        self.number = number
        self.terminal_id = terminal_id
        self.timeout = timeout
        self.acquirer = AcquirerClient(
            host,
            journal,
            Identity(terminal_id, merchant_id),
            store,
            timeout=timeout,
            retry_interval=None,  # the queue goes out before each request and at settlement
        )
        self.journal = Journal(journal)
        self._store = store
        self.core = self._boot()
        self.cardholder = AutoCardholder(card, EntryMode.CHIP)
        self._request_id = 0

    def _boot(self) -> TerminalCore:
        return TerminalCore(
            journal=self.journal,
            authorizer=self.acquirer,
            store=self._store,
            serial_number=self.terminal_id,
            pin_pad_device=self.number,
        )

    @property
    def idle(self) -> bool:
        """Nothing running and nothing left unfinished in the journal."""
        return self.core.state is TerminalState.IDLE and not self.journal.counts()["unfinished"]

    def restart(self) -> int:
        """A cold start on the same journal, as after a power cut: what was cut off mid-way
        is reversed (the reversal queued until the host takes it). How many were."""
        unfinished = self.journal.counts()["unfinished"]
        self.core = self._boot()
        return unfinished

    def close(self) -> None:
        self.acquirer.close()
        self.journal.close()

    # --- the checkout --------------------------------------------------------------------

    def sale(self, amount: int, currency: str = "EUR") -> Outcome:
        return self._pay(SaleRequest(_txn_id(), amount, currency), "sale")

    def refund(self, amount: int, currency: str, reference: str) -> Outcome:
        return self._pay(RefundRequest(_txn_id(), amount, currency, reference), "refund")

    def preauth(self, amount: int, currency: str = "EUR") -> Outcome:
        return self._pay(PreauthRequest(_txn_id(), amount, currency), "preauth")

    def complete(self, reference: str, amount: int, currency: str = "EUR") -> Outcome:
        request = FollowUpRequest(
            _txn_id(), TransactionKind.COMPLETION, reference, amount, currency
        )
        return self._pay(request, "completion")

    def cancelled_sale(self, amount: int, currency: str = "EUR") -> Outcome:
        """A sale the checkout cancels while the terminal waits for the card."""
        return self._pay(SaleRequest(_txn_id(), amount, currency), "cancel", cancel=True)

    def settle(self) -> dict[str, str]:
        """Close the batch; the host's word on it per currency ("in balance" or not), from
        the reconciliation request (0500) the acquirer client sends."""
        self.core.reconciliation = {}
        self.core.handle_message(
            SettlementRequest(request_id=self._next_request_id()), time.time(), ORIGIN
        )
        drain_addressed(self.core, self.cardholder, time.time())
        return dict(self.core.reconciliation)

    def _next_request_id(self) -> int:
        """The next request id, never 0 (which answers nothing)."""
        self._request_id = self._request_id % 0xFFFF + 1
        return self._request_id

    def _pay(self, request: Message, kind: str, *, cancel: bool = False) -> Outcome:
        started = time.perf_counter()
        result = self._run(request, cancel=cancel)
        elapsed = time.perf_counter() - started
        return Outcome(
            kind, result.status, result.response_code, result.reference, result.amount, elapsed
        )

    def _run(self, request: Message, *, cancel: bool = False) -> TransactionResult:
        request_id = self._next_request_id()
        request = with_request_id(request, request_id)
        core = self.core
        core.handle_message(request, time.time(), ORIGIN)
        if cancel:  # before the cardholder has looked at the prompt
            core.handle_message(CancelRequest(request_id=request_id), time.time(), ORIGIN)
        deadline = time.monotonic() + self.timeout
        result: TransactionResult | None = None
        while time.monotonic() < deadline:
            for _, message in drain_addressed(core, self.cardholder, time.time()):
                if message.request_id != request_id:
                    continue
                if isinstance(message, TransactionResult):
                    result = message
                elif isinstance(message, Error):
                    raise CheckoutError(f"{message.code!r}: {message.text}")
            if result is not None and core.state is TerminalState.IDLE:
                return result
            next_due = core.next_deadline()
            if next_due is not None:
                time.sleep(min(0.05, max(0.0, next_due - time.time())))
            core.tick(time.time())
        raise CheckoutError(f"no result within {self.timeout} s (state {core.state.name})")


def _txn_id() -> str:
    return uuid.uuid4().hex
