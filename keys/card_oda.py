"""Personalising a virtual card for offline data authentication: what the certification
authority and the issuer sign for it (its issuer certificate, its ICC certificate or its
signed static data), and the card's own signing key for DDA and CDA, which stays in here.

The test CA (RID A000000003, index E1), the issuer key and the ICC keys are the store's
(``emv-ca-a000000003-e1``, ``emv-issuer-rsa``, ``emv-icc-*``: TR-31 usage S0, algorithm R),
written deterministically by ``scripts/make_test_keys.py``; the CA's public key is in
``keys/data/ca-keys.test.txt`` for the terminal.

>>> from keys import KeyStore
>>> card = personalise(KeyStore.load(), pan="4761739001010127", static_data=b"records",
...                    issuer_expiry="1230", issuer_serial=bytes.fromhex("000001"))
>>> card.ca_index, len(card.issuer_certificate), len(card.signed_static_data)
(225, 176, 144)
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from .oda import icc_certificate, issuer_certificate, sign_dynamic_data, sign_static_data
from .rsa import RsaPrivateKey

if TYPE_CHECKING:
    from .keystore import KeyStore

__all__ = ["CardCertificates", "IccSigner", "personalise", "TEST_CA_RID", "TEST_CA_INDEX"]

TEST_CA_RID, TEST_CA_INDEX = bytes.fromhex("A000000003"), 0xE1
TEST_CA_KEY, ISSUER_KEY = "emv-ca-a000000003-e1", "emv-issuer-rsa"


class IccSigner:
    """The card's private key: it signs dynamic data (DDA's INTERNAL AUTHENTICATE, CDA)."""

    __slots__ = ("_key",)

    def __init__(self, key: RsaPrivateKey) -> None:
        self._key = key

    def __repr__(self) -> str:
        return "IccSigner(<ICC private key>)"

    def __reduce__(self) -> tuple[object, ...]:
        raise TypeError("a card's private key is not serialised")

    @property
    def size(self) -> int:
        return self._key.public.size

    def sign(self, icc_dynamic_data: bytes, terminal_data: bytes) -> bytes:
        return sign_dynamic_data(self._key, icc_dynamic_data, terminal_data)


@dataclass(frozen=True)
class CardCertificates:
    """The public data a card carries for ODA (tags 8F, 90, 92, 9F32, 93, 9F46-9F48)."""

    ca_index: int
    issuer_certificate: bytes
    issuer_remainder: bytes
    issuer_exponent: bytes
    signed_static_data: bytes = b""  # 93: SDA cards
    icc_certificate: bytes = b""  # 9F46: DDA and CDA cards
    icc_remainder: bytes = b""
    icc_exponent: bytes = b""
    signer: IccSigner | None = None


def personalise(
    store: KeyStore,
    *,
    pan: str,
    static_data: bytes,
    issuer_expiry: str,
    issuer_serial: bytes,
    icc_key: str | None = None,
    icc_expiry: str = "1228",
    dac: bytes = b"\x31\x32",
) -> CardCertificates:
    """A card's ODA data: SDA (signed static data) without ``icc_key``, else an ICC
    certificate for that key of the store (DDA and CDA). Dates are MMYY."""
    ca, issuer = store.rsa_key(TEST_CA_KEY), store.rsa_key(ISSUER_KEY)
    certificate, remainder = issuer_certificate(
        ca, issuer.public, issuer_id=pan[:6], expiry=issuer_expiry, serial=issuer_serial
    )
    common = CardCertificates(TEST_CA_INDEX, certificate, remainder, issuer.public.exponent_bytes)
    if icc_key is None:
        ssad = sign_static_data(issuer, dac, static_data)
        return replace(common, signed_static_data=ssad)
    icc = store.rsa_key(icc_key)
    icc_cert, icc_rest = icc_certificate(
        issuer,
        icc.public,
        pan=pan,
        expiry=icc_expiry,
        serial=bytes.fromhex("000001"),
        static_data=static_data,
    )
    return replace(
        common,
        icc_certificate=icc_cert,
        icc_remainder=icc_rest,
        icc_exponent=icc.public.exponent_bytes,
        signer=IccSigner(icc),
    )
