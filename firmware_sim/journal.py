"""The terminal's journal in SQLite (WAL, synchronous=FULL): each step is committed before
it becomes visible, the client transaction id makes sales and refunds idempotent, and on start
an authorization with no recorded completion is reversed and marked so.

A sale costs two commits (two fsyncs): ``authorizing`` before the authorizer is asked, and
``completed`` before the receipt and result go to the host. One fewer could not tell, after a
crash, whether an authorization may have happened.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from typing import Any

from protocols.codes import EntryMode, TransactionKind, TransactionStatus
from protocols.currency import format_money
from protocols.errors import ErrorCode
from protocols.messages import CurrencyTotals

__all__ = ["JournalEntry", "Journal", "JournalRuleError"]

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
    merchant_receipt TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
INSERT OR IGNORE INTO meta VALUES ('batch', 1);
INSERT OR IGNORE INTO meta VALUES ('tdes_counter', 1);
INSERT OR IGNORE INTO meta VALUES ('aes_counter', 1);
"""

_COLUMNS = (
    "client_transaction_id, kind, amount, currency, original_reference, state, status,"
    " response_code, auth_code, masked_pan, entry_mode, time, receipt, seq, merchant_receipt"
)


class JournalRuleError(ValueError):
    """A request breaks a journal rule (refund limits, a reused id); carries the wire code."""

    def __init__(self, error_code: ErrorCode, text: str, field: str = "") -> None:
        super().__init__(text)
        self.error_code = error_code
        self.field = field


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

    @property
    def reference(self) -> str:
        return f"{self.seq:012d}"


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
    )


