"""Reconcile a terminal's journal with the built-in authorizer's ledger (``JOURNAL.ledger``):
every authorization the issuer holds must be an approved, completed journal entry; a reversal
must not be shown as approved; no client transaction id is authorized twice.

    python -m firmware_sim.reconcile journal.sqlite
"""

from __future__ import annotations

import sqlite3
import sys
from dataclasses import dataclass

from protocols.codes import TransactionStatus

__all__ = ["Reconciliation", "reconcile"]


@dataclass(frozen=True)
class Reconciliation:
    approved: int  # authorizations the journal records as approved
    reversed: int  # journal entries reversed (after a crash or a card's refusal)
    unrecorded: int  # authorizations the journal does not show as approved: must be 0
    reversed_but_shown_approved: int  # must be 0
    charged_twice: int  # client transaction ids authorized more than once: must be 0

    @property
    def clean(self) -> bool:
        return not (self.unrecorded or self.reversed_but_shown_approved or self.charged_twice)


def reconcile(journal: str, ledger: str | None = None) -> Reconciliation:
    with sqlite3.connect(journal) as db:
        rows = db.execute(
            "SELECT client_transaction_id, seq, status, state FROM transactions"
        ).fetchall()
    by_reference = {f"{seq:012d}": (txn, status, state) for txn, seq, status, state in rows}
    with sqlite3.connect(ledger or journal + ".ledger") as db:
        entries = db.execute("SELECT reference, status FROM ledger").fetchall()
    approved = int(TransactionStatus.APPROVED)
    authorized: dict[str, int] = {}
    unrecorded = shown_approved = 0
    for reference, status in entries:
        entry = by_reference.get(reference)
        if status == "authorized":
            if entry is None or entry[1] != approved or entry[2] != "completed":
                unrecorded += 1  # money taken that the journal does not show as approved
            else:
                authorized[entry[0]] = authorized.get(entry[0], 0) + 1
        elif status == "reversed" and entry is not None and entry[1] == approved:
            shown_approved += 1
    return Reconciliation(
        approved=len(authorized),
        reversed=sum(1 for *_, state in rows if state == "reversed"),
        unrecorded=unrecorded,
        reversed_but_shown_approved=shown_approved,
        charged_twice=sum(1 for count in authorized.values() if count > 1),
    )


def main(argv: list[str] | None = None) -> int:
    args = argv if argv is not None else sys.argv[1:]
    if len(args) != 1:
        print("usage: python -m firmware_sim.reconcile JOURNAL", file=sys.stderr)
        return 2
    result = reconcile(args[0])
    print(" ".join(f"{k}={v}" for k, v in result.__dict__.items()))
    return 0 if result.clean else 1


if __name__ == "__main__":
    sys.exit(main())
