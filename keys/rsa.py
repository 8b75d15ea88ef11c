"""RSA as EMV uses it for offline data authentication (EMV 4.4 Book 2, Annex A2.1): the
signature scheme with message recovery of ISO/IEC 9796-2, public exponent 3 or 65537, no
padding of the block; the block is formatted by :mod:`keys.oda`.

The public side is plain data (a terminal's CA keys, keys recovered from certificates); a
private key stays inside keys/ (:class:`RsaPrivateKey` signs and is never serialised but to
its TR-31 key block). Test keys are generated deterministically from a seed, so that
``scripts/make_test_keys.py`` writes the same keys on every machine.

>>> key = generate_rsa_key(b"doctest", 512)
>>> block = bytes.fromhex("6A") + bytes(62) + bytes.fromhex("BC")
>>> key.public.recover(key.sign(block)) == block
True
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from .errors import SecureElementError

__all__ = ["RsaPublicKey", "RsaPrivateKey", "RsaError", "generate_rsa_key", "is_probable_prime"]


class RsaError(SecureElementError):
    """A signature or a key does not fit the operation (length, range)."""


@dataclass(frozen=True)
class RsaPublicKey:
    """A public key: modulus and exponent as integers."""

    modulus: int
    exponent: int

    @classmethod
    def from_bytes(cls, modulus: bytes, exponent: bytes) -> RsaPublicKey:
        return cls(int.from_bytes(modulus, "big"), int.from_bytes(exponent, "big"))

    @property
    def size(self) -> int:
        """The modulus length in bytes (N_CA, N_I or N_IC of Book 2)."""
        return (self.modulus.bit_length() + 7) // 8

    @property
    def modulus_bytes(self) -> bytes:
        return self.modulus.to_bytes(self.size, "big")

    @property
    def exponent_bytes(self) -> bytes:
        return self.exponent.to_bytes((self.exponent.bit_length() + 7) // 8, "big")

    def recover(self, signature: bytes) -> bytes:
        """The block a signature carries: signature ^ e mod n (Book 2 A2.1.2)."""
        if len(signature) != self.size:
            raise RsaError(f"a signature under this key is {self.size} bytes, not {len(signature)}")
        value = int.from_bytes(signature, "big")
        if value >= self.modulus:
            raise RsaError("the signature is not below the modulus")
        return pow(value, self.exponent, self.modulus).to_bytes(self.size, "big")


class RsaPrivateKey:
    """A private key (CRT form). It signs; its numbers leave keys/ only as DER in a key block."""

    __slots__ = ("public", "_p", "_q", "_d")

    def __init__(self, p: int, q: int, exponent: int) -> None:
        phi = (p - 1) * (q - 1)
        self.public = RsaPublicKey(p * q, exponent)
        self._p, self._q = p, q
        self._d = pow(exponent, -1, phi)

    def __repr__(self) -> str:
        return f"RsaPrivateKey({self.public.size * 8} bits, e={self.public.exponent})"

    def __reduce__(self) -> tuple[object, ...]:
        raise TypeError("a private key is not serialised")

    def sign(self, block: bytes) -> bytes:
        """The signature whose recovery gives ``block`` (block ^ d mod n, by CRT)."""
        n = self.public.modulus
        if len(block) != self.public.size or int.from_bytes(block, "big") >= n:
            raise RsaError("the block to sign is not a number below the modulus")
        m = int.from_bytes(block, "big")
        p, q, d = self._p, self._q, self._d
        sp = pow(m % p, d % (p - 1), p)
        sq = pow(m % q, d % (q - 1), q)
        h = (pow(q, -1, p) * (sp - sq)) % p
        return (sq + h * q).to_bytes(self.public.size, "big")

    def to_der(self) -> bytes:
        """PKCS #1 RSAPrivateKey in DER, for a TR-31 key block (algorithm R, usage S0)."""
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import rsa

        p, q, d, e = self._p, self._q, self._d, self.public.exponent
        numbers = rsa.RSAPrivateNumbers(
            p,
            q,
            d,
            rsa.rsa_crt_dmp1(d, p),
            rsa.rsa_crt_dmq1(d, q),
            rsa.rsa_crt_iqmp(p, q),
            rsa.RSAPublicNumbers(e, p * q),
        )
        return numbers.private_key().private_bytes(
            serialization.Encoding.DER,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        )

    @classmethod
    def from_der(cls, der: bytes) -> RsaPrivateKey:
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import rsa

        try:
            key = serialization.load_der_private_key(der, password=None)
        except ValueError:
            raise RsaError("the key block does not hold an RSA private key") from None
        if not isinstance(key, rsa.RSAPrivateKey):
            raise RsaError("the key block does not hold an RSA private key")
        numbers = key.private_numbers()
        return cls(numbers.p, numbers.q, numbers.public_numbers.e)


# --- deterministic test keys -----------------------------------------------------------------

_SMALL_PRIMES = [p for p in range(3, 2000) if all(p % d for d in range(2, int(p**0.5) + 1))]


class _Stream:
    """SHA-256 in counter mode over a seed: the same bytes for the same seed, everywhere."""

    def __init__(self, seed: bytes) -> None:
        self._seed, self._counter = seed, 0

    def take(self, size: int) -> bytes:
        out = b""
        while len(out) < size:
            self._counter += 1
            out += hashlib.sha256(self._seed + self._counter.to_bytes(8, "big")).digest()
        return out[:size]


def is_probable_prime(n: int, witnesses: list[int]) -> bool:
    """Miller-Rabin with the given witnesses (after trial division by small primes).

    >>> is_probable_prime(2**127 - 1, [2, 3, 5, 7, 11]), is_probable_prime(561, [2, 3])
    (True, False)
    """
    if n < 2:
        return False
    for p in _SMALL_PRIMES:
        if n % p == 0:
            return n == p
    d, r = n - 1, 0
    while d % 2 == 0:
        d, r = d // 2, r + 1
    for a in witnesses:
        x = pow(a % (n - 3) + 2, d, n)
        if x in (1, n - 1):
            continue
        for _ in range(r - 1):
            x = pow(x, 2, n)
            if x == n - 1:
                break
        else:
            return False
    return True


def _prime(stream: _Stream, bits: int, exponent: int) -> int:
    while True:
        candidate = int.from_bytes(stream.take(bits // 8), "big")
        candidate |= (3 << (bits - 2)) | 1  # two top bits set: p * q has exactly 2 * bits
        if (candidate - 1) % exponent == 0:
            continue  # e must be invertible modulo p - 1
        witnesses = [int.from_bytes(stream.take(bits // 8), "big") for _ in range(40)]
        if is_probable_prime(candidate, witnesses):
            return candidate


def generate_rsa_key(seed: bytes, bits: int, exponent: int = 3) -> RsaPrivateKey:
    """A ``bits``-bit key (a multiple of 16) drawn from ``seed`` alone: test keys only."""
    if bits % 16 or not 512 <= bits <= 1984:
        raise RsaError("EMV RSA keys are 512 to 1984 bits, a multiple of 16 here")
    stream = _Stream(seed)
    p = _prime(stream, bits // 2, exponent)
    q = _prime(stream, bits // 2, exponent)
    while q == p:
        q = _prime(stream, bits // 2, exponent)
    return RsaPrivateKey(max(p, q), min(p, q), exponent)
