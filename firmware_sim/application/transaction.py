"""The transaction in progress: what the host asked for and what the card and the issuer said."""

from __future__ import annotations

from dataclasses import dataclass, field

from keys import EncryptedPinBlock
from protocols.codes import EntryMode, TransactionKind, TransactionStatus
from protocols.track2 import Track2

from ..authorizer import ChipData
from ..cards import CardProfile
from ..kernel import CardReader

__all__ = ["Transaction"]


@dataclass
class Transaction:
    kind: TransactionKind
    client_transaction_id: str
    amount: int
    currency: str
    original_reference: str = ""
    entry_mode: EntryMode = EntryMode.NONE
    card: CardProfile | None = None
    reader: CardReader | None = None
    tags: dict[int, bytes] = field(default_factory=dict)
    track2: Track2 | None = None
    pin_block: EncryptedPinBlock | None = None
    cvm_result: str = ""
    chip: ChipData | None = None
    arpc: bytes = b""  # the issuer's ARPC, for the second GENERATE AC
    reference: str = ""
    response_code: str = ""
    auth_code: str = ""
    status: TransactionStatus | None = None
    language: str = "en"
    fallback: bool = False  # the chip failed: the stripe of a chip card is accepted
    qr_payload: str = ""  # the EMVCo merchant-presented QR shown for this sale

    @property
    def pan(self) -> str:
        if self.track2 is not None:
            return self.track2.pan
        return self.tags.get(0x5A, b"").hex().upper().rstrip("F")
