"""The terminal core in memory (real SQLite in memory, the shipped test keys): outcomes,
journal rules, idempotency, cancel, bad input, faults, recovery, and every transition."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from test_messages import BAD_PAYLOADS

from firmware_sim.authorizer import BuiltInAuthorizer
from firmware_sim.cardholder import AutoCardholder, drain
from firmware_sim.cards import CATALOGUE, VirtualCard
from firmware_sim.core import InProcessReader, TerminalCore
from firmware_sim.journal import Journal
from firmware_sim.kernel.settings import EmvSettings
from firmware_sim.states import TRANSITIONS, TerminalState
from firmware_sim.testing import make_core, shipped_store
from keys import EncryptedPinBlock, Pin
from keys.errors import DukptExhaustedError
from protocols.apdu import CommandApdu, Ins, ResponseApdu
from protocols.codes import (
    PROTOCOL_VERSION,
    CancelOutcome,
    EntryMode,
    PinBlockFormat,
    PinEntry,
    PromptId,
    ReceiptCopy,
    SaleOption,
    TransactionKind,
    TransactionStatus,
)
from protocols.emvqr import parse_mpm
from protocols.errors import ErrorCode, RemoteProtocolError
from protocols.exchanges import LinkPair
from protocols.link import MessageRejected
from protocols.messages import (
    TIP_CUSTOM,
    CancelRequest,
    CancelResponse,
    Error,
    FollowUpRequest,
    InfoRequest,
    InfoResponse,
    LastResultRequest,
    LookupRequest,
    Message,
    PinBlockRequest,
    PinBlockResponse,
    PreauthRequest,
    Prompt,
    Receipt,
    RefundRequest,
    SaleRequest,
    SettlementRequest,
    SettlementResponse,
    SimAccepted,
    SimChooseTip,
    SimEnterPin,
    SimPresentCard,
    SimRemoveCard,
    TransactionResult,
)

NOW = 1_764_000_000.0
S = TerminalState
SEEN: set[tuple[str, str, str]] = set()  # every transition any test here took


class Terminal:
    """A core with an automatic cardholder (or none), collecting what it sends."""

    def __init__(
        self,
        card: str | None = "default",
        core: TerminalCore | None = None,
        mode: EntryMode = EntryMode.CHIP,
    ) -> None:
        self.core = core or make_core()
        self.cardholder = AutoCardholder(card, mode) if card else None

    def send(self, message: Message) -> list[Message]:
        self.core.handle_message(message, NOW)
        return self.drain()

    def drain(self) -> list[Message]:
        out = drain(self.core, self.cardholder, NOW)
        SEEN.update(self.core.history)
        return out

    def act(self, action: Callable[[TerminalCore], None]) -> list[Message]:
        action(self.core)
        return self.drain()


def customer_copy(messages: list[Message]) -> Receipt:
    """The cardholder's receipt among ``messages`` (the merchant's copy comes after it)."""
    copies = {m.copy: m for m in messages if isinstance(m, Receipt)}
    assert set(copies) == {ReceiptCopy.CUSTOMER, ReceiptCopy.MERCHANT}, messages
    return copies[ReceiptCopy.CUSTOMER]


def only(messages: list[Message], kind: type) -> Any:
    found = [m for m in messages if isinstance(m, kind)]
    assert len(found) == 1, messages
    return found[0]


def sale(
    terminal: Terminal, txn_id: str, amount: int = 1234, currency: str = "EUR"
) -> TransactionResult:
    result: TransactionResult = only(
        terminal.send(SaleRequest(txn_id, amount, currency)), TransactionResult
    )
    assert terminal.core.state is S.IDLE
    return result


@pytest.mark.parametrize(
    ("card", "status", "code"),
    [
        ("default", TransactionStatus.APPROVED, "00"),
        ("offline-pin", TransactionStatus.APPROVED, "00"),
        ("wrong-pin", TransactionStatus.DECLINED, "75"),
        ("pin-blocked", TransactionStatus.DECLINED, "75"),
        ("expired", TransactionStatus.DECLINED, "54"),
        ("magstripe-only", TransactionStatus.APPROVED, "00"),
        ("no-cvm", TransactionStatus.APPROVED, "00"),
        ("declines-offline", TransactionStatus.DECLINED, "Z1"),
        ("broken-chip", TransactionStatus.APPROVED, "00"),
        ("t0-card", TransactionStatus.APPROVED, "00"),
        ("contactless-only", TransactionStatus.APPROVED, "00"),
        ("chinese", TransactionStatus.APPROVED, "00"),
        ("sda", TransactionStatus.APPROVED, "00"),
        ("dda", TransactionStatus.APPROVED, "00"),
        ("cda", TransactionStatus.APPROVED, "00"),
        ("oda-bad-signature", TransactionStatus.DECLINED, "Z1"),
        ("oda-expired-issuer", TransactionStatus.DECLINED, "Z1"),
        ("oda-revoked", TransactionStatus.DECLINED, "Z1"),
        ("oda-missing-data", TransactionStatus.DECLINED, "Z1"),
    ],
)
def test_every_catalogue_card(card: str, status: TransactionStatus, code: str) -> None:
    terminal = Terminal(card)
    result = sale(terminal, "T1")
    assert (result.status, result.response_code) == (status, code)
    profile = CATALOGUE[card]
    assert result.masked_pan == profile.pan[:6] + "*" * (len(profile.pan) - 10) + profile.pan[-4:]
    assert bool(result.auth_code) == (status is TransactionStatus.APPROVED)


@pytest.mark.parametrize(
    ("amount", "code"), [(1251, "51"), (1205, "05"), (1291, "91"), (1299, "00")]
)
def test_amount_outcomes(amount: int, code: str) -> None:
    result = sale(Terminal(), "T1", amount)
    assert result.response_code == code
    assert (result.status is TransactionStatus.APPROVED) == (code == "00")


def test_magstripe_decline_comes_from_the_issuer() -> None:
    result = sale(Terminal("magstripe-only"), "T1", 1205)
    assert (result.status, result.response_code, result.entry_mode) == (
        TransactionStatus.DECLINED,
        "05",
        EntryMode.SWIPE,
    )


def test_currency_exponents_reach_the_receipt() -> None:
    terminal = Terminal()
    for txn_id, amount, currency, shown in (
        ("J", 1234, "JPY", "JPY 1234"),
        ("K", 1234, "KWD", "KWD 1.234"),
    ):
        out = terminal.send(SaleRequest(txn_id, amount, currency))
        assert shown in customer_copy(out).lines


def test_swiping_a_chip_card_asks_for_the_chip() -> None:
    terminal = Terminal("default", mode=EntryMode.SWIPE)
    out = terminal.send(SaleRequest("T1", 1234, "EUR"))
    prompts = [m.prompt_id for m in out if isinstance(m, Prompt)]
    assert PromptId.USE_CHIP_READER in prompts
    assert only(out, TransactionResult).entry_mode is EntryMode.CHIP


@pytest.mark.parametrize(
    ("card", "amount", "code", "pin"),
    [
        ("default", 1234, "00", False),  # under the CVM limit: no PIN
        ("default", 6000, "00", True),  # over it: online PIN
        ("contactless-only", 5000, "00", False),
        ("contactless-only", 5001, "00", True),
        ("default", 1251, "51", False),
        ("declines-offline", 1234, "Z1", False),
    ],
)
def test_contactless(card: str, amount: int, code: str, pin: bool) -> None:
    terminal = Terminal(card, mode=EntryMode.TAP)
    out = terminal.send(SaleRequest("T1", amount, "EUR"))
    result = only(out, TransactionResult)
    assert (result.response_code, result.entry_mode) == (code, EntryMode.TAP)
    prompts = [m.prompt_id for m in out if isinstance(m, Prompt)]
    assert (PromptId.ENTER_PIN in prompts) == pin
    assert PromptId.REMOVE_CARD not in prompts  # a tap is over when the card leaves the field
    assert terminal.core.state is S.IDLE
    if code == "00":
        assert ("NO CVM (CONTACTLESS)" in customer_copy(out).lines) == (not pin)


@pytest.mark.parametrize(("amount", "code"), [(1234, "00"), (1251, "51")])
def test_qr_the_terminal_shows_a_payload_and_the_wallet_pays_it(amount: int, code: str) -> None:
    shown: list[str] = []
    terminal = Terminal("default", core=make_core(display_observer=shown.append), mode=EntryMode.QR)
    out = terminal.send(SaleRequest("QR-1", amount, "EUR"))
    result = only(out, TransactionResult)
    assert (result.response_code, result.entry_mode) == (code, EntryMode.QR)
    assert PromptId.SCAN_QR_CODE in [m.prompt_id for m in out if isinstance(m, Prompt)]
    payload = parse_mpm(shown[0])
    assert (payload["01"], payload["53"], payload["54"]) == ("12", "978", f"{amount / 100:.2f}")
    assert payload["62"] == {"05": "QR-1"}  # type: ignore[comparison-overlap]
    assert terminal.core.state is S.IDLE


def test_qr_by_simulation_control_and_cancel_while_shown() -> None:
    terminal = Terminal(card=None)
    terminal.send(SaleRequest("Q1", 1000, "EUR"))
    out = terminal.send(SimPresentCard("default", EntryMode.QR))
    assert only(out, TransactionResult).status is TransactionStatus.APPROVED
    terminal.send(SaleRequest("Q2", 1000, "EUR"))
    terminal.act(lambda core: core.present_card("default", EntryMode.QR, NOW))
    assert terminal.core.state is S.QR_DISPLAYED
    out = terminal.send(CancelRequest())
    assert only(out, TransactionResult).status is TransactionStatus.CANCELLED


def test_a_dead_chip_falls_back_to_the_stripe() -> None:
    out = Terminal("broken-chip").send(SaleRequest("T1", 1234, "EUR"))
    assert PromptId.USE_MAG_STRIPE in [m.prompt_id for m in out if isinstance(m, Prompt)]
    assert only(out, TransactionResult).entry_mode is EntryMode.SWIPE


def test_pin_pad_counters_survive_a_restart() -> None:
    journal = Journal()
    first = Terminal(core=make_core(journal))
    only(first.send(PinBlockRequest("4012345678909", PinBlockFormat.ISO_0)), PinBlockResponse)
    sale(first, "T1")  # online PIN: counter 2, kept with the authorization
    again = Terminal(core=make_core(journal))  # a restart on the same journal
    block = only(
        again.send(PinBlockRequest("4012345678909", PinBlockFormat.ISO_0)), PinBlockResponse
    )
    # ANSI X9.24-1-2009 Annex A, counter 3: no KSN is ever used twice
    assert (block.ksn.hex().upper(), block.pin_block.hex().upper()) == (
        "FFFF9876543210E00003",
        "18DC07B94797B466",
    )


def test_chinese_card_prompts_in_chinese() -> None:
    out = Terminal("chinese").send(SaleRequest("T1", 1234, "EUR"))
    pin_prompt = next(m for m in out if isinstance(m, Prompt) and m.prompt_id is PromptId.ENTER_PIN)
    assert (pin_prompt.language, pin_prompt.text) == ("zh", "请输入密码")


def test_wrong_pin_counts_down_the_card_try_counter() -> None:
    terminal = Terminal("wrong-pin")
    out = terminal.send(SaleRequest("T1", 1234, "EUR"))
    prompts = [m.prompt_id for m in out if isinstance(m, Prompt)]
    assert prompts.count(PromptId.INCORRECT_PIN) == 2 and PromptId.LAST_PIN_TRY in prompts
    card = terminal.core.wallet["wrong-pin"]
    assert card.pin_tries == 0
    response = ResponseApdu.decode(
        card.execute(CommandApdu(0x80, Ins.GET_DATA, 0x9F, 0x17, le=0).encode())
    )
    assert response.data.hex().upper() == "9F170100"


def test_idempotent_sale_returns_the_stored_outcome_and_never_authorizes_twice() -> None:
    terminal = Terminal()
    first = sale(terminal, "T1")
    commits = terminal.core.journal.commits
    again = terminal.send(SaleRequest("T1", 1234, "EUR"))
    assert only(again, TransactionResult) == first
    assert not any(isinstance(m, Prompt) for m in again)
    assert terminal.core.journal.commits == commits
    authorizer = terminal.core.authorizer
    assert isinstance(authorizer, BuiltInAuthorizer) and len(authorizer.ledger()) == 1
    reused = only(terminal.send(SaleRequest("T1", 999, "EUR")), Error)
    assert reused.code is ErrorCode.TRANSACTION_ID_REUSED


def test_refund_rules() -> None:
    terminal = Terminal()
    original = sale(terminal, "S1", 1000)
    ref = original.reference
    part = only(terminal.send(RefundRequest("R1", 600, "EUR", ref)), TransactionResult)
    assert (part.kind, part.status, part.original_reference) == (
        TransactionKind.REFUND,
        TransactionStatus.APPROVED,
        ref,
    )
    for request, code in (
        (RefundRequest("R2", 401, "EUR", ref), ErrorCode.REFUND_EXCEEDS_SALE),
        (RefundRequest("R3", 100, "USD", ref), ErrorCode.CURRENCY_MISMATCH),
        (RefundRequest("R4", 100, "EUR", "999999999999"), ErrorCode.ORIGINAL_NOT_FOUND),
    ):
        assert only(terminal.send(request), Error).code is code
        assert terminal.core.state is S.IDLE
    rest = only(terminal.send(RefundRequest("R5", 400, "EUR", ref)), TransactionResult)
    assert rest.status is TransactionStatus.APPROVED
    declined = sale(terminal, "S2", 1251)
    error = only(terminal.send(RefundRequest("R6", 100, "EUR", declined.reference)), Error)
    assert error.code is ErrorCode.ORIGINAL_NOT_APPROVED


def test_last_lookup_and_settlement() -> None:
    terminal = Terminal()
    assert only(terminal.send(LastResultRequest()), Error).code is ErrorCode.NO_TRANSACTION
    first = sale(terminal, "S1", 1000)
    sale(terminal, "S2", 2051)
    only(terminal.send(RefundRequest("R1", 300, "EUR", first.reference)), TransactionResult)
    sale(terminal, "S3", 500, "JPY")
    assert only(terminal.send(LastResultRequest()), TransactionResult).client_transaction_id == "S3"
    looked_up = terminal.send(LookupRequest("S1"))
    assert only(looked_up, TransactionResult) == first and customer_copy(looked_up)
    assert only(terminal.send(LookupRequest("nope")), Error).code is ErrorCode.UNKNOWN_TRANSACTION
    settlement = only(terminal.send(SettlementRequest()), SettlementResponse)
    totals = {(t.currency, t.kind): (t.count, t.total) for t in settlement.totals}
    assert totals == {
        ("EUR", TransactionKind.SALE): (1, 1000),
        ("EUR", TransactionKind.REFUND): (1, 300),
        ("JPY", TransactionKind.SALE): (1, 500),
    }
    next_batch = only(terminal.send(SettlementRequest()), SettlementResponse)
    assert next_batch.batch_number == settlement.batch_number + 1 and next_batch.totals == ()


def test_cancel_in_every_waiting_state_returns_to_idle_cancelled() -> None:
    terminal = Terminal(card=None)  # nobody answers: the terminal waits
    out = terminal.send(SaleRequest("T1", 1234, "EUR"))
    assert terminal.core.state is S.WAITING_FOR_CARD
    assert only(terminal.send(SaleRequest("T2", 1, "EUR")), Error).code is ErrorCode.BUSY
    out = terminal.send(CancelRequest())
    assert only(out, CancelResponse).outcome is CancelOutcome.CANCELLED
    assert only(out, TransactionResult).status is TransactionStatus.CANCELLED
    assert terminal.core.state is S.IDLE
    assert (
        only(terminal.send(CancelRequest()), CancelResponse).outcome
        is CancelOutcome.NOTHING_RUNNING
    )
    # waiting for the PIN (online, then offline), then at the PIN pad
    for card, txn_id in (("default", "T3"), ("offline-pin", "T4")):
        terminal.send(SaleRequest(txn_id, 1234, "EUR"))
        out = terminal.send(SimPresentCard(card, EntryMode.CHIP))
        assert terminal.core.state in (S.ONLINE_PIN, S.OFFLINE_PIN)
        out = terminal.act(lambda core: core.press_cancel(NOW))
        assert only(out, TransactionResult).status is TransactionStatus.CANCELLED
    terminal.send(PinBlockRequest("4012345678909", PinBlockFormat.ISO_0))
    assert terminal.core.state is S.PIN_ENTRY
    out = terminal.send(CancelRequest())
    assert only(out, CancelResponse).outcome is CancelOutcome.CANCELLED
    assert terminal.core.state is S.IDLE


def test_waiting_too_long_for_a_card_cancels() -> None:
    terminal = Terminal(card=None)
    terminal.send(SaleRequest("T1", 1234, "EUR"))
    deadline = terminal.core.next_deadline()
    assert deadline is not None
    terminal.core.tick(deadline)
    assert only(terminal.drain(), TransactionResult).status is TransactionStatus.CANCELLED


def test_simulation_control_drives_a_sale_step_by_step() -> None:
    terminal = Terminal(card=None)
    terminal.send(SaleRequest("T1", 1234, "EUR"))
    assert only(terminal.send(SimPresentCard("default", EntryMode.CHIP)), SimAccepted)
    out = terminal.send(SimEnterPin(PinEntry.CORRECT))
    assert only(out, TransactionResult).status is TransactionStatus.APPROVED
    assert terminal.core.state is S.CARD_REMOVAL
    assert only(terminal.send(SaleRequest("T2", 1, "EUR")), Error).code is ErrorCode.BUSY
    assert only(terminal.send(CancelRequest()), CancelResponse).outcome is CancelOutcome.TOO_LATE
    terminal.send(SimRemoveCard())
    assert terminal.core.state is S.IDLE
    # a wrong online PIN is the issuer's decline
    terminal.send(SaleRequest("T3", 1234, "EUR"))
    terminal.send(SimPresentCard("default", EntryMode.CHIP))
    out = terminal.send(SimEnterPin(PinEntry.WRONG))
    assert only(out, TransactionResult).response_code == "55"
    terminal.send(SimRemoveCard())
    # bypassing PIN entry is not allowed by the card's CVM list
    terminal.send(SaleRequest("T4", 1234, "EUR"))
    terminal.send(SimPresentCard("default", EntryMode.CHIP))
    assert (
        only(terminal.send(SimEnterPin(PinEntry.BYPASS)), TransactionResult).response_code == "55"
    )
    terminal.send(SimRemoveCard())
    # ... nor by one whose PIN the card checks
    terminal.send(SaleRequest("T5", 1234, "EUR"))
    terminal.send(SimPresentCard("offline-pin", EntryMode.CHIP))
    assert (
        only(terminal.send(SimEnterPin(PinEntry.BYPASS)), TransactionResult).response_code == "55"
    )


def test_bad_input_gets_its_code_and_the_terminal_stays_idle() -> None:
    terminal = Terminal(card=None)
    assert (
        only(terminal.send(SimEnterPin(PinEntry.CORRECT)), Error).code is ErrorCode.NOT_ALLOWED_NOW
    )
    assert (
        only(terminal.send(SimPresentCard("no-such-card", EntryMode.CHIP)), Error).code
        is ErrorCode.UNKNOWN_CARD
    )
    assert (
        only(terminal.send(CancelResponse(CancelOutcome.CANCELLED)), Error).code
        is ErrorCode.UNEXPECTED_MESSAGE
    )
    terminal.core.reject(
        RemoteProtocolError("bad", error_code=ErrorCode.INVALID_AMOUNT, field="amount")
    )
    error = only(terminal.drain(), Error)
    assert (error.code, error.field) == (ErrorCode.INVALID_AMOUNT, "amount")
    assert terminal.core.state is S.IDLE
    assert only(terminal.send(InfoRequest()), InfoResponse).protocol_version == PROTOCOL_VERSION


def test_pin_block_command_gives_the_x9_24_vectors() -> None:
    terminal = Terminal()
    out = terminal.send(PinBlockRequest("4012345678909", PinBlockFormat.ISO_0))
    block = only(out, PinBlockResponse)
    assert (block.pin_block.hex().upper(), block.ksn.hex().upper()) == (
        "1B9C1845EB993A7A",
        "FFFF9876543210E00001",
    )
    aes = only(
        terminal.send(PinBlockRequest("4111111111111111", PinBlockFormat.ISO_4)), PinBlockResponse
    )
    assert aes.ksn.hex().upper() == "123456789012345600000001"
    verifier = shipped_store().pin_verifier()
    assert verifier.matches(
        EncryptedPinBlock(aes.format, aes.pin_block, aes.ksn), "4111111111111111", Pin("1234")
    )


@pytest.mark.parametrize(("message_type", "payload_hex", "code", "field"), BAD_PAYLOADS)
def test_every_bad_input_on_the_wire_gets_its_code_and_idle(
    message_type: int, payload_hex: str, code: ErrorCode, field: str | None
) -> None:
    terminal, pair = Terminal(), LinkPair()
    pair.send("host", InfoRequest())
    pair.run()  # a session: the handshake is done
    link = pair.terminal
    link.receive_data(pair.host.raw_frame(message_type, bytes.fromhex(payload_hex)), NOW)
    (event,) = [e for e in link.events() if isinstance(e, MessageRejected)]
    assert event.request_id == 1  # read from the header even though the message is bad
    terminal.core.reject(event.error, event.request_id)
    error = only(terminal.drain(), Error)
    assert (error.code, error.field or None, error.request_id) == (code, field, 1)
    assert terminal.core.state is S.IDLE
    assert only(terminal.send(InfoRequest()), InfoResponse)


class FaultyReader(InProcessReader):
    def __init__(self, reader: InProcessReader, fail_on: int, after: int = 0) -> None:
        super().__init__(reader.card)
        self.fail_on, self.after = fail_on, after

    def transmit(self, apdu: bytes) -> bytes:
        if apdu[1] == self.fail_on:
            if self.after == 0:
                raise OSError("the card was pulled out")
            self.after -= 1
        return super().transmit(apdu)


class Failing:
    """Wraps an object; the named method raises."""

    def __init__(self, inner: object, method: str, error: Exception) -> None:
        self._inner, self._method, self._error = inner, method, error

    def __getattr__(self, name: str) -> Any:
        if name == self._method:

            def fail(*args: object, **kwargs: object) -> None:
                raise self._error

            return fail
        return getattr(self._inner, name)


@pytest.mark.parametrize(
    ("card", "ins", "after", "failing_state"),
    [
        ("default", Ins.SELECT, 0, S.APPLICATION_SELECTION),
        ("default", Ins.GET_PROCESSING_OPTIONS, 0, S.READING_APPLICATION_DATA),
        ("offline-pin", Ins.VERIFY, 0, S.OFFLINE_PIN),
        ("default", Ins.GENERATE_AC, 0, S.TERMINAL_RISK_MANAGEMENT),
        ("default", Ins.GENERATE_AC, 1, S.COMPLETION),
        ("dda", Ins.INTERNAL_AUTHENTICATE, 0, S.OFFLINE_DATA_AUTHENTICATION),
    ],
)
def test_a_card_fault_in_any_state_ends_in_error_then_idle(
    card: str, ins: int, after: int, failing_state: S
) -> None:
    terminal = Terminal(card)
    core = terminal.core
    original = core._enter_card_read

    def card_read_with_fault() -> None:
        assert core.txn is not None
        core.txn.entry_mode = EntryMode.CHIP
        virtual = core.wallet.setdefault(
            card,
            VirtualCard(CATALOGUE[card], shipped_store()),
        )
        core.txn.reader = FaultyReader(InProcessReader(virtual), ins, after)
        core.txn.reader.power_on()
        core._fire("chip_read")

    core._on_enter[S.CARD_READ] = card_read_with_fault
    out = terminal.send(SaleRequest("T1", 1234, "EUR"))
    core._on_enter[S.CARD_READ] = original
    assert ("fail", failing_state.name, S.ERROR.name) in set(core.history)
    error = only(out, Error)
    assert error.code is ErrorCode.INTERNAL_ERROR and "pulled out" in error.text
    assert core.state is S.IDLE
    entry = core.journal.lookup("T1")
    assert entry is not None and entry.status is TransactionStatus.FAILED
    if failing_state is S.COMPLETION:  # the issuer had approved: reversed
        authorizer = core.authorizer
        assert isinstance(authorizer, BuiltInAuthorizer)
        assert authorizer.ledger()[0][3] == "reversed" and entry.state == "reversed"
    assert only(terminal.send(InfoRequest()), InfoResponse)


def test_other_faults_card_read_pin_pad_authorizer_journal() -> None:
    # the card reader itself
    terminal = Terminal()
    terminal.core.wallet["default"] = Failing(  # type: ignore[assignment]
        terminal.core.wallet.get("default") or VirtualCard(CATALOGUE["default"], shipped_store()),
        "power_on",
        OSError("reader unplugged"),
    )
    assert (
        only(terminal.send(SaleRequest("A", 1234, "EUR")), Error).code is ErrorCode.INTERNAL_ERROR
    )
    # an exhausted PIN pad: online PIN and the PIN-block command
    terminal = Terminal()
    terminal.core._pin_pad = Failing(
        terminal.core._pin_pad, "encrypt", DukptExhaustedError("spent")
    )  # type: ignore[assignment]
    assert only(terminal.send(SaleRequest("B", 1234, "EUR")), Error).code is ErrorCode.KEY_ERROR
    assert (
        only(terminal.send(PinBlockRequest("4012345678909", PinBlockFormat.ISO_0)), Error).code
        is ErrorCode.KEY_ERROR
    )
    # the authorizer, then the journal at completion
    terminal = Terminal("magstripe-only")
    terminal.core.authorizer = Failing(
        terminal.core.authorizer, "authorize", ConnectionError("host down")
    )  # type: ignore[assignment]
    assert (
        only(terminal.send(SaleRequest("C", 1234, "EUR")), Error).code is ErrorCode.INTERNAL_ERROR
    )
    terminal = Terminal("magstripe-only")
    terminal.core.journal = Failing(
        terminal.core.journal, "record_completion", OSError("disk full")
    )  # type: ignore[assignment]
    assert (
        only(terminal.send(SaleRequest("D", 1234, "EUR")), Error).code is ErrorCode.INTERNAL_ERROR
    )
    assert terminal.core.state is S.IDLE
    for t in (terminal,):
        SEEN.update(t.core.history)


def losing_power(journal: Journal, authorizer: BuiltInAuthorizer, store: Any) -> TerminalCore:
    """A core whose power goes at the outcome: the authorizer has answered, but neither the
    completion, nor the reversal, nor the authorizer's reversal is recorded."""
    core = TerminalCore(journal=journal, authorizer=authorizer, store=store)
    core.journal = Failing(journal, "record_completion", OSError("power cut"))  # type: ignore[assignment]
    core.journal.record_reversal = Failing(
        journal, "record_reversal", OSError("power cut")
    ).record_reversal  # type: ignore[method-assign]
    core.authorizer = Failing(authorizer, "reverse", OSError("power cut"))  # type: ignore[assignment]
    return core


