"""Who the terminal asks: the :class:`Authorizer` interface, and the built-in authorizer
(acquirer and issuer in one, the embedded default) that runs the shared issuer of
:mod:`firmware_sim.issuer` on its own ledger. ``--acquirer tcp://HOST:PORT`` puts the ISO 8583
client of :mod:`firmware_sim.acquirer` in its place.
"""

from __future__ import annotations

import sqlite3
from typing import Protocol, runtime_checkable

from keys import KeyStore
from protocols.messages import KindTotals

from .catalogue import CATALOGUE, CardProfile
from .issuer import (
    AMOUNT_OUTCOMES,
    APPROVED_CODES,
    AuthorizationRequest,
    AuthorizationResponse,
    ChipData,
    Issuer,
)

__all__ = [
    "ChipData",
    "AuthorizationRequest",
    "AuthorizationResponse",
    "Authorizer",
    "BuiltInAuthorizer",
    "Reconciler",
    "AMOUNT_OUTCOMES",
    "APPROVED_CODES",
]


class Authorizer(Protocol):
    def authorize(self, request: AuthorizationRequest) -> AuthorizationResponse: ...

    def reverse(self, reference: str) -> bool:
        """Undo an authorization; True if there was one to undo (or the undoing is on its
        way: an acquirer's reversal waits in the journal until the host acknowledges it)."""
        ...


@runtime_checkable
class Reconciler(Protocol):
    """An authorizer that compares the terminal's batch totals with its own at settlement:
    currency -> "in balance", "out of balance", or why it could not be told."""

    def reconcile(self, batch: int, lines: tuple[KindTotals, ...]) -> dict[str, str]: ...


class BuiltInAuthorizer:
    """Acquirer and issuer for the test card catalogue. ``ledger`` is an SQLite path
    (default: in memory); each authorization is one durable commit."""

    def __init__(
        self,
        store: KeyStore | None = None,
        ledger: str = ":memory:",
        catalogue: dict[str, CardProfile] | None = None,
    ) -> None:
        self._db = sqlite3.connect(ledger, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        accounts = {card.pan: card.pin for card in (catalogue or CATALOGUE).values()}
        self._issuer = Issuer(self._db, store, accounts)

    def __repr__(self) -> str:
        return "BuiltInAuthorizer()"

    def close(self) -> None:
        self._db.close()

    def authorize(self, request: AuthorizationRequest) -> AuthorizationResponse:
        with self._issuer.transaction():
            return self._issuer.authorize(request)

    def reverse(self, reference: str) -> bool:
        with self._issuer.transaction():
            return self._issuer.reverse(reference)

    def ledger(self) -> list[tuple[str, int, str, str]]:
        """(reference, amount, currency, status) of every entry, for reconciliation."""
        return self._issuer.ledger()
