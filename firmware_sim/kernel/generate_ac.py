"""GENERATE AC, both of them, and the issuer's scripts (EMV 4.4 Book 3 6.5.5, 10.8 to 10.10;
Book 2 6.6 for CDA). The first asks for the cryptogram that terminal action analysis chose
(AAC, TC or ARQC), with CDA when both sides do it; the second carries the issuer's answer.
Issuer scripts (templates 71 and 72) run before and after the second, and their results are
the script results of tag 9F5B.
"""

from __future__ import annotations

from dataclasses import dataclass

from keys.rsa import RsaPublicKey
from protocols.apdu import CommandApdu, Ins
from protocols.errors import ProtocolError
from protocols.tlv import build_dol_data, decode_tlv, flatten, parse_dol
from protocols.tvr import Tsi, TsiBit, Tvr, TvrBit

from ..issuer import ChipData
from .oda import check_cda
from .reader import Apdu, CardFailure

__all__ = [
    "AAC",
    "TC",
    "ARQC",
    "CDA_REQUESTED",
    "Cryptogram",
    "generate_ac",
    "first_generate_ac",
    "second_generate_ac",
    "run_scripts",
]

AAC, TC, ARQC = 0x00, 0x40, 0x80  # cryptogram information data, bits 8-7
CDA_REQUESTED = 0x10  # GENERATE AC P1: combined DDA/application cryptogram generation


@dataclass(frozen=True)
class Cryptogram:
    """A GENERATE AC answer: its type (AAC, TC, ARQC), ATC and cryptogram; ``cda_failure``
    says why a signature asked for did not verify (the cryptogram is then not trusted)."""

    cid: int
    atc: bytes
    cryptogram: bytes
    cda_failure: str = ""

    @property
    def kind(self) -> int:
        return self.cid & 0xC0


def generate_ac(
    apdu: Apdu,
    p1: int,
    data: bytes,
    *,
    icc_key: RsaPublicKey | None = None,
    pdol_data: bytes = b"",
    cdol_data: tuple[bytes, ...] = (),
    unpredictable_number: bytes = b"",
) -> Cryptogram:
    """One GENERATE AC; format 1 (80) or 2 (77), with CDA checked when ``p1`` asked for it."""
    response = apdu(CommandApdu(0x80, Ins.GENERATE_AC, p1, 0x00, data, le=0))
    if not response.ok:
        raise CardFailure(f"GENERATE AC was refused ({response.sw:04X})")
    try:
        items = decode_tlv(response.data)
    except ProtocolError:
        raise CardFailure("GENERATE AC's answer is not BER-TLV") from None
    if items and items[0][0] == 0x80 and isinstance(items[0][1], bytes):
        template = items[0][1]
        if len(template) < 11:
            raise CardFailure("GENERATE AC's answer is too short")
        return Cryptogram(template[0], template[1:3], template[3:11])
    inner = items[0][1] if items and items[0][0] == 0x77 else None
    if not isinstance(inner, list):
        raise CardFailure("GENERATE AC's answer is neither format 1 nor format 2")
    primitive = [(t, v) for t, v in inner if isinstance(v, bytes)]
    values = dict(primitive)
    cid, atc = values.get(0x9F27, b"\x00")[0], values.get(0x9F36, b"")
    if not p1 & CDA_REQUESTED or cid & 0xC0 == AAC:
        return Cryptogram(cid, atc, values.get(0x9F26, b""))
    if icc_key is None:
        return Cryptogram(cid, atc, b"", "CDA was asked for without a recovered ICC key")
    outcome = check_cda(
        icc_key,
        primitive,
        unpredictable_number=unpredictable_number,
        pdol_data=pdol_data,
        cdol_data=list(cdol_data),
    )
    return Cryptogram(cid, atc, outcome.cryptogram, outcome.failure)


def first_generate_ac(
    apdu: Apdu,
    tags: dict[int, bytes],
    terminal: dict[int, bytes],
    *,
    requested: int,
    icc_key: RsaPublicKey | None = None,
    pdol_data: bytes = b"",
) -> tuple[Cryptogram, ChipData, bytes]:
    """The first GENERATE AC over CDOL1, asking for ``requested`` (with CDA when the
    card's ICC key is given): the answer, the chip data the issuer would check, and the
    CDOL1 data sent (a second CDA covers it). The card's ATC goes into ``tags``."""
    data = build_dol_data(parse_dol(tags.get(0x8C, b"")), terminal)
    p1 = requested | (CDA_REQUESTED if icc_key is not None and requested != AAC else 0)
    answer = generate_ac(
        apdu,
        p1,
        data,
        icc_key=icc_key,
        pdol_data=pdol_data,
        cdol_data=(data,),
        unpredictable_number=terminal.get(0x9F37, b""),
    )
    tags[0x9F36] = answer.atc
    tags[0x9F27] = bytes((answer.cid,))
    chip = ChipData(answer.atc, data + tags.get(0x82, b"") + answer.atc, answer.cryptogram)
    return answer, chip, data


def second_generate_ac(
    apdu: Apdu,
    tags: dict[int, bytes],
    terminal: dict[int, bytes],
    response_code: str,
    arpc: bytes,
    *,
    issuer_approved: bool,
    icc_key: RsaPublicKey | None = None,
    pdol_data: bytes = b"",
    cdol1_data: bytes = b"",
) -> Cryptogram:
    """The second GENERATE AC over CDOL2 with the issuer's answer (its response code is the
    ARC, tag 8A): a TC is asked for only when the issuer approved, with CDA if the first
    had it."""
    arc = response_code.encode()[:2]
    values = {0x8A: arc, 0x91: arpc + arc, **terminal}
    data = build_dol_data(parse_dol(tags.get(0x8D, b"")), values)
    p1 = TC if issuer_approved else AAC
    if icc_key is not None and issuer_approved:
        p1 |= CDA_REQUESTED
    return generate_ac(
        apdu,
        p1,
        data,
        icc_key=icc_key,
        pdol_data=pdol_data,
        cdol_data=(cdol1_data, data),
        unpredictable_number=terminal.get(0x9F37, b""),
    )


def run_scripts(apdu: Apdu, scripts: bytes, template: int, tvr: Tvr, tsi: Tsi) -> bytes:
    """Every issuer script of ``template`` (71: before the second GENERATE AC, 72: after)
    in ``scripts``, command by command (tag 86); a script stops at its first command the
    card refuses (Book 3 10.10). The script results (9F5B): per script, result and sequence
    number, then its identifier (9F18)."""
    try:
        items = decode_tlv(scripts)
    except ProtocolError:
        items = []
    results = b""
    for tag, body in items:
        if tag != template or not isinstance(body, list):
            continue
        tsi.set(TsiBit.SCRIPT_PROCESSING_PERFORMED)
        fields = flatten(body)
        script_id = fields.get(0x9F18, bytes(4))[:4].rjust(4, b"\x00")
        commands = [v for t, v in body if t == 0x86 and isinstance(v, bytes)]
        outcome = 0x20  # performed, all commands successful
        for sequence, raw in enumerate(commands, 1):
            try:
                response = apdu(CommandApdu.decode(raw))
                ok = response.sw >> 8 in (0x90, 0x62, 0x63)
            except (ProtocolError, ValueError):
                ok = False
            if not ok:
                outcome = 0x10 | min(sequence, 0x0E)
                tvr.set(
                    TvrBit.SCRIPT_FAILED_BEFORE_FINAL_AC
                    if template == 0x71
                    else TvrBit.SCRIPT_FAILED_AFTER_FINAL_AC
                )
                break
        results += bytes((outcome,)) + script_id
    return results
