"""``Terminal``: the synchronous host driver over any pyserial URL or an open port.

One command runs at a time. While it runs, other threads may cancel it or act as the
simulated cardholder (``present_card``, ``enter_pin``...): their requests go out on the same
line and their answers come back to them.

    with Terminal("/dev/pts/3") as terminal:
        outcome = terminal.sale("12.34", "EUR", on_prompt=print)
        if outcome.approved:
            print("\\n".join(outcome.receipt))
"""

from __future__ import annotations

import queue
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import serial

from protocols.codes import (
    PROTOCOL_VERSION,
    CancelOutcome,
    PinBlockFormat,
    TransactionKind,
)
from protocols.errors import ErrorCode, FieldError, LocalProtocolError
from protocols.link import (
    DeliveryFailed,
    Link,
    LinkGuard,
    LinkSettings,
    MessageReceived,
    MessageRejected,
    PeerIncompatible,
    SessionEnded,
)
from protocols.messages import (
    CancelRequest,
    CancelResponse,
    Error,
    InfoRequest,
    InfoResponse,
    Message,
    PinBlockRequest,
    PinBlockResponse,
    Prompt,
    SettlementRequest,
    SettlementResponse,
    StatusRequest,
    StatusResponse,
    with_request_id,
)

from .cardholder import CardholderCommands
from .errors import (
    InputRejected,
    LineLost,
    NotPaired,
    OutcomeUnknown,
    ProtocolViolation,
    TerminalTimeout,
    error_for,
)
from .inputs import Amount, PromptHandler, rejected, to_minor_units
from .line import Line
from .merchant import MerchantCommands
from .pairing_commands import PairingCommands
from .pairings import PairingFile
from .payments import PaymentCommands
from .results import (
    PinBlockResult,
    Settlement,
    TerminalInfo,
    TerminalStatus,
    TransactionOutcome,
)

__all__ = ["Terminal", "Amount", "PromptHandler", "to_minor_units"]

COMMAND_TIMEOUT = 120.0
CONTROL_TIMEOUT = 10.0


@dataclass
class _SideRequest:
    """A request from another thread while a command runs, and the answer it waits for."""

    message: Message
    answer_type: type
    done: threading.Event = field(default_factory=threading.Event)
    answer: Message | None = None


def _other_version(version: int) -> ProtocolViolation:
    return ProtocolViolation(
        f"the terminal speaks protocol version {version}; this driver speaks "
        f"{PROTOCOL_VERSION}: update one of them"
    )


