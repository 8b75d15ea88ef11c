"""The state that the halves of :class:`protocols.link.Link` share: declared once here, for
the type checker, by the base both halves (:mod:`protocols.link_sending`,
:mod:`protocols.link_sessions`) stand on. ``Link.__init__`` sets every one of them."""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING

from .link_auth import LinkGuard
from .link_events import LinkCounters, LinkEvent, LinkSettings

if TYPE_CHECKING:
    from .link import _Arrived
    from .link_sending import _Outgoing
    from .link_window import ReceiveWindow

__all__ = ["LinkState"]


class LinkState:
    settings: LinkSettings
    counters: LinkCounters
    guard: LinkGuard
    _events: deque[LinkEvent]
    _to_send: bytearray
    _queue: deque[_Outgoing]
    _in_flight: dict[int, _Outgoing]  # by sequence number, oldest first
    _next_seq: int
    _first_after_reset: bool  # one data frame in flight until one is acknowledged
    _window: ReceiveWindow[_Arrived]
    _session: bytes  # ours
    _peer_session: bytes | None
    _tag: bytes  # both session ids XORed
    _peer_knows_us: bool
    _needs_reset: bool  # our reset must go out before our next data frame
    _answer_due: bool  # ... and now, even with nothing queued
    _handshake_deadline: float | None
