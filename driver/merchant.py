"""The merchant password from the host's side: log in, set it, and log in before each
merchant command when the Terminal was given one. Mixed into :class:`driver.Terminal`.
"""

from __future__ import annotations

from protocols.errors import ErrorCode
from protocols.messages import MerchantAccepted, MerchantLogin, SetPassword

from .errors import MerchantPasswordError
from .payments import TerminalCommands, _make

__all__ = ["MerchantCommands"]


class MerchantCommands(TerminalCommands):
    """``_password``: the merchant password given to the Terminal (None: none)."""

    _password: str | None

    def login(self, password: str | None = None) -> None:
        """Unlock the merchant commands for this link session. MerchantPasswordError if the
        password is wrong or logins are locked for a while."""
        secret = password if password is not None else self._password
        if secret is None:
            raise MerchantPasswordError(ErrorCode.PASSWORD_REQUIRED, "", "no password given")
        request = _make(lambda: MerchantLogin(secret))
        self._exchange(request, lambda m: isinstance(m, MerchantAccepted), self.control_timeout, None)

    def set_password(self, new: str, current: str = "") -> None:
        """Set the merchant password (``current``: the one set now, if any). From then on
        refunds, voids, tip adjustments and settlement need it."""
        request = _make(lambda: SetPassword(current, new))
        self._exchange(request, lambda m: isinstance(m, MerchantAccepted), self.control_timeout, None)
        self._password = new

    def _as_merchant(self) -> None:
        if self._password is not None:
            self.login()
