"""Hypothesis, model against terminal: random sequences of sales (some partial, some
declined), pre-authorizations, increments, completions with tips, releases, voids, tip
adjustments, refunds and settlements against a terminal core, each checked against a small
model of the rules (docs/protocol.md section 4). The terminal answers exactly what the model
says: the outcome, or the refusal's code with nothing written; a hold is never captured twice
or beyond its total; settlement's lines are the model's."""

from __future__ import annotations

from dataclasses import dataclass, field

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from firmware_sim.authorizer import BuiltInAuthorizer
from firmware_sim.cardholder import AutoCardholder, drain
from firmware_sim.states import TerminalState
from firmware_sim.testing import make_core
from protocols.codes import SaleOption, TransactionKind, TransactionStatus
from protocols.errors import ErrorCode
from protocols.messages import (
    Error,
    FollowUpRequest,
    Message,
    PreauthRequest,
    RefundRequest,
    SaleRequest,
    SettlementRequest,
    SettlementResponse,
    TransactionResult,
)

K = TransactionKind
# amounts (minor units) with their issuer outcome: approved, half (10), declined
AMOUNTS = st.sampled_from([500, 1234, 2000, 1010, 1051, 905])
SMALL = st.sampled_from([100, 250, 1000, 4000, 6000])
TIPS = st.sampled_from([0, 50, 300])


@dataclass
class Entry:
    kind: TransactionKind
    approved: int  # approved amount
    tip: int = 0
    batch: int = 1
    increments: int = 0
    closed: bool = False  # a hold completed or released
    voided: bool = False
    refunded: int = 0
    completions: int = 0


@dataclass
class Model:
    batch: int = 1
    entries: dict[str, Entry] = field(default_factory=dict)  # by reference

    @staticmethod
    def issuer(amount: int, allow_partial: bool) -> int:
        """What the built-in issuer approves of ``amount`` (0: declined)."""
        if amount % 100 in (51, 5, 91):
            return 0
        if amount % 100 == 10:
            return amount // 2 if allow_partial else 0
        return amount

    def follow_up_refusal(
        self, kind: TransactionKind, ref: str, amount: int, tip: int
    ) -> ErrorCode | None:
        original = self.entries.get(ref)
        wanted = {
            K.REFUND: {K.SALE, K.COMPLETION},
            K.INCREMENT: {K.PREAUTH},
            K.COMPLETION: {K.PREAUTH},
            K.RELEASE: {K.PREAUTH},
            K.VOID: {K.SALE, K.REFUND, K.COMPLETION},
            K.TIP_ADJUST: {K.SALE, K.COMPLETION},
        }[kind]
        if original is None:
            return ErrorCode.ORIGINAL_NOT_FOUND
        if original.kind not in wanted:
            return ErrorCode.ORIGINAL_WRONG_KIND
        if original.approved == 0:
            return ErrorCode.ORIGINAL_NOT_APPROVED
        if original.closed or original.voided:
            return ErrorCode.ORIGINAL_CLOSED
        if kind in (K.VOID, K.TIP_ADJUST) and original.batch != self.batch:
            return ErrorCode.ALREADY_SETTLED
        if kind is K.REFUND and original.refunded + amount > original.approved + original.tip:
            return ErrorCode.REFUND_EXCEEDS_SALE
        if kind is K.VOID and original.refunded:
            return ErrorCode.ORIGINAL_CLOSED
        if kind is K.COMPLETION and amount + tip > original.approved + original.increments:
            return ErrorCode.EXCEEDS_AUTHORIZATION
        return None


