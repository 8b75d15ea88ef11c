"""What the link reports, its settings and its counters: the data around
:class:`protocols.link.Link`, which re-exports all of it."""

from __future__ import annotations

from dataclasses import dataclass, field

from .errors import RemoteProtocolError
from .frame import INTERBYTE_TIMEOUT, MAX_FRAME_SIZE, FrameDiscarded
from .messages import Message

__all__ = [
    "LinkSettings",
    "LinkEvent",
    "MessageReceived",
    "MessageRejected",
    "MessageDelivered",
    "DeliveryFailed",
    "Retransmitted",
    "DuplicateFrame",
    "PeerReset",
    "PeerIncompatible",
    "SessionEnded",
    "StaleFrame",
    "FrameRefused",
    "MessageDropped",
    "FrameDiscarded",
    "LinkCounters",
]


@dataclass(frozen=True)
class LinkSettings:
    """The link's timing. Defaults suit 115200 baud; :meth:`for_baud` scales to slower lines.

    >>> LinkSettings.for_baud(9600).ack_timeout
    5.3
    """

    ack_timeout: float = 1.0
    max_retries: int = 3
    interbyte_timeout: float = INTERBYTE_TIMEOUT
    max_queued: int = 64

    @property
    def handshake_timeout(self) -> float:
        """How long a side whose reset was acknowledged waits for the peer's own reset."""
        return self.ack_timeout * (self.max_retries + 1)

    @classmethod
    def for_baud(cls, baud: int) -> LinkSettings:
        """ACK timeout: 1 s plus twice the wire time of the largest frame (10 bits a byte)."""
        wire_time = MAX_FRAME_SIZE * 10 / baud
        return cls(ack_timeout=round(1.0 + 2 * wire_time, 1))


@dataclass(frozen=True)
class MessageReceived:
    """A message from the peer. ``session`` is the session tag it came in: pass it back to
    :meth:`Link.send` with the answer, so an answer to a session that has ended is dropped."""

    message: Message
    seq: int
    session: bytes = field(default=b"", repr=False, compare=False)
    authenticated: bool = field(default=False, repr=False, compare=False)  # a MAC held


@dataclass(frozen=True)
class MessageRejected:
    """An intact frame whose message does not decode; answer with ERROR ``error.error_code``."""

    error: RemoteProtocolError
    seq: int
    message_type: int
    request_id: int = 0  # from the payload's header, when it holds one
    session: bytes = field(default=b"", repr=False, compare=False)


@dataclass(frozen=True)
class MessageDelivered:
    """The peer acknowledged our frame. ``message`` is None for a LINK_RESET."""

    seq: int
    message: Message | None


@dataclass(frozen=True)
class DeliveryFailed:
    """No ACK after the last retry: the frame may or may not have reached the peer.

    ``attempts`` 0 and ``seq`` -1: it was never sent, because the LINK_RESET before it failed."""

    seq: int
    message: Message | None
    attempts: int


@dataclass(frozen=True)
class Retransmitted:
    seq: int
    attempt: int
    reason: str  # "timeout" or "nak"


@dataclass(frozen=True)
class DuplicateFrame:
    """A retransmission of the frame delivered last: acknowledged again, not delivered."""

    seq: int


@dataclass(frozen=True)
class PeerReset:
    """The peer (re)started its side of the link: a new session."""

    seq: int


@dataclass(frozen=True)
class PeerIncompatible:
    """A LINK_RESET of another protocol version: not answered; the peer cannot be spoken to."""

    version: int


@dataclass(frozen=True)
class SessionEnded:
    """The peer started a new session: these messages, outstanding or queued for the old one,
    were dropped unsent (or unacknowledged). Whatever they reported is in the journal."""

    dropped: tuple[Message, ...]


@dataclass(frozen=True)
class StaleFrame:
    """An intact data frame or ACK carrying another session's tag: dropped, not answered."""

    seq: int
    type: int


@dataclass(frozen=True)
class FrameRefused:
    """An intact frame that failed authentication: ``reason`` "forged" (its MAC does not
    hold, or it names a pairing this side does not have), "replayed" (recorded earlier and
    sent again) or "unauthenticated" (no MAC where one is required). Dropped, counted, never
    answered."""

    seq: int
    type: int
    reason: str


@dataclass(frozen=True)
class MessageDropped:
    """A message dropped from a full queue (``reason``); never sent."""

    message: Message
    reason: str


@dataclass
class LinkCounters:
    """What the link has seen and done since it started; for status displays."""

    frames_sent: int = 0
    frames_received: int = 0
    retransmissions: int = 0
    naks_sent: int = 0
    naks_received: int = 0
    frames_discarded: int = 0
    duplicates: int = 0
    stale_frames: int = 0
    messages_dropped: int = 0
    sessions: int = 0
    forged_frames: int = 0
    replayed_frames: int = 0
    unauthenticated_frames: int = 0
    authenticated_sessions: int = 0


LinkEvent = (
    MessageReceived
    | MessageRejected
    | MessageDelivered
    | DeliveryFailed
    | Retransmitted
    | DuplicateFrame
    | PeerReset
    | PeerIncompatible
    | SessionEnded
    | StaleFrame
    | FrameRefused
    | MessageDropped
    | FrameDiscarded
)
