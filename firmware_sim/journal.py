"""The terminal's journal in SQLite (WAL, synchronous=FULL): each step is committed before
it becomes visible, the client transaction id makes sales and refunds idempotent, and on start
an authorization with no recorded completion is reversed and marked so.

A sale costs two commits (two fsyncs): ``authorizing`` before the authorizer is asked, and
``completed`` before the receipt and result go to the host. One fewer could not tell, after a
crash, whether an authorization may have happened.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Collection

from protocols.codes import EntryMode, TransactionKind, TransactionStatus
from protocols.messages import KindTotals

from .journal_rows import _ADDED_COLUMNS, _COLUMNS, _SCHEMA, JournalEntry, _entry
from .journal_rules import JournalRuleError, NewTransaction, check_new, settlement_lines

__all__ = ["JournalEntry", "Journal", "JournalRuleError", "NewTransaction"]

_OPEN_BATCH = "(SELECT value FROM meta WHERE key = 'batch')"  # the batch settlement closes next


class Journal:
    """``path`` is a file (durable) or ``:memory:``."""

    def __init__(self, path: str = ":memory:") -> None:
        self.path = path
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        if path == ":memory:":  # small pages: a fleet keeps a thousand of these per process
            self._db.execute("PRAGMA page_size=1024")
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(_SCHEMA)
        columns = {row[1] for row in self._db.execute("PRAGMA table_info(transactions)")}
        for name, (declaration, fill) in _ADDED_COLUMNS.items():
            if name not in columns:  # a journal written by an earlier version
                self._db.execute(f"ALTER TABLE transactions ADD COLUMN {name} {declaration}")
                if fill:
                    self._db.execute(fill)
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

    def follow_ups(self, reference: str) -> list[JournalEntry]:
        """The approved transactions that name ``reference`` as their original, oldest first."""
        rows = self._db.execute(
            f"SELECT {_COLUMNS} FROM transactions WHERE original_reference = ? AND status = ?"
            " AND state = 'completed' ORDER BY seq",
            (reference, int(TransactionStatus.APPROVED)),
        ).fetchall()
        return [_entry(r) for r in rows]

    def current_batch(self) -> int:
        (batch,) = self._db.execute(f"SELECT {_OPEN_BATCH}").fetchone()
        return int(batch)

    def check_new(self, request: NewTransaction) -> JournalEntry | None:
        """The stored entry if this exact request was made before (idempotency); None if it
        is new; JournalRuleError if the id was used for another request or the request
        breaks a rule of its kind (see :mod:`.journal_rules`)."""
        return check_new(self, request)

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
        *,
        tip_amount: int = 0,
    ) -> str:
        """Commit that the authorizer is about to be asked (with the PIN pad's counters, in
        the same commit, when a PIN block goes along); the transaction's reference."""
        self._db.execute("BEGIN IMMEDIATE")
        try:
            if pin_pad_counters is not None:
                self._set_counters(pin_pad_counters)
            cursor = self._db.execute(
                "INSERT INTO transactions (client_transaction_id, kind, amount, currency,"
                " original_reference, state, masked_pan, entry_mode, time, tip_amount)"
                " VALUES (?, ?, ?, ?, ?, 'authorizing', ?, ?, ?, ?)",
                (
                    client_transaction_id,
                    int(kind),
                    amount,
                    currency,
                    original_reference,
                    masked_pan,
                    int(entry_mode),
                    time,
                    tip_amount,
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
        *,
        approved_amount: int | None = None,
        tip_amount: int = 0,
        card_expiry: str = "",
    ) -> JournalEntry:
        """Commit the outcome and both receipts, before the host sees them. The approved
        amount is the whole amount unless given (a partial approval); 0 unless approved.
        ``card_expiry``: YYMM of the card read, when one was."""
        if status is not TransactionStatus.APPROVED:
            approved_amount = 0
        elif approved_amount is None:
            approved_amount = amount
        values = (
            int(status),
            response_code,
            auth_code,
            masked_pan,
            int(entry_mode),
            time,
            "\n".join(receipt),
            "\n".join(merchant_receipt),
            approved_amount,
            tip_amount,
            card_expiry,
        )
        # one statement where it can (every statement is a round trip into SQLite, which
        # lets go of the GIL): the row written at authorizing is there for most kinds
        updated = self._db.execute(
            "UPDATE transactions SET state = 'completed', status = ?, response_code = ?,"
            " auth_code = ?, masked_pan = ?, entry_mode = ?, time = ?, receipt = ?,"
            f" batch = {_OPEN_BATCH}, merchant_receipt = ?, approved_amount = ?,"
            " tip_amount = ?, card_expiry = ? WHERE client_transaction_id = ?",
            (*values, client_transaction_id),
        )
        if updated.rowcount == 0:
            self._db.execute(
                "INSERT INTO transactions (client_transaction_id, kind, amount, currency,"
                " original_reference, state, status, response_code, auth_code, masked_pan,"
                " entry_mode, time, receipt, batch, merchant_receipt, approved_amount,"
                " tip_amount, card_expiry) VALUES (?, ?, ?, ?, ?, 'completed', ?, ?, ?, ?, ?,"
                f" ?, ?, {_OPEN_BATCH}, ?, ?, ?, ?)",
                (client_transaction_id, int(kind), amount, currency, original_reference, *values),
            )
        self.commits += 1
        entry = self.lookup(client_transaction_id)
        assert entry is not None
        return entry

    def card_expiry(self, reference: str) -> str:
        """YYMM of the card the transaction read ("" when none was, or it is unknown)."""
        if not (reference.isdigit() and len(reference) == 12):
            return ""
        row = self._db.execute(
            "SELECT card_expiry FROM transactions WHERE seq = ?", (int(reference),)
        ).fetchone()
        return str(row[0]) if row else ""

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

    def batch_entries(self, batch: int) -> list[JournalEntry]:
        rows = self._db.execute(
            f"SELECT {_COLUMNS} FROM transactions WHERE batch = ? AND state = 'completed'"
            " ORDER BY seq",
            (batch,),
        ).fetchall()
        return [_entry(r) for r in rows]

    def settle(self, counted: Collection[TransactionKind]) -> tuple[int, tuple[KindTotals, ...]]:
        """Close the current batch: its number and its approved totals per currency and kind,
        for the ``counted`` kinds (voids and the transactions they void leave the totals;
        tips count as adjusted)."""
        batch = self.current_batch()
        lines = settlement_lines(self.batch_entries(batch), counted)
        self._db.execute("UPDATE meta SET value = value + 1 WHERE key = 'batch'")
        self.commits += 1
        return batch, lines
