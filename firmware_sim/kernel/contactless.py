"""The contactless kernel, simplified from the EMV contactless Book B entry point and the
qVSDC path: SELECT the PPSE, take the first application of its directory, SELECT it; the
terminal transaction qualifiers ask for a CVM above the contactless CVM limit; GET PROCESSING
OPTIONS (format 2) brings the cryptogram, so there is no GENERATE AC.
"""

from __future__ import annotations

from protocols.apdu import CommandApdu, Ins
from protocols.tlv import decode_tlv, flatten

from ..cards import PPSE
from .contact import Selection
from .reader import Apdu, CardFailure

CID_ARQC = 0x80  # cryptogram information data: an ARQC; 0x00 is an AAC

__all__ = [
    "CONTACTLESS_CVM_LIMIT",
    "card_declined_offline",
    "needs_cvm",
    "select_contactless",
    "ttq",
]

CONTACTLESS_CVM_LIMIT = 5000  # minor units: above it a tap needs online PIN


def select_contactless(apdu: Apdu) -> Selection:
    """SELECT the PPSE, then the first application of its directory."""
    ppse = apdu(CommandApdu(0x00, Ins.SELECT, 0x04, 0x00, PPSE, le=0))
    aid = flatten(decode_tlv(ppse.data)).get(0x4F) if ppse.ok else None
    if aid is None:
        raise CardFailure("no contactless application (PPSE)")
    select = apdu(CommandApdu(0x00, Ins.SELECT, 0x04, 0x00, aid, le=0))
    if not select.ok:
        raise CardFailure("the contactless application cannot be selected")
    tags = flatten(decode_tlv(select.data))
    return Selection(tags, [tags[0x5F2D]] if 0x5F2D in tags else [])


def ttq(amount: int) -> bytes:
    """Terminal transaction qualifiers (tag 9F66) for a tap: qVSDC and online PIN supported,
    and CVM required above the contactless CVM limit.

    >>> ttq(100).hex(), ttq(5001).hex()
    ('24000000', '24400000')
    """
    return bytes((0x24, 0x40 if amount > CONTACTLESS_CVM_LIMIT else 0x00, 0x00, 0x00))


def needs_cvm(amount: int) -> bool:
    """Above the contactless CVM limit a tap asks for online PIN."""
    return amount > CONTACTLESS_CVM_LIMIT


def card_declined_offline(tags: dict[int, bytes]) -> bool:
    """The card answered GET PROCESSING OPTIONS with an AAC (cryptogram information 9F27)."""
    return tags.get(0x9F27, bytes((CID_ARQC,)))[0] & 0xC0 != CID_ARQC
