"""ZVT (the German Banking Industry's ECR interface, "ZVT-Protokoll") as possim's second host
protocol: the APDUs and their bitmaps (BMPs), the serial transport (DLE STX ... DLE ETX, CRC,
ACK/NAK) and the bare APDU stream of TCP. No I/O: bytes in, APDUs out.

- :mod:`protocols.zvt.apdu`: the APDU (class, instruction, length, data) and the TCP stream
- :mod:`protocols.zvt.bmp`: the BMPs as data, encoded and decoded by construct
- :mod:`protocols.zvt.serial`: the serial transport, sans-IO, with its retries
- :mod:`protocols.zvt.codes`: commands, result codes, intermediate status codes
"""

from __future__ import annotations

from .apdu import Apdu, ApduStream, ZvtFormatError, encode_apdu
from .bmp import decode_bmps, encode_bmps

__all__ = ["Apdu", "ApduStream", "ZvtFormatError", "encode_apdu", "decode_bmps", "encode_bmps"]
