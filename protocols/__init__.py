"""possim's wire formats, defined once and imported by both the terminal and the driver.

- :mod:`protocols.frame`: the host-link frame (STX, LEN, LCS, SEQ, TYPE, PAYLOAD, CRC-16)
- :mod:`protocols.messages`: every application message, a frozen dataclass and its schema
- :mod:`protocols.link`: the sans-IO link layer (ACK/NAK, retransmission, duplicates, resync)
- :mod:`protocols.codes`, :mod:`protocols.errors`: the enums and error codes on the wire
- :mod:`protocols.currency`, :mod:`protocols.validation`: ISO 4217 and the input rules

Nothing here does I/O, starts a thread or reads a clock.
"""

from __future__ import annotations

from .codes import PROTOCOL_VERSION, MessageType
from .errors import ErrorCode, FieldError, LocalProtocolError, ProtocolError, RemoteProtocolError
from .frame import Frame, FrameDecoder, encode_frame
from .link import Link, LinkSettings
from .messages import Message, decode_payload, encode_payload

__all__ = [
    "PROTOCOL_VERSION",
    "MessageType",
    "ErrorCode",
    "FieldError",
    "ProtocolError",
    "LocalProtocolError",
    "RemoteProtocolError",
    "Frame",
    "FrameDecoder",
    "encode_frame",
    "Link",
    "LinkSettings",
    "Message",
    "encode_payload",
    "decode_payload",
]
