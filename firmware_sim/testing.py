"""Helpers to build a terminal core in memory: real SQLite in memory, the shipped test keys,
the built-in authorizer. For tests and doctests of firmware_sim."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from keys import KeyStore

from .authorizer import BuiltInAuthorizer
from .core import TerminalCore
from .journal import Journal

__all__ = ["make_core", "shipped_store"]


@lru_cache(maxsize=1)
def shipped_store() -> KeyStore:
    return KeyStore.load()


def make_core(journal: Journal | None = None, **options: Any) -> TerminalCore:
    store = shipped_store()
    options.setdefault("authorizer", BuiltInAuthorizer(store))
    return TerminalCore(journal=journal or Journal(), store=store, **options)
