"""Offline data authentication, the terminal's side (EMV 4.4 Book 3 10.3, Book 2 5 and 6):
choose CDA, DDA or SDA by the card's AIP, find the CA public key by RID and index, recover
the issuer's key and (DDA, CDA) the card's, check the signed static data or ask the card to
sign (INTERNAL AUTHENTICATE), and set the TVR and TSI bits each outcome calls for. CDA's
signature comes with GENERATE AC: :func:`check_cda` checks it there.

Every failure is a TVR bit and a line saying which check failed (``OdaResult.failure``);
nothing here raises for a card's bad data.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

from keys.mac import verify_mac
from keys.oda import (
    CertificateError,
    parse_cda_dynamic_data,
    recover_dynamic_data,
    recover_icc_key,
    recover_issuer_key,
    recover_static_data,
    transaction_data_hash,
)
from keys.rsa import RsaPublicKey
from protocols.apdu import CommandApdu, Ins
from protocols.tlv import build_dol_data, decode_tlv, encode_tlv, flatten, parse_dol
from protocols.tvr import Tsi, TsiBit, Tvr, TvrBit

from .reader import Apdu
from .settings import EmvSettings

__all__ = ["OdaMethod", "OdaResult", "authenticate", "check_cda", "CdaOutcome"]

DEFAULT_DDOL = bytes.fromhex("9F3704")  # the terminal's default DDOL: the unpredictable number


class OdaMethod(Enum):
    SDA = "SDA"
    DDA = "DDA"
    CDA = "CDA"


_FAILED_BIT = {
    OdaMethod.SDA: TvrBit.SDA_FAILED,
    OdaMethod.DDA: TvrBit.DDA_FAILED,
    OdaMethod.CDA: TvrBit.CDA_FAILED,
}


@dataclass
class OdaResult:
    """What ODA found: the method (None: not performed), the failure (empty: none so far),
    and for CDA the card's key, to check the signature GENERATE AC brings."""

    method: OdaMethod | None = None
    failure: str = ""
    icc_key: RsaPublicKey | None = None
    steps: list[str] = field(default_factory=list)  # what was checked, for traces and docs


def _choose(aip: bytes, supports_cda: bool) -> OdaMethod | None:
    first = aip[0] if aip else 0
    if first & 0x01 and supports_cda:
        return OdaMethod.CDA
    if first & 0x20:
        return OdaMethod.DDA
    if first & 0x40:
        return OdaMethod.SDA
    return None


def authenticate(
    apdu: Apdu,
    tags: dict[int, bytes],
    static_data: bytes | None,
    settings: EmvSettings,
    *,
    today: tuple[int, int],
    unpredictable_number: bytes,
    tvr: Tvr,
    tsi: Tsi,
    method: OdaMethod | None = None,
) -> OdaResult:
    """ODA for the card whose ``tags`` were read; ``static_data`` is the records the AFL
    marked (None: one of them was not a template 70, which fails ODA). ``method`` forces
    one (``possim oda`` checks a CDA card's DDA too); by default the AIP chooses."""
    method = method or _choose(tags.get(0x82, b""), settings.supports_cda)
    if method is None:
        tvr.set(TvrBit.ODA_NOT_PERFORMED)
        return OdaResult(steps=["the card supports no offline data authentication"])
    result = OdaResult(method)
    tsi.set(TsiBit.ODA_PERFORMED)
    if method is OdaMethod.SDA:
        tvr.set(TvrBit.SDA_SELECTED)
    try:
        _run(apdu, tags, static_data, settings, today, unpredictable_number, result)
    except _Missing as e:
        tvr.set(TvrBit.ICC_DATA_MISSING)
        tvr.set(_FAILED_BIT[method])
        result.failure = f"ICC data missing: {e}"
    except CertificateError as e:
        tvr.set(_FAILED_BIT[method])
        result.failure = str(e)
    if result.failure:
        result.steps.append(f"{method.value} failed: {result.failure}")
    return result


class _Missing(Exception):
    pass


def _need(tags: dict[int, bytes], tag: int, name: str) -> bytes:
    value = tags.get(tag)
    if not value:
        raise _Missing(f"{name} ({tag:X})")
    return value


def _with_static_data(tags: dict[int, bytes], static_data: bytes | None) -> bytes:
    if static_data is None:
        raise CertificateError("a record for offline authentication is not a template 70")
    tag_list = tags.get(0x9F4A)
    if tag_list is None:
        return static_data
    if tag_list != b"\x82":  # Book 3 10.3: only the AIP may be listed
        raise CertificateError("the static data authentication tag list names more than 82")
    return static_data + tags.get(0x82, b"")