def test_recovery_reverses_an_authorization_without_completion() -> None:
    journal, store = Journal(), shipped_store()
    authorizer = BuiltInAuthorizer(store)
    first = losing_power(journal, authorizer, store)
    terminal = Terminal("magstripe-only", core=first)
    terminal.send(SaleRequest("T1", 1234, "EUR"))
    assert journal.unfinished() and authorizer.ledger()[0][3] == "authorized"
    restarted = Terminal(
        "magstripe-only", core=TerminalCore(journal=journal, authorizer=authorizer, store=store)
    )
    assert not journal.unfinished()
    assert authorizer.ledger()[0][3] == "reversed"
    out = restarted.send(LastResultRequest())
    result = only(out, TransactionResult)
    assert (result.status, result.response_code) == (TransactionStatus.FAILED, "96")
    assert "REVERSED - NOT CHARGED" in customer_copy(out).lines


# --- the application's other kinds (issue 12) --------------------------------------------

K = TransactionKind


def follow(
    terminal: Terminal,
    txn_id: str,
    kind: TransactionKind,
    reference: str,
    amount: int = 0,
    tip: int = 0,
    currency: str = "EUR",
) -> list[Message]:
    out = terminal.send(FollowUpRequest(txn_id, kind, reference, amount, currency, tip))
    assert terminal.core.state is S.IDLE
    return out


