"""The sending half of the link: messages queued, data frames in a window in flight, each
retransmitted until acknowledged or given up (docs/protocol.md section 3, *Sending*). A part of
:class:`protocols.link.Link` (one of its bases), kept apart because it is its own
responsibility: what goes out and when, not what comes in.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .codes import PROTOCOL_VERSION, MessageType
from .errors import ErrorCode, LocalProtocolError
from .frame import Frame, encode_frame
from .link_events import (
    DeliveryFailed,
    MessageDropped,
    Retransmitted,
)
from .link_sessions import NO_SESSION
from .link_state import LinkState
from .link_window import WINDOW
from .messages import Message, encode_payload

__all__ = ["FrameSender", "DROPPABLE"]

# What may be dropped from a full queue, oldest first: a prompt is stale once a newer one is
# queued behind it, and a lost one costs the cardholder nothing (the journal holds outcomes).
DROPPABLE = frozenset({MessageType.PROMPT})


@dataclass
class _Outgoing:
    message_type: int
    payload: bytes  # a data frame's message bytes; a LINK_RESET's whole (sealed) payload
    message: Message | None
    seq: int = -1
    wire: bytes = b""
    attempts: int = 0
    deadline: float = 0.0
    # a data frame's payload as sent, each time: on a paired link each transmission is
    # sealed under a counter of its own, and an ACK may name any of them
    sent: list[bytes] = field(default_factory=list)
    resync: bool = False  # a reset of a session the peer knows, sent after a frame given up


class FrameSender(LinkState):
    """What :class:`~protocols.link.Link` does with what it sends."""

    if TYPE_CHECKING:

        @property
        def ready(self) -> bool: ...

        def _handshake_failed(self) -> None: ...

    def send(self, message: Message, now: float, *, session: bytes | None = None) -> None:
        """Queue ``message`` for delivery. LocalProtocolError if it cannot be sent.

        ``session``: the session tag of the request this message answers; if that session has
        ended, the message is dropped (:class:`MessageDropped`), never sent into the new one.
        A full queue first drops its oldest prompt; with none to drop the message is refused
        with QUEUE_FULL. Its fate comes back as :class:`MessageDelivered`,
        :class:`DeliveryFailed` or :class:`SessionEnded` carrying this same object."""
        payload = encode_payload(message)
        if session is not None and session != self._tag:
            self.counters.messages_dropped += 1
            self._events.append(MessageDropped(message, "its session has ended"))
            return
        if len(self._queue) >= self.settings.max_queued and not self._drop_oldest_prompt():
            raise LocalProtocolError(
                f"{len(self._queue)} messages already queued", error_code=ErrorCode.QUEUE_FULL
            )
        self._queue.append(_Outgoing(message.TYPE, payload, message))
        self._pump(now)

    def raw_frame(self, message_type: int, payload: bytes) -> bytes:
        """A data frame of this session around ``payload`` as given, taking the next sequence
        number, for tests and fuzzers that put malformed messages on the wire. Not tracked:
        nothing waits for its ACK."""
        if not self.ready:
            raise LocalProtocolError("no session yet", error_code=ErrorCode.LINK_FAILURE)
        seq = self._take_seq()
        sealed = self.guard.seal_data(seq, message_type, self._tag, payload)
        return encode_frame(Frame(seq, message_type, sealed))

    def _drop_oldest_prompt(self) -> bool:
        for out in self._queue:
            if out.message_type in DROPPABLE and out.message is not None:
                self._queue.remove(out)
                self.counters.messages_dropped += 1
                self._events.append(MessageDropped(out.message, "queue full"))
                return True
        return False

    def _pump(self, now: float) -> None:
        """Send what may go now: our LINK_RESET alone (nothing else in flight), or queued
        data frames while the window has room."""
        if self._needs_reset and (self._queue or self._answer_due):
            if self._in_flight:
                return  # a reset goes alone: the peer's window starts again behind it
            self._needs_reset = self._answer_due = False
            seq = self._take_seq()
            core = bytes((PROTOCOL_VERSION,)) + self._session + (self._peer_session or NO_SESSION)
            out = _Outgoing(MessageType.LINK_RESET, self.guard.seal_reset(seq, core), None, seq)
            out.resync = self._peer_knows_us and self._peer_session is not None
            out.wire = encode_frame(Frame(seq, out.message_type, out.payload))
            self._in_flight[seq] = out
            self._first_after_reset = True
            self._transmit(out, now)
            return
        if not self.ready or self._needs_reset:
            return
        while self._queue and self._window_open():
            out = self._queue.popleft()
            out.seq = self._take_seq()
            self._in_flight[out.seq] = out
            self._transmit(out, now)

    def _take_seq(self) -> int:
        seq = self._next_seq
        self._next_seq = (seq + 1) & 0xFF
        return seq

    def _window_open(self) -> bool:
        """The next frame would be fewer than WINDOW sequence numbers past the oldest one in
        flight; no reset is in flight (data waits for it); and a data frame has been
        acknowledged since the last reset (the peer's window anchors on the first one)."""
        if not self._in_flight:
            return True
        oldest = next(iter(self._in_flight.values()))
        return (
            oldest.message_type != MessageType.LINK_RESET
            and not self._first_after_reset
            and ((self._next_seq - oldest.seq) & 0xFF) < WINDOW
        )

    def _transmit(self, out: _Outgoing, now: float) -> None:
        if out.message_type != MessageType.LINK_RESET and (
            not out.wire or self.guard.authenticated
        ):
            sealed = self.guard.seal_data(out.seq, out.message_type, self._tag, out.payload)
            out.sent.append(sealed)
            out.wire = encode_frame(Frame(out.seq, out.message_type, sealed))
        out.attempts += 1
        out.deadline = now + self.settings.ack_timeout
        self._to_send += out.wire
        self.counters.frames_sent += 1

    def _retry(self, out: _Outgoing, now: float, reason: str) -> None:
        if out.attempts <= self.settings.max_retries:
            self._transmit(out, now)
            self.counters.retransmissions += 1
            self._events.append(Retransmitted(out.seq, out.attempts, reason))
            return
        del self._in_flight[out.seq]
        self._events.append(DeliveryFailed(out.seq, out.message, out.attempts))
        if out.message is None:
            # The peer may not know us: reset again before the next data frame, and give up
            # the frame that waited for this reset, so a missing peer costs one bounded wait
            # per message rather than resets for ever.
            self._handshake_failed()
        else:
            # A reset of this session once nothing is in flight: the peer delivers what it
            # holds behind the frame given up and takes our next frame as the first
            # (link_window.py), instead of waiting out the gap.
            self._needs_reset = self._answer_due = True
        self._pump(now)

    def data_to_send(self) -> bytes:
        """The bytes to write to the line now (empty if none)."""
        data = bytes(self._to_send)
        self._to_send.clear()
        return data

    @property
    def idle(self) -> bool:
        """Nothing in flight and nothing queued."""
        return not self._in_flight and not self._queue
