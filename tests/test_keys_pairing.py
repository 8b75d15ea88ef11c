"""The pairing's cryptography (keys.pairing, keys.link_keys): the primitives against their
published test vectors, and the ceremony against a wrong code and a man in the middle."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from keys.link_keys import SessionMacs, _hkdf
from keys.pairing import CODE_DIGITS, PairingError, PairingInitiator, PairingResponder

# RFC 7748 section 6.1 (X25519 Diffie-Hellman): Alice's and Bob's private keys, their
# public keys and the shared secret K.
ALICE = bytes.fromhex("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a")
ALICE_PUBLIC = bytes.fromhex("8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a")
BOB = bytes.fromhex("5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb")
BOB_PUBLIC = bytes.fromhex("de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f")
SHARED = bytes.fromhex("4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742")


def test_the_key_agreement_is_x25519_of_rfc_7748() -> None:
    host = PairingInitiator(private_key=ALICE)
    terminal = PairingResponder(code="123456", private_key=BOB)
    assert (host.public_key, terminal.public_key) == (ALICE_PUBLIC, BOB_PUBLIC)
    host.peer_key(terminal.public_key, terminal.pairing_id, code="123456")
    terminal.peer_key(host.public_key)
    assert host._shared == terminal._shared == SHARED


def test_hkdf_is_rfc_5869_test_case_1() -> None:
    # RFC 5869 appendix A.1: IKM 22 x 0x0b, salt 000102..0c, info f0f1..f9, L = 42
    okm = _hkdf(bytes([0x0B] * 22), bytes(range(0xF0, 0xFA)), salt=bytes(range(13)), length=42)
    assert okm == bytes.fromhex(
        "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865"
    )


def test_the_low_order_point_is_refused() -> None:
    # RFC 7748 section 6.1 warns of all-zero outputs: a public key of order 1 or 2 gives one
    with pytest.raises(PairingError):
        PairingInitiator().peer_key(bytes(32), bytes(8), code="123456")


def ceremony(host: PairingInitiator, terminal: PairingResponder) -> None:
    for digit in range(CODE_DIGITS):
        theirs = terminal.commit(digit, host.commit(digit))
        host.check(digit, terminal.open(digit, host.open(digit, theirs)))


@given(st.integers(0, 999_999), st.integers(0, 999_999))
def test_a_wrong_code_fails_on_the_terminal_at_the_first_digit_that_differs(
    shown: int, typed: int
) -> None:
    code, guess = f"{shown:06d}", f"{typed:06d}"
    host, terminal = PairingInitiator(), PairingResponder(code=code)
    host.peer_key(terminal.public_key, terminal.pairing_id, code=guess)
    terminal.peer_key(host.public_key)
    if code == guess:
        ceremony(host, terminal)
        assert host.finish(terminal.confirm(host.confirmation())).key == terminal.finish().key
        return
    first_wrong = next(i for i in range(CODE_DIGITS) if code[i] != guess[i])
    for digit in range(first_wrong):
        theirs = terminal.commit(digit, host.commit(digit))
        host.check(digit, terminal.open(digit, host.open(digit, theirs)))
    theirs = terminal.commit(first_wrong, host.commit(first_wrong))
    with pytest.raises(PairingError):  # the terminal opens nothing for a wrong digit
        terminal.open(first_wrong, host.open(first_wrong, theirs))


def test_a_man_in_the_middle_who_relays_with_his_own_keys_is_caught() -> None:
    """Mallory sits between host and terminal with a key pair of his own towards each, and
    passes every message on. The commitments bind both public keys: the terminal's check of
    the host's first opening fails, so it opens nothing and stores nothing."""
    host, terminal = PairingInitiator(), PairingResponder(code="271828")
    to_terminal, to_host = PairingInitiator(), PairingResponder(code="271828")  # Mallory
    host.peer_key(to_host.public_key, terminal.pairing_id, code="271828")
    terminal.peer_key(to_terminal.public_key)
    theirs = terminal.commit(0, host.commit(0))  # Mallory relays as they are
    with pytest.raises(PairingError):
        terminal.open(0, host.open(0, theirs))


def test_session_macs_differ_by_direction_and_by_session() -> None:
    long_term = bytes(range(32))
    one = SessionMacs(long_term, b"HOST", b"TERM")
    other = SessionMacs(long_term, b"HOST", b"TER2")
    assert one.seal("host", b"frame") != one.seal("terminal", b"frame")
    assert one.seal("host", b"frame") != other.seal("host", b"frame")
    assert one.check("host", b"frame", one.seal("host", b"frame"))
    assert not one.check("terminal", b"frame", one.seal("host", b"frame"))
