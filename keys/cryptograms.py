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

from .emv import (
    derive_icc_master_key,
    derive_secure_messaging_key,
    derive_session_key,
    generate_ac,
    generate_arpc_method1,
    script_mac,
)
from .errors import SecureElementError
from .mac import verify_mac

__all__ = ["CardKeys", "IssuerKeys"]


class CardKeys:
    """A card's application cryptogram key (session keys per ATC, EMV common derivation)
    and its secure messaging key for the issuer's script commands."""

    __slots__ = ("_icc_mk", "_icc_mk_smi")

    def __init__(self, icc_master_key: bytes, icc_smi_key: bytes = b"") -> None:
        self._icc_mk = icc_master_key
        self._icc_mk_smi = icc_smi_key

    def __repr__(self) -> str:
        return "CardKeys(<ICC MK>)"

    def cryptogram(self, atc: bytes, data: bytes) -> bytes:
        return generate_ac(derive_session_key(self._icc_mk, atc), data)

    def arpc_matches(self, atc: bytes, arqc: bytes, arpc: bytes, response_code: bytes) -> bool:
        """ARPC method 1, compared in constant time."""
        session_key = derive_session_key(self._icc_mk, atc)
        return verify_mac(generate_arpc_method1(session_key, arqc, response_code), arpc)

    def script_mac_matches(self, cryptogram: bytes, command: bytes, mac: bytes) -> bool:
        """An issuer script command's MAC (Book 2 9.2.1: over the header with Lc, the ATC,
        the card's last cryptogram and the data; ``command`` is all of that), constant time."""
        if not self._icc_mk_smi or len(mac) != 8:
            return False
        key = derive_secure_messaging_key(self._icc_mk_smi, cryptogram)
        return verify_mac(script_mac(key, command), mac)


class IssuerKeys:
    """The issuer's master keys for application cryptograms and for secure messaging (EMV
    option A/B derivation of each card's keys)."""

    __slots__ = ("_imk", "_imk_smi")

    def __init__(self, issuer_master_key: bytes, issuer_smi_key: bytes = b"") -> None:
        self._imk = issuer_master_key
        self._imk_smi = issuer_smi_key

    def __repr__(self) -> str:
        return "IssuerKeys(<IMK>)"

    def _session_key(self, pan: str, psn: str, atc: bytes) -> bytes:
        return derive_session_key(derive_icc_master_key(self._imk, pan, psn), atc)

    def verify_arqc(self, pan: str, psn: str, atc: bytes, data: bytes, arqc: bytes) -> bool:
        return verify_mac(generate_ac(self._session_key(pan, psn, atc), data), arqc)

    def arpc(self, pan: str, psn: str, atc: bytes, arqc: bytes, response_code: bytes) -> bytes:
        return generate_arpc_method1(self._session_key(pan, psn, atc), arqc, response_code)

    def script_mac(self, pan: str, psn: str, cryptogram: bytes, command: bytes) -> bytes:
        """The MAC that ends a script command for this card (see CardKeys.script_mac_matches)."""
        if not self._imk_smi:
            raise SecureElementError("this key set has no secure messaging key")
        icc_mk_smi = derive_icc_master_key(self._imk_smi, pan, psn)
        return script_mac(derive_secure_messaging_key(icc_mk_smi, cryptogram), command)
