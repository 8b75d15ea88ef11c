"""Pairing a host with a terminal: an X25519 key agreement confirmed by the six-digit code
the terminal shows, with nothing an eavesdropper or a man in the middle can use offline.

The code is confirmed digit by digit, as Bluetooth's passkey entry confirms its passkey bit
by bit (Core Specification v5.3, Vol 3, Part H, 2.3.5.6.3): in each of six rounds the host
commits to (its nonce, the digit, both public keys), the terminal commits likewise, the
host opens its commitment, the terminal checks it against its own digit and only then opens
its own. Someone in the middle holds other public keys than either side, so must commit to
each digit before either side reveals it: one chance in ten a round, one in a million in
all, and a failed attempt costs a new code (the terminal backs off). The long-term key is
HKDF-SHA256 over the X25519 secret, salted with both public keys and every nonce.

>>> host = PairingInitiator()
>>> terminal = PairingResponder(code="314159", pairing_id=bytes(8))
>>> host.peer_key(terminal.public_key, terminal.pairing_id, code="314159")
>>> terminal.peer_key(host.public_key)
>>> for digit in range(CODE_DIGITS):
...     theirs = terminal.commit(digit, host.commit(digit))
...     host.check(digit, terminal.open(digit, host.open(digit, theirs)))
>>> confirmation = terminal.confirm(host.confirmation())
>>> host.finish(confirmation).pairing_id == terminal.finish().pairing_id
True
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass, field

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from .errors import SecureElementError

__all__ = [
    "CODE_DIGITS",
    "NONCE_SIZE",
    "PUBLIC_KEY_SIZE",
    "PAIRING_ID_SIZE",
    "PairingError",
    "LongTermKey",
    "PairingInitiator",
    "PairingResponder",
    "new_code",
]

CODE_DIGITS = 6
NONCE_SIZE = 16
PUBLIC_KEY_SIZE = 32
PAIRING_ID_SIZE = 8
COMMITMENT_SIZE = 32
CONFIRMATION_SIZE = 16
_LABEL = b"possim pairing v1"


class PairingError(SecureElementError):
    """A step of the pairing failed: a wrong code, a step out of order, a bad value."""


@dataclass(frozen=True)
class LongTermKey:
    """A pairing's key (32 bytes) and its id. The key is kept by :mod:`keys.link_keys`."""

    pairing_id: bytes
    key: bytes = field(repr=False)


def new_code() -> str:
    """A fresh six-digit code, uniformly random."""
    return f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"


def _commitment(nonce: bytes, role: bytes, round_: int, digit: str, keys: bytes) -> bytes:
    message = _LABEL + role + bytes((round_,)) + digit.encode() + keys
    return hmac.digest(nonce, message, hashlib.sha256)


def _public_bytes(key: X25519PrivateKey) -> bytes:
    return key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def _check_code(code: str) -> str:
    if len(code) != CODE_DIGITS or not code.isascii() or not code.isdigit():
        raise PairingError(f"the pairing code is {CODE_DIGITS} digits")
    return code


class _Side:
    """What both sides do alike: their key pair, the transcript, the rounds."""

    ROLE = b""
    PEER_ROLE = b""

    def __init__(self, private_key: bytes | None = None) -> None:
        # ``private_key``: for published test vectors only; a fresh key otherwise
        self._private = (
            X25519PrivateKey.from_private_bytes(private_key)
            if private_key is not None
            else X25519PrivateKey.generate()
        )
        self.public_key = _public_bytes(self._private)
        self._code = ""
        self._keys = b""  # both public keys, host's first
        self._shared = b""
        self._nonces: list[bytes] = [secrets.token_bytes(NONCE_SIZE) for _ in range(CODE_DIGITS)]
        self._peer_commitments: dict[int, bytes] = {}
        self._peer_nonces: dict[int, bytes] = {}
        self._long_term: LongTermKey | None = None
        self.pairing_id = b""

    def _agree(self, peer_public: bytes, host_first: bool) -> None:
        if len(peer_public) != PUBLIC_KEY_SIZE:
            raise PairingError(f"a public key is {PUBLIC_KEY_SIZE} bytes")
        try:
            self._shared = self._private.exchange(X25519PublicKey.from_public_bytes(peer_public))
        except ValueError:  # a low-order point: the shared secret would be all zero
            raise PairingError("the peer's public key is not usable") from None
        ours, theirs = self.public_key, peer_public
        self._keys = ours + theirs if host_first else theirs + ours

    def _round(self, round_: int) -> None:
        if not self._shared:
            raise PairingError("no key agreement yet")
        if not 0 <= round_ < CODE_DIGITS:
            raise PairingError(f"the rounds are 0 to {CODE_DIGITS - 1}")

    def _own_commitment(self, round_: int) -> bytes:
        self._round(round_)
        return _commitment(self._nonces[round_], self.ROLE, round_, self._code[round_], self._keys)

    def _check_peer(self, round_: int, nonce: bytes) -> None:
        """The peer's opened commitment must hold for our digit of the code."""
        committed = self._peer_commitments.get(round_)
        if committed is None or len(nonce) != NONCE_SIZE:
            raise PairingError("a commitment opened before it was made")
        expected = _commitment(nonce, self.PEER_ROLE, round_, self._code[round_], self._keys)
        if not hmac.compare_digest(expected, committed):
            raise PairingError("the code does not match")
        self._peer_nonces[round_] = nonce

    def _derive(self) -> LongTermKey:
        if len(self._peer_nonces) != CODE_DIGITS:
            raise PairingError("not every digit of the code was confirmed")
        if self._long_term is None:
            host_nonces, terminal_nonces = self._nonce_order()
            salt = hashlib.sha256(self._keys + host_nonces + terminal_nonces).digest()
            key = HKDF(
                algorithm=hashes.SHA256(), length=32, salt=salt, info=_LABEL + self.pairing_id
            ).derive(self._shared)
            self._long_term = LongTermKey(self.pairing_id, key)
        return self._long_term

    def _nonce_order(self) -> tuple[bytes, bytes]:
        ours = b"".join(self._nonces)
        theirs = b"".join(self._peer_nonces[i] for i in range(CODE_DIGITS))
        return (ours, theirs) if self.ROLE == b"H" else (theirs, ours)

    def _confirmation(self, role: bytes) -> bytes:
        key = self._derive().key
        return hmac.digest(key, _LABEL + b" confirm " + role + self._keys, hashlib.sha256)[
            :CONFIRMATION_SIZE
        ]


