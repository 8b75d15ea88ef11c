"""Paired links for tests: a host and a terminal that share a pairing's long-term key, made
as `possim pair` makes them (the code-confirmed exchange of keys.pairing)."""

from __future__ import annotations

import time

from keys.link_keys import HostLinkKeys, MemoryVault, TerminalPairings
from keys.pairing import PairingInitiator, PairingResponder
from protocols.exchanges import Fault, LinkPair
from protocols.link import Link, LinkGuard
from protocols.link_auth import LinkKeys

HOST_SESSION, TERMINAL_SESSION = bytes.fromhex("486F7374"), bytes.fromhex("5465726D")


def host_guard(url: str) -> LinkGuard:
    """The guard a host with this test's pairing file uses for ``url`` (plain if unpaired)."""
    from driver.pairings import PairingFile

    keys = PairingFile().link_keys(url)
    return LinkGuard(keys, "host", pairing_id=keys.pairing_id) if keys else LinkGuard()


def memory_pairings() -> TerminalPairings:
    return TerminalPairings(MemoryVault(), clock=time.time_ns)


def pair_keys(terminal: TerminalPairings, code: str = "246810") -> HostLinkKeys:
    """Run the pairing ceremony in memory; the host's keys, the terminal's stored in it."""
    host, responder = PairingInitiator(), PairingResponder(code=code)
    host.peer_key(responder.public_key, responder.pairing_id, code=code)
    responder.peer_key(host.public_key)
    for digit in range(6):
        theirs = responder.commit(digit, host.commit(digit))
        host.check(digit, responder.open(digit, host.open(digit, theirs)))
    confirmation = responder.confirm(host.confirmation())
    long_term = host.finish(confirmation)
    terminal.add(responder.finish(), "test host", now=0)
    return HostLinkKeys(long_term, clock=time.time_ns)


def host_link(
    keys: LinkKeys | None, pairing_id: bytes | None, session: bytes = HOST_SESSION
) -> Link:
    return Link(session=session, guard=LinkGuard(keys, "host", pairing_id=pairing_id))


def terminal_link(
    pairings: TerminalPairings, *, required: bool = True, session: bytes = TERMINAL_SESSION
) -> Link:
    from protocols.codes import PAIRING_TYPES

    guard = LinkGuard(pairings, "terminal", required=required, open_types=PAIRING_TYPES)
    return Link(session=session, guard=guard)


def paired_links(fault: Fault | None = None) -> LinkPair:
    pairings = TerminalPairings(MemoryVault(), clock=time.time_ns)
    keys = pair_keys(pairings)
    return LinkPair(
        fault=fault, host=host_link(keys, keys.pairing_id), terminal=terminal_link(pairings)
    )
