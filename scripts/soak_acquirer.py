"""Acquirer soak: a terminal that authorizes through ``possim host``, with ``kill -9`` of the
host, of the terminal, and of both, at random moments while payments are in flight; then the
host's ledger and the terminal's journal must agree, entry by entry, and at settlement.

    python scripts/soak_acquirer.py --payments 300 --kill-host 0.1 --kill-terminal 0.1

Each payment is made through a new ``Terminal`` (a new host session): sales of amounts that
approve and decline, every fifth a pre-authorization then its completion with a tip, every
seventh a void of the last sale, every eleventh a refund of part of it. With the probability
given, a killer waits a random 0 to 20 ms into a payment and sends SIGKILL to the host or the
terminal (or both); the killed process is started again on the same ledger or journal (the
host on the same port). A payment whose call fails is asked for with ``lookup`` once the
terminal is back. At the end both run clean until the terminal's queue of reversals and
advices is empty, the batch is settled (0500), and the files are compared:

- lost: a transaction the journal holds as approved that the host does not (must be 0);
- charged without approval: a transaction the host holds as approved (authorized, captured,
  released or voided) that the journal does not hold as approved (must be 0);
- out of balance: the host's answer to the reconciliation (must be in balance).
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from driver import Terminal  # noqa: E402
from driver.errors import InputRejected, TerminalError  # noqa: E402
from driver.testing import spawn_host, spawn_terminal  # noqa: E402

HOST_APPROVED = {"authorized", "captured", "released", "voided"}
AMOUNTS = (2000, 1234, 751, 305, 4591, 100)  # 51, 05 and 91 decline


@dataclass
class Figures:
    payments: int = 0
    host_kills: int = 0
    terminal_kills: int = 0
    both_killed: int = 0  # payments during which both were killed
    failed_calls: int = 0
    looked_up: int = 0
    approved: int = 0
    journal_entries: int = 0
    ledger_entries: int = 0
    reversed_at_host: int = 0
    lost: int = 0
    charged_without_approval: int = 0
    reconciliation: str = ""
    seconds: float = 0.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class World:
    def __init__(self, directory: str, seed: int) -> None:
        self.ledger = str(Path(directory) / "host.sqlite")
        self.journal = str(Path(directory) / "journal.sqlite")
        self.listen = f"127.0.0.1:{free_port()}"
        self.random = random.Random(seed)
        self.figures = Figures()
        self.host: subprocess.Popen[str] | None = None
        self.terminal: subprocess.Popen[str] | None = None
        self.port = ""
        self.start_host()
        self.start_terminal()

    def start_host(self) -> None:
        self.host, self.url = spawn_host("--listen", self.listen, "--ledger", self.ledger)

    def start_terminal(self) -> None:
        self.terminal, self.port = spawn_terminal(
            "--port",
            "pty",
            "--journal",
            self.journal,
            "--acquirer",
            self.url,
            "--acquirer-timeout",
            "1",
            stderr=subprocess.DEVNULL,
        )

    def kill(self, which: str) -> None:
        process = self.host if which == "host" else self.terminal
        if process is not None and process.poll() is None:
            os.kill(process.pid, signal.SIGKILL)
            process.wait()
            if which == "host":
                self.figures.host_kills += 1
            else:
                self.figures.terminal_kills += 1

    def revive(self) -> None:
        if self.host is None or self.host.poll() is not None:
            self.start_host()
        if self.terminal is None or self.terminal.poll() is not None:
            self.start_terminal()

    def stop(self) -> None:
        for process in (self.terminal, self.host):
            if process is not None and process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(10)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()

    def pay(
        self,
        action: str,
        *args: object,
        txn_id: str,
        kill_host: float,
        kill_terminal: float,
        tip: int = 0,
    ) -> None:
        """One payment through a new Terminal, perhaps with a kill in flight."""
        self.figures.payments += 1
        victims = [
            w
            for w, p in (("host", kill_host), ("terminal", kill_terminal))
            if self.random.random() < p
        ]
        killers = [
            threading.Timer(self.random.uniform(0, 0.02), self.kill, args=(victim,))
            for victim in victims
        ]
        if len(victims) == 2:
            self.figures.both_killed += 1
        for killer in killers:
            killer.start()
        try:
            with Terminal(self.port, timeout=20) as terminal:
                extra = {"tip": tip} if tip else {}
                getattr(terminal, action)(*args, client_transaction_id=txn_id, **extra)
        except InputRejected:
            pass  # a refusal (a void of a sale already voided at a crash...): an outcome
        except (TerminalError, OSError):
            self.figures.failed_calls += 1
        for killer in killers:
            killer.join()
        if killers or self.terminal is None or self.terminal.poll() is not None:
            self.revive()
            self.look_up(txn_id)

    def look_up(self, txn_id: str) -> None:
        for _ in range(3):
            try:
                with Terminal(self.port, timeout=20) as terminal:
                    terminal.lookup(txn_id)
                self.figures.looked_up += 1
                return
            except InputRejected:
                return  # the terminal never took it: nothing to know
            except (TerminalError, OSError):
                self.revive()

    def references(self, txn_id: str) -> str | None:
        with sqlite3.connect(self.journal) as db:
            row = db.execute(
                "SELECT seq FROM transactions WHERE client_transaction_id = ? AND status = 0",
                (txn_id,),
            ).fetchone()
        return f"{row[0]:012d}" if row else None


def run(payments: int, kill_host: float, kill_terminal: float, seed: int) -> Figures:
    started = time.monotonic()
    with tempfile.TemporaryDirectory() as directory:
        world = World(directory, seed)
        faults = {"kill_host": kill_host, "kill_terminal": kill_terminal}
        last_sale: str | None = None
        try:
            for i in range(payments):
                amount = AMOUNTS[i % len(AMOUNTS)]
                if i % 5 == 4:
                    world.pay("preauth", 5000 + i, "EUR", txn_id=f"P{i}", **faults)
                    hold = world.references(f"P{i}")
                    if hold:
                        world.pay("complete", hold, 4000, "EUR", tip=300, txn_id=f"C{i}", **faults)
                elif i % 7 == 6 and last_sale:
                    world.pay("void", last_sale, txn_id=f"V{i}", **faults)
                    last_sale = None
                elif i % 11 == 10 and last_sale:
                    world.pay("refund", 50, "EUR", last_sale, txn_id=f"R{i}", **faults)
                else:
                    world.pay("sale", amount, "EUR", txn_id=f"S{i}", **faults)
                    last_sale = world.references(f"S{i}") or last_sale
            world.revive()
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline:  # the terminal's queue drains to the host
                with Terminal(world.port, timeout=20) as terminal:
                    if terminal.status().counters.get("acquirer_waiting", 0) == 0:
                        break
                time.sleep(0.5)
            with Terminal(world.port, timeout=60) as terminal:
                terminal.settle()
                counters = terminal.status().counters
            world.figures.reconciliation = (
                "in balance"
                if counters.get("acquirer_in_balance") == 1
                else f"NOT in balance ({counters.get('acquirer_out_of_balance')} out, "
                f"{counters.get('acquirer_waiting')} waiting)"
            )
        finally:
            world.stop()
        compare(world)
    world.figures.seconds = round(time.monotonic() - started, 1)
    return world.figures


def compare(world: World) -> None:
    figures = world.figures
    with sqlite3.connect(world.journal) as db:
        journal = {
            f"{seq:012d}": status
            for seq, status in db.execute("SELECT seq, status FROM transactions")
        }
    with sqlite3.connect(world.ledger) as db:
        ledger = {
            reference.split(":", 1)[1]: status
            for reference, status in db.execute("SELECT reference, status FROM ledger")
        }
    figures.journal_entries, figures.ledger_entries = len(journal), len(ledger)
    figures.reversed_at_host = sum(1 for s in ledger.values() if s == "reversed")
    for reference, status in journal.items():
        if status == 0:
            figures.approved += 1
            if ledger.get(reference) not in HOST_APPROVED:
                figures.lost += 1
                print(
                    f"lost: {reference} approved at the terminal, {ledger.get(reference)} at the host"
                )
    for reference, status in ledger.items():
        if status in HOST_APPROVED and journal.get(reference) != 0:
            figures.charged_without_approval += 1
            print(
                f"charged: {reference} {status} at the host, {journal.get(reference)} at the terminal"
            )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--payments", type=int, default=300)
    parser.add_argument("--kill-host", type=float, default=0.1)
    parser.add_argument("--kill-terminal", type=float, default=0.1)
    parser.add_argument("--seed", type=int, default=8583)
    args = parser.parse_args()
    figures = run(args.payments, args.kill_host, args.kill_terminal, args.seed)
    for name, value in vars(figures).items():
        print(f"{name:>26}: {value}")
    bad = figures.lost or figures.charged_without_approval or figures.reconciliation != "in balance"
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
