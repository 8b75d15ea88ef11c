"""Block cipher primitives on the ``cryptography`` package: DES/TDES and AES, ECB and CBC,
no padding. Every key-using module in keys/ goes through here.

>>> tdes_ecb_encrypt(bytes.fromhex("0123456789ABCDEFFEDCBA9876543210"), bytes(8)).hex().upper()
'08D7B4FB629D0885'
"""

from __future__ import annotations

from collections.abc import Callable
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


# One key's ECB contexts, kept open: ECB keeps no state from block to block, so one context
# serves every call (``update`` on whole blocks, never ``finalize``). Building a context costs
# more than encrypting a block; a sale used to build 18. Each direction is made on first use
# (a session key derived for one cryptogram only ever encrypts). The GIL makes each
# ``update`` whole.
_Update = Callable[[bytes], bytes]


def _whole_blocks(data: bytes, block: int) -> None:
    if len(data) % block:
        raise ValueError(f"the data is not a multiple of the {block}-byte block length")


@lru_cache(maxsize=256)
def _tdes_encryptor(key: bytes) -> _Update:
    return Cipher(_tdes(key), _ECB).encryptor().update


@lru_cache(maxsize=256)
def _tdes_decryptor(key: bytes) -> _Update:
    return Cipher(_tdes(key), _ECB).decryptor().update


@lru_cache(maxsize=256)
def _aes_encryptor(key: bytes) -> _Update:
    return Cipher(algorithms.AES(key), _ECB).encryptor().update


@lru_cache(maxsize=256)
def _aes_decryptor(key: bytes) -> _Update:
    return Cipher(algorithms.AES(key), _ECB).decryptor().update


def tdes_ecb_encrypt(key: bytes, data: bytes) -> bytes:
    _whole_blocks(data, 8)
    return _tdes_encryptor(key)(data)


def tdes_ecb_decrypt(key: bytes, data: bytes) -> bytes:
    _whole_blocks(data, 8)
    return _tdes_decryptor(key)(data)


def des_ecb_encrypt(key: bytes, data: bytes) -> bytes:
    """Single DES: TDES with K1 = K2 = K3."""
    if len(key) != 8:
        raise ValueError("a single DES key is 8 bytes")
    return tdes_ecb_encrypt(key, data)


def _check_cbc(data: bytes, iv: bytes, size: int) -> None:
    _whole_blocks(data, size)
    if len(iv) != size:
        raise ValueError(f"the IV is {size} bytes")


def _cbc_encrypt(encrypt: _Update, size: int, data: bytes, iv: bytes) -> bytes:
    _check_cbc(data, iv, size)
    out = bytearray()
    chain = int.from_bytes(iv, "big")
    for i in range(0, len(data), size):
        block = encrypt((chain ^ int.from_bytes(data[i : i + size], "big")).to_bytes(size, "big"))
        out += block
        chain = int.from_bytes(block, "big")
    return bytes(out)


def _cbc_decrypt(decrypt: _Update, size: int, data: bytes, iv: bytes) -> bytes:
    _check_cbc(data, iv, size)
    plain = decrypt(data)
    chained = iv + data[:-size]
    return xor(plain, chained) if data else b""


def tdes_cbc_encrypt(key: bytes, data: bytes, iv: bytes = bytes(8)) -> bytes:
    return _cbc_encrypt(_tdes_encryptor(key), 8, data, iv)


def tdes_cbc_decrypt(key: bytes, data: bytes, iv: bytes = bytes(8)) -> bytes:
    return _cbc_decrypt(_tdes_decryptor(key), 8, data, iv)


def aes_ecb_encrypt(key: bytes, data: bytes) -> bytes:
    _whole_blocks(data, 16)
    return _aes_encryptor(key)(data)


def aes_ecb_decrypt(key: bytes, data: bytes) -> bytes:
    _whole_blocks(data, 16)
    return _aes_decryptor(key)(data)


def aes_cbc_encrypt(key: bytes, data: bytes, iv: bytes = bytes(16)) -> bytes:
    return _cbc_encrypt(_aes_encryptor(key), 16, data, iv)


def aes_cbc_decrypt(key: bytes, data: bytes, iv: bytes = bytes(16)) -> bytes:
    return _cbc_decrypt(_aes_decryptor(key), 16, data, iv)


_ODD_PARITY = bytes(b & 0xFE | (bin(b >> 1).count("1") + 1) % 2 for b in range(256))


def adjust_odd_parity(key: bytes) -> bytes:
    """Set each byte's low bit so that the byte has an odd number of one-bits (DES parity).

    >>> adjust_odd_parity(bytes.fromhex("0001FE")).hex()
    '0101fe'
    """
    return key.translate(_ODD_PARITY)
