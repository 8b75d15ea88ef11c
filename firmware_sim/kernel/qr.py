"""The QR path: the terminal shows an EMVCo merchant-presented QR code (EMV QRCPS) for the
amount; a wallet scans it, checks its CRC and amount, and pays with its card.

>>> payload = merchant_qr(1234, "EUR", reference="T1", merchant_id="PSM1")
>>> wallet_accepts(payload, 1234, "EUR"), wallet_accepts(payload, 1235, "EUR")
(True, False)
"""

from __future__ import annotations

from protocols.currency import by_alpha, format_amount
from protocols.emvqr import build_mpm, parse_mpm

__all__ = ["merchant_qr", "wallet_accepts"]


def merchant_qr(amount: int, currency: str, *, reference: str, merchant_id: str) -> str:
    """The payload the display shows (the reference is cut to its field's 25 characters)."""
    return build_mpm(
        amount=format_amount(amount, currency),
        currency_numeric=by_alpha(currency).numeric,
        reference=reference[:25],
        merchant_id=merchant_id,
    )


def wallet_accepts(payload: str, amount: int, currency: str) -> bool:
    """What a wallet checks when it scans: the CRC (parsing fails without it) and that the
    amount is the one it was asked to pay."""
    return parse_mpm(payload).get("54") == format_amount(amount, currency)
