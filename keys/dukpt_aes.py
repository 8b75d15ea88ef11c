"""AES DUKPT, ANSI X9.24-3-2017: the host that derives from the BDK, and the originating
device that holds 32 intermediate derivation keys and never the BDK.

The KSN is 96 bits: the 64-bit initial key ID (32-bit BDK ID, 32-bit derivation ID) and a
32-bit transaction counter with at most 16 one-bits. Keys are derived with AES-ECB over
16-byte derivation data (X9.24-3 section 6.3.2): version, block counter, key usage,
algorithm, length in bits, and eight bytes of context.

>>> host = AesDukptHost(bytes.fromhex("FEDCBA9876543210F1F1F1F1F1F1F1F1"))
>>> initial_key_id = bytes.fromhex("1234567890123456")
>>> host.initial_key(initial_key_id).hex().upper()
'1273671EA26AC29AFA4D1084127652A1'
>>> ksn = initial_key_id + (1).to_bytes(4, "big")
>>> host.working_key(ksn, KeyUsage.PIN_ENCRYPTION).hex().upper()
'AF8CB133A78F8DC2D1359F18527593FB'
"""

from __future__ import annotations

from enum import IntEnum

from .cipher import aes_ecb_encrypt
from .errors import SecureElementError
from .future_keys import FutureKeys

__all__ = ["KeyUsage", "KeyType", "AesDukptHost", "AesDukptDevice", "derive_key"]

NUM_REGISTERS = 32
MAX_ONE_BITS = 16


class KeyUsage(IntEnum):
    """Key usage indicators of the derivation data (X9.24-3-2017 table 3)."""

    KEY_ENCRYPTION = 0x0002
    PIN_ENCRYPTION = 0x1000
    MAC_GENERATION = 0x2000
    MAC_VERIFICATION = 0x2001
    MAC_BOTH_WAYS = 0x2002
    DATA_ENCRYPTION_ENCRYPT = 0x3000
    DATA_ENCRYPTION_DECRYPT = 0x3001
    DATA_ENCRYPTION_BOTH_WAYS = 0x3002
    KEY_DERIVATION = 0x8000
    KEY_DERIVATION_INITIAL_KEY = 0x8001


class KeyType(IntEnum):
    """Algorithm indicators (X9.24-3-2017 table 4); the value's size in bits is ``bits``."""

    TDES_2KEY = 0x0000
    TDES_3KEY = 0x0001
    AES128 = 0x0002
    AES192 = 0x0003
    AES256 = 0x0004

    @property
    def bits(self) -> int:
        return {0: 128, 1: 192, 2: 128, 3: 192, 4: 256}[self.value]


_KEY_TYPES = {16: KeyType.AES128, 24: KeyType.AES192, 32: KeyType.AES256}


