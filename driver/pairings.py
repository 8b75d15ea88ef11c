"""The host's pairing file: which terminal, on which port, shares which long-term key with
this host (JSON, mode 0600, in a 0700 directory; like SSH's known hosts and key together).
``$POSSIM_PAIRINGS`` names it, else ``~/.config/possim/pairings.json``. Writers hold an
exclusive lock on it, so two `possim pair` runs do not lose each other's pairing.

>>> import tempfile, os
>>> path = os.path.join(tempfile.mkdtemp(), "pairings.json")
>>> pairings = PairingFile(path)
>>> pairings.add("socket://127.0.0.1:4000", "POSSIM01", LongTermKey(bytes(8), bytes(32)))
>>> pairings.link_keys("socket://127.0.0.1:4000").pairing_id.hex(), oct(os.stat(path).st_mode & 0o777)
('0000000000000000', '0o600')
"""

from __future__ import annotations

import fcntl
import json
import os
import time
from pathlib import Path
from typing import Any

from keys.link_keys import HostLinkKeys, PairingRecord
from keys.pairing import PAIRING_ID_SIZE, LongTermKey

__all__ = ["PairingFile", "default_pairing_file"]


def default_pairing_file() -> Path:
    named = os.environ.get("POSSIM_PAIRINGS")
    return Path(named) if named else Path.home() / ".config" / "possim" / "pairings.json"


def port_key(port: str) -> str:
    """A port as the pairing file names it: without a URL's query (a CA file may move)."""
    return port.partition("?")[0]


class PairingFile:
    def __init__(self, path: str | Path | None = None) -> None:
        self.path = Path(path) if path is not None else default_pairing_file()

    def _read(self) -> dict[str, Any]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        terminals = data.get("terminals", {}) if isinstance(data, dict) else {}
        return terminals if isinstance(terminals, dict) else {}

    def _update(self, change: Any) -> bool:
        """Apply ``change`` to the entries under an exclusive lock; write them if it says so."""
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        lock = os.open(self.path.with_name(self.path.name + ".lock"), os.O_CREAT | os.O_RDWR, 0o600)
        try:
            fcntl.flock(lock, fcntl.LOCK_EX)
            entries = self._read()
            if not change(entries):
                return False
            fresh = self.path.with_name(self.path.name + ".new")
            fd = os.open(fresh, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as file:
                json.dump({"terminals": entries}, file, indent=1, sort_keys=True)
                file.flush()
                os.fsync(file.fileno())
            os.replace(fresh, self.path)
            return True
        finally:
            os.close(lock)

    def add(self, port: str, terminal_name: str, long_term: LongTermKey) -> None:
        def change(entries: dict[str, Any]) -> bool:
            entries[port_key(port)] = {
                "pairing_id": long_term.pairing_id.hex(),
                "name": terminal_name,
                "key": long_term.key.hex(),
                "created": int(time.time()),
            }
            return True

        self._update(change)

    def link_keys(self, port: str) -> HostLinkKeys | None:
        """The keys for the terminal at ``port``; None when this host is not paired with it."""
        entry = self._read().get(port_key(port))
        if not isinstance(entry, dict):
            return None
        try:
            pairing_id, key = bytes.fromhex(entry["pairing_id"]), bytes.fromhex(entry["key"])
        except (KeyError, TypeError, ValueError):
            return None
        if len(pairing_id) != PAIRING_ID_SIZE:
            return None
        return HostLinkKeys(LongTermKey(pairing_id, key), clock=time.time_ns)

    def forget(self, pairing_id: str) -> bool:
        """Remove the pairing with this id (hex); whether there was one."""

        def change(entries: dict[str, Any]) -> bool:
            doomed = [p for p, e in entries.items() if e.get("pairing_id") == pairing_id]
            for port in doomed:
                del entries[port]
            return bool(doomed)

        return self._update(change)

    def records(self) -> list[PairingRecord]:
        return [
            PairingRecord(str(e["pairing_id"]), str(e["name"]), int(e["created"]), port)
            for port, e in sorted(self._read().items())
        ]
