"""The authorization and the outcome: terminal risk management and action analysis decide
what the card's first GENERATE AC asks for (offline decline, offline approval, or online);
the journal records that the issuer is about to be asked (or advised of an offline
approval), the authorizer answers, the issuer's scripts run around the card's second
GENERATE AC, then the outcome is recorded with both receipts before the host sees it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING

from keys.rsa import RsaPublicKey
from protocols.codes import EntryMode, PromptId, SaleOption, TransactionKind, TransactionStatus
from protocols.tvr import TsiBit, TvrBit

from ..dates import utc_text
from ..issuer import APPROVED_CODES, OFFLINE_APPROVED, AuthorizationRequest
from ..kernel.contactless import card_declined_offline
from ..kernel.generate_ac import AAC, ARQC, TC, first_generate_ac, run_scripts, second_generate_ac
from ..kernel.oda import OdaMethod
from ..kernel.risk import CRYPTOGRAM_P1, action_analysis, terminal_risk_management
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
        self._record_authorizing(txn)
        if core.before_online is not None:
            core.before_online()  # the host shows AUTHORISING while the issuer decides
        response = core.authorizer.authorize(self._request(txn))
        txn.response_code, txn.auth_code = response.response_code, response.auth_code
        txn.arpc, txn.scripts = response.arpc, response.scripts
        if response.approved and response.approved_amount < txn.total:
            # partial: the tip stays whole, the amount takes the cut
            txn.approved_amount = max(0, response.approved_amount - txn.tip_amount)
        if txn.chip is not None and txn.entry_mode is EntryMode.CHIP:
            core.fire("authorized")  # the card has the last word
        elif response.approved:
            core.fire("approve")
        else:
            core.fire("decline")

    def _record_authorizing(self, txn: Transaction) -> None:
        core = self._core
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

    def _request(self, txn: Transaction) -> AuthorizationRequest:
        """What the issuer is asked: the card's data, or for a follow-up the original's
        reference (the issuer finds the card by it)."""
        cardless = AuthorizationRequest(
            kind=txn.kind,
            reference=txn.reference,
            pan="",
            pan_sequence="",
            expiry="",
            amount=txn.total,
            currency=txn.currency,
            entry_mode=txn.entry_mode,
            date=utc_text(self._core.now, "%Y%m"),
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
        """Terminal risk management and action analysis, then the first GENERATE AC asks
        for what they decided (on the contact path; a tap's card already said with GPO).
        The card has the last word: an AAC declines (Z1), a TC approves offline (Y1), an
        ARQC goes online."""
        txn, core = self._txn(), self._core
        if txn.entry_mode is EntryMode.TAP and card_declined_offline(txn.tags):
            txn.response_code = "Z1"  # the card declined offline (AAC at GPO)
            core.fire("decline")
            return
        if txn.entry_mode is not EntryMode.CHIP or not KIND_RULES[txn.kind].asks_cryptogram:
            core.fire("go_online")
            return
        terminal_risk_management(
            core.apdu,
            txn.tags,
            amount=txn.total,
            pan=txn.pan,
            settings=core.emv,
            random=core.random,
            tvr=txn.tvr,
            tsi=txn.tsi,
        )
        # refunds and other kinds that are not purchases never approve offline
        decision = action_analysis(txn.tvr, txn.tags, core.emv)
        if decision == "TC" and txn.kind is not TransactionKind.SALE:
            decision = "ARQC"
        answer, chip, txn.cdol1_data = first_generate_ac(
            core.apdu,
            txn.tags,
            emv_terminal_data(core, txn),
            requested=CRYPTOGRAM_P1[decision],
            icc_key=self._cda_key(txn),
            pdol_data=txn.pdol_data,
        )
        txn.tsi.set(TsiBit.CARD_RISK_MANAGEMENT_PERFORMED)
        txn.chip = chip
        if answer.cda_failure:
            self._cda_failed(txn, answer.cda_failure)
            if answer.kind == ARQC:  # close the card's transaction: it gets an AAC
                second_generate_ac(
                    core.apdu,
                    txn.tags,
                    emv_terminal_data(core, txn),
                    "Z1",
                    b"",
                    issuer_approved=False,
                )
            txn.response_code = "Z1"
            core.fire("decline")
        elif answer.kind == AAC:
            txn.response_code = "Z1"  # declined offline (by the terminal or the card)
            core.fire("decline")
        elif answer.kind == TC:
            self._approve_offline(txn)
        else:
            core.fire("go_online")

    def _cda_key(self, txn: Transaction) -> RsaPublicKey | None:
        oda = txn.oda
        if oda is None or oda.method is not OdaMethod.CDA or oda.failure:
            return None
        return oda.icc_key

    def _cda_failed(self, txn: Transaction, why: str) -> None:
        txn.tvr.set(TvrBit.CDA_FAILED)
        if txn.oda is not None:
            txn.oda.failure = why
            txn.oda.steps.append(f"CDA failed: {why}")

    def _approve_offline(self, txn: Transaction) -> None:
        """The card approved offline (TC): journaled as authorizing first, like an online
        authorization (a cold start reverses what never completed), then the authorizer
        is advised (an acquirer queues a 0220 advice and delivers it now or later)."""
        core = self._core
        txn.response_code = txn.auth_code = OFFLINE_APPROVED
        self._record_authorizing(txn)
        core.authorizer.authorize(replace(self._request(txn), offline_approval=True))
        core.fire("approve_offline")

    def enter_completion(self) -> None:
        """Issuer scripts before (71), the second GENERATE AC with the issuer's answer,
        scripts after (72)."""
        txn, core = self._txn(), self._core
        issuer_approved = txn.response_code in APPROVED_CODES
        results = run_scripts(core.apdu, txn.scripts, 0x71, txn.tvr, txn.tsi)
        if txn.arpc:
            txn.tsi.set(TsiBit.ISSUER_AUTHENTICATION_PERFORMED)
        answer = second_generate_ac(
            core.apdu,
            txn.tags,
            emv_terminal_data(core, txn),
            txn.response_code,
            txn.arpc,
            issuer_approved=issuer_approved,
            icc_key=self._cda_key(txn),
            pdol_data=txn.pdol_data,
            cdol1_data=txn.cdol1_data,
        )
        if answer.cda_failure:
            self._cda_failed(txn, answer.cda_failure)
        txn.script_results = results + run_scripts(core.apdu, txn.scripts, 0x72, txn.tvr, txn.tsi)
        if answer.kind == TC and not answer.cda_failure:
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
        if approved and txn.approved_amount is None and txn.response_code != OFFLINE_APPROVED:
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
