"""The virtual card's security commands, apart from its file system: GENERATE AC with the
card's own risk management (it may approve offline within its consecutive offline limits)
and CDA, INTERNAL AUTHENTICATE for DDA, and the issuer's script command PIN UNBLOCK under
secure messaging (EMV 4.4 Book 2 sections 6 and 9, Book 3 section 6.5).
"""

from __future__ import annotations

import hashlib
from typing import Any

from keys import CardKeys
from keys.oda import cda_dynamic_data, transaction_data_hash
from protocols.apdu import CommandApdu, Sw
from protocols.tlv import Tlv, encode_tlv, parse_dol

from .card_personalisation import CardData
from .catalogue import CDOL1, CDOL2, CardProfile, Oda, OdaFault

__all__ = ["CardSecurity", "AAC", "TC", "ARQC"]

AAC, TC, ARQC = 0x00, 0x40, 0x80  # cryptogram types (P1 of GENERATE AC, CID)
CDA_REQUESTED = 0x10  # P1 bit: combined DDA/application cryptogram generation
IAD = bytes.fromhex("06010A03A00000")  # issuer application data (9F10)


def _un_in(dol: bytes, data: bytes) -> bytes:
    """The unpredictable number (9F37) inside ``data`` built from ``dol``."""
    pos = 0
    for tag, size in parse_dol(dol):
        if tag == 0x9F37:
            return data[pos : pos + size]
        pos += size
    return b""


def _tlv(items: list[Any]) -> bytes:
    tlvs: list[Tlv] = items
    return encode_tlv(tlvs)


