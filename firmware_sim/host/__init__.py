"""``possim host``: the acquirer and issuer behind ISO 8583 over TCP. It imports protocols,
keys and the shared issuer (:mod:`firmware_sim.issuer`), none of the terminal's modules.

- :mod:`.translate`: a message as an issuer request, and its answer (no I/O)
- :mod:`.ledger`: one message on the durable ledger, idempotent by terminal id and STAN
- :mod:`.server`: the asyncio server with group commit
- :mod:`.cli`: the command line
"""

from __future__ import annotations

from .ledger import HostCounters, HostLedger
from .server import AcquirerHost, parse_listen

__all__ = ["AcquirerHost", "HostCounters", "HostLedger", "parse_listen"]
