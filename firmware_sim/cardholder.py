"""The simulated cardholder who answers the terminal's prompts: presents the configured card
when asked, types the PIN when asked, takes the card out when told.

>>> from firmware_sim.testing import make_core
>>> from protocols.messages import SaleRequest
>>> core, cardholder = make_core(), AutoCardholder("default")
>>> core.handle_message(SaleRequest("T1", 1234, "EUR"), now=1.76e9)
>>> outcome = [m for m in drain(core, cardholder, now=1.76e9) if type(m).__name__ == "TransactionResult"]
>>> outcome[0].status.name, outcome[0].response_code
('APPROVED', '00')
"""

from __future__ import annotations

from collections.abc import Callable

from protocols.codes import EntryMode, PromptId
from protocols.messages import Message, Prompt

from .core import Origin, TerminalCore
from .states import TerminalState

__all__ = ["AutoCardholder", "drain", "drain_addressed"]


class AutoCardholder:
    """Answers prompts at once. ``entry_mode`` is how the card is offered first; a card that
    has no chip is swiped, and a chip card that is refused at the swipe is inserted."""

    def __init__(
        self,
        card: str = "default",
        entry_mode: EntryMode = EntryMode.CHIP,
        *,
        presents_cards: bool = True,
        tip_choice: int = 1,
    ) -> None:
        self.tip_choice = tip_choice  # on the tip screen: 0 none, n the n-th percentage
        self.card = card
        self.presents_cards = presents_cards  # False: the card is in a real reader
        self.entry_mode = entry_mode
        self._presentations = 0
        self._swipe_next = False

    def react(self, core: TerminalCore, prompt: Prompt, now: float) -> None:
        state = core.state
        if prompt.prompt_id is PromptId.USE_MAG_STRIPE:
            self._swipe_next = True
        elif prompt.prompt_id is PromptId.CHOOSE_TIP and state is TerminalState.TIP_SELECTION:
            core.choose_tip(self.tip_choice, 0, now)
        elif (
            prompt.prompt_id is PromptId.INSERT_CARD
            and state is TerminalState.WAITING_FOR_CARD
            and self.presents_cards
        ):
            self._present(core, now)
        elif prompt.prompt_id is PromptId.ENTER_PIN and state in (
            TerminalState.OFFLINE_PIN,
            TerminalState.ONLINE_PIN,
            TerminalState.PIN_ENTRY,
        ):
            core.enter_pin(core.cardholder_types(), now)
        elif prompt.prompt_id is PromptId.SCAN_QR_CODE and state is TerminalState.QR_DISPLAYED:
            core.wallet_pays(now)
        elif prompt.prompt_id is PromptId.REMOVE_CARD and state is TerminalState.CARD_REMOVAL:
            core.remove_card(now)
            self._presentations = 0

    def _present(self, core: TerminalCore, now: float) -> None:
        self._presentations += 1
        if self._presentations > 3:  # the terminal keeps refusing: give up, wait to be cancelled
            return
        profile = core.catalogue[self.card]
        mode = self.entry_mode
        if self._presentations > 1 and EntryMode.CHIP in profile.interfaces:
            mode = EntryMode.CHIP  # told to use the chip reader
        if self._swipe_next:
            mode = EntryMode.SWIPE
        if mode not in profile.interfaces:
            mode = next(iter(sorted(profile.interfaces)))
        core.present_card(self.card, mode, now)

    def transaction_over(self) -> None:
        self._presentations = 0
        self._swipe_next = False


def drain(core: TerminalCore, cardholder: AutoCardholder | None, now: float) -> list[Message]:
    """Everything the core sends until it rests, letting the cardholder answer each prompt."""
    return [message for _, message in drain_addressed(core, cardholder, now)]


def drain_addressed(
    core: TerminalCore,
    cardholder: AutoCardholder | None,
    now: float,
    on_batch: Callable[[list[tuple[Origin, Message]]], None] | None = None,
) -> list[tuple[Origin, Message]]:
    """As :func:`drain`, each message with the origin of the request it answers.
    ``on_batch`` is given what the core has to send each time before the cardholder answers
    it: the runner puts it on the line then, while the transaction goes on."""
    sent: list[tuple[Origin, Message]] = []
    while True:
        batch = core.take_addressed()
        if not batch:
            return sent
        if on_batch is not None:
            on_batch(batch)
        for origin, message in batch:
            sent.append((origin, message))
            if cardholder is not None and isinstance(message, Prompt):
                cardholder.react(core, message, now)
            if core.state is TerminalState.IDLE and cardholder is not None:
                cardholder.transaction_over()
