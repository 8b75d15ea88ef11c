"""The merchant password, kept as a scrypt hash (RFC 7914, through ``cryptography``): the
password goes in, only the hash string comes out; checking answers yes or no in constant
time.

>>> stored = hash_password("open sesame", salt=bytes(16))
>>> stored.split("$")[:4]
['scrypt', '16384', '8', '1']
>>> verify_password(stored, "open sesame"), verify_password(stored, "open sesame!")
(True, False)
"""

from __future__ import annotations

import hmac
import secrets

from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

__all__ = ["hash_password", "verify_password"]

# RFC 7914's interactive-login cost (N = 2^14, r = 8, p = 1): about 50 ms a check here
_N, _R, _P, _LENGTH = 2**14, 8, 1, 32


def hash_password(password: str, salt: bytes | None = None) -> str:
    salt = salt if salt is not None else secrets.token_bytes(16)
    key = Scrypt(salt=salt, length=_LENGTH, n=_N, r=_R, p=_P).derive(password.encode())
    return f"scrypt${_N}${_R}${_P}${salt.hex()}${key.hex()}"


def verify_password(stored: str, password: str) -> bool:
    """Whether ``password`` is the one ``stored`` was made from (False if ``stored`` is not a
    hash of this form)."""
    try:
        scheme, n, r, p, salt, key = stored.split("$")
        if scheme != "scrypt":
            return False
        derived = Scrypt(
            salt=bytes.fromhex(salt), length=len(key) // 2, n=int(n), r=int(r), p=int(p)
        ).derive(password.encode())
    except ValueError:
        return False
    return hmac.compare_digest(derived, bytes.fromhex(key))
