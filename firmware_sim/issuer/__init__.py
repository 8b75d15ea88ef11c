"""The issuer of the simulated world, shared by the terminal's built-in authorizer and the
ISO 8583 host (``possim host``). It imports protocols, keys and the card catalogue (whose
cards it issued), nothing of the terminal."""

from __future__ import annotations

from .issuer import BatchTotals, Issuer
from .requests import (
    AMOUNT_OUTCOMES,
    APPROVED_CODES,
    FOLLOW_UPS,
    OFFLINE_APPROVED,
    PARTIALLY_APPROVED,
    PIN_TRIES_EXCEEDED,
    AuthorizationRequest,
    AuthorizationResponse,
    ChipData,
)

__all__ = [
    "AMOUNT_OUTCOMES",
    "APPROVED_CODES",
    "FOLLOW_UPS",
    "OFFLINE_APPROVED",
    "PARTIALLY_APPROVED",
    "PIN_TRIES_EXCEEDED",
    "AuthorizationRequest",
    "AuthorizationResponse",
    "BatchTotals",
    "ChipData",
    "Issuer",
]
