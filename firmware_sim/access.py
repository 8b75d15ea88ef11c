"""Who may drive the terminal, set up from its configuration: the key store beside the
journal (``JOURNAL.keystore``: the merchant password's hash and the pairings), the merchant
guard, the pairing desk and the link guard that requires a paired host.

Over TCP a paired host is required; on a serial line it is optional unless
``require_pairing``; ``insecure`` turns pairing and the merchant password off (tests, local
development) and the terminal says so at start.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from keys.link_keys import TerminalPairings
from protocols.codes import PAIRING_TYPES
from protocols.link_auth import LinkGuard

from .keystore_file import KeystoreFile
from .merchant import MerchantGuard
from .pairing import PairingDesk

__all__ = ["Access", "set_up_access", "requires_pairing"]


@dataclass
class Access:
    merchant: MerchantGuard
    pairing: PairingDesk
    required: bool  # a paired host is required on this port

    def guard(self) -> LinkGuard:
        """The link's guard: this terminal's pairings; pairing itself open to anyone."""
        return LinkGuard(
            self.pairing.pairings, "terminal", required=self.required, open_types=PAIRING_TYPES
        )


def requires_pairing(port: str, require_pairing: bool, insecure: bool) -> bool:
    """TCP ports require a paired host; a serial line only when asked; --insecure never."""
    if insecure:
        return False
    return require_pairing or port.startswith(("listen://", "listen+tls://"))


def set_up_access(
    journal: str,
    port: str,
    terminal_name: str,
    show: Callable[[str], None],
    *,
    require_pairing: bool = False,
    insecure: bool = False,
) -> Access:
    store = KeystoreFile(None if journal == ":memory:" else journal + ".keystore")
    stored = store.get("merchant_password")

    def save(hashed: str) -> None:
        store.put("merchant_password", hashed)

    merchant = MerchantGuard(None if insecure else stored, None if insecure else save)
    desk = PairingDesk(TerminalPairings(store, time.time_ns), terminal_name, show)
    return Access(merchant, desk, requires_pairing(port, require_pairing, insecure))