class Terminal(PaymentCommands, PairingCommands, MerchantCommands, CardholderCommands):
    """A possim terminal (or any device speaking its protocol) at ``port``: a pyserial URL or
    device, or an open ``serial.SerialBase``. With ``reconnect=True`` a sale or refund whose
    line drops reopens the port and learns its outcome from the terminal's journal."""

    def __init__(
        self,
        port: str | serial.SerialBase,
        *,
        baud: int = 115200,
        timeout: float = COMMAND_TIMEOUT,
        reconnect: bool = False,
        reconnect_within: float = 30.0,
        on_prompt: PromptHandler | None = None,
        link_settings: LinkSettings | None = None,
        control_timeout: float = CONTROL_TIMEOUT,
        trace: str | None = None,
        password: str | None = None,
        pairings: str | Path | None = None,
    ) -> None:
        # the pairing file: authenticated frames when it has a pairing for this port
        self._pairing_file = PairingFile(pairings)
        self._password = password  # the merchant password, for refunds, voids, tips, settlement
        self.control_timeout = control_timeout
        self._url = port if isinstance(port, str) else None
        self._link_settings = link_settings
        self._baud = baud
        self.timeout = timeout
        self.reconnect = reconnect
        self.reconnect_within = reconnect_within
        self.on_prompt = on_prompt
        self._lock = threading.Lock()
        self._running = threading.Event()
        self._side: queue.Queue[_SideRequest] = queue.Queue()
        self._line = Line(port, baud=baud, trace=trace, write_timeout=control_timeout)
        self._link = self._new_link()
        # request ids start at random, so two processes in a row do not share them
        self._last_request_id = secrets.randbelow(0xFFFF)
        self.stale_answers = 0  # answers to other requests (or sessions) dropped

    def _new_link(self, *, plain: bool = False) -> Link:
        settings = self._link_settings
        if settings is None and self._baud < 115200:
            settings = LinkSettings.for_baud(self._baud)
        keys = self._pairing_file.link_keys(self._url) if self._url and not plain else None
        guard = LinkGuard(keys, "host", pairing_id=keys.pairing_id) if keys else LinkGuard()
        return Link(settings, guard=guard)

    @property
    def pairing_file(self) -> Path:
        return self._pairing_file.path

    @property
    def paired(self) -> bool:
        """This host has a pairing for the port: its frames carry MACs."""
        return self._link.guard.required

    def _relink(self, *, plain: bool = False) -> None:
        """A new link session (the pairing file changed, or ``plain`` for pairing anew): the
        next request resets it."""
        self._link = self._new_link(plain=plain)

    def __repr__(self) -> str:
        return f"Terminal({self._line!r})"

    def __enter__(self) -> Terminal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._line.close()

    # --- the exchange loop ---------------------------------------------------------------

    def _exchange(
        self,
        request: Message,
        done: Callable[[Message], bool],
        timeout: float,
        on_prompt: PromptHandler | None,
    ) -> list[Message]:
        with self._lock:
            self._running.set()
            try:
                return self._run(request, done, timeout, on_prompt)
            finally:
                self._running.clear()
                self._fail_side_requests()

    def _run(
        self,
        request: Message,
        done: Callable[[Message], bool],
        timeout: float,
        on_prompt: PromptHandler | None,
    ) -> list[Message]:
        request = self._number(request)
        try:
            self._link.send(request, time.monotonic())
        except LocalProtocolError as e:
            raise rejected(e) from None
        deadline = time.monotonic() + timeout
        resent = False
        pending: dict[int, _SideRequest] = {}
        collected: list[Message] = []
        finished = False
        while True:
            while not self._side.empty():
                side = self._side.get_nowait()
                side.message = self._number(side.message)
                self._link.send(side.message, time.monotonic())
                pending[side.message.request_id] = side
            self._io(min(0.05, max(0.0, deadline - time.monotonic())))
            for event in self._link.events():
                if isinstance(event, DeliveryFailed):
                    if event.message is request and self._link.ready and not self.paired:
                        raise NotPaired(
                            "the terminal took the link but answers nothing: it requires a "
                            f"paired host (always over TCP); pair once with `possim pair --port "
                            f"{self._url}`"
                        )
                    if event.message is None and self.paired:
                        raise NotPaired(
                            "the terminal does not acknowledge this host's pairing: the line is "
                            "down, or the terminal no longer has the pairing (pair again with "
                            f"`possim pair --port {self._url}`)"
                        )
                    if event.message is request or event.message is None:
                        raise LineLost("the terminal does not acknowledge: the line is down")
                elif isinstance(event, SessionEnded):
                    if any(m is request for m in event.dropped):
                        if resent:
                            raise LineLost("the terminal keeps restarting: the line is unusable")
                        # The terminal restarted and dropped the request unread, or read it
                        # before it restarted. Sending it again is safe either way: a payment
                        # is known by its client transaction id and never authorized twice.
                        resent = True
                        self._link.send(request, time.monotonic())
                elif isinstance(event, PeerIncompatible):
                    raise _other_version(event.version)
                elif isinstance(event, MessageRejected):
                    raise ProtocolViolation(f"the terminal sent a bad message: {event.error}")
                elif isinstance(event, MessageReceived):
                    message = event.message
                    waiting = pending.get(message.request_id)
                    if waiting is not None and isinstance(message, (waiting.answer_type, Error)):
                        del pending[message.request_id]
                        waiting.answer = message
                        waiting.done.set()
                        continue
                    if message.request_id != request.request_id:
                        self.stale_answers += 1  # an answer to another request: not ours
                        continue
                    if isinstance(message, Prompt):
                        handler = on_prompt or self.on_prompt
                        if handler is not None:
                            handler(message)
                        continue
                    if finished:
                        continue
                    if isinstance(message, Error):
                        raise error_for(message.code, message.field, message.text)
                    collected.append(message)
                    if done(message):
                        finished = True
                        deadline = min(deadline, time.monotonic() + self.control_timeout)
            if finished and not pending and self._side.empty():
                self._settle(request.request_id)
                return collected
            if time.monotonic() >= deadline:
                if finished:
                    return collected
                raise TerminalTimeout(f"no answer to {type(request).__name__} within {timeout} s")

    def _number(self, message: Message) -> Message:
        """The message with the next request id (never 0, which answers nothing)."""
        self._last_request_id = self._last_request_id % 0xFFFF + 1
        return with_request_id(message, self._last_request_id)

    def _io(self, wait: float) -> None:
        try:
            out = self._link.data_to_send()
            if out:
                self._line.record("out", out)
                self._line.write(out)
            data = self._line.read(wait)
            self._line.record("in", data)
        except (serial.SerialException, OSError, TypeError, AttributeError) as e:
            raise LineLost(f"the line failed: {e or type(e).__name__}") from None
        now = time.monotonic()
        self._link.receive_data(data, now)
        self._link.tick(now)

    def _settle(self, request_id: int) -> None:
        """Take in what has already arrived (the prompt after a result) and acknowledge it,
        without waiting for more."""
        for _ in range(8):
            self._io(0.0)
            events = self._link.events()
            for event in events:
                if not isinstance(event, MessageReceived):
                    continue
                if event.message.request_id != request_id:
                    self.stale_answers += 1
                elif isinstance(event.message, Prompt) and self.on_prompt is not None:
                    self.on_prompt(event.message)
            if not events:
                break
        out = self._link.data_to_send()
        if out:
            self._line.record("out", out)
            try:
                self._line.write(out)
            except (serial.SerialException, OSError):
                pass

    def _fail_side_requests(self) -> None:
        while not self._side.empty():
            self._side.get_nowait().done.set()

    def _side_request(self, message: Message, answer_type: type) -> Message:
        """Send now if idle; otherwise hand the request to the running command's loop."""
        if self._running.is_set():
            side = _SideRequest(message, answer_type)
            self._side.put(side)
            if not side.done.wait(self.control_timeout):
                raise TerminalTimeout(f"no answer to {type(message).__name__}")
            if isinstance(side.answer, Error):
                raise InputRejected(side.answer.code, side.answer.field, side.answer.text)
            if side.answer is not None:
                return side.answer
            # the command ended before this request went out: send it on our own
        got = self._exchange(
            message, lambda m: isinstance(m, answer_type), self.control_timeout, None
        )
        return got[-1]

    def _recover(self, txn_id: str) -> TransactionOutcome:
        """Reopen the line and ask the journal; never send the payment again."""
        deadline = time.monotonic() + self.reconnect_within
        last_error: Exception | None = None
        while time.monotonic() < deadline:
            try:
                self._line.reopen()
                self._link = self._new_link()
                return self.lookup(txn_id)
            except InputRejected as e:
                if e.code != ErrorCode.UNKNOWN_TRANSACTION:
                    raise
                last_error = e  # not recorded yet: it may still be running; ask again
            except (LineLost, TerminalTimeout) as e:
                last_error = e
            time.sleep(0.5)
        raise OutcomeUnknown(
            txn_id, f"the outcome of {txn_id} is not known yet ({last_error}); ask lookup() later"
        )

    def pin_block(
        self,
        pan: str,
        format: int = 0,
        *,
        on_prompt: PromptHandler | None = None,
        timeout: float | None = None,
    ) -> PinBlockResult:
        """The cardholder enters a PIN on the PIN pad; the encrypted block and its KSN."""
        try:
            request = PinBlockRequest(pan, PinBlockFormat(format))
        except ValueError as e:
            if isinstance(e, FieldError):
                raise rejected(e) from None
            raise InputRejected(
                ErrorCode.INVALID_PIN_BLOCK_FORMAT, "format", "must be 0 or 4"
            ) from None
        got = self._exchange(
            request, lambda m: isinstance(m, PinBlockResponse), timeout or self.timeout, on_prompt
        )
        response = got[-1]
        assert isinstance(response, PinBlockResponse)
        return PinBlockResult(response.format, response.pin_block, response.ksn)

    def cancel(self) -> CancelOutcome:
        """Cancel the running command if it still waits (for a card, a PIN)."""
        answer = self._side_request(CancelRequest(), CancelResponse)
        assert isinstance(answer, CancelResponse)
        return answer.outcome

    def info(self) -> TerminalInfo:
        response = self._ask(InfoRequest(), InfoResponse)
        if response.protocol_version != PROTOCOL_VERSION:
            raise _other_version(response.protocol_version)
        return TerminalInfo(
            response.protocol_version,
            response.firmware_version,
            response.serial_number,
            response.capabilities,
        )

    def status(self) -> TerminalStatus:
        """The terminal's state, the transaction in progress and its counters. Answered even
        while a command runs (ask from another thread)."""
        response = self._side_request(StatusRequest(), StatusResponse)
        assert isinstance(response, StatusResponse)
        kinds = {int(k): k for k in TransactionKind}
        return TerminalStatus(
            response.state,
            kinds.get(response.kind),
            response.client_transaction_id,
            response.amount,
            response.currency,
            response.reference,
            {c.name: c.value for c in response.counters},
        )

    def settle(self) -> Settlement:
        """Close the batch: end-of-day totals per currency. A merchant command."""
        self._as_merchant()
        response = self._ask(SettlementRequest(), SettlementResponse)
        return Settlement(response.batch_number, response.totals)