def refused(out: list[Message], code: ErrorCode) -> None:
    error = only(out, Error)
    assert error.code is code, error
    assert not [m for m in out if isinstance(m, TransactionResult)]


def settle(terminal: Terminal) -> dict[tuple[str, TransactionKind], tuple[int, int]]:
    response = only(terminal.send(SettlementRequest()), SettlementResponse)
    return {(t.currency, t.kind): (t.count, t.total) for t in response.totals}


def test_a_hotel_stay_preauth_increment_completion_with_tip() -> None:
    terminal = Terminal()
    out = terminal.send(PreauthRequest("H1", 5000, "EUR"))
    hold = only(out, TransactionResult)
    assert (hold.kind, hold.status, hold.approved_amount) == (
        K.PREAUTH,
        TransactionStatus.APPROVED,
        5000,
    )
    assert "PRE-AUTHORIZATION" in customer_copy(out).lines
    assert ("start_preauth", "IDLE", "WAITING_FOR_CARD") in terminal.core.history
    more = only(follow(terminal, "H2", K.INCREMENT, hold.reference, 1000), TransactionResult)
    assert (more.status, more.original_reference) == (TransactionStatus.APPROVED, hold.reference)
    assert ("start_follow_up", "IDLE", "ONLINE_AUTHORIZATION") in terminal.core.history
    out = follow(terminal, "H3", K.COMPLETION, hold.reference, 4200, tip=500)
    done = only(out, TransactionResult)
    assert (done.kind, done.status, done.amount, done.tip_amount, done.approved_amount) == (
        K.COMPLETION,
        TransactionStatus.APPROVED,
        4200,
        500,
        4200,
    )
    assert done.masked_pan == hold.masked_pan  # the card of the hold, read no more
    lines = customer_copy(out).lines
    assert "PRE-AUTH COMPLETION" in lines and any(
        line.startswith("TOTAL") and "47.00" in line for line in lines
    )
    # once only: the same id is the stored outcome, another id is refused
    assert (
        only(follow(terminal, "H3", K.COMPLETION, hold.reference, 4200, tip=500), TransactionResult)
        == done
    )
    before = terminal.core.journal.counts()
    refused(follow(terminal, "H4", K.COMPLETION, hold.reference, 100), ErrorCode.ORIGINAL_CLOSED)
    refused(follow(terminal, "H5", K.RELEASE, hold.reference), ErrorCode.ORIGINAL_CLOSED)
    refused(follow(terminal, "H6", K.INCREMENT, hold.reference, 100), ErrorCode.ORIGINAL_CLOSED)
    assert terminal.core.journal.counts() == before  # nothing written for a refusal
    assert settle(terminal) == {
        ("EUR", K.PREAUTH): (1, 5000),
        ("EUR", K.INCREMENT): (1, 1000),
        ("EUR", K.COMPLETION): (1, 4700),
    }
    authorizer = terminal.core.authorizer
    assert isinstance(authorizer, BuiltInAuthorizer)
    assert [row[3] for row in authorizer.ledger()] == ["captured", "authorized", "authorized"]


