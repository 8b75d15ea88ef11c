"""TR-31 (ANSI X9.143) key blocks, versions B (TDES key derivation binding) and D (AES key
derivation binding): header parsing, wrap and unwrap, key usage and mode of use, and key
check values.

A key block is ASCII: a 16-character header and its optional blocks, the encrypted key data
in hex, and the MAC in hex. Key data is a 2-byte key length in bits, the key, and random
padding; it is MACed in clear with the header (CMAC under the derived authentication key)
and encrypted in CBC mode under the derived encryption key with the MAC as IV.

>>> kbpk = bytes.fromhex("88E1AB2A2E3DD38C1FA039A536500CC8A87AB9D62DC92C01058FA79F44657DE6")
>>> block = ("D0112P0AE00E0000B82679114F470F540165EDFBF7E250FCEA43F810D215F8D207E2E417C07156A27E"
...          "8E31DA05F7425509593D03A457DC34")
>>> header, key = unwrap(kbpk, block)
>>> header.key_usage, header.mode_of_use, key.hex().upper()
('P0', 'E', '3F419E1CB7079442AA37474C2EFBF8B8')
>>> key_check_value(key, "A").hex().upper()
'08793E'
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum

from .cipher import aes_cbc_decrypt, aes_cbc_encrypt, tdes_cbc_decrypt, tdes_cbc_encrypt
from .cipher import tdes_ecb_encrypt as _tdes_ecb
from .errors import KeyBlockError, KeyUsageError
from .mac import aes_cmac, tdes_cmac, verify_mac

__all__ = [
    "KeyBlockHeader",
    "Operation",
    "wrap",
    "unwrap",
    "require_use",
    "key_check_value",
]

RandomBytes = Callable[[int], bytes]
_ALNUM = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")
_PRINTABLE = frozenset(chr(c) for c in range(0x20, 0x7F))


@dataclass(frozen=True)
class KeyBlockHeader:
    """The header fields of TR-31 section 5.2 and its optional blocks (id, data) in order."""

    version: str
    key_usage: str
    algorithm: str
    mode_of_use: str
    key_version: str = "00"
    exportability: str = "N"
    optional_blocks: tuple[tuple[str, str], ...] = ()

    def __post_init__(self) -> None:
        if self.version not in ("B", "D"):
            raise KeyBlockError(f"key block version {self.version!r} is not supported (B, D)")
        for name, value, size in (
            ("key usage", self.key_usage, 2),
            ("algorithm", self.algorithm, 1),
            ("mode of use", self.mode_of_use, 1),
            ("key version", self.key_version, 2),
            ("exportability", self.exportability, 1),
        ):
            if len(value) != size or not _ALNUM.issuperset(value):
                raise KeyBlockError(f"{name} {value!r} is not {size} letters or digits")
        for block_id, data in self.optional_blocks:
            if len(block_id) != 2 or not _ALNUM.issuperset(block_id):
                raise KeyBlockError(f"optional block id {block_id!r} is invalid")
            if not _PRINTABLE.issuperset(data):
                raise KeyBlockError(f"optional block {block_id} holds non-printable data")

    def block(self, block_id: str) -> str | None:
        """The data of the optional block ``block_id`` (KS: a KSN, IK: an initial key ID)."""
        return next((data for bid, data in self.optional_blocks if bid == block_id), None)

    def encode(self, total_length: int) -> str:
        blocks = "".join(_encode_optional(bid, data) for bid, data in self.optional_blocks)
        return (
            f"{self.version}{total_length:04d}{self.key_usage}{self.algorithm}"
            f"{self.mode_of_use}{self.key_version}{self.exportability}"
            f"{len(self.optional_blocks):02d}00{blocks}"
        )

    @classmethod
    def parse(cls, text: str) -> tuple[KeyBlockHeader, int]:
        """The header at the start of ``text`` and the number of characters it takes."""
        if len(text) < 16 or not text.isascii():
            raise KeyBlockError("a key block header is at least 16 ASCII characters")
        count_text = text[12:14]
        if not count_text.isdigit():
            raise KeyBlockError("the number of optional blocks is not 2 digits")
        pos, blocks = 16, []
        for _ in range(int(count_text)):
            block_id = text[pos : pos + 2]
            length_text = text[pos + 2 : pos + 4]
            body_start = pos + 4
            if length_text == "00":  # extended: the length's size in bytes, then the length
                size = 2 * _hex_int(text[pos + 4 : pos + 6], "optional block length of length")
                length = _hex_int(text[pos + 6 : pos + 6 + size], "optional block length")
                body_start = pos + 6 + size
            else:
                length = _hex_int(length_text, "optional block length")
            end = pos + length
            if end < body_start or end > len(text):
                raise KeyBlockError(f"optional block {block_id!r} has a bad length")
            blocks.append((block_id, text[body_start:end]))
            pos = end
        header = cls(
            version=text[0],
            key_usage=text[5:7],
            algorithm=text[7],
            mode_of_use=text[8],
            key_version=text[9:11],
            exportability=text[11],
            optional_blocks=tuple(b for b in blocks if b[0] != "PB"),
        )
        return header, pos


def _hex_int(text: str, what: str) -> int:
    if not text or any(ch not in "0123456789ABCDEFabcdef" for ch in text):
        raise KeyBlockError(f"{what} {text!r} is not hexadecimal")
    return int(text, 16)


def _encode_optional(block_id: str, data: str) -> str:
    length = len(data) + 4
    if length <= 0xFF:
        return f"{block_id}{length:02X}{data}"
    return f"{block_id}0002{len(data) + 10:04X}{data}"


# --- key derivation binding ---------------------------------------------------------------

_TDES_ALGORITHMS = {16: (0x0000, 2), 24: (0x0001, 3)}
_AES_ALGORITHMS = {16: (0x0002, 1), 24: (0x0003, 2), 32: (0x0004, 2)}


def _binding_keys(version: str, kbpk: bytes) -> tuple[bytes, bytes]:
    """The key block encryption and authentication keys derived from the KBPK (CMAC)."""
    if version == "B":
        table, cmac_fn = _TDES_ALGORITHMS, tdes_cmac
    else:
        table, cmac_fn = _AES_ALGORITHMS, aes_cmac
    try:
        algorithm, blocks = table[len(kbpk)]
    except KeyError:
        raise KeyBlockError(f"a version {version} KBPK cannot be {len(kbpk)} bytes") from None
    keys = []
    for usage in (0x0000, 0x0001):
        data = [
            bytes((i,))
            + usage.to_bytes(2, "big")
            + b"\x00"
            + algorithm.to_bytes(2, "big")
            + (len(kbpk) * 8).to_bytes(2, "big")
            for i in range(1, blocks + 1)
        ]
        keys.append(b"".join(cmac_fn(kbpk, d) for d in data)[: len(kbpk)])
    return keys[0], keys[1]


def wrap(
    kbpk: bytes,
    header: KeyBlockHeader,
    key: bytes,
    *,
    random: RandomBytes = secrets.token_bytes,
    padding: bytes | None = None,
) -> str:
    """The key block carrying ``key`` under ``kbpk``. Padding is random unless given."""
    block_size, mac_size = (8, 8) if header.version == "B" else (16, 16)
    if header.version == "B" and len(key) not in (8, 16, 24):
        raise KeyBlockError("version B carries TDES keys (8, 16 or 24 bytes)")
    if header.version == "D" and header.algorithm == "R":
        if not 64 <= len(key) <= 2048:  # an RSA private key, DER (ANSI X9.143 6.3.1)
            raise KeyBlockError("an RSA private key is 64 to 2048 bytes of DER")
    elif header.version == "D" and len(key) not in (8, 16, 24, 32):
        raise KeyBlockError("version D carries keys of 8, 16, 24 or 32 bytes")
    clear_size = 2 + len(key)
    pad_size = -clear_size % block_size
    if padding is None:
        padding = random(pad_size)
    if len(padding) != pad_size:
        raise KeyBlockError(f"padding must be {pad_size} bytes")
    key_data = (len(key) * 8).to_bytes(2, "big") + key + padding
    total = len(header.encode(0)) + 2 * len(key_data) + 2 * mac_size
    header_text = header.encode(total)
    encryption_key, authentication_key = _binding_keys(header.version, kbpk)
    if header.version == "B":
        mac = tdes_cmac(authentication_key, header_text.encode() + key_data)
        encrypted = tdes_cbc_encrypt(encryption_key, key_data, mac)
    else:
        mac = aes_cmac(authentication_key, header_text.encode() + key_data)
        encrypted = aes_cbc_encrypt(encryption_key, key_data, mac)
    return header_text + encrypted.hex().upper() + mac.hex().upper()


def unwrap(kbpk: bytes, block: str) -> tuple[KeyBlockHeader, bytes]:
    """The header and the key of a key block; KeyBlockError if it is malformed or forged."""
    header, header_length = KeyBlockHeader.parse(block)
    length_text = block[1:5]
    if not length_text.isdigit() or int(length_text) != len(block):
        raise KeyBlockError("the key block length field does not match the block")
    mac_size = 8 if header.version == "B" else 16
    body = block[header_length:]
    try:
        raw = bytes.fromhex(body)
    except ValueError:
        raise KeyBlockError("key data and MAC are not hexadecimal") from None
    block_size = mac_size
    encrypted, mac = raw[:-mac_size], raw[-mac_size:]
    if len(mac) != mac_size or not encrypted or len(encrypted) % block_size:
        raise KeyBlockError("the encrypted key data is not whole blocks")
    encryption_key, authentication_key = _binding_keys(header.version, kbpk)
    if header.version == "B":
        key_data = tdes_cbc_decrypt(encryption_key, encrypted, mac)
        expected = tdes_cmac(authentication_key, block[:header_length].encode() + key_data)
    else:
        key_data = aes_cbc_decrypt(encryption_key, encrypted, mac)
        expected = aes_cmac(authentication_key, block[:header_length].encode() + key_data)
    if not verify_mac(expected, mac):
        raise KeyBlockError("the key block MAC does not verify (wrong KBPK or altered block)")
    bits = int.from_bytes(key_data[:2], "big")
    unit = 8 if header.algorithm == "R" else 64  # RSA keys are DER, whole bytes
    if bits % unit or not 64 <= bits <= (len(key_data) - 2) * 8:
        raise KeyBlockError("the key length in the key data is invalid")
    return header, key_data[2 : 2 + bits // 8]


# --- key usage and mode of use ------------------------------------------------------------


class Operation(Enum):
    ENCRYPT_PIN = "encrypt a PIN"
    DECRYPT_PIN = "decrypt a PIN"
    ENCRYPT_DATA = "encrypt data"
    DECRYPT_DATA = "decrypt data"
    GENERATE_MAC = "generate a MAC"
    VERIFY_MAC = "verify a MAC"
    DERIVE_KEYS = "derive keys"
    APPLICATION_CRYPTOGRAM = "derive card keys for application cryptograms"
    WRAP_KEYS = "wrap keys"
    SIGN = "sign"
    SECURE_MESSAGING = "derive card keys for secure messaging"


# TR-31 key usage -> operations it may serve; mode of use -> operations it allows.
_USAGE = {
    "P0": {Operation.ENCRYPT_PIN, Operation.DECRYPT_PIN},
    "D0": {Operation.ENCRYPT_DATA, Operation.DECRYPT_DATA},
    "M0": {Operation.GENERATE_MAC, Operation.VERIFY_MAC},
    "M1": {Operation.GENERATE_MAC, Operation.VERIFY_MAC},
    "M3": {Operation.GENERATE_MAC, Operation.VERIFY_MAC},
    "M6": {Operation.GENERATE_MAC, Operation.VERIFY_MAC},
    "B0": {Operation.DERIVE_KEYS},
    "B1": {Operation.DERIVE_KEYS},
    "E0": {Operation.APPLICATION_CRYPTOGRAM},
    "E2": {Operation.SECURE_MESSAGING},  # issuer master key for secure messaging, integrity
    "K0": {Operation.WRAP_KEYS},
    "K1": {Operation.WRAP_KEYS},
    "S0": {Operation.SIGN},  # asymmetric key pair for digital signature (X9.143)
}
_MODE = {
    "B": {
        Operation.ENCRYPT_PIN,
        Operation.DECRYPT_PIN,
        Operation.ENCRYPT_DATA,
        Operation.DECRYPT_DATA,
        Operation.WRAP_KEYS,
    },
    "E": {Operation.ENCRYPT_PIN, Operation.ENCRYPT_DATA, Operation.WRAP_KEYS},
    "D": {Operation.DECRYPT_PIN, Operation.DECRYPT_DATA},
    "C": {Operation.GENERATE_MAC, Operation.VERIFY_MAC},
    "G": {Operation.GENERATE_MAC},
    "V": {Operation.VERIFY_MAC},
    "X": {Operation.DERIVE_KEYS, Operation.APPLICATION_CRYPTOGRAM, Operation.SECURE_MESSAGING},
    "S": {Operation.SIGN},
}


def require_use(header: KeyBlockHeader, operation: Operation) -> None:
    """KeyUsageError unless the key's usage and mode of use both allow ``operation``.

    >>> require_use(KeyBlockHeader("D", "D0", "A", "B"), Operation.ENCRYPT_PIN)
    Traceback (most recent call last):
    ...
    keys.errors.KeyUsageError: a D0 key (mode B) may not encrypt a PIN
    """
    allowed_by_usage = _USAGE.get(header.key_usage, set())
    allowed_by_mode = _MODE.get(header.mode_of_use, set())
    if operation not in allowed_by_usage or operation not in allowed_by_mode:
        raise KeyUsageError(
            f"a {header.key_usage} key (mode {header.mode_of_use}) may not {operation.value}"
        )


def key_check_value(key: bytes, algorithm: str, length: int = 3) -> bytes:
    """KCV: TDES ("T"): the key encrypts eight zero bytes (legacy); AES ("A"): the CMAC of
    sixteen zero bytes (ANSI X9.24-1-2017); RSA ("R"): the SHA-1 of the key's DER. The
    leftmost ``length`` bytes."""
    if algorithm == "R":
        return hashlib.sha1(key).digest()[:length]
    if algorithm == "T":
        return _tdes_ecb(key, bytes(8))[:length]
    if algorithm == "A":
        return aes_cmac(key, bytes(16))[:length]
    raise KeyBlockError(f"no key check value for algorithm {algorithm!r}")
