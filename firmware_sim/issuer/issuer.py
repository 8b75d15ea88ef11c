"""The issuer of the test card catalogue: decisions and ledger, with no I/O of its own but the
SQLite connection it is given. The built-in authorizer and the ISO 8583 host both run it.

It decrypts the PIN block with the host DUKPT of keys/, checks the PIN, verifies the ARQC and
answers with an ARPC (method 1), applies the test outcomes of design.md (the last two digits
of the amount in minor units: 51 insufficient funds, 05 do not honour, 91 issuer
unavailable; 10 with a partial approval of half when the request allows it, else 51), and
issues six-digit authorization codes.

Follow-ups (increment, completion, release, void, tip adjustment) carry no card: the issuer
finds the original authorization in its ledger by reference. An increment is decided by its
amount like a sale; the others are approved while the original stands.

The caller owns transactions: :meth:`Issuer.transaction` wraps one, and the host puts many
authorizations in one commit (an answer goes out only after its commit).

>>> import sqlite3
>>> issuer = Issuer(sqlite3.connect(":memory:", isolation_level=None))
>>> with issuer.transaction():
...     issuer.reverse("000000000001")
False
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Mapping
from contextlib import contextmanager

from keys import IssuerKeys, KeyStore, Pin, PinVerifier
from protocols.acquirer.spec import ARQC_DATA
from protocols.codes import EntryMode, TransactionKind
from protocols.tlv import encode_tlv
from protocols.tvr import Tvr, TvrBit
from protocols.validation import mask_pan

from ..catalogue import CATALOGUE
from .requests import (
    AMOUNT_OUTCOMES,
    APPROVED_CODES,
    FOLLOW_UPS,
    PARTIALLY_APPROVED,
    PIN_TRIES_EXCEEDED,
    AuthorizationRequest,
    AuthorizationResponse,
)

__all__ = ["Issuer", "BatchTotals"]

PARTIAL = 10  # an amount ending in 10: half approved (code 10) if allowed, else 51
UNKNOWN_CARD = "14"
EXPIRED_CARD = "54"
INCORRECT_PIN = "55"
CRYPTOGRAM_FAILED = "88"
NO_ORIGINAL = "12"  # invalid transaction: the original authorization is not held

# what an approved follow-up does to the original authorization it names
_EFFECT_ON_ORIGINAL = {
    TransactionKind.COMPLETION: "captured",
    TransactionKind.RELEASE: "released",
    TransactionKind.VOID: "voided",
}
_DEBITS = (int(TransactionKind.SALE), int(TransactionKind.COMPLETION))
_CREDITS = (int(TransactionKind.REFUND),)

BatchTotals = tuple[int, int, int, int]  # credits: number, amount; debits: number, amount


class Issuer:
    """Issuer for the test card catalogue (``accounts``: PAN -> PIN, default the catalogue's)
    over the ledger in ``db`` (an SQLite connection in autocommit mode)."""

    def __init__(
        self,
        db: sqlite3.Connection,
        store: KeyStore | None = None,
        accounts: Mapping[str, str] | None = None,
    ) -> None:
        store = store or KeyStore.load()
        self._pins: PinVerifier = store.pin_verifier()
        self._keys: IssuerKeys = store.issuer()
        self._accounts = dict(accounts or {c.pan: c.pin for c in CATALOGUE.values()})
        # cards whose holders asked the bank to unblock their PIN
        self._unblock = {c.pan for c in CATALOGUE.values() if c.issuer_unblocks_pin}
        self._db = db
        db.execute(
            "CREATE TABLE IF NOT EXISTS ledger (reference TEXT PRIMARY KEY, kind INTEGER,"
            " masked_pan TEXT, amount INTEGER, currency TEXT, response_code TEXT,"
            " auth_code TEXT, status TEXT)"
        )
        columns = {row[1] for row in db.execute("PRAGMA table_info(ledger)")}
        if "original_reference" not in columns:  # a ledger from before follow-ups
            db.execute("ALTER TABLE ledger ADD COLUMN original_reference TEXT DEFAULT ''")
        if "batch" not in columns:  # a ledger from before reconciliation
            db.execute("ALTER TABLE ledger ADD COLUMN batch TEXT DEFAULT ''")
        # authorization codes issued so far (counted once here, not scanned at each approval)
        (self._issued,) = db.execute("SELECT COUNT(*) FROM ledger WHERE auth_code != ''").fetchone()

    def __repr__(self) -> str:
        return "Issuer()"

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """One SQLite transaction: committed at the end, rolled back on an exception."""
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    def authorize(self, request: AuthorizationRequest) -> AuthorizationResponse:
        """Decide and record; the same reference again gets the first answer."""
        existing = self._db.execute(
            "SELECT response_code, auth_code, amount FROM ledger WHERE reference = ?",
            (request.reference,),
        ).fetchone()
        if existing:
            code, auth_code, approved_amount = existing[0], existing[1], int(existing[2])
        else:
            code, auth_code, approved_amount = self._record_new(request)
        if code not in APPROVED_CODES:
            approved_amount = 0
        arpc, scripts = b"", b""
        if request.chip is not None and not request.offline_approval:
            arpc = self._keys.arpc(
                request.pan,
                request.pan_sequence,
                request.chip.atc,
                request.chip.arqc,
                code.encode(),
            )
            scripts = self._scripts(request, code)
        return AuthorizationResponse(code, auth_code, arpc, approved_amount, scripts)

    def _scripts(self, request: AuthorizationRequest, code: str) -> bytes:
        """A PIN UNBLOCK script (template 72: after the second GENERATE AC) for a card that
        came online with its PIN try limit exceeded, when its holder asked the bank to
        unblock it. The command's MAC is under the card's secure messaging key, over the
        header, the ATC and the ARQC (EMV Book 2 9.2.1)."""
        chip = request.chip
        if code != PIN_TRIES_EXCEEDED or chip is None or request.pan not in self._unblock:
            return b""
        header = bytes.fromhex("8424000008")  # PIN CHANGE/UNBLOCK, unblock, Lc: the MAC
        mac = self._keys.script_mac(
            request.pan, request.pan_sequence, chip.arqc, header + chip.atc + chip.arqc
        )
        script_id = bytes.fromhex("00000001")
        return encode_tlv([(0x72, [(0x9F18, script_id), (0x86, header + mac)])])

    def _record_new(self, request: AuthorizationRequest) -> tuple[str, str, int]:
        code = self._decide(request)
        if code == PARTIALLY_APPROVED and not request.allow_partial:
            code = AMOUNT_OUTCOMES[51]  # insufficient funds for the whole amount
        approved_amount = request.amount // 2 if code == PARTIALLY_APPROVED else request.amount
        auth_code = ""
        if code in APPROVED_CODES:
            self._issued += 1
            auth_code = f"{self._issued:06d}"
        status = "authorized" if code in APPROVED_CODES else "declined"
        self._db.execute(
            "INSERT INTO ledger (reference, kind, masked_pan, amount, currency, response_code,"
            " auth_code, status, original_reference) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                request.reference,
                int(request.kind),
                mask_pan(request.pan) if request.pan else "",
                approved_amount if status == "authorized" else request.amount,
                request.currency,
                code,
                auth_code,
                status,
                request.original_reference,
            ),
        )
        effect = _EFFECT_ON_ORIGINAL.get(request.kind)
        if status == "authorized" and effect is not None:
            self._db.execute(
                "UPDATE ledger SET status = ? WHERE reference = ? AND status = 'authorized'",
                (effect, request.original_reference),
            )
        return code, auth_code, approved_amount

    def _decide(self, request: AuthorizationRequest) -> str:
        if request.kind in FOLLOW_UPS:
            return self._decide_follow_up(request)
        pin = self._accounts.get(request.pan)
        if pin is None:
            return UNKNOWN_CARD
        chip = request.chip
        if request.offline_approval:  # an advice: the card approved; its TC must be genuine
            genuine = chip is not None and self._keys.verify_arqc(
                request.pan, request.pan_sequence, chip.atc, chip.data, chip.arqc
            )
            return "00" if genuine else CRYPTOGRAM_FAILED
        if request.kind is TransactionKind.REFUND:
            return "00"
        if "20" + request.expiry < request.date:
            return EXPIRED_CARD
        if request.pin_block is not None and not self._pins.matches(
            request.pin_block, request.pan, Pin(pin)
        ):
            return INCORRECT_PIN
        if chip is not None and not self._keys.verify_arqc(
            request.pan, request.pan_sequence, chip.atc, chip.data, chip.arqc
        ):
            return CRYPTOGRAM_FAILED
        if _pin_try_limit_exceeded(request):
            return PIN_TRIES_EXCEEDED
        return self._by_amount(request.amount)

    @staticmethod
    def _by_amount(amount: int) -> str:
        if amount % 100 == PARTIAL:
            return PARTIALLY_APPROVED
        return AMOUNT_OUTCOMES.get(amount % 100, "00")

    def _decide_follow_up(self, request: AuthorizationRequest) -> str:
        original = self._db.execute(
            "SELECT status FROM ledger WHERE reference = ?", (request.original_reference,)
        ).fetchone()
        if original is None or original[0] != "authorized":
            return NO_ORIGINAL  # the issuer holds no such authorization (any more)
        if request.kind is TransactionKind.INCREMENT:
            code = self._by_amount(request.amount)
            return AMOUNT_OUTCOMES[51] if code == PARTIALLY_APPROVED else code
        return "00"

    def reverse(self, reference: str, remember: bool = False) -> bool:
        """Undo an authorization; True if there was one to undo. ``remember``: when there is
        none, keep the reversal, so that the request it reverses, should it arrive late (on
        another connection than the reversal), is answered from the ledger and never
        approved."""
        row = self._db.execute(
            "SELECT kind, original_reference FROM ledger WHERE reference = ?"
            " AND status = 'authorized'",
            (reference,),
        ).fetchone()
        if row is None:
            if remember:
                self._db.execute(
                    "INSERT OR IGNORE INTO ledger (reference, kind, masked_pan, amount,"
                    " currency, response_code, auth_code, status) VALUES"
                    " (?, 0, '', 0, '', ?, '', 'reversed')",
                    (reference, NO_ORIGINAL),
                )
            return False
        self._db.execute("UPDATE ledger SET status = 'reversed' WHERE reference = ?", (reference,))
        effect = _EFFECT_ON_ORIGINAL.get(TransactionKind(row[0]))
        if effect is not None:  # the original stands again
            self._db.execute(
                "UPDATE ledger SET status = 'authorized' WHERE reference = ? AND status = ?",
                (row[1], effect),
            )
        return True

    def ledger(self) -> list[tuple[str, int, str, str]]:
        """(reference, amount, currency, status) of every entry, for reconciliation."""
        rows = self._db.execute(
            "SELECT reference, amount, currency, status FROM ledger ORDER BY reference"
        ).fetchall()
        return [(str(r[0]), int(r[1]), str(r[2]), str(r[3])) for r in rows]

    # --- reconciliation ----------------------------------------------------------------

    def open_totals(self, prefix: str, currency: str) -> BatchTotals:
        """Credits and debits of the entries whose reference starts with ``prefix`` (one
        terminal's) not yet in a batch, counted as the terminal counts its settlement: approved
        sales and completions that stand (a void undoes them) at their latest tip-adjusted
        amount, and refunds."""
        rows = self._db.execute(
            "SELECT reference, kind, amount, status, original_reference FROM ledger"
            " WHERE batch = '' AND currency = ? AND substr(reference, 1, ?) = ?"
            " ORDER BY reference",
            (currency, len(prefix), prefix),
        ).fetchall()
        adjusted = {
            str(r[4]): int(r[2])
            for r in rows
            if r[1] == int(TransactionKind.TIP_ADJUST) and r[3] == "authorized"
        }
        credits = debits = credit_total = debit_total = 0
        for reference, kind, amount, status, _ in rows:
            if status not in ("authorized", "captured"):
                continue
            if kind in _DEBITS:
                debits += 1
                debit_total += adjusted.get(str(reference), int(amount))
            elif kind in _CREDITS:
                credits += 1
                credit_total += int(amount)
        return credits, credit_total, debits, debit_total

    def close_batch(self, prefix: str, currency: str, batch: str) -> None:
        """Put every open entry of ``prefix`` in ``currency`` in ``batch``."""
        self._db.execute(
            "UPDATE ledger SET batch = ? WHERE batch = '' AND currency = ?"
            " AND substr(reference, 1, ?) = ?",
            (batch, currency, len(prefix), prefix),
        )


def _tvr_offset() -> int:
    offset = 0
    for tag, size in ARQC_DATA:
        if tag == 0x95:
            return offset
        offset += size
    raise LookupError("the ARQC data has no TVR")


_TVR_AT = _tvr_offset()  # where the TVR sits in a contact card's ARQC data (its CDOL1)


def _pin_try_limit_exceeded(request: AuthorizationRequest) -> bool:
    """What the terminal said in the TVR it sent with the ARQC (contact cards)."""
    chip = request.chip
    if chip is None or request.entry_mode is not EntryMode.CHIP:
        return False
    tvr = chip.data[_TVR_AT : _TVR_AT + 5]
    return len(tvr) == 5 and Tvr(tvr).has(TvrBit.PIN_TRY_LIMIT_EXCEEDED)
