"""The tip screen of a sale (on-terminal tipping, as Stripe Terminal and Adyen offer it): the
cardholder sees the amount and up to four percentages with what each adds, and picks one, a
custom tip, or none; then the card is asked for the amount with the tip.

>>> tip_for(1234, 15), tip_for(1000, 10)
(185, 100)
>>> tip_screen(1234, "EUR", (10, 15, 20))
'EUR 12.34 TIP? 1:10% 1.23 2:15% 1.85 3:20% 2.47 0:NONE *:OTHER'
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from protocols.codes import PromptId
from protocols.currency import format_amount, format_money
from protocols.errors import ErrorCode, FieldError
from protocols.messages import TIP_CUSTOM, Prompt
from protocols.validation import MAX_AMOUNT

from ..states import TerminalState
from .card_steps import CARD_TIMEOUT

if TYPE_CHECKING:
    from ..core import TerminalCore

__all__ = ["TipScreen", "tip_for", "tip_screen"]


def tip_for(amount: int, percent: int) -> int:
    """``percent`` of ``amount`` in minor units, half rounded up."""
    return (amount * percent + 50) // 100


def tip_screen(
    amount: int, currency: str, percentages: tuple[int, ...], language: str = "en"
) -> str:
    """The tip screen's line (at most 64 characters: four choices fit)."""
    choices = " ".join(
        f"{n}:{p}% {format_amount(tip_for(amount, p), currency)}"
        for n, p in enumerate(percentages, 1)
    )
    title, none, other = _SCREEN_WORDS.get(language, _SCREEN_WORDS["en"])
    return f"{format_money(amount, currency)} {title} {choices} 0:{none} *:{other}"[:64]


_SCREEN_WORDS = {"en": ("TIP?", "NONE", "OTHER"), "zh": ("小费?", "不要", "其他")}


class TipScreen:
    def __init__(self, core: TerminalCore) -> None:
        self._core = core

    def on_enter(self) -> dict[TerminalState, Callable[[], None]]:
        return {TerminalState.TIP_SELECTION: self.enter_tip_selection}

    def enter_tip_selection(self) -> None:
        core = self._core
        txn = core.txn
        assert txn is not None
        core.set_deadline(CARD_TIMEOUT)
        text = tip_screen(txn.amount, txn.currency, txn.tip_percentages, txn.language)
        core.send(Prompt(PromptId.CHOOSE_TIP, txn.language, text))

    def check(self, choice: int, custom: int) -> int:
        """The tip that the cardholder's pick means (0 none, 1-4 an offered percentage,
        TIP_CUSTOM an amount); FieldError for a choice the screen did not offer."""
        txn = self._core.txn
        assert txn is not None
        if choice == TIP_CUSTOM:
            tip = custom
        elif choice == 0:
            tip = 0
        elif 1 <= choice <= len(txn.tip_percentages):
            tip = tip_for(txn.amount, txn.tip_percentages[choice - 1])
        else:
            raise FieldError("choice", ErrorCode.INVALID_FIELD, f"no tip choice {choice}")
        if txn.amount + tip > MAX_AMOUNT:
            raise FieldError("tip_amount", ErrorCode.INVALID_AMOUNT, "the total is too large")
        return tip

    def choose(self, choice: int, custom: int) -> None:
        """The cardholder's pick, checked (:meth:`check`); then the card is asked for."""
        core = self._core
        assert core.txn is not None
        core.txn.tip_amount = self.check(choice, custom)
        core.clear_deadline()
        core.fire("tip_chosen")
