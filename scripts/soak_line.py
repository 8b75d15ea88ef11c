"""Line soak: sales and refunds through a noisy line (faulty://, both directions), then the
driver's outcomes, the terminal's journal and the authorizer's ledger reconciled.

    python scripts/soak_line.py --transactions 200 --rates 0.01 0.05 0.10

For each byte-corruption rate: a terminal (durable journal) in this process on a pty, the
driver through ``faulty://PTY?corrupt=RATE``. An integrator's loop: each payment has its own
client transaction id; when the line fails, it reconnects, asks the journal (lookup), and if
the terminal never heard of it, sends the same id again (safe: the same id never authorizes
twice). Figures:

- attempted: payments started;
- completed: the outcome came back to the command that asked;
- recovered: learnt after a line failure (lookup or the same id again), still on the noisy line;
- resolved after repair: still unknown when the soak gave up, learnt on a clean line at the end;
- lost: a payment whose outcome the driver reported differently from the journal, or an
  authorization in the ledger that the journal does not record as approved (must be 0);
- charged twice: a client transaction id with more than one authorization (must be 0).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from driver import InputRejected, Terminal, TerminalError, TransactionOutcome
from firmware_sim.reconcile import reconcile as reconcile_books
from firmware_sim.runner import TerminalConfig, TerminalRunner
from protocols.errors import ErrorCode
from protocols.link import LinkSettings

FAST_LINK = LinkSettings(ack_timeout=0.05, max_retries=8)


@dataclass
class Figures:
    rate: float
    attempted: int = 0
    completed: int = 0
    recovered: int = 0
    resolved_after_repair: int = 0
    lost: int = 0
    charged_twice: int = 0
    approved: int = 0
    seconds: float = 0.0


def reconcile(
    journal: str, known: dict[str, TransactionOutcome], port: str, figures: Figures
) -> None:
    with Terminal(port, link_settings=FAST_LINK) as clean:
        for txn_id in [t for t, o in known.items() if o is None]:  # type: ignore[comparison-overlap]
            try:
                known[txn_id] = clean.lookup(txn_id)
                figures.resolved_after_repair += 1
            except InputRejected as e:
                if e.code != ErrorCode.UNKNOWN_TRANSACTION:
                    raise
                del known[txn_id]  # never reached the terminal: nothing to reconcile
        for txn_id, outcome in known.items():
            truth = clean.lookup(txn_id)
            if truth.status != outcome.status or truth.auth_code != outcome.auth_code:
                figures.lost += 1
    books = reconcile_books(journal)
    figures.lost += books.unrecorded + books.reversed_but_shown_approved
    figures.charged_twice = books.charged_twice
    figures.approved = books.approved


def soak(rate: float, transactions: int, seed: int, max_seconds: float) -> Figures:
    figures = Figures(rate)
    with tempfile.TemporaryDirectory() as directory:
        journal = str(Path(directory) / "journal.sqlite")
        runner = TerminalRunner(
            TerminalConfig(port="pty", journal=journal, ack_timeout=0.05, link_retries=8)
        )
        runner.start()
        url = f"faulty://{runner.port.name}?corrupt={rate}&seed={seed}"
        known: dict[str, TransactionOutcome | None] = {}
        approved_sales: list[TransactionOutcome] = []
        started = time.monotonic()
        terminal = Terminal(url, link_settings=FAST_LINK, timeout=1.0, control_timeout=1.0)
        for i in range(transactions):
            if time.monotonic() - started > max_seconds:
                break
            txn_id = f"L{rate}-{i}"
            refund_of = approved_sales.pop(0) if i % 4 == 3 and approved_sales else None
            figures.attempted += 1
            known[txn_id] = None
            for attempt in range(4):
                try:
                    if attempt == 0:
                        outcome = _pay(terminal, txn_id, refund_of, i)
                        figures.completed += 1
                    else:
                        terminal.close()
                        terminal = Terminal(
                            url, link_settings=FAST_LINK, timeout=1.0, control_timeout=1.0
                        )
                        try:
                            outcome = terminal.lookup(txn_id)
                        except InputRejected as e:
                            if e.code != ErrorCode.UNKNOWN_TRANSACTION:
                                raise
                            outcome = _pay(terminal, txn_id, refund_of, i)  # same id: safe
                        figures.recovered += 1
                    known[txn_id] = outcome
                    if outcome.approved and refund_of is None:
                        approved_sales.append(outcome)
                    break
                except InputRejected as e:
                    if e.code == ErrorCode.BUSY:
                        time.sleep(0.1)
                        continue
                    raise
                except TerminalError:
                    continue
        terminal.close()
        figures.seconds = time.monotonic() - started
        reconcile(journal, known, runner.port.name, figures)  # type: ignore[arg-type]
        runner.stop()
    return figures


def _pay(
    terminal: Terminal, txn_id: str, refund_of: TransactionOutcome | None, i: int
) -> TransactionOutcome:
    if refund_of is not None:
        return terminal.refund(
            refund_of.amount, "EUR", refund_of.reference, client_transaction_id=txn_id
        )
    return terminal.sale(1000 + i % 50, "EUR", client_transaction_id=txn_id)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--transactions", type=int, default=200)
    parser.add_argument("--rates", type=float, nargs="+", default=[0.01, 0.05, 0.10])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--max-seconds",
        type=float,
        default=120.0,
        help="per rate: start no new payment after this long",
    )
    args = parser.parse_args()
    header = (
        f"{'corruption':>10} {'attempted':>9} {'completed':>9} {'recovered':>9} "
        f"{'resolved':>8} {'lost':>4} {'twice':>5} {'approved':>8} {'seconds':>7}"
    )
    print(header)
    bad = 0
    for rate in args.rates:
        f = soak(rate, args.transactions, args.seed, args.max_seconds)
        print(
            f"{f.rate:>10.0%} {f.attempted:>9} {f.completed:>9} {f.recovered:>9} "
            f"{f.resolved_after_repair:>8} {f.lost:>4} {f.charged_twice:>5} {f.approved:>8} "
            f"{f.seconds:>7.1f}",
            flush=True,
        )
        bad += f.lost + f.charged_twice
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
