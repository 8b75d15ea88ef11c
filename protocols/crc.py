"""CRC-16/IBM-3740 (also called CRC-16/CCITT-FALSE), the frame check sequence.

Parameters, from the CRC RevEng catalogue: width=16 poly=0x1021 init=0xFFFF refin=false
refout=false xorout=0x0000 check=0x29B1. The standard library's ``binascii.crc_hqx`` computes
exactly this polynomial MSB-first from a given initial value, in C.

>>> hex(crc16(b"123456789"))
'0x29b1'
"""

from __future__ import annotations

from binascii import crc_hqx

__all__ = ["crc16", "CRC16_CHECK"]

CRC16_CHECK = 0x29B1  # the catalogue's check value: the CRC of ASCII "123456789"


def crc16(data: bytes | bytearray) -> int:
    return crc_hqx(data, 0xFFFF)
