"""EMV cryptograms behind objects that keep their keys: the card's side (its ICC master key,
personalised from the issuer master key) and the issuer's side (the issuer master key).

>>> from keys import KeyStore
>>> store = KeyStore.load()
>>> card, issuer = store.card_keys("4761739001010010", "01"), store.issuer()
>>> atc, data = bytes.fromhex("0001"), bytes(29)
>>> arqc = card.cryptogram(atc, data)
>>> issuer.verify_arqc("4761739001010010", "01", atc, data, arqc)
True
>>> card.arpc_matches(atc, arqc, issuer.arpc("4761739001010010", "01", atc, arqc, b"00"), b"00")
True
"""

from __future__ import annotations

from .emv import derive_icc_master_key, derive_session_key, generate_ac, generate_arpc_method1
from .mac import verify_mac

__all__ = ["CardKeys", "IssuerKeys"]


class CardKeys:
    """A card's application cryptogram key. Session keys per ATC (EMV common derivation)."""

    __slots__ = ("_icc_mk",)

    def __init__(self, icc_master_key: bytes) -> None:
        self._icc_mk = icc_master_key

    def __repr__(self) -> str:
        return "CardKeys(<ICC MK>)"

    def cryptogram(self, atc: bytes, data: bytes) -> bytes:
        return generate_ac(derive_session_key(self._icc_mk, atc), data)

    def arpc_matches(self, atc: bytes, arqc: bytes, arpc: bytes, response_code: bytes) -> bool:
        """ARPC method 1, compared in constant time."""
        session_key = derive_session_key(self._icc_mk, atc)
        return verify_mac(generate_arpc_method1(session_key, arqc, response_code), arpc)


class IssuerKeys:
    """The issuer's master key for application cryptograms (EMV option A/B derivation)."""

    __slots__ = ("_imk",)

    def __init__(self, issuer_master_key: bytes) -> None:
        self._imk = issuer_master_key

    def __repr__(self) -> str:
        return "IssuerKeys(<IMK>)"

    def _session_key(self, pan: str, psn: str, atc: bytes) -> bytes:
        return derive_session_key(derive_icc_master_key(self._imk, pan, psn), atc)

    def verify_arqc(self, pan: str, psn: str, atc: bytes, data: bytes, arqc: bytes) -> bool:
        return verify_mac(generate_ac(self._session_key(pan, psn, atc), data), arqc)

    def arpc(self, pan: str, psn: str, atc: bytes, arqc: bytes, response_code: bytes) -> bytes:
        return generate_arpc_method1(self._session_key(pan, psn, atc), arqc, response_code)
