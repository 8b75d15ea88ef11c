"""How a transaction ends other than by an outcome: cancelled (by the host, the cardholder or
a timeout), failed (a card, a key, the authorizer or the journal), and the wait for the card's
removal. Every ending is recorded and answered, and the terminal goes back to idle.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from keys.errors import SecureElementError
from protocols.codes import PromptId, TransactionStatus
from protocols.errors import ErrorCode, ProtocolError

from ..kernel import CardFailure
from ..states import TerminalState

if TYPE_CHECKING:
    from ..core import TerminalCore

__all__ = ["Endings", "error_code_for"]

S = TerminalState


def error_code_for(failure: Exception | None) -> ErrorCode:
    """The wire code that names what failed: the card, the secure element, or us."""
    if isinstance(failure, (CardFailure, ProtocolError)):
        return ErrorCode.CARD_ERROR
    if isinstance(failure, SecureElementError):
        return ErrorCode.KEY_ERROR
    return ErrorCode.INTERNAL_ERROR


class Endings:
    def __init__(self, core: TerminalCore) -> None:
        self._core = core

    def on_enter(self) -> dict[TerminalState, Callable[[], None]]:
        return {
            S.CARD_REMOVAL: self.enter_card_removal,
            S.CANCELLED: self.enter_cancelled,
            S.ERROR: self.enter_error,
        }

    def enter_card_removal(self) -> None:
        self._core.prompt(PromptId.REMOVE_CARD)

    def enter_cancelled(self) -> None:
        core = self._core
        core.clear_deadline()
        core.prompt(PromptId.CANCELLED)
        if core.pinpad.request is not None:
            core.send_error(ErrorCode.NOT_ALLOWED_NOW, "PIN entry cancelled")
        else:
            assert core.txn is not None
            entry = core.records.record(TransactionStatus.CANCELLED, "", "", ((), ()))
            core.records.send_outcome(entry)
        core.fire("finish")

    def enter_error(self) -> None:
        core = self._core
        core.clear_deadline()
        failure = core.failure
        text = f"{type(failure).__name__}: {failure}" if failure else "the transaction failed"
        code = error_code_for(failure)
        txn = core.txn
        try:
            if txn is not None and txn.reference:
                # the authorizer may have approved: undo it, then record the truth
                core.authorizer.reverse(txn.reference)
                core.journal.record_reversal(txn.client_transaction_id, (), ())
            elif txn is not None:
                core.records.record(TransactionStatus.FAILED, "", "", ((), ()))
        except Exception:  # noqa: BLE001 - the journal failed too; recovery will reverse
            code, text = ErrorCode.JOURNAL_ERROR, f"{text}; the journal could not record it"
        core.prompt(PromptId.PROCESSING_ERROR)
        core.send_error(code, text)
        core.failure = None
        core.fire("finish")
