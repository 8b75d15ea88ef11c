"""Offline data authentication's certificates and signatures (EMV 4.4 Book 2, sections 5
and 6): the issuer public key certificate (format 02), the ICC public key certificate (04),
signed static application data (03, SDA) and signed dynamic application data (05, DDA and
CDA), each issued with a private key and recovered and checked with the public one.

Recovery checks every step Book 2 lists: the block's header and trailer, its format, the hash
(SHA-1) over the recovered data and what the card sent beside it, the issuer identifier
against the PAN, the expiry date against today's, and the certificate's serial against the
revocation list. A failing step raises :class:`CertificateError` naming it; nothing here
knows TVR bits or APDUs (that is the terminal kernel's).

>>> from keys.rsa import generate_rsa_key
>>> ca, issuer = generate_rsa_key(b"ca", 768), generate_rsa_key(b"issuer", 640)
>>> cert, rest = issuer_certificate(ca, issuer.public, issuer_id="476173", expiry="1230",
...                                 serial=bytes.fromhex("000001"))
>>> recovered = recover_issuer_key(ca.public, cert, rest, issuer.public.exponent_bytes,
...                                pan="4761739001010010", today=(2026, 11))
>>> recovered.key == issuer.public, recovered.serial.hex(), recovered.expiry
(True, '000001', '1230')
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection
from dataclasses import dataclass

from .mac import verify_mac
from .rsa import RsaError, RsaPrivateKey, RsaPublicKey

__all__ = [
    "CertificateError",
    "IssuerPublicKey",
    "CdaDynamicData",
    "issuer_certificate",
    "recover_issuer_key",
    "icc_certificate",
    "recover_icc_key",
    "sign_static_data",
    "recover_static_data",
    "sign_dynamic_data",
    "recover_dynamic_data",
    "cda_dynamic_data",
    "parse_cda_dynamic_data",
    "transaction_data_hash",
    "ca_key_checksum",
]

HEADER, TRAILER, PAD = 0x6A, 0xBC, 0xBB  # Book 2 tables 6, 14, 7, 17
SHA1, RSA = 0x01, 0x01  # hash and public key algorithm indicators (Annex B)
ISSUER_CERTIFICATE, STATIC_DATA, ICC_CERTIFICATE, DYNAMIC_DATA = 0x02, 0x03, 0x04, 0x05


class CertificateError(ValueError):
    """A certificate or signature failed a step of Book 2's checks: ``step`` says which."""

    def __init__(self, step: str) -> None:
        super().__init__(step)
        self.step = step


def _sha1(*parts: bytes) -> bytes:
    return hashlib.sha1(b"".join(parts)).digest()


def _expiry_passed(mmyy: str, today: tuple[int, int]) -> bool:
    """True when the last day of month MMYY is before today (YY 00-49 is 20YY)."""
    month, year = int(mmyy[:2]), int(mmyy[2:])
    year += 2000 if year < 50 else 1900
    return (year, month) < today


def _check_mmyy(mmyy: str) -> None:
    if len(mmyy) != 4 or not mmyy.isdigit() or not 1 <= int(mmyy[:2]) <= 12:
        raise CertificateError(f"the expiry date {mmyy!r} is not MMYY")


def _bcd_padded(digits: str, size: int) -> bytes:
    return bytes.fromhex(digits.ljust(size * 2, "F"))


def _wrap(key: RsaPrivateKey, body: bytes) -> bytes:
    """Header, body, hash placeholder-free: ``body`` already ends with its hash."""
    return key.sign(bytes((HEADER,)) + body + bytes((TRAILER,)))


def _recover(key: RsaPublicKey, signature: bytes, fmt: int, what: str) -> bytes:
    try:
        block = key.recover(signature)
    except RsaError as e:
        raise CertificateError(f"{what}: {e}") from None
    if block[0] != HEADER or block[-1] != TRAILER:
        raise CertificateError(f"{what}: the recovered data has no header 6A and trailer BC")
    if block[1] != fmt:
        raise CertificateError(f"{what}: format {block[1]:02X}, not {fmt:02X}")
    return block


def _check_hash(block: bytes, *more: bytes, what: str) -> None:
    if not verify_mac(_sha1(block[1:-21], *more), block[-21:-1]):
        raise CertificateError(f"{what}: the hash does not match")


def _split_key(
    public: RsaPublicKey, room: int
) -> tuple[bytes, bytes]:  # (the part in the certificate, padded; the remainder)
    modulus = public.modulus_bytes
    if len(modulus) <= room:
        return modulus + bytes((PAD,)) * (room - len(modulus)), b""
    return modulus[:room], modulus[room:]


