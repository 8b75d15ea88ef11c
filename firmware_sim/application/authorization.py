"""Online authorization and the outcome: the journal records that the issuer is about to be
asked, the authorizer answers, the card has its say (second GENERATE AC, in card_steps), then
the outcome is recorded with both receipts before the host sees it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timezone
from typing import TYPE_CHECKING

from protocols.codes import EntryMode, PromptId, TransactionStatus
from protocols.validation import mask_pan

from ..authorizer import AuthorizationRequest
from ..states import TerminalState

if TYPE_CHECKING:
    from ..core import TerminalCore
    from .transaction import Transaction

__all__ = ["Authorization"]

S = TerminalState


class Authorization:
    def __init__(self, core: TerminalCore) -> None:
        self._core = core

    def on_enter(self) -> dict[TerminalState, Callable[[], None]]:
        return {
            S.ONLINE_AUTHORIZATION: self.enter_online_authorization,
            S.APPROVED: self.enter_outcome,
            S.DECLINED: self.enter_outcome,
            S.RECEIPT: self.enter_receipt,
        }

    def _txn(self) -> Transaction:
        txn = self._core.txn
        assert txn is not None
        return txn

    def enter_online_authorization(self) -> None:
        txn, core = self._txn(), self._core
        core.prompt(PromptId.AUTHORISING)
        pan = txn.pan
        txn.reference = core.journal.record_authorizing(
            txn.client_transaction_id,
            txn.kind,
            txn.amount,
            txn.currency,
            txn.original_reference,
            mask_pan(pan),
            txn.entry_mode,
            int(core.now),
            core.pinpad.keys.counters if txn.pin_block is not None else None,
        )
        if txn.track2 is not None:
            expiry = txn.track2.expiry
        elif 0x5F24 in txn.tags:
            expiry = txn.tags[0x5F24].hex()[:4]
        else:
            expiry = txn.card.expiry if txn.card else "0000"
        when = datetime.fromtimestamp(core.now, timezone.utc)
        response = core.authorizer.authorize(
            AuthorizationRequest(
                kind=txn.kind,
                reference=txn.reference,
                pan=pan,
                pan_sequence=txn.tags.get(0x5F34, b"\x00").hex(),
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
        txn.arpc = response.arpc
        if txn.chip is not None and txn.entry_mode is EntryMode.CHIP:
            core.fire("authorized")  # the card has the last word
        elif response.approved:
            core.fire("approve")
        else:
            core.fire("decline")

    def enter_outcome(self) -> None:
        txn, core = self._txn(), self._core
        approved = core.state is S.APPROVED
        txn.status = TransactionStatus.APPROVED if approved else TransactionStatus.DECLINED
        if approved:
            txn.response_code = "00"
        core.prompt(PromptId.APPROVED if approved else PromptId.DECLINED)
        core.fire("print_receipt")

    def enter_receipt(self) -> None:
        txn, core = self._txn(), self._core
        assert txn.status is not None
        entry = core.records.record_outcome(txn.status)
        core.records.send_outcome(entry)
        if txn.entry_mode is EntryMode.CHIP:
            core.fire("ask_removal")
        else:
            core.fire("finish")
