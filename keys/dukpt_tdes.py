"""TDES DUKPT, ANSI X9.24-1-2009: the host that derives from the BDK, and the originating
device (PIN pad) that holds only future keys and forgets each key once used.

The KSN is 80 bits: a 59-bit key set and device identifier, then a 21-bit transaction
counter. A counter may have at most ten one-bits; the device skips the others, so it has
1,048,575 keys before it is exhausted.

>>> host = TdesDukptHost(bytes.fromhex("0123456789ABCDEFFEDCBA9876543210"))
>>> ksn = bytes.fromhex("FFFF9876543210E00001")
>>> host.initial_key(ksn).hex().upper()
'6AC292FAA1315B4D858AB3A3D7D5933A'
>>> host.working_key(ksn, KeyVariant.PIN).hex().upper()
'042666B49184CF5C68DE9628D0397B36'
"""

from __future__ import annotations

import functools
from enum import Enum

from .cipher import des_ecb_encrypt, tdes_ecb_encrypt, xor
from .errors import SecureElementError
from .future_keys import FutureKeys

__all__ = ["KeyVariant", "TdesDukptHost", "TdesDukptDevice", "initial_key", "current_key"]

COUNTER_BITS = 21
COUNTER_MASK = (1 << COUNTER_BITS) - 1
MAX_ONE_BITS = 10
_KEY_MASK = bytes.fromhex("C0C0C0C000000000C0C0C0C000000000")


class KeyVariant(Enum):
    """Working-key variants of X9.24-1-2009 (Annex A), XORed into the current key."""

    PIN = bytes.fromhex("00000000000000FF00000000000000FF")
    MAC_REQUEST = bytes.fromhex("000000000000FF00000000000000FF00")
    MAC_RESPONSE = bytes.fromhex("00000000FF00000000000000FF000000")
    DATA_REQUEST = bytes.fromhex("0000000000FF00000000000000FF0000")
    DATA_RESPONSE = bytes.fromhex("000000FF00000000000000FF00000000")


def _check_ksn(ksn: bytes) -> int:
    if len(ksn) != 10:
        raise SecureElementError("a TDES DUKPT KSN is 10 bytes")
    return int.from_bytes(ksn[7:], "big") & COUNTER_MASK


def initial_key(bdk: bytes, ksn: bytes) -> bytes:
    """The initial PIN encryption key (IPEK) of the device with this KSN (any counter)."""
    _check_ksn(ksn)
    if len(bdk) != 16:
        raise SecureElementError("a TDES DUKPT BDK is a 16-byte double-length key")
    return _initial_key(bdk, _zero_counter(ksn)[:8])


@functools.lru_cache(maxsize=256)
def _initial_key(bdk: bytes, base: bytes) -> bytes:
    """``base``: the leftmost 64 bits of the KSN, counter zeroed (one IPEK per device)."""
    left = tdes_ecb_encrypt(bdk, base)
    right = tdes_ecb_encrypt(xor(bdk, _KEY_MASK), base)
    return left + right


def _zero_counter(ksn: bytes) -> bytes:
    value = int.from_bytes(ksn, "big") & ~COUNTER_MASK
    return value.to_bytes(10, "big")


def _non_reversible(key: bytes, data: bytes) -> bytes:
    """The non-reversible key generation process of X9.24-1 A.2 (a 16-byte key from 8 bytes)."""
    right = xor(des_ecb_encrypt(key[:8], xor(data, key[8:])), key[8:])
    masked = xor(key, _KEY_MASK)
    left = xor(des_ecb_encrypt(masked[:8], xor(data, masked[8:])), masked[8:])
    return left + right


def _register(ksn: bytes, counter: int) -> bytes:
    """The rightmost 64 bits of the KSN with its counter set to ``counter``."""
    value = int.from_bytes(ksn[2:], "big") & ~COUNTER_MASK | counter
    return value.to_bytes(8, "big")


