"""The sessions of the link: LINK_RESET sent, answered and checked, a new session ending
what was in flight for the old one, a host starting again after a terminal's restart. A
part of :class:`protocols.link.Link` (this class is its base), kept apart because it is its
own responsibility: whom the link talks to, not how frames get there.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .codes import PROTOCOL_VERSION, MessageType
from .link_auth import AUTH_RESET_SIZE, RESET_SIZE, SESSION_SIZE, OpenedReset
from .link_events import (
    DeliveryFailed,
    DuplicateFrame,
    FrameRefused,
    MessageDelivered,
    PeerIncompatible,
    PeerReset,
    SessionEnded,
)
from .link_state import LinkState

if TYPE_CHECKING:
    from .link import _Arrived

__all__ = ["SessionHandshake", "NO_SESSION"]

NO_SESSION = bytes(SESSION_SIZE)


class SessionHandshake(LinkState):
    """What :class:`~protocols.link.Link` does with LINK_RESET frames and sessions."""

    def _pump(self, now: float) -> None:
        raise NotImplementedError

    def _control(self, message_type: MessageType, seq: int, tag: bytes) -> None:
        raise NotImplementedError

    def _discard(self, reason: str, size: int = 1) -> None:
        raise NotImplementedError

    def _ahead(self, seq: int) -> bool:
        raise NotImplementedError

    def _deliver(self, frames: list[_Arrived]) -> None:
        raise NotImplementedError

    def _handshake_failed(self) -> None:
        self._needs_reset = True
        self._handshake_deadline = None
        if self._queue:
            waiting = self._queue.popleft()
            self._events.append(DeliveryFailed(-1, waiting.message, 0))

    def _on_reset(self, seq: int, payload: bytes, now: float) -> None:
        if len(payload) not in (RESET_SIZE, AUTH_RESET_SIZE) or payload[0] != PROTOCOL_VERSION:
            # version 1 sent a bare 4-byte session id
            sized = len(payload) in (RESET_SIZE, AUTH_RESET_SIZE)
            version = payload[0] if sized else 1 if len(payload) == 4 else 0
            self.counters.frames_discarded += 1
            self._events.append(PeerIncompatible(version))
            return
        opened = self.guard.open_reset(seq, payload)
        if opened is None:
            self._refuse(seq, MessageType.LINK_RESET, "forged")
            return
        core = opened.core
        session, names = core[1 : 1 + SESSION_SIZE], core[1 + SESSION_SIZE :]
        if session == NO_SESSION:
            self._discard("LINK_RESET without a session id")
            return
        if opened.pairing_id is None and self.guard.required and self.guard.role == "host":
            # A terminal that restarted cannot know our pairing until we reset: its plain
            # reset is only a sign to start an authenticated session again.
            self._refuse(seq, MessageType.LINK_RESET, "unauthenticated")
            self._restart_session(now)
            return
        if session == self._peer_session:
            if not self.guard.same_pairing(opened):
                self._refuse(seq, MessageType.LINK_RESET, "forged")
                return
            later = self._ahead(seq)
            if later and not self.guard.fresh(opened):
                # an old reset of this session played back once the numbers have wrapped:
                # taken, it would make the peer's next frames look like duplicates
                self._refuse(seq, MessageType.LINK_RESET, "replayed")
                return
            # a retransmitted or duplicated reset of the session we are in: resetting again
            # would let a data frame already delivered through a second time
            self._control(MessageType.ACK, seq, self.guard.seal_reset_ack(seq, session, opened))
            self.counters.duplicates += 1
            self._events.append(DuplicateFrame(seq))
            if later:  # a later reset of this session (after a frame given up, or an answer
                # sent again): the peer sent it alone, once its earlier frames were resolved
                self._deliver(self._window.start(seq))
            if names == self._session:
                self._confirmed(now)
            elif not self._reset_outstanding():  # our answer was lost: answer again
                self._announce(now)
            return
        if not self.guard.fresh(opened):
            self._refuse(seq, MessageType.LINK_RESET, "replayed")
            return
        self._control(MessageType.ACK, seq, self.guard.seal_reset_ack(seq, session, opened))
        self._new_session(seq, opened, session, names, now)

    def _new_session(
        self, seq: int, opened: OpenedReset, session: bytes, names: bytes, now: float
    ) -> None:
        if self._peer_session is not None:
            self._end_session()
        elif self._reset_outstanding():
            self._in_flight.clear()  # ours named no peer: the one below names this one
        self._peer_session = session
        self._tag = bytes(a ^ b for a, b in zip(self._session, session, strict=True))
        self.guard.begin(opened, self._session, session)
        self.counters.messages_dropped += len(self._window.start(seq))  # the old session's
        self._peer_knows_us = names == self._session
        self.counters.sessions += 1
        self.counters.authenticated_sessions += self.guard.authenticated
        self._events.append(PeerReset(seq))
        if self._peer_knows_us:
            self._confirmed(now)
        else:
            self._announce(now)

    def _end_session(self) -> None:
        """Drop what was outstanding or queued for the session that ended; say so."""
        in_flight = [*self._in_flight.values(), *self._queue]
        dropped = [o.message for o in in_flight if o.message is not None]
        self._queue.clear()
        self._in_flight.clear()
        self.counters.messages_dropped += len(dropped)
        self._events.append(SessionEnded(tuple(dropped)))

    def _restart_session(self, now: float) -> None:
        """Forget the peer's session and reset, authenticated: the terminal restarted (or
        someone says so; either way, what was in flight is reported as dropped and whatever
        it was is asked again or looked up)."""
        if self._reset_outstanding():
            return  # a reset of ours is on its way already
        if self._peer_session is not None:
            self._end_session()
        self._peer_session = None
        self._tag = b""
        self._peer_knows_us = False
        self.guard.end()
        self._announce(now)

    def _refuse(self, seq: int, message_type: int, reason: str) -> None:
        if reason == "forged":
            self.counters.forged_frames += 1
        elif reason == "replayed":
            self.counters.replayed_frames += 1
        else:
            self.counters.unauthenticated_frames += 1
        self._events.append(FrameRefused(seq, message_type, reason))

    def _announce(self, now: float) -> None:
        """Send our LINK_RESET now, naming the peer's session: it does not know ours."""
        self._needs_reset = self._answer_due = True
        self._pump(now)

    def _reset_outstanding(self) -> bool:
        """Our LINK_RESET is in flight (alone: data frames wait for it)."""
        first = next(iter(self._in_flight.values()), None)
        return first is not None and first.message_type == MessageType.LINK_RESET

    def _confirmed(self, now: float) -> None:
        """The peer has our session id: our reset, if still outstanding, has done its work."""
        self._peer_knows_us = True
        self._handshake_deadline = None
        first = next(iter(self._in_flight.values()), None)
        if first is not None and first.message_type == MessageType.LINK_RESET and not first.resync:
            self._events.append(MessageDelivered(first.seq, None))
            self._in_flight.clear()
        # a reset that re-anchors the peer's window after a frame given up waits for its own
        # ACK: the peer knowing us says nothing of whether that reset arrived
        self._pump(now)
