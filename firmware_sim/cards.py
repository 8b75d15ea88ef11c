"""The virtual EMV card: a pure card OS (APDU in, response out) with its own keys, PIN try
counter and application transaction counter; its profiles are :mod:`.catalogue`'s.

The card answers the standard EMV contact reads: SELECT of the PSE and of its AID, GET
PROCESSING OPTIONS, READ RECORD per its AFL, GET DATA (ATC 9F36, PIN try counter 9F17),
VERIFY of a plaintext offline PIN, and GENERATE AC (ARQC, then TC or AAC after checking the
issuer's ARPC, method 1).

>>> card = VirtualCard(CATALOGUE["default"])
>>> card.power_on().hex().upper()
'3B6800000073C84013009000'
>>> ResponseApdu.decode(card.execute(bytes.fromhex("00A404000E315041592E5359532E444446303100"))).sw
36864
"""

from __future__ import annotations

import functools
from typing import Any

from keys import CardKeys, KeyStore
from keys.pin import Pin
from protocols.apdu import CommandApdu, Ins, ResponseApdu, Sw
from protocols.codes import EntryMode
from protocols.tlv import Tlv, decode_tlv, encode_tlv, flatten

from .card_personalisation import CardData, personalise_card
from .card_security import CardSecurity
from .catalogue import CATALOGUE, PDOL, PPSE, PSE, CardProfile, Cvm

__all__ = [
    "Cvm",
    "CardProfile",
    "CATALOGUE",
    "VirtualCard",
    "PSE",
    "PPSE",
    "card_data",
]


def _tlv(items: list[Any]) -> bytes:
    tlvs: list[Tlv] = items
    return encode_tlv(tlvs)


# the card OS's instruction table: INS -> the method that runs it
_INSTRUCTIONS: dict[int, str] = {
    Ins.SELECT: "_select",
    Ins.READ_RECORD: "_read_record",
    Ins.GET_PROCESSING_OPTIONS: "_gpo",
    Ins.GET_DATA: "_get_data",
    Ins.VERIFY: "_verify",
    Ins.GENERATE_AC: "_generate_ac",
    Ins.INTERNAL_AUTHENTICATE: "_internal_authenticate",
    Ins.PIN_CHANGE_UNBLOCK: "_pin_unblock",
}


