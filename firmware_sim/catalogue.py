"""The test card catalogue: each card's profile (PAN, PIN, interfaces, CVM, language,
behaviour) as data, and the EMV names and data object lists the virtual cards answer with.

>>> CATALOGUE["default"].pan, CATALOGUE["default"].pin
('4761739001010010', '1234')
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from protocols.codes import EntryMode
from protocols.track2 import Track2

__all__ = [
    "Cvm",
    "Oda",
    "OdaFault",
    "CardProfile",
    "CATALOGUE",
    "PSE",
    "PPSE",
    "PDOL",
    "AIP",
    "CDOL1",
    "CDOL2",
    "DDOL",
    "OFFLINE_IACS",
]

PSE = b"1PAY.SYS.DDF01"

CDOL1 = bytes.fromhex("9F02069F03069F1A0295055F2A029A039C019F3704")
CDOL2 = bytes.fromhex("8A02911095059F3704")
PPSE = b"2PAY.SYS.DDF01"
# TTQ (zero from a contact terminal), amount, currency, unpredictable number
PDOL = bytes.fromhex("9F66049F02065F2A029F3704")
AIP = bytes.fromhex("1800")  # cardholder verification and terminal risk management supported
DDOL = bytes.fromhex("9F3704")  # INTERNAL AUTHENTICATE signs the unpredictable number
# Issuer action codes of the cards that may approve offline (tags 9F0D default, 9F0E denial,
# 9F0F online; EMV Book 3 10.7): online for a failed or missing ODA, an expired card, online
# PIN, a failed cardholder verification and every velocity and floor-limit bit.
OFFLINE_IACS = (
    bytes.fromhex("DC4000A800"),
    bytes.fromhex("0010000000"),
    bytes.fromhex("DC40A4F800"),
)


class Oda(Enum):
    """The offline data authentication a card supports (its AIP says so, byte 1)."""

    NONE = 0x00
    SDA = 0x40
    DDA = 0x20
    CDA = 0x01


class OdaFault(Enum):
    """How a catalogue card's ODA data is wrong, for the failure cards."""

    NONE = "none"
    BAD_SIGNATURE = "its dynamic signature does not verify"
    EXPIRED_ISSUER_CERTIFICATE = "its issuer certificate expired in December 2020"
    REVOKED_ISSUER_CERTIFICATE = "its issuer certificate is on the revocation list"
    MISSING_ICC_CERTIFICATE = "its ICC public key certificate (9F46) is missing"


class Cvm(Enum):
    """The card's cardholder verification method (its CVM list has this one rule)."""

    ONLINE_PIN = 0x02
    OFFLINE_PIN = 0x01
    NO_CVM = 0x1F


@dataclass(frozen=True)
class CardProfile:
    """A catalogue card. ``cardholder_pin`` is what the simulated cardholder types when told
    to enter the card's PIN (None: the card's own PIN)."""

    name: str
    description: str
    pan: str
    expiry: str = "2812"  # YYMM
    pin: str = "1234"
    cardholder_pin: str | None = None
    pin_tries: int = 3  # the PIN try counter as issued
    pin_try_limit: int = 3  # what a correct PIN or the issuer's unblock sets it back to
    cvm: Cvm = Cvm.ONLINE_PIN
    interfaces: frozenset[EntryMode] = frozenset(
        {EntryMode.CHIP, EntryMode.SWIPE, EntryMode.TAP, EntryMode.QR}
    )
    language: str = "en"
    aid: bytes = bytes.fromhex("A0000000031010")
    label: str = "VISA CREDIT"
    pan_sequence: str = "01"
    cardholder_name: str = "POSSIM/TEST CARD"
    declines_offline: bool = False
    chip_broken: bool = False
    t0: bool = False  # answers as a T=0 card: 61xx and GET RESPONSE, 6Cxx
    oda: Oda = Oda.NONE
    oda_fault: OdaFault = OdaFault.NONE
    # card risk management: lower and upper consecutive offline limits (9F14, 9F23) and the
    # issuer action codes; None: the card goes online every time (no IACs: Book 3 defaults)
    offline_limits: tuple[int, int] | None = None
    # the issuer sends a PIN UNBLOCK script when this card comes online with its PIN blocked
    issuer_unblocks_pin: bool = False

    @property
    def aip(self) -> bytes:
        """Application interchange profile (82): CVM and risk management, and the ODA (a
        CDA card supports DDA too, as real ones do).

        >>> CATALOGUE["default"].aip.hex(), CATALOGUE["cda"].aip.hex()
        ('1800', '3900')
        """
        extra = Oda.DDA.value if self.oda is Oda.CDA else 0
        return bytes((AIP[0] | self.oda.value | extra, AIP[1]))

    @property
    def service_code(self) -> str:
        return "201" if EntryMode.CHIP in self.interfaces else "101"

    @property
    def track2(self) -> Track2:
        return Track2(self.pan, self.expiry, self.service_code, "0000000000")

    @property
    def typed_pin(self) -> str:
        return self.cardholder_pin or self.pin


