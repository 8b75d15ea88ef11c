"""The pairings' long-term keys, and the MACs the host link computes with them.

A host keeps its pairings in a pairing file (JSON, mode 0600), one per terminal port; a
terminal keeps its own in its key store. Both hand the link an object that seals and checks
MACs and never shows a key: LINK_RESET frames carry a 16-byte HMAC-SHA256 under a key derived
from the pairing's long-term key; every other frame an 8-byte HMAC-SHA256 under the sending
side's session key, derived (HKDF-SHA256) from the long-term key and both sides' session ids.

>>> from keys.pairing import LongTermKey
>>> long_term = LongTermKey(bytes(8), bytes(32))
>>> host = HostLinkKeys(long_term, clock=lambda: 1)
>>> terminal = TerminalPairings(MemoryVault(), clock=lambda: 1)
>>> terminal.add(long_term, "till 1", now=0)
>>> mac = host.seal_reset(bytes(8), "host", b"reset")
>>> terminal.check_reset(bytes(8), "host", b"reset", mac), terminal.check_reset(bytes(8), "terminal", b"reset", mac)
(True, False)
>>> macs = host.session(bytes(8), b"HOST", b"TERM")
>>> terminal.session(bytes(8), b"HOST", b"TERM").check("host", b"frame", macs.seal("host", b"frame"))
True
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Protocol

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from .pairing import LongTermKey

__all__ = [
    "RESET_MAC_SIZE",
    "FRAME_MAC_SIZE",
    "SessionMacs",
    "HostLinkKeys",
    "TerminalPairings",
    "PairingRecord",
    "Vault",
    "MemoryVault",
    "Clock",
]

RESET_MAC_SIZE = 16
FRAME_MAC_SIZE = 8
_ROLES = ("host", "terminal")
Clock = Callable[[], int]  # the wall clock in nanoseconds (time.time_ns), passed in


class Vault(Protocol):
    """Where the secrets are kept (the terminal's key store file, the host's pairing file):
    named JSON values, each written through before ``put`` returns."""

    def get(self, name: str, default: Any = None) -> Any: ...

    def put(self, name: str, value: Any) -> None: ...


class MemoryVault(dict[str, Any]):
    """A vault in memory: a terminal with an in-memory journal, and tests."""

    def put(self, name: str, value: Any) -> None:
        self[name] = value


def _hkdf(key: bytes, info: bytes, salt: bytes | None = None, length: int = 32) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=length, salt=salt, info=info).derive(key)


@lru_cache(maxsize=256)
def _reset_key(key: bytes, role: str) -> bytes:
    return _hkdf(key, b"possim link v4 reset " + role.encode())


class SessionMacs:
    """One session's two MAC keys, one for each sending side."""

    def __init__(self, long_term: bytes, host_session: bytes, terminal_session: bytes) -> None:
        keys = _hkdf(long_term, b"possim link v4 session", host_session + terminal_session, 64)
        # keyed once: each MAC copies the keyed state (1.1 us a frame instead of 1.7 us)
        self._keyed = {
            "host": hmac.new(keys[:32], digestmod=hashlib.sha256),
            "terminal": hmac.new(keys[32:], digestmod=hashlib.sha256),
        }

    def __repr__(self) -> str:
        return "SessionMacs(...)"

    def seal(self, sender: str, data: bytes) -> bytes:
        mac = self._keyed[sender].copy()
        mac.update(data)
        return mac.digest()[:FRAME_MAC_SIZE]

    def check(self, sender: str, data: bytes, mac: bytes) -> bool:
        return hmac.compare_digest(self.seal(sender, data), mac)


def _next_counter(last: int, now_ns: int) -> int:
    """A reset's counter: the wall clock in nanoseconds, and always past the last one."""
    return max(now_ns, last + 1)