def _join_key(field: bytes, length: int, remainder: bytes, what: str) -> bytes:
    if length <= len(field):
        if remainder or any(b != PAD for b in field[length:]):
            raise CertificateError(f"{what}: the key's padding is not BB")
        return field[:length]
    if len(remainder) != length - len(field):
        raise CertificateError(f"{what}: the key remainder is missing or the wrong length")
    return field + remainder


def _certificate_body(
    fmt: int, owner: bytes, expiry: str, serial: bytes, key: RsaPublicKey, room: int
) -> tuple[bytes, bytes]:
    """What both public key certificates sign (Book 2 tables 6 and 14): format, owner (the
    issuer identifier or the PAN), expiry MMYY, serial, algorithms, the key's length and its
    exponent's, the key's leftmost ``room`` bytes; and the key's remainder."""
    _check_mmyy(expiry)
    field, remainder = _split_key(key, room)
    algorithms = bytes((SHA1, RSA, key.size, len(key.exponent_bytes)))
    body = bytes((fmt,)) + owner + bytes.fromhex(expiry) + serial + algorithms + field
    return body, remainder


def _certified_key(
    block: bytes,
    at: int,
    remainder: bytes,
    exponent: bytes,
    today: tuple[int, int],
    revoked: Collection[bytes],
    what: str,
) -> tuple[RsaPublicKey, str, bytes]:
    """The checks both certificates share, from the expiry date at ``at`` on (the same layout
    follows it: serial, algorithms, lengths, the key): the key, its expiry and serial."""
    expiry = block[at : at + 2].hex()
    if not expiry.isdigit() or _expiry_passed(expiry, today):
        raise CertificateError(f"{what}: expired {expiry[:2]}/{expiry[2:]}")
    serial = block[at + 2 : at + 5]
    if serial in revoked:
        raise CertificateError(f"{what}: serial {serial.hex().upper()} is revoked")
    if block[at + 5] != SHA1 or block[at + 6] != RSA:
        raise CertificateError(f"{what}: unknown hash or key algorithm")
    if block[at + 8] != len(exponent):
        raise CertificateError(f"{what}: the exponent's length does not match")
    modulus = _join_key(block[at + 9 : -21], block[at + 7], remainder, what)
    return RsaPublicKey.from_bytes(modulus, exponent), expiry, serial


# --- issuer public key certificate (Book 2 5.3, table 6) --------------------------------------


@dataclass(frozen=True)
class IssuerPublicKey:
    key: RsaPublicKey
    issuer_id: str  # leftmost 3 to 8 PAN digits
    expiry: str  # MMYY
    serial: bytes  # 3 bytes, for the revocation list


def issuer_certificate(
    ca: RsaPrivateKey, issuer: RsaPublicKey, *, issuer_id: str, expiry: str, serial: bytes
) -> tuple[bytes, bytes]:
    """The issuer public key certificate (tag 90) and the key's remainder (tag 92)."""
    owner = _bcd_padded(issuer_id, 4)
    body, remainder = _certificate_body(
        ISSUER_CERTIFICATE, owner, expiry, serial, issuer, ca.public.size - 36
    )
    return _wrap(ca, body + _sha1(body, remainder, issuer.exponent_bytes)), remainder


def recover_issuer_key(
    ca: RsaPublicKey,
    certificate: bytes,
    remainder: bytes,
    exponent: bytes,
    *,
    pan: str,
    today: tuple[int, int],
    revoked: Collection[bytes] = (),
) -> IssuerPublicKey:
    """Book 2 5.3 steps 1 to 10; ``today`` is (year, month); ``revoked`` the serials this
    CA key has revoked."""
    what = "issuer certificate"
    block = _recover(ca, certificate, ISSUER_CERTIFICATE, what)
    _check_hash(block, remainder, exponent, what=what)
    issuer_id = block[2:6].hex().upper().rstrip("F")
    if not 3 <= len(issuer_id) <= 8 or not pan.startswith(issuer_id):
        raise CertificateError(f"{what}: issuer identifier {issuer_id} does not match the PAN")
    key, expiry, serial = _certified_key(block, 6, remainder, exponent, today, revoked, what)
    return IssuerPublicKey(key, issuer_id, expiry, serial)


# --- ICC public key certificate (Book 2 6.4, table 14) ----------------------------------------


def icc_certificate(
    issuer: RsaPrivateKey,
    icc: RsaPublicKey,
    *,
    pan: str,
    expiry: str,
    serial: bytes,
    static_data: bytes,
) -> tuple[bytes, bytes]:
    """The ICC public key certificate (tag 9F46) and the key's remainder (tag 9F48)."""
    body, remainder = _certificate_body(
        ICC_CERTIFICATE, _bcd_padded(pan, 10), expiry, serial, icc, issuer.public.size - 42
    )
    return _wrap(issuer, body + _sha1(body, remainder, icc.exponent_bytes, static_data)), remainder


