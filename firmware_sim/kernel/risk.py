"""Processing restrictions, terminal risk management and terminal action analysis (EMV 4.4
Book 3 10.4, 10.6 and 10.7): the TVR bits for an expired card, the floor limit, random
transaction selection, velocity checking against the card's consecutive offline limits
(9F14, 9F23) and the exception file; then the terminal's and the issuer's action codes decide
which cryptogram the first GENERATE AC asks for.

>>> tvr = Tvr()
>>> floor_limit(5000, EmvSettings(floor_limit=2000), tvr)
>>> tvr.names()
['transaction exceeds floor limit']
>>> action_analysis(tvr, {}, EmvSettings())  # no IACs: Book 3's defaults
'ARQC'
>>> action_analysis(Tvr(bytes.fromhex("0800000000")), {}, EmvSettings())
'AAC'
"""

from __future__ import annotations

from collections.abc import Callable

from protocols.apdu import CommandApdu, Ins
from protocols.tlv import decode_tlv, flatten
from protocols.tvr import Tsi, TsiBit, Tvr, TvrBit

from .reader import Apdu
from .settings import EmvSettings

__all__ = [
    "processing_restrictions",
    "floor_limit",
    "random_selection",
    "velocity_check",
    "exception_file",
    "terminal_risk_management",
    "action_analysis",
    "CRYPTOGRAM_P1",
]

CRYPTOGRAM_P1 = {"AAC": 0x00, "TC": 0x40, "ARQC": 0x80}  # GENERATE AC reference control
_IAC_DEFAULTS = {0x9F0D: b"\xff" * 5, 0x9F0E: bytes(5), 0x9F0F: b"\xff" * 5}  # Book 3 10.7


def processing_restrictions(tags: dict[int, bytes], today: str, tvr: Tvr) -> None:
    """Expiry (5F24) and effective (5F25) dates against ``today`` (YYMMDD)."""
    expiry, effective = tags.get(0x5F24, b"").hex(), tags.get(0x5F25, b"").hex()
    if len(expiry) == 6 and expiry < today:
        tvr.set(TvrBit.EXPIRED_APPLICATION)
    if len(effective) == 6 and effective > today:
        tvr.set(TvrBit.NOT_YET_EFFECTIVE)


def floor_limit(amount: int, settings: EmvSettings, tvr: Tvr) -> None:
    if amount >= settings.floor_limit:
        tvr.set(TvrBit.FLOOR_LIMIT_EXCEEDED)


def random_selection(
    amount: int, settings: EmvSettings, tvr: Tvr, random: Callable[[int], bytes]
) -> None:
    """Below the floor limit, a share of transactions goes online anyway (Book 3 10.6.2)."""
    floor, threshold = settings.floor_limit, settings.threshold
    if amount >= floor:
        return
    number = random(1)[0] % 99 + 1  # 1 to 99
    target = settings.target_percentage
    if amount >= threshold and floor > threshold:
        spread = settings.max_target_percentage - target
        target += spread * (amount - threshold) // (floor - threshold)
    if number <= target:
        tvr.set(TvrBit.RANDOMLY_SELECTED_ONLINE)


def velocity_check(apdu: Apdu, tags: dict[int, bytes], tvr: Tvr) -> None:
    """The card's ATC and last online ATC (GET DATA 9F36, 9F13) against its lower and upper
    consecutive offline limits; none of this when the card gives no limits."""
    lower, upper = tags.get(0x9F14), tags.get(0x9F23)
    if not lower or not upper:
        return
    values = {}
    for tag in (0x9F36, 0x9F13):
        response = apdu(CommandApdu(0x80, Ins.GET_DATA, tag >> 8, tag & 0xFF, le=0))
        value = flatten(decode_tlv(response.data)).get(tag) if response.ok else None
        if value is None or len(value) != 2:
            tvr.set(TvrBit.LOWER_OFFLINE_LIMIT_EXCEEDED)
            tvr.set(TvrBit.UPPER_OFFLINE_LIMIT_EXCEEDED)
            tvr.set(TvrBit.ICC_DATA_MISSING)
            return
        values[tag] = int.from_bytes(value, "big")
    atc, last_online = values[0x9F36], values[0x9F13]
    since = atc - last_online
    if since > lower[0]:
        tvr.set(TvrBit.LOWER_OFFLINE_LIMIT_EXCEEDED)
    if since > upper[0]:
        tvr.set(TvrBit.UPPER_OFFLINE_LIMIT_EXCEEDED)
    if last_online == 0:
        tvr.set(TvrBit.NEW_CARD)


def exception_file(pan: str, settings: EmvSettings, tvr: Tvr) -> None:
    if pan in settings.exception_file:
        tvr.set(TvrBit.ON_EXCEPTION_FILE)


def terminal_risk_management(
    apdu: Apdu,
    tags: dict[int, bytes],
    *,
    amount: int,
    pan: str,
    settings: EmvSettings,
    random: Callable[[int], bytes],
    tvr: Tvr,
    tsi: Tsi,
) -> None:
    """Book 3 10.6: every check, then the TSI says it was done."""
    exception_file(pan, settings, tvr)
    floor_limit(amount, settings, tvr)
    random_selection(amount, settings, tvr, random)
    velocity_check(apdu, tags, tvr)
    tsi.set(TsiBit.TERMINAL_RISK_MANAGEMENT_PERFORMED)


def action_analysis(tvr: Tvr, tags: dict[int, bytes], settings: EmvSettings) -> str:
    """ "AAC", "TC" or "ARQC" for the first GENERATE AC (an online-capable terminal)."""

    def iac(tag: int) -> bytes:
        return tags.get(tag, _IAC_DEFAULTS[tag])

    if tvr.matches(settings.tac_denial) or tvr.matches(iac(0x9F0E)):
        return "AAC"
    if tvr.matches(settings.tac_online) or tvr.matches(iac(0x9F0F)):
        return "ARQC"
    return "TC"
