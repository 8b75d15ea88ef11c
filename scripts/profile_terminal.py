"""Where a `possim terminal` process spends a sale: py-spy samples of the terminal (and of the
host, while it holds the interpreter) during back-to-back sales, grouped by what they were
doing. The figures behind docs/benchmarks.md's "Third pass".

    python scripts/profile_terminal.py [--sales 20000] [--rate 250]

Needs py-spy (``pip install py-spy``) on PATH or beside this interpreter, and the permission
to attach to a child process (root, or ptrace_scope 0).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchlib import terminal_process  # noqa: E402

# (what a sample was doing, a frame that shows it), the first match wins; inside the core the
# innermost frame of ours decides (KERNEL_PARTS)
OUTSIDE_THE_CORE = [
    ("link: sending the answers (encode, frame)", "FrameSender.send ("),
    ("link: receiving (request, ACKs)", "Link.receive_data ("),
    ("link: receiving (request, ACKs)", "Link.tick ("),
]
CORE = ("drain_addressed", "HostCommands", "handle_message")
KERNEL_PARTS = [
    ("crypto (keys/, cryptography)", ("keys/", "cryptography/", "<frozen abc>")),
    ("journal", ("journal",)),
    ("issuer", ("issuer/",)),
    ("receipts", ("receipts",)),
    ("virtual card", ("cards.py", "card_security")),
    ("BER-TLV", ("tlv.py",)),
    ("APDUs", ("apdu.py",)),
    ("messages built", ("messages.py", "codec.py", "fields.py")),
]
HOST_PARTS = [
    ("frames scanned and checked", ("protocols/frame.py", "protocols/crc.py")),
    ("answers decoded", ("protocols/codec.py", "protocols/fields.py", "protocols/messages.py")),
    ("the link", ("protocols/link",)),
    ("the driver", ("driver/",)),
]


def terminal_area(frames: list[str]) -> str:
    joined = ";".join(frames)
    for label, marker in OUTSIDE_THE_CORE:
        if marker in joined:
            return label
    if not any(marker in joined for marker in CORE):
        if "PtyPort.read" in joined or "PtyPort.write" in joined:
            return "port: select, read, write"
        return "runner loop and the rest"
    leaf = frames[-1]
    for label, markers in KERNEL_PARTS:
        if any(marker in leaf for marker in markers):
            return f"core: {label}"
    if "sqlite" in leaf:
        return "core: journal"
    return "core: kernel, application, state machine"


def host_area(frames: list[str]) -> str:
    for frame in reversed(frames):
        for label, markers in HOST_PARTS:
            if any(marker in frame for marker in markers):
                return label
    return "other"


def shares(raw: Path, keep: str, area: Callable[[list[str]], str]) -> tuple[Counter[str], int]:
    """Samples of ``raw`` (py-spy's collapsed stacks) whose stack holds ``keep``, by area."""
    counts: Counter[str] = Counter()
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, n = line.rpartition(" ")
        if not re.search(keep, stack):
            continue
        total += int(n)
        counts[area(stack.split(";"))] += int(n)
    return counts, total


def py_spy() -> str:
    found = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    if not Path(found).exists():
        raise SystemExit("profile_terminal: py-spy is not installed (pip install py-spy)")
    return found


def record(pid: int, out: Path, rate: int, *extra: str) -> subprocess.Popen[bytes]:
    command = [py_spy(), "record", "-r", str(rate), "-f", "raw", "-o", str(out), *extra]
    return subprocess.Popen(
        [*command, "--pid", str(pid)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sales", type=int, default=20000)
    parser.add_argument("--rate", type=int, default=250, help="samples a second")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        terminal_raw, host_raw = Path(directory, "terminal.txt"), Path(directory, "host.txt")
        with terminal_process() as (process, terminal):
            spies = [
                record(process.pid, terminal_raw, args.rate),
                record(os.getpid(), host_raw, args.rate, "--gil"),
            ]
            try:
                time.sleep(1.5)  # py-spy attached
                started = time.perf_counter()
                for i in range(args.sales):
                    terminal.sale(1234, "EUR", client_transaction_id=f"S{i}")
                wall = time.perf_counter() - started
            finally:
                for spy in spies:
                    spy.send_signal(signal.SIGINT)
                    spy.wait()
        print(
            f"{args.sales} sales, {wall / args.sales * 1000:.3f} ms a sale under the profiler "
            f"({args.rate} samples a second on each side)"
        )
        counts, total = shares(terminal_raw, r"serve \(", terminal_area)
        print(f"\nthe terminal's samples ({total}), by what they were doing:")
        for label, n in counts.most_common():
            print(f"{n / total:6.1%}  {label}")
        counts, total = shares(host_raw, r"sale \(", host_area)
        held = total / args.rate / args.sales * 1000
        print(f"\nthe host's samples holding the interpreter ({total}: {held:.3f} ms a sale):")
        for label, n in counts.most_common():
            print(f"{n / total:6.1%}  {label}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
