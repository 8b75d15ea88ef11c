"""Transaction kinds as data: for each kind, how the machine starts it, which card steps it
takes, what the card is told (EMV transaction type, tag 9C) and what settlement counts. The
application's modules read this table instead of asking "is it a refund?"; adding a kind is a
row here and, where the table cannot say it, one handler.

>>> KIND_RULES[TransactionKind.REFUND].verifies_cardholder
False
>>> sorted({rule.start_trigger for rule in KIND_RULES.values()})
['start_follow_up', 'start_preauth', 'start_refund', 'start_sale']
"""

from __future__ import annotations

from dataclasses import dataclass

from protocols.codes import TransactionKind

__all__ = ["KIND_RULES", "KindRule", "SETTLED_KINDS"]


@dataclass(frozen=True)
class KindRule:
    kind: TransactionKind
    start_trigger: str  # the trigger that leaves IDLE (states.TRANSITIONS)
    reads_card: bool  # the card is presented and read
    verifies_cardholder: bool  # a CVM is performed (a refund asks none)
    asks_cryptogram: bool  # contact chip: first GENERATE AC for an ARQC, second after the issuer
    transaction_type: int  # EMV tag 9C: 00 goods and services, 20 refund (card kinds only)
    settles_as: str  # its settlement line: "debit", "credit", "hold", "release"; "" none (a
    # void takes its original out of the batch, a tip adjustment changes its original's tip)


KIND_RULES: dict[TransactionKind, KindRule] = {
    rule.kind: rule
    for rule in (
        KindRule(TransactionKind.SALE, "start_sale", True, True, True, 0x00, "debit"),
        KindRule(TransactionKind.REFUND, "start_refund", True, False, False, 0x20, "credit"),
        KindRule(TransactionKind.PREAUTH, "start_preauth", True, True, True, 0x00, "hold"),
        KindRule(TransactionKind.INCREMENT, "start_follow_up", False, False, False, 0x00, "hold"),
        KindRule(TransactionKind.COMPLETION, "start_follow_up", False, False, False, 0x00, "debit"),
        KindRule(TransactionKind.RELEASE, "start_follow_up", False, False, False, 0x00, "release"),
        KindRule(TransactionKind.VOID, "start_follow_up", False, False, False, 0x00, ""),
        KindRule(TransactionKind.TIP_ADJUST, "start_follow_up", False, False, False, 0x00, ""),
    )
}

SETTLED_KINDS = frozenset(rule.kind for rule in KIND_RULES.values() if rule.settles_as)
"""The kinds that have a line in a settlement."""