def current_key(ipek: bytes, ksn: bytes) -> bytes:
    """The key of the KSN's counter, derived from the IPEK one set counter bit at a time
    (highest first). The host side derives many counters of the same device: the keys of
    counter prefixes are kept (in this process, inside keys/), so a counter one more than
    the last costs one or two steps instead of up to ten."""
    counter = _check_ksn(ksn)
    return _key_of_counter(ipek, _zero_counter(ksn), counter)


@functools.lru_cache(maxsize=4096)
def _key_of_counter(ipek: bytes, base_ksn: bytes, counter: int) -> bytes:
    if counter == 0:
        return ipek
    lowest = counter & -counter  # the last bit the derivation sets
    before = _key_of_counter(ipek, base_ksn, counter ^ lowest)
    return _non_reversible(before, _register(base_ksn, counter))


def _apply_variant(key: bytes, variant: KeyVariant) -> bytes:
    key = xor(key, variant.value)
    if variant in (KeyVariant.DATA_REQUEST, KeyVariant.DATA_RESPONSE):
        # X9.24-1-2009: the data variant is encrypted with itself, each half.
        key = tdes_ecb_encrypt(key, key[:8]) + tdes_ecb_encrypt(key, key[8:])
    return key


class TdesDukptHost:
    """The receiving side: derives any device's keys from the BDK it holds."""

    __slots__ = ("_bdk",)

    def __init__(self, bdk: bytes) -> None:
        if len(bdk) != 16:
            raise SecureElementError("a TDES DUKPT BDK is a 16-byte double-length key")
        self._bdk = bdk

    def __repr__(self) -> str:
        return "TdesDukptHost(<BDK>)"

    def initial_key(self, ksn: bytes) -> bytes:
        return initial_key(self._bdk, ksn)

    def working_key(self, ksn: bytes, variant: KeyVariant) -> bytes:
        counter = _check_ksn(ksn)
        if counter == 0 or bin(counter).count("1") > MAX_ONE_BITS:
            raise SecureElementError("no device ever uses this KSN's counter")
        return _apply_variant(current_key(self.initial_key(ksn), ksn), variant)


class TdesDukptDevice:
    """The originating device. Holds 21 future-key registers, never the BDK; after loading,
    the IPEK is gone, and each transaction's key is erased once used.

    >>> host = TdesDukptHost(bytes.fromhex("0123456789ABCDEFFEDCBA9876543210"))
    >>> ksn0 = bytes.fromhex("FFFF9876543210E00000")
    >>> device = TdesDukptDevice(host.initial_key(ksn0), ksn0)
    >>> key, ksn = device.next_key(KeyVariant.PIN)
    >>> ksn.hex().upper(), key == host.working_key(ksn, KeyVariant.PIN)
    ('FFFF9876543210E00001', True)
    """

    __slots__ = ("_ksn", "_keys")

    def __init__(self, ipek: bytes, initial_ksn: bytes) -> None:
        if len(ipek) != 16:
            raise SecureElementError("an IPEK is a 16-byte double-length key")
        if _check_ksn(initial_ksn):
            raise SecureElementError("the initial KSN's counter must be zero")
        self._ksn = initial_ksn
        self._keys = FutureKeys(
            ipek,
            COUNTER_BITS,
            MAX_ONE_BITS,
            lambda key, counter: _non_reversible(key, _register(initial_ksn, counter)),
        )

    def __repr__(self) -> str:
        return f"TdesDukptDevice(ksn={self.ksn.hex().upper()})"

    @property
    def counter(self) -> int:
        """The counter of the next transaction."""
        return self._keys.counter

    @property
    def ksn(self) -> bytes:
        """The KSN the next transaction will use."""
        return self._ksn_of(self._keys.counter)

    def _ksn_of(self, counter: int) -> bytes:
        value = int.from_bytes(self._ksn, "big") & ~COUNTER_MASK | counter
        return value.to_bytes(10, "big")

    def next_key(self, variant: KeyVariant) -> tuple[bytes, bytes]:
        """The working key for this transaction and its KSN; then the key is forgotten."""
        key, counter = self._keys.take()
        return _apply_variant(key, variant), self._ksn_of(counter)
