"""Who may refund: the merchant password. Once one is set, refunds, voids, tip adjustments,
settlement and setting the password need a MERCHANT_LOGIN in the same link session. Wrong
passwords are counted; the third in a row locks logins for 30 s, each further lock twice as
long. No I/O: the time is passed in, and the hash is handed to ``save`` to keep.

>>> from keys.merchant import hash_password
>>> guard = MerchantGuard(hash_password("merchant-42", salt=bytes(16)))
>>> guard.required(b"S1")
True
>>> guard.login(b"S1", "merchant-42", now=0.0), guard.required(b"S1"), guard.required(b"S2")
(None, False, True)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from keys.merchant import hash_password, verify_password
from protocols.errors import ErrorCode

from .backoff import FIRST_LOCK, LOCK_AFTER, Backoff

__all__ = ["MerchantGuard", "MerchantCounters", "LOCK_AFTER", "FIRST_LOCK"]

MAX_SESSIONS = 64  # sessions remembered as logged in (the oldest forgotten first)


@dataclass
class MerchantCounters:
    logins: int = 0
    wrong_passwords: int = 0
    lockouts: int = 0
    refused_without_login: int = 0


class MerchantGuard:
    """The password's hash (None: none set) and who has logged in, by link session."""

    def __init__(
        self, stored: str | None = None, save: Callable[[str], None] | None = None
    ) -> None:
        self._stored = stored
        self._save = save
        self._sessions: list[object] = []
        self._trusted: set[object] = set()
        self._backoff = Backoff()
        self.counters = MerchantCounters()

    @property
    def is_set(self) -> bool:
        return self._stored is not None

    def required(self, session: object) -> bool:
        """Whether a merchant command from ``session`` must be refused for want of a login."""
        if session in self._trusted:
            return False
        return self._stored is not None and session not in self._sessions

    def trust(self, session: object) -> None:
        """A session whose protocol checks merchant commands its own way: ZVT's, whose
        Refund, Reversal and End-of-Day carry the ZVT password (``--zvt-password``)."""
        self._trusted.add(session)

    def refused(self) -> None:
        self.counters.refused_without_login += 1

    def login(self, session: object, password: str, now: float) -> tuple[ErrorCode, str] | None:
        """None when ``password`` is right (``session`` is logged in), else the error."""
        if self._stored is None:
            self._remember(session)
            return None
        refusal = self._check(password, now)
        if refusal is None:
            self._remember(session)
            self.counters.logins += 1
        return refusal

    def set_password(
        self, session: object, current: str, new: str, now: float
    ) -> tuple[ErrorCode, str] | None:
        """Set a new password; the current one must be right when one is set."""
        if self._stored is not None:
            refusal = self._check(current, now)
            if refusal is not None:
                return refusal
        self._stored = hash_password(new)
        if self._save is not None:
            self._save(self._stored)
        self._sessions.clear()  # every other session logs in again, with the new password
        self._remember(session)
        return None

    def _check(self, password: str, now: float) -> tuple[ErrorCode, str] | None:
        assert self._stored is not None
        wait = self._backoff.wait(now)
        if wait:
            return (
                ErrorCode.PASSWORD_LOCKED,
                f"too many wrong passwords: try again in {int(wait) + 1} s",
            )
        if verify_password(self._stored, password):
            self._backoff.succeeded()
            return None
        self.counters.wrong_passwords += 1
        locked = self._backoff.failed(now)
        if locked:
            self.counters.lockouts += 1
            return ErrorCode.PASSWORD_LOCKED, f"wrong password; locked for {int(locked)} s"
        return ErrorCode.WRONG_PASSWORD, "wrong merchant password"

    def _remember(self, session: object) -> None:
        if session not in self._sessions:
            self._sessions.append(session)
            del self._sessions[:-MAX_SESSIONS]
