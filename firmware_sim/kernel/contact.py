"""The contact EMV kernel (EMV Book 3), simplified: application selection through the PSE,
GET PROCESSING OPTIONS and the records of the AFL, the CVM list's first rule, offline PIN by
VERIFY, and the two GENERATE ACs. Card data goes into the ``tags`` dict the caller keeps.

>>> from firmware_sim.cards import CATALOGUE, VirtualCard
>>> from firmware_sim.testing import shipped_store
>>> reader = InProcessReader(VirtualCard(CATALOGUE["default"], shipped_store()))
>>> _ = reader.power_on()
>>> selection = select_application(exchange_with(reader))
>>> selection.tags[0x50]
b'VISA CREDIT'
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from keys import Pin
from protocols.apdu import CommandApdu, Ins, ResponseApdu, Sw
from protocols.tlv import build_dol_data, decode_tlv, first_object, flatten, parse_dol
from protocols.track2 import Track2

from ..cards import PSE, Cvm
from ..issuer import ChipData
from .reader import Apdu, CardFailure, CardReader, InProcessReader

__all__ = [
    "ApplicationData",
    "Selection",
    "card_language",
    "InProcessReader",
    "cvm_rule",
    "exchange_with",
    "read_application_data",
    "select_application",
    "terminal_data",
    "verify_offline_pin",
]


def exchange_with(reader: CardReader) -> Apdu:
    """An :data:`Apdu` exchange over ``reader``."""

    def exchange(command: CommandApdu) -> ResponseApdu:
        return ResponseApdu.decode(reader.transmit(command.encode()))

    return exchange


def _select(apdu: Apdu, name: bytes) -> ResponseApdu:
    return apdu(CommandApdu(0x00, Ins.SELECT, 0x04, 0x00, name, le=0))


@dataclass
class Selection:
    """The selected application's tags, and the language preferences (tag 5F2D) the card
    gave, in the order given (the PSE's, then the application's)."""

    tags: dict[int, bytes]
    language_preferences: list[bytes]


def select_application(apdu: Apdu) -> Selection | None:
    """SELECT the PSE, read its directory, SELECT the first application. None when the chip
    does not answer at all (6Fxx), which allows fallback to the stripe (EMV Book 4 11.1)."""
    select_pse = _select(apdu, PSE)
    if select_pse.sw & 0xFF00 == 0x6F00:
        return None
    if not select_pse.ok:
        raise CardFailure("no payment system environment")
    pse_tags = flatten(decode_tlv(select_pse.data))
    directory = apdu(CommandApdu(0x00, Ins.READ_RECORD, 0x01, 0x0C, le=0))
    aid = flatten(decode_tlv(directory.data)).get(0x4F)
    if not directory.ok or aid is None:
        raise CardFailure("no application in the directory")
    select = _select(apdu, aid)
    if not select.ok:
        raise CardFailure("the application cannot be selected")
    tags = flatten(decode_tlv(select.data))
    preferences = [t[0x5F2D] for t in (pse_tags, tags) if 0x5F2D in t]
    return Selection(tags, preferences)


def card_language(preferences: list[bytes], spoken: Collection[str]) -> str | None:
    """The language to speak to the cardholder: the last preference list that names one this
    terminal speaks decides (the application's over the PSE's), its first such language.

    >>> card_language([b"deen", b"frzh"], {"en", "zh"})
    'zh'
    """
    chosen = None
    for preference in preferences:
        text = preference.decode("ascii", "replace")
        for i in range(0, len(text) - 1, 2):
            if text[i : i + 2] in spoken:
                chosen = text[i : i + 2]
                break
    return chosen


def terminal_data(
    *,
    amount: int,
    currency_numeric: int,
    transaction_type: int,
    date: str,
    unpredictable_number: bytes,
    ttq: bytes = bytes(4),
    tvr: bytes = bytes(5),
) -> dict[int, bytes]:
    """The terminal's data objects that PDOL and CDOL ask for (EMV Book 3 Annex A).
    ``date`` is YYMMDD; ``transaction_type`` is tag 9C (00 goods, 20 refund)."""
    return {
        0x9F02: bytes.fromhex(f"{amount:012d}"),
        0x9F03: bytes(6),
        0x9F1A: bytes.fromhex("0826"),
        0x95: tvr,
        0x5F2A: bytes.fromhex(f"{currency_numeric:04d}"),
        0x9A: bytes.fromhex(date),
        0x9C: bytes((transaction_type,)),
        0x9F37: unpredictable_number,
        0x9F66: ttq,
    }


@dataclass
class ApplicationData:
    """What GET PROCESSING OPTIONS and the records gave beyond the tags: for offline data
    authentication, the records the AFL marked (the value of each template 70 of SFI 1 to
    10, the whole record above; None when one is not a template 70) and the PDOL data sent
    (CDA's hash covers it)."""

    track2: Track2 | None
    chip: ChipData | None  # format 2 (contactless): the cryptogram came with GPO
    static_data: bytes | None = b""
    pdol_data: bytes = b""


def read_application_data(
    apdu: Apdu, tags: dict[int, bytes], terminal: dict[int, bytes]
) -> ApplicationData:
    """GET PROCESSING OPTIONS over the PDOL, then every record of the AFL into ``tags``."""
    pdol = parse_dol(tags.get(0x9F38, b""))
    data = build_dol_data(pdol, terminal)
    gpo = apdu(
        CommandApdu(0x80, Ins.GET_PROCESSING_OPTIONS, 0, 0, bytes((0x83, len(data))) + data, le=0)
    )
    if not gpo.ok:
        raise CardFailure("GET PROCESSING OPTIONS was refused")
    answer = flatten(decode_tlv(gpo.data))
    chip = None
    if 0x80 in answer:  # format 1: AIP and AFL
        template = answer[0x80]
        tags[0x82], afl = template[:2], template[2:]
    else:  # format 2 (contactless): the cryptogram comes with it
        tags[0x82], afl = answer.get(0x82, b""), answer.get(0x94, b"")
        atc, cid = answer.get(0x9F36, b"\x00\x00"), answer.get(0x9F27, b"\x00")
        tags[0x9F36], tags[0x9F27] = atc, cid
        chip = ChipData(atc, data + tags[0x82] + atc, answer.get(0x9F26, b""))
    static_data: bytes | None = b""
    for i in range(0, len(afl) - 3, 4):
        sfi, first, last, signed = afl[i] >> 3, afl[i + 1], afl[i + 2], afl[i + 3]
        for record in range(first, last + 1):
            response = apdu(CommandApdu(0x00, Ins.READ_RECORD, record, sfi << 3 | 4, le=0))
            if not response.ok:
                raise CardFailure(f"record {record} of SFI {sfi} is missing")
            for tag, value in flatten(decode_tlv(response.data)).items():
                tags.setdefault(tag, value)
            if record < first + signed and static_data is not None:
                static_data = _signed_part(sfi, response.data, static_data)
    track2 = Track2.decode(tags[0x57]) if 0x57 in tags else None
    return ApplicationData(track2, chip, static_data, data)


def _signed_part(sfi: int, record: bytes, so_far: bytes) -> bytes | None:
    """Book 3 10.3: a record of SFI 1 to 10 is signed without its tag 70 and length; above,
    whole. One that is not a template 70 fails offline data authentication (None)."""
    tag, value = first_object(record)
    if tag != 0x70:
        return None
    return so_far + (value if sfi <= 10 else record)


def cvm_rule(tags: dict[int, bytes]) -> Cvm:
    """The CVM list's first rule (tag 8E: amount X, amount Y, then two-byte rules)."""
    cvm_list = tags.get(0x8E, b"")
    code = cvm_list[8] & 0x3F if len(cvm_list) >= 10 else Cvm.NO_CVM.value
    try:
        return Cvm(code)
    except ValueError:
        return Cvm.NO_CVM


def verify_offline_pin(apdu: Apdu, pin: Pin) -> tuple[bool, int]:
    """VERIFY with a plaintext PIN block (format 2): whether the card accepts the PIN, and
    if not how many tries it has left (0: blocked)."""
    block = f"2{len(pin):X}{pin._digits}".ljust(16, "F")
    response = apdu(CommandApdu(0x00, Ins.VERIFY, 0x00, 0x80, bytes.fromhex(block)))
    if response.ok:
        return True, 0
    return False, Sw.pin_tries_left(response.sw) or 0
