"""Transaction kinds as data: for each kind, how the machine starts it, which card steps it
takes, what the card is told (EMV transaction type, tag 9C) and what settlement counts. The
application's modules and the journal's rules read this table instead of asking "is it a
refund?"; adding a kind is a row here and, where the table cannot say it, one handler (the
refund's limit, the capture's limit: :mod:`firmware_sim.journal_rules`).

>>> KIND_RULES[TransactionKind.REFUND].verifies_cardholder
False
>>> sorted({rule.start_trigger for rule in KIND_RULES.values()})
['start_follow_up', 'start_preauth', 'start_refund', 'start_sale']
"""

from __future__ import annotations

from dataclasses import dataclass

from protocols.codes import TransactionKind

__all__ = ["CLOSING_KINDS", "KIND_RULES", "KindRule", "SETTLED_KINDS"]


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
    follows: frozenset[TransactionKind] = frozenset()  # the kinds of original it may name
    closes_original: bool = False  # once approved, nothing may follow the original any more
    needs_open_batch: bool = False  # its original must not be settled yet


K = TransactionKind
_PAID = frozenset({K.SALE, K.COMPLETION})  # what can be refunded or tipped

KIND_RULES: dict[TransactionKind, KindRule] = {
    rule.kind: rule
    for rule in (
        KindRule(K.SALE, "start_sale", True, True, True, transaction_type=0x00, settles_as="debit"),
        KindRule(
            K.REFUND,
            "start_refund",
            reads_card=True,
            verifies_cardholder=False,
            asks_cryptogram=False,
            transaction_type=0x20,
            settles_as="credit",
            follows=_PAID,
        ),
        KindRule(
            K.PREAUTH, "start_preauth", True, True, True, transaction_type=0x00, settles_as="hold"
        ),
        KindRule(
            K.INCREMENT,
            "start_follow_up",
            False,
            False,
            False,
            transaction_type=0x00,
            settles_as="hold",
            follows=frozenset({K.PREAUTH}),
        ),
        KindRule(
            K.COMPLETION,
            "start_follow_up",
            False,
            False,
            False,
            transaction_type=0x00,
            settles_as="debit",
            follows=frozenset({K.PREAUTH}),
            closes_original=True,
        ),
        KindRule(
            K.RELEASE,
            "start_follow_up",
            False,
            False,
            False,
            transaction_type=0x00,
            settles_as="release",
            follows=frozenset({K.PREAUTH}),
            closes_original=True,
        ),
        KindRule(
            K.VOID,
            "start_follow_up",
            False,
            False,
            False,
            transaction_type=0x00,
            settles_as="",
            follows=frozenset({K.SALE, K.REFUND, K.COMPLETION}),
            closes_original=True,
            needs_open_batch=True,
        ),
        KindRule(
            K.TIP_ADJUST,
            "start_follow_up",
            False,
            False,
            False,
            transaction_type=0x00,
            settles_as="",
            follows=_PAID,
            needs_open_batch=True,
        ),
    )
}

SETTLED_KINDS = frozenset(rule.kind for rule in KIND_RULES.values() if rule.settles_as)
"""The kinds that have a line in a settlement."""
CLOSING_KINDS = frozenset(rule.kind for rule in KIND_RULES.values() if rule.closes_original)
"""The kinds after which nothing may follow their original."""
