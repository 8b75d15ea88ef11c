"""``possim terminal --protocol zvt``: the same terminal, spoken to in ZVT
(:mod:`firmware_sim.zvt.link`)."""

from __future__ import annotations

from .link import DEFAULT_PASSWORD, ZVT_SESSION, ZvtCounters, ZvtLink

__all__ = ["DEFAULT_PASSWORD", "ZVT_SESSION", "ZvtCounters", "ZvtLink"]
