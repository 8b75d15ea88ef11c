"""What the terminal sends the cash register, built from what its core says: intermediate
status (04 FF), status information (04 0F) with the BMPs an ECR expects, print text blocks
(06 D3) and print lines (06 D1), completion (06 0F) and abort (06 1E).
"""

from __future__ import annotations

from datetime import datetime, timezone

from protocols.codes import PromptId, ReceiptCopy, TransactionKind
from protocols.currency import by_alpha
from protocols.errors import ErrorCode
from protocols.messages import Receipt, SettlementResponse, TransactionResult
from protocols.tlv import encode_tlv
from protocols.zvt.apdu import encode_apdu
from protocols.zvt.bmp import Bmp, encode_bmps
from protocols.zvt.codes import NOT_SUPPORTED

__all__ = [
    "INTERMEDIATE",
    "ERRORS",
    "CANCELLED",
    "intermediate_status",
    "status_information",
    "end_of_day_information",
    "print_text_block",
    "print_lines",
    "completion",
    "abort",
    "receipt_number",
]

INTERMEDIATE = {  # the core's prompts as ZVT intermediate status codes
    PromptId.INSERT_CARD: 0x0A,
    PromptId.PRESENT_CARD: 0x0A,
    PromptId.ENTER_PIN: 0x01,
    PromptId.INCORRECT_PIN: 0x15,
    PromptId.AUTHORISING: 0x04,
    PromptId.REMOVE_CARD: 0x0B,
    PromptId.DECLINED: 0x1D,
    PromptId.PLEASE_WAIT: 0x0E,
}
ERRORS: dict[int, int] = {  # the core's refusals, as ZVT result codes
    ErrorCode.BUSY: NOT_SUPPORTED,
    ErrorCode.INVALID_CURRENCY: 0x6F,  # wrong currency
    ErrorCode.INVALID_AMOUNT: 0xC8,  # amount too small
    ErrorCode.ORIGINAL_NOT_FOUND: 0xB5,  # reversal not possible
    ErrorCode.ORIGINAL_NOT_APPROVED: 0xB5,
    ErrorCode.CURRENCY_MISMATCH: 0x6F,
}
CANCELLED = 0x6C  # abort via time-out or abort key


def receipt_number(reference: str) -> int:
    """BMP 87 (four digits) of a journal reference: its last four digits."""
    return int(reference) % 10_000 if reference.isdigit() else 0


def intermediate_status(prompt_id: PromptId) -> bytes | None:
    code = INTERMEDIATE.get(prompt_id)
    return encode_apdu(0x04, 0xFF, bytes((code,))) if code is not None else None


def completion(bmps: list[Bmp] | None = None) -> bytes:
    return encode_apdu(0x06, 0x0F, encode_bmps(bmps or []))


def abort(code: int) -> bytes:
    return encode_apdu(0x06, 0x1E, bytes((code,)))


def _masked_pan(masked: str) -> bytes:
    """BMP 22: the PAN in BCD with E for each masked digit, F-padded to whole bytes."""
    digits = masked.replace("*", "E")
    return bytes.fromhex(digits + ("F" if len(digits) % 2 else ""))


def status_information(
    result: TransactionResult,
    code: int,
    terminal_id: int,
    vu_number: str = "",
    expiry: str = "",
) -> bytes:
    """04 0F after a payment: result code, amount, currency, trace and receipt numbers,
    date and time, the masked PAN, the card's expiry (YYMM), card name and type, terminal
    id, VU number (the
    merchant's contract number), the authorisation attribute (the auth code), and a TLV
    container with the online flag (1F11: 01 authorised online, 00 offline)."""
    when = datetime.fromtimestamp(result.time, timezone.utc)
    number = int(result.reference) if result.reference.isdigit() else 0
    amount = result.approved_amount if result.approved_amount else result.amount
    bmps: list[Bmp] = [
        (0x27, code),
        (0x04, amount),
        (0x49, by_alpha(result.currency).numeric),
        (0x0B, number % 1_000_000),  # trace number
        (0x0C, int(when.strftime("%H%M%S"))),
        (0x0D, int(when.strftime("%m%d"))),
    ]
    if result.masked_pan:
        bmps.append((0x22, _masked_pan(result.masked_pan)))
    if len(expiry) == 4 and expiry.isdigit():
        bmps.append((0x0E, int(expiry)))
    bmps.append((0x29, terminal_id))
    if vu_number:
        bmps.append((0x2A, vu_number.encode("ascii", "replace").ljust(15)[:15]))
    if result.auth_code:
        bmps.append((0x3B, result.auth_code.encode().ljust(8)[:8]))
    bmps += [(0x87, receipt_number(result.reference)), (0x88, number % 1_000_000)]
    if result.masked_pan:
        bmps += [(0x8A, 0x0A), (0x8B, b"VISA")]  # the catalogue's cards are Visa's (card type 10)
    online = b"\x00" if result.response_code == "Y1" else b"\x01"
    bmps.append((0x06, encode_tlv([(0x1F11, online)])))
    return encode_apdu(0x04, 0x0F, encode_bmps(bmps))


_DEBITS = (TransactionKind.SALE, TransactionKind.COMPLETION)


def end_of_day_information(settled: SettlementResponse, terminal_id: int, now: float) -> bytes:
    """04 0F after End-of-Day: the net turnover of the first currency (BMP 04) and the
    individual totals (BMP 60: receipt numbers from and to, then count and amount per card
    type: girocard, JCB, Eurocard, Amex, Visa, Diners, others; possim's cards are Visa's)."""
    when = datetime.fromtimestamp(now, timezone.utc)
    currency = settled.totals[0].currency if settled.totals else "EUR"
    debits = [t for t in settled.totals if t.currency == currency and t.kind in _DEBITS]
    credits = [
        t for t in settled.totals if t.currency == currency and t.kind is TransactionKind.REFUND
    ]
    count = sum(t.count for t in debits) + sum(t.count for t in credits)
    net = max(0, sum(t.total for t in debits) - sum(t.total for t in credits))
    slot = bytes((0,)) + bytes(6)
    visa = bytes((min(count, 255),)) + bytes.fromhex(f"{net:012d}")
    totals = bytes(4) + slot * 4 + visa + slot * 2
    bmps: list[Bmp] = [
        (0x27, 0x00),
        (0x04, net),
        (0x49, by_alpha(currency).numeric),
        (0x0C, int(when.strftime("%H%M%S"))),
        (0x0D, int(when.strftime("%m%d"))),
        (0x29, terminal_id),
        (0x60, totals),
    ]
    return encode_apdu(0x04, 0x0F, encode_bmps(bmps))


def print_text_block(receipt: Receipt) -> bytes:
    """06 D3 with a TLV container: print texts (25) holding the receipt type (1F07: 01
    merchant, 02 customer) and one text line (07) per line."""
    kind = b"\x01" if receipt.copy is ReceiptCopy.MERCHANT else b"\x02"
    lines = [(0x07, line.encode("ascii", "replace")) for line in receipt.lines]
    container = encode_tlv([(0x25, [(0x1F07, kind), *lines])])
    return encode_apdu(0x06, 0xD3, encode_bmps([(0x06, container)]))


def print_lines(lines: list[str]) -> list[bytes]:
    """06 D1 for each line of an administration receipt: an attribute byte (80 on the last
    line, 00 before it) and the text."""
    out = []
    for i, line in enumerate(lines):
        attribute = 0x80 if i == len(lines) - 1 else 0x00
        out.append(encode_apdu(0x06, 0xD1, bytes((attribute,)) + line.encode("ascii", "replace")))
    return out