class VirtualCard(CardSecurity):
    """The card OS. No I/O: ``execute(apdu) -> response``; the reader feeds it. Its ICC
    master key is personalised from the issuer master key of ``store`` (default: the shipped
    test keys); it holds only that key, behind :class:`keys.CardKeys`."""

    def __init__(self, profile: CardProfile, store: KeyStore | None = None) -> None:
        self.profile = profile
        self.pin_tries = profile.pin_tries
        self.atc = 0
        self._selected = b""
        self._session: dict[str, bytes] = {}
        self._pending = b""  # T=0: the answer waiting for GET RESPONSE
        self._pin = Pin(profile.pin)
        self.last_online_atc = 0  # 9F13: the ATC when the card last went online
        self.offline_count = 0  # transactions approved offline since then
        self._cryptogram = b""  # the last ARQC: script commands are MACed against it
        self._store = store or KeyStore.load()
        self._keys: CardKeys = self._store.card_keys(profile.pan, profile.pan_sequence)
        # records, AFL, AIP and signing key, built once: a card's records do not change
        self._personalised: CardData = personalise_card(profile, self._store)

    def __repr__(self) -> str:
        return f"VirtualCard({self.profile.name!r}, atc={self.atc}, pin_tries={self.pin_tries})"

    def power_on(self) -> bytes:
        """Answer to reset (T=1, historical bytes of a test card)."""
        self._selected = b""
        self._session = {}
        return bytes.fromhex("3B6800000073C84013009000")

    def execute(self, raw: bytes) -> bytes:
        if self.profile.chip_broken:
            return ResponseApdu(b"", 0x6F00).encode()  # no precise diagnosis
        try:
            apdu = CommandApdu.decode(raw)
        except Exception:
            return ResponseApdu(b"", Sw.WRONG_LENGTH).encode()
        if self.profile.t0 and apdu.ins == Ins.GET_RESPONSE:
            pending, self._pending = self._pending, b""
            if not pending or apdu.le not in (len(pending) & 0xFF,):
                return ResponseApdu(b"", Sw.WRONG_LENGTH).encode()
            return ResponseApdu(pending, Sw.OK).encode()
        name = _INSTRUCTIONS.get(apdu.ins)
        handler = getattr(self, name) if name is not None else None
        if handler is None:
            return ResponseApdu(b"", Sw.INS_NOT_SUPPORTED).encode()
        data, sw = handler(apdu)
        if self.profile.t0 and data and sw == Sw.OK:
            # T=0 (ISO 7816-3): a command with data gets 61xx and the answer on GET RESPONSE;
            # one without data but with the wrong Le gets 6Cxx and must be sent again
            if apdu.data:
                self._pending = data
                return bytes((0x61, len(data) & 0xFF))
            if apdu.le is not None and apdu.le != len(data) & 0xFF:
                return bytes((0x6C, len(data) & 0xFF))
        return ResponseApdu(data, sw).encode()

    # --- instructions ---------------------------------------------------------------------

    def _select(self, apdu: CommandApdu) -> tuple[bytes, int]:
        key = (apdu.data, frozenset(self.profile.interfaces))
        answer = self._fci_cache.get(key)
        if answer is None:
            answer = self._fci_cache[key] = self._select_fci(apdu)
        if answer[1] == Sw.OK:
            self._selected = {PSE: PSE, PPSE: PPSE}.get(apdu.data, self.profile.aid)
        return answer

    @functools.cached_property
    def _fci_cache(self) -> dict[tuple[bytes, frozenset[EntryMode]], tuple[bytes, int]]:
        return {}

    def _select_fci(self, apdu: CommandApdu) -> tuple[bytes, int]:
        """The answer to a SELECT (the same every time for the same name)."""
        p = self.profile
        if apdu.data == PSE:
            fci = [(0x6F, [(0x84, PSE), (0xA5, [(0x88, b"\x01"), (0x5F2D, p.language.encode())])])]
            return _tlv(fci), Sw.OK
        if apdu.data == PPSE and EntryMode.TAP in p.interfaces:
            entry = [(0x61, [(0x4F, p.aid), (0x50, p.label.encode()), (0x87, b"\x01")])]
            return _tlv([(0x6F, [(0x84, PPSE), (0xA5, [(0xBF0C, entry)])])]), Sw.OK
        chip_or_tap = p.interfaces & {EntryMode.CHIP, EntryMode.TAP}
        if apdu.data and p.aid.startswith(apdu.data) and chip_or_tap:
            fci = [
                (
                    0x6F,
                    [
                        (0x84, p.aid),
                        (
                            0xA5,
                            [
                                (0x50, p.label.encode()),
                                (0x87, b"\x01"),
                                (0x9F38, PDOL),
                                (0x5F2D, p.language.encode()),
                            ],
                        ),
                    ],
                )
            ]
            return _tlv(fci), Sw.OK
        return b"", Sw.FILE_NOT_FOUND

    def _read_record(self, apdu: CommandApdu) -> tuple[bytes, int]:
        sfi = apdu.p2 >> 3
        if apdu.p2 & 0x07 != 0x04:
            return b"", Sw.INCORRECT_P1_P2
        if sfi == 1 and self._selected != PSE or sfi > 1 and self._selected != self.profile.aid:
            return b"", Sw.CONDITIONS_OF_USE_NOT_SATISFIED
        record = self._personalised.records.get((sfi, apdu.p1))
        return (record, Sw.OK) if record else (b"", Sw.RECORD_NOT_FOUND)

    def _gpo(self, apdu: CommandApdu) -> tuple[bytes, int]:
        if self._selected != self.profile.aid:
            return b"", Sw.CONDITIONS_OF_USE_NOT_SATISFIED
        if self.atc >= 0xFFFF:
            return b"", Sw.CONDITIONS_OF_USE_NOT_SATISFIED
        self.atc += 1
        self._session = {"pdol": apdu.data}
        self._cryptogram = b""
        afl, aip = self._personalised.afl, self._personalised.aip
        pdol_data = apdu.data[2:]
        ttq = pdol_data[:4]
        if any(ttq) and EntryMode.TAP in self.profile.interfaces:
            # contactless (a simplified qVSDC path): the cryptogram comes with GPO, over the
            # PDOL data, the AIP and the ATC; there is no second GENERATE AC
            atc = self.atc.to_bytes(2, "big")
            cryptogram = self._keys.cryptogram(atc, pdol_data + aip + atc)
            cid = b"\x00" if self.profile.declines_offline else b"\x80"
            self._session.clear()
            template = [
                (0x82, aip),
                (0x94, afl),
                (0x9F36, atc),
                (0x9F26, cryptogram),
                (0x9F27, cid),
                (0x9F10, bytes.fromhex("06010A03A00000")),
            ]
            return _tlv([(0x77, template)]), Sw.OK
        return _tlv([(0x80, aip + afl)]), Sw.OK

    def _get_data(self, apdu: CommandApdu) -> tuple[bytes, int]:
        tag = apdu.p1 << 8 | apdu.p2
        if tag == 0x9F36:
            return _tlv([(0x9F36, self.atc.to_bytes(2, "big"))]), Sw.OK
        if tag == 0x9F17:
            return _tlv([(0x9F17, bytes((self.pin_tries,)))]), Sw.OK
        if tag == 0x9F13:  # last online ATC register, for the terminal's velocity checking
            return _tlv([(0x9F13, self.last_online_atc.to_bytes(2, "big"))]), Sw.OK
        return b"", Sw.REFERENCED_DATA_NOT_FOUND

    def _verify(self, apdu: CommandApdu) -> tuple[bytes, int]:
        if apdu.p2 != 0x80:  # only the plaintext PIN (EMV Book 3 6.5.12)
            return b"", Sw.INCORRECT_P1_P2
        if self.pin_tries == 0:
            return b"", Sw.AUTHENTICATION_METHOD_BLOCKED
        field_hex = apdu.data.hex().upper()
        length = int(field_hex[1], 16) if len(field_hex) == 16 and field_hex[0] == "2" else 0
        digits = field_hex[2 : 2 + length]
        if not 4 <= length <= 12 or not digits.isdigit():
            return b"", Sw.WRONG_DATA
        if Pin(digits).matches(self._pin):
            self.pin_tries = self.profile.pin_try_limit
            self._session["pin_verified"] = b"\x01"
            return b"", Sw.OK
        self.pin_tries -= 1
        return b"", 0x63C0 | self.pin_tries


def card_data(records: list[bytes]) -> dict[int, bytes]:
    """All primitive tags of a list of record responses."""
    out: dict[int, bytes] = {}
    for record in records:
        for tag, value in flatten(decode_tlv(record)).items():
            out.setdefault(tag, value)
    return out
