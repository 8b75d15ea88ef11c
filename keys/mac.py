"""Message authentication codes: ISO/IEC 9797-1 MAC algorithms 1 and 3 (the retail MAC of
ANSI X9.19) with padding methods 1 and 2, and AES-CMAC (NIST SP 800-38B, RFC 4493).
Verification compares in constant time.

>>> key = bytes.fromhex("0123456789ABCDEF")
>>> mac_iso9797_1(key, b"Now is the time for all ").hex().upper()
'70A30640CC76DD8B'
"""

from __future__ import annotations

import hmac

from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES
from cryptography.hazmat.primitives import cmac
from cryptography.hazmat.primitives.ciphers import algorithms

from .cipher import des_ecb_encrypt, tdes_cbc_encrypt, tdes_ecb_decrypt
from .errors import SecureElementError

__all__ = [
    "pad_iso9797",
    "mac_iso9797_1",
    "mac_iso9797_3",
    "aes_cmac",
    "tdes_cmac",
    "verify_mac",
]


def pad_iso9797(data: bytes, method: int, block: int = 8) -> bytes:
    """Padding method 1 (zeros, none if already whole; empty data gives one block) or 2
    (0x80 then zeros, always)."""
    if method == 1:
        if data and len(data) % block == 0:
            return data
        return data + bytes(-len(data) % block or block)
    if method == 2:
        data += b"\x80"
        return data + bytes(-len(data) % block)
    raise SecureElementError("padding method is 1 or 2")


def mac_iso9797_1(key: bytes, data: bytes, padding: int = 1, length: int = 8) -> bytes:
    """MAC algorithm 1: CBC-MAC with DES (8-byte key) or TDES (16 or 24), IV zero."""
    return tdes_cbc_encrypt(key, pad_iso9797(data, padding))[-8:][:length]


def mac_iso9797_3(key: bytes, data: bytes, padding: int = 1, length: int = 8) -> bytes:
    """MAC algorithm 3 (retail MAC): single-DES CBC under K, then the last block is
    decrypted under K' and encrypted under K again. ``key`` is K || K'."""
    if len(key) != 16:
        raise SecureElementError("MAC algorithm 3 takes a double-length key K || K'")
    k, k2 = key[:8], key[8:]
    last = tdes_cbc_encrypt(k, pad_iso9797(data, padding))[-8:]
    return des_ecb_encrypt(k, tdes_ecb_decrypt(k2, last))[:length]


def aes_cmac(key: bytes, data: bytes, length: int = 16) -> bytes:
    mac = cmac.CMAC(algorithms.AES(key))
    mac.update(data)
    return mac.finalize()[:length]


def tdes_cmac(key: bytes, data: bytes, length: int = 8) -> bytes:
    """CMAC with TDES (64-bit blocks), as TR-31 key block version B uses."""
    if len(key) == 16:
        key += key[:8]
    mac = cmac.CMAC(TripleDES(key))
    mac.update(data)
    return mac.finalize()[:length]


def verify_mac(expected: bytes, received: bytes) -> bool:
    """Constant-time comparison of two MACs or cryptograms."""
    return hmac.compare_digest(expected, received)
