"""Where a sale's time goes: the figures behind docs/benchmarks.md's profile of the hot path.

    python scripts/profile_sale.py [--sales 2000]

1. The terminal core alone: a sale handled and drained in memory (automatic cardholder,
   in-memory journal, no link, no port), the share of its parts (each part timed by
   wrapping it; the wrappers cost a little themselves), and the time in each state's
   entry handler (the transaction's steps).
2. The link alone: one sale's frames (the request, five prompts, two receipts, the result and
   the last prompt, each acknowledged) through two in-memory links.
3. Over a pty with the terminal in its own process (``possim terminal``): wall time per sale,
   and the CPU time (user, system) of each side from the kernel's accounting.
4. The same, a sale's wall time along its critical path: the host until its request is
   written, the line to the terminal, the terminal from reading the request to its last
   write (the result), the line back, the host from reading the result to the caller. Both
   processes note when each read returned and each write was issued (``time.perf_counter_ns``:
   CLOCK_MONOTONIC, one clock for both), in memory, a list append each; a line's time is
   from a write issued to the read that returned its bytes.
"""

from __future__ import annotations

import argparse
import bisect
import functools
import resource
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchlib import terminal_process  # noqa: E402

from firmware_sim import authorizer, cards, journal  # noqa: E402
from firmware_sim.application import records  # noqa: E402
from firmware_sim.cardholder import AutoCardholder, drain  # noqa: E402
from firmware_sim.testing import make_core  # noqa: E402
from keys import PinPad, dukpt_tdes, keystore  # noqa: E402
from protocols.link import Link  # noqa: E402
from protocols.messages import Message, SaleRequest  # noqa: E402

PARTS: list[tuple[Any, str, str]] = [
    (cards.VirtualCard, "execute", "the virtual card (8 APDUs)"),
    (authorizer.BuiltInAuthorizer, "authorize", "the built-in issuer"),
    (keystore.PinVerifier, "matches", "  of which the PIN check (host DUKPT)"),
    (dukpt_tdes.TdesDukptHost, "working_key", "    of which the host's DUKPT key"),
    (PinPad, "encrypt", "the PIN pad (device DUKPT)"),
    (journal.Journal, "check_new", "journal: rules of a new request"),
    (journal.Journal, "record_authorizing", "journal: authorizing"),
    (journal.Journal, "record_completion", "journal: completed"),
    (records.Records, "receipts", "receipts (both copies)"),
]


def timed_parts(spent: dict[str, float]) -> Callable[[], None]:
    """Wrap each part to add its time to ``spent``; returns the undo."""
    originals = [(owner, name, getattr(owner, name)) for owner, name, _ in PARTS]
    for owner, name, label in PARTS:
        inner = getattr(owner, name)

        @functools.wraps(inner)
        def wrapper(*args: Any, _inner: Any = inner, _label: str = label, **kw: Any) -> Any:
            started = time.perf_counter()
            try:
                return _inner(*args, **kw)
            finally:
                spent[_label] = spent.get(_label, 0.0) + time.perf_counter() - started

        setattr(owner, name, wrapper)

    def undo() -> None:
        for owner, name, original in originals:
            setattr(owner, name, original)

    return undo


def core_alone(sales: int) -> None:
    core, cardholder = make_core(), AutoCardholder()
    started = time.perf_counter()
    for i in range(sales):
        core.handle_message(SaleRequest(f"A{i}", 1234, "EUR"), 1.76e9)
        drain(core, cardholder, 1.76e9)
    plain = (time.perf_counter() - started) / sales * 1e3
    spent: dict[str, float] = {}
    undo = timed_parts(spent)
    core, cardholder = make_core(), AutoCardholder()
    for i in range(sales):
        core.handle_message(SaleRequest(f"B{i}", 1234, "EUR"), 1.76e9)
        drain(core, cardholder, 1.76e9)
    undo()
    print(f"1. the terminal core alone: {plain:.3f} ms a sale ({sales} sales)")
    for label in [label for _, _, label in PARTS]:
        print(f"   {label:40} {spent.get(label, 0.0) / sales * 1e3:.3f} ms")
    print("   by the state entered (its entry handler, less the states it enters in turn):")
    for state, took in by_state(sales):
        print(f"   {state:40} {took:.3f} ms")


