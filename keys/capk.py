"""The terminal's certification authority public keys and its certificate revocation list,
read from text files (EMV 4.4 Book 2 11.2 and 5.3 step 10).

A CA key file has one key per line, fields separated by spaces; ``#`` starts a comment::

    # rid        index exponent expiry  sha1-checksum                            modulus
    A000000003   E1    03       301231  CCD2E20E2335C626302A9623985761477BCA7EC2 9481...

``expiry`` is YYMMDD (000000: not given) and the checksum is the SHA-1 of RID, index,
modulus and exponent (Book 2 11.2.2); a line whose checksum does not match is refused, so a
mistyped key never reaches a verification. A revocation list has one certificate per line:
RID, CA public key index and the issuer certificate's serial number, in hex.

The shipped files: ``keys/data/ca-keys.txt`` (the schemes' published production and test
keys) and ``keys/data/ca-keys.test.txt`` (possim's own test CA), and
``keys/data/revoked-certificates.txt``.

>>> keys = parse_ca_keys("A000000003 01 03 000000 " + ca_key_checksum(
...     bytes.fromhex("A000000003"), 1, bytes([0xC5] * 64), b"\\x03").hex() + " " + "C5" * 64)
>>> keys[(bytes.fromhex("A000000003"), 1)].key.size
64
>>> parse_ca_keys("A000000003 01 03 000000 " + "00" * 20 + " " + "C5" * 64)
Traceback (most recent call last):
...
keys.capk.CaKeyFileError: line 1: the checksum does not match the key
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from types import MappingProxyType

from .oda import ca_key_checksum
from .rsa import RsaPublicKey

__all__ = [
    "CaKey",
    "CaKeyFileError",
    "CaKeys",
    "Revocations",
    "parse_ca_keys",
    "parse_revocations",
    "load_ca_keys",
    "shipped_ca_keys",
    "shipped_revocations",
]

CaKeys = dict[tuple[bytes, int], "CaKey"]
Revocations = frozenset[tuple[bytes, int, bytes]]
SHIPPED_CA_FILES = ("ca-keys.txt", "ca-keys.test.txt")
SHIPPED_REVOCATIONS = "revoked-certificates.txt"


class CaKeyFileError(ValueError):
    """A CA key file or revocation list line that cannot be used: the line says which."""


@dataclass(frozen=True)
class CaKey:
    rid: bytes
    index: int
    key: RsaPublicKey
    expiry: str  # YYMMDD, "000000" when not given


def _lines(text: str) -> list[tuple[int, list[str]]]:
    out = []
    for number, line in enumerate(text.splitlines(), 1):
        fields = line.split("#", 1)[0].split()
        if fields:
            out.append((number, fields))
    return out


def _hex(value: str, size: int | None, what: str, number: int) -> bytes:
    try:
        data = bytes.fromhex(value)
    except ValueError:
        raise CaKeyFileError(f"line {number}: the {what} is not hexadecimal") from None
    if size is not None and len(data) != size:
        raise CaKeyFileError(f"line {number}: the {what} is {len(data)} bytes, not {size}")
    return data


def parse_ca_keys(text: str) -> CaKeys:
    """The keys of a CA key file, by (RID, index)."""
    keys: CaKeys = {}
    for number, fields in _lines(text):
        if len(fields) != 6:
            raise CaKeyFileError(
                f"line {number}: expected rid, index, exponent, expiry, checksum, modulus"
            )
        rid = _hex(fields[0], 5, "RID", number)
        index = _hex(fields[1], 1, "index", number)[0]
        exponent = _hex(fields[2], None, "exponent", number)
        expiry = fields[3]
        checksum = _hex(fields[4], 20, "checksum", number)
        modulus = _hex(fields[5], None, "modulus", number)
        if exponent not in (b"\x03", b"\x01\x00\x01"):
            raise CaKeyFileError(f"line {number}: the exponent is 3 or 65537 (Book 2 11.2)")
        if not 64 <= len(modulus) <= 248:
            raise CaKeyFileError(f"line {number}: a CA modulus is 64 to 248 bytes")
        if len(expiry) != 6 or not expiry.isdigit():
            raise CaKeyFileError(f"line {number}: the expiry is YYMMDD")
        if ca_key_checksum(rid, index, modulus, exponent) != checksum:
            raise CaKeyFileError(f"line {number}: the checksum does not match the key")
        if (rid, index) in keys:
            raise CaKeyFileError(f"line {number}: {fields[0]} {fields[1]} is given twice")
        keys[(rid, index)] = CaKey(rid, index, RsaPublicKey.from_bytes(modulus, exponent), expiry)
    return keys


def parse_revocations(text: str) -> Revocations:
    """(RID, CA index, certificate serial) of each revoked issuer certificate."""
    out = set()
    for number, fields in _lines(text):
        if len(fields) != 3:
            raise CaKeyFileError(f"line {number}: expected rid, index, serial")
        rid = _hex(fields[0], 5, "RID", number)
        index = _hex(fields[1], 1, "index", number)[0]
        out.add((rid, index, _hex(fields[2], 3, "serial", number)))
    return frozenset(out)


def _shipped(name: str) -> str:
    return (resources.files("keys") / "data" / name).read_text()


def load_ca_keys(path: Path) -> CaKeys:
    """A CA key file; CaKeyFileError names the file and line of anything wrong in it."""
    try:
        return parse_ca_keys(path.read_text())
    except CaKeyFileError as e:
        raise CaKeyFileError(f"{path}: {e}") from None


@functools.lru_cache(maxsize=1)
def _shipped_ca_keys() -> CaKeys:
    keys: CaKeys = {}
    for name in SHIPPED_CA_FILES:
        keys.update(parse_ca_keys(_shipped(name)))
    return keys


def shipped_ca_keys() -> Mapping[tuple[bytes, int], CaKey]:
    """The schemes' published keys and possim's test CA: read once a process, and shared
    (read-only) by every terminal of it (a fleet runs thousands)."""
    return MappingProxyType(_shipped_ca_keys())


@functools.lru_cache(maxsize=1)
def shipped_revocations() -> Revocations:
    return parse_revocations(_shipped(SHIPPED_REVOCATIONS))
