"""The runner: owns the port (:mod:`firmware_sim.ports`), the clock and the thread; feeds
bytes into the link, link events into the core, and the core's messages back out. With the
ports, the only part of the terminal that does I/O.
"""

from __future__ import annotations

import queue
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from keys import KeyStore
from protocols.codes import EntryMode
from protocols.errors import ErrorCode, LocalProtocolError
from protocols.link import Link, MessageReceived, MessageRejected
from protocols.messages import Error, Message, Prompt

from .access import set_up_access
from .acquirer import Identity
from .cardholder import AutoCardholder, drain_addressed
from .core import Origin, TerminalCore
from .entropy import RandomPool
from .host_side import draw_qr, host_link
from .journal import Journal
from .kernel.settings import EmvSettings
from .online import connect
from .pcsc import PcscReader
from .ports import PacedPort, Port, open_port
from .states import TerminalState
from .watch import Watch
from .zvt import ZVT_SESSION, ZvtLink
from .zvt.lookups import journal_lookups

__all__ = [
    "Port",
    "open_port",
    "TerminalConfig",
    "TerminalRunner",
    "RunnerCounters",
]


@dataclass
class RunnerCounters:
    """What the runner dropped or survived; the link keeps its own counters."""

    answers_dropped: int = 0  # a full link queue: the outcome is in the journal
    internal_errors: int = 0  # faults caught so that the terminal goes on


@dataclass
class TerminalConfig:
    port: str = "pty"
    journal: str = ":memory:"
    card: str = "default"
    pin: str | None = None
    cardholder: str = "auto"
    baud: int = 115200
    pace: bool = False
    language: str = "en"
    authorizer_latency: float = 0.0
    ack_timeout: float | None = None
    link_retries: int | None = None
    reader: str = "virtual"  # virtual, or pcsc[:NAME] for a PC/SC reader
    entry: str = "chip"  # how the automatic cardholder offers its card: chip, swipe, tap, qr
    display: str | None = None  # where the display's QR codes are drawn (default: a tty)
    trace: str | None = None  # JSON lines of every frame, APDU and authorization
    step: bool = False  # wait for Enter before each transition
    step_diagram: str | None = None  # in step mode, draw the current state into this SVG
    acquirer: str | None = None  # tcp://HOST:PORT of an ISO 8583 host, else the built-in one
    terminal_id: str = "POSSIM01"  # DE 41 to the acquirer
    merchant_id: str = "POSSIM000000001"  # DE 42
    acquirer_timeout: float = 15.0  # seconds for the host's answer, then a reversal
    cert: str | None = None  # listen+tls://: the certificate chain (PEM) ...
    key: str | None = None  # ... and its private key
    require_pairing: bool = False  # on a serial line too (TCP always requires it)
    insecure: bool = False  # no pairing, no merchant password: tests and development
    emv: EmvSettings | None = None  # CA keys, revocations, floor limit (default: shipped)
    protocol: str = "possim"  # or "zvt": the cash register speaks ZVT (firmware_sim.zvt)
    zvt_password: int = 123456  # ZVT: the password Registration and other commands carry