class _PairedKeys:
    """Sealing and checking under a pairing's keys; where the keys are is the subclass's."""

    _last_sent = 0
    _clock: Clock

    def _key(self, pairing_id: bytes) -> bytes | None:
        raise NotImplementedError

    def seal_reset(self, pairing_id: bytes, sender: str, data: bytes) -> bytes:
        key = self._key(pairing_id)
        if key is None:
            raise KeyError("no such pairing")
        return hmac.digest(_reset_key(key, sender), data, hashlib.sha256)[:RESET_MAC_SIZE]

    def check_reset(self, pairing_id: bytes, sender: str, data: bytes, mac: bytes) -> bool:
        """Whether ``mac`` is ``sender``'s over ``data`` (False for an unknown pairing)."""
        if self._key(pairing_id) is None or sender not in _ROLES:
            return False
        return hmac.compare_digest(self.seal_reset(pairing_id, sender, data), mac)

    def next_counter(self) -> int:
        self._last_sent = _next_counter(self._last_sent, self._clock())
        return self._last_sent

    def session(
        self, pairing_id: bytes, host_session: bytes, terminal_session: bytes
    ) -> SessionMacs:
        key = self._key(pairing_id)
        if key is None:
            raise KeyError("no such pairing")
        return SessionMacs(key, host_session, terminal_session)


class HostLinkKeys(_PairedKeys):
    """The host's side: one pairing, the one for the port it opens. Counters of the
    terminal's resets are remembered for this link only (a terminal's reset that names the
    host's fresh session cannot be a replay; one that names none must be newer)."""

    def __init__(self, long_term: LongTermKey, clock: Clock) -> None:
        self._long_term = long_term
        self._clock = clock
        self._last_seen: dict[bytes, int] = {}

    def __repr__(self) -> str:
        return f"HostLinkKeys(pairing {self._long_term.pairing_id.hex()})"

    @property
    def pairing_id(self) -> bytes:
        return self._long_term.pairing_id

    def _key(self, pairing_id: bytes) -> bytes | None:
        ok = hmac.compare_digest(pairing_id, self._long_term.pairing_id)
        return self._long_term.key if ok else None

    def fresh(self, pairing_id: bytes, counter: int) -> bool:
        """``counter`` is newer than any this side accepted for ``pairing_id``; remembered."""
        if counter <= self._last_seen.get(pairing_id, 0):
            return False
        self._last_seen[pairing_id] = counter
        return True


@dataclass(frozen=True)
class PairingRecord:
    """A pairing as listed: no key."""

    pairing_id: str  # hex
    name: str  # the other side's name: the host's on a terminal, the terminal's on a host
    created: int  # Unix time
    port: str = ""  # on a host: the port it was made on


class TerminalPairings(_PairedKeys):
    """The terminal's pairings, kept in its key store (``pairings``: id -> name, key, when,
    the counter of the last session it accepted). The counters are written before a new
    session is accepted, so a reset recorded from an earlier session is refused even after
    the terminal restarts."""

    def __init__(self, store: Vault, clock: Clock) -> None:
        self._store = store
        self._clock = clock

    def __repr__(self) -> str:
        return f"TerminalPairings({len(self._entries())} pairings)"

    def _entries(self) -> dict[str, dict[str, object]]:
        entries = self._store.get("pairings", {})
        return entries if isinstance(entries, dict) else {}

    def _key(self, pairing_id: bytes) -> bytes | None:
        entry = self._entries().get(pairing_id.hex())
        return bytes.fromhex(str(entry["key"])) if entry else None

    def __len__(self) -> int:
        return len(self._entries())

    def add(self, long_term: LongTermKey, host_name: str, now: int) -> None:
        entries = dict(self._entries())
        entries[long_term.pairing_id.hex()] = {
            "name": host_name,
            "key": long_term.key.hex(),
            "created": now,
            "counter": 0,
        }
        self._store.put("pairings", entries)

    def revoke(self, pairing_id: bytes) -> bool:
        entries = dict(self._entries())
        if entries.pop(pairing_id.hex(), None) is None:
            return False
        self._store.put("pairings", entries)
        return True

    def records(self) -> list[PairingRecord]:
        return [
            PairingRecord(pid, str(e["name"]), int(str(e["created"])))
            for pid, e in sorted(self._entries().items())
        ]

    def fresh(self, pairing_id: bytes, counter: int) -> bool:
        entries = self._entries()
        entry = entries.get(pairing_id.hex())
        if entry is None or counter <= int(str(entry["counter"])):
            return False
        updated = dict(entries)
        updated[pairing_id.hex()] = {**entry, "counter": counter}
        self._store.put("pairings", updated)
        return True