def test_over_capture_unknown_and_wrong_originals_are_refused_and_nothing_changes() -> None:
    terminal = Terminal()
    hold = only(terminal.send(PreauthRequest("H1", 5000, "EUR")), TransactionResult)
    sold = sale(terminal, "S1", 1000)
    before = (terminal.core.journal.counts(), len(terminal.core.journal.entries()))
    refused(
        follow(terminal, "C1", K.COMPLETION, hold.reference, 4600, tip=401),
        ErrorCode.EXCEEDS_AUTHORIZATION,
    )
    refused(follow(terminal, "I1", K.INCREMENT, "000000000099", 100), ErrorCode.ORIGINAL_NOT_FOUND)
    refused(follow(terminal, "I2", K.INCREMENT, sold.reference, 100), ErrorCode.ORIGINAL_WRONG_KIND)
    refused(follow(terminal, "V1", K.VOID, hold.reference), ErrorCode.ORIGINAL_WRONG_KIND)
    refused(
        follow(terminal, "C2", K.COMPLETION, hold.reference, 100, currency="JPY"),
        ErrorCode.CURRENCY_MISMATCH,
    )
    refused(
        terminal.send(RefundRequest("R1", 100, "EUR", hold.reference)),
        ErrorCode.ORIGINAL_WRONG_KIND,
    )
    assert (terminal.core.journal.counts(), len(terminal.core.journal.entries())) == before
    # a declined increment leaves the hold as it was
    declined = only(follow(terminal, "I3", K.INCREMENT, hold.reference, 151), TransactionResult)
    assert (declined.status, declined.response_code, declined.approved_amount) == (
        TransactionStatus.DECLINED,
        "51",
        0,
    )
    refused(
        follow(terminal, "C3", K.COMPLETION, hold.reference, 5001), ErrorCode.EXCEEDS_AUTHORIZATION
    )
    captured = only(follow(terminal, "C4", K.COMPLETION, hold.reference, 5000), TransactionResult)
    assert captured.status is TransactionStatus.APPROVED


