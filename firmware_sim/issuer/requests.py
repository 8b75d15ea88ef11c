"""What an issuer is asked and what it answers, shared by the terminal's built-in authorizer
and the ISO 8583 host (which builds the same request from a message)."""

from __future__ import annotations

from dataclasses import dataclass

from keys import EncryptedPinBlock
from protocols.codes import EntryMode, TransactionKind

__all__ = [
    "ChipData",
    "AuthorizationRequest",
    "AuthorizationResponse",
    "AMOUNT_OUTCOMES",
    "APPROVED_CODES",
    "PARTIALLY_APPROVED",
    "FOLLOW_UPS",
    "OFFLINE_APPROVED",
    "PIN_TRIES_EXCEEDED",
]

# Response codes of ISO 8583 field 39 that the test outcomes use.
AMOUNT_OUTCOMES = {51: "51", 5: "05", 91: "91"}
PARTIALLY_APPROVED = "10"
OFFLINE_APPROVED = "Y1"  # the card approved offline (EMV ARC Y1); the terminal's auth code too
PIN_TRIES_EXCEEDED = "75"
APPROVED_CODES = frozenset({"00", PARTIALLY_APPROVED})
FOLLOW_UPS = frozenset(
    {
        TransactionKind.INCREMENT,
        TransactionKind.COMPLETION,
        TransactionKind.RELEASE,
        TransactionKind.VOID,
        TransactionKind.TIP_ADJUST,
    }
)


@dataclass(frozen=True)
class ChipData:
    """What the card's first GENERATE AC produced and what it covered."""

    atc: bytes
    data: bytes
    arqc: bytes


@dataclass(frozen=True)
class AuthorizationRequest:
    kind: TransactionKind
    reference: str
    pan: str
    pan_sequence: str
    expiry: str  # YYMM
    amount: int
    currency: str
    entry_mode: EntryMode
    date: str  # YYYYMM of the transaction, for the expiry check
    pin_block: EncryptedPinBlock | None = None
    chip: ChipData | None = None
    original_reference: str = ""
    allow_partial: bool = False  # the terminal accepts a partial approval (code 10)
    track2: str = ""  # as read (swipe) or the chip's track 2 equivalent; "" if none
    offline_approval: bool = False  # an advice: the card approved offline (chip holds the TC)


@dataclass(frozen=True)
class AuthorizationResponse:
    response_code: str
    auth_code: str = ""
    arpc: bytes = b""  # ARPC method 1; the issuer authentication data is ARPC || ARC
    approved_amount: int = 0  # the whole amount, or less on a partial approval
    scripts: bytes = b""  # issuer scripts: templates 71 and 72, BER-TLV (EMV Book 3 10.10)

    @property
    def approved(self) -> bool:
        return self.response_code in APPROVED_CODES
