"""The PIN pad: PIN entry for a payment (offline PIN checked by the card, online PIN encrypted
for the issuer) and for the PIN-block command. Clear PINs go from the keypad to keys/ (the
DUKPT PIN pad) or, for offline PIN, to the card in VERIFY; nothing here keeps or shows them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from keys import EncryptedPinBlock, Pin, PinPad
from protocols.codes import PinBlockFormat, PinEntry, PromptId
from protocols.messages import PinBlockRequest, PinBlockResponse
from protocols.tvr import TvrBit

from .cards import CardProfile
from .kernel.contact import verify_offline_pin
from .states import TerminalState

if TYPE_CHECKING:
    from .core import TerminalCore

__all__ = ["PIN_TIMEOUT", "PinEntryDevice"]

PIN_TIMEOUT = 30.0
DEFAULT_PIN = "1234"  # design.md: the cardholder PIN unless the catalogue says otherwise
S = TerminalState
PIN_STATES = (S.OFFLINE_PIN, S.ONLINE_PIN, S.PIN_ENTRY)


class PinEntryDevice:
    """The keypad and its DUKPT PIN pad (``keys``), for one terminal."""

    def __init__(self, core: TerminalCore, keys: PinPad, cardholder_pin: str | None) -> None:
        self._core = core
        self.keys = keys
        self.cardholder_pin = cardholder_pin
        self.request: PinBlockRequest | None = None  # the PIN-block command being served
        self._encrypted: EncryptedPinBlock | None = None

    def on_enter(self) -> dict[TerminalState, Callable[[], None]]:
        return {
            S.OFFLINE_PIN: self.enter_pin_wait,
            S.ONLINE_PIN: self.enter_pin_wait,
            S.PIN_ENTRY: self.enter_pin_wait,
            S.PIN_BLOCK_READY: self.enter_pin_block_ready,
        }

    def _card(self) -> CardProfile | None:
        txn = self._core.txn
        return txn.card if txn else None

    def enter_pin_wait(self) -> None:
        self._core.set_deadline(PIN_TIMEOUT)
        self._core.prompt(PromptId.ENTER_PIN)

    def typed_pin(self, entry: PinEntry) -> Pin | None:
        """What the simulated cardholder's choice types: the card's PIN, a wrong one, or None
        (bypass)."""
        card = self._card()
        correct = card.pin if card else (self.cardholder_pin or DEFAULT_PIN)
        if entry is PinEntry.BYPASS:
            return None
        if entry is PinEntry.CORRECT:
            return Pin(correct)
        return Pin("0000" if correct != "0000" else "1111")

    def cardholder_types(self) -> PinEntry:
        """What the automatic cardholder keys in: the PIN it believes in (``--pin``, else the
        card's own, else the catalogue's cardholder PIN) decides correct or wrong."""
        card = self._card()
        believed = self.cardholder_pin or (card.typed_pin if card else DEFAULT_PIN)
        actual = card.pin if card else (self.cardholder_pin or DEFAULT_PIN)
        return PinEntry.CORRECT if believed == actual else PinEntry.WRONG

    def pin_entered(self, pin: Pin | None) -> None:
        """PIN digits (None: bypass) in the state that asked for them."""
        core = self._core
        core.clear_deadline()
        if core.state is S.PIN_ENTRY:
            request = self.request
            assert request is not None
            if pin is None:
                core.fire("cancel")
                return
            self._encrypted = self.keys.encrypt(pin, request.pan, request.format)
            core.journal.save_pin_pad_counters(self.keys.counters)
            core.fire("pin_typed")
            return
        txn = core.txn
        assert txn is not None
        if pin is None:  # PIN bypass: not allowed by these cards' CVM lists
            txn.response_code = "55"
            core.fire("decline")
        elif core.state is S.ONLINE_PIN:
            txn.pin_block = self.keys.encrypt(pin, txn.pan, PinBlockFormat.ISO_0)
            txn.cvm_result = "PIN VERIFIED ONLINE"
            txn.tvr.set(TvrBit.ONLINE_PIN_ENTERED)
            core.fire("verified")
        else:
            self._verify_offline(pin)

    def _verify_offline(self, pin: Pin) -> None:
        core = self._core
        txn = core.txn
        assert txn is not None
        verified, tries = verify_offline_pin(core.apdu, pin)
        if verified:
            txn.cvm_result = "PIN VERIFIED"
            core.prompt(PromptId.PIN_OK)
            core.fire("verified")
        elif tries:
            core.prompt(PromptId.INCORRECT_PIN)
            if tries == 1:
                core.prompt(PromptId.LAST_PIN_TRY)
            core.fire("pin_incorrect")
        else:
            # PIN try limit exceeded: verification failed (Book 3 10.5.1); the terminal goes
            # on and action analysis sends it online, where the issuer declines it (75) and
            # may unblock the PIN with a script
            txn.tvr.set(TvrBit.PIN_TRY_LIMIT_EXCEEDED)
            txn.tvr.set(TvrBit.CARDHOLDER_VERIFICATION_FAILED)
            txn.cvm_result = "PIN TRY LIMIT EXCEEDED"
            core.fire("verified")

    def enter_pin_block_ready(self) -> None:
        block = self._encrypted
        assert block is not None
        self._encrypted = None
        self._core.send(PinBlockResponse(block.format, block.pin_block, block.ksn))
        self._core.fire("finish")