class CardSecurity:
    """Mixed into :class:`~firmware_sim.cards.VirtualCard`, whose state it shares."""

    profile: CardProfile
    atc: int
    pin_tries: int
    last_online_atc: int
    offline_count: int
    _session: dict[str, bytes]
    _keys: CardKeys
    _cryptogram: bytes
    _personalised: CardData

    def _card_decision(self, requested: int) -> int:
        """Card action analysis (Book 3 10.8, simplified): what the card answers with."""
        if requested == AAC or self.profile.declines_offline:
            return AAC
        if requested == ARQC:
            return ARQC
        limits = self.profile.offline_limits
        if limits is None or self.offline_count >= limits[1] or self.pin_tries == 0:
            return ARQC  # no offline ability, over its upper limit, or its PIN is blocked
        return TC

    def _generate_ac(self, apdu: CommandApdu) -> tuple[bytes, int]:
        if "pdol" not in self._session:
            return b"", Sw.CONDITIONS_OF_USE_NOT_SATISFIED
        atc = self.atc.to_bytes(2, "big")
        requested = apdu.p1 & 0xC0
        aip = self._personalised.aip
        first = "cdol1" not in self._session
        if first:
            if len(apdu.data) != sum(n for _, n in parse_dol(CDOL1)):
                return b"", Sw.WRONG_LENGTH
            cid = self._card_decision(requested)
            self._session["cdol1"] = apdu.data
            if cid == ARQC:
                self._session["arqc"] = b""
            elif cid == TC:
                self.offline_count += 1
        else:  # second GENERATE AC: check the issuer's ARPC, then TC or AAC
            if "arqc" not in self._session:
                return b"", Sw.CONDITIONS_OF_USE_NOT_SATISFIED
            if len(apdu.data) != sum(n for _, n in parse_dol(CDOL2)):
                return b"", Sw.WRONG_LENGTH
            arc, issuer_auth = apdu.data[:2], apdu.data[2:12]
            genuine = issuer_auth[8:10] == arc and self._keys.arpc_matches(
                atc, self._session["arqc"], issuer_auth[:8], arc
            )
            if genuine:  # the issuer has seen the card: its offline counters start again
                self.last_online_atc, self.offline_count = self.atc, 0
            approve = genuine and arc in (b"00", b"10") and requested == TC  # 10: partial
            cid = TC if approve else AAC
        cryptogram = self._keys.cryptogram(atc, apdu.data + aip + atc)
        if first and cid == ARQC:
            self._session["arqc"] = self._cryptogram = cryptogram
        cda = bool(apdu.p1 & CDA_REQUESTED) and self.profile.oda is Oda.CDA and cid != AAC
        answer = self._cda_answer(apdu, cid, atc, cryptogram, second=not first) if cda else None
        if cid != ARQC or not first:
            self._session.clear()  # the transaction is over for the card
        if answer is not None:
            return answer, Sw.OK
        return _tlv([(0x80, bytes((cid,)) + atc + cryptogram + IAD)]), Sw.OK

    def _cda_answer(
        self, apdu: CommandApdu, cid: int, atc: bytes, cryptogram: bytes, *, second: bool
    ) -> bytes:
        """Format 2 with the signed dynamic data (9F4B) carrying the cryptogram (Book 2
        6.6.1): the hash covers the PDOL data, CDOL1 (and CDOL2) data and the answer's other
        data objects, in order."""
        plain = [(0x9F27, bytes((cid,))), (0x9F36, atc), (0x9F10, IAD)]
        parts = [self._session["pdol"][2:], self._session["cdol1"]]
        if second:
            parts.append(apdu.data)
        digest = transaction_data_hash(*parts, _tlv(plain))
        un = _un_in(CDOL2 if second else CDOL1, apdu.data)
        dynamic = cda_dynamic_data(self._dynamic_number(un), cid, cryptogram, digest)
        signature = self._sign(dynamic, un)
        return _tlv([(0x77, [plain[0], plain[1], (0x9F4B, signature), plain[2]])])

    def _dynamic_number(self, terminal_data: bytes) -> bytes:
        """The ICC dynamic number: eight bytes that change with every ATC."""
        seed = f"{self.profile.pan}:{self.atc}".encode() + terminal_data
        return hashlib.sha256(seed).digest()[:8]

    def _sign(self, dynamic_data: bytes, terminal_data: bytes) -> bytes:
        signer = self._personalised.signer
        assert signer is not None
        signature = signer.sign(dynamic_data, terminal_data)
        if self.profile.oda_fault is OdaFault.BAD_SIGNATURE:  # a card that signs wrongly
            signature = signature[:-1] + bytes((signature[-1] ^ 0x01,))
        return signature

    def _internal_authenticate(self, apdu: CommandApdu) -> tuple[bytes, int]:
        """DDA (Book 2 6.5): sign the terminal's DDOL data with a fresh dynamic number."""
        if self._personalised.signer is None:
            return b"", Sw.INS_NOT_SUPPORTED
        if "pdol" not in self._session:
            return b"", Sw.CONDITIONS_OF_USE_NOT_SATISFIED
        if not apdu.data:
            return b"", Sw.WRONG_LENGTH
        number = self._dynamic_number(apdu.data)
        signature = self._sign(bytes((len(number),)) + number, apdu.data)
        return _tlv([(0x80, signature)]), Sw.OK

    def _pin_unblock(self, apdu: CommandApdu) -> tuple[bytes, int]:
        """PIN CHANGE/UNBLOCK, unblock only (P2 00), from an issuer script: its MAC (the last
        8 bytes) covers the header with Lc, the ATC, the card's last ARQC and any data."""
        if apdu.cla != 0x84:
            return b"", Sw.SECURITY_STATUS_NOT_SATISFIED  # only under secure messaging
        if apdu.p1 != 0 or apdu.p2 != 0:
            return b"", Sw.INCORRECT_P1_P2
        if not self._cryptogram or len(apdu.data) < 8:
            return b"", Sw.CONDITIONS_OF_USE_NOT_SATISFIED
        plain, mac = apdu.data[:-8], apdu.data[-8:]
        header = bytes((apdu.cla, apdu.ins, apdu.p1, apdu.p2, len(apdu.data)))
        signed = header + self.atc.to_bytes(2, "big") + self._cryptogram + plain
        if not self._keys.script_mac_matches(self._cryptogram, signed, mac):
            return b"", Sw.SECURE_MESSAGING_DATA_INCORRECT
        self.pin_tries = self.profile.pin_try_limit
        return b"", Sw.OK
