"""Crash soak: kill -9 the terminal process at random points across N payments, restart it on
the same journal each time, then reconcile the driver's outcomes, the journal and the ledger.

    python scripts/soak_crash.py --transactions 100

Each payment is started; after a random delay (0 to 40 ms, across a sale that takes a few ms
and an authorizer that answers in 20 ms) the terminal is killed with SIGKILL and restarted.
The driver then asks the journal for the payment's client transaction id, and if the terminal
never heard of it sends the same id again. Figures as in soak_line.py, plus how many kills
and how many authorizations the restart found unfinished and reversed.
"""

from __future__ import annotations

import argparse
import random
import signal
import sys
import tempfile
import threading
import time
from pathlib import Path

from driver import InputRejected, Terminal, TerminalError, TransactionOutcome
from driver.testing import spawn_terminal
from firmware_sim.reconcile import reconcile
from protocols.errors import ErrorCode
from protocols.link import LinkSettings

FAST_LINK = LinkSettings(ack_timeout=0.05, max_retries=4)


def run(transactions: int, seed: int) -> dict[str, int]:
    rnd = random.Random(seed)
    figures = {
        "attempted": 0,
        "completed": 0,
        "recovered": 0,
        "kills": 0,
        "reversed": 0,
        "lost": 0,
        "charged_twice": 0,
        "approved": 0,
    }
    with tempfile.TemporaryDirectory() as directory:
        journal = str(Path(directory) / "journal.sqlite")
        args = (
            "--port",
            "pty",
            "--journal",
            journal,
            "--authorizer-latency",
            "0.02",
            "--ack-timeout",
            "0.05",
        )
        process, port = spawn_terminal(*args)
        known: dict[str, TransactionOutcome] = {}
        for i in range(transactions):
            txn_id = f"C{i}"
            figures["attempted"] += 1
            result: list[TransactionOutcome] = []
            terminal = Terminal(port, link_settings=FAST_LINK, timeout=2.0, control_timeout=2.0)

            def pay(
                t: Terminal = terminal,
                txn: str = txn_id,
                amount: int = 1000 + i % 50,
                out: list[TransactionOutcome] = result,
            ) -> None:
                try:
                    out.append(t.sale(amount, "EUR", client_transaction_id=txn))
                except TerminalError:
                    pass

            worker = threading.Thread(target=pay)
            worker.start()
            time.sleep(rnd.uniform(0, 0.04))
            process.send_signal(signal.SIGKILL)
            process.wait()
            figures["kills"] += 1
            worker.join()
            terminal.close()
            process, port = spawn_terminal(*args)
            if result:
                figures["completed"] += 1
                known[txn_id] = result[0]
                continue
            with Terminal(port, link_settings=FAST_LINK, timeout=5.0) as again:
                try:
                    known[txn_id] = again.lookup(txn_id)
                except InputRejected as e:
                    if e.code != ErrorCode.UNKNOWN_TRANSACTION:
                        raise
                    known[txn_id] = again.sale(1000 + i % 50, "EUR", client_transaction_id=txn_id)
                figures["recovered"] += 1
        with Terminal(port, link_settings=FAST_LINK) as clean:
            for txn_id, outcome in known.items():
                truth = clean.lookup(txn_id)
                if (truth.status, truth.auth_code) != (outcome.status, outcome.auth_code):
                    figures["lost"] += 1
        process.kill()
        process.wait()
        books = reconcile(journal)
        figures["reversed"] = books.reversed
        figures["lost"] += books.unrecorded + books.reversed_but_shown_approved
        figures["charged_twice"] = books.charged_twice
        figures["approved"] = books.approved
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--transactions", type=int, default=100)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    figures = run(args.transactions, args.seed)
    print(" ".join(f"{k}={v}" for k, v in figures.items()))
    return 1 if figures["lost"] or figures["charged_twice"] else 0


if __name__ == "__main__":
    sys.exit(main())
