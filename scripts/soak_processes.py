"""Process-per-command soak: a point of sale that starts a new ``possim`` process for every
command, as the commonest integrations do, against one terminal process on a pty.

    python scripts/soak_processes.py --payments 1000 --faults 0 0.01

For each line-fault rate (per byte, corrupted and dropped, both directions through
``faulty://``; 0 is a clean line): one ``possim terminal`` with a durable journal, then, each
from a new process: a sale (amounts that approve and decline), after every third sale a refund
the terminal must refuse (over the sale's amount), after every seventh a partial refund,
every fourth a ``possim lookup`` and every fifth a ``possim last``; every sixth a hotel stay
(``preauth``, ``increment``, ``complete`` with a tip, then a second completion with another id
that must be refused) and every ninth a ``void`` of the sale (then a second void that must be
refused). Each outcome a process prints is checked against the terminal's journal at once. A command that ends without an
outcome (the line failed) is asked again with ``possim lookup`` from new processes; what is
still unknown at the end is asked on a clean line. Figures:

- misreported: an outcome a process printed that differs from the journal's (must be 0);
  a refusal for a payment the journal holds; an over-refund that was not refused;
- lost: an authorization in the ledger that the journal does not hold as approved (must be 0);
- charged twice: a client transaction id authorized more than once (must be 0);
- captured twice: a pre-authorization with more than one approved completion, or captured
  beyond its hold with its increments (must be 0).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from driver.testing import spawn_terminal  # noqa: E402
from firmware_sim.journal import Journal  # noqa: E402
from firmware_sim.reconcile import reconcile  # noqa: E402

LINK = ("--ack-timeout", "0.1", "--link-retries", "8")
AMOUNTS = ("20.00", "12.34", "7.51", "3.05", "45.91", "1.00")  # 51, 05 and 91 decline


@dataclass
class Figures:
    rate: float
    payments: int = 0
    processes: int = 0
    completed: int = 0
    recovered: int = 0
    resolved_after_repair: int = 0
    refused_refunds: int = 0
    lookups: int = 0
    lasts: int = 0
    misreported: int = 0
    lost: int = 0
    charged_twice: int = 0
    stays: int = 0
    voids: int = 0
    captured_twice: int = 0
    seconds: float = 0.0
    problems: list[str] = field(default_factory=list)


class Soak:
    def __init__(self, rate: float, directory: str, seed: int) -> None:
        self.figures = Figures(rate)
        self.journal_path = str(Path(directory) / "journal.sqlite")
        self.terminal, self.port = spawn_terminal(
            "--port", "pty", "--journal", self.journal_path, *LINK, stderr=subprocess.DEVNULL
        )
        self.rate = rate
        self.seed = seed
        self.journal = Journal(self.journal_path)

    def close(self) -> None:
        self.journal.close()
        self.terminal.kill()
        self.terminal.wait()

    def line(self, clean: bool = False) -> str:
        if clean or not self.rate:
            return self.port
        self.seed += 1
        return f"faulty://{self.port}?corrupt={self.rate}&drop={self.rate / 2}&seed={self.seed}"

    def possim(self, *args: str, clean: bool = False) -> tuple[int, dict[str, Any] | None, str]:
        """Run one command in a new process: its exit status, its JSON, its stderr."""
        self.figures.processes += 1
        command, rest = args[0], args[1:]
        done = subprocess.run(
            [sys.executable, "-m", "driver.cli", command, "--port", self.line(clean)]
            + [*LINK, "--timeout", "20", *rest],
            capture_output=True,
            text=True,
            cwd=ROOT,
        )
        data = json.loads(done.stdout) if done.returncode == 0 and "--json" in rest else None
        return done.returncode, data, done.stderr.strip()

    def problem(self, text: str) -> None:
        self.figures.misreported += 1
        self.figures.problems.append(text)

    def check(self, told: dict[str, Any], txn_id: str | None = None) -> None:
        """What a process printed against the journal."""
        txn_id = txn_id or told["client_transaction_id"]
        entry = self.journal.lookup(txn_id)
        if entry is None or entry.status is None:
            self.problem(f"{txn_id}: told {told['status']}, the journal has no outcome")
            return
        truth = (entry.status.name.lower(), entry.reference, entry.response_code)
        if (told["status"], told["reference"], told["response_code"]) != truth:
            self.problem(f"{txn_id}: told {told}, the journal holds {truth}")

    def payment(self, *args: str, txn_id: str) -> dict[str, Any] | None:
        """A sale or refund from a new process; None when its outcome is not known yet."""
        status, told, error = self.possim(*args, "--id", txn_id, "--json")
        if told is not None:
            self.figures.completed += 1
            self.check(told, txn_id)
            return told
        if status == 2:  # refused: then the journal must not hold it
            entry = self.journal.lookup(txn_id)
            if entry is not None and entry.status is not None:
                self.problem(f"{txn_id}: refused ({error}), but the journal holds it")
            return None
        for _ in range(3):  # the line failed: ask, never pay again
            status, told, _ = self.possim("lookup", "--id", txn_id, "--json")
            if told is not None:
                self.figures.recovered += 1
                self.check(told, txn_id)
                return told
        self.unknown.append(txn_id)
        return None

    def refused(self, *args: str, what: str) -> None:
        """A follow-up that must be refused (exit status 2); a line failure is asked again."""
        for _ in range(3):
            status, told, error = self.possim(*args)
            if status == 2:
                return
            if status == 0:
                self.problem(f"{what} was not refused")
                return

    def hotel_stay(self, i: int) -> None:
        hold = self.payment("preauth", "--amount", "50.00", txn_id=f"H{i}")
        if hold is None or hold["status"] != "approved":
            return
        self.figures.stays += 1
        reference = hold["reference"]
        self.payment("increment", "--reference", reference, "--amount", "10.00", txn_id=f"I{i}")
        self.payment(
            "complete",
            "--reference",
            reference,
            "--amount",
            "42.00",
            "--tip",
            "5.00",
            txn_id=f"C{i}",
        )
        entry = self.journal.lookup(f"C{i}")
        if entry is not None and entry.approved:
            self.refused(
                "complete",
                "--reference",
                reference,
                "--amount",
                "1.00",
                "--id",
                f"D{i}",
                what=f"D{i}: a second completion of {reference}",
            )

    def void(self, reference: str, i: int) -> None:
        voided = self.payment("void", "--reference", reference, txn_id=f"V{i}")
        if voided is not None and voided["status"] == "approved":
            self.figures.voids += 1
            self.refused(
                "void",
                "--reference",
                reference,
                "--id",
                f"W{i}",
                what=f"W{i}: a second void of {reference}",
            )

    def captures_beyond_holds(self) -> int:
        """Pre-authorizations captured twice, or beyond the hold with its increments."""
        bad = 0
        for entry in self.journal.entries():
            if entry.kind.name != "PREAUTH" or not entry.approved:
                continue
            later = self.journal.follow_ups(entry.reference)
            captures = [e for e in later if e.kind.name == "COMPLETION"]
            held = entry.approved_amount + sum(
                e.approved_amount for e in later if e.kind.name == "INCREMENT"
            )
            if len(captures) > 1 or sum(e.amount + e.tip_amount for e in captures) > held:
                bad += 1
                self.figures.problems.append(f"{entry.reference}: captures {captures}")
        return bad

    def run(self, payments: int) -> Figures:
        self.unknown: list[str] = []
        started = time.monotonic()
        for i in range(payments):
            amount = AMOUNTS[i % len(AMOUNTS)]
            self.figures.payments += 1
            sale = self.payment("sale", "--amount", amount, txn_id=f"S{i}")
            approved = sale is not None and sale["status"] == "approved"
            if approved and i % 3 == 0:
                over = f"{float(amount) + 1:.2f}"
                status, told, _ = self.possim(
                    "refund", "--amount", over, "--reference", sale["reference"], "--id", f"X{i}"
                )
                if status == 0:
                    self.problem(f"X{i}: an over-refund was not refused")
                elif status == 2:
                    self.figures.refused_refunds += 1
            if approved and i % 7 == 0:
                self.payment(
                    "refund", "--amount", "1.00", "--reference", sale["reference"], txn_id=f"R{i}"
                )
            if i % 6 == 0:
                self.hotel_stay(i)
            if approved and i % 9 == 0:
                self.void(sale["reference"], i)
            if i % 4 == 0:
                status, told, _ = self.possim("lookup", "--id", f"S{i}", "--json")
                if told is not None:
                    self.figures.lookups += 1
                    self.check(told, f"S{i}")
            if i % 5 == 0:
                status, told, _ = self.possim("last", "--json")
                if told is not None:
                    self.figures.lasts += 1
                    last = self.journal.last()
                    if last is None or last.client_transaction_id != told["client_transaction_id"]:
                        self.problem(f"last told {told['client_transaction_id']}, journal {last}")
                    else:
                        self.check(told)
        for txn_id in self.unknown:  # the line is repaired
            status, told, _ = self.possim("lookup", "--id", txn_id, "--json", clean=True)
            if told is not None:
                self.figures.resolved_after_repair += 1
                self.check(told, txn_id)
        self.figures.captured_twice = self.captures_beyond_holds()
        books = reconcile(self.journal_path)
        self.figures.lost = books.unrecorded + books.reversed_but_shown_approved
        self.figures.charged_twice = books.charged_twice
        self.figures.seconds = round(time.monotonic() - started, 1)
        return self.figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--payments", type=int, default=1000)
    parser.add_argument("--faults", type=float, nargs="+", default=[0.0, 0.01])
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    clean = True
    for rate in args.faults:
        with tempfile.TemporaryDirectory() as directory:
            soak = Soak(rate, directory, args.seed)
            try:
                figures = soak.run(args.payments)
            finally:
                soak.close()
        print(
            f"faults {rate:.0%}: {figures.payments} payments, {figures.processes} processes, "
            f"{figures.completed} completed, {figures.recovered} recovered by lookup, "
            f"{figures.resolved_after_repair} resolved after repair, {figures.refused_refunds} "
            f"over-refunds refused, {figures.lookups} lookups, {figures.lasts} lasts, "
            f"{figures.stays} hotel stays, {figures.voids} voids; "
            f"misreported {figures.misreported}, lost {figures.lost}, charged twice "
            f"{figures.charged_twice}, captured twice {figures.captured_twice}; "
            f"{figures.seconds} s",
            flush=True,
        )
        for problem in figures.problems[:10]:
            print(f"  {problem}")
        clean = clean and not (
            figures.misreported or figures.lost or figures.charged_twice or figures.captured_twice
        )
    return 0 if clean else 1


if __name__ == "__main__":
    sys.exit(main())
