"""The transaction application: what a sale, a refund (and every other kind) means. The kinds
are a table (:mod:`.kinds`); the steps of a card payment (:mod:`.card_steps`), the
authorization and its outcome (:mod:`.authorization`), the endings (:mod:`.endings`), the
journal records (:mod:`.records`) and a cold start's recovery (:mod:`.recovery`) each have a
module. The card itself is the kernel's business (:mod:`firmware_sim.kernel`).
"""

from __future__ import annotations

from .kinds import KIND_RULES, KindRule

# Transaction is imported from .transaction (it needs the journal, whose rules need the
# kinds table: importing it here would make that a cycle).
__all__ = ["KIND_RULES", "KindRule"]
