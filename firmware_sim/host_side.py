"""The runner's two faces toward the world beyond the card: the link the host (or the cash
register) speaks over the port, and the display's QR codes.

- :func:`host_link`: possim's own link (with its timing from ``--baud``, ``--ack-timeout``,
  ``--link-retries`` and the pairing guard), or the ZVT personality (TCP: bare APDUs; a serial
  line: DLE STX blocks) for ``--protocol zvt``;
- :func:`draw_qr`: a QR code as an image (``--display FILE.png|svg``), text art in a file, or
  on the console.
"""

from __future__ import annotations

import io
import sys
import time
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING

from protocols.link import Link, LinkGuard, LinkSettings

from .zvt import ZvtLink
from .zvt.ecr_commands import Lookups

if TYPE_CHECKING:
    from .runner import TerminalConfig

__all__ = ["host_link", "draw_qr"]


def host_link(
    config: TerminalConfig,
    guard: LinkGuard | None,
    lookups: Lookups,
    on_zvt: Callable[[str, bytes], None] | None,
) -> Link | ZvtLink:
    if config.protocol == "zvt":
        tcp = config.port.startswith(("listen://", "listen+tls://"))
        return ZvtLink(
            serial=not tcp,
            terminal_id=config.terminal_id,
            password=config.zvt_password,
            lookups=lookups,
            wall_clock=time.time,
            observer=on_zvt,
            vu_number=config.merchant_id,
        )
    settings = LinkSettings.for_baud(config.baud) if config.baud < 115200 else LinkSettings()
    if config.ack_timeout is not None:
        settings = replace(settings, ack_timeout=config.ack_timeout)
    if config.link_retries is not None:
        settings = replace(settings, max_retries=config.link_retries)
    return Link(settings, guard=guard)


def draw_qr(payload: str, target: str | None) -> None:
    """Draw the QR code on the terminal's display: an image when ``target`` names a .png or
    .svg file (a phone's camera reads it), else text art in the file, or on the console if
    it is one."""
    if target is None and not sys.stdout.isatty():
        return
    import segno

    code = segno.make(payload, error="m")
    if target is not None and target.lower().endswith((".png", ".svg")):
        code.save(target, scale=8, border=4)  # the quiet zone readers need
        return
    drawing = io.StringIO()
    code.terminal(out=drawing, compact=True)
    text = f"{drawing.getvalue()}\n{payload}\n"
    if target is None:
        print(text, flush=True)
    else:
        with open(target, "a", encoding="utf-8") as display:
            display.write(text)
