"""The payment commands of :class:`~driver.terminal.Terminal`: sale, refund, pre-authorization
and its follow-ups (increment, completion, release), void, tip adjustment, and the stored
outcomes (last, lookup). Each payment carries a client transaction id, so the same request
again returns the stored outcome and is never authorized twice.

A hotel stay, over a simulated terminal:

    with Terminal(port) as terminal:
        hold = terminal.preauth("50.00")
        terminal.increment(hold.reference, "10.00")
        stay = terminal.complete(hold.reference, "42.00", tip="5.00")
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import TypeVar

from protocols.codes import ReceiptCopy, SaleOption, TransactionKind
from protocols.errors import FieldError
from protocols.messages import (
    FollowUpRequest,
    LastResultRequest,
    LookupRequest,
    Message,
    PreauthRequest,
    Receipt,
    RefundRequest,
    SaleRequest,
    TransactionResult,
)

from .errors import LineLost, NotPaired, OutcomeUnknown
from .inputs import Amount, PromptHandler, rejected, to_minor_units
from .results import TransactionOutcome

__all__ = ["PaymentCommands"]

Payment = SaleRequest | RefundRequest | PreauthRequest | FollowUpRequest


A = TypeVar("A", bound=Message)


class TerminalCommands:
    """What the command mixins need of ``Terminal``: the exchange and the merchant login."""

    timeout: float
    control_timeout: float

    def _exchange(
        self,
        request: Message,
        done: Callable[[Message], bool],
        timeout: float,
        on_prompt: PromptHandler | None,
    ) -> list[Message]:
        raise NotImplementedError

    def _as_merchant(self) -> None:
        """Log in with the merchant password given to the Terminal, if any, before a
        merchant command (refund, void, tip adjustment, settlement, pairings)."""
        raise NotImplementedError

    def _ask(self, request: Message, answer: type[A]) -> A:
        """A control request (no card, no prompts) and its one answer of type ``answer``."""
        got = self._exchange(request, lambda m: isinstance(m, answer), self.control_timeout, None)
        response = got[-1]
        assert isinstance(response, answer)
        return response


class PaymentCommands(TerminalCommands):
    """Mixed into ``Terminal``, which provides the exchange and the line's recovery."""

    reconnect: bool

    def _recover(self, txn_id: str) -> TransactionOutcome:
        raise NotImplementedError

    # --- with the card -------------------------------------------------------------------

    def sale(
        self,
        amount: Amount,
        currency: str = "EUR",
        *,
        client_transaction_id: str | None = None,
        on_prompt: PromptHandler | None = None,
        timeout: float | None = None,
        allow_partial: bool = False,
        tip_percentages: tuple[int, ...] = (),
    ) -> TransactionOutcome:
        """Take a payment. A decline is an outcome; errors are exceptions. With
        ``tip_percentages`` (up to four, like ``(10, 15, 20)``) the cardholder picks a tip on
        the terminal first; with ``allow_partial`` the issuer may approve less
        (``outcome.partial``, response code 10)."""
        options = SaleOption.ALLOW_PARTIAL if allow_partial else SaleOption.NONE
        request = _make(
            lambda: SaleRequest(
                _txn_id(client_transaction_id),
                to_minor_units(amount, currency),
                currency,
                options,
                tuple(tip_percentages),
            )
        )
        return self._payment(request, on_prompt, timeout)

    def refund(
        self,
        amount: Amount,
        currency: str,
        reference: str,
        *,
        client_transaction_id: str | None = None,
        on_prompt: PromptHandler | None = None,
        timeout: float | None = None,
    ) -> TransactionOutcome:
        """Refund (part of) the approved sale or completion with this reference. A merchant
        command: needs the merchant password once one is set (``Terminal(password=...)``)."""
        self._as_merchant()
        request = _make(
            lambda: RefundRequest(
                _txn_id(client_transaction_id),
                to_minor_units(amount, currency),
                currency,
                reference,
            )
        )
        return self._payment(request, on_prompt, timeout)

    def preauth(
        self,
        amount: Amount,
        currency: str = "EUR",
        *,
        client_transaction_id: str | None = None,
        on_prompt: PromptHandler | None = None,
        timeout: float | None = None,
        allow_partial: bool = False,
    ) -> TransactionOutcome:
        """Pre-authorize (hold) an amount on the card, card present and verified as for a
        sale. Its ``reference`` names it to :meth:`increment`, :meth:`complete` and
        :meth:`release`."""
        options = SaleOption.ALLOW_PARTIAL if allow_partial else SaleOption.NONE
        request = _make(
            lambda: PreauthRequest(
                _txn_id(client_transaction_id), to_minor_units(amount, currency), currency, options
            )
        )
        return self._payment(request, on_prompt, timeout)

    # --- follow-ups: no card, by reference -----------------------------------------------

    def increment(
        self,
        reference: str,
        amount: Amount,
        currency: str = "EUR",
        *,
        client_transaction_id: str | None = None,
        timeout: float | None = None,
    ) -> TransactionOutcome:
        """Raise an open pre-authorization by ``amount`` (the issuer may decline)."""
        return self._follow_up(
            TransactionKind.INCREMENT,
            reference,
            currency,
            client_transaction_id,
            timeout,
            amount=to_minor_units(amount, currency),
        )

    def complete(
        self,
        reference: str,
        amount: Amount,
        currency: str = "EUR",
        *,
        tip: Amount = 0,
        client_transaction_id: str | None = None,
        timeout: float | None = None,
    ) -> TransactionOutcome:
        """Capture an open pre-authorization: ``amount`` plus ``tip`` up to its authorized
        total (with increments). Once only; the same client transaction id again returns
        the stored outcome."""
        return self._follow_up(
            TransactionKind.COMPLETION,
            reference,
            currency,
            client_transaction_id,
            timeout,
            amount=to_minor_units(amount, currency),
            tip=to_minor_units(tip, currency, "tip_amount", allow_zero=True),
        )

    def release(
        self,
        reference: str,
        currency: str = "EUR",
        *,
        client_transaction_id: str | None = None,
        timeout: float | None = None,
    ) -> TransactionOutcome:
        """Give up an open pre-authorization: the hold on the card is released."""
        return self._follow_up(
            TransactionKind.RELEASE, reference, currency, client_transaction_id, timeout
        )

    def void(
        self,
        reference: str,
        currency: str = "EUR",
        *,
        client_transaction_id: str | None = None,
        timeout: float | None = None,
    ) -> TransactionOutcome:
        """Undo a sale, refund or completion of the open batch (after settlement: refund).
        A merchant command."""
        self._as_merchant()
        return self._follow_up(
            TransactionKind.VOID, reference, currency, client_transaction_id, timeout
        )

    def adjust_tip(
        self,
        reference: str,
        tip: Amount,
        currency: str = "EUR",
        *,
        client_transaction_id: str | None = None,
        timeout: float | None = None,
    ) -> TransactionOutcome:
        """Set the tip of a sale or completion of the open batch (0 removes it). A merchant
        command."""
        self._as_merchant()
        return self._follow_up(
            TransactionKind.TIP_ADJUST,
            reference,
            currency,
            client_transaction_id,
            timeout,
            tip=to_minor_units(tip, currency, "tip_amount", allow_zero=True),
        )

    def _follow_up(
        self,
        kind: TransactionKind,
        reference: str,
        currency: str,
        client_transaction_id: str | None,
        timeout: float | None,
        *,
        amount: int = 0,
        tip: int = 0,
    ) -> TransactionOutcome:
        request = _make(
            lambda: FollowUpRequest(
                _txn_id(client_transaction_id), kind, reference, amount, currency, tip
            )
        )
        return self._payment(request, None, timeout or self.control_timeout)

    def _payment(
        self, request: Payment, on_prompt: PromptHandler | None, timeout: float | None
    ) -> TransactionOutcome:
        txn_id = request.client_transaction_id
        try:
            got = self._exchange(request, _result_for(txn_id), timeout or self.timeout, on_prompt)
        except NotPaired:
            raise  # refused unread: the terminal answers no unpaired host, so nothing ran
        except LineLost as e:
            if not self.reconnect:
                raise OutcomeUnknown(
                    txn_id, f"{e}; ask lookup({txn_id!r}) for the outcome"
                ) from None
            return self._recover(txn_id)
        return _outcome(got, txn_id)

    # --- stored outcomes -----------------------------------------------------------------

    def last(self) -> TransactionOutcome:
        """The outcome of the last transaction, from the terminal's journal."""
        got = self._exchange(LastResultRequest(), _is_result, self.control_timeout, None)
        result = got[-1]
        assert isinstance(result, TransactionResult)
        return _outcome(got, result.client_transaction_id)

    def lookup(self, client_transaction_id: str) -> TransactionOutcome:
        """The outcome of the transaction with this client transaction id."""
        request = _make(lambda: LookupRequest(client_transaction_id))
        got = self._exchange(
            request, _result_for(client_transaction_id), self.control_timeout, None
        )
        return _outcome(got, client_transaction_id)


def _txn_id(given: str | None) -> str:
    return given or uuid.uuid4().hex


R = TypeVar("R", bound=Message)


def _make(build: Callable[[], R]) -> R:
    """The request, or the typed error for the field it refuses."""
    try:
        return build()
    except FieldError as e:
        raise rejected(e) from None


def _result_for(txn_id: str) -> Callable[[Message], bool]:
    return lambda m: isinstance(m, TransactionResult) and m.client_transaction_id == txn_id


def _is_result(message: Message) -> bool:
    return isinstance(message, TransactionResult)


def _outcome(messages: list[Message], txn_id: str) -> TransactionOutcome:
    result = next(m for m in reversed(messages) if isinstance(m, TransactionResult))
    receipts: dict[ReceiptCopy, tuple[str, ...]] = {}
    for message in messages:
        if isinstance(message, Receipt) and message.client_transaction_id == txn_id:
            receipts[message.copy] = message.lines
    return TransactionOutcome.from_messages(
        result, receipts.get(ReceiptCopy.CUSTOMER, ()), receipts.get(ReceiptCopy.MERCHANT, ())
    )
