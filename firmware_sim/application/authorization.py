"""The authorization and the outcome: terminal risk management (the card's first GENERATE AC
asks for an ARQC; every transaction goes online), the journal records that the issuer is about
to be asked, the authorizer answers, the card has its say (second GENERATE AC), then the
outcome is recorded with both receipts before the host sees it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timezone
from typing import TYPE_CHECKING

from protocols.codes import EntryMode, PromptId, SaleOption, TransactionStatus

from ..issuer import APPROVED_CODES, AuthorizationRequest
from ..kernel.contact import first_generate_ac, second_generate_ac
from ..kernel.contactless import card_declined_offline
from ..states import TerminalState
from .card_steps import emv_terminal_data
from .kinds import KIND_RULES

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
            S.TERMINAL_RISK_MANAGEMENT: self.enter_risk_management,
            S.ONLINE_AUTHORIZATION: self.enter_online_authorization,
            S.COMPLETION: self.enter_completion,
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
        txn.reference = core.journal.record_authorizing(
            txn.client_transaction_id,
            txn.kind,
            txn.amount,
            txn.currency,
            txn.original_reference,
            txn.masked_pan,
            txn.entry_mode,
            int(core.now),
            core.pinpad.keys.counters if txn.pin_block is not None else None,
            tip_amount=txn.tip_amount,
        )
        response = core.authorizer.authorize(self._request(txn))
        txn.response_code, txn.auth_code = response.response_code, response.auth_code
        txn.arpc = response.arpc
        if response.approved and response.approved_amount < txn.total:
            # partial: the tip stays whole, the amount takes the cut
            txn.approved_amount = max(0, response.approved_amount - txn.tip_amount)
        if txn.chip is not None and txn.entry_mode is EntryMode.CHIP:
            core.fire("authorized")  # the card has the last word
        elif response.approved:
            core.fire("approve")
        else:
            core.fire("decline")

    def _request(self, txn: Transaction) -> AuthorizationRequest:
        """What the issuer is asked: the card's data, or for a follow-up the original's
        reference (the issuer finds the card by it)."""
        when = datetime.fromtimestamp(self._core.now, timezone.utc)
        cardless = AuthorizationRequest(
            kind=txn.kind,
            reference=txn.reference,
            pan="",
            pan_sequence="",
            expiry="",
            amount=txn.total,
            currency=txn.currency,
            entry_mode=txn.entry_mode,
            date=when.strftime("%Y%m"),
            original_reference=txn.original_reference,
            allow_partial=SaleOption.ALLOW_PARTIAL in txn.options,
        )
        if not KIND_RULES[txn.kind].reads_card:
            return cardless
        if txn.track2 is not None:
            expiry = txn.track2.expiry
        elif 0x5F24 in txn.tags:
            expiry = txn.tags[0x5F24].hex()[:4]
        else:
            expiry = txn.card.expiry if txn.card else "0000"
        track2 = txn.track2
        return replace(
            cardless,
            track2=(
                f"{track2.pan}D{track2.expiry}{track2.service_code}{track2.discretionary}"
                if track2 is not None
                else ""
            ),
            pan=txn.pan,
            pan_sequence=txn.tags.get(0x5F34, b"\x00").hex(),
            expiry=expiry,
            pin_block=txn.pin_block,
            chip=txn.chip,
        )

    def enter_risk_management(self) -> None:
        # Floor limit zero: every transaction goes online. On the contact path the first
        # GENERATE AC asks for an ARQC; a tap's card already said with GPO.
        txn, core = self._txn(), self._core
        if txn.entry_mode is EntryMode.TAP and card_declined_offline(txn.tags):
            txn.response_code = "Z1"  # the card declined offline (AAC at GPO)
            core.fire("decline")
            return
        if txn.entry_mode is EntryMode.CHIP and KIND_RULES[txn.kind].asks_cryptogram:
            chip = first_generate_ac(core.apdu, txn.tags, emv_terminal_data(core, txn))
            if chip is None:
                txn.response_code = "Z1"  # the card declined offline (AAC)
                core.fire("decline")
                return
            txn.chip = chip
        core.fire("go_online")

    def enter_completion(self) -> None:
        txn, core = self._txn(), self._core
        issuer_approved = txn.response_code in APPROVED_CODES
        accepted = second_generate_ac(
            core.apdu,
            txn.tags,
            emv_terminal_data(core, txn),
            txn.response_code,
            txn.arpc,
            issuer_approved=issuer_approved,
        )
        if accepted:
            core.fire("approve")
            return
        if issuer_approved:
            txn.response_code = "Z3"  # approved online but the card refused (AAC)
            core.authorizer.reverse(txn.reference)
        core.fire("decline")

    def enter_outcome(self) -> None:
        txn, core = self._txn(), self._core
        approved = core.state is S.APPROVED
        txn.status = TransactionStatus.APPROVED if approved else TransactionStatus.DECLINED
        if approved and txn.approved_amount is None:
            txn.response_code = "00"
        if approved and txn.approved_amount is not None:
            core.prompt(PromptId.PARTIAL_APPROVAL)
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
