"""The acquirer leg: ISO 8583:1987 between a terminal and its acquirer host.

- :mod:`protocols.acquirer.spec`: the use of the messages and fields, as data
- :mod:`protocols.acquirer.codec`: framing, encoding, checks, composite fields (no I/O)
"""

from __future__ import annotations

from .codec import AcquirerFormatError, LengthPrefixedDecoder, decode, encode, frame, seal
from .spec import MESSAGES, SPEC

__all__ = [
    "AcquirerFormatError",
    "LengthPrefixedDecoder",
    "MESSAGES",
    "SPEC",
    "decode",
    "encode",
    "frame",
    "seal",
]