CATALOGUE: dict[str, CardProfile] = {
    card.name: card
    for card in (
        CardProfile(
            "default", "chip and swipe, online PIN 1234; the amount decides", "4761739001010010"
        ),
        CardProfile(
            "offline-pin",
            "chip, offline PIN 1234 checked by the card",
            "4761739001010028",
            cvm=Cvm.OFFLINE_PIN,
        ),
        CardProfile(
            "wrong-pin",
            "offline PIN; the cardholder types 9999, the try counter goes down",
            "4761739001010036",
            cvm=Cvm.OFFLINE_PIN,
            cardholder_pin="9999",
        ),
        CardProfile(
            "pin-blocked",
            "offline PIN whose try counter is already 0",
            "4761739001010044",
            cvm=Cvm.OFFLINE_PIN,
            pin_tries=0,
            issuer_unblocks_pin=True,
        ),
        CardProfile(
            "expired", "expired in December 2020: declined, 54", "4761739001010051", expiry="2012"
        ),
        CardProfile(
            "magstripe-only",
            "no chip: swipe, online PIN (service code 101)",
            "4761739001010069",
            interfaces=frozenset({EntryMode.SWIPE}),
        ),
        CardProfile(
            "no-cvm", "chip, no cardholder verification", "4761739001010077", cvm=Cvm.NO_CVM
        ),
        CardProfile(
            "declines-offline",
            "chip card that answers the first GENERATE AC with an AAC: declined Z1",
            "4761739001010085",
            declines_offline=True,
        ),
        CardProfile(
            "contactless-only",
            "tap only: no PIN up to EUR 50.00 (the CVM limit), online PIN above",
            "4761739001010101",
            interfaces=frozenset({EntryMode.TAP}),
        ),
        CardProfile(
            "t0-card",
            "a T=0 card: 61xx then GET RESPONSE, 6Cxx for a wrong Le (readers handle it)",
            "4761739001010119",
            t0=True,
        ),
        CardProfile(
            "broken-chip",
            "the chip does not answer: the terminal falls back to the stripe",
            "4761739001010093",
            chip_broken=True,
        ),
        CardProfile(
            "sda",
            "SDA, offline PIN; approved offline under a floor limit (--floor-limit)",
            "4761739001010127",
            oda=Oda.SDA,
            offline_limits=(3, 5),
            cvm=Cvm.OFFLINE_PIN,
        ),
        CardProfile(
            "dda",
            "DDA (INTERNAL AUTHENTICATE), offline PIN",
            "4761739001010135",
            oda=Oda.DDA,
            offline_limits=(3, 5),
            cvm=Cvm.OFFLINE_PIN,
        ),
        CardProfile(
            "cda",
            "CDA: GENERATE AC answers signed, offline PIN",
            "4761739001010143",
            oda=Oda.CDA,
            offline_limits=(3, 5),
            cvm=Cvm.OFFLINE_PIN,
        ),
        CardProfile(
            "oda-bad-signature",
            "DDA card whose dynamic signature does not verify: declined offline, Z1",
            "4761739001010150",
            oda=Oda.DDA,
            oda_fault=OdaFault.BAD_SIGNATURE,
            offline_limits=(3, 5),
            cvm=Cvm.OFFLINE_PIN,
        ),
        CardProfile(
            "oda-expired-issuer",
            "SDA card whose issuer certificate expired in 12/2020: declined offline, Z1",
            "4761739001010168",
            oda=Oda.SDA,
            oda_fault=OdaFault.EXPIRED_ISSUER_CERTIFICATE,
            offline_limits=(3, 5),
            cvm=Cvm.OFFLINE_PIN,
        ),
        CardProfile(
            "oda-revoked",
            "SDA card whose issuer certificate is on the revocation list: declined offline, Z1",
            "4761739001010176",
            oda=Oda.SDA,
            oda_fault=OdaFault.REVOKED_ISSUER_CERTIFICATE,
            offline_limits=(3, 5),
            cvm=Cvm.OFFLINE_PIN,
        ),
        CardProfile(
            "oda-missing-data",
            "DDA card without its ICC certificate (9F46): ICC data missing, declined offline, Z1",
            "4761739001010184",
            oda=Oda.DDA,
            oda_fault=OdaFault.MISSING_ICC_CERTIFICATE,
            offline_limits=(3, 5),
            cvm=Cvm.OFFLINE_PIN,
        ),
        CardProfile(
            "chinese",
            "chip, online PIN, prompts in Simplified Chinese (5F2D zh)",
            "6212345678901232",
            language="zh",
            aid=bytes.fromhex("A000000333010101"),
            label="UnionPay",
        ),
    )
}
