"""``possim oda``: read a card and check its offline data authentication, without a
transaction and without going online: select the application, GET PROCESSING OPTIONS, read
the records, then SDA, DDA or CDA's certificates (and for a card that does DDA, its signature
with INTERNAL AUTHENTICATE) against the terminal's CA public keys and revocation list.

For hardware testers with real cards in a PC/SC reader (the schemes' published CA keys are
shipped; ``--capk FILE`` gives others) and for students with a catalogue card.

>>> from firmware_sim.cards import CATALOGUE, VirtualCard
>>> from firmware_sim.kernel import InProcessReader
>>> from firmware_sim.kernel.settings import EmvSettings
>>> from firmware_sim.testing import shipped_store
>>> reader = InProcessReader(VirtualCard(CATALOGUE["cda"], shipped_store()))
>>> report = check_card(reader, EmvSettings(), today=(2026, 11))
>>> report.method, report.verified, report.tvr
('CDA', True, '0000000000')
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import Any

from protocols.tvr import Tsi, Tvr, describe_tsi, describe_tvr
from protocols.validation import mask_pan

from .kernel import CardReader
from .kernel.contact import exchange_with, read_application_data, select_application, terminal_data
from .kernel.oda import OdaMethod, authenticate
from .kernel.reader import CardFailure
from .kernel.settings import EmvSettings

__all__ = ["OdaReport", "check_card"]


@dataclass
class OdaReport:
    """What ``possim oda`` says; ``as_json`` gives its ``--json`` keys."""

    aid: str = ""
    label: str = ""
    masked_pan: str = ""
    aip: str = ""
    method: str = "none"
    verified: bool = False
    failure: str = ""
    steps: list[str] = field(default_factory=list)
    tvr: str = ""
    tsi: str = ""

    def as_json(self) -> dict[str, Any]:
        return dict(vars(self))

    def lines(self) -> list[str]:
        out = [
            f"application {self.aid} {self.label}, PAN {self.masked_pan}",
            f"AIP {self.aip}: offline data authentication by {self.method}",
            *(f"  {step}" for step in self.steps),
        ]
        if self.method == "none":
            out.append("result: the card offers no offline data authentication")
        else:
            verdict = "verified" if self.verified else f"FAILED ({self.failure})"
            out.append(f"result: {self.method} {verdict}")
        out += [f"TVR {describe_tvr(bytes.fromhex(self.tvr))}"]
        out += [f"TSI {describe_tsi(bytes.fromhex(self.tsi))}"]
        return out


def check_card(
    reader: CardReader,
    settings: EmvSettings,
    *,
    today: tuple[int, int],
    random: Any = secrets.token_bytes,
) -> OdaReport:
    """Power the card, read it, authenticate it. CardFailure if it cannot be read at all."""
    reader.power_on()
    apdu = exchange_with(reader)
    selection = select_application(apdu)
    if selection is None:
        raise CardFailure("the chip does not answer")
    tags = dict(selection.tags)
    terminal = terminal_data(
        amount=0,
        currency_numeric=978,
        transaction_type=0x00,
        date=f"{today[0] % 100:02d}{today[1]:02d}01",
        unpredictable_number=random(4),
    )
    read = read_application_data(apdu, tags, terminal)
    tvr, tsi = Tvr(), Tsi()
    result = authenticate(
        apdu,
        tags,
        read.static_data,
        settings,
        today=today,
        unpredictable_number=random(4),
        tvr=tvr,
        tsi=tsi,
    )
    aip = tags.get(0x82, b"")
    if result.method is OdaMethod.CDA and not result.failure and aip and aip[0] & 0x20:
        # a CDA card that does DDA too: its private key answers INTERNAL AUTHENTICATE
        # (CDA's own signature comes only with GENERATE AC, in a transaction)
        ddol_check = authenticate(
            apdu,
            tags,
            read.static_data,
            settings,
            today=today,
            unpredictable_number=random(4),
            tvr=Tvr(),
            tsi=Tsi(),
            method=OdaMethod.DDA,
        )
        result.steps += [
            f"INTERNAL AUTHENTICATE (DDA): {s}"
            for s in ddol_check.steps
            if s.startswith(("signed dynamic", "DDA"))
        ]
        if ddol_check.failure:
            result.failure = f"INTERNAL AUTHENTICATE: {ddol_check.failure}"
    pan = tags.get(0x5A, b"").hex().upper().rstrip("F")
    aid = tags.get(0x84) or tags.get(0x4F) or b""
    return OdaReport(
        aid=aid.hex().upper(),
        label=tags.get(0x50, b"").decode("ascii", "replace"),
        masked_pan=mask_pan(pan) if pan else "",
        aip=aip.hex().upper(),
        method=result.method.value if result.method else "none",
        verified=result.method is not None and not result.failure,
        failure=result.failure,
        steps=result.steps,
        tvr=tvr.value.hex().upper(),
        tsi=tsi.value.hex().upper(),
    )
