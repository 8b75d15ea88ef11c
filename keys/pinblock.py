"""ISO 9564-1 PIN blocks: formats 0, 1, 2 and 3 (8 bytes, for TDES) and 4 (16 bytes, AES).

Clear blocks are built and taken apart here; format 4 is enciphered here too, because its
two-pass encryption is part of the format. Fill digits that the standard wants random come
from a CSPRNG (``secrets``) unless a test passes its own.

>>> encode_pin_block(Pin("1234"), 0, "5432101234567890").hex().upper()
'041215FEDCBA9876'
>>> decode_pin_block(bytes.fromhex("041215FEDCBA9876"), 0, "5432101234567890")
Pin(4 digits)
"""

from __future__ import annotations

import secrets
from collections.abc import Callable

from protocols.errors import ErrorCode, FieldError

from .cipher import aes_ecb_decrypt, aes_ecb_encrypt, xor
from .errors import PinBlockError
from .pin import Pin

__all__ = [
    "encode_pin_block",
    "decode_pin_block",
    "encipher_iso4",
    "decipher_iso4",
    "pan_field_iso0",
    "pan_field_iso4",
]

RandomBytes = Callable[[int], bytes]


def _random_nibbles(count: int, alphabet: str, random: RandomBytes) -> str:
    """``count`` symbols drawn uniformly from ``alphabet`` (16 or fewer) by rejection sampling."""
    limit = 256 - 256 % len(alphabet)
    out: list[str] = []
    while len(out) < count:
        out += [alphabet[b % len(alphabet)] for b in random(count) if b < limit]
    return "".join(out[:count])


def _check_pan_digits(pan: str) -> None:
    # ISO 9564 needs digits only; the Luhn rule belongs to the input rules, not to the block.
    if not (isinstance(pan, str) and 12 <= len(pan) <= 19 and pan.isascii() and pan.isdigit()):
        raise FieldError("pan", ErrorCode.INVALID_PAN, "must be 12 to 19 digits")


def pan_field_iso0(pan: str) -> bytes:
    """0000 and the 12 rightmost PAN digits excluding the check digit (formats 0 and 3)."""
    _check_pan_digits(pan)
    return bytes.fromhex("0000" + pan[-13:-1].rjust(12, "0"))


def pan_field_iso4(pan: str) -> bytes:
    """Format 4's PAN field: (length − 12) in one digit, the PAN, zeros to 32 digits."""
    _check_pan_digits(pan)
    return bytes.fromhex(f"{len(pan) - 12:X}{pan}".ljust(32, "0"))


def encode_pin_block(
    pin: Pin,
    block_format: int,
    pan: str | None = None,
    *,
    random: RandomBytes = secrets.token_bytes,
) -> bytes:
    """The clear 8-byte PIN block of format 0, 1, 2 or 3 (format 0 and 3 need the PAN)."""
    digits = pin._digits
    head = f"{block_format}{len(digits):X}{digits}"
    fill = 16 - len(head)
    if block_format == 0:
        field = head + "F" * fill
    elif block_format == 1:
        field = head + _random_nibbles(fill, "0123456789ABCDEF", random)
    elif block_format == 2:
        field = head + "F" * fill
    elif block_format == 3:
        field = head + _random_nibbles(fill, "ABCDEF", random)
    else:
        raise PinBlockError(f"format {block_format} is not an 8-byte PIN block format")
    block = bytes.fromhex(field)
    if block_format in (0, 3):
        if pan is None:
            raise PinBlockError(f"format {block_format} needs the PAN")
        block = xor(block, pan_field_iso0(pan))
    return block


def _pin_from_field(field: str, block_format: int) -> tuple[Pin, str]:
    if field[0] != f"{block_format:X}":
        raise PinBlockError(f"not a format {block_format} PIN block")
    length = int(field[1], 16)
    digits = field[2 : 2 + length]
    if not 4 <= length <= 12 or not digits.isdigit():
        raise PinBlockError("PIN field is malformed")
    return Pin(digits), field[2 + length :]


def decode_pin_block(block: bytes, block_format: int, pan: str | None = None) -> Pin:
    """The PIN in a clear 8-byte block of format 0, 1, 2 or 3; PinBlockError if malformed."""
    if len(block) != 8:
        raise PinBlockError("an ISO 9564 format 0-3 PIN block is 8 bytes")
    if block_format in (0, 3):
        if pan is None:
            raise PinBlockError(f"format {block_format} needs the PAN")
        block = xor(block, pan_field_iso0(pan))
    pin, fill = _pin_from_field(block.hex().upper(), block_format)
    if block_format in (0, 2) and fill != "F" * len(fill):
        raise PinBlockError("fill digits are not F")
    if block_format == 3 and not set(fill) <= set("ABCDEF"):
        raise PinBlockError("fill digits are not A-F")
    return pin


def _iso4_pin_field(pin: Pin, random: RandomBytes) -> bytes:
    digits = pin._digits
    head = f"4{len(digits):X}{digits}".ljust(16, "A")
    return bytes.fromhex(head) + random(8)


def encipher_iso4(
    key: bytes, pin: Pin, pan: str, *, random: RandomBytes = secrets.token_bytes
) -> bytes:
    """ISO 9564-1 format 4: C = E(K, E(K, PIN field) XOR PAN field), with AES key ``key``."""
    if len(key) not in (16, 24, 32):
        raise PinBlockError("format 4 takes an AES key")
    intermediate = aes_ecb_encrypt(key, _iso4_pin_field(pin, random))
    return aes_ecb_encrypt(key, xor(intermediate, pan_field_iso4(pan)))


def decipher_iso4(key: bytes, block: bytes, pan: str) -> Pin:
    """The PIN in an enciphered format 4 block; PinBlockError if it does not decode."""
    if len(block) != 16:
        raise PinBlockError("a format 4 PIN block is 16 bytes")
    intermediate = xor(aes_ecb_decrypt(key, block), pan_field_iso4(pan))
    field = aes_ecb_decrypt(key, intermediate)[:8].hex().upper()
    pin, fill = _pin_from_field(field, 4)
    if fill != "A" * len(fill):
        raise PinBlockError("fill digits are not A")
    return pin
