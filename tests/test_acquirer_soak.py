"""The acquirer soak in small, in the suite: payments with kill -9 of the host and of the
terminal at random moments, each payment from a new Terminal; the host's ledger and the
terminal's journal agree entry by entry, and the settlement reconciles in balance."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))

from soak_acquirer import run  # noqa: E402


def test_kill_9_of_host_and_terminal_loses_nothing_and_charges_nothing_twice() -> None:
    figures = run(payments=40, kill_host=0.25, kill_terminal=0.25, seed=7)
    assert figures.host_kills and figures.terminal_kills  # the faults did happen
    assert figures.lost == 0
    assert figures.charged_without_approval == 0
    assert figures.reconciliation == "in balance"
    assert figures.approved > 10  # and payments went through
