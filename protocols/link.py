"""The link layer, sans-IO: bytes in, events out; time passed in, deadlines out.

Each side runs one :class:`Link`. Data frames go out in a window: up to
:data:`~protocols.link_window.WINDOW` of them are in flight (sent, not yet acknowledged), the
oldest and the newest fewer than WINDOW sequence numbers apart. The peer's ACK names one
frame's sequence number; a frame is sent again after ``ack_timeout`` or at once on a NAK
naming it, at most ``max_retries`` times, then :class:`DeliveryFailed` is reported. The
receiver delivers each frame once, in the order sent (:mod:`protocols.link_window`): a frame
ahead of a missing one is held until the missing one comes or is given up; a frame not ahead
of the last one delivered is a retransmission, acknowledged again and not delivered.

Sessions. Each side has a random 4-byte session id. Before its first data frame a side sends
LINK_RESET (protocol version, its session id, the peer's session id as far as it knows it);
a side that receives a reset naming a session it has not seen answers with its own reset
naming the peer's, so both know both ids after one round trip. Every data frame and every ACK
then carries the session tag, the two ids XORed: a frame of an earlier session (a host that
died, a terminal still retransmitting to it) has another tag and is dropped, counted, never
delivered and never acknowledged. When the peer starts a new session, whatever was outstanding
or queued for the old one is dropped and reported in :class:`SessionEnded`.

>>> from protocols.messages import InfoRequest
>>> host, terminal = Link(session=b"HOST"), Link(session=b"TERM")
>>> host.send(InfoRequest(), now=0.0)
>>> for _ in range(3):  # host's reset; terminal's answering reset; the request
...     terminal.receive_data(host.data_to_send(), now=0.0)
...     host.receive_data(terminal.data_to_send(), now=0.0)
>>> terminal.events()  # doctest: +NORMALIZE_WHITESPACE
[PeerReset(seq=0), MessageDelivered(seq=0, message=None), MessageReceived(message=InfoRequest(request_id=0), seq=1)]
>>> host.events()  # doctest: +NORMALIZE_WHITESPACE
[MessageDelivered(seq=0, message=None), PeerReset(seq=0),
 MessageDelivered(seq=1, message=InfoRequest(request_id=0))]
"""

from __future__ import annotations

import secrets
from collections import deque
from dataclasses import dataclass

from .codes import MessageType
from .errors import ErrorCode, RemoteProtocolError
from .frame import Frame, FrameDecoder, FrameDiscarded, encode_frame
from .link_auth import (
    RESET_SIZE,
    SESSION_SIZE,
    TAG_SIZE,
    LinkGuard,
)
from .link_events import (
    DeliveryFailed,
    DuplicateFrame,
    FrameRefused,
    LinkCounters,
    LinkEvent,
    LinkSettings,
    MessageDelivered,
    MessageDropped,
    MessageReceived,
    MessageRejected,
    PeerIncompatible,
    PeerReset,
    Retransmitted,
    SessionEnded,
    StaleFrame,
)
from .link_sending import FrameSender, _Outgoing
from .link_sessions import NO_SESSION, SessionHandshake
from .link_window import ReceiveWindow, ahead_of
from .messages import decode_payload

__all__ = [
    "LinkSettings",
    "Link",
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
    "LinkGuard",
    "RESET_SIZE",
    "TAG_SIZE",
    "request_id_of",
]


@dataclass(frozen=True)
class _Arrived:
    """A data frame taken in and not yet delivered (held behind a missing one)."""

    seq: int
    message_type: int
    message: bytes
    tag: bytes
    authenticated: bool


_CONTROL = (MessageType.ACK, MessageType.NAK)


