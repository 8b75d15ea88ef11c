"""The built-in authorizer: acquirer and issuer in one, behind the :class:`Authorizer`
interface so that an ISO 8583 host can take its place.

It decrypts the PIN block with the host DUKPT of keys/, checks the PIN, verifies the ARQC and
answers with an ARPC (method 1), applies the test outcomes of design.md (the last two digits
of the amount in minor units: 51 insufficient funds, 05 do not honour, 91 issuer
unavailable; 10 with a partial approval of half when the request allows it, else 51),
issues six-digit authorization codes, and keeps its own ledger in SQLite.

Follow-ups (increment, completion, release, void, tip adjustment) carry no card: the issuer
finds the original authorization in its ledger by reference. An increment is decided by its
amount like a sale; the others are approved while the original stands.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from typing import Protocol

from keys import EncryptedPinBlock, IssuerKeys, KeyStore, Pin, PinVerifier
from protocols.codes import EntryMode, TransactionKind
from protocols.validation import mask_pan

from .cards import CATALOGUE, CardProfile

__all__ = [
    "ChipData",
    "AuthorizationRequest",
    "AuthorizationResponse",
    "Authorizer",
    "BuiltInAuthorizer",
    "AMOUNT_OUTCOMES",
]

# Response codes of ISO 8583 field 39 that the test outcomes use.
AMOUNT_OUTCOMES = {51: "51", 5: "05", 91: "91"}
PARTIAL = 10  # an amount ending in 10: half approved (code 10) if allowed, else 51
PARTIALLY_APPROVED = "10"
APPROVED_CODES = frozenset({"00", PARTIALLY_APPROVED})
UNKNOWN_CARD = "14"
EXPIRED_CARD = "54"
INCORRECT_PIN = "55"
CRYPTOGRAM_FAILED = "88"
NO_ORIGINAL = "12"  # invalid transaction: the original authorization is not held
FOLLOW_UPS = frozenset(
    {
        TransactionKind.INCREMENT,
        TransactionKind.COMPLETION,
        TransactionKind.RELEASE,
        TransactionKind.VOID,
        TransactionKind.TIP_ADJUST,
    }
)


@dataclass(frozen=True)
class ChipData:
    """What the card's first GENERATE AC produced and what it covered."""

    atc: bytes
    data: bytes
    arqc: bytes


@dataclass(frozen=True)
class AuthorizationRequest:
    kind: TransactionKind
    reference: str
    pan: str
    pan_sequence: str
    expiry: str  # YYMM
    amount: int
    currency: str
    entry_mode: EntryMode
    date: str  # YYYYMM of the transaction, for the expiry check
    pin_block: EncryptedPinBlock | None = None
    chip: ChipData | None = None
    original_reference: str = ""
    allow_partial: bool = False  # the terminal accepts a partial approval (code 10)


@dataclass(frozen=True)
class AuthorizationResponse:
    response_code: str
    auth_code: str = ""
    arpc: bytes = b""  # ARPC method 1; the issuer authentication data is ARPC || ARC
    approved_amount: int = 0  # the whole amount, or less on a partial approval

    @property
    def approved(self) -> bool:
        return self.response_code in APPROVED_CODES


class Authorizer(Protocol):
    def authorize(self, request: AuthorizationRequest) -> AuthorizationResponse: ...

    def reverse(self, reference: str) -> bool:
        """Undo an authorization; True if there was one to undo."""
        ...


# what an approved follow-up does to the original authorization it names
_EFFECT_ON_ORIGINAL = {
    TransactionKind.COMPLETION: "captured",
    TransactionKind.RELEASE: "released",
    TransactionKind.VOID: "voided",
}


class BuiltInAuthorizer:
    """Acquirer and issuer for the test card catalogue. ``ledger`` is an SQLite path
    (default: in memory)."""

    def __init__(
        self,
        store: KeyStore | None = None,
        ledger: str = ":memory:",
        catalogue: dict[str, CardProfile] | None = None,
    ) -> None:
        store = store or KeyStore.load()
        self._pins: PinVerifier = store.pin_verifier()
        self._issuer: IssuerKeys = store.issuer()
        self._cards = {card.pan: card for card in (catalogue or CATALOGUE).values()}
        self._db = sqlite3.connect(ledger, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS ledger (reference TEXT PRIMARY KEY, kind INTEGER,"
            " masked_pan TEXT, amount INTEGER, currency TEXT, response_code TEXT,"
            " auth_code TEXT, status TEXT)"
        )
        # authorization codes issued so far (counted once here, not scanned at each approval)
        (self._issued,) = self._db.execute(
            "SELECT COUNT(*) FROM ledger WHERE auth_code != ''"
        ).fetchone()
        columns = {row[1] for row in self._db.execute("PRAGMA table_info(ledger)")}
        if "original_reference" not in columns:  # a ledger from before follow-ups
            self._db.execute("ALTER TABLE ledger ADD COLUMN original_reference TEXT DEFAULT ''")

    def __repr__(self) -> str:
        return "BuiltInAuthorizer()"

    def close(self) -> None:
        self._db.close()

    def authorize(self, request: AuthorizationRequest) -> AuthorizationResponse:
        existing = self._db.execute(
            "SELECT response_code, auth_code, amount FROM ledger WHERE reference = ?",
            (request.reference,),
        ).fetchone()
        if existing:
            code, auth_code, approved_amount = existing[0], existing[1], int(existing[2])
        else:
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
                "INSERT INTO ledger VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
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
        if code not in APPROVED_CODES:
            approved_amount = 0
        arpc = b""
        if request.chip is not None:
            arpc = self._issuer.arpc(
                request.pan,
                request.pan_sequence,
                request.chip.atc,
                request.chip.arqc,
                code.encode(),
            )
        return AuthorizationResponse(code, auth_code, arpc, approved_amount)

    def _decide(self, request: AuthorizationRequest) -> str:
        if request.kind in FOLLOW_UPS:
            return self._decide_follow_up(request)
        card = self._cards.get(request.pan)
        if card is None:
            return UNKNOWN_CARD
        if request.kind is TransactionKind.REFUND:
            return "00"
        if "20" + request.expiry < request.date:
            return EXPIRED_CARD
        if request.pin_block is not None and not self._pins.matches(
            request.pin_block, request.pan, Pin(card.pin)
        ):
            return INCORRECT_PIN
        chip = request.chip
        if chip is not None and not self._issuer.verify_arqc(
            request.pan, request.pan_sequence, chip.atc, chip.data, chip.arqc
        ):
            return CRYPTOGRAM_FAILED
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

    def reverse(self, reference: str) -> bool:
        row = self._db.execute(
            "SELECT kind, original_reference FROM ledger WHERE reference = ?"
            " AND status = 'authorized'",
            (reference,),
        ).fetchone()
        if row is None:
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
