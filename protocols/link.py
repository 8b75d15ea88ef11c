"""The link layer, sans-IO: bytes in, events out; time passed in, deadlines out.

Each side runs one :class:`Link`. Data frames are sent stop-and-wait: one frame is
outstanding until the peer's ACK names its sequence number; it is sent again after
``ack_timeout`` or at once on a NAK, at most ``max_retries`` times, then
:class:`DeliveryFailed` is reported. A frame whose sequence number is not ahead of the last
one delivered from the peer (1 to 127 steps on, modulo 256) is a retransmission: it is
acknowledged again and not delivered.
Before its first data frame a link sends LINK_RESET with a random session id, so the peer
forgets the last sequence
number it saw from a previous run of this side.

>>> from protocols.messages import InfoRequest
>>> host, terminal = Link(session=b"HOST"), Link(session=b"TERM")
>>> host.send(InfoRequest(), now=0.0)
>>> for _ in range(2):  # LINK_RESET first, then the request, each ACKed
...     terminal.receive_data(host.data_to_send(), now=0.0)
...     host.receive_data(terminal.data_to_send(), now=0.0)
>>> terminal.events()
[PeerReset(seq=0), MessageReceived(message=InfoRequest(), seq=1)]
>>> host.events()
[MessageDelivered(seq=0, message=None), MessageDelivered(seq=1, message=InfoRequest())]
"""

from __future__ import annotations

import secrets
from collections import deque
from dataclasses import dataclass

from .codes import MessageType
from .errors import ErrorCode, LocalProtocolError, RemoteProtocolError
from .frame import (
    INTERBYTE_TIMEOUT,
    MAX_FRAME_SIZE,
    Frame,
    FrameDecoder,
    FrameDiscarded,
    encode_frame,
)
from .messages import Message, decode_payload, encode_payload

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
    "FrameDiscarded",
]


SESSION_SIZE = 4  # bytes of random session id in LINK_RESET


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

    @classmethod
    def for_baud(cls, baud: int) -> LinkSettings:
        """ACK timeout: 1 s plus twice the wire time of the largest frame (10 bits a byte)."""
        wire_time = MAX_FRAME_SIZE * 10 / baud
        return cls(ack_timeout=round(1.0 + 2 * wire_time, 1))


@dataclass(frozen=True)
class MessageReceived:
    message: Message
    seq: int


@dataclass(frozen=True)
class MessageRejected:
    """An intact frame whose message does not decode; answer with ERROR ``error.error_code``."""

    error: RemoteProtocolError
    seq: int
    message_type: int


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
    """The peer (re)started its side of the link."""

    seq: int


LinkEvent = (
    MessageReceived
    | MessageRejected
    | MessageDelivered
    | DeliveryFailed
    | Retransmitted
    | DuplicateFrame
    | PeerReset
    | FrameDiscarded
)


@dataclass
class _Outgoing:
    message_type: int
    payload: bytes
    message: Message | None
    seq: int = -1
    wire: bytes = b""
    attempts: int = 0
    deadline: float = 0.0


_CONTROL = (MessageType.ACK, MessageType.NAK)


