"""The journal's rules for a new request, by kind: the same client transaction id returns the
stored outcome (and may not be reused for another request); a refund stays within its sale; a
follow-up names an original of the right kind that is still open and unsettled; a capture stays
within what was authorized. A broken rule is a :class:`JournalRuleError` with its wire code,
and nothing is written.

>>> from firmware_sim.journal import Journal
>>> journal = Journal()
>>> journal.check_new(NewTransaction("T1", TransactionKind.SALE, 1000, "EUR")) is None
True
>>> journal.check_new(NewTransaction("V1", TransactionKind.VOID, 0, "EUR", "000000000042"))
Traceback (most recent call last):
...
firmware_sim.journal_rules.JournalRuleError: no transaction 000000000042
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import TYPE_CHECKING

from protocols.codes import TransactionKind
from protocols.currency import format_money
from protocols.errors import ErrorCode
from protocols.messages import KindTotals

from .application.kinds import CLOSING_KINDS, KIND_RULES

if TYPE_CHECKING:
    from .journal import Journal, JournalEntry

__all__ = [
    "JournalRuleError",
    "NewTransaction",
    "authorized_total",
    "check_new",
    "current_tip",
    "settlement_lines",
]

K = TransactionKind


class JournalRuleError(ValueError):
    """A request breaks a journal rule (refund limits, a reused id, a closed original);
    carries the wire code."""

    def __init__(self, error_code: ErrorCode, text: str, field: str = "") -> None:
        super().__init__(text)
        self.error_code = error_code
        self.field = field


@dataclass(frozen=True)
class NewTransaction:
    """What a request asks for, as the journal's rules see it. ``amount`` is 0 for a release,
    a void or a tip adjustment."""

    client_transaction_id: str
    kind: TransactionKind
    amount: int
    currency: str
    original_reference: str = ""
    tip_amount: int = 0


def _same_request(existing: JournalEntry, request: NewTransaction) -> bool:
    if (existing.kind, existing.currency, existing.original_reference) != (
        request.kind,
        request.currency,
        request.original_reference,
    ):
        return False
    if request.kind in (K.RELEASE, K.VOID):
        return True  # their stored amount is the original's
    if request.kind is K.TIP_ADJUST:
        return existing.tip_amount == request.tip_amount
    return (existing.amount, existing.tip_amount) == (request.amount, request.tip_amount) or (
        request.kind is K.SALE and existing.amount == request.amount  # the tip was chosen
    )


def check_new(journal: Journal, request: NewTransaction) -> JournalEntry | None:
    existing = journal.lookup(request.client_transaction_id)
    if existing is not None:
        if not _same_request(existing, request):
            raise JournalRuleError(
                ErrorCode.TRANSACTION_ID_REUSED,
                "this client transaction id was used for a different request",
                "client_transaction_id",
            )
        return existing
    if KIND_RULES[request.kind].follows:
        _check_follow_up(journal, request)
    return None


def authorized_total(journal: Journal, preauth: JournalEntry) -> int:
    """A pre-authorization's approved amount with its approved increments."""
    return _held(preauth, journal.follow_ups(preauth.reference))


def current_tip(journal: Journal, entry: JournalEntry) -> int:
    """The tip of a sale or completion as last adjusted."""
    return _adjusted_tip(entry, journal.follow_ups(entry.reference))


def _held(preauth: JournalEntry, later: list[JournalEntry]) -> int:
    """``later``: the approved transactions that follow ``preauth``, oldest first."""
    return preauth.approved_amount + sum(e.approved_amount for e in later if e.kind is K.INCREMENT)


def _adjusted_tip(entry: JournalEntry, later: list[JournalEntry]) -> int:
    adjustments = [e for e in later if e.kind is K.TIP_ADJUST]
    return adjustments[-1].tip_amount if adjustments else entry.tip_amount


