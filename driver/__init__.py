"""The host driver library: :class:`Terminal` (sync), :class:`AsyncTerminal`, typed results
and errors, a testing helper (:mod:`driver.testing`, the ``possim_terminal`` pytest fixture),
and the ``possim`` command line (:mod:`driver.cli`).

    from driver import Terminal

    with Terminal("/dev/pts/3") as terminal:
        outcome = terminal.sale("12.34", "EUR")
"""

from __future__ import annotations

import serial

from protocols.codes import CancelOutcome, EntryMode, PinEntry, TransactionStatus

from .aio import AsyncTerminal
from .errors import (
    InputRejected,
    InvalidAmount,
    LineLost,
    MerchantPasswordError,
    NotPaired,
    OutcomeUnknown,
    PairingFailed,
    ProtocolViolation,
    TerminalError,
    TerminalTimeout,
)
from .results import PinBlockResult, Settlement, TerminalInfo, TransactionOutcome
from .terminal import Terminal

# faulty:// joins pyserial's URL schemes for every program that imports the driver
if "driver.urlhandler" not in serial.protocol_handler_packages:
    serial.protocol_handler_packages.append("driver.urlhandler")

__all__ = [
    "AsyncTerminal",
    "CancelOutcome",
    "EntryMode",
    "InputRejected",
    "MerchantPasswordError",
    "NotPaired",
    "PairingFailed",
    "InvalidAmount",
    "LineLost",
    "OutcomeUnknown",
    "PinBlockResult",
    "PinEntry",
    "ProtocolViolation",
    "Settlement",
    "Terminal",
    "TerminalError",
    "TerminalInfo",
    "TerminalTimeout",
    "TransactionOutcome",
    "TransactionStatus",
]
