"""A small JSON file of secrets (mode 0600), written whole to a new file, synced and renamed
over the old one, so a crash leaves the old file or the new one, never half of either.
``None`` for a path keeps everything in memory (an in-memory journal's terminal).

>>> secrets = KeystoreFile(None)
>>> secrets.put("merchant_password", "scrypt$..."); secrets.get("merchant_password")
'scrypt$...'
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

__all__ = ["KeystoreFile"]


class KeystoreFile:
    def __init__(self, path: str | Path | None) -> None:
        self.path = Path(path) if path is not None else None
        self._data: dict[str, Any] = {}
        if self.path is not None and self.path.exists():
            loaded = json.loads(self.path.read_text(encoding="utf-8"))
            if isinstance(loaded, dict):
                self._data = loaded

    def get(self, name: str, default: Any = None) -> Any:
        return self._data.get(name, default)

    def put(self, name: str, value: Any) -> None:
        """Keep ``value`` under ``name`` and write the file (synced) before returning."""
        self._data[name] = value
        if self.path is None:
            return
        temporary = self.path.with_name(self.path.name + ".new")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as file:
            json.dump(self._data, file, indent=1, sort_keys=True)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, self.path)
