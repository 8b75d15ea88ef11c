"""Driver benchmark: sales through the driver over a real pty with an instant (automatic)
cardholder, against the floor of raw pty round trips carrying the same bytes in the same
order; the durable journal's commits (one WAL fsync each, synchronous=FULL) per sale; and
sale latency with wire-accurate pacing at 115200 baud against the wire-time bound.

    python scripts/bench_driver.py [--sales 300] [--processes 20]

The last figure is a point of sale that starts a process per command: ``possim sale`` and
``possim info`` from new processes, back to back against one terminal process, and their ratio
(each pays Python's start-up; a sale must not also wait out the previous host's session).

Counting the real fsyncs of a sale (the difference between 110 and 10 sales, over 100):

    strace -f -c -e trace=fsync,fdatasync python scripts/bench_driver.py --durable-only 110
    strace -f -c -e trace=fsync,fdatasync python scripts/bench_driver.py --durable-only 10
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import threading
import time
import tty
from pathlib import Path

import serial

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # this tree, not an install

from driver import Terminal  # noqa: E402
from driver.testing import pair_runner  # noqa: E402
from firmware_sim.runner import TerminalConfig, TerminalRunner  # noqa: E402


class Recorder:
    """Wraps both ends' writes to log (side, bytes) in order."""

    def __init__(self) -> None:
        self.chunks: list[tuple[str, bytes]] = []
        self.lock = threading.Lock()

    def add(self, side: str, data: bytes) -> None:
        with self.lock:
            self.chunks.append((side, data))


def run_sales(
    config: TerminalConfig, count: int, record: Recorder | None = None, *, paired: bool = False
) -> tuple[list[float], TerminalRunner]:
    runner = TerminalRunner(config)
    if record is not None:
        original_write = runner.port.write

        def terminal_write(data: bytes) -> None:
            record.add("terminal", data)
            original_write(data)

        runner.port.write = terminal_write  # type: ignore[method-assign]
    runner.start()
    if paired:  # the pairing exchange, then every frame authenticated (docs/security.md)
        pair_runner(runner)
    latencies = []
    with Terminal(runner.port.name) as terminal:
        if record is not None:
            original = terminal._line.write  # every write of the driver goes through it

            def host_write(data: bytes) -> None:
                record.add("host", bytes(data))
                original(data)

            terminal._line.write = host_write  # type: ignore[method-assign]
        terminal.info()  # link resets and warm-up outside the timing
        if record is not None:
            record.chunks.clear()
        for i in range(count):
            started = time.perf_counter()
            outcome = terminal.sale(1234, "EUR", client_transaction_id=f"B{i}")
            latencies.append(time.perf_counter() - started)
            assert outcome.approved
    runner.stop()
    return latencies, runner


def own_process_sales(count: int) -> list[float]:
    """Seconds per sale with the terminal in a process of its own (``possim terminal --port
    pty``, an in-memory journal), as checkout software meets it: each side on its own
    interpreter, not taking turns at one GIL as ``run_sales``' thread does."""
    from benchlib import terminal_process

    latencies = []
    with terminal_process() as (_, terminal):
        for i in range(count):
            started = time.perf_counter()
            outcome = terminal.sale(1234, "EUR", client_transaction_id=f"P{i}")
            latencies.append(time.perf_counter() - started)
            assert outcome.approved
    return latencies


def floor(chunks: list[tuple[str, bytes]], reps: int) -> list[float]:
    """The same chunks over a bare pty pair: each side writes its chunk when the previous
    chunk has fully arrived. No framing, no parsing, no state machine, no journal."""
    master, slave = os.openpty()
    tty.setraw(slave)
    host = serial.Serial(os.ttyname(slave), timeout=5)

    def terminal_side() -> None:
        for _ in range(reps):
            for side, data in chunks:
                if side == "host":
                    got = 0
                    while got < len(data):
                        got += len(os.read(master, len(data) - got))
                else:
                    os.write(master, data)

    thread = threading.Thread(target=terminal_side, daemon=True)
    thread.start()
    times = []
    for _ in range(reps):
        started = time.perf_counter()
        for side, data in chunks:
            if side == "host":
                host.write(data)
            else:
                got = host.read(len(data))
                assert len(got) == len(data)
        times.append(time.perf_counter() - started)
    thread.join()
    host.close()
    os.close(master)
    os.close(slave)
    return times


def ms(values: list[float]) -> str:
    return f"{statistics.mean(values) * 1000:.3f} ms mean, {statistics.median(values) * 1000:.3f} ms median"


