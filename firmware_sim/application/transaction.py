"""The transaction in progress: what the host asked for and what the card and the issuer said."""

from __future__ import annotations

from dataclasses import dataclass, field

from keys import EncryptedPinBlock
from protocols.codes import EntryMode, SaleOption, TransactionKind, TransactionStatus
from protocols.track2 import Track2
from protocols.tvr import Tsi, Tvr
from protocols.validation import mask_pan

from ..cards import CardProfile
from ..issuer import ChipData
from ..journal import JournalEntry
from ..kernel import CardReader
from ..kernel.oda import OdaResult

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
    options: SaleOption = SaleOption.NONE
    tip_percentages: tuple[int, ...] = ()  # the tip screen's choices (a sale's request)
    tip_amount: int = 0
    approved_amount: int | None = None  # the issuer's, when it approved less (partial)
    original: JournalEntry | None = None  # the transaction a refund or follow-up names
    # EMV: terminal verification results and transaction status information (Book 3 C5,
    # C6), what offline data authentication found, what the kernel must remember between
    # the GENERATE ACs (PDOL and CDOL1 data, for CDA), the issuer's scripts and their results
    tvr: Tvr = field(default_factory=Tvr)
    tsi: Tsi = field(default_factory=Tsi)
    oda: OdaResult | None = None
    static_data: bytes | None = b""
    pdol_data: bytes = b""
    cdol1_data: bytes = b""
    scripts: bytes = b""
    script_results: bytes = b""

    @property
    def pan(self) -> str:
        if self.track2 is not None:
            return self.track2.pan
        return self.tags.get(0x5A, b"").hex().upper().rstrip("F")

    @property
    def masked_pan(self) -> str:
        """The card as receipts and the journal show it; a follow-up shows its original's."""
        pan = self.pan
        if pan:
            return mask_pan(pan)
        return self.original.masked_pan if self.original is not None else ""

    @property
    def total(self) -> int:
        """What the card and the issuer are asked for: the amount with the tip."""
        return self.amount + self.tip_amount