class PairingInitiator(_Side):
    """The host's side. The code is what its user typed."""

    ROLE, PEER_ROLE = b"H", b"T"

    def peer_key(self, terminal_public: bytes, pairing_id: bytes, code: str) -> None:
        if len(pairing_id) != PAIRING_ID_SIZE:
            raise PairingError(f"a pairing id is {PAIRING_ID_SIZE} bytes")
        self._code = _check_code(code)
        self.pairing_id = pairing_id
        self._agree(terminal_public, host_first=True)

    def commit(self, round_: int) -> bytes:
        return self._own_commitment(round_)

    def open(self, round_: int, terminal_commitment: bytes) -> bytes:
        """Take the terminal's commitment for ``round_``; our nonce, now that it is bound."""
        self._round(round_)
        if len(terminal_commitment) != COMMITMENT_SIZE:
            raise PairingError(f"a commitment is {COMMITMENT_SIZE} bytes")
        self._peer_commitments[round_] = terminal_commitment
        return self._nonces[round_]

    def check(self, round_: int, nonce: bytes) -> None:
        """The terminal's opening for ``round_``; PairingError if its digit differs."""
        self._round(round_)
        self._check_peer(round_, nonce)

    def confirmation(self) -> bytes:
        return self._confirmation(b"H")

    def finish(self, terminal_confirmation: bytes) -> LongTermKey:
        if not hmac.compare_digest(self._confirmation(b"T"), terminal_confirmation):
            raise PairingError("the terminal did not derive the same key")
        return self._derive()


class PairingResponder(_Side):
    """The terminal's side. The code is the one it shows."""

    ROLE, PEER_ROLE = b"T", b"H"

    def __init__(
        self,
        code: str | None = None,
        pairing_id: bytes | None = None,
        private_key: bytes | None = None,
    ) -> None:
        super().__init__(private_key)
        self._code = _check_code(code if code is not None else new_code())
        self.pairing_id = pairing_id if pairing_id is not None else secrets.token_bytes(8)
        self._opened: set[int] = set()

    @property
    def code(self) -> str:
        """The code to show on the terminal's own display (never to send on the link)."""
        return self._code

    def peer_key(self, host_public: bytes) -> None:
        self._agree(host_public, host_first=False)

    def commit(self, round_: int, host_commitment: bytes) -> bytes:
        """Take the host's commitment for ``round_``; ours in answer."""
        self._round(round_)
        if round_ != len(self._peer_commitments) or len(host_commitment) != COMMITMENT_SIZE:
            raise PairingError("a commitment out of order")
        self._peer_commitments[round_] = host_commitment
        return self._own_commitment(round_)

    def open(self, round_: int, host_nonce: bytes) -> bytes:
        """Check the host's opening against our digit; our nonce if it holds."""
        self._round(round_)
        self._check_peer(round_, host_nonce)
        self._opened.add(round_)
        return self._nonces[round_]

    def confirm(self, host_confirmation: bytes) -> bytes:
        """Check the host's key confirmation; ours in answer."""
        if not hmac.compare_digest(self._confirmation(b"H"), host_confirmation):
            raise PairingError("the host did not derive the same key")
        return self._confirmation(b"T")

    def finish(self) -> LongTermKey:
        return self._derive()