class Journal:
    """``path`` is a file (durable) or ``:memory:``."""

    def __init__(self, path: str = ":memory:") -> None:
        self.path = path
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(_SCHEMA)
        columns = {row[1] for row in self._db.execute("PRAGMA table_info(transactions)")}
        if "merchant_receipt" not in columns:  # a journal written before both copies were kept
            self._db.execute(
                "ALTER TABLE transactions ADD COLUMN merchant_receipt TEXT NOT NULL DEFAULT ''"
            )
        self.commits = 0

    def __repr__(self) -> str:
        return f"Journal({self.path!r})"

    def close(self) -> None:
        self._db.close()

    def _one(self, where: str, args: tuple[object, ...]) -> JournalEntry | None:
        row = self._db.execute(
            f"SELECT {_COLUMNS} FROM transactions WHERE {where}", args
        ).fetchone()
        return _entry(row) if row else None

    # --- lookups -------------------------------------------------------------------------

    def lookup(self, client_transaction_id: str) -> JournalEntry | None:
        return self._one("client_transaction_id = ?", (client_transaction_id,))

    def last(self) -> JournalEntry | None:
        return self._one("seq = (SELECT MAX(seq) FROM transactions)", ())

    def by_reference(self, reference: str) -> JournalEntry | None:
        if not (reference.isdigit() and len(reference) == 12):
            return None
        return self._one("seq = ?", (int(reference),))

    def entries(self) -> list[JournalEntry]:
        rows = self._db.execute(f"SELECT {_COLUMNS} FROM transactions ORDER BY seq").fetchall()
        return [_entry(r) for r in rows]

    def counts(self) -> dict[str, int]:
        """How many transactions the journal holds, by outcome, and the open batch.

        >>> Journal().counts()["transactions"]
        0
        """
        counts = {name.lower(): 0 for name in TransactionStatus.__members__}
        counts.update(transactions=0, reversed=0, unfinished=0)
        for state, status, number in self._db.execute(
            "SELECT state, status, COUNT(*) FROM transactions GROUP BY state, status"
        ):
            counts["transactions"] += number
            if state == "authorizing":
                counts["unfinished"] += number
            elif state == "reversed":
                counts["reversed"] += number
            elif status is not None:
                counts[TransactionStatus(status).name.lower()] += number
        (counts["batch"],) = self._db.execute(
            "SELECT value FROM meta WHERE key = 'batch'"
        ).fetchone()
        return counts

    # --- rules ---------------------------------------------------------------------------

    def check_new(
        self,
        client_transaction_id: str,
        kind: TransactionKind,
        amount: int,
        currency: str,
        original_reference: str = "",
    ) -> JournalEntry | None:
        """The stored entry if this exact request was made before (idempotency); None if it
        is new; JournalRuleError if the id was used for another request or a refund breaks
        the refund rules."""
        existing = self.lookup(client_transaction_id)
        if existing is not None:
            same = (existing.kind, existing.amount, existing.currency, existing.original_reference)
            if same != (kind, amount, currency, original_reference):
                raise JournalRuleError(
                    ErrorCode.TRANSACTION_ID_REUSED,
                    "this client transaction id was used for a different request",
                    "client_transaction_id",
                )
            return existing
        if kind is TransactionKind.REFUND:
            self._check_refund(amount, currency, original_reference)
        return None

    def _check_refund(self, amount: int, currency: str, original_reference: str) -> None:
        sale = self.by_reference(original_reference)
        if sale is None or sale.kind is not TransactionKind.SALE:
            raise JournalRuleError(
                ErrorCode.ORIGINAL_NOT_FOUND, f"no sale {original_reference}", "original_reference"
            )
        if sale.status is not TransactionStatus.APPROVED or sale.state != "completed":
            raise JournalRuleError(
                ErrorCode.ORIGINAL_NOT_APPROVED, "the sale was not approved", "original_reference"
            )
        if sale.currency != currency:
            raise JournalRuleError(
                ErrorCode.CURRENCY_MISMATCH, f"the sale was in {sale.currency}", "currency"
            )
        (refunded,) = self._db.execute(
            "SELECT COALESCE(SUM(amount), 0) FROM transactions WHERE kind = ? AND"
            " original_reference = ? AND status = ?",
            (int(TransactionKind.REFUND), original_reference, int(TransactionStatus.APPROVED)),
        ).fetchone()
        if refunded + amount > sale.amount:
            raise JournalRuleError(
                ErrorCode.REFUND_EXCEEDS_SALE,
                f"{format_money(refunded, currency)} of {format_money(sale.amount, currency)}"
                f" already refunded; at most {format_money(sale.amount - refunded, currency)}"
                " more can be",
                "amount",
            )

    # --- steps ---------------------------------------------------------------------------

    def pin_pad_counters(self) -> tuple[int, int]:
        """The PIN pad's next TDES and AES DUKPT counters."""
        rows = dict(
            self._db.execute(
                "SELECT key, value FROM meta WHERE key IN ('tdes_counter', 'aes_counter')"
            ).fetchall()
        )
        return int(rows["tdes_counter"]), int(rows["aes_counter"])

    def _set_counters(self, counters: tuple[int, int]) -> None:
        self._db.execute("UPDATE meta SET value = ? WHERE key = 'tdes_counter'", (counters[0],))
        self._db.execute("UPDATE meta SET value = ? WHERE key = 'aes_counter'", (counters[1],))

    def save_pin_pad_counters(self, counters: tuple[int, int]) -> None:
        """Commit the PIN pad's counters before a PIN block leaves the terminal."""
        self._db.execute("BEGIN IMMEDIATE")
        self._set_counters(counters)
        self._db.execute("COMMIT")
        self.commits += 1

    def record_authorizing(
        self,
        client_transaction_id: str,
        kind: TransactionKind,
        amount: int,
        currency: str,
        original_reference: str,
        masked_pan: str,
        entry_mode: EntryMode,
        time: int,
        pin_pad_counters: tuple[int, int] | None = None,
    ) -> str:
        """Commit that the authorizer is about to be asked (with the PIN pad's counters, in
        the same commit, when a PIN block goes along); the transaction's reference."""
        self._db.execute("BEGIN IMMEDIATE")
        try:
            if pin_pad_counters is not None:
                self._set_counters(pin_pad_counters)
            cursor = self._db.execute(
                "INSERT INTO transactions (client_transaction_id, kind, amount, currency,"
                " original_reference, state, masked_pan, entry_mode, time)"
                " VALUES (?, ?, ?, ?, ?, 'authorizing', ?, ?, ?)",
                (
                    client_transaction_id,
                    int(kind),
                    amount,
                    currency,
                    original_reference,
                    masked_pan,
                    int(entry_mode),
                    time,
                ),
            )
            self._db.execute("COMMIT")
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self.commits += 1
        return f"{cursor.lastrowid:012d}"

    def record_completion(
        self,
        client_transaction_id: str,
        kind: TransactionKind,
        amount: int,
        currency: str,
        original_reference: str,
        status: TransactionStatus,
        response_code: str,
        auth_code: str,
        masked_pan: str,
        entry_mode: EntryMode,
        time: int,
        receipt: tuple[str, ...],
        merchant_receipt: tuple[str, ...] = (),
    ) -> JournalEntry:
        """Commit the outcome and both receipts, before the host sees them."""
        (batch,) = self._db.execute("SELECT value FROM meta WHERE key = 'batch'").fetchone()
        values = (
            int(status),
            response_code,
            auth_code,
            masked_pan,
            int(entry_mode),
            time,
            "\n".join(receipt),
            batch,
            "\n".join(merchant_receipt),
        )
        if self.lookup(client_transaction_id) is None:
            self._db.execute(
                "INSERT INTO transactions (client_transaction_id, kind, amount, currency,"
                " original_reference, state, status, response_code, auth_code, masked_pan,"
                " entry_mode, time, receipt, batch, merchant_receipt)"
                " VALUES (?, ?, ?, ?, ?, 'completed', ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (client_transaction_id, int(kind), amount, currency, original_reference, *values),
            )
        else:
            self._db.execute(
                "UPDATE transactions SET state = 'completed', status = ?, response_code = ?,"
                " auth_code = ?, masked_pan = ?, entry_mode = ?, time = ?, receipt = ?,"
                " batch = ?, merchant_receipt = ? WHERE client_transaction_id = ?",
                (*values, client_transaction_id),
            )
        self.commits += 1
        entry = self.lookup(client_transaction_id)
        assert entry is not None
        return entry

    def unfinished(self) -> list[JournalEntry]:
        """Authorizations with no recorded completion (after a crash)."""
        rows = self._db.execute(
            f"SELECT {_COLUMNS} FROM transactions WHERE state = 'authorizing' ORDER BY seq"
        ).fetchall()
        return [_entry(r) for r in rows]

    def record_reversal(
        self,
        client_transaction_id: str,
        receipt: tuple[str, ...],
        merchant_receipt: tuple[str, ...] = (),
    ) -> None:
        self._db.execute(
            "UPDATE transactions SET state = 'reversed', status = ?, response_code = '96',"
            " receipt = ?, merchant_receipt = ? WHERE client_transaction_id = ?",
            (
                int(TransactionStatus.FAILED),
                "\n".join(receipt),
                "\n".join(merchant_receipt),
                client_transaction_id,
            ),
        )
        self.commits += 1

    def settle(self) -> tuple[int, tuple[CurrencyTotals, ...]]:
        """Close the current batch: its number and its approved totals per currency."""
        (batch,) = self._db.execute("SELECT value FROM meta WHERE key = 'batch'").fetchone()
        rows = self._db.execute(
            "SELECT currency, kind, COUNT(*), SUM(amount) FROM transactions WHERE batch = ?"
            " AND status = ? AND state = 'completed' GROUP BY currency, kind ORDER BY currency",
            (batch, int(TransactionStatus.APPROVED)),
        ).fetchall()
        sums: dict[str, list[int]] = {}
        for currency, kind, count, total in rows:
            slot = sums.setdefault(currency, [0, 0, 0, 0])
            offset = 0 if kind == TransactionKind.SALE else 2
            slot[offset], slot[offset + 1] = count, total
        self._db.execute("UPDATE meta SET value = value + 1 WHERE key = 'batch'")
        self.commits += 1
        return int(batch), tuple(CurrencyTotals(c, *v) for c, v in sums.items())
