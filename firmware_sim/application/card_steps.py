"""The card steps of a payment, from "insert card" to the cardholder's verification: which
interface the card came by, what the kernel reads from it, how the cardholder is verified. The
kernel does the APDUs; this module decides what they mean for the transaction (with the kind's
row of :data:`~.kinds.KIND_RULES`). The cryptograms around the authorization are
:mod:`.authorization`'s.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from protocols.codes import EntryMode, PromptId
from protocols.currency import by_alpha, format_money
from protocols.messages import Prompt
from protocols.tvr import TsiBit

from ..cards import Cvm, VirtualCard
from ..dates import utc_text
from ..kernel import InProcessReader
from ..kernel.contact import (
    Selection,
    card_language,
    cvm_rule,
    read_application_data,
    select_application,
    terminal_data,
)
from ..kernel.contactless import needs_cvm, select_contactless, ttq
from ..kernel.magstripe import stripe_accepted
from ..kernel.oda import authenticate
from ..kernel.qr import merchant_qr
from ..kernel.risk import processing_restrictions
from ..prompts import LANGUAGES
from ..states import TerminalState
from .kinds import KIND_RULES

if TYPE_CHECKING:
    from ..core import TerminalCore
    from .transaction import Transaction

__all__ = ["CARD_TIMEOUT", "CardSteps"]

CARD_TIMEOUT = 60.0
S = TerminalState


def emv_terminal_data(core: TerminalCore, txn: Transaction) -> dict[int, bytes]:
    """The terminal's data objects for the card's PDOL and CDOLs, for this transaction."""
    return terminal_data(
        amount=txn.total,
        currency_numeric=by_alpha(txn.currency).numeric,
        transaction_type=KIND_RULES[txn.kind].transaction_type,
        date=utc_text(core.now, "%y%m%d"),
        unpredictable_number=core.random(4),
        ttq=ttq(txn.total) if txn.entry_mode is EntryMode.TAP else bytes(4),
        tvr=txn.tvr.value,
    )


class CardSteps:
    def __init__(self, core: TerminalCore) -> None:
        self._core = core

    def on_enter(self) -> dict[TerminalState, Callable[[], None]]:
        return {
            S.WAITING_FOR_CARD: self.enter_waiting_for_card,
            S.CARD_READ: self.enter_card_read,
            S.APPLICATION_SELECTION: self.enter_application_selection,
            S.READING_APPLICATION_DATA: self.enter_reading_application_data,
            S.OFFLINE_DATA_AUTHENTICATION: self.enter_offline_data_authentication,
            S.CARDHOLDER_VERIFICATION: self.enter_cardholder_verification,
            S.QR_DISPLAYED: self.enter_qr_displayed,
        }

    def _txn(self) -> Transaction:
        txn = self._core.txn
        assert txn is not None
        return txn

    def enter_waiting_for_card(self) -> None:
        txn, core = self._txn(), self._core
        core.set_deadline(CARD_TIMEOUT)
        core.send(Prompt(PromptId.AMOUNT, txn.language, format_money(txn.total, txn.currency)))
        core.prompt(PromptId.INSERT_CARD)

    def enter_card_read(self) -> None:
        txn, core = self._txn(), self._core
        core.clear_deadline()
        if txn.card is None and txn.reader is not None:  # a card in a real reader
            txn.reader.power_on()
            core.fire("chip_read")
            return
        card = txn.card
        assert card is not None
        if txn.entry_mode in (EntryMode.CHIP, EntryMode.TAP):
            virtual = core.wallet.get(card.name)
            if virtual is None:  # personalised once: its certificates cost milliseconds
                virtual = core.wallet[card.name] = VirtualCard(card, core.store)
            txn.reader = InProcessReader(virtual)
            txn.reader.power_on()
            core.fire("chip_read" if txn.entry_mode is EntryMode.CHIP else "tap_read")
        elif txn.entry_mode is EntryMode.QR:
            txn.qr_payload = merchant_qr(
                txn.total,
                txn.currency,
                reference=txn.client_transaction_id,
                merchant_id=core.serial_number,
            )
            core.prompt(PromptId.SCAN_QR_CODE)
            if core.display_observer is not None:
                core.display_observer(txn.qr_payload)
            core.fire("show_qr")
        elif txn.entry_mode is EntryMode.SWIPE:
            txn.track2 = card.track2
            if stripe_accepted(txn.track2, fallback=txn.fallback):
                core.fire("stripe_read")
            else:
                core.prompt(PromptId.USE_CHIP_READER)  # a chip card must use its chip
                core.fire("use_chip")
        else:
            core.prompt(PromptId.NOT_ACCEPTED)
            core.fire("use_chip")

    def _selected(self, selection: Selection) -> None:
        txn = self._txn()
        txn.tags.update(selection.tags)
        txn.language = card_language(selection.language_preferences, LANGUAGES) or txn.language
        self._core.fire("application_selected")

    def enter_application_selection(self) -> None:
        txn, core = self._txn(), self._core
        if txn.entry_mode is EntryMode.TAP:
            self._selected(select_contactless(core.apdu))
            return
        selection = select_application(core.apdu)
        if selection is None:  # the chip does not work: fall back to the stripe
            txn.fallback = True
            core.prompt(PromptId.USE_MAG_STRIPE)
            core.fire("chip_failed")
            return
        self._selected(selection)

    def enter_reading_application_data(self) -> None:
        txn = self._txn()
        read = read_application_data(self._core.apdu, txn.tags, emv_terminal_data(self._core, txn))
        if read.chip is not None:
            txn.chip = read.chip
        if read.track2 is not None:
            txn.track2 = read.track2
        txn.static_data, txn.pdol_data = read.static_data, read.pdol_data
        self._core.fire("data_read")

    def enter_offline_data_authentication(self) -> None:
        """ODA (SDA, DDA; CDA's certificates now, its signature at GENERATE AC), then the
        processing restrictions (expiry). A tap's card authenticates itself with its
        cryptogram online here: no ODA (possim does no fDDA)."""
        txn, core = self._txn(), self._core
        if txn.entry_mode is EntryMode.CHIP:
            year_month = utc_text(core.now, "%Y%m")
            txn.oda = authenticate(
                core.apdu,
                txn.tags,
                txn.static_data,
                core.emv,
                today=(int(year_month[:4]), int(year_month[4:])),
                unpredictable_number=core.random(4),
                tvr=txn.tvr,
                tsi=txn.tsi,
            )
            processing_restrictions(txn.tags, utc_text(core.now, "%y%m%d"), txn.tvr)
        core.fire("authenticated")

    def enter_cardholder_verification(self) -> None:
        txn, core = self._txn(), self._core
        if not KIND_RULES[txn.kind].verifies_cardholder:
            txn.cvm_result = f"NO CVM ({txn.kind.name})"
            core.fire("verified")
        elif txn.entry_mode is EntryMode.SWIPE:
            core.fire("ask_online_pin")
        elif txn.entry_mode is EntryMode.QR:
            txn.cvm_result = "NO CVM (WALLET)"  # the wallet authenticated its holder
            core.fire("verified")
        elif txn.entry_mode is EntryMode.TAP:
            if needs_cvm(txn.total):
                core.fire("ask_online_pin")
            else:
                txn.cvm_result = "NO CVM (CONTACTLESS)"
                core.fire("verified")
        else:
            txn.tsi.set(TsiBit.CARDHOLDER_VERIFICATION_PERFORMED)
            rule = cvm_rule(txn.tags)
            if rule is Cvm.OFFLINE_PIN:
                core.fire("ask_offline_pin")
            elif rule is Cvm.ONLINE_PIN:
                core.fire("ask_online_pin")
            else:
                txn.cvm_result = "NO CVM"
                core.fire("verified")

    def enter_qr_displayed(self) -> None:
        self._core.set_deadline(CARD_TIMEOUT)
