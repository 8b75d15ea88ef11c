"""keys/cipher.py keeps one ECB context per key and chains CBC itself: every result must be
the one the ``cryptography`` package's own modes give, for any key, data and IV."""

from __future__ import annotations

import pytest
from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from hypothesis import given
from hypothesis import strategies as st

from keys import cipher


def reference(
    algorithm: TripleDES | algorithms.AES,
    mode: modes.ECB | modes.CBC,
    data: bytes,
    *,
    encrypt: bool,
) -> bytes:
    context = Cipher(algorithm, mode)
    worker = context.encryptor() if encrypt else context.decryptor()
    return worker.update(data) + worker.finalize()


def blocks(size: int) -> st.SearchStrategy[bytes]:
    return st.integers(0, 6).flatmap(lambda n: st.binary(min_size=n * size, max_size=n * size))


@given(
    key=st.binary(min_size=16, max_size=16), data=blocks(8), iv=st.binary(min_size=8, max_size=8)
)
def test_tdes_matches_cryptography(key: bytes, data: bytes, iv: bytes) -> None:
    algorithm = TripleDES(key + key[:8])
    assert cipher.tdes_ecb_encrypt(key, data) == reference(
        algorithm, modes.ECB(), data, encrypt=True
    )
    assert cipher.tdes_ecb_decrypt(key, data) == reference(
        algorithm, modes.ECB(), data, encrypt=False
    )
    assert cipher.tdes_cbc_encrypt(key, data, iv) == reference(
        algorithm, modes.CBC(iv), data, encrypt=True
    )
    assert cipher.tdes_cbc_decrypt(key, data, iv) == reference(
        algorithm, modes.CBC(iv), data, encrypt=False
    )


@given(
    key=st.sampled_from([16, 24, 32]).flatmap(lambda n: st.binary(min_size=n, max_size=n)),
    data=blocks(16),
    iv=st.binary(min_size=16, max_size=16),
)
def test_aes_matches_cryptography(key: bytes, data: bytes, iv: bytes) -> None:
    algorithm = algorithms.AES(key)
    assert cipher.aes_ecb_encrypt(key, data) == reference(
        algorithm, modes.ECB(), data, encrypt=True
    )
    assert cipher.aes_ecb_decrypt(key, data) == reference(
        algorithm, modes.ECB(), data, encrypt=False
    )
    assert cipher.aes_cbc_encrypt(key, data, iv) == reference(
        algorithm, modes.CBC(iv), data, encrypt=True
    )
    assert cipher.aes_cbc_decrypt(key, data, iv) == reference(
        algorithm, modes.CBC(iv), data, encrypt=False
    )


def test_a_kept_context_is_not_left_holding_a_partial_block() -> None:
    key = bytes(range(16))
    with pytest.raises(ValueError, match="multiple of the 8-byte block"):
        cipher.tdes_ecb_encrypt(key, b"seven b")
    # the next call still starts on a block boundary (the refused data never reached it)
    assert cipher.tdes_ecb_encrypt(key, bytes(8)) == reference(
        TripleDES(key + key[:8]), modes.ECB(), bytes(8), encrypt=True
    )
    with pytest.raises(ValueError, match="IV is 16 bytes"):
        cipher.aes_cbc_encrypt(key, bytes(16), bytes(8))