def test_release_gives_up_the_hold_and_closes_it() -> None:
    terminal = Terminal()
    hold = only(terminal.send(PreauthRequest("H1", 5000, "EUR")), TransactionResult)
    out = follow(terminal, "L1", K.RELEASE, hold.reference)
    released = only(out, TransactionResult)
    assert (released.kind, released.status, released.amount) == (
        K.RELEASE,
        TransactionStatus.APPROVED,
        5000,
    )
    assert "PRE-AUTH RELEASE" in customer_copy(out).lines
    refused(follow(terminal, "C1", K.COMPLETION, hold.reference, 100), ErrorCode.ORIGINAL_CLOSED)
    authorizer = terminal.core.authorizer
    assert isinstance(authorizer, BuiltInAuthorizer)
    assert authorizer.ledger()[0][3] == "released"


def test_void_takes_a_sale_refund_or_completion_out_of_the_batch() -> None:
    terminal = Terminal()
    kept, voided = sale(terminal, "S1", 1000), sale(terminal, "S2", 700)
    refund = only(terminal.send(RefundRequest("R1", 300, "EUR", kept.reference)), TransactionResult)
    out = follow(terminal, "V1", K.VOID, voided.reference)
    void = only(out, TransactionResult)
    assert (void.kind, void.status, void.amount) == (K.VOID, TransactionStatus.APPROVED, 700)
    assert "VOID" in customer_copy(out).lines
    only(follow(terminal, "V2", K.VOID, refund.reference), TransactionResult)
    refused(follow(terminal, "V3", K.VOID, voided.reference), ErrorCode.ORIGINAL_CLOSED)
    refused(follow(terminal, "V4", K.VOID, kept.reference), ErrorCode.ORIGINAL_CLOSED)  # refunded
    refused(
        terminal.send(RefundRequest("R2", 100, "EUR", voided.reference)), ErrorCode.ORIGINAL_CLOSED
    )
    assert settle(terminal) == {("EUR", K.SALE): (1, 1000)}
    later = sale(terminal, "S3", 500)
    settle(terminal)
    refused(follow(terminal, "V5", K.VOID, later.reference), ErrorCode.ALREADY_SETTLED)