class Link(FrameSender, SessionHandshake):
    """One side of the link. Never does I/O, never reads a clock, never raises on input.
    Sending (the queue, the window in flight, retransmissions) is
    :mod:`protocols.link_sending`; the sessions (LINK_RESET, and what a new session ends)
    :mod:`protocols.link_sessions`; the MACs of a paired link :mod:`protocols.link_auth`."""

    def __init__(
        self,
        settings: LinkSettings | None = None,
        *,
        first_seq: int = 0,
        session: bytes | None = None,
        guard: LinkGuard | None = None,
    ) -> None:
        self.settings = settings or LinkSettings()
        self.guard = guard or LinkGuard()  # MACs on a paired link (protocols.link_auth)
        self.counters = LinkCounters()
        self._decoder = FrameDecoder(self.settings.interbyte_timeout)
        self._to_send = bytearray()
        self._events: deque[LinkEvent] = deque()
        self._queue: deque[_Outgoing] = deque()
        self._in_flight: dict[int, _Outgoing] = {}  # by sequence number, oldest first
        self._next_seq = first_seq & 0xFF
        self._window: ReceiveWindow[_Arrived] = ReceiveWindow()
        self._first_after_reset = True  # one data frame in flight until one is acknowledged
        # this run's session id, sent in LINK_RESET; the peer's current one; their tag
        self._session = session if session is not None else secrets.token_bytes(SESSION_SIZE)
        if len(self._session) != SESSION_SIZE or self._session == NO_SESSION:
            raise ValueError(f"a session id is {SESSION_SIZE} bytes, not all zero")
        self._peer_session: bytes | None = None
        self._tag = b""
        self._peer_knows_us = False  # the peer has our session id (it acknowledged or named it)
        self._needs_reset = True  # our reset must go out before our next data frame
        self._answer_due = False  # ... and now, even with nothing queued
        self._handshake_deadline: float | None = None

    @property
    def session(self) -> bytes:
        """This side's session id."""
        return self._session

    @property
    def ready(self) -> bool:
        """Both sides know both session ids: data frames can flow."""
        return self._peer_session is not None and self._peer_knows_us

    # --- receiving -----------------------------------------------------------------------

    def receive_data(self, data: bytes, now: float) -> None:
        """Feed bytes read from the line."""
        for item in self._decoder.feed(data, now):
            self._on_frame_event(item, now)

    def _discard(self, reason: str, size: int = 1) -> None:
        self.counters.frames_discarded += 1
        error = RemoteProtocolError(reason, error_code=ErrorCode.BAD_FRAME)
        self._events.append(FrameDiscarded(error, size))

    def _on_frame_event(self, item: Frame | FrameDiscarded, now: float) -> None:
        if isinstance(item, FrameDiscarded):
            self.counters.frames_discarded += 1
            self._events.append(item)
            if item.header_ok and item.seq is not None:
                nak = self.guard.seal_nak(item.seq, self._tag)
                if nak is not None:
                    self.counters.naks_sent += 1
                    self._control(MessageType.NAK, item.seq, nak)
            return
        self.counters.frames_received += 1
        seq, message_type, payload = item.seq, item.type, item.payload
        if message_type == MessageType.ACK:
            self._on_ack(seq, payload, now)
        elif message_type == MessageType.NAK:
            if not self.guard.open_nak(seq, payload):
                self._refuse(seq, message_type, "forged")
            elif seq in self._in_flight:
                self.counters.naks_received += 1
                self._retry(self._in_flight[seq], now, "nak")
        elif message_type == MessageType.LINK_RESET:
            self._on_reset(seq, payload, now)
        else:
            self._on_data(seq, message_type, payload, now)

    def _on_ack(self, seq: int, payload: bytes, now: float) -> None:
        if len(payload) < TAG_SIZE:
            self._discard("ACK without its session tag")
            return
        out = self._in_flight.get(seq)
        if out is None:
            return  # late: an ACK of a frame already acknowledged or given up
        is_reset = out.message_type == MessageType.LINK_RESET
        if is_reset:
            named = self.guard.open_reset_ack(seq, payload, out.payload)
        else:
            named = None
            for sent in reversed(out.sent):  # the newest transmission's ACK first
                named = self.guard.open_ack(seq, payload, sent)
                if named is not None:
                    break
        if named is None:
            self._refuse(seq, MessageType.ACK, "forged")
            return
        if named != (self._session if is_reset else self._tag):
            self.counters.stale_frames += 1
            self._events.append(StaleFrame(seq, MessageType.ACK))
            return
        del self._in_flight[seq]
        self._first_after_reset = self._first_after_reset and is_reset
        self._events.append(MessageDelivered(seq, out.message))
        if is_reset:
            self._peer_knows_us = True
            if self._peer_session is None:  # now wait for the peer's own reset
                self._handshake_deadline = now + self.settings.handshake_timeout
        self._pump(now)

    def _on_data(self, seq: int, message_type: int, payload: bytes, now: float) -> None:
        if self._peer_session is None or payload[:TAG_SIZE] != self._tag:
            # another session's frame: a dead host's, or ours to a host that has gone
            self.counters.stale_frames += 1
            self._events.append(StaleFrame(seq, message_type))
            if self._peer_session is None and self._needs_reset and not self._in_flight:
                # we have just started and the peer does not know it: tell it who we are
                self._answer_due = True
                self._pump(now)
            return
        opened = self.guard.open_data(seq, message_type, payload)
        if isinstance(opened, str):
            self._refuse(seq, message_type, opened)
            return
        # a paired link's counter first: a transmission seen before is acknowledged again,
        # an older one (a replay) is refused unanswered; then the window (link_window.py)
        verdict = "new" if opened.counter is None else self.guard.classify(opened.counter)
        if verdict == "replayed":
            self._refuse(seq, message_type, verdict)
            return
        self._control(MessageType.ACK, seq, self.guard.seal_ack(seq, self._tag, payload))
        if not self._peer_knows_us:
            self._confirmed(now)
        arrived = _Arrived(seq, message_type, opened.message, self._tag, opened.counter is not None)
        if verdict == "new":
            verdict, delivered = self._window.offer(seq, arrived)
            self._deliver(delivered)
        if verdict == "duplicate":
            # not ahead of the last frame delivered (serial-number arithmetic, RFC 1982), or
            # held already, or the same transmission twice: a retransmission, or a copy
            self.counters.duplicates += 1
            self._events.append(DuplicateFrame(seq))

    def _deliver(self, frames: list[_Arrived]) -> None:
        for frame in frames:
            try:
                message = decode_payload(frame.message_type, frame.message)
            except RemoteProtocolError as error:
                request_id = request_id_of(frame.message)
                self._events.append(
                    MessageRejected(error, frame.seq, frame.message_type, request_id, frame.tag)
                )
            else:
                self._events.append(
                    MessageReceived(message, frame.seq, frame.tag, frame.authenticated)
                )

    def _ahead(self, seq: int) -> bool:
        """``seq`` is ahead of the last frame delivered from the peer: 1 to 127 steps on."""
        return ahead_of(seq, self._window.last) > 0

    def _control(self, message_type: MessageType, seq: int, tag: bytes) -> None:
        self._to_send += encode_frame(Frame(seq, message_type, tag))
        self.counters.frames_sent += 1

    # --- time ----------------------------------------------------------------------------

    def next_deadline(self) -> float | None:
        """The earliest time at which :meth:`tick` has something to do; None if never."""
        deadlines = [d for d in (self._decoder.deadline(), self._handshake_deadline) if d]
        deadlines += [out.deadline for out in self._in_flight.values()]
        return min(deadlines) if deadlines else None

    def tick(self, now: float) -> None:
        """Let time pass: truncate a stalled frame, retransmit or give up on unacknowledged
        frames, give up waiting for the peer's reset."""
        for item in self._decoder.expire(now):
            self._on_frame_event(item, now)
        due = [out for out in self._in_flight.values() if now >= out.deadline]
        for out in due:
            if self._in_flight.get(out.seq) is out:  # not ended by a failure before it
                self._retry(out, now, "timeout")
        if self._handshake_deadline is not None and now >= self._handshake_deadline:
            self._handshake_failed()
            self._pump(now)

    # --- events --------------------------------------------------------------------------

    def next_event(self) -> LinkEvent | None:
        """The next event, or None when there is none until more data or time."""
        return self._events.popleft() if self._events else None

    def events(self) -> list[LinkEvent]:
        """All pending events."""
        out = list(self._events)
        self._events.clear()
        return out


def request_id_of(payload: bytes) -> int:
    """The request id at the head of a message payload that may not decode (0 if too short).

    >>> request_id_of(bytes.fromhex("0102 ff")), request_id_of(b"")
    (258, 0)
    """
    return int.from_bytes(payload[:2], "big") if len(payload) >= 2 else 0
