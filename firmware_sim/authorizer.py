"""The built-in authorizer: acquirer and issuer in one, behind the :class:`Authorizer`
interface so that an ISO 8583 host can take its place.

It decrypts the PIN block with the host DUKPT of keys/, checks the PIN, verifies the ARQC and
answers with an ARPC (method 1), applies the test outcomes of design.md (the last two digits
of the amount in minor units: 51 insufficient funds, 05 do not honour, 91 issuer
unavailable), issues six-digit authorization codes, and keeps its own ledger in SQLite.
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
UNKNOWN_CARD = "14"
EXPIRED_CARD = "54"
INCORRECT_PIN = "55"
CRYPTOGRAM_FAILED = "88"


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


@dataclass(frozen=True)
class AuthorizationResponse:
    response_code: str
    auth_code: str = ""
    arpc: bytes = b""  # ARPC method 1; the issuer authentication data is ARPC || ARC

    @property
    def approved(self) -> bool:
        return self.response_code == "00"


class Authorizer(Protocol):
    def authorize(self, request: AuthorizationRequest) -> AuthorizationResponse: ...

    def reverse(self, reference: str) -> bool:
        """Undo an authorization; True if there was one to undo."""
        ...


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

    def __repr__(self) -> str:
        return "BuiltInAuthorizer()"

    def close(self) -> None:
        self._db.close()

    def authorize(self, request: AuthorizationRequest) -> AuthorizationResponse:
        existing = self._db.execute(
            "SELECT response_code, auth_code FROM ledger WHERE reference = ?", (request.reference,)
        ).fetchone()
        code = existing[0] if existing else self._decide(request)
        if existing:
            auth_code = existing[1]
        else:
            auth_code = ""
            if code == "00":
                (count,) = self._db.execute(
                    "SELECT COUNT(*) FROM ledger WHERE auth_code != ''"
                ).fetchone()
                auth_code = f"{count + 1:06d}"
            status = "authorized" if code == "00" else "declined"
            self._db.execute(
                "INSERT INTO ledger VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    request.reference,
                    int(request.kind),
                    mask_pan(request.pan),
                    request.amount,
                    request.currency,
                    code,
                    auth_code,
                    status,
                ),
            )
        arpc = b""
        if request.chip is not None:
            arpc = self._issuer.arpc(
                request.pan,
                request.pan_sequence,
                request.chip.atc,
                request.chip.arqc,
                code.encode(),
            )
        return AuthorizationResponse(code, auth_code, arpc)

    def _decide(self, request: AuthorizationRequest) -> str:
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
        return AMOUNT_OUTCOMES.get(request.amount % 100, "00")

    def reverse(self, reference: str) -> bool:
        cursor = self._db.execute(
            "UPDATE ledger SET status = 'reversed' WHERE reference = ? AND status = 'authorized'",
            (reference,),
        )
        return cursor.rowcount > 0

    def ledger(self) -> list[tuple[str, int, str, str]]:
        """(reference, amount, currency, status) of every entry, for reconciliation."""
        rows = self._db.execute(
            "SELECT reference, amount, currency, status FROM ledger ORDER BY reference"
        ).fetchall()
        return [(str(r[0]), int(r[1]), str(r[2]), str(r[3])) for r in rows]
