"""What a virtual card is personalised with, from its catalogue profile: its records (the
application data, and for ODA cards the certificates), its AFL, the static data its offline
data authentication covers, and its certificates from :mod:`keys.card_oda`.

An ODA card's AFL marks both records of SFI 2 for offline authentication and adds SFI 3,
whose records carry the certificates (they are not signed themselves); tag 9F4A asks for the
AIP to be signed too (EMV Book 3 10.3).

>>> from firmware_sim.catalogue import CATALOGUE
>>> from firmware_sim.testing import shipped_store
>>> data = personalise_card(CATALOGUE["dda"], shipped_store())
>>> data.afl.hex().upper(), sorted(data.records)
('1001020218010200', [(1, 1), (2, 1), (2, 2), (3, 1), (3, 2)])
>>> personalise_card(CATALOGUE["default"], shipped_store()).afl.hex()
'10010200'
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from keys import KeyStore
from keys.card_oda import CardCertificates, IccSigner, personalise
from protocols.tlv import Tlv, encode_tlv, first_object

from .catalogue import CDOL1, CDOL2, DDOL, OFFLINE_IACS, CardProfile, Oda, OdaFault

__all__ = ["CardData", "personalise_card"]

_ISSUER_SERIALS = {OdaFault.REVOKED_ISSUER_CERTIFICATE: bytes.fromhex("00000F")}
_ISSUER_EXPIRY = {OdaFault.EXPIRED_ISSUER_CERTIFICATE: "1220"}
_ICC_KEYS = {
    "dda": "emv-icc-dda",
    "cda": "emv-icc-cda",
    "oda-bad-signature": "emv-icc-oda-bad-signature",
    "oda-missing-data": "emv-icc-dda",
}


def _tlv(items: list[Any]) -> bytes:
    tlvs: list[Tlv] = items
    return encode_tlv(tlvs)


@dataclass(frozen=True)
class CardData:
    records: dict[tuple[int, int], bytes]
    afl: bytes
    aip: bytes
    signer: IccSigner | None  # DDA and CDA cards: the key that signs their dynamic data


def _application_records(p: CardProfile) -> dict[tuple[int, int], bytes]:
    expiry_date = bytes.fromhex(p.expiry + "31")
    risk: list[Tlv] = []
    if p.offline_limits is not None:
        default, denial, online = OFFLINE_IACS
        lower, upper = p.offline_limits
        risk = [
            (0x9F0D, default),
            (0x9F0E, denial),
            (0x9F0F, online),
            (0x9F14, bytes((lower,))),
            (0x9F23, bytes((upper,))),
        ]
    return {
        (1, 1): _tlv(
            [(0x70, [(0x61, [(0x4F, p.aid), (0x50, p.label.encode()), (0x87, b"\x01")])])]
        ),
        (2, 1): _tlv([(0x70, [(0x57, p.track2.encode()), (0x5F20, p.cardholder_name.encode())])]),
        (2, 2): _tlv(
            [
                (
                    0x70,
                    [
                        (0x5A, bytes.fromhex(p.pan + ("F" if len(p.pan) % 2 else ""))),
                        (0x5F24, expiry_date),
                        (0x5F34, bytes.fromhex(p.pan_sequence)),
                        (0x8C, CDOL1),
                        (0x8D, CDOL2),
                        (0x8E, bytes(8) + bytes((p.cvm.value, 0x00))),
                        (0x5F28, bytes.fromhex("0826")),
                        *risk,
                    ],
                )
            ]
        ),
    }


def _certificate_records(p: CardProfile, certs: CardCertificates) -> dict[tuple[int, int], bytes]:
    first: list[Tlv] = [
        (0x8F, bytes((certs.ca_index,))),
        (0x90, certs.issuer_certificate),
        (0x9F32, certs.issuer_exponent),
        (0x9F4A, b"\x82"),
    ]
    if certs.issuer_remainder:
        first.append((0x92, certs.issuer_remainder))
    if p.oda is Oda.SDA:
        second: list[Tlv] = [(0x93, certs.signed_static_data)]
    else:
        second = [(0x9F47, certs.icc_exponent), (0x9F49, DDOL)]
        if p.oda_fault is not OdaFault.MISSING_ICC_CERTIFICATE:
            second.insert(0, (0x9F46, certs.icc_certificate))
        if certs.icc_remainder:
            second.append((0x9F48, certs.icc_remainder))
    return {(3, 1): _tlv([(0x70, first)]), (3, 2): _tlv([(0x70, second)])}


def personalise_card(profile: CardProfile, store: KeyStore) -> CardData:
    """The card's records, AFL and AIP, and for DDA/CDA its signing key."""
    records = _application_records(profile)
    if profile.oda is Oda.NONE:
        return CardData(records, bytes.fromhex("10010200"), profile.aip, None)
    # SFI 2 (1 to 10): the value of each record's template 70 is signed; then the AIP (9F4A)
    static_data = b"".join(first_object(records[(2, n)])[1] for n in (1, 2))
    certs = personalise(
        store,
        pan=profile.pan,
        static_data=static_data + profile.aip,
        issuer_expiry=_ISSUER_EXPIRY.get(profile.oda_fault, "1230"),
        issuer_serial=_ISSUER_SERIALS.get(profile.oda_fault, bytes.fromhex("000001")),
        icc_key=None if profile.oda is Oda.SDA else _ICC_KEYS[profile.name],
    )
    records.update(_certificate_records(profile, certs))
    return CardData(records, bytes.fromhex("1001020218010200"), profile.aip, certs.signer)