def recover_icc_key(
    issuer: RsaPublicKey,
    certificate: bytes,
    remainder: bytes,
    exponent: bytes,
    *,
    pan: str,
    static_data: bytes,
    today: tuple[int, int],
) -> RsaPublicKey:
    """Book 2 6.4 steps 1 to 10: the ICC's public key."""
    what = "ICC certificate"
    block = _recover(issuer, certificate, ICC_CERTIFICATE, what)
    _check_hash(block, remainder, exponent, static_data, what=what)
    if block[2:12] != _bcd_padded(pan, 10):
        raise CertificateError(f"{what}: the PAN does not match the card's")
    return _certified_key(block, 12, remainder, exponent, today, (), what)[0]


# --- signed static application data (Book 2 5.4, table 7) -------------------------------------


def sign_static_data(issuer: RsaPrivateKey, dac: bytes, static_data: bytes) -> bytes:
    """Tag 93: the issuer's signature over the static data to authenticate."""
    size = issuer.public.size
    body = bytes((STATIC_DATA, SHA1)) + dac + bytes((PAD,)) * (size - 26)
    return _wrap(issuer, body + _sha1(body, static_data))


def recover_static_data(issuer: RsaPublicKey, ssad: bytes, static_data: bytes) -> bytes:
    """Book 2 5.4: check tag 93 over the static data; the data authentication code (9F45)."""
    what = "signed static data"
    block = _recover(issuer, ssad, STATIC_DATA, what)
    if block[2] != SHA1:
        raise CertificateError(f"{what}: unknown hash algorithm")
    _check_hash(block, static_data, what=what)
    return block[3:5]


# --- signed dynamic application data (Book 2 6.5 and 6.6, table 17) ---------------------------


def sign_dynamic_data(icc: RsaPrivateKey, icc_dynamic_data: bytes, terminal_data: bytes) -> bytes:
    """The card's signature (DDA: INTERNAL AUTHENTICATE's answer; CDA: tag 9F4B) over its
    dynamic data and the terminal's (the DDOL data; for CDA the unpredictable number)."""
    size = icc.public.size
    if len(icc_dynamic_data) > size - 25:
        raise CertificateError("the dynamic data does not fit the ICC key")
    pad = bytes((PAD,)) * (size - 25 - len(icc_dynamic_data))
    body = bytes((DYNAMIC_DATA, SHA1, len(icc_dynamic_data))) + icc_dynamic_data + pad
    return _wrap(icc, body + _sha1(body, terminal_data))


def recover_dynamic_data(icc: RsaPublicKey, sdad: bytes, terminal_data: bytes) -> bytes:
    """Book 2 6.5.2: check a dynamic signature; the ICC dynamic data it signed."""
    what = "signed dynamic data"
    block = _recover(icc, sdad, DYNAMIC_DATA, what)
    if block[2] != SHA1:
        raise CertificateError(f"{what}: unknown hash algorithm")
    _check_hash(block, terminal_data, what=what)
    length = block[3]
    if 4 + length > len(block) - 21:
        raise CertificateError(f"{what}: the dynamic data's length is wrong")
    return block[4 : 4 + length]


@dataclass(frozen=True)
class CdaDynamicData:
    """What a CDA signature carries (Book 2 table 19)."""

    icc_dynamic_number: bytes
    cid: int
    cryptogram: bytes
    transaction_hash: bytes


def cda_dynamic_data(number: bytes, cid: int, cryptogram: bytes, transaction_hash: bytes) -> bytes:
    return bytes((len(number),)) + number + bytes((cid,)) + cryptogram + transaction_hash


def parse_cda_dynamic_data(data: bytes) -> CdaDynamicData:
    size = data[0] if data else 0
    if not 2 <= size <= 8 or len(data) < 1 + size + 1 + 8 + 20:
        raise CertificateError("signed dynamic data: not CDA's dynamic data")
    rest = data[1 + size :]
    return CdaDynamicData(data[1 : 1 + size], rest[0], rest[1:9], rest[9:29])


def transaction_data_hash(*parts: bytes) -> bytes:
    """Book 2 6.6.1: SHA-1 of the PDOL data, CDOL1 data (and CDOL2 data for the second
    GENERATE AC) and the GENERATE AC response's data objects but the signature, in order."""
    return _sha1(*parts)


def ca_key_checksum(rid: bytes, index: int, modulus: bytes, exponent: bytes) -> bytes:
    """The CA public key check sum (Book 2 11.2.2): SHA-1 of RID, index, modulus, exponent.

    >>> ca_key_checksum(bytes(5), 1, b"\\x01", b"\\x03").hex()
    'ce124c7bfd601ae461f237692830cfa1fd830b62'
    """
    return _sha1(rid, bytes((index,)), modulus, exponent)
