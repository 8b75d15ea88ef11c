"""The host's handling of one message, on its durable ledger: the issuer's entries and every
answer given, by terminal id and STAN, so that a request sent again is answered the same and
never authorized twice. The caller commits (:meth:`HostLedger.transaction`), many messages at
a time, and sends the answers only after the commit.

>>> from keys import KeyStore
>>> from protocols.acquirer.codec import decode, encode_sealed
>>> mac = KeyStore.load().message_authenticator()
>>> ledger = HostLedger(":memory:")
>>> sign_on = {"t": "0800", "7": "1126010203", "11": "000001", "41": "POSSIM01", "70": "301"}
>>> with ledger.transaction():
...     answer = ledger.handle(encode_sealed(sign_on, mac.mac), now=1.7e9)
>>> decode(answer)["39"]
'00'
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone

from keys import KeyStore, MessageAuthenticator
from protocols.acquirer.codec import (
    AcquirerFormatError,
    decode,
    encode_sealed,
    mac_matches,
    parse_private,
)
from protocols.currency import by_numeric
from protocols.errors import FieldError

from ..issuer import Issuer
from .translate import answer, answer_mti, base_mti, echo, reference_of, request_of

__all__ = ["HostLedger", "HostCounters"]

FORMAT_ERROR = "30"
DUPLICATE = "94"
MALFUNCTION = "96"


@dataclass
class HostCounters:
    """What the host has seen, for its status line and the tests."""

    connections: int = 0
    messages: int = 0
    answered: int = 0
    replayed: int = 0  # a request sent again, answered from the ledger
    format_errors: int = 0
    mac_failures: int = 0
    connections_closed: int = 0  # a length header that cannot be right, or a message with no MTI
    internal_errors: int = 0
    reconciliations: int = 0
    out_of_balance: int = 0


class HostLedger:
    """The issuer on an SQLite ledger (``path``, WAL, synchronous=FULL) and the answers given."""

    def __init__(self, path: str, store: KeyStore | None = None) -> None:
        store = store or KeyStore.load()
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self.issuer = Issuer(self._db, store)
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS answers (tid TEXT, stan TEXT, rrn TEXT, mti TEXT,"
            " answer BLOB, PRIMARY KEY (tid, stan))"
        )
        self._mac: MessageAuthenticator = store.message_authenticator()
        self.counters = HostCounters()

    def close(self) -> None:
        self._db.close()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        with self.issuer.transaction():
            yield

    def handle(self, raw: bytes, now: float) -> bytes | None:
        """The sealed answer to one message, or None when it has no readable MTI (the
        connection is then closed). Inside :meth:`transaction`; never raises."""
        self.counters.messages += 1
        try:
            doc = decode(raw)
        except AcquirerFormatError as e:
            self.counters.format_errors += 1
            if not e.mti:
                return None
            try:
                return self._seal({"t": answer_mti(e.mti), "39": FORMAT_ERROR})
            except AcquirerFormatError:  # an MTI that even its answer cannot carry
                return None
        if not mac_matches(raw, doc, self._mac.verify):
            self.counters.mac_failures += 1
            return self._seal(echo(doc, FORMAT_ERROR))
        self._db.execute("SAVEPOINT message")
        try:
            sealed = self._answer(doc, now)
        except AcquirerFormatError:
            self._db.execute("ROLLBACK TO message")
            self.counters.format_errors += 1
            sealed = self._seal(echo(doc, FORMAT_ERROR))
        except Exception:  # noqa: BLE001 - a bug answers 96; the host goes on
            self._db.execute("ROLLBACK TO message")
            self.counters.internal_errors += 1
            sealed = self._seal(echo(doc, MALFUNCTION))
        self._db.execute("RELEASE message")
        self.counters.answered += 1
        return sealed

    def _answer(self, doc: dict[str, str], now: float) -> bytes:
        tid, stan, rrn, mti = doc["41"], doc["11"], doc.get("37", ""), doc["t"]
        given = self._db.execute(
            "SELECT rrn, mti, answer FROM answers WHERE tid = ? AND stan = ?", (tid, stan)
        ).fetchone()
        if given is not None:
            if given[0] == rrn and base_mti(given[1]) == base_mti(mti):
                self.counters.replayed += 1
                return bytes(given[2])
            return self._seal(echo(doc, DUPLICATE))  # not stored: the first one stands
        sealed = self._seal(self._dispatch(doc, now))
        self._db.execute(
            "INSERT INTO answers VALUES (?, ?, ?, ?, ?)", (tid, stan, rrn, base_mti(mti), sealed)
        )
        return sealed

    def _dispatch(self, doc: dict[str, str], now: float) -> dict[str, str]:
        mti = base_mti(doc["t"])
        if mti == "0800":
            return echo(doc, "00", "70")
        if mti == "0420":
            self.issuer.reverse(reference_of(doc), remember=True)
            return echo(doc, "00")
        if mti == "0500":
            return self._reconcile(doc)
        year_month = datetime.fromtimestamp(now, timezone.utc).strftime("%Y%m")
        return answer(doc, self.issuer.authorize(request_of(doc, year_month)))

    def _reconcile(self, doc: dict[str, str]) -> dict[str, str]:
        """0500: the terminal's totals against the ledger's open entries of that terminal in
        that currency; the entries go into the terminal's batch either way."""
        try:
            currency = by_numeric(int(doc["50"])).alpha
            theirs = tuple(int(doc[f]) for f in ("74", "86", "76", "88"))
        except (ValueError, FieldError):
            raise AcquirerFormatError("0500 with unusable totals", doc["t"]) from None
        prefix = reference_of(doc, "")
        ours = self.issuer.open_totals(prefix, currency)
        batch = parse_private(doc.get("48", "")).get("BN", "")
        self.issuer.close_batch(prefix, currency, f"{prefix}{batch}")
        self.counters.reconciliations += 1
        in_balance = ours == theirs
        if not in_balance:
            self.counters.out_of_balance += 1
        out = echo(doc, "00" if in_balance else "95")
        out["50"] = doc["50"]
        out.update(
            {
                f: f"{v:0{w}d}"
                for f, v, w in zip(("74", "86", "76", "88"), ours, (10, 16, 10, 16), strict=True)
            }
        )
        return out

    def _seal(self, doc: dict[str, str]) -> bytes:
        return encode_sealed(doc, self._mac.mac)
