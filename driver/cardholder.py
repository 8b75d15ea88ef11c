"""The simulated cardholder, driven from the host (simulation control messages): for
tests that play the cardholder while a command runs in another thread. Mixed into
:class:`driver.Terminal`.
"""

from __future__ import annotations

from protocols.codes import EntryMode, PinEntry
from protocols.errors import FieldError
from protocols.messages import (
    Message,
    SimAccepted,
    SimChooseTip,
    SimEnterPin,
    SimPowerCycle,
    SimPresentCard,
    SimPressCancel,
    SimRemoveCard,
)

from .inputs import Amount, rejected, to_minor_units

__all__ = ["CardholderCommands"]


class CardholderCommands:
    """What the cardholder does at the terminal, sent as SIM_* messages."""

    def _side_request(self, message: Message, answer_type: type) -> Message:
        raise NotImplementedError

    def _simulate(self, message: Message) -> None:
        self._side_request(message, SimAccepted)

    def present_card(self, card: str = "default", entry_mode: EntryMode = EntryMode.CHIP) -> None:
        try:
            self._simulate(SimPresentCard(card, entry_mode))
        except FieldError as e:
            raise rejected(e) from None

    def enter_pin(self, entry: PinEntry = PinEntry.CORRECT) -> None:
        self._simulate(SimEnterPin(entry))

    def remove_card(self) -> None:
        self._simulate(SimRemoveCard())

    def press_cancel(self) -> None:
        self._simulate(SimPressCancel())

    def power_cycle(self) -> None:
        self._simulate(SimPowerCycle())

    def choose_tip(self, choice: int, tip: Amount = 0, currency: str = "EUR") -> None:
        """The cardholder picks on the tip screen: 0 no tip, 1-4 the n-th offered percentage,
        or ``TIP_CUSTOM`` (255) with a ``tip`` amount."""
        custom = to_minor_units(tip, currency, "tip_amount", allow_zero=True)
        try:
            self._simulate(SimChooseTip(choice, custom))
        except FieldError as e:
            raise rejected(e) from None
