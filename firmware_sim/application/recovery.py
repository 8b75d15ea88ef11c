"""What a cold start does: every authorization the journal saw begin but never end is reversed
at the authorizer and recorded as reversed, with receipts that say so, before the terminal
takes a command.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from ..receipts import ReceiptFacts
from ..states import TerminalState

if TYPE_CHECKING:
    from ..core import TerminalCore

__all__ = ["Recovery"]


class Recovery:
    def __init__(self, core: TerminalCore) -> None:
        self._core = core

    def on_enter(self) -> dict[TerminalState, Callable[[], None]]:
        return {TerminalState.RECOVERY: self.enter_recovery}

    def enter_recovery(self) -> None:
        core = self._core
        for entry in core.journal.unfinished():
            core.authorizer.reverse(entry.reference)
            facts = ReceiptFacts(
                entry.kind,
                entry.amount,
                entry.currency,
                entry.masked_pan,
                entry.entry_mode,
                "reversed",
                "96",
                entry.reference,
                "",
                entry.time,
                tip_amount=entry.tip_amount,
                original_reference=entry.original_reference,
            )
            core.journal.record_reversal(
                entry.client_transaction_id, *core.records.receipts(facts, core.language)
            )
        core.fire("finish")
