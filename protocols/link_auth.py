"""Authenticated frames: what :class:`protocols.link.Link` seals before it sends and opens
before it believes, given a pairing's keys (from :mod:`keys.link_keys`, passed in: protocols
import no keys). Without keys every method passes frames through as they are.

On a paired link:

- LINK_RESET: version, own session, named session, then the pairing id (8), a counter (8,
  never repeated: a reset recorded earlier is refused) and a 16-byte MAC under the pairing's
  reset key of the sender. Its ACK: the session id and a 16-byte MAC binding it to that reset.
- a data frame: the session tag (4), the sender's frame counter (4), the message, an 8-byte
  MAC under the sender's session key over type, sequence number, tag, counter and message. A
  counter not past the last one delivered is a retransmission of that frame (acknowledged
  again) or a replay (dropped, counted, not answered).
- ACK: tag, the acknowledged frame's counter, MAC. NAK: tag, MAC.

A side that requires authentication (a host with a pairing; a terminal on TCP or told to)
takes an unauthenticated reset only as the start of an unauthenticated session, in which a
terminal delivers nothing but ``open_types`` (pairing), and a host only as a sign that the
terminal restarted (it starts an authenticated session again).

>>> guard = LinkGuard()
>>> guard.seal_data(seq=1, message_type=0x20, tag=b"TAG!", payload=b"\\x00\\x01")
b'TAG!\\x00\\x01'
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from .codes import MessageType

__all__ = [
    "LinkKeys",
    "SessionMacs",
    "LinkGuard",
    "OpenedReset",
    "OpenedData",
    "RESET_SIZE",
    "AUTH_RESET_SIZE",
    "SESSION_SIZE",
    "TAG_SIZE",
    "COUNTER_SIZE",
    "FRAME_MAC_SIZE",
    "RESET_MAC_SIZE",
]

SESSION_SIZE = 4  # bytes of random session id in LINK_RESET
RESET_SIZE = 1 + 2 * SESSION_SIZE  # LINK_RESET payload: version, own session, peer's session
TAG_SIZE = SESSION_SIZE  # the session tag before a data frame's message and in every ACK
PAIRING_ID_SIZE = 8
RESET_COUNTER_SIZE = 8
RESET_MAC_SIZE = 16
AUTH_RESET_SIZE = RESET_SIZE + PAIRING_ID_SIZE + RESET_COUNTER_SIZE + RESET_MAC_SIZE
COUNTER_SIZE = 4
FRAME_MAC_SIZE = 8


class SessionMacs(Protocol):
    def seal(self, sender: str, data: bytes) -> bytes: ...

    def check(self, sender: str, data: bytes, mac: bytes) -> bool: ...


class LinkKeys(Protocol):
    """What the link asks of the secure element; :mod:`keys.link_keys` implements it."""

    def seal_reset(self, pairing_id: bytes, sender: str, data: bytes) -> bytes: ...

    def check_reset(self, pairing_id: bytes, sender: str, data: bytes, mac: bytes) -> bool: ...

    def fresh(self, pairing_id: bytes, counter: int) -> bool: ...

    def next_counter(self) -> int: ...

    def session(
        self, pairing_id: bytes, host_session: bytes, terminal_session: bytes
    ) -> SessionMacs: ...


@dataclass(frozen=True)
class OpenedReset:
    """A LINK_RESET whose MAC held (or that carried none: ``pairing_id`` None)."""

    core: bytes  # version, sender's session, the session it names
    pairing_id: bytes | None
    counter: int
    mac: bytes


@dataclass(frozen=True)
class OpenedData:
    tag: bytes
    counter: int | None  # None on an unauthenticated session
    message: bytes


class LinkGuard:
    """One side's sealing and opening. ``role``: "host" or "terminal"."""

    def __init__(
        self,
        keys: LinkKeys | None = None,
        role: str = "host",
        *,
        pairing_id: bytes | None = None,
        required: bool | None = None,
        open_types: frozenset[int] = frozenset(),
    ) -> None:
        self._keys = keys
        self.role = role
        self._peer_role = "terminal" if role == "host" else "host"
        self.required = (keys is not None) if required is None else required
        self._open_types = open_types
        self._own_pairing = pairing_id  # a host's: the pairing it starts sessions with
        self._pairing: bytes | None = pairing_id  # the current session's
        self._macs: SessionMacs | None = None
        self._send_counter = 0
        self._peer_counter = 0

    @property
    def authenticated(self) -> bool:
        """The current session is authenticated (its frames carry MACs)."""
        return self._macs is not None

    # --- sessions --------------------------------------------------------------------------

    def seal_reset(self, seq: int, core: bytes) -> bytes:
        keys, pairing = self._keys, self._pairing
        if keys is None or pairing is None:
            return core
        body = core + pairing + keys.next_counter().to_bytes(RESET_COUNTER_SIZE, "big")
        header = bytes((MessageType.LINK_RESET, seq))
        return body + keys.seal_reset(pairing, self.role, header + body)

    def open_reset(self, seq: int, payload: bytes) -> OpenedReset | None:
        """The reset, or None when its MAC does not hold (forged, or an unknown pairing)."""
        if len(payload) == RESET_SIZE:
            return OpenedReset(payload, None, 0, b"")
        if self._keys is None:
            return None
        body, mac = payload[:-RESET_MAC_SIZE], payload[-RESET_MAC_SIZE:]
        pairing = body[RESET_SIZE : RESET_SIZE + PAIRING_ID_SIZE]
        header = bytes((MessageType.LINK_RESET, seq))
        if not self._keys.check_reset(pairing, self._peer_role, header + body, mac):
            return None
        counter = int.from_bytes(body[RESET_SIZE + PAIRING_ID_SIZE :], "big")
        return OpenedReset(payload[:RESET_SIZE], pairing, counter, mac)

    def fresh(self, reset: OpenedReset) -> bool:
        """A new session's reset is not one recorded earlier (its counter is past the last)."""
        return reset.pairing_id is None or (
            self._keys is not None and self._keys.fresh(reset.pairing_id, reset.counter)
        )

    def same_pairing(self, reset: OpenedReset) -> bool:
        """A reset of the current session comes under the current session's pairing."""
        return reset.pairing_id == (self._pairing if self.authenticated else None)

    def begin(self, reset: OpenedReset, own_session: bytes, peer_session: bytes) -> None:
        """A new session with the peer that sent ``reset``."""
        self._peer_counter = 0
        self._macs = None
        if reset.pairing_id is None or self._keys is None:
            self._pairing = self._own_pairing
            return
        self._pairing = reset.pairing_id
        host, terminal = (
            (own_session, peer_session) if self.role == "host" else (peer_session, own_session)
        )
        self._macs = self._keys.session(reset.pairing_id, host, terminal)

    def end(self) -> None:
        """No session: the next reset goes out under our own pairing (a host's), if any."""
        self._macs = None
        self._pairing = self._own_pairing
        self._peer_counter = 0

    def seal_reset_ack(self, seq: int, session: bytes, reset: OpenedReset) -> bytes:
        if reset.pairing_id is None or self._keys is None:
            return session
        data = bytes((MessageType.ACK, seq)) + session + reset.mac
        return session + self._keys.seal_reset(reset.pairing_id, self.role, data)

    def open_reset_ack(self, seq: int, payload: bytes, sent_reset: bytes) -> bytes | None:
        """The session id an ACK of our reset names, or None when it does not hold."""
        if len(sent_reset) == RESET_SIZE:  # ours carried no MAC
            return payload if len(payload) == SESSION_SIZE else None
        if self._keys is None or len(payload) != SESSION_SIZE + RESET_MAC_SIZE:
            return None
        session, mac = payload[:SESSION_SIZE], payload[SESSION_SIZE:]
        pairing = sent_reset[RESET_SIZE : RESET_SIZE + PAIRING_ID_SIZE]
        data = bytes((MessageType.ACK, seq)) + session + sent_reset[-RESET_MAC_SIZE:]
        return session if self._keys.check_reset(pairing, self._peer_role, data, mac) else None

    # --- data, ACK, NAK --------------------------------------------------------------------

    def seal_data(self, seq: int, message_type: int, tag: bytes, payload: bytes) -> bytes:
        if self._macs is None:
            return tag + payload
        self._send_counter += 1
        body = tag + self._send_counter.to_bytes(COUNTER_SIZE, "big") + payload
        return body + self._macs.seal(self.role, bytes((message_type, seq)) + body)

    def open_data(self, seq: int, message_type: int, payload: bytes) -> OpenedData | str:
        """The frame's parts, or why it is refused: "forged" or "unauthenticated"."""
        if self._macs is None:
            if self.required and self.role == "terminal" and message_type not in self._open_types:
                return "unauthenticated"
            return OpenedData(payload[:TAG_SIZE], None, payload[TAG_SIZE:])
        if len(payload) < TAG_SIZE + COUNTER_SIZE + FRAME_MAC_SIZE:
            return "forged"
        body, mac = payload[:-FRAME_MAC_SIZE], payload[-FRAME_MAC_SIZE:]
        if not self._macs.check(self._peer_role, bytes((message_type, seq)) + body, mac):
            return "forged"
        counter = int.from_bytes(body[TAG_SIZE : TAG_SIZE + COUNTER_SIZE], "big")
        return OpenedData(body[:TAG_SIZE], counter, body[TAG_SIZE + COUNTER_SIZE :])

    def classify(self, counter: int) -> str:
        """An authenticated frame's counter: "new" (delivered), "duplicate" (the last one
        again: acknowledged, not delivered) or "replayed" (older: dropped, not answered)."""
        if counter > self._peer_counter:
            self._peer_counter = counter
            return "new"
        return "duplicate" if counter == self._peer_counter else "replayed"

    def seal_ack(self, seq: int, tag: bytes, data_payload: bytes) -> bytes:
        """The ACK of a data frame whose (authenticated) payload was ``data_payload``."""
        if self._macs is None:
            return tag
        body = tag + data_payload[TAG_SIZE : TAG_SIZE + COUNTER_SIZE]
        return body + self._macs.seal(self.role, bytes((MessageType.ACK, seq)) + body)

    def open_ack(self, seq: int, payload: bytes, sent_payload: bytes) -> bytes | None:
        """The tag an ACK of our data frame carries, or None when it does not hold."""
        if self._macs is None:
            return payload if len(payload) == TAG_SIZE else None
        if len(payload) != TAG_SIZE + COUNTER_SIZE + FRAME_MAC_SIZE:
            return None
        body, mac = payload[:-FRAME_MAC_SIZE], payload[-FRAME_MAC_SIZE:]
        if body[TAG_SIZE:] != sent_payload[TAG_SIZE : TAG_SIZE + COUNTER_SIZE]:
            return None  # an ACK of another frame of ours (an old one, replayed)
        ok = self._macs.check(self._peer_role, bytes((MessageType.ACK, seq)) + body, mac)
        return body[:TAG_SIZE] if ok else None

    def seal_nak(self, seq: int, tag: bytes) -> bytes | None:
        """A NAK's payload; None when none may be sent (a side requiring authentication has
        no session keys yet: the sender's timeout does the NAK's work)."""
        if self._macs is None:
            return None if self.required and self.role == "host" else b""
        return tag + self._macs.seal(self.role, bytes((MessageType.NAK, seq)) + tag)

    def open_nak(self, seq: int, payload: bytes) -> bool:
        if self._macs is None:
            return payload == b""
        tag, mac = payload[:TAG_SIZE], payload[TAG_SIZE:]
        return self._macs.check(self._peer_role, bytes((MessageType.NAK, seq)) + tag, mac)


