"""EMV application cryptograms (EMV 4.4 Book 2, section 8 and Annex A1): ICC master key
derivation (options A and B), the common session key derivation, ARQC/TC/AAC generation and
verification, and ARPC methods 1 and 2. The session key for cryptograms is a double-length
TDES key; the MAC is ISO/IEC 9797-1 algorithm 3 with padding method 2.

>>> imk = bytes.fromhex("0123456789ABCDEFFEDCBA9876543210")
>>> derive_icc_master_key(imk, "12345678901234567", "01").hex().upper()
'AD406D7F6D7570916D75E5DCAB8CF737'
"""

from __future__ import annotations

import functools
import hashlib

from .cipher import adjust_odd_parity, tdes_ecb_encrypt, xor
from .errors import SecureElementError
from .mac import mac_iso9797_3, verify_mac

__all__ = [
    "derive_icc_master_key",
    "derive_icc_master_key_option_a",
    "derive_icc_master_key_option_b",
    "derive_session_key",
    "derive_secure_messaging_key",
    "generate_ac",
    "script_mac",
    "verify_ac",
    "generate_arpc_method1",
    "generate_arpc_method2",
]

_DECIMALISE = str.maketrans("abcdef", "012345")


def _check_mk(key: bytes) -> None:
    if len(key) != 16:
        raise SecureElementError("an EMV master or session key is a 16-byte double-length key")


def _from_y(master_key: bytes, y: bytes) -> bytes:
    return adjust_odd_parity(tdes_ecb_encrypt(master_key, y + xor(y, b"\xff" * 8)))


@functools.lru_cache(maxsize=256)
def derive_icc_master_key_option_a(issuer_mk: bytes, pan: str, psn: str = "00") -> bytes:
    """Option A (A1.4.1): Y is the rightmost 16 digits of PAN || PSN, left-padded with zeros.
    A card's master key is the same at every transaction: it is derived once (cached in this
    process, inside keys/), not at each of the card's and the issuer's three uses a sale."""
    _check_mk(issuer_mk)
    return _from_y(issuer_mk, bytes.fromhex((pan + psn)[-16:].rjust(16, "0")))


def derive_icc_master_key_option_b(issuer_mk: bytes, pan: str, psn: str = "00") -> bytes:
    """Option B (A1.4.2), for PANs over 16 digits: Y from the decimalised SHA-1 of PAN || PSN."""
    _check_mk(issuer_mk)
    digits = pan + psn
    digest = hashlib.sha1(bytes.fromhex(digits.rjust(len(digits) + len(digits) % 2, "0")))
    hex_digest = digest.hexdigest()
    y = "".join(d for d in hex_digest if d.isdigit())[:16]
    if len(y) < 16:
        y += "".join(d for d in hex_digest if not d.isdigit()).translate(_DECIMALISE)[: 16 - len(y)]
    return _from_y(issuer_mk, bytes.fromhex(y))


def derive_icc_master_key(issuer_mk: bytes, pan: str, psn: str = "00") -> bytes:
    """Option A for PANs of up to 16 digits, option B above (EMV Book 2 A1.4)."""
    if len(pan) <= 16:
        return derive_icc_master_key_option_a(issuer_mk, pan, psn)
    return derive_icc_master_key_option_b(issuer_mk, pan, psn)


def derive_session_key(icc_mk: bytes, atc: bytes, unpredictable_number: bytes = b"") -> bytes:
    """EMV common session key derivation (A1.3.1): R = ATC || 00 00 || UN (or six zero bytes
    without UN); SK = TDES(MK)[R with byte 3 = F0] || TDES(MK)[R with byte 3 = 0F]."""
    _check_mk(icc_mk)
    if len(atc) != 2 or len(unpredictable_number) not in (0, 4):
        raise SecureElementError("ATC is 2 bytes and the unpredictable number 4")
    r = atc + bytes(6) if not unpredictable_number else atc + bytes(2) + unpredictable_number
    left = r[:2] + b"\xf0" + r[3:]
    right = r[:2] + b"\x0f" + r[3:]
    return adjust_odd_parity(tdes_ecb_encrypt(icc_mk, left + right))


def derive_secure_messaging_key(icc_mk: bytes, application_cryptogram: bytes) -> bytes:
    """The session key for secure messaging (A1.3.1 with R = the application cryptogram the
    card last produced): issuer script commands are MACed under it (Book 2 9.2)."""
    _check_mk(icc_mk)
    if len(application_cryptogram) != 8:
        raise SecureElementError("the application cryptogram is 8 bytes")
    r = application_cryptogram
    return adjust_odd_parity(
        tdes_ecb_encrypt(icc_mk, r[:2] + b"\xf0" + r[3:] + r[:2] + b"\x0f" + r[3:])
    )


def script_mac(session_key: bytes, data: bytes) -> bytes:
    """The 8-byte MAC of a script command (Book 2 9.2.1): ISO 9797-1 algorithm 3, padding 2."""
    _check_mk(session_key)
    return mac_iso9797_3(session_key, data, padding=2)


def generate_ac(session_key: bytes, data: bytes) -> bytes:
    """The 8-byte application cryptogram (ARQC, TC or AAC) over the concatenated data."""
    _check_mk(session_key)
    return mac_iso9797_3(session_key, data, padding=2)


def verify_ac(session_key: bytes, data: bytes, cryptogram: bytes) -> bool:
    """Constant-time check of a cryptogram received from the card."""
    return verify_mac(generate_ac(session_key, data), cryptogram)


def generate_arpc_method1(session_key: bytes, arqc: bytes, response_code: bytes) -> bytes:
    """ARPC method 1 (8.2.1): TDES(SK)[ARQC XOR (ARC || 00 * 6)], with a 2-byte ARC."""
    _check_mk(session_key)
    if len(arqc) != 8 or len(response_code) != 2:
        raise SecureElementError("ARQC is 8 bytes and the response code 2")
    return tdes_ecb_encrypt(session_key, xor(arqc, response_code + bytes(6)))


def generate_arpc_method2(
    session_key: bytes, arqc: bytes, card_status_update: bytes, proprietary: bytes = b""
) -> bytes:
    """ARPC method 2 (8.2.2): the 4-byte MAC of ARQC || CSU || proprietary data."""
    _check_mk(session_key)
    if len(arqc) != 8 or len(card_status_update) != 4 or len(proprietary) > 8:
        raise SecureElementError("ARQC is 8 bytes, CSU 4, proprietary data 0 to 8")
    return mac_iso9797_3(session_key, arqc + card_status_update + proprietary, 2, 4)