def by_state(sales: int) -> list[tuple[str, float]]:
    """Milliseconds a sale in each state's entry handler, without the handlers it runs in
    turn (an entry handler fires the next trigger): where the transaction's steps cost."""
    core, cardholder = make_core(), AutoCardholder()
    spent: dict[str, float] = {}
    nested: list[float] = []  # the time of the handlers each running handler ran in turn

    def timed(state: str, handler: Callable[[], None]) -> Callable[[], None]:
        def run() -> None:
            started = time.perf_counter()
            nested.append(0.0)
            try:
                handler()
            finally:
                took = time.perf_counter() - started
                spent[state] = spent.get(state, 0.0) + took - nested.pop()
                if nested:
                    nested[-1] += took

        return run

    for state, handler in list(core._on_enter.items()):
        core._on_enter[state] = timed(state.name, handler)
    for i in range(sales):
        core.handle_message(SaleRequest(f"C{i}", 1234, "EUR"), 1.76e9)
        drain(core, cardholder, 1.76e9)
    ranked = sorted(spent.items(), key=lambda item: -item[1])
    return [(state, took / sales * 1e3) for state, took in ranked if took / sales > 2e-6]


def link_alone(sales: int) -> None:
    core, cardholder = make_core(), AutoCardholder()
    core.handle_message(SaleRequest("X", 1234, "EUR", request_id=5), 0.0)
    answers: list[Message] = drain(core, cardholder, 0.0)
    host, terminal = Link(session=b"Host"), Link(session=b"Term")

    def carry(a: Link, b: Link) -> None:
        data = a.data_to_send()
        if data:
            b.receive_data(data, 0.0)

    host.send(SaleRequest("W", 1, "EUR", request_id=1), 0.0)
    for _ in range(10):
        carry(host, terminal)
        carry(terminal, host)
    host.events()
    terminal.events()
    started = time.perf_counter()
    for i in range(sales):
        host.send(SaleRequest(f"B{i}", 1234, "EUR", request_id=2), 0.0)
        carry(host, terminal)
        carry(terminal, host)
        terminal.events()
        for message in answers:
            terminal.send(message, 0.0)
            carry(terminal, host)
            carry(host, terminal)
        host.events()
    took = (time.perf_counter() - started) / sales * 1e3
    print(f"2. the link alone, both sides, one sale's {len(answers) + 1} messages: {took:.3f} ms")


def _ticks(pid: int) -> tuple[int, int]:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]), int(fields[12])  # utime, stime in clock ticks


def over_a_pty(sales: int) -> None:
    with terminal_process(mode=None) as (process, terminal):
        before, mine = _ticks(process.pid), resource.getrusage(resource.RUSAGE_SELF)
        started = time.perf_counter()
        for i in range(sales):
            terminal.sale(1234, "EUR", client_transaction_id=f"P{i}")
        wall = (time.perf_counter() - started) / sales * 1e3
        after, now = _ticks(process.pid), resource.getrusage(resource.RUSAGE_SELF)
    tick = 1000 / 100 / sales  # ms per tick per sale (USER_HZ 100)
    print(f"3. over a pty, the terminal in its own process: {wall:.3f} ms a sale ({sales} sales)")
    print(
        f"   host CPU     user {(now.ru_utime - mine.ru_utime) / sales * 1e3:.3f} ms"
        f"  system {(now.ru_stime - mine.ru_stime) / sales * 1e3:.3f} ms"
    )
    print(
        f"   terminal CPU user {(after[0] - before[0]) * tick:.3f} ms"
        f"  system {(after[1] - before[1]) * tick:.3f} ms"
    )