def _run(
    apdu: Apdu,
    tags: dict[int, bytes],
    static_data: bytes | None,
    settings: EmvSettings,
    today: tuple[int, int],
    unpredictable_number: bytes,
    result: OdaResult,
) -> None:
    aid = tags.get(0x84) or tags.get(0x4F) or b""
    rid, index = aid[:5], _need(tags, 0x8F, "CA public key index")[0]
    ca = settings.ca_keys.get((rid, index))
    if ca is None:
        raise CertificateError(f"no CA public key {rid.hex().upper()} {index:02X}")
    result.steps.append(f"CA public key {rid.hex().upper()} {index:02X}: {ca.key.size * 8} bits")
    pan = _need(tags, 0x5A, "PAN").hex().upper().rstrip("F")
    revoked = {serial for r, i, serial in settings.revocations if (r, i) == (rid, index)}
    issuer = recover_issuer_key(
        ca.key,
        _need(tags, 0x90, "issuer public key certificate"),
        tags.get(0x92, b""),
        _need(tags, 0x9F32, "issuer public key exponent"),
        pan=pan,
        today=today,
        revoked=revoked,
    )
    result.steps.append(
        f"issuer certificate: issuer {issuer.issuer_id}, expires {issuer.expiry[:2]}/"
        f"{issuer.expiry[2:]}, serial {issuer.serial.hex().upper()}, key "
        f"{issuer.key.size * 8} bits: verified"
    )
    signed = _with_static_data(tags, static_data)
    if result.method is OdaMethod.SDA:
        dac = recover_static_data(issuer.key, _need(tags, 0x93, "signed static data"), signed)
        result.steps.append(f"signed static data: verified, data authentication code {dac.hex()}")
        return
    icc_key = recover_icc_key(
        issuer.key,
        _need(tags, 0x9F46, "ICC public key certificate"),
        tags.get(0x9F48, b""),
        _need(tags, 0x9F47, "ICC public key exponent"),
        pan=pan,
        static_data=signed,
        today=today,
    )
    result.steps.append(f"ICC certificate: {icc_key.size * 8}-bit key: verified")
    result.icc_key = icc_key
    if result.method is OdaMethod.CDA:
        return  # the signature comes with GENERATE AC
    ddol = parse_dol(tags.get(0x9F49, DEFAULT_DDOL))
    ddol_data = build_dol_data(ddol, {0x9F37: unpredictable_number})
    response = apdu(CommandApdu(0x00, Ins.INTERNAL_AUTHENTICATE, 0, 0, ddol_data, le=0))
    if not response.ok:
        raise CertificateError(f"INTERNAL AUTHENTICATE was refused ({response.sw:04X})")
    answer = flatten(decode_tlv(response.data))
    sdad = answer.get(0x80) or answer.get(0x9F4B)
    if not sdad:
        raise CertificateError("INTERNAL AUTHENTICATE gave no signed dynamic data")
    dynamic = recover_dynamic_data(icc_key, sdad, ddol_data)
    tags[0x9F4C] = dynamic[1 : 1 + dynamic[0]] if dynamic else b""
    result.steps.append(f"signed dynamic data: verified, ICC dynamic number {tags[0x9F4C].hex()}")


@dataclass(frozen=True)
class CdaOutcome:
    cid: int
    cryptogram: bytes
    failure: str = ""


def check_cda(
    icc_key: RsaPublicKey,
    response_items: list[tuple[int, bytes]],
    *,
    unpredictable_number: bytes,
    pdol_data: bytes,
    cdol_data: list[bytes],
) -> CdaOutcome:
    """A GENERATE AC answer in format 2 with 9F4B (Book 2 6.6.2): the signature recovers
    under the card's key, its CID matches 9F27, and its transaction data hash covers the
    PDOL and CDOL data and the answer's other data objects. The cryptogram is the one the
    signature carries (``failure`` empty), or none."""
    values = dict(response_items)
    cid = values.get(0x9F27, b"\x00")[0]
    sdad = values.get(0x9F4B)
    if sdad is None:
        return CdaOutcome(cid, b"", "GENERATE AC gave no signed dynamic data (9F4B)")
    try:
        dynamic = parse_cda_dynamic_data(recover_dynamic_data(icc_key, sdad, unpredictable_number))
    except CertificateError as e:
        return CdaOutcome(cid, b"", str(e))
    if dynamic.cid != cid:
        return CdaOutcome(cid, b"", "the signed CID differs from 9F27")
    others = encode_tlv([(t, v) for t, v in response_items if t != 0x9F4B])
    expected = transaction_data_hash(pdol_data, *cdol_data, others)
    if not verify_mac(expected, dynamic.transaction_hash):
        return CdaOutcome(cid, b"", "the transaction data hash does not match")
    return CdaOutcome(cid, dynamic.cryptogram)
