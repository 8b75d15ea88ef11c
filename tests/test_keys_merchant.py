"""The merchant password hash: scrypt checked against RFC 7914's published test vector."""

from __future__ import annotations

from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from keys.merchant import hash_password, verify_password


def test_scrypt_is_rfc_7914s() -> None:
    # RFC 7914 section 12, the second vector: P="password", S="NaCl", N=1024, r=8, p=16, dkLen=64
    key = Scrypt(salt=b"NaCl", length=64, n=1024, r=8, p=16).derive(b"password")
    assert key.hex() == (
        "fdbabe1c9d3472007856e7190d01e9fe7c6ad7cbc8237830e77376634b373162"
        "2eaf30d92e22a3886ff109279d9830dac727afb94a83ee6d8360cbdfa2cc0640"
    )
    # and a hash string made with those parameters checks with them
    stored = f"scrypt$1024$8$16${b'NaCl'.hex()}${key.hex()}"
    assert verify_password(stored, "password") and not verify_password(stored, "Password")


def test_hashes_are_salted_and_never_hold_the_password() -> None:
    first, second = hash_password("merchant-42"), hash_password("merchant-42")
    assert first != second  # a random salt each time
    assert verify_password(first, "merchant-42") and verify_password(second, "merchant-42")
    assert "merchant-42" not in first and b"merchant-42".hex() not in first
    assert not verify_password("not a hash", "merchant-42")
    assert not verify_password("scrypt$x$8$1$00$00", "merchant-42")