def test_tip_adjustment_before_settlement_counts_in_the_batch() -> None:
    terminal = Terminal()
    sold = sale(terminal, "S1", 2000)
    refund = only(terminal.send(RefundRequest("R1", 500, "EUR", sold.reference)), TransactionResult)
    tipped = only(follow(terminal, "T1", K.TIP_ADJUST, sold.reference, tip=300), TransactionResult)
    assert (tipped.kind, tipped.tip_amount, tipped.amount) == (K.TIP_ADJUST, 300, 2000)
    only(follow(terminal, "T2", K.TIP_ADJUST, sold.reference, tip=400), TransactionResult)
    refused(
        follow(terminal, "T3", K.TIP_ADJUST, refund.reference, tip=100),
        ErrorCode.ORIGINAL_WRONG_KIND,
    )
    assert settle(terminal) == {("EUR", K.SALE): (1, 2400), ("EUR", K.REFUND): (1, 500)}
    refused(
        follow(terminal, "T4", K.TIP_ADJUST, sold.reference, tip=100), ErrorCode.ALREADY_SETTLED
    )


def test_partial_approval_only_when_allowed() -> None:
    terminal = Terminal()
    out = terminal.send(SaleRequest("P1", 2010, "EUR", SaleOption.ALLOW_PARTIAL))
    partial = only(out, TransactionResult)
    assert (partial.status, partial.response_code, partial.amount, partial.approved_amount) == (
        TransactionStatus.APPROVED,
        "10",
        2010,
        1005,
    )
    assert PromptId.PARTIAL_APPROVAL in {m.prompt_id for m in out if isinstance(m, Prompt)}
    lines = customer_copy(out).lines
    assert any(line.startswith("REQUESTED") and "20.10" in line for line in lines)
    assert any(line.startswith("APPROVED AMOUNT") and "10.05" in line for line in lines)
    declined = sale(terminal, "P2", 2010)
    assert (declined.status, declined.response_code) == (TransactionStatus.DECLINED, "51")
    # a refund is limited by what was approved, not what was asked
    refused(
        terminal.send(RefundRequest("R1", 1006, "EUR", partial.reference)),
        ErrorCode.REFUND_EXCEEDS_SALE,
    )
    assert settle(terminal) == {("EUR", K.SALE): (1, 1005)}


