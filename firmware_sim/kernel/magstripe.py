"""The magnetic stripe: a chip card's stripe is refused unless its chip has failed (fallback,
EMV Book 4 11.1); a stripe-only card is read as it is.

>>> from protocols.track2 import Track2
>>> chip_card = Track2.decode(bytes.fromhex("4761739001010010D29122011234567890"))
>>> stripe_accepted(chip_card, fallback=False), stripe_accepted(chip_card, fallback=True)
(False, True)
"""

from __future__ import annotations

from protocols.track2 import Track2

__all__ = ["stripe_accepted"]


def stripe_accepted(track2: Track2, *, fallback: bool) -> bool:
    """Whether the swipe may go on: not for a chip card (service code 2xx or 6xx) whose chip
    has not been tried and failed."""
    return not track2.chip_card or fallback
