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
from protocols.tlv import Tlv, decode_tlv, encode_tlv, flatten, parse_dol

from .catalogue import AIP, CATALOGUE, CDOL1, CDOL2, PDOL, PPSE, PSE, CardProfile, Cvm

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


class VirtualCard:
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
        store = store or KeyStore.load()
        self._keys: CardKeys = store.card_keys(profile.pan, profile.pan_sequence)

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
        handler = {
            Ins.SELECT: self._select,
            Ins.READ_RECORD: self._read_record,
            Ins.GET_PROCESSING_OPTIONS: self._gpo,
            Ins.GET_DATA: self._get_data,
            Ins.VERIFY: self._verify,
            Ins.GENERATE_AC: self._generate_ac,
        }.get(apdu.ins)  # type: ignore[call-overload]
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

    @functools.cached_property
    def _static_records(self) -> dict[tuple[int, int], bytes]:
        """The records, built once: a card's records do not change."""
        return self._records()

    def _records(self) -> dict[tuple[int, int], bytes]:
        p = self.profile
        expiry_date = bytes.fromhex(p.expiry + "31")
        return {
            (1, 1): _tlv(
                [(0x70, [(0x61, [(0x4F, p.aid), (0x50, p.label.encode()), (0x87, b"\x01")])])]
            ),
            (2, 1): _tlv(
                [(0x70, [(0x57, p.track2.encode()), (0x5F20, p.cardholder_name.encode())])]
            ),
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
                        ],
                    )
                ]
            ),
        }

    def _read_record(self, apdu: CommandApdu) -> tuple[bytes, int]:
        sfi = apdu.p2 >> 3
        if apdu.p2 & 0x07 != 0x04:
            return b"", Sw.INCORRECT_P1_P2
        if sfi == 1 and self._selected != PSE or sfi == 2 and self._selected != self.profile.aid:
            return b"", Sw.CONDITIONS_OF_USE_NOT_SATISFIED
        record = self._static_records.get((sfi, apdu.p1))
        return (record, Sw.OK) if record else (b"", Sw.RECORD_NOT_FOUND)

    def _gpo(self, apdu: CommandApdu) -> tuple[bytes, int]:
        if self._selected != self.profile.aid:
            return b"", Sw.CONDITIONS_OF_USE_NOT_SATISFIED
        if self.atc >= 0xFFFF:
            return b"", Sw.CONDITIONS_OF_USE_NOT_SATISFIED
        self.atc += 1
        self._session = {"pdol": apdu.data}
        afl = bytes.fromhex("10010200")  # SFI 2, records 1 to 2, none for offline auth
        pdol_data = apdu.data[2:]
        ttq = pdol_data[:4]
        if any(ttq) and EntryMode.TAP in self.profile.interfaces:
            # contactless (a simplified qVSDC path): the cryptogram comes with GPO, over the
            # PDOL data, the AIP and the ATC; there is no second GENERATE AC
            atc = self.atc.to_bytes(2, "big")
            cryptogram = self._keys.cryptogram(atc, pdol_data + AIP + atc)
            cid = b"\x00" if self.profile.declines_offline else b"\x80"
            self._session.clear()
            template = [
                (0x82, AIP),
                (0x94, afl),
                (0x9F36, atc),
                (0x9F26, cryptogram),
                (0x9F27, cid),
                (0x9F10, bytes.fromhex("06010A03A00000")),
            ]
            return _tlv([(0x77, template)]), Sw.OK
        return _tlv([(0x80, AIP + afl)]), Sw.OK

    def _get_data(self, apdu: CommandApdu) -> tuple[bytes, int]:
        tag = apdu.p1 << 8 | apdu.p2
        if tag == 0x9F36:
            return _tlv([(0x9F36, self.atc.to_bytes(2, "big"))]), Sw.OK
        if tag == 0x9F17:
            return _tlv([(0x9F17, bytes((self.pin_tries,)))]), Sw.OK
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
            self.pin_tries = self.profile.pin_tries
            self._session["pin_verified"] = b"\x01"
            return b"", Sw.OK
        self.pin_tries -= 1
        return b"", 0x63C0 | self.pin_tries

    def _generate_ac(self, apdu: CommandApdu) -> tuple[bytes, int]:
        if "pdol" not in self._session:
            return b"", Sw.CONDITIONS_OF_USE_NOT_SATISFIED
        atc = self.atc.to_bytes(2, "big")
        requested = apdu.p1 & 0xC0
        if "arqc" not in self._session:  # first GENERATE AC
            if len(apdu.data) != sum(n for _, n in parse_dol(CDOL1)):
                return b"", Sw.WRONG_LENGTH
            # ARQC: this card goes online unless it is one that declines offline
            cid = 0x80 if requested in (0x80, 0x40) and not self.profile.declines_offline else 0x00
            cryptogram = self._keys.cryptogram(atc, apdu.data + AIP + atc)
            if cid == 0x80:
                self._session["arqc"] = cryptogram
        else:  # second GENERATE AC: check the issuer's ARPC, then TC or AAC
            if len(apdu.data) != sum(n for _, n in parse_dol(CDOL2)):
                return b"", Sw.WRONG_LENGTH
            arc, issuer_auth = apdu.data[:2], apdu.data[2:12]
            genuine = issuer_auth[8:10] == arc and self._keys.arpc_matches(
                atc, self._session["arqc"], issuer_auth[:8], arc
            )
            approve = genuine and arc in (b"00", b"10") and requested == 0x40  # 10: partial
            cid = 0x40 if approve else 0x00
            cryptogram = self._keys.cryptogram(atc, apdu.data + AIP + atc)
            self._session.clear()  # the transaction is over for the card
        iad = bytes.fromhex("06010A03A00000")
        return _tlv([(0x80, bytes((cid,)) + atc + cryptogram + iad)]), Sw.OK


def card_data(records: list[bytes]) -> dict[int, bytes]:
    """All primitive tags of a list of record responses."""
    out: dict[int, bytes] = {}
    for record in records:
        for tag, value in flatten(decode_tlv(record)).items():
            out.setdefault(tag, value)
    return out
