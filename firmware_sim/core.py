"""The terminal core: the transaction state machine's wiring, with no I/O of its own. It
holds the state and the transaction, routes each state's entry to the module that owns it
(the card steps, the PIN pad, the authorization, the endings, recovery), and routes the host's
requests to :mod:`.commands`.

Messages from the host and the cardholder's actions go in; messages for the host come out of
:meth:`TerminalCore.take_outbox`. The clock is passed in (``now``, Unix seconds). The card
reader, the authorizer, the journal and the secure element are handed in by the runner; the
core talks to them in plain calls and writes the journal before anything becomes visible.

>>> from firmware_sim.testing import make_core
>>> from protocols.messages import SaleRequest
>>> core = make_core()
>>> core.handle_message(SaleRequest("T1", 1234, "EUR"), now=0.0)
>>> [type(m).__name__ for m in core.take_outbox()][:2]
['Prompt', 'Prompt']
>>> core.state.name
'WAITING_FOR_CARD'
"""

from __future__ import annotations

import secrets
from collections import deque
from collections.abc import Callable, Hashable

from transitions import MachineError

from keys import KeyStore, Pin, PinPad
from protocols.apdu import CommandApdu, ResponseApdu
from protocols.codes import EntryMode, PinEntry, PromptId
from protocols.errors import ErrorCode, ProtocolError
from protocols.messages import Error, Message, Prompt, with_request_id

from .application.authorization import Authorization
from .application.card_steps import CardSteps
from .application.endings import Endings
from .application.records import Records
from .application.recovery import Recovery
from .application.tips import TipScreen
from .application.transaction import Transaction
from .authorizer import Authorizer
from .cards import CATALOGUE, CardProfile, VirtualCard
from .commands import FIRMWARE_VERSION, HostCommands
from .journal import Journal
from .kernel import CardReader, InProcessReader, redact_apdu, redact_response
from .kernel.qr import wallet_accepts
from .kernel.settings import EmvSettings
from .machine import StateMachine
from .merchant import MerchantGuard
from .pairing import PairingDesk
from .pinpad import PIN_STATES, PinEntryDevice
from .prompts import LANGUAGES, prompt_text
from .states import CANCELLABLE_STATES, TRANSITIONS, TerminalState

HISTORY = 200  # transitions kept in TerminalCore.history

__all__ = [
    "CardReader",
    "FIRMWARE_VERSION",
    "InProcessReader",
    "Origin",
    "TerminalCore",
    "redact_apdu",
]

S = TerminalState
Origin = Hashable | None  # opaque to the core: where a request came from (the link session)


