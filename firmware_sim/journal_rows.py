"""The journal's rows: the SQLite schema (and the columns added since the first journals,
with how an old row gets its value), and :class:`JournalEntry`, one transaction as read back.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from protocols.codes import EntryMode, TransactionKind, TransactionStatus

__all__ = ["JournalEntry"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS transactions (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    client_transaction_id TEXT NOT NULL UNIQUE,
    kind INTEGER NOT NULL,
    amount INTEGER NOT NULL,
    currency TEXT NOT NULL,
    original_reference TEXT NOT NULL,
    state TEXT NOT NULL,            -- authorizing, completed, reversed
    status INTEGER,                 -- TransactionStatus once completed or reversed
    response_code TEXT NOT NULL DEFAULT '',
    auth_code TEXT NOT NULL DEFAULT '',
    masked_pan TEXT NOT NULL DEFAULT '',
    entry_mode INTEGER NOT NULL DEFAULT 0,
    time INTEGER NOT NULL,
    receipt TEXT NOT NULL DEFAULT '',
    batch INTEGER,
    merchant_receipt TEXT NOT NULL DEFAULT '',
    approved_amount INTEGER NOT NULL DEFAULT 0,
    tip_amount INTEGER NOT NULL DEFAULT 0,
    card_expiry TEXT NOT NULL DEFAULT ''  -- YYMM of the card read, for ZVT's BMP 0E
);
CREATE INDEX IF NOT EXISTS by_original ON transactions (original_reference);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
INSERT OR IGNORE INTO meta VALUES ('batch', 1);
INSERT OR IGNORE INTO meta VALUES ('tdes_counter', 1);
INSERT OR IGNORE INTO meta VALUES ('aes_counter', 1);
"""

_COLUMNS = (
    "client_transaction_id, kind, amount, currency, original_reference, state, status,"
    " response_code, auth_code, masked_pan, entry_mode, time, receipt, seq, merchant_receipt,"
    " approved_amount, tip_amount, batch"
)
# columns added since the first journals, and how an old row gets its value
_ADDED_COLUMNS = {
    "merchant_receipt": ("TEXT NOT NULL DEFAULT ''", None),
    "approved_amount": (
        "INTEGER NOT NULL DEFAULT 0",
        "UPDATE transactions SET approved_amount = amount WHERE status = 0",
    ),
    "tip_amount": ("INTEGER NOT NULL DEFAULT 0", None),
    "card_expiry": ("TEXT NOT NULL DEFAULT ''", None),
}


@dataclass(frozen=True)
class JournalEntry:
    client_transaction_id: str
    kind: TransactionKind
    amount: int
    currency: str
    original_reference: str
    state: str
    status: TransactionStatus | None
    response_code: str
    auth_code: str
    masked_pan: str
    entry_mode: EntryMode
    time: int
    receipt: tuple[str, ...]  # the cardholder's copy
    seq: int
    merchant_receipt: tuple[str, ...] = ()
    approved_amount: int = 0  # less than amount on a partial approval; 0 unless approved
    tip_amount: int = 0
    batch: int | None = None  # the batch it counts in, once completed

    @property
    def reference(self) -> str:
        return f"{self.seq:012d}"

    @property
    def approved(self) -> bool:
        return self.status is TransactionStatus.APPROVED and self.state == "completed"


def _entry(row: tuple[Any, ...]) -> JournalEntry:
    (
        txn_id,
        kind,
        amount,
        currency,
        original,
        state,
        status,
        rc,
        auth,
        pan,
        mode,
        when,
        receipt,
        seq,
        merchant_receipt,
        approved_amount,
        tip_amount,
        batch,
    ) = row
    return JournalEntry(
        client_transaction_id=str(txn_id),
        kind=TransactionKind(kind),
        amount=int(amount),
        currency=str(currency),
        original_reference=str(original),
        state=str(state),
        status=None if status is None else TransactionStatus(status),
        response_code=str(rc),
        auth_code=str(auth),
        masked_pan=str(pan),
        entry_mode=EntryMode(mode),
        time=int(when),
        receipt=tuple(str(receipt).split("\n")) if receipt else (),
        seq=int(seq),
        merchant_receipt=tuple(str(merchant_receipt).split("\n")) if merchant_receipt else (),
        approved_amount=int(approved_amount),
        tip_amount=int(tip_amount),
        batch=None if batch is None else int(batch),
    )
