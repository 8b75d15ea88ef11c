"""The host's reading of an ISO 8583 request as an issuer request, and its answer, without I/O.

A transaction's reference in the host's ledger is the terminal id and the retrieval reference
number, ``TID:RRN``: every terminal's journal numbers its own transactions.
"""

from __future__ import annotations

from keys import EncryptedPinBlock
from protocols.acquirer.codec import (
    AcquirerFormatError,
    amount_block,
    ascii_digits,
    icc_response,
    parse_icc_request,
    parse_private,
)
from protocols.acquirer.spec import (
    ARQC_DATA,
    ARQC_DATA_CONTACTLESS,
    ENTRY_MODE_CODES,
    KIND_MESSAGES,
    MESSAGES,
    OFFLINE_ADVICE,
)
from protocols.codes import EntryMode, PinBlockFormat, TransactionKind
from protocols.currency import by_numeric
from protocols.errors import FieldError

from ..issuer import AuthorizationRequest, AuthorizationResponse, ChipData
from ..issuer.requests import PARTIALLY_APPROVED

__all__ = ["base_mti", "answer_mti", "request_of", "answer", "echo", "reference_of", "ECHOED"]

ECHOED = ("3", "4", "7", "11", "37", "41")
_ENTRY_MODES = {code[:2]: mode for mode, code in ENTRY_MODE_CODES.items()}


def base_mti(mti: str) -> str:
    """The MTI without its repeat mark: 0201 -> 0200."""
    return mti[:3] + "0" if mti.endswith("1") else mti


def answer_mti(mti: str) -> str:
    """The MTI of the answer to ``mti``; AcquirerFormatError if it is not four digits."""
    if len(mti) != 4 or not ascii_digits(mti):
        raise AcquirerFormatError(f"no answer to message type {mti!r}")
    spec = MESSAGES.get(base_mti(mti))
    if spec is not None and spec.answer:
        return spec.answer
    return f"{mti[:2]}{(int(mti[2]) + 1) % 10}0"  # the answer's class of an unknown request


def reference_of(doc: dict[str, str], rrn: str | None = None) -> str:
    """``TID:RRN`` of the transaction a message is about (or of ``rrn``)."""
    return f"{doc.get('41', '').strip()}:{doc['37'] if rrn is None else rrn}"


def _kind(doc: dict[str, str], sub: dict[str, str]) -> TransactionKind:
    if "TK" in sub:
        try:
            return TransactionKind(int(sub["TK"]))
        except ValueError:
            raise AcquirerFormatError(f"no kind {sub['TK']!r}", doc["t"], 48) from None
    mti = base_mti(doc["t"])
    if mti == "0100":
        return TransactionKind.PREAUTH
    return TransactionKind.REFUND if doc.get("3", "").startswith("20") else TransactionKind.SALE


def request_of(doc: dict[str, str], year_month: str) -> AuthorizationRequest:
    """The issuer request a 0100, 0200, 0220 or 0400 carries. ``year_month`` (YYYYMM) is the
    host's today, for the expiry check. AcquirerFormatError if a field is unusable."""
    mti = doc["t"]
    try:
        sub = parse_private(doc.get("48", ""))
        kind = _kind(doc, sub)
        # a sale the card approved offline travels as an advice (0220)
        offline = kind is TransactionKind.SALE and base_mti(mti) == OFFLINE_ADVICE[0]
        if KIND_MESSAGES[kind][0] != base_mti(mti) and not offline:
            raise AcquirerFormatError(f"a {kind.name.lower()} does not travel in {mti}", mti, 3)
        pan, expiry, track2 = doc.get("2", ""), doc.get("14", ""), doc.get("35", "")
        if track2 and not pan:
            pan, _, rest = track2.replace("=", "D").partition("D")
            expiry = rest[:4]
        original = sub.get("OR", "")
        return AuthorizationRequest(
            kind=kind,
            reference=reference_of(doc),
            pan=pan,
            pan_sequence=doc.get("23", "")[-2:],
            expiry=expiry,
            amount=int(doc["4"]),
            currency=by_numeric(int(doc["49"])).alpha,
            entry_mode=_ENTRY_MODES.get(doc.get("22", "")[:2], EntryMode.NONE),
            date=year_month,
            pin_block=_pin_block(doc, sub),
            chip=_chip(doc),
            original_reference=reference_of(doc, original) if original else "",
            allow_partial=sub.get("PA") == "1",
            track2=track2,
            offline_approval=offline,
        )
    except AcquirerFormatError as e:
        e.mti = mti
        raise
    except (KeyError, ValueError, FieldError) as e:
        raise AcquirerFormatError(f"{mti}: unusable field: {e}", mti) from None


def _chip(doc: dict[str, str]) -> ChipData | None:
    if "55" not in doc:
        return None
    contactless = doc.get("22", "")[:2] == ENTRY_MODE_CODES[EntryMode.TAP][:2]
    return ChipData(
        *parse_icc_request(doc["55"], ARQC_DATA_CONTACTLESS if contactless else ARQC_DATA)
    )


def _pin_block(doc: dict[str, str], sub: dict[str, str]) -> EncryptedPinBlock | None:
    if "52" in doc:
        block, block_format = doc["52"], PinBlockFormat.ISO_0
    elif "PB" in sub:
        block, block_format = sub["PB"], PinBlockFormat.ISO_4
    else:
        return None
    return EncryptedPinBlock(block_format, bytes.fromhex(block), bytes.fromhex(sub["KS"]))


def echo(doc: dict[str, str], code: str, *more: str) -> dict[str, str]:
    """An answer to ``doc`` with response code ``code``: the request's identity (and the
    fields ``more``) echoed where it had them."""
    fields = {f: doc[f] for f in (*ECHOED, *more) if f in doc}
    return {"t": answer_mti(doc["t"]), **fields, "39": code}


def answer(doc: dict[str, str], response: AuthorizationResponse) -> dict[str, str]:
    """The answer to an authorization, financial request, advice or reversal: the request's
    identity echoed, DE 39, the authorization code, the ARPC in DE 55; on a partial approval
    the approved amount in DE 4 and the requested one in DE 54 (amount type 57)."""
    out = echo(doc, response.response_code)
    if response.auth_code:
        out["38"] = response.auth_code
    if response.arpc:
        out["55"] = icc_response(response.arpc, response.response_code, response.scripts)
    if response.response_code == PARTIALLY_APPROVED:
        out["4"] = f"{response.approved_amount:012d}"
        out["54"] = amount_block("57", int(doc["49"]), int(doc["4"]))
    return out