class Link:
    """One side of the link. Never does I/O, never reads a clock, never raises on input."""

    def __init__(
        self,
        settings: LinkSettings | None = None,
        *,
        first_seq: int = 0,
        session: bytes | None = None,
    ) -> None:
        self.settings = settings or LinkSettings()
        self._decoder = FrameDecoder(self.settings.interbyte_timeout)
        self._to_send = bytearray()
        self._events: deque[LinkEvent] = deque()
        self._queue: deque[_Outgoing] = deque()
        self._outstanding: _Outgoing | None = None
        self._next_seq = first_seq & 0xFF
        self._peer_last_seq: int | None = None
        # this run's session id, sent in LINK_RESET; and the peer's current one
        self._session = session if session is not None else secrets.token_bytes(SESSION_SIZE)
        if len(self._session) != SESSION_SIZE:
            raise ValueError(f"a session id is {SESSION_SIZE} bytes")
        self._peer_session: bytes | None = None
        self._needs_reset = True

    # --- sending -------------------------------------------------------------------------

    def send(self, message: Message, now: float) -> None:
        """Queue ``message`` for delivery. LocalProtocolError if it cannot be sent.

        Its fate comes back as :class:`MessageDelivered` or :class:`DeliveryFailed` carrying
        this same object."""
        payload = encode_payload(message)
        if len(self._queue) >= self.settings.max_queued:
            raise LocalProtocolError(
                f"{len(self._queue)} messages already queued", error_code=ErrorCode.QUEUE_FULL
            )
        self._queue.append(_Outgoing(message.TYPE, payload, message))
        self._pump(now)

    def _pump(self, now: float) -> None:
        if self._outstanding is not None or not self._queue:
            return
        if self._needs_reset:
            self._needs_reset = False
            out = _Outgoing(MessageType.LINK_RESET, self._session, None)
        else:
            out = self._queue.popleft()
        out.seq = self._next_seq
        self._next_seq = (self._next_seq + 1) & 0xFF
        out.wire = encode_frame(Frame(out.seq, out.message_type, out.payload))
        self._outstanding = out
        self._transmit(out, now)

    def _transmit(self, out: _Outgoing, now: float) -> None:
        out.attempts += 1
        out.deadline = now + self.settings.ack_timeout
        self._to_send += out.wire

    def _retry(self, now: float, reason: str) -> None:
        out = self._outstanding
        assert out is not None
        if out.attempts <= self.settings.max_retries:
            self._transmit(out, now)
            self._events.append(Retransmitted(out.seq, out.attempts, reason))
            return
        self._outstanding = None
        self._events.append(DeliveryFailed(out.seq, out.message, out.attempts))
        if out.message is None:
            # The peer may not know we restarted: reset again before the next data frame,
            # and give up the frame that waited for this reset, so a missing peer costs one
            # bounded wait per message rather than resets for ever.
            self._needs_reset = True
            if self._queue:
                waiting = self._queue.popleft()
                self._events.append(DeliveryFailed(-1, waiting.message, 0))
        self._pump(now)

    def data_to_send(self) -> bytes:
        """The bytes to write to the line now (empty if none)."""
        data = bytes(self._to_send)
        self._to_send.clear()
        return data

    @property
    def idle(self) -> bool:
        """Nothing outstanding and nothing queued."""
        return self._outstanding is None and not self._queue

    # --- receiving -----------------------------------------------------------------------

    def receive_data(self, data: bytes, now: float) -> None:
        """Feed bytes read from the line."""
        for item in self._decoder.feed(data, now):
            self._on_frame_event(item, now)

    def _on_frame_event(self, item: Frame | FrameDiscarded, now: float) -> None:
        if isinstance(item, FrameDiscarded):
            self._events.append(item)
            if item.header_ok and item.seq is not None:
                self._control(MessageType.NAK, item.seq)
            return
        seq, message_type = item.seq, item.type
        if message_type in _CONTROL:
            if item.payload:
                self._events.append(
                    FrameDiscarded(
                        RemoteProtocolError(
                            "ACK or NAK with a payload", error_code=ErrorCode.BAD_FRAME
                        ),
                        1,
                    )
                )
            elif message_type == MessageType.ACK:
                out = self._outstanding
                if out is not None and out.seq == seq:
                    self._outstanding = None
                    self._events.append(MessageDelivered(seq, out.message))
                    self._pump(now)
            elif self._outstanding is not None:
                self._retry(now, "nak")
            return
        if message_type == MessageType.LINK_RESET:
            if len(item.payload) != SESSION_SIZE:
                self._events.append(
                    FrameDiscarded(
                        RemoteProtocolError(
                            "LINK_RESET without its session id", error_code=ErrorCode.BAD_FRAME
                        ),
                        1,
                    )
                )
                return
            self._control(MessageType.ACK, seq)
            if item.payload == self._peer_session:
                # a retransmitted or duplicated reset of the session we are in: resetting
                # again would let a data frame already delivered through a second time
                self._events.append(DuplicateFrame(seq))
                return
            self._peer_session = item.payload
            self._peer_last_seq = seq
            self._events.append(PeerReset(seq))
            return
        self._control(MessageType.ACK, seq)
        if self._peer_last_seq is not None and not 0 < (seq - self._peer_last_seq) % 256 < 128:
            # not ahead of the last frame delivered (serial-number arithmetic, RFC 1982): a
            # retransmission, possibly reordered behind newer frames by a duplicating line
            self._events.append(DuplicateFrame(seq))
            return
        self._peer_last_seq = seq
        try:
            message = decode_payload(message_type, item.payload)
        except RemoteProtocolError as error:
            self._events.append(MessageRejected(error, seq, message_type))
        else:
            self._events.append(MessageReceived(message, seq))

    def _control(self, message_type: MessageType, seq: int) -> None:
        self._to_send += encode_frame(Frame(seq, message_type, b""))

    # --- time ----------------------------------------------------------------------------

    def next_deadline(self) -> float | None:
        """The earliest time at which :meth:`tick` has something to do; None if never."""
        deadlines = [d for d in (self._decoder.deadline(),) if d is not None]
        if self._outstanding is not None:
            deadlines.append(self._outstanding.deadline)
        return min(deadlines) if deadlines else None

    def tick(self, now: float) -> None:
        """Let time pass: truncate a stalled frame, retransmit or give up on an unACKed one."""
        for item in self._decoder.expire(now):
            self._on_frame_event(item, now)
        if self._outstanding is not None and now >= self._outstanding.deadline:
            self._retry(now, "timeout")

    # --- events --------------------------------------------------------------------------

    def next_event(self) -> LinkEvent | None:
        """The next event, or None when there is none until more data or time."""
        return self._events.popleft() if self._events else None

    def events(self) -> list[LinkEvent]:
        """All pending events."""
        out = list(self._events)
        self._events.clear()
        return out
