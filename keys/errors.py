"""The secure element's errors. Messages never carry a PIN or key bytes.

>>> e = KeyUsageError("a D0 data key does not encrypt PINs")
>>> e.error_code.name, isinstance(e, SecureElementError)
('KEY_ERROR', True)
"""

from __future__ import annotations

from protocols.errors import ErrorCode, FieldError

__all__ = [
    "SecureElementError",
    "KeyUsageError",
    "KeyBlockError",
    "DukptExhaustedError",
    "PinBlockError",
    "FieldError",
]


class SecureElementError(ValueError):
    """The secure element refused or failed an operation. Wire code KEY_ERROR."""

    error_code = ErrorCode.KEY_ERROR


class KeyUsageError(SecureElementError):
    """A key was asked to do what its TR-31 usage or mode of use forbids."""


class KeyBlockError(SecureElementError):
    """A TR-31 key block is malformed or its MAC does not verify."""


class DukptExhaustedError(SecureElementError):
    """The DUKPT transaction counter has no keys left: the device must be re-keyed."""


class PinBlockError(SecureElementError):
    """A PIN block does not decode (wrong format, wrong key, damaged)."""