def derive_key(derivation_key: bytes, usage: KeyUsage, key_type: KeyType, context: bytes) -> bytes:
    """X9.24-3 section 6.3.2: AES-ECB of the derivation data, one block per 128 bits."""
    bits = key_type.bits
    head = usage.to_bytes(2, "big") + key_type.to_bytes(2, "big") + bits.to_bytes(2, "big")
    blocks = (bits + 127) // 128
    out = b"".join(
        aes_ecb_encrypt(derivation_key, bytes((1, i)) + head + context)
        for i in range(1, blocks + 1)
    )
    return out[: bits // 8]


def _key_type(key: bytes) -> KeyType:
    try:
        return _KEY_TYPES[len(key)]
    except KeyError:
        raise SecureElementError("an AES key is 16, 24 or 32 bytes") from None


def _check_ksn(ksn: bytes) -> int:
    if len(ksn) != 12:
        raise SecureElementError("an AES DUKPT KSN is 12 bytes")
    return int.from_bytes(ksn[8:], "big")


def _working_key(derivation_key: bytes, ksn: bytes, usage: KeyUsage, key_type: KeyType) -> bytes:
    if key_type.bits > _key_type(derivation_key).bits:
        raise SecureElementError("a working key cannot be stronger than its derivation key")
    return derive_key(derivation_key, usage, key_type, ksn[4:12])


class AesDukptHost:
    """The receiving side: derives any device's keys from the BDK it holds."""

    __slots__ = ("_bdk",)

    def __init__(self, bdk: bytes) -> None:
        _key_type(bdk)
        self._bdk = bdk

    def __repr__(self) -> str:
        return "AesDukptHost(<BDK>)"

    def initial_key(self, initial_key_id: bytes) -> bytes:
        """The initial key of the device with this 8-byte initial key ID (same size as BDK)."""
        if len(initial_key_id) != 8:
            raise SecureElementError("an initial key ID is 8 bytes")
        kind = _key_type(self._bdk)
        return derive_key(self._bdk, KeyUsage.KEY_DERIVATION_INITIAL_KEY, kind, initial_key_id)

    def derivation_key(self, ksn: bytes) -> bytes:
        """The intermediate derivation key of the KSN's counter."""
        counter = _check_ksn(ksn)
        if counter == 0 or bin(counter).count("1") > MAX_ONE_BITS:
            raise SecureElementError("no device ever uses this KSN's counter")
        key = self.initial_key(ksn[:8])
        kind = _key_type(key)
        reached = 0
        for bit in range(NUM_REGISTERS - 1, -1, -1):
            if counter >> bit & 1:
                reached |= 1 << bit
                context = ksn[4:8] + reached.to_bytes(4, "big")
                key = derive_key(key, KeyUsage.KEY_DERIVATION, kind, context)
        return key

    def working_key(self, ksn: bytes, usage: KeyUsage, key_type: KeyType = KeyType.AES128) -> bytes:
        return _working_key(self.derivation_key(ksn), ksn, usage, key_type)


class AesDukptDevice:
    """The originating device: 32 intermediate derivation key registers, the counter, and
    nothing else. Each register is erased once its key has served.

    >>> host = AesDukptHost(bytes.fromhex("FEDCBA9876543210F1F1F1F1F1F1F1F1"))
    >>> ikid = bytes.fromhex("1234567890123456")
    >>> device = AesDukptDevice(host.initial_key(ikid), ikid)
    >>> key, ksn = device.next_key(KeyUsage.PIN_ENCRYPTION)
    >>> ksn.hex().upper(), key == host.working_key(ksn, KeyUsage.PIN_ENCRYPTION)
    ('123456789012345600000001', True)
    """

    __slots__ = ("_initial_key_id", "_keys")

    def __init__(self, initial_key: bytes, initial_key_id: bytes) -> None:
        if len(initial_key_id) != 8:
            raise SecureElementError("an initial key ID is 8 bytes")
        kind = _key_type(initial_key)
        self._initial_key_id = initial_key_id
        self._keys = FutureKeys(
            initial_key,
            NUM_REGISTERS,
            MAX_ONE_BITS,
            lambda key, counter: derive_key(
                key, KeyUsage.KEY_DERIVATION, kind, initial_key_id[4:] + counter.to_bytes(4, "big")
            ),
        )

    def __repr__(self) -> str:
        return f"AesDukptDevice(ksn={self.ksn.hex().upper()})"

    @property
    def counter(self) -> int:
        return self._keys.counter

    @property
    def ksn(self) -> bytes:
        """The KSN the next transaction will use."""
        return self._initial_key_id + self._keys.counter.to_bytes(4, "big")

    def next_key(self, usage: KeyUsage, key_type: KeyType = KeyType.AES128) -> tuple[bytes, bytes]:
        """The working key for this transaction and its KSN; then the key is forgotten."""
        key, counter = self._keys.take()
        ksn = self._initial_key_id + counter.to_bytes(4, "big")
        return _working_key(key, ksn, usage, key_type), ksn
