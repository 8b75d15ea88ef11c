"""The receiving side of the link's window: data frames delivered once each, in the order they
were sent, though up to :data:`WINDOW` of them are on the line at once and any may be lost.

A frame one past the last one delivered is delivered, and so are the frames held behind it. A
frame further ahead is held (and acknowledged): an earlier one is missing and will come again.
A frame not ahead of the last one delivered (0 or 128 to 255 steps on, modulo 256: serial
number arithmetic, RFC 1982) is a retransmission whose ACK was lost: acknowledged again, never
delivered twice.

After a LINK_RESET the sender has one data frame in flight until it is acknowledged, so the
first data frame ahead of the reset is the first one sent after it, whatever its number: a
reset given up by its sender, or taken as done without its ACK, leaves no gap to wait for.

A missing frame may never come: its sender gives up on it after ``max_retries``
retransmissions. The receiver learns that in one of two ways, neither of which depends on how
late the line delivers: the sender, once nothing is in flight, sends a LINK_RESET of the same
session (:meth:`ReceiveWindow.start` gives back what is held, to deliver); and the sender never
has frames :data:`WINDOW` or more apart in flight, so a frame ``WINDOW`` or more steps ahead
proves every frame ``WINDOW`` or more behind it resolved (acknowledged, or given up). No timer
skips a gap: a retransmission may be late by any amount, and one arriving after its gap was
skipped would be taken for a duplicate while its sender counted it delivered.

>>> window = ReceiveWindow[str]()
>>> window.start(9)  # the peer's LINK_RESET was frame 9: its data frames follow from 10
[]
>>> window.offer(10, "first")  # the first data frame after it
('new', ['first'])
>>> window.offer(12, "third")  # frame 11 was lost: hold
('held', [])
>>> window.offer(11, "second")  # its retransmission: both, in order
('new', ['second', 'third'])
>>> window.offer(11, "second")  # its ACK was lost: not again
('duplicate', [])
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Generic, TypeVar

__all__ = ["WINDOW", "ReceiveWindow", "ahead_of"]

WINDOW = 16
"""Data frames a side may have in flight (sent, not yet acknowledged or given up): the oldest
and the newest are at most WINDOW - 1 sequence numbers apart. A protocol constant (version 5,
docs/protocol.md section 3): both sides must agree on it, so it is no setting."""

T = TypeVar("T")


def ahead_of(seq: int, last: int | None) -> int:
    """How many steps ``seq`` is past ``last`` (1 to 127), or 0 when it is not ahead.

    >>> ahead_of(3, 255), ahead_of(255, 3), ahead_of(7, None)
    (4, 0, 1)
    """
    if last is None:
        return 1
    steps = (seq - last) & 0xFF
    return steps if steps < 128 else 0


class ReceiveWindow(Generic[T]):
    """Which frames to deliver now, in order. No I/O, no clock."""

    def __init__(self) -> None:
        self.last: int | None = None  # every frame up to this one is delivered or skipped
        self._anchored = False  # a data frame has come since the last LINK_RESET
        self._held: dict[int, T] = {}

    @property
    def held(self) -> int:
        return len(self._held)

    def start(self, seq: int) -> list[T]:
        """The peer's LINK_RESET was frame ``seq``: its data frames follow from ``seq`` + 1.
        What was held before it is given back (the caller decides whether to deliver it)."""
        earlier = [self._held[s] for s in self._in_order(self._held)]
        self.last, self._held, self._anchored = seq, {}, False
        return earlier

    def offer(self, seq: int, item: T) -> tuple[str, list[T]]:
        """A data frame arrived intact: "new" (delivered now), "held" (an earlier frame is
        missing) or "duplicate" (delivered or held already); with what is delivered now, in
        order (a frame far enough ahead releases earlier held ones too)."""
        steps = ahead_of(seq, self.last)
        if not steps or seq in self._held:
            return "duplicate", []
        # every frame WINDOW or more behind this one is resolved at the sender
        delivered = self._release_to((seq - WINDOW) & 0xFF) if steps > WINDOW else []
        if not self._anchored or self.last is None or seq == (self.last + 1) & 0xFF:
            self._anchored = True
            self.last = seq
            delivered.append(item)
            delivered += self._deliver_consecutive()
            verdict = "new"
        else:
            self._held[seq] = item
            verdict = "held"
        return verdict, delivered

    def _release_to(self, seq: int) -> list[T]:
        """Deliver what is held up to ``seq`` in order, skip the gaps; ``seq`` becomes last."""
        limit = ahead_of(seq, self.last)
        if not limit:
            return []
        assert self.last is not None or not self._held
        released = self._in_order(s for s in self._held if ahead_of(s, self.last) <= limit)
        delivered = [self._held.pop(s) for s in released]
        self.last = seq
        delivered += self._deliver_consecutive()
        return delivered

    def _in_order(self, seqs: Iterable[int]) -> list[int]:
        """Held sequence numbers in the order they were sent (all are ahead of ``last``)."""
        return sorted(seqs, key=lambda s: ahead_of(s, self.last))

    def _deliver_consecutive(self) -> list[T]:
        delivered = []
        while self.last is not None and (nxt := (self.last + 1) & 0xFF) in self._held:
            delivered.append(self._held.pop(nxt))
            self.last = nxt
        return delivered