def per_process(count: int) -> tuple[list[float], list[float]]:
    """Seconds of ``possim info`` and of ``possim sale``, each from a new process, alternated
    so that both see the same machine."""
    import subprocess

    from driver.testing import spawn_terminal

    root = Path(__file__).resolve().parent.parent
    terminal, port = spawn_terminal("--port", "pty", stderr=subprocess.DEVNULL)
    times: dict[str, list[float]] = {"info": [], "sale": []}
    commands = {"info": ["info"], "sale": ["sale", "--amount", "12.34"]}
    try:
        for i in range(count + 1):
            for name in ("sale", "info") if i % 2 else ("info", "sale"):
                started = time.perf_counter()
                done = subprocess.run(
                    [sys.executable, "-m", "driver.cli", *commands[name], "--port", port],
                    capture_output=True,
                    cwd=root,
                )
                if i:  # the first round warms the file cache
                    times[name].append(time.perf_counter() - started)
                assert done.returncode == 0, done.stderr
    finally:
        terminal.kill()
        terminal.wait()
    return times["info"], times["sale"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sales", type=int, default=300)
    parser.add_argument("--processes", type=int, default=20, help="commands of each kind")
    parser.add_argument(
        "--durable-only",
        type=int,
        metavar="N",
        help="only run N sales on a durable journal (to count fsyncs under strace)",
    )
    args = parser.parse_args()
    if args.durable_only is not None:
        with tempfile.TemporaryDirectory() as directory:
            run_sales(
                TerminalConfig(port="pty", journal=str(Path(directory) / "j.sqlite")),
                args.durable_only,
            )
        return 0
    print(
        f"python {platform.python_version()}, {platform.machine()}, {os.cpu_count()} cores; "
        f"{args.sales} sales each, default card, online PIN, automatic cardholder"
    )

    record = Recorder()
    run_sales(TerminalConfig(port="pty"), 1, record)
    chunks = list(record.chunks)
    host_bytes = sum(len(d) for s, d in chunks if s == "host")
    terminal_bytes = sum(len(d) for s, d in chunks if s == "terminal")
    print(
        f"one sale on the wire: {len(chunks)} writes, {host_bytes} bytes host->terminal, "
        f"{terminal_bytes} bytes terminal->host"
    )

    memory, _ = run_sales(TerminalConfig(port="pty"), args.sales)
    bare = floor(chunks, args.sales)
    print(f"\nin-memory journal: {len(memory) / sum(memory):,.0f} sales/s; {ms(memory)}")
    print(f"raw pty floor, same bytes: {len(bare) / sum(bare):,.0f} round trips/s; {ms(bare)}")
    print(
        f"protocol + state machine + EMV + crypto cost above the floor: "
        f"{(statistics.mean(memory) - statistics.mean(bare)) * 1000:.3f} ms per sale (mean)"
    )
    own = own_process_sales(args.sales)
    print(
        f"the terminal in its own process: {len(own) / sum(own):,.0f} sales/s; {ms(own)}; "
        f"{(statistics.mean(own) - statistics.mean(bare)) * 1000:.3f} ms per sale above the floor"
    )

    with tempfile.TemporaryDirectory() as directory:
        os.environ["POSSIM_PAIRINGS"] = str(Path(directory) / "pairings.json")
        config = TerminalConfig(port="pty", require_pairing=True)
        paired, _ = run_sales(config, args.sales, paired=True)
    print(
        f"paired link (a MAC on every frame): {len(paired) / sum(paired):,.0f} sales/s; "
        f"{ms(paired)}; {(statistics.mean(paired) - statistics.mean(memory)) * 1000:+.3f} ms "
        f"per sale over the unpaired link (mean)"
    )

    with tempfile.TemporaryDirectory() as directory:
        journal = str(Path(directory) / "journal.sqlite")
        durable, runner = run_sales(TerminalConfig(port="pty", journal=journal), args.sales)
        commits = runner._journal.commits / args.sales
    print(
        f"\ndurable journal (WAL, synchronous=FULL): {len(durable) / sum(durable):,.0f} sales/s; "
        f"{ms(durable)}; {commits:.2f} commits (WAL fsyncs) per sale"
    )

    paced_count = max(20, args.sales // 10)
    paced, _ = run_sales(TerminalConfig(port="pty", baud=115200, pace=True), paced_count)
    bound_terminal = terminal_bytes * 10 / 115200
    bound_both = (terminal_bytes + host_bytes) * 10 / 115200
    print(f"\npaced at 115200 baud (terminal writes paced, 10 bits a byte): {ms(paced)}")
    print(
        f"wire-time bound of the terminal's {terminal_bytes} bytes: {bound_terminal * 1000:.3f} ms; "
        f"of both directions ({terminal_bytes + host_bytes} bytes): {bound_both * 1000:.3f} ms"
    )
    print(
        f"latency over the terminal-direction bound: "
        f"{(statistics.mean(paced) / bound_terminal - 1) * 100:+.1f} %"
    )

    if not args.processes:
        return 0
    info, sale = per_process(args.processes)
    print(f"\na new process per command, {args.processes} of each, back to back:")
    print(f"possim info: {ms(info)}")
    print(f"possim sale: {ms(sale)}")
    print(f"sale / info: {statistics.mean(sale) / statistics.mean(info):.2f}x (mean)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