def _original(journal: Journal, request: NewTransaction) -> JournalEntry:
    original = journal.by_reference(request.original_reference)
    field = "original_reference"
    if original is None:
        what = "sale" if request.kind is K.REFUND else "transaction"
        raise JournalRuleError(
            ErrorCode.ORIGINAL_NOT_FOUND, f"no {what} {request.original_reference}", field
        )
    wanted = KIND_RULES[request.kind].follows
    if original.kind not in wanted:
        names = " or ".join(sorted(k.name.lower() for k in wanted))
        raise JournalRuleError(
            ErrorCode.ORIGINAL_WRONG_KIND,
            f"a {request.kind.name.lower()} follows a {names}, not a {original.kind.name.lower()}",
            field,
        )
    if not original.approved:
        raise JournalRuleError(
            ErrorCode.ORIGINAL_NOT_APPROVED,
            f"the {original.kind.name.lower()} was not approved",
            field,
        )
    if original.currency != request.currency:
        raise JournalRuleError(
            ErrorCode.CURRENCY_MISMATCH, f"the original was in {original.currency}", "currency"
        )
    return original


def _check_follow_up(journal: Journal, request: NewTransaction) -> None:
    original = _original(journal, request)
    later = journal.follow_ups(original.reference)
    closing = [e for e in later if e.kind in CLOSING_KINDS]
    if closing:
        raise JournalRuleError(
            ErrorCode.ORIGINAL_CLOSED,
            f"{original.reference} is closed: {closing[0].kind.name.lower()}"
            f" {closing[0].reference}",
            "original_reference",
        )
    unsettled = original.batch == journal.current_batch()
    if KIND_RULES[request.kind].needs_open_batch and not unsettled:
        raise JournalRuleError(
            ErrorCode.ALREADY_SETTLED,
            f"{original.reference} was settled in batch {original.batch}",
            "original_reference",
        )
    money = request.currency
    if request.kind is K.REFUND:
        refunded = sum(e.approved_amount for e in later if e.kind is K.REFUND)
        limit = original.approved_amount + _adjusted_tip(original, later)
        if refunded + request.amount > limit:
            raise JournalRuleError(
                ErrorCode.REFUND_EXCEEDS_SALE,
                f"{format_money(refunded, money)} of {format_money(limit, money)}"
                f" already refunded; at most {format_money(limit - refunded, money)} more can be",
                "amount",
            )
    elif request.kind is K.VOID and any(e.kind is K.REFUND for e in later):
        raise JournalRuleError(
            ErrorCode.ORIGINAL_CLOSED,
            f"{original.reference} has refunds: refund the rest instead of voiding",
            "original_reference",
        )
    elif request.kind is K.COMPLETION:
        total = _held(original, later)
        if request.amount + request.tip_amount > total:
            raise JournalRuleError(
                ErrorCode.EXCEEDS_AUTHORIZATION,
                f"{format_money(request.amount + request.tip_amount, money)} with the tip is"
                f" more than the {format_money(total, money)} authorized",
                "amount",
            )


def settlement_lines(
    entries: list[JournalEntry], counted: Collection[TransactionKind]
) -> tuple[KindTotals, ...]:
    """A batch's lines per currency and kind (of the ``counted`` kinds) from its completed
    entries: approved ones that no void in the batch undid, each counted at its approved
    amount with its adjusted tip."""
    approved = [e for e in entries if e.approved]
    voided = {e.original_reference for e in approved if e.kind is K.VOID}
    tips: dict[str, int] = {}
    for e in approved:
        if e.kind is K.TIP_ADJUST:
            tips[e.original_reference] = e.tip_amount
    sums: dict[tuple[str, TransactionKind], list[int]] = {}
    for e in approved:
        if e.kind not in counted or e.reference in voided:
            continue
        line = sums.setdefault((e.currency, e.kind), [0, 0])
        line[0] += 1
        line[1] += e.approved_amount + tips.get(e.reference, e.tip_amount)
    return tuple(
        KindTotals(currency, kind, count, total)
        for (currency, kind), (count, total) in sorted(sums.items())
    )
