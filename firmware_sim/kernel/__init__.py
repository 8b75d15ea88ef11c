"""The card kernel: what the terminal does with a card, by interface. It knows cards and APDUs
(selection, GET PROCESSING OPTIONS, records, CVM lists, GENERATE AC, the stripe, the QR code)
and nothing of sales, refunds or tips: the application asks it for card data and cryptograms
and decides what they mean for the transaction.

Each function takes an :data:`Apdu` exchange (a command in, the card's response out) so that
the same kernel runs against a virtual card in this process or a card in a PC/SC reader.
"""

from __future__ import annotations

from .reader import Apdu, CardFailure, CardReader, InProcessReader, redact_apdu, redact_response

__all__ = [
    "Apdu",
    "CardFailure",
    "CardReader",
    "InProcessReader",
    "redact_apdu",
    "redact_response",
]