class TerminalRunner:
    """Runs one terminal until :meth:`stop`. Use :meth:`start` for a background thread."""

    def __init__(self, config: TerminalConfig, port: Port | None = None) -> None:
        self.config = config
        self.port = port or open_port(config.port, config.baud, config.cert, config.key)
        if config.pace:
            self.port = PacedPort(self.port, config.baud)
        self._store = KeyStore.load()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.pcsc: PcscReader | None = None
        if config.reader.startswith("pcsc"):
            self.pcsc = PcscReader(config.reader.partition(":")[2])
        self._next_poll = 0.0
        self.cardholder = (
            AutoCardholder(
                config.card, EntryMode[config.entry.upper()], presents_cards=self.pcsc is None
            )
            if config.cardholder == "auto"
            else None
        )
        self.display: deque[str] = deque(maxlen=32)  # what the terminal's display showed
        self.show_display: Callable[[str], None] | None = None  # its console, if it has one
        self.access = set_up_access(
            config.journal,
            config.port,
            config.terminal_id,
            self._show,
            require_pairing=config.require_pairing,
            insecure=config.insecure,
        )
        self.merchant = self.access.merchant
        self._journal = Journal(config.journal)
        self._random = RandomPool()
        self.counters = RunnerCounters()
        self.watch = Watch(config.trace, step=config.step, zvt=config.protocol == "zvt")
        if config.protocol == "zvt":
            self.merchant.trust(ZVT_SESSION)  # ZVT's merchant commands carry its password
        self.link: Link | ZvtLink = host_link(
            config,
            self.access.guard(),
            journal_lookups(self._journal),
            self.watch.zvt if self.watch.tracing else None,
        )
        self._online = connect(
            self._store,
            config.journal,
            config.acquirer,
            Identity(config.terminal_id, config.merchant_id),
            config.acquirer_timeout,
            config.authorizer_latency,
            self.watch.record if self.watch.tracing else None,
        )
        self.core = self._boot()
        self.on_message: Callable[[object], None] | None = None
        # cardholder actions from other threads (the keyboard), run on the runner's thread
        self.actions: queue.Queue[Callable[[TerminalCore, float], None]] = queue.Queue()

    def _boot(self) -> TerminalCore:
        """A cold start of the terminal on the same journal, authorizer and key store."""
        return TerminalCore(
            journal=self._journal,
            authorizer=self._online.chain,
            store=self._store,
            language=self.config.language,
            cardholder_pin=self.config.pin,
            step_hook=self._step_pause if self.config.step else None,
            # redacting every APDU costs a TLV decode and encode: only when someone looks
            apdu_observer=self.watch.apdu if self.watch.watched else None,
            display_observer=self._show_qr,
            random=self._random,
            counters=self.status_counters,
            merchant=self.merchant,
            pairing=self.access.pairing,
            emv=self.config.emv,
            before_online=None if self._online.answers_at_once else self._before_online,
        )

    def status_counters(self) -> dict[str, int]:
        """The link's and the runner's counters, for STATUS."""
        counts = {f"link_{k}": v for k, v in vars(self.link.counters).items()}
        counts.update(vars(self.counters))
        counts["bytes_dropped"] = self.port.bytes_dropped
        counts["hosts_refused"] = getattr(self.port, "refused", 0)
        counts["tls_failures"] = getattr(self.port, "tls_failures", 0)
        counts.update(self._online.counters())
        return counts

    # --- traces and step mode -------------------------------------------------------------

    def _show(self, line: str) -> None:
        """A line on the terminal's display (a pairing code): its console, never the link
        or a trace."""
        self.display.append(line)
        if self.show_display is not None:
            self.show_display(line)

    def _show_qr(self, payload: str) -> None:
        """Draw the QR code on the terminal's display: an image when ``--display`` names a
        .png or .svg file (a phone's camera reads it), else text art in the file, or on the
        console if it is one."""
        self.watch.record("display", "out", "", note=payload)
        draw_qr(payload, self.config.display)

    def _step_pause(
        self, trigger: str, source: TerminalState, dest: TerminalState, allowed: list[str]
    ) -> None:
        self._flush()  # acknowledge what came in before we stop
        lines = self.watch.step_lines(trigger, source, dest, allowed)
        if self.config.step_diagram:
            try:
                from .diagram import state_graph

                svg = state_graph(source).pipe(format="svg")
                with open(self.config.step_diagram, "wb") as drawing:
                    drawing.write(svg)
            except Exception as e:  # noqa: BLE001 - no graphviz: say so, keep stepping
                lines.append(f"   (no diagram: {e})")
        print("\n".join(lines), flush=True)
        print("[Enter] to go on", flush=True)
        sys.stdin.readline()

    def start(self) -> None:
        self._thread = threading.Thread(target=self.serve, name="possim-terminal", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self.port.close()
        self._journal.close()
        self.watch.close()
        self._online.close()

    def serve(self) -> None:
        while not self._stop.is_set():
            try:
                self.step()
            except Exception as e:  # noqa: BLE001 - the last line of defence: count, go on
                self._internal_error(e)
                time.sleep(0.01)

    def _poll_reader(self) -> None:
        """With a PC/SC reader: a card inserted while one is wanted, or taken out after."""
        if self.pcsc is None or time.monotonic() < self._next_poll:
            return
        self._next_poll = time.monotonic() + 0.2
        state = self.core.state
        if state is TerminalState.WAITING_FOR_CARD and self.pcsc.card_present():
            self.core.present_reader(self.pcsc, time.time())
        elif state is TerminalState.CARD_REMOVAL and not self.pcsc.card_present():
            self.core.remove_card(time.time())

    def step(self, max_wait: float = 0.05) -> None:
        now = time.monotonic()
        waits = [d - now for d in (self.link.next_deadline(),) if d is not None]
        core_deadline = self.core.next_deadline()
        if core_deadline is not None:
            waits.append(core_deadline - time.time())
        timeout = max(0.0, min([max_wait, *waits]))
        now = self._take_in(timeout)
        self.link.tick(now)
        self._flush()  # acknowledgements go before the work they acknowledge (a slow issuer)
        for event in self.link.events():
            # each request's answers go to the link before the next event is looked at: the
            # link may already be in a newer session, and then they are dropped, not sent
            if isinstance(event, MessageReceived):
                message, session = event.message, event.session
                self._guarded(
                    lambda: self.core.handle_message(message, time.time(), session),
                    message.request_id,
                    session,
                )
            elif isinstance(event, MessageRejected):
                error, request_id, session = event.error, event.request_id, event.session
                self._guarded(
                    lambda: self.core.reject(error, request_id, session), request_id, session
                )
            else:
                continue
            self._send_all()
        while not self.actions.empty():
            action = self.actions.get_nowait()
            try:
                action(self.core, time.time())
            except Exception as e:  # noqa: BLE001 - a refused action is reported, not fatal
                print(f"possim: {e or type(e).__name__}", file=sys.stderr)
        self._poll_reader()
        self._guarded(lambda: self.core.tick(time.time()), None)
        self._send_all()
        if self.core.power_cycle_requested:
            self.core = self._boot()  # a cold start: recovery runs on the same journal
        self._flush()

    def _flush(self) -> None:
        out = self.link.data_to_send()
        if out:
            self.watch.saw_bytes("out", out)
            self.port.write(out)

    def _send_all(self) -> None:
        """What the core has to send, the cardholder answering its prompts on the way.
        Prompts go on the line as they come, for a host in another process to read while
        the card is worked; an outcome waits until the core rests: the host learns it once
        the terminal is done with the card."""
        outcome_due = False

        def send_now(batch: list[tuple[Origin, Message]]) -> None:
            nonlocal outcome_due
            self._send_addressed(batch)
            outcome_due = outcome_due or any(not isinstance(m, Prompt) for _, m in batch)
            if not outcome_due:
                self._flush()

        drain_addressed(self.core, self.cardholder, time.time(), send_now)

    def _before_online(self) -> None:
        """The core is about to wait on the authorizer (an acquirer over TCP: as long as the
        network takes; not the built-in one, which answers at once): what it has for the host
        goes on the line first, so the host's display says AUTHORISING while the issuer
        decides, not after. Only prompts can be waiting then, in a state in which the
        cardholder answers none of them. The host's ACKs that have come are taken in first
        (they may open the link's window); anything else that came waits in the link for the
        next step, as it would have."""
        self._take_in(0.0)
        self._send_addressed(self.core.take_addressed())
        self._flush()

    def _take_in(self, wait: float) -> float:
        """What the line has, waiting up to ``wait`` seconds for it, seen by the watch and
        fed to the link; the time it was taken in."""
        data = self.port.read(wait)
        if data:
            self.watch.saw_bytes("in", data)
        now = time.monotonic()
        self.link.receive_data(data, now)
        return now

    def _send_addressed(self, batch: list[tuple[Origin, Message]]) -> None:
        """Each message to the link for the session of the request it answers."""
        for origin, message in batch:
            self._send(message, origin if isinstance(origin, bytes) else None)

    def _send(self, message: Message, session: bytes | None) -> None:
        """Hand a message to the link, for the session it answers. A full queue drops it,
        counted: what it reported is in the journal, where LAST and LOOKUP find it."""
        try:
            self.link.send(message, time.monotonic(), session=session)
        except LocalProtocolError:
            self.counters.answers_dropped += 1
            return
        if self.on_message is not None:
            self.on_message(message)

    def _internal_error(self, error: Exception) -> None:
        """Count a fault and say it in one line: its type only, never data that may be a card's."""
        self.counters.internal_errors += 1
        print(f"possim: internal error {type(error).__name__}; going on", file=sys.stderr)

    def _guarded(
        self, handle: Callable[[], None], request_id: int | None, session: bytes | None = None
    ) -> None:
        """Run the core on one input. A fault is a bug, but never one that stops the
        terminal: it is counted, told in one line (no data), and answered INTERNAL_ERROR."""
        try:
            handle()
        except Exception as e:  # noqa: BLE001 - nothing a host sends may take the terminal down
            self._internal_error(e)
            if request_id is not None:
                text = "internal error: the terminal goes on"
                error = Error(ErrorCode.INTERNAL_ERROR, "", text, request_id=request_id)
                self._send(error, session)