def test_the_tip_screen_adds_the_chosen_tip_before_the_card() -> None:
    terminal = Terminal()
    out = terminal.send(SaleRequest("T1", 1234, "EUR", tip_percentages=(10, 15, 20)))
    screen = [m for m in out if isinstance(m, Prompt) and m.prompt_id is PromptId.CHOOSE_TIP]
    assert screen and "1:10% 1.23" in screen[0].text
    result = only(out, TransactionResult)
    assert (result.amount, result.tip_amount, result.status) == (
        1234,
        123,
        TransactionStatus.APPROVED,
    )
    assert ("tip_chosen", "TIP_SELECTION", "WAITING_FOR_CARD") in terminal.core.history
    amount_prompts = [
        m.text for m in out if isinstance(m, Prompt) and m.prompt_id is PromptId.AMOUNT
    ]
    assert amount_prompts == ["EUR 13.57"]  # the card is asked for the total
    # the host scripts the cardholder: a custom tip, then a choice that was not offered
    manual = Terminal(None)
    manual.send(SaleRequest("T2", 1000, "EUR", tip_percentages=(10,)))
    assert manual.core.state is S.TIP_SELECTION
    refused(manual.send(SimChooseTip(3)), ErrorCode.INVALID_FIELD)
    assert manual.core.state is S.TIP_SELECTION
    only(manual.send(SimChooseTip(TIP_CUSTOM, 250)), SimAccepted)
    assert manual.core.state is S.WAITING_FOR_CARD and manual.core.txn is not None
    assert manual.core.txn.tip_amount == 250
    # cancelled on the tip screen
    manual.send(CancelRequest())
    manual.send(SaleRequest("T3", 1000, "EUR", tip_percentages=(10,)))
    out = manual.send(CancelRequest())
    assert only(out, TransactionResult).status is TransactionStatus.CANCELLED
    assert ("cancel", "TIP_SELECTION", "CANCELLED") in manual.core.history
    refused(manual.send(SimChooseTip(1)), ErrorCode.NOT_ALLOWED_NOW)


