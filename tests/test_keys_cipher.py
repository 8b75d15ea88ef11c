"""keys/cipher.py keeps one ECB context per key and chains CBC itself: every result must be
the one the ``cryptography`` package's own modes give, for any key, data and IV."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from hypothesis import given
from hypothesis import strategies as st

from keys import cipher

# name: block size, key sizes, the algorithm as cryptography takes it
CIPHERS: dict[str, tuple[int, list[int], Callable[[bytes], TripleDES | algorithms.AES]]] = {
    "tdes": (8, [16, 24], lambda key: TripleDES(key + key[:8] if len(key) == 16 else key)),
    "aes": (16, [16, 24, 32], algorithms.AES),
}


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


@pytest.mark.parametrize("name", sorted(CIPHERS))
@given(draw=st.data())
def test_ecb_and_cbc_match_cryptography(name: str, draw: st.DataObject) -> None:
    block, key_sizes, algorithm_of = CIPHERS[name]
    size = draw.draw(st.sampled_from(key_sizes))
    key = draw.draw(st.binary(min_size=size, max_size=size))
    data = draw.draw(
        st.integers(0, 6).flatmap(lambda n: st.binary(min_size=n * block, max_size=n * block))
    )
    iv = draw.draw(st.binary(min_size=block, max_size=block))
    algorithm = algorithm_of(key)
    for mode, args in ((modes.ECB(), (key, data)), (modes.CBC(iv), (key, data, iv))):
        mode_name = "ecb" if isinstance(mode, modes.ECB) else "cbc"
        encrypt = getattr(cipher, f"{name}_{mode_name}_encrypt")
        decrypt = getattr(cipher, f"{name}_{mode_name}_decrypt")
        assert encrypt(*args) == reference(algorithm, mode, data, encrypt=True)
        assert decrypt(*args) == reference(algorithm, mode, data, encrypt=False)


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
