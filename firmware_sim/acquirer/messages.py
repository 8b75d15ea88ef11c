"""The terminal's ISO 8583 messages: an authorization request as a message, the answer as an
authorization response, the reversal advice and the reconciliation. No I/O: the time and the
STAN are passed in.

>>> from protocols.codes import EntryMode, TransactionKind
>>> request = AuthorizationRequest(TransactionKind.SALE, "000000000001", "4761739001010010",
...     "01", "2712", 1234, "EUR", EntryMode.CHIP, "202611")
>>> doc = request_doc(request, Identity("POSSIM01", "MERCHANT0000001"), "000042", 1.764e9)
>>> doc["t"], doc["3"], doc["4"], doc["22"], doc["48"], doc["49"]
('0200', '000000', '000000001234', '051', 'TK0011', '978')
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone

from protocols.acquirer.codec import (
    AcquirerFormatError,
    icc_request,
    original_data,
    parse_amounts,
    parse_icc_response,
    private,
)
from protocols.acquirer.spec import (
    ARQC_DATA,
    ARQC_DATA_CONTACTLESS,
    ENTRY_MODE_CODES,
    MESSAGES,
    message_type,
)
from protocols.codes import EntryMode, PinBlockFormat, TransactionKind
from protocols.currency import by_alpha

from ..issuer import AuthorizationRequest, AuthorizationResponse

__all__ = [
    "Identity",
    "Sent",
    "request_doc",
    "reversal_doc",
    "sign_on_doc",
    "reconciliation_doc",
    "response_of",
    "answers",
    "transmission_time",
]

_PREAUTH_FAMILY = {TransactionKind.PREAUTH, TransactionKind.INCREMENT, TransactionKind.COMPLETION}


@dataclass(frozen=True)
class Identity:
    """Who the terminal is to its acquirer: DE 41 and DE 42."""

    terminal_id: str
    merchant_id: str


@dataclass(frozen=True)
class Sent:
    """What a reversal of a request needs to know of it (kept before the request goes)."""

    reference: str
    mti: str
    stan: str
    transmitted: str  # DE 7
    kind: int
    processing_code: str
    amount: int
    currency: str


def transmission_time(now: float) -> str:
    """DE 7, MMDDhhmmss in UTC."""
    return datetime.fromtimestamp(now, timezone.utc).strftime("%m%d%H%M%S")


def _common(identity: Identity, stan: str, now: float) -> dict[str, str]:
    when = datetime.fromtimestamp(now, timezone.utc)
    return {
        "7": when.strftime("%m%d%H%M%S"),
        "11": stan,
        "12": when.strftime("%H%M%S"),
        "13": when.strftime("%m%d"),
        "41": identity.terminal_id.ljust(8)[:8],
        "42": identity.merchant_id.ljust(15)[:15],
    }


def request_doc(
    request: AuthorizationRequest,
    identity: Identity,
    stan: str,
    now: float,
    original: Sent | None = None,
) -> dict[str, str]:
    """The 0100, 0200, 0220 or 0400 that asks for ``request``; a 0400 names the request of
    its ``original`` in DE 90 (zeros when the terminal never sent it one)."""
    mti, processing_code = message_type(request.kind, request.offline_approval)
    doc = {
        "t": mti,
        "3": processing_code,
        "4": f"{request.amount:012d}",
        **_common(identity, stan, now),
        "37": request.reference,
        "49": f"{by_alpha(request.currency).numeric:03d}",
    }
    if mti in ("0100", "0200"):
        doc["22"] = ENTRY_MODE_CODES[request.entry_mode]
    if request.kind in _PREAUTH_FAMILY:
        doc["25"] = "06"
    pin = request.pin_block
    sub = {
        "TK": str(int(request.kind)),
        "OR": request.original_reference,
        "KS": pin.ksn.hex().upper() if pin is not None else "",
        "PF": str(int(pin.format)) if pin is not None else "",
        "PB": pin.pin_block.hex().upper() if pin and pin.format is PinBlockFormat.ISO_4 else "",
        "PA": "1" if request.allow_partial else "",
    }
    doc["48"] = private(**sub)
    if pin is not None and pin.format is PinBlockFormat.ISO_0:
        doc["52"] = pin.pin_block.hex().upper()
    if request.track2:
        doc["35"] = request.track2
    elif request.pan:
        doc["2"], doc["14"] = request.pan, request.expiry
    if request.pan_sequence and request.chip is not None:
        doc["23"] = request.pan_sequence.rjust(3, "0")
    if request.chip is not None:
        layout = ARQC_DATA_CONTACTLESS if request.entry_mode is EntryMode.TAP else ARQC_DATA
        doc["55"] = icc_request(request.chip.data, request.chip.arqc, layout)
    if mti == "0400":
        if original is not None:
            doc["90"] = original_data(original.mti, original.stan, original.transmitted)
        else:
            doc["90"] = original_data("0000", "000000", "0000000000")
    return doc


def reversal_doc(sent: Sent, identity: Identity, stan: str, now: float) -> dict[str, str]:
    """The 0420 that undoes what ``sent`` asked for."""
    return {
        "t": "0420",
        "3": sent.processing_code,
        "4": f"{sent.amount:012d}",
        **_common(identity, stan, now),
        "37": sent.reference,
        "48": private(TK=str(sent.kind)),
        "49": f"{by_alpha(sent.currency).numeric:03d}",
        "90": original_data(sent.mti, sent.stan, sent.transmitted),
    }


def sign_on_doc(identity: Identity, stan: str, now: float, code: str = "001") -> dict[str, str]:
    common = _common(identity, stan, now)
    return {"t": "0800", "7": common["7"], "11": stan, "41": common["41"], "70": code}


def reconciliation_doc(
    identity: Identity,
    stan: str,
    now: float,
    batch: int,
    currency: str,
    totals: tuple[int, int, int, int],
) -> dict[str, str]:
    """0500 of one currency: ``totals`` is credits (number, amount), debits (number, amount)."""
    common = _common(identity, stan, now)
    numeric = f"{by_alpha(currency).numeric:03d}"
    credits, credit_total, debits, debit_total = totals
    return {
        "t": "0500",
        "7": common["7"],
        "11": stan,
        "15": common["13"],
        "41": common["41"],
        "42": common["42"],
        "48": private(BN=str(batch)),
        "50": numeric,
        "74": f"{credits:010d}",
        "76": f"{debits:010d}",
        "86": f"{credit_total:016d}",
        "88": f"{debit_total:016d}",
    }


def answers(request: dict[str, str], answer: dict[str, str]) -> bool:
    """``answer`` is the answer to ``request``: its MTI, and the STAN, terminal id and
    reference echoed (a format error's answer, which may echo nothing, matches by MTI)."""
    base = request["t"][:3] + "0"
    if answer.get("t") != MESSAGES[base].answer:
        return False
    return all(answer.get(f, request.get(f)) == request.get(f) for f in ("11", "37", "41"))


def response_of(request: AuthorizationRequest, answer: dict[str, str]) -> AuthorizationResponse:
    """The issuer's answer as the terminal's core takes it."""
    code = answer["39"]
    approved_amount = request.amount
    if code == "10":
        try:
            approved_amount = int(answer["4"])
            parse_amounts(answer.get("54", ""))
        except (KeyError, ValueError, AcquirerFormatError):
            code, approved_amount = "96", 0  # a partial approval without its amount
    arpc, scripts = parse_icc_response(answer["55"]) if "55" in answer else (b"", b"")
    return AuthorizationResponse(code, answer.get("38", ""), arpc, approved_amount, scripts)
