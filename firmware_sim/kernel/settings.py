"""The terminal's EMV settings: its CA public keys and revocation list, whether it does
CDA, and its risk management parameters (floor limit, random transaction selection, the
exception file, the terminal action codes). Data: the CLI builds it from its options.

>>> settings = EmvSettings()
>>> settings.floor_limit, settings.tac_denial.hex().upper(), (bytes.fromhex("A000000003"), 0xE1) in settings.ca_keys
(0, '7C00000000', True)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from keys.capk import CaKey, Revocations, shipped_ca_keys, shipped_revocations

__all__ = ["EmvSettings", "TAC_DENIAL", "TAC_ONLINE", "TAC_DEFAULT"]

# Terminal action codes (EMV Book 3 10.7; TVR bits in protocols.tvr). Denial: a failed or
# impossible ODA (SDA, DDA, CDA failed, ICC data missing) and the exception file decline
# offline. Online: no ODA, an expired card, a failed verification or PIN try limit, online
# PIN, and every velocity, floor-limit and random-selection bit.
TAC_DENIAL = bytes.fromhex("7C00000000")
TAC_ONLINE = bytes.fromhex("8040A4F800")
TAC_DEFAULT = bytes.fromhex("8040A4F800")


@dataclass(frozen=True)
class EmvSettings:
    ca_keys: Mapping[tuple[bytes, int], CaKey] = field(default_factory=shipped_ca_keys)
    revocations: Revocations = field(default_factory=shipped_revocations)
    supports_cda: bool = True
    floor_limit: int = 0  # minor units: at or above it a transaction goes online; 0: always
    # random transaction selection below the floor limit (Book 3 10.6.2): percentages of
    # transactions sent online, rising from the target at the threshold to the maximum at
    # the floor limit; off unless asked for (--random-selection), so outcomes are repeatable
    target_percentage: int = 0
    max_target_percentage: int = 0
    threshold: int = 0
    exception_file: frozenset[str] = frozenset()  # PANs the terminal declines offline
    tac_denial: bytes = TAC_DENIAL
    tac_online: bytes = TAC_ONLINE
    tac_default: bytes = TAC_DEFAULT