def test_recovery_reverses_an_interrupted_completion_and_the_hold_stands_again() -> None:
    journal, store = Journal(), shipped_store()
    authorizer = BuiltInAuthorizer(store)
    terminal = Terminal(core=TerminalCore(journal=journal, authorizer=authorizer, store=store))
    hold = only(terminal.send(PreauthRequest("H1", 5000, "EUR")), TransactionResult)
    crashing = losing_power(journal, authorizer, store)
    follow(Terminal(core=crashing), "C1", K.COMPLETION, hold.reference, 4000)
    assert [row[3] for row in authorizer.ledger()] == ["captured", "authorized"]
    restarted = Terminal(core=TerminalCore(journal=journal, authorizer=authorizer, store=store))
    assert [row[3] for row in authorizer.ledger()] == ["authorized", "reversed"]
    stored = only(follow(restarted, "C1", K.COMPLETION, hold.reference, 4000), TransactionResult)
    assert (stored.status, stored.response_code) == (TransactionStatus.FAILED, "96")
    again = only(follow(restarted, "C2", K.COMPLETION, hold.reference, 4000), TransactionResult)
    assert again.status is TransactionStatus.APPROVED
    assert [row[3] for row in authorizer.ledger()] == ["captured", "reversed", "authorized"]


def test_recovery_reverses_an_interrupted_preauthorization_like_a_sale() -> None:
    journal, store = Journal(), shipped_store()
    authorizer = BuiltInAuthorizer(store)
    crashing = losing_power(journal, authorizer, store)
    Terminal(core=crashing).send(PreauthRequest("H1", 5000, "EUR"))
    assert [row[3] for row in authorizer.ledger()] == ["authorized"]  # the hold is on the card
    restarted = Terminal(core=TerminalCore(journal=journal, authorizer=authorizer, store=store))
    assert [row[3] for row in authorizer.ledger()] == ["reversed"]
    stored = only(restarted.send(LookupRequest("H1")), TransactionResult)
    assert (stored.kind, stored.status, stored.response_code) == (
        K.PREAUTH,
        TransactionStatus.FAILED,
        "96",
    )
    refused(
        follow(restarted, "C1", K.COMPLETION, stored.reference, 100),
        ErrorCode.ORIGINAL_NOT_APPROVED,
    )


def test_offline_approvals_under_the_floor_limit_until_the_card_must_go_online() -> None:
    """EMV Book 3 10.6-10.8: under the floor limit with random selection off, a card with
    consecutive offline limits 3 and 5 is approved offline (TC, Y1) until the lower limit is
    passed; then it goes online, and its counters start again."""
    settings = EmvSettings(floor_limit=5000)
    terminal = Terminal("cda", core=make_core(emv=settings))
    codes = [sale(terminal, f"T{i}", 1234).response_code for i in range(6)]
    assert codes == ["Y1", "Y1", "Y1", "00", "Y1", "Y1"]
    assert ("approve_offline", S.TERMINAL_RISK_MANAGEMENT.name, S.APPROVED.name) in SEEN
    entry = terminal.core.journal.lookup("T0")
    assert entry is not None and entry.approved and entry.auth_code == "Y1"
    # every offline approval reached the authorizer as an advice
    authorizer = terminal.core.authorizer
    assert isinstance(authorizer, BuiltInAuthorizer)
    assert [status for _, _, _, status in authorizer.ledger()] == ["authorized"] * 6
    # over the floor limit: online
    assert sale(terminal, "T9", 5000).response_code == "00"


def test_the_exception_file_declines_offline() -> None:
    settings = EmvSettings(exception_file=frozenset({CATALOGUE["dda"].pan}))
    assert sale(Terminal("dda", core=make_core(emv=settings)), "T1").response_code == "Z1"
    assert sale(Terminal("default", core=make_core(emv=settings)), "T1").response_code == "00"


def test_a_blocked_pin_goes_online_and_the_issuer_unblocks_it() -> None:
    """The pin-blocked card: verification fails (PIN try limit exceeded), action analysis
    sends it online, the issuer declines 75 and sends a PIN UNBLOCK script (template 72);
    the card's next sale verifies its PIN."""
    terminal = Terminal("pin-blocked")
    assert sale(terminal, "T1").response_code == "75"
    card = terminal.core.wallet["pin-blocked"]
    assert card.pin_tries == CATALOGUE["pin-blocked"].pin_try_limit == 3
    assert sale(terminal, "T2").response_code == "00"
    # a card whose holder did not ask for it stays blocked
    wrong = Terminal("wrong-pin")
    assert sale(wrong, "T1").response_code == "75"
    assert wrong.core.wallet["wrong-pin"].pin_tries == 0


def test_every_state_reached_and_every_transition_taken() -> None:
    expected = set()
    for row in TRANSITIONS:
        sources = row["source"] if isinstance(row["source"], list) else [row["source"]]
        for source in sources:  # type: ignore[union-attr]
            expected.add((str(row["trigger"]), source.name, row["dest"].name))  # type: ignore[attr-defined]
    missing = expected - SEEN
    assert not missing, sorted(missing)
    assert {b for _, _, b in SEEN} >= {s.name for s in TerminalState}
