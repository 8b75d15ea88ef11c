"""What the journal keeps of a transaction and how a kept outcome goes to the host: the
receipts (the cardholder's copy in the card's language, the merchant's in the terminal's), the
completion record, and the RECEIPT and TRANSACTION_RESULT messages built from a journal entry.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from protocols.codes import EntryMode, ReceiptCopy, TransactionStatus
from protocols.messages import Message, Receipt, TransactionResult

from ..journal import JournalEntry
from ..receipts import ReceiptFacts, receipt_lines

if TYPE_CHECKING:
    from ..core import TerminalCore
    from .transaction import Transaction

__all__ = ["Receipts", "Records"]

Receipts = tuple[tuple[str, ...], tuple[str, ...]]  # (cardholder's copy, merchant's copy)


def _expiry(txn: Transaction) -> str:
    """YYMM of the card read: the chip's 5F24, else the stripe's."""
    if 0x5F24 in txn.tags:
        return txn.tags[0x5F24].hex()[:4]
    return txn.track2.expiry if txn.track2 is not None else ""


def chip_facts(txn: Transaction) -> tuple[tuple[str, str], ...]:
    """What a contact chip transaction prints on the merchant's copy, as EMV receipts do:
    the application, the TVR and TSI, the outcome of offline data authentication, the
    issuer's script results (9F5B)."""
    if txn.entry_mode is not EntryMode.CHIP or not txn.tags:
        return ()
    aid = txn.tags.get(0x84) or txn.tags.get(0x4F) or b""
    facts = [("AID", aid.hex().upper()), ("TVR", txn.tvr.value.hex().upper())]
    facts.append(("TSI", txn.tsi.value.hex().upper()))
    if txn.oda is not None and txn.oda.method is not None:
        facts.append(("ODA", f"{txn.oda.method.value} {'FAILED' if txn.oda.failure else 'OK'}"))
    for i in range(0, len(txn.script_results), 5):
        facts.append(("ISSUER SCRIPT", txn.script_results[i : i + 5].hex().upper()))
    return tuple(facts)


class Records:
    def __init__(self, core: TerminalCore) -> None:
        self._core = core

    def receipts(self, facts: ReceiptFacts, card_language: str) -> Receipts:
        """The cardholder's copy in the card's language, the merchant's in the terminal's."""
        return (
            receipt_lines(facts, card_language, ReceiptCopy.CUSTOMER),
            receipt_lines(facts, self._core.language, ReceiptCopy.MERCHANT),
        )

    def record_outcome(self, status: TransactionStatus) -> JournalEntry:
        """The running transaction's approval or decline, with both receipts."""
        txn, core = self._core.txn, self._core
        assert txn is not None
        facts = ReceiptFacts(
            txn.kind,
            txn.amount,
            txn.currency,
            txn.masked_pan,
            txn.entry_mode,
            "approved" if status is TransactionStatus.APPROVED else "declined",
            txn.response_code,
            txn.reference,
            txn.auth_code,
            int(core.now),
            txn.cvm_result,
            approved_amount=txn.approved_amount,
            tip_amount=txn.tip_amount,
            original_reference=txn.original_reference,
            emv=chip_facts(txn),
        )
        return self.record(
            status, txn.response_code, txn.auth_code, self.receipts(facts, txn.language)
        )

    def record(
        self,
        status: TransactionStatus,
        response_code: str,
        auth_code: str,
        receipts: Receipts,
    ) -> JournalEntry:
        """Commit the running transaction's outcome to the journal, with the cardholder's
        and the merchant's receipts."""
        txn, core = self._core.txn, self._core
        assert txn is not None
        return core.journal.record_completion(
            txn.client_transaction_id,
            txn.kind,
            txn.amount,
            txn.currency,
            txn.original_reference,
            status,
            response_code,
            auth_code,
            txn.masked_pan,
            txn.entry_mode,
            int(core.now),
            *receipts,
            approved_amount=txn.approved_amount,
            tip_amount=txn.tip_amount,
            card_expiry=_expiry(txn),
        )

    def reply_outcome(self, entry: JournalEntry) -> None:
        """A stored outcome as the answer to the request being handled (LOOKUP, LAST, a
        repeated SALE)."""
        self.send_outcome(entry, self._core.reply)

    def send_outcome(
        self, entry: JournalEntry, send: Callable[[Message], None] | None = None
    ) -> None:
        send = send or self._core.send
        for message in outcome_messages(entry):
            send(message)


def outcome_messages(entry: JournalEntry) -> list[Message]:
    """What reports a journal entry's outcome: both receipts (when kept), then the result."""
    out: list[Message] = []
    status = entry.status if entry.status is not None else TransactionStatus.FAILED
    if entry.receipt:
        out.append(Receipt(entry.client_transaction_id, ReceiptCopy.CUSTOMER, entry.receipt))
    if entry.merchant_receipt:
        out.append(
            Receipt(entry.client_transaction_id, ReceiptCopy.MERCHANT, entry.merchant_receipt)
        )
    out.append(
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
            approved_amount=entry.approved_amount,
            tip_amount=entry.tip_amount,
        )
    )
    return out