class KindsAgainstTheModel(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.core = make_core()
        self.cardholder = AutoCardholder("default", tip_choice=0)
        self.model = Model()
        self.count = 0

    def send(self, message: Message) -> list[Message]:
        self.core.handle_message(message, 1.76e9)
        out = drain(self.core, self.cardholder, 1.76e9)
        assert self.core.state is TerminalState.IDLE
        return out

    def next_id(self) -> str:
        self.count += 1
        return f"T{self.count}"

    def result(self, out: list[Message]) -> TransactionResult:
        results = [m for m in out if isinstance(m, TransactionResult)]
        assert len(results) == 1, out
        return results[0]

    def refused(self, out: list[Message], code: ErrorCode, before: int) -> None:
        errors = [m for m in out if isinstance(m, Error)]
        assert [e.code for e in errors] == [code], out
        assert len(self.core.journal.entries()) == before  # nothing written

    @rule(amount=AMOUNTS, partial=st.booleans())
    def sale(self, amount: int, partial: bool) -> None:
        options = SaleOption.ALLOW_PARTIAL if partial else SaleOption.NONE
        result = self.result(self.send(SaleRequest(self.next_id(), amount, "EUR", options)))
        approved = self.model.issuer(amount, partial)
        assert result.approved_amount == approved, result
        assert (result.status is TransactionStatus.APPROVED) == bool(approved)
        self.model.entries[result.reference] = Entry(K.SALE, approved, batch=self.model.batch)

    @rule(amount=AMOUNTS)
    def preauth(self, amount: int) -> None:
        result = self.result(self.send(PreauthRequest(self.next_id(), amount, "EUR")))
        approved = self.model.issuer(amount, False)
        assert result.approved_amount == approved, result
        self.model.entries[result.reference] = Entry(K.PREAUTH, approved, batch=self.model.batch)

    def references(self, kind: TransactionKind) -> st.SearchStrategy[str]:
        """Mostly the references this kind may follow; sometimes any, or an unknown one."""
        follows = {
            K.REFUND: {K.SALE, K.COMPLETION},
            K.VOID: {K.SALE, K.REFUND, K.COMPLETION},
            K.TIP_ADJUST: {K.SALE, K.COMPLETION},
        }.get(kind, {K.PREAUTH})
        fitting = sorted(r for r, e in self.model.entries.items() if e.kind in follows)
        anything = sorted(self.model.entries) + ["000000000999"]
        return st.sampled_from(fitting) if fitting else st.sampled_from(anything)

    @precondition(lambda self: self.model.entries)
    @rule(
        data=st.data(),
        kind=st.sampled_from(
            [K.INCREMENT, K.COMPLETION, K.RELEASE, K.VOID, K.TIP_ADJUST, K.REFUND]
        ),
        amount=SMALL,
        tip=TIPS,
    )
    def follow_up(self, data: st.DataObject, kind: TransactionKind, amount: int, tip: int) -> None:
        ref = data.draw(
            st.sampled_from(sorted(self.model.entries) + ["000000000999"])
            if data.draw(st.integers(0, 4)) == 0
            else self.references(kind)
        )
        takes_amount = kind in (K.INCREMENT, K.COMPLETION, K.REFUND)
        takes_tip = kind in (K.COMPLETION, K.TIP_ADJUST)
        amount, tip = (amount if takes_amount else 0), (tip if takes_tip else 0)
        before = len(self.core.journal.entries())
        if kind is K.REFUND:
            message: Message = RefundRequest(self.next_id(), amount, "EUR", ref)
        else:
            message = FollowUpRequest(self.next_id(), kind, ref, amount, "EUR", tip)
        out = self.send(message)
        refusal = self.model.follow_up_refusal(kind, ref, amount, tip)
        if refusal is not None:
            self.refused(out, refusal, before)
            return
        result = self.result(out)
        original = self.model.entries[ref]
        if kind is K.INCREMENT:
            approved = self.model.issuer(amount, False)
            assert result.approved_amount == approved, result
            original.increments += approved
            self.model.entries[result.reference] = Entry(
                K.INCREMENT, approved, batch=self.model.batch
            )
            return
        assert result.status is TransactionStatus.APPROVED, result
        if kind is K.COMPLETION:
            original.closed = True
            self.model.entries[result.reference] = Entry(
                K.COMPLETION, amount, tip, self.model.batch
            )
        elif kind is K.RELEASE:
            original.closed = True
            assert result.amount == original.approved + original.increments
            self.model.entries[result.reference] = Entry(
                K.RELEASE, result.amount, batch=self.model.batch
            )
        elif kind is K.VOID:
            original.voided = True
            assert result.amount == original.approved + original.tip
        elif kind is K.TIP_ADJUST:
            original.tip = tip
        else:
            original.refunded += amount
            self.model.entries[result.reference] = Entry(K.REFUND, amount, batch=self.model.batch)

    @rule()
    def settle(self) -> None:
        response = [m for m in self.send(SettlementRequest()) if isinstance(m, SettlementResponse)]
        got = {(t.kind, t.count, t.total) for t in response[0].totals}
        expected: dict[TransactionKind, list[int]] = {}
        for entry in self.model.entries.values():
            if entry.batch != self.model.batch or not entry.approved or entry.voided:
                continue
            line = expected.setdefault(entry.kind, [0, 0])
            line[0] += 1
            line[1] += entry.approved + entry.tip
        assert got == {(k, c, t) for k, (c, t) in expected.items()}
        self.model.batch += 1

    @invariant()
    def holds_are_captured_once_within_their_total(self) -> None:
        authorizer = self.core.authorizer
        assert isinstance(authorizer, BuiltInAuthorizer)
        for ref, entry in self.model.entries.items():
            if entry.kind is K.PREAUTH:
                captures = [e for e in self.core.journal.follow_ups(ref) if e.kind is K.COMPLETION]
                assert len(captures) <= 1
                assert (
                    sum(e.amount + e.tip_amount for e in captures)
                    <= entry.approved + entry.increments
                )


TestKindsAgainstTheModel = KindsAgainstTheModel.TestCase
TestKindsAgainstTheModel.settings = settings(
    max_examples=150, stateful_step_count=40, deadline=None
)
