"""The terminal's side of pairing: one attempt at a time, bound to the link session that
began it, a fresh code shown on the terminal's own display for each, failures backing off
(:mod:`firmware_sim.backoff`), the pairings kept in the key store. No I/O: time is passed
in, the display is a callable, the key store a vault.

>>> import time
>>> from keys.link_keys import MemoryVault, TerminalPairings
>>> from keys.pairing import PairingInitiator
>>> shown = []
>>> desk = PairingDesk(TerminalPairings(MemoryVault(), time.time_ns), "POSSIM01", shown.append)
>>> host = PairingInitiator()
>>> key = desk.begin(b"S1", PairBegin(host.public_key, "till"), now=0.0)
>>> shown[0][:12], type(key).__name__, len(desk.pairings)
('Pairing code', 'PairKey', 0)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from keys.link_keys import TerminalPairings
from keys.pairing import PairingError, PairingResponder
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

from .backoff import Backoff

__all__ = ["PairingDesk", "PairingCounters", "Refusal"]

Refusal = tuple[ErrorCode, str]
ATTEMPT_TIMEOUT = 120.0  # seconds a begun pairing waits for its next step


@dataclass
class PairingCounters:
    attempts: int = 0
    paired: int = 0
    wrong_codes: int = 0
    lockouts: int = 0
    revoked: int = 0


@dataclass
class _Attempt:
    session: object
    host_name: str
    responder: PairingResponder
    expires: float


class PairingDesk:
    def __init__(
        self, pairings: TerminalPairings, terminal_name: str, show: Callable[[str], None]
    ) -> None:
        self.pairings = pairings
        self._name = terminal_name
        self._show = show
        self._attempt: _Attempt | None = None
        self._backoff = Backoff()
        self.counters = PairingCounters()

    def begin(self, session: object, message: PairBegin, now: float) -> PairKey | Refusal:
        """A new attempt (any earlier one is given up): a fresh code on the display."""
        wait = self._backoff.wait(now)
        if wait:
            return ErrorCode.PAIRING_LOCKED, f"too many failed pairings: try in {int(wait) + 1} s"
        responder = PairingResponder()
        try:
            responder.peer_key(message.public_key)
        except PairingError as e:
            return ErrorCode.PAIRING_FAILED, str(e)
        self.counters.attempts += 1
        self._attempt = _Attempt(session, message.host_name, responder, now + ATTEMPT_TIMEOUT)
        digits = " ".join(responder.code)
        self._show(f"Pairing code {digits}  (type it on the host {message.host_name})")
        return PairKey(responder.public_key, responder.pairing_id, self._name)

    def step(self, session: object, message: PairStep, now: float) -> PairStepAnswer | Refusal:
        attempt = self._attempt
        if attempt is None or attempt.session != session or now > attempt.expires:
            return ErrorCode.PAIRING_FAILED, "no pairing in progress on this link: begin again"
        responder = attempt.responder
        try:
            if message.step is PairingStep.COMMIT:
                value = responder.commit(message.round, message.value)
            elif message.step is PairingStep.OPEN:
                value = responder.open(message.round, message.value)
            else:
                value = responder.confirm(message.value)
                self.pairings.add(responder.finish(), attempt.host_name, int(now))
                self.counters.paired += 1
                self._backoff.succeeded()
                self._attempt = None
                self._show(f"Paired with {attempt.host_name}")
        except PairingError as e:
            return self._failed(str(e), now)
        return PairStepAnswer(message.step, message.round, value)

    def _failed(self, why: str, now: float) -> Refusal:
        self._attempt = None
        self.counters.wrong_codes += 1
        self._show("Pairing failed")
        locked = self._backoff.failed(now)
        if locked:
            self.counters.lockouts += 1
            return ErrorCode.PAIRING_LOCKED, f"{why}; no pairing for {int(locked)} s"
        return ErrorCode.WRONG_PAIRING_CODE, f"{why}: pair again for a new code"

    def manage(self, message: PairingsRequest) -> PairingsResponse | Refusal:
        """List the pairings, or revoke one first."""
        if message.action is PairingsAction.REVOKE:
            if not self.pairings.revoke(message.pairing_id):
                return ErrorCode.UNKNOWN_PAIRING, "no pairing with that id"
            self.counters.revoked += 1
        entries = tuple(
            PairingEntry(bytes.fromhex(r.pairing_id), r.name[:32], r.created)
            for r in self.pairings.records()
        )
        return PairingsResponse(entries)
