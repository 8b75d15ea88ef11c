"""Hypothesis strategies for every message, field by field within the input rules."""

from __future__ import annotations

import functools
import operator
from dataclasses import fields
from typing import Any

from hypothesis import strategies as st

from protocols import codes
from protocols.currency import CURRENCIES
from protocols.errors import ErrorCode
from protocols.messages import (
    FOLLOW_UP_KINDS,
    MESSAGE_CLASSES,
    TIP_CUSTOM,
    Counter,
    FollowUpRequest,
    KindTotals,
    Message,
    PinBlockResponse,
    SimChooseTip,
    StatusResponse,
)
from protocols.pairing_messages import PairingEntry, PairingsAction, PairingStep
from protocols.validation import MAX_AMOUNT, luhn_ok

printable = st.characters(min_codepoint=0x21, max_codepoint=0x7E)
ascii_text = st.characters(min_codepoint=0x20, max_codepoint=0x7E)
alnum = st.sampled_from("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
# any Unicode scalar that UTF-8 can carry (no surrogates)
unicode_text = st.characters(blacklist_categories=("Cs",))


def _pan() -> st.SearchStrategy[str]:
    def with_check_digit(body: str) -> str:
        return next(body + d for d in "0123456789" if luhn_ok(body + d))

    return st.text(st.sampled_from("0123456789"), min_size=11, max_size=18).map(with_check_digit)


def _u(bits: int) -> st.SearchStrategy[int]:
    return st.integers(0, (1 << bits) - 1)


currency = st.sampled_from([c.alpha for c in CURRENCIES])
txn_id = st.text(printable, min_size=1, max_size=32)
reference = st.text(alnum, min_size=1, max_size=12)

password = st.text(printable, min_size=6, max_size=32)

FIELD_STRATEGIES: dict[str, st.SearchStrategy[Any]] = {
    "client_transaction_id": txn_id,
    "password": password,
    "current": st.one_of(st.just(""), password),
    "new": password,
    "request_id": _u(16),
    "amount": st.integers(1, MAX_AMOUNT),
    "currency": currency,
    "original_reference": reference,
    "pan": _pan(),
    "format": st.sampled_from(codes.PinBlockFormat),
    "protocol_version": _u(8),
    "firmware_version": st.text(ascii_text, max_size=32),
    "serial_number": st.text(ascii_text, max_size=32),
    "capabilities": st.lists(st.sampled_from(codes.Capability)).map(
        lambda flags: functools.reduce(operator.or_, flags, codes.Capability(0))
    ),
    "kind": st.sampled_from(codes.TransactionKind),
    "status": st.sampled_from(codes.TransactionStatus),
    "response_code": st.text(alnum, min_size=2, max_size=2),
    "auth_code": st.text(alnum, max_size=6),
    "reference": st.text(alnum, max_size=12),
    "masked_pan": st.text(st.sampled_from("0123456789*"), max_size=19),
    "entry_mode": st.sampled_from([m for m in codes.EntryMode if m is not codes.EntryMode.NONE]),
    "time": _u(32),
    "copy": st.sampled_from(codes.ReceiptCopy),
    "lines": st.lists(
        st.text(unicode_text, max_size=48).filter(lambda s: len(s.encode()) <= 255), max_size=48
    ).map(tuple),
    "outcome": st.sampled_from(codes.CancelOutcome),
    "batch_number": _u(32),
    "totals": st.lists(
        st.builds(KindTotals, currency, st.sampled_from(codes.TransactionKind), _u(32), _u(63)),
        max_size=8,
    ).map(tuple),
    "options": st.sampled_from(codes.SaleOption),
    "tip_percentages": st.lists(st.integers(1, 100), max_size=4).map(tuple),
    "tip_amount": st.integers(0, MAX_AMOUNT),
    "approved_amount": st.integers(0, MAX_AMOUNT),
    "prompt_id": st.sampled_from(codes.PromptId),
    "language": st.sampled_from(["en", "zh"]),
    "text": st.text(unicode_text, max_size=64).filter(lambda s: len(s.encode()) <= 255),
    "code": st.sampled_from(ErrorCode) | _u(16),
    "field": st.text(ascii_text, max_size=32),
    "card": st.text(printable, min_size=1, max_size=32),
    "entry": st.sampled_from(codes.PinEntry),
    "public_key": st.binary(min_size=32, max_size=32),
    "host_name": st.text(ascii_text, min_size=1, max_size=32),
    "terminal_name": st.text(ascii_text, max_size=32),
    "pairing_id": st.binary(min_size=8, max_size=8),
    "step": st.sampled_from(PairingStep),
    "round": st.integers(0, 5),
    "value": st.binary(min_size=16, max_size=16) | st.binary(min_size=32, max_size=32),
    "action": st.sampled_from(PairingsAction),
    "pairings": st.lists(
        st.builds(
            PairingEntry,
            st.binary(min_size=8, max_size=8),
            st.text(ascii_text, max_size=32),
            _u(32),
        ),
        max_size=8,
    ).map(tuple),
}


def _pin_block_response() -> st.SearchStrategy[Message]:
    def build(fmt: codes.PinBlockFormat, data: st.DataObject) -> Message:
        block, ksn = (8, 10) if fmt is codes.PinBlockFormat.ISO_0 else (16, 12)
        return PinBlockResponse(
            fmt,
            data.draw(st.binary(min_size=block, max_size=block)),
            data.draw(st.binary(min_size=ksn, max_size=ksn)),
        )

    return st.builds(build, st.sampled_from(codes.PinBlockFormat), st.data())


def _status_response() -> st.SearchStrategy[Message]:
    running = st.tuples(
        st.sampled_from(codes.TransactionKind).map(int), txn_id, st.integers(1, MAX_AMOUNT), currency
    )
    counter = st.builds(Counter, st.text(ascii_text, max_size=32), _u(32))

    def build(
        state: str, txn: tuple[int, str, int, str] | None, ref: str, counters: list[Counter]
    ) -> Message:
        kind, txn_id_, amount, currency_ = txn or (0, "", 0, "")
        return StatusResponse(state, kind, txn_id_, amount, currency_, ref, tuple(counters))

    return st.builds(
        build,
        st.text(ascii_text, max_size=32),
        st.none() | running,
        st.text(alnum, max_size=12),
        st.lists(counter, max_size=30),
    )


def _follow_up() -> st.SearchStrategy[Message]:
    def build(kind: codes.TransactionKind, data: st.DataObject) -> Message:
        takes_amount, takes_tip = FOLLOW_UP_KINDS[kind]
        return FollowUpRequest(
            data.draw(txn_id),
            kind,
            data.draw(reference),
            data.draw(st.integers(1, MAX_AMOUNT)) if takes_amount else 0,
            data.draw(currency),
            data.draw(st.integers(0, MAX_AMOUNT)) if takes_tip else 0,
            request_id=data.draw(_u(16)),
        )

    return st.builds(build, st.sampled_from(sorted(FOLLOW_UP_KINDS)), st.data())


def _sim_choose_tip() -> st.SearchStrategy[Message]:
    custom = st.builds(SimChooseTip, st.just(TIP_CUSTOM), st.integers(1, MAX_AMOUNT))
    return st.builds(SimChooseTip, st.integers(0, 4)) | custom


def message_strategy(cls: type[Message]) -> st.SearchStrategy[Message]:
    if cls is FollowUpRequest:
        return _follow_up()
    if cls is SimChooseTip:
        return _sim_choose_tip()
    if cls is PinBlockResponse:
        return _pin_block_response()
    if cls is StatusResponse:
        return _status_response()
    kwargs = {f.name: FIELD_STRATEGIES[f.name] for f in fields(cls)}  # type: ignore[arg-type]
    return st.builds(cls, **kwargs)


any_message: st.SearchStrategy[Message] = st.one_of(
    [message_strategy(cls) for cls in MESSAGE_CLASSES.values()]
)