class TerminalCore:
    """One terminal. ``wallet`` holds the cardholder's virtual cards by catalogue name, so a
    card's PIN try counter and ATC persist from one transaction to the next."""

    def __init__(
        self,
        *,
        journal: Journal,
        authorizer: Authorizer,
        store: KeyStore | None = None,
        catalogue: dict[str, CardProfile] | None = None,
        language: str = "en",
        serial_number: str = "PSM00000001",
        cardholder_pin: str | None = None,
        random: Callable[[int], bytes] = secrets.token_bytes,
        step_hook: Callable[[str, TerminalState, TerminalState, list[str]], None] | None = None,
        apdu_observer: Callable[[bytes, bytes], None] | None = None,
        display_observer: Callable[[str], None] | None = None,
        counters: Callable[[], dict[str, int]] | None = None,
        merchant: MerchantGuard | None = None,
        pairing: PairingDesk | None = None,
        pin_pad_device: int | None = None,
        emv: EmvSettings | None = None,
        before_online: Callable[[], None] | None = None,
    ) -> None:
        self.counters = counters  # the link's and the runner's, for STATUS
        # runs just before the terminal waits on the authorizer: the runner puts what the core
        # has for the host on the line then (AUTHORISING, while the acquirer is asked)
        self.before_online = before_online
        # the merchant password: kept by the runner across power cycles (a cold start must
        # not clear a lockout)
        self.merchant = merchant or MerchantGuard()
        self.pairing = pairing  # the pairings and the attempt in progress (also the runner's)
        self.display_observer = display_observer  # sees the QR payloads the display shows
        # step_hook(trigger, source, destination, triggers allowed now) runs before each
        # transition (step mode); apdu_observer(command, response) sees every APDU (traces)
        self.step_hook = None  # not while powering on: recovery runs before anyone watches
        self.apdu_observer = apdu_observer
        self.journal = journal
        self.authorizer = authorizer
        self.store = store or KeyStore.load()
        self.catalogue = catalogue or CATALOGUE
        self.emv = emv or EmvSettings()  # CA keys, revocations, risk management parameters
        self.language = language if language in LANGUAGES else "en"
        self.serial_number = serial_number
        self.random = random
        self.wallet: dict[str, VirtualCard] = {}
        self.txn: Transaction | None = None
        self.now = 0.0
        self.failure: Exception | None = None  # what sent the transaction to ERROR
        self.reconciliation: dict[str, str] = {}  # the acquirer's word on the last batch
        self.power_cycle_requested = False
        # (trigger, source, dest), for students: the last transactions' worth (a terminal that
        # runs for months must not keep every transition it ever took)
        self.history: deque[tuple[str, str, str]] = deque(maxlen=HISTORY)
        self._request_id = 0  # of the request being handled: its answers carry it
        self._command_id = 0  # of the request that started the running command
        self._origin: Origin = None  # where the request being handled came from
        self._command_origin: Origin = None  # ... and the running command's request
        self._outbox: list[tuple[Origin, Message]] = []
        self._deadline: float | None = None
        self.pinpad = PinEntryDevice(
            self,
            self.store.pin_pad(*journal.pin_pad_counters(), device=pin_pad_device),
            cardholder_pin,
        )
        self.commands = HostCommands(self)
        self.records = Records(self)
        self.tips = TipScreen(self)
        card_steps = CardSteps(self)
        self._enter_card_read = card_steps.enter_card_read  # tests wrap the card read
        self._on_enter: dict[TerminalState, Callable[[], None]] = {
            **card_steps.on_enter(),
            **self.pinpad.on_enter(),
            **Authorization(self).on_enter(),
            **Endings(self).on_enter(),
            **Recovery(self).on_enter(),
            **self.tips.on_enter(),
            S.IDLE: self._enter_idle,
        }
        self.machine = StateMachine(TRANSITIONS, S.IDLE, before=self._before, after=self._entered)
        self.fire("power_on")
        self.step_hook = step_hook

    @property
    def cardholder_pin(self) -> str | None:
        return self.pinpad.cardholder_pin

    @property
    def _pin_pad(self) -> PinPad:
        """The DUKPT PIN pad of keys/ (tests swap in a failing one)."""
        return self.pinpad.keys

    @_pin_pad.setter
    def _pin_pad(self, keys: PinPad) -> None:
        self.pinpad.keys = keys

    # --- the machine ---------------------------------------------------------------------

    @property
    def state(self) -> TerminalState:
        return self.machine.state

    def _before(self, trigger: str, source: TerminalState, dest: TerminalState) -> None:
        if self.step_hook is not None:
            self.step_hook(trigger, source, dest, self.allowed_triggers())

    def _entered(self, trigger: str, source: TerminalState, dest: TerminalState) -> None:
        self.history.append((trigger, source.name, dest.name))
        self._on_enter[dest]()

    def fire(self, trigger: str) -> None:
        """Fire a trigger of the transition table (MachineError if the state has none)."""
        self.machine.fire(trigger)

    _fire = fire

    def allowed_triggers(self) -> list[str]:
        return self.machine.triggers(self.state)

    def run(self, action: Callable[[], None]) -> None:
        """Run an action that fires triggers; any fault ends the transaction in ERROR."""
        try:
            action()
        except MachineError:
            raise
        except Exception as e:  # noqa: BLE001 - a fault must never crash the terminal
            self._fault(e)

    def _fault(self, error: Exception) -> None:
        self.failure = error
        if self.state is S.IDLE:
            self.reply_error(ErrorCode.INTERNAL_ERROR, f"internal error: {type(error).__name__}")
            return
        try:
            self.fire("fail")
        except MachineError:  # pragma: no cover - a fault where the table expects none
            self.machine.set_state(S.ERROR)
            self._on_enter[S.ERROR]()

    def start_command(self, request_id: int, trigger: str) -> None:
        """Start a command (sale, refund, PIN block): its prompts and outcome carry the id of
        the request that started it and go to that request's origin."""
        self._command_id, self._command_origin = request_id, self._origin
        self.run(lambda: self.fire(trigger))

    def _enter_idle(self) -> None:
        self.txn = None
        self.pinpad.request = None
        self._deadline = None

    # --- what the modules say ------------------------------------------------------------

    def send(self, message: Message) -> None:
        """Send a message of the running command: it carries the command's request id."""
        self._outbox.append((self._command_origin, with_request_id(message, self._command_id)))

    def reply(self, message: Message) -> None:
        """Answer the request being handled now: the answer carries its request id."""
        self._outbox.append((self._origin, with_request_id(message, self._request_id)))

    def prompt(self, prompt_id: PromptId) -> None:
        language = self.txn.language if self.txn else self.language
        self.send(Prompt(prompt_id, language, prompt_text(prompt_id, language)))

    def send_error(self, code: ErrorCode, text: str, field_name: str = "") -> None:
        self.send(Error(code, field_name, text[:255]))

    def reply_error(self, code: ErrorCode, text: str, field_name: str = "") -> None:
        self.reply(Error(code, field_name, text[:255]))

    def set_deadline(self, seconds: float) -> None:
        self._deadline = self.now + seconds

    def clear_deadline(self) -> None:
        self._deadline = None

    def apdu(self, command: CommandApdu) -> ResponseApdu:
        """One exchange with the card in the reader, shown (redacted) to the APDU observer."""
        assert self.txn is not None and self.txn.reader is not None
        encoded = command.encode()
        raw = self.txn.reader.transmit(encoded)
        if self.apdu_observer is not None:
            self.apdu_observer(redact_apdu(encoded), redact_response(raw))
        return ResponseApdu.decode(raw)

    # --- outputs -------------------------------------------------------------------------

    def take_outbox(self) -> list[Message]:
        """The messages for the host, oldest first."""
        return [message for _, message in self.take_addressed()]

    def take_addressed(self) -> list[tuple[Origin, Message]]:
        """The messages for the host, each with the ``origin`` of the request it answers (as
        given to :meth:`handle_message`), so the runner can drop an answer whose session has
        ended."""
        out, self._outbox = self._outbox, []
        return out

    def next_deadline(self) -> float | None:
        return self._deadline

    # --- inputs: the host ----------------------------------------------------------------

    def handle_message(self, message: Message, now: float, origin: Origin = None) -> None:
        """A message from the host. Its answers carry its ``request_id``; a command it starts
        (sale, refund, PIN block) sends its prompts and outcome under the same id. ``origin``
        (the link session it came in) comes back with each answer from :meth:`take_addressed`.
        """
        self.now = now
        self._request_id, self._origin = message.request_id, origin
        try:
            if not self.commands.handle(message):
                self.reply_error(
                    ErrorCode.UNEXPECTED_MESSAGE, f"{type(message).__name__} is not a request"
                )
        except MachineError:
            self.reply_error(ErrorCode.NOT_ALLOWED_NOW, f"not allowed in state {self.state.name}")

    @property
    def origin(self) -> Origin:
        """Where the request being handled came from (its link session)."""
        return self._origin

    def reject(self, error: ProtocolError, request_id: int = 0, origin: Origin = None) -> None:
        """A frame that arrived intact but did not decode: answer with its code."""
        self._request_id, self._origin = request_id, origin
        self.reply_error(error.error_code, str(error), error.field or "")

    def tick(self, now: float) -> None:
        """Let time pass: a wait for a card or a PIN that runs out ends as cancelled."""
        self.now = now
        if (
            self._deadline is not None
            and now >= self._deadline
            and self.state in CANCELLABLE_STATES
        ):
            self._deadline = None
            self.run(lambda: self.fire("cancel"))

    # --- inputs: the cardholder (simulation control, the automatic or a typing cardholder) --

    def _wanting_card(self) -> Transaction:
        if self.txn is None or self.state is not S.WAITING_FOR_CARD:
            raise MachineError("no card is wanted now")
        return self.txn

    def present_card(self, name: str, mode: EntryMode, now: float) -> None:
        self.now = now
        profile = self.catalogue.get(name)
        if profile is None:
            raise KeyError(name)
        if mode not in profile.interfaces:
            mode = EntryMode.NONE
        txn = self._wanting_card()
        txn.card, txn.entry_mode = profile, mode
        self.run(lambda: self.fire("card_presented"))

    def present_reader(self, reader: CardReader, now: float) -> None:
        """A card was inserted in a real (PC/SC) reader: read it by its chip."""
        self.now = now
        txn = self._wanting_card()
        txn.card, txn.reader, txn.entry_mode = None, reader, EntryMode.CHIP
        self.run(lambda: self.fire("card_presented"))

    def wallet_pays(self, now: float) -> None:
        """The simulated wallet scans the QR code on the display and pays it with its card."""
        self.now = now
        txn = self.txn
        if txn is None or self.state is not S.QR_DISPLAYED or txn.card is None:
            raise MachineError("no QR code is waiting to be paid")
        if not wallet_accepts(txn.qr_payload, txn.total, txn.currency):
            raise MachineError("the QR code's amount is not the sale's")
        txn.track2 = txn.card.track2  # the wallet's card credentials go to the issuer
        self.run(lambda: self.fire("wallet_paid"))

    def choose_tip(self, choice: int, custom: int, now: float) -> None:
        """The cardholder picks on the tip screen (0 none, 1-4 a percentage, 255 custom)."""
        self.now = now
        if self.txn is None or self.state is not S.TIP_SELECTION:
            raise MachineError("no tip is asked for now")
        self.tips.choose(choice, custom)

    def enter_pin(self, entry: PinEntry, now: float) -> None:
        """The simulated cardholder keys in the card's PIN, a wrong one, or bypasses."""
        self.type_pin(self.pinpad.typed_pin(entry), now)

    def type_pin(self, pin: Pin | None, now: float) -> None:
        """PIN digits from the keypad (None: the cardholder bypasses PIN entry)."""
        self.now = now
        if self.state not in PIN_STATES:
            raise MachineError("no PIN is wanted now")
        self.run(lambda: self.pinpad.pin_entered(pin))

    def cardholder_types(self) -> PinEntry:
        """What the automatic cardholder keys in (see :class:`~.pinpad.PinEntryDevice`)."""
        return self.pinpad.cardholder_types()

    def remove_card(self, now: float) -> None:
        self.now = now
        if self.txn is not None and self.txn.reader is not None:
            self.txn.reader.power_off()
        if self.state is S.CARD_REMOVAL:
            self.run(lambda: self.fire("finish"))
        elif self.state in (S.OFFLINE_PIN, S.ONLINE_PIN) and self.txn and self.txn.reader:
            self.run(lambda: self.fire("cancel"))

    def press_cancel(self, now: float) -> None:
        self.now = now
        if self.state in CANCELLABLE_STATES:
            self.run(lambda: self.fire("cancel"))