class _TimedPort:
    """The runner's port, noting when each read returned bytes and each write went."""

    def __init__(self, port: Any, notes: list[tuple[int, str]]) -> None:
        self._port, self._notes = port, notes
        self.name = port.name

    @property
    def bytes_dropped(self) -> int:
        return int(self._port.bytes_dropped)

    def read(self, timeout: float) -> bytes:
        data: bytes = self._port.read(timeout)
        if data:
            self._notes.append((time.perf_counter_ns(), "read"))
        return data

    def write(self, data: bytes) -> None:
        self._notes.append((time.perf_counter_ns(), "write"))  # issued: the peer may read first
        self._port.write(data)

    def close(self) -> None:
        self._port.close()


def _terminal_child(announce: Any, stop: Any, notes_out: Any) -> None:
    """A forked child: a terminal on a pty (in-memory journal), as ``possim terminal``
    runs one, whose port notes its reads and writes; the notes go back when told to stop."""
    from firmware_sim.runner import TerminalConfig, TerminalRunner

    runner = TerminalRunner(TerminalConfig(port="pty", insecure=True))
    notes: list[tuple[int, str]] = []
    runner.port = _TimedPort(runner.port, notes)  # type: ignore[assignment]
    announce.send(runner.port.name)
    while not stop.poll():
        runner.step(0.01)
    notes_out.send(notes)


def critical_path(sales: int) -> None:
    import multiprocessing
    import statistics

    from driver import Terminal

    context = multiprocessing.get_context("fork")
    announce, announced = context.Pipe()
    stop, stopped = context.Pipe()
    notes_in, notes_out = context.Pipe()
    child = context.Process(target=_terminal_child, args=(announced, stopped, notes_out))
    child.start()
    host: list[tuple[int, str]] = []
    with Terminal(announce.recv()) as terminal:
        line = terminal._line
        read, write = line.read, line.write

        def timed_read(wait: float) -> bytes:
            data: bytes = read(wait)
            if data:
                host.append((time.perf_counter_ns(), "read"))
            return data

        def timed_write(data: bytes) -> None:
            host.append((time.perf_counter_ns(), "write"))
            write(data)

        line.read, line.write = timed_read, timed_write  # type: ignore[method-assign]
        for i in range(200):  # warm-up, untimed
            terminal.sale(1234, "EUR", client_transaction_id=f"W{i}")
        spans = []
        for i in range(sales):
            host.clear()
            started = time.perf_counter_ns()
            terminal.sale(1234, "EUR", client_transaction_id=f"Q{i}")
            spans.append((started, list(host), time.perf_counter_ns()))
        stop.send(True)
        terminal_notes: list[tuple[int, str]] = notes_in.recv()
    child.join()
    parts: dict[str, list[int]] = {name: [] for name in _PATH}
    times = [t for t, _ in terminal_notes]
    for started, notes, ended in spans:
        request_written = next(t for t, kind in notes if kind == "write")
        result_read = max(t for t, kind in notes if kind == "read")
        first = bisect.bisect_left(times, request_written)
        during = terminal_notes[first : bisect.bisect_right(times, result_read)]
        request_read = next(t for t, kind in during if kind == "read")
        result_written = max(t for t, kind in during if kind == "write")
        for name, took in zip(
            _PATH,
            (
                request_written - started,
                request_read - request_written,
                result_written - request_read,
                result_read - result_written,
                ended - result_read,
                ended - started,
            ),
            strict=True,
        ):
            parts[name].append(took)
    print(f"4. a sale's wall time along its critical path, median of {sales} ({_PATH_NOTE})")
    for name, spans_ns in parts.items():
        print(f"   {name:54} {statistics.median(spans_ns) / 1e6:.3f} ms")


_PATH = (
    "host: sale() called to its request's write issued",
    "the line to the terminal",
    "terminal: request read to its last write issued",
    "the line back",
    "host: result read to sale() returning",
    "the whole sale",
)
_PATH_NOTE = "the parts' medians need not add up to the whole's"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sales", type=int, default=2000)
    args = parser.parse_args()
    core_alone(args.sales)
    link_alone(args.sales)
    over_a_pty(min(args.sales, 1000))
    critical_path(min(args.sales, 1000))
    return 0


if __name__ == "__main__":
    sys.exit(main())
