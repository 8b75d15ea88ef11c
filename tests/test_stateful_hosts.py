"""Hypothesis stateful model of a point of sale against a live terminal over a real pty:
payments, refunds (some refused), lookups and LAST, with the host restarting at any point:
a new `Terminal` (a new link session) between commands, and a host that sends a request and
vanishes mid-exchange. The invariant: the driver never reports an outcome other than the
journal's, and an error never hides a payment the journal holds."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import serial
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from driver import InputRejected, Terminal, TransactionOutcome
from firmware_sim.journal import Journal, JournalEntry
from firmware_sim.runner import TerminalConfig, TerminalRunner
from protocols.errors import ErrorCode
from protocols.link import Link
from protocols.messages import RefundRequest, SaleRequest

ids = st.sampled_from([f"P{i}" for i in range(5)])
amounts = st.sampled_from([100, 2000, 1251, 1205, 999])  # approved, approved, 51, 05, approved


class PointOfSaleWithRestarts(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self._dir = tempfile.TemporaryDirectory()
        self.journal_path = str(Path(self._dir.name) / "journal.sqlite")
        # a short ACK timeout: retransmissions to a host that has gone happen within a step
        config = TerminalConfig(journal=self.journal_path, ack_timeout=0.05)
        self.runner = TerminalRunner(config)
        self.runner.start()
        self.port = self.runner.port.name
        self.terminal = Terminal(self.port, timeout=20)
        self.journal = Journal(self.journal_path)
        self.references: list[str] = []
        self.misreports: list[str] = []

    def _entry(self, txn_id: str) -> JournalEntry | None:
        entry = self.journal.lookup(txn_id)
        return None if entry is None or entry.state == "authorizing" else entry

    def _check(self, outcome: TransactionOutcome) -> None:
        entry = self._entry(outcome.client_transaction_id)
        told = (outcome.status, outcome.reference, outcome.amount, outcome.response_code)
        if entry is None or told != (
            entry.status,
            entry.reference,
            entry.amount,
            entry.response_code.ljust(2)[:2],
        ):
            self.misreports.append(f"driver said {told}, journal holds {entry}")
        if outcome.approved and outcome.reference not in self.references:
            self.references.append(outcome.reference)

    def _payment(self, txn_id: str, pay: object) -> None:
        before = self._entry(txn_id)
        try:
            outcome = pay()  # type: ignore[operator]
        except InputRejected as rejected:
            if rejected.code == ErrorCode.BUSY:  # another host's request is running: true
                return
            after = self._entry(txn_id)
            if after is not None and after != before:
                self.misreports.append(f"{txn_id} rejected, but the journal holds {after}")
            return
        self._check(outcome)

    @rule(txn_id=ids, amount=amounts)
    def sale(self, txn_id: str, amount: int) -> None:
        self._payment(txn_id, lambda: self.terminal.sale(amount, "EUR", client_transaction_id=txn_id))

    @rule(txn_id=ids, amount=st.sampled_from([100, 5000]), data=st.data())
    def refund(self, txn_id: str, amount: int, data: st.DataObject) -> None:
        reference = data.draw(st.sampled_from(self.references or ["000000000042"]))
        self._payment(
            f"R{txn_id}",
            lambda: self.terminal.refund(
                amount, "EUR", reference, client_transaction_id=f"R{txn_id}"
            ),
        )

    @rule(txn_id=ids)
    def lookup(self, txn_id: str) -> None:
        try:
            self._check(self.terminal.lookup(txn_id))
        except InputRejected:
            if self._entry(txn_id) is not None:
                self.misreports.append(f"lookup({txn_id}) unknown, but the journal holds it")

    @rule()
    def last(self) -> None:
        try:
            outcome = self.terminal.last()
        except InputRejected:
            return
        last = self.journal.last()
        if last is None or last.client_transaction_id != outcome.client_transaction_id:
            self.misreports.append(f"last said {outcome.client_transaction_id}, journal {last}")
        self._check(outcome)

    @rule()
    def time_passes(self) -> None:
        time.sleep(0.12)  # the terminal retransmits what was not acknowledged

    @rule()
    def host_restarts(self) -> None:
        self.terminal.close()
        self.terminal = Terminal(self.port, timeout=20)

    @rule(txn_id=ids, amount=amounts, refund=st.booleans(), polls=st.integers(0, 6))
    def host_vanishes_mid_exchange(
        self, txn_id: str, amount: int, refund: bool, polls: int
    ) -> None:
        """Another process sends a request and dies after ``polls`` reads of the line."""
        self.terminal.close()
        line = serial.serial_for_url(self.port, timeout=0.002)
        link = Link()
        request = (
            RefundRequest(f"R{txn_id}", amount, "EUR", (self.references or ["000000000042"])[-1])
            if refund
            else SaleRequest(txn_id, amount, "EUR")
        )
        link.send(request, time.monotonic())
        for _ in range(polls):
            line.write(link.data_to_send())
            link.receive_data(line.read(4096), time.monotonic())
        line.close()
        self.terminal = Terminal(self.port, timeout=20)

    @invariant()
    def the_driver_never_contradicts_the_journal(self) -> None:
        assert not self.misreports, self.misreports

    def teardown(self) -> None:
        try:
            self.terminal.close()
            for txn_id in [f"P{i}" for i in range(5)]:  # every payment can still be learnt
                if self._entry(txn_id) is not None:
                    with Terminal(self.port, timeout=20) as asking:
                        self._check(asking.lookup(txn_id))
            assert not self.misreports, self.misreports
        finally:
            self.terminal.close()
            self.journal.close()
            self.runner.stop()
            self._dir.cleanup()


TestPointOfSaleWithRestarts = PointOfSaleWithRestarts.TestCase
TestPointOfSaleWithRestarts.settings = settings(
    max_examples=25, stateful_step_count=20, deadline=None
)
