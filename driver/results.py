"""Typed results of the driver's commands, and their JSON form (the ``--json`` keys of the
``possim`` command line).

>>> from protocols.exchanges import example_sale_result
>>> outcome = TransactionOutcome.from_messages(example_sale_result(), ("POSSIM", "APPROVED"))
>>> outcome.approved, outcome.to_json()["amount"], outcome.to_json()["entry_mode"]
(True, '12.34', 'chip')
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from protocols.codes import (
    CancelOutcome,
    Capability,
    EntryMode,
    PinBlockFormat,
    TransactionKind,
    TransactionStatus,
)
from protocols.currency import format_amount
from protocols.messages import KindTotals, TransactionResult

__all__ = [
    "TransactionOutcome",
    "PinBlockResult",
    "TerminalInfo",
    "TerminalStatus",
    "Settlement",
    "CancelOutcome",
]


@dataclass(frozen=True)
class TransactionOutcome:
    """The outcome of a sale or refund, with its receipts: ``receipt`` is the cardholder's
    copy (in the card's language), ``merchant_receipt`` the merchant's (the terminal's)."""

    client_transaction_id: str
    kind: TransactionKind
    status: TransactionStatus
    response_code: str
    auth_code: str
    reference: str
    amount: int  # minor units
    currency: str
    masked_pan: str
    entry_mode: EntryMode
    original_reference: str
    time: int
    receipt: tuple[str, ...]
    merchant_receipt: tuple[str, ...] = ()
    approved_amount: int = 0  # minor units; less than ``amount`` on a partial approval
    tip_amount: int = 0

    @property
    def approved(self) -> bool:
        return self.status is TransactionStatus.APPROVED

    @property
    def partial(self) -> bool:
        """Approved for less than was asked (response code 10)."""
        return self.approved and self.approved_amount < self.amount

    @property
    def amount_text(self) -> str:
        return format_amount(self.amount, self.currency)

    @classmethod
    def from_messages(
        cls,
        result: TransactionResult,
        receipt: tuple[str, ...],
        merchant_receipt: tuple[str, ...] = (),
    ) -> TransactionOutcome:
        return cls(
            client_transaction_id=result.client_transaction_id,
            kind=result.kind,
            status=result.status,
            response_code=result.response_code,
            auth_code=result.auth_code,
            reference=result.reference,
            amount=result.amount,
            currency=result.currency,
            masked_pan=result.masked_pan,
            entry_mode=result.entry_mode,
            original_reference=result.original_reference,
            time=result.time,
            receipt=receipt,
            merchant_receipt=merchant_receipt,
            approved_amount=result.approved_amount,
            tip_amount=result.tip_amount,
        )

    def to_json(self) -> dict[str, Any]:
        """The design's keys: status, response_code, auth_code, reference, amount, currency,
        masked_pan, entry_mode, receipt, merchant_receipt (and the client transaction id);
        kind, requested_amount, approved_amount, tip_amount, original_reference."""
        money = self.currency
        return {
            "kind": _KIND_NAMES[self.kind],
            "status": self.status.name.lower(),
            "response_code": self.response_code,
            "auth_code": self.auth_code,
            "reference": self.reference,
            "amount": self.amount_text,
            "currency": self.currency,
            "masked_pan": self.masked_pan,
            "entry_mode": self.entry_mode.name.lower(),
            "receipt": list(self.receipt),
            "merchant_receipt": list(self.merchant_receipt),
            "client_transaction_id": self.client_transaction_id,
            "requested_amount": format_amount(self.amount, money),
            "approved_amount": format_amount(self.approved_amount, money),
            "tip_amount": format_amount(self.tip_amount, money),
            "original_reference": self.original_reference,
        }


# the JSON names of the kinds (design.md): TIP_ADJUST is "tip"
_KIND_NAMES = {kind: kind.name.lower() for kind in TransactionKind}
_KIND_NAMES[TransactionKind.TIP_ADJUST] = "tip"


@dataclass(frozen=True)
class PinBlockResult:
    format: PinBlockFormat
    pin_block: bytes
    ksn: bytes

    def to_json(self) -> dict[str, Any]:
        return {
            "pin_block": self.pin_block.hex().upper(),
            "ksn": self.ksn.hex().upper(),
            "format": int(self.format),
        }


@dataclass(frozen=True)
class TerminalInfo:
    protocol_version: int
    firmware_version: str
    serial_number: str
    capabilities: Capability

    def to_json(self) -> dict[str, Any]:
        return {
            "protocol_version": self.protocol_version,
            "firmware_version": self.firmware_version,
            "serial_number": self.serial_number,
            "capabilities": sorted(
                str(c.name).lower() for c in Capability if c in self.capabilities
            ),
        }


@dataclass(frozen=True)
class Settlement:
    batch_number: int
    totals: tuple[KindTotals, ...]

    def total(self, kind: TransactionKind, currency: str) -> tuple[int, int]:
        """(count, total in minor units) of one kind in one currency; (0, 0) if none."""
        for line in self.totals:
            if (line.kind, line.currency) == (kind, currency):
                return line.count, line.total
        return 0, 0

    def to_json(self) -> dict[str, Any]:
        return {
            "batch_number": self.batch_number,
            "totals": [
                {
                    "currency": t.currency,
                    "kind": _KIND_NAMES[t.kind],
                    "count": t.count,
                    "total": format_amount(t.total, t.currency),
                }
                for t in self.totals
            ],
        }


@dataclass(frozen=True)
class TerminalStatus:
    """What the terminal is doing: its state, the transaction in progress (``kind`` None when
    there is none), and its counters (the journal's counts, the link's and the runner's)."""

    state: str
    kind: TransactionKind | None
    client_transaction_id: str
    amount: int
    currency: str
    reference: str
    counters: dict[str, int]

    def to_json(self) -> dict[str, Any]:
        running = None
        if self.kind is not None:
            running = {
                "kind": _KIND_NAMES[self.kind],
                "client_transaction_id": self.client_transaction_id,
                "amount": format_amount(self.amount, self.currency),
                "currency": self.currency,
                "reference": self.reference,
            }
        return {"state": self.state.lower(), "transaction": running, "counters": self.counters}
