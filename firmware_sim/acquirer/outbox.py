"""What the terminal must not forget about its acquirer, in SQLite beside the journal: the STAN
counter, every request as it is about to be sent (so that it can be reversed whatever
happens next), and the store-and-forward queue of reversal and advice messages, kept until
the host has answered each.

>>> outbox = Outbox(":memory:")
>>> outbox.next_stan(), outbox.next_stan()
('000001', '000002')
>>> item = outbox.put("000000000007", {"t": "0420", "11": "000003"})
>>> [i.doc["t"] for i in outbox.waiting()]
['0420']
>>> outbox.done(item)
>>> outbox.waiting()
[]
"""

from __future__ import annotations

import json
import sqlite3
import threading
from dataclasses import dataclass

from .messages import Sent

__all__ = ["Outbox", "MemoryOutbox", "Queued", "open_outbox"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS acquirer_meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
INSERT OR IGNORE INTO acquirer_meta VALUES ('stan', 0);
CREATE TABLE IF NOT EXISTS acquirer_sent (
    reference TEXT PRIMARY KEY, mti TEXT, stan TEXT, transmitted TEXT, kind INTEGER,
    processing_code TEXT, amount INTEGER, currency TEXT);
CREATE TABLE IF NOT EXISTS acquirer_outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT, reference TEXT NOT NULL, doc TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0, done INTEGER NOT NULL DEFAULT 0);
"""


@dataclass(frozen=True)
class Queued:
    id: int
    reference: str
    doc: dict[str, str]
    attempts: int


class Outbox:
    """The acquirer client's durable state in ``path`` (the journal's file; WAL,
    synchronous=FULL). Safe to share between the terminal's thread and the sender's."""

    def __init__(self, path: str) -> None:
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(_SCHEMA)
        self._lock = threading.Lock()

    def close(self) -> None:
        self._db.close()

    def next_stan(self) -> str:
        """The next system trace audit number, 000001 to 999999 then round again."""
        with self._lock:
            self._db.execute(
                "UPDATE acquirer_meta SET value = value % 999999 + 1 WHERE key = 'stan'"
            )
            (value,) = self._db.execute(
                "SELECT value FROM acquirer_meta WHERE key = 'stan'"
            ).fetchone()
        return f"{int(value):06d}"

    def about_to_send(self, sent: Sent) -> None:
        """Kept before the request goes out: after this, whatever happens can be reversed."""
        with self._lock:
            self._db.execute(
                "INSERT OR REPLACE INTO acquirer_sent VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    sent.reference,
                    sent.mti,
                    sent.stan,
                    sent.transmitted,
                    sent.kind,
                    sent.processing_code,
                    sent.amount,
                    sent.currency,
                ),
            )

    def sent(self, reference: str) -> Sent | None:
        with self._lock:
            row = self._db.execute(
                "SELECT * FROM acquirer_sent WHERE reference = ?", (reference,)
            ).fetchone()
        if row is None:
            return None
        return Sent(str(row[0]), row[1], row[2], row[3], int(row[4]), row[5], int(row[6]), row[7])

    def put(self, reference: str, doc: dict[str, str]) -> Queued:
        """Queue a reversal or an advice; it stays until :meth:`done`."""
        with self._lock:
            cursor = self._db.execute(
                "INSERT INTO acquirer_outbox (reference, doc) VALUES (?, ?)",
                (reference, json.dumps(doc, sort_keys=True)),
            )
        assert cursor.lastrowid is not None
        return Queued(cursor.lastrowid, reference, doc, 0)

    def queued_for(self, reference: str, mti: str) -> bool:
        """A message of ``mti`` for ``reference`` is waiting or was delivered."""
        with self._lock:
            rows = self._db.execute(
                "SELECT doc FROM acquirer_outbox WHERE reference = ?", (reference,)
            ).fetchall()
        return any(json.loads(row[0])["t"] == mti for row in rows)

    def waiting(self) -> list[Queued]:
        """What is still to be delivered, oldest first."""
        with self._lock:
            rows = self._db.execute(
                "SELECT id, reference, doc, attempts FROM acquirer_outbox WHERE done = 0"
                " ORDER BY id"
            ).fetchall()
        return [Queued(int(r[0]), str(r[1]), json.loads(r[2]), int(r[3])) for r in rows]

    def attempted(self, item: Queued) -> None:
        with self._lock:
            self._db.execute(
                "UPDATE acquirer_outbox SET attempts = attempts + 1 WHERE id = ?", (item.id,)
            )

    def done(self, item: Queued) -> None:
        with self._lock:
            self._db.execute("UPDATE acquirer_outbox SET done = 1 WHERE id = ?", (item.id,))


class MemoryOutbox:
    """The same state in memory, for a terminal whose journal is in memory (a fleet keeps a
    thousand of these in one process: an SQLite database each would be most of a terminal's
    memory). Nothing here survives the process, as nothing in its journal does.

    >>> outbox = MemoryOutbox()
    >>> outbox.next_stan(), [i.doc["t"] for i in [outbox.put("000000000007", {"t": "0420"})]]
    ('000001', ['0420'])
    """

    def __init__(self) -> None:
        self._stan = 0
        self._sent: dict[str, Sent] = {}
        self._queue: list[Queued] = []
        self._done: set[int] = set()
        self._lock = threading.Lock()

    def close(self) -> None:
        pass

    def next_stan(self) -> str:
        with self._lock:
            self._stan = self._stan % 999999 + 1
            return f"{self._stan:06d}"

    def about_to_send(self, sent: Sent) -> None:
        self._sent[sent.reference] = sent

    def sent(self, reference: str) -> Sent | None:
        return self._sent.get(reference)

    def put(self, reference: str, doc: dict[str, str]) -> Queued:
        with self._lock:
            item = Queued(len(self._queue) + 1, reference, doc, 0)
            self._queue.append(item)
        return item

    def queued_for(self, reference: str, mti: str) -> bool:
        return any(i.reference == reference and i.doc["t"] == mti for i in self._queue)

    def waiting(self) -> list[Queued]:
        return [i for i in self._queue if i.id not in self._done]

    def attempted(self, item: Queued) -> None:
        with self._lock:
            index = item.id - 1
            current = self._queue[index]
            self._queue[index] = Queued(
                current.id, current.reference, current.doc, current.attempts + 1
            )

    def done(self, item: Queued) -> None:
        self._done.add(item.id)


def open_outbox(path: str) -> Outbox | MemoryOutbox:
    """The acquirer state beside a journal: in its file, or in memory with an in-memory one."""
    return MemoryOutbox() if path == ":memory:" else Outbox(path)
