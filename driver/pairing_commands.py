"""Pairing, listing and revoking, for :class:`driver.Terminal`: the host's side of
:mod:`keys.pairing` over the link, the long-term key kept in the pairing file
(:mod:`driver.pairings`), never in the driver's memory longer than the link needs it.

    with Terminal("socket://127.0.0.1:4000") as terminal:
        terminal.pair(lambda: input("code on the terminal: "))   # once
        terminal.sale("12.34", "EUR")                             # authenticated frames
"""

from __future__ import annotations

import socket
from collections.abc import Callable

from keys.link_keys import PairingRecord
from keys.pairing import CODE_DIGITS, PairingError, PairingInitiator
from protocols.errors import ErrorCode
from protocols.pairing_messages import (
    PairBegin,
    PairingEntry,
    PairingsAction,
    PairingsRequest,
    PairingsResponse,
    PairingStep,
    PairKey,
    PairStep,
    PairStepAnswer,
)

from .errors import InputRejected, PairingFailed
from .pairings import PairingFile
from .payments import TerminalCommands, _make

__all__ = ["PairingCommands", "default_host_name"]


def default_host_name() -> str:
    return (socket.gethostname() or "host")[:32].encode("ascii", "replace").decode()


class PairingCommands(TerminalCommands):
    """Mixed into ``Terminal``, which provides the exchange, the port and the pairing file."""

    _url: str | None
    _pairing_file: PairingFile

    def _relink(self, *, plain: bool = False) -> None:
        raise NotImplementedError

    def pair(self, code: Callable[[], str], host_name: str | None = None) -> PairingRecord:
        """Pair with the terminal: it shows a fresh six-digit code once pairing begins, and
        ``code()`` is then asked for what the user typed. The long-term key
        goes into the pairing file under this port, and this link is authenticated from the
        next request on. PairingFailed when the code is wrong (or someone is in the middle)."""
        if self._url is None:
            raise InputRejected(ErrorCode.INVALID_FIELD, "port", "pairing needs a port by name")
        self._relink(plain=True)  # whatever this host had for the port may be stale
        initiator = PairingInitiator()
        begin = _make(lambda: PairBegin(initiator.public_key, host_name or default_host_name()))
        key = self._ask(begin, PairKey)
        typed = code().strip().replace(" ", "")
        if len(typed) != CODE_DIGITS or not typed.isdigit():
            raise InputRejected(ErrorCode.INVALID_FIELD, "code", "the code is six digits")
        try:
            initiator.peer_key(key.public_key, key.pairing_id, typed)
            for digit in range(CODE_DIGITS):
                commitment = self._step(PairingStep.COMMIT, digit, initiator.commit(digit))
                opened = self._step(PairingStep.OPEN, digit, initiator.open(digit, commitment))
                initiator.check(digit, opened)
            confirmation = self._step(PairingStep.CONFIRM, 0, initiator.confirmation())
            long_term = initiator.finish(confirmation)
        except PairingError as e:
            # The terminal accepted our openings but its own do not hold for the code typed:
            # it is not the terminal that showed the code. Nothing is stored.
            raise PairingFailed(ErrorCode.WRONG_PAIRING_CODE, "", f"pairing failed: {e}") from None
        self._pairing_file.add(self._url, key.terminal_name, long_term)
        self._relink()
        return PairingRecord(key.pairing_id.hex(), key.terminal_name, 0, self._url)

    def pairings(self) -> tuple[PairingEntry, ...]:
        """The terminal's pairings (a merchant command: the password when one is set)."""
        self._as_merchant()
        return self._ask(PairingsRequest(), PairingsResponse).pairings

    def revoke_pairing(self, pairing_id: str) -> tuple[PairingEntry, ...]:
        """Revoke a pairing on the terminal (and forget it here if it is this host's); the
        pairings left. PairingFailed (UNKNOWN_PAIRING) when the terminal has none with that id."""
        try:
            raw = bytes.fromhex(pairing_id)
        except ValueError:
            raw = b""
        request = _make(lambda: PairingsRequest(PairingsAction.REVOKE, raw))
        self._as_merchant()
        left = self._ask(request, PairingsResponse).pairings
        self._pairing_file.forget(pairing_id.lower())
        return left

    def _step(self, step: PairingStep, digit: int, value: bytes) -> bytes:
        return self._ask(PairStep(step, digit, value), PairStepAnswer).value
