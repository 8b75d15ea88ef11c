"""Block cipher primitives on the ``cryptography`` package: DES/TDES and AES, ECB and CBC,
no padding. Every key-using module in keys/ goes through here.

>>> tdes_ecb_encrypt(bytes.fromhex("0123456789ABCDEFFEDCBA9876543210"), bytes(8)).hex().upper()
'08D7B4FB629D0885'
"""

from __future__ import annotations

from functools import lru_cache

from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

__all__ = [
    "tdes_ecb_encrypt",
    "tdes_ecb_decrypt",
    "tdes_cbc_encrypt",
    "tdes_cbc_decrypt",
    "des_ecb_encrypt",
    "aes_ecb_encrypt",
    "aes_ecb_decrypt",
    "aes_cbc_encrypt",
    "aes_cbc_decrypt",
    "xor",
    "adjust_odd_parity",
]

_ECB = modes.ECB()


def xor(a: bytes, b: bytes) -> bytes:
    """Bytewise XOR of two strings of the same length."""
    return (int.from_bytes(a, "big") ^ int.from_bytes(b, "big")).to_bytes(len(a), "big")


def _tdes(key: bytes) -> TripleDES:
    # Always hand cryptography a three-key bundle: K1K2K1 for two-key TDES, KKK for DES.
    if len(key) == 16:
        return TripleDES(key + key[:8])
    if len(key) == 8:
        return TripleDES(key * 3)
    if len(key) == 24:
        return TripleDES(key)
    raise ValueError("a DES key is 8, 16 or 24 bytes")


@lru_cache(maxsize=256)
def _tdes_ecb(key: bytes) -> Cipher[modes.ECB]:
    """The ECB cipher of a key, kept: a sale uses a handful of keys fifteen times, and
    building the cipher object costs as much as the encryption (contexts are still new
    each call, so nothing is shared between calls but the key schedule's wrapper)."""
    return Cipher(_tdes(key), _ECB)


def tdes_ecb_encrypt(key: bytes, data: bytes) -> bytes:
    encryptor = _tdes_ecb(key).encryptor()
    return encryptor.update(data) + encryptor.finalize()


def tdes_ecb_decrypt(key: bytes, data: bytes) -> bytes:
    decryptor = _tdes_ecb(key).decryptor()
    return decryptor.update(data) + decryptor.finalize()


def des_ecb_encrypt(key: bytes, data: bytes) -> bytes:
    """Single DES: TDES with K1 = K2 = K3."""
    if len(key) != 8:
        raise ValueError("a single DES key is 8 bytes")
    return tdes_ecb_encrypt(key, data)


def tdes_cbc_encrypt(key: bytes, data: bytes, iv: bytes = bytes(8)) -> bytes:
    encryptor = Cipher(_tdes(key), modes.CBC(iv)).encryptor()
    return encryptor.update(data) + encryptor.finalize()


def tdes_cbc_decrypt(key: bytes, data: bytes, iv: bytes = bytes(8)) -> bytes:
    decryptor = Cipher(_tdes(key), modes.CBC(iv)).decryptor()
    return decryptor.update(data) + decryptor.finalize()


def aes_ecb_encrypt(key: bytes, data: bytes) -> bytes:
    encryptor = Cipher(algorithms.AES(key), _ECB).encryptor()
    return encryptor.update(data) + encryptor.finalize()


def aes_ecb_decrypt(key: bytes, data: bytes) -> bytes:
    decryptor = Cipher(algorithms.AES(key), _ECB).decryptor()
    return decryptor.update(data) + decryptor.finalize()


def aes_cbc_encrypt(key: bytes, data: bytes, iv: bytes = bytes(16)) -> bytes:
    encryptor = Cipher(algorithms.AES(key), modes.CBC(iv)).encryptor()
    return encryptor.update(data) + encryptor.finalize()


def aes_cbc_decrypt(key: bytes, data: bytes, iv: bytes = bytes(16)) -> bytes:
    decryptor = Cipher(algorithms.AES(key), modes.CBC(iv)).decryptor()
    return decryptor.update(data) + decryptor.finalize()


_ODD_PARITY = bytes(b & 0xFE | (bin(b >> 1).count("1") + 1) % 2 for b in range(256))


def adjust_odd_parity(key: bytes) -> bytes:
    """Set each byte's low bit so that the byte has an odd number of one-bits (DES parity).

    >>> adjust_odd_parity(bytes.fromhex("0001FE")).hex()
    '0101fe'
    """
    return key.translate(_ODD_PARITY)
