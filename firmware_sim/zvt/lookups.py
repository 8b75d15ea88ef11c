"""What a ZVT command needs to find in the journal: the transaction a receipt number names,
and a purchase a refund can be booked against (ZVT's Refund names none; possim's journal
keeps every refund tied to a sale, so that no more is refunded than was paid).

>>> from firmware_sim.journal import Journal
>>> lookups = journal_lookups(Journal())
>>> lookups.refundable(100, "EUR") is None
True
"""

from __future__ import annotations

from protocols.codes import TransactionKind

from ..journal import Journal
from .ecr_commands import Lookups

__all__ = ["journal_lookups"]

_PURCHASES = (TransactionKind.SALE, TransactionKind.COMPLETION)


def journal_lookups(journal: Journal) -> Lookups:
    def by_receipt(receipt: int, kinds: tuple[TransactionKind, ...]) -> str | None:
        """The newest approved transaction of ``kinds`` whose receipt number (the last four
        digits of its reference) is ``receipt``."""
        for entry in reversed(journal.entries()):
            if entry.kind in kinds and entry.approved and entry.seq % 10_000 == receipt:
                return entry.reference
        return None

    def refundable(amount: int, currency: str) -> str | None:
        """The newest approved purchase in ``currency`` that still has ``amount`` to
        refund (what its refunds took so far subtracted)."""
        for entry in reversed(journal.entries()):
            if entry.kind not in _PURCHASES or not entry.approved or entry.currency != currency:
                continue
            refunded = sum(
                f.amount
                for f in journal.follow_ups(entry.reference)
                if f.kind is TransactionKind.REFUND and f.approved
            )
            if entry.approved_amount + entry.tip_amount - refunded >= amount:
                return entry.reference
        return None

    return Lookups(by_receipt, refundable, journal.card_expiry)