@dataclass(frozen=True)
class DataParts:
    """A data frame's payload in its parts, for traces and displays (no key needed)."""

    tag: bytes
    counter: bytes  # b"" on an unauthenticated link
    body: bytes  # the message's bytes
    mac: bytes  # b"" on an unauthenticated link
    message: Any = None  # the message decoded, or None when it does not decode

    def join(self, body: bytes) -> bytes:
        """The payload again around another ``body`` (a redacted one: its MAC then fails)."""
        return self.tag + self.counter + body + self.mac


def data_parts(message_type: int, payload: bytes) -> DataParts:
    """Split a data frame's payload: plain (tag, message) or authenticated (tag, counter,
    message, MAC), whichever makes a message of its type; plain when neither does.

    >>> data_parts(0x20, b"TAG!" + b"\\x00\\x07").counter, data_parts(0x20, b"TAG!" + bytes(4) + b"\\x00\\x07" + bytes(8)).body
    (b'', b'\\x00\\x07')
    """
    from .errors import ProtocolError
    from .messages import decode_payload

    tag, rest = payload[:TAG_SIZE], payload[TAG_SIZE:]
    try:
        return DataParts(tag, b"", rest, b"", decode_payload(message_type, rest))
    except ProtocolError:
        pass
    if len(rest) >= COUNTER_SIZE + FRAME_MAC_SIZE:
        inner = rest[COUNTER_SIZE:-FRAME_MAC_SIZE]
        try:
            message = decode_payload(message_type, inner)
            return DataParts(tag, rest[:COUNTER_SIZE], inner, rest[-FRAME_MAC_SIZE:], message)
        except ProtocolError:
            pass
    return DataParts(tag, b"", rest, b"")
