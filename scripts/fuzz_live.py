"""Live wire fuzz: a running terminal process, fed what broken and hostile hosts write, over a
pty and over TCP; between rounds the process must be alive and a well-behaved host's sale
approved. The short version runs in the suite (tests/test_sessions.py).

    python scripts/fuzz_live.py --seconds 120

Each round writes :func:`driver.faults.hostile_bursts` (random bytes, cut and mangled frames,
oversized frames, frames of no session, hundreds of unfinished LINK_RESETs, another protocol
version), plus a flood of valid requests whose answers are never acknowledged, then a sale
from a new host. Figures: rounds, bytes written, approvals, and the process's fate.
"""

from __future__ import annotations

import argparse
import random
import socket
import subprocess
import sys
import time
from pathlib import Path

import serial

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from driver import Terminal  # noqa: E402
from driver.faults import hostile_bursts  # noqa: E402
from driver.testing import spawn_terminal  # noqa: E402
from protocols.codes import MessageType  # noqa: E402
from protocols.link import Link  # noqa: E402
from protocols.messages import InfoRequest  # noqa: E402


def flood(write: object, read: object, count: int) -> int:
    """A session, then ``count`` requests whose answers are never acknowledged."""
    host = Link()
    host.send(InfoRequest(request_id=1), 0.0)
    deadline = time.monotonic() + 5
    while not host.ready and time.monotonic() < deadline:
        write(host.data_to_send())  # type: ignore[operator]
        host.receive_data(read(), time.monotonic())  # type: ignore[operator]
        host.tick(time.monotonic())
        time.sleep(0.005)
    written = 0
    for i in range(count if host.ready else 0):
        frame = host.raw_frame(MessageType.INFO_REQUEST, (i % 0xFFFF + 2).to_bytes(2, "big"))
        write(frame)  # type: ignore[operator]
        written += len(frame)
    return written


def run(kind: str, seconds: float, seed: int) -> str:
    process, port = spawn_terminal(
        "--port", "pty" if kind == "pty" else "listen://127.0.0.1:0", stderr=subprocess.DEVNULL
    )
    rng = random.Random(seed)
    rounds = written = approved = 0
    ended = time.monotonic() + seconds
    try:
        while time.monotonic() < ended and process.poll() is None:
            if kind == "pty":
                line = serial.serial_for_url(port, timeout=0)
                write, read = line.write, lambda: line.read(65536)
            else:
                host, number = port[len("socket://") :].rsplit(":", 1)
                line = socket.create_connection((host, int(number)))
                line.setblocking(False)

                def read() -> bytes:
                    try:
                        return line.recv(65536)  # type: ignore[union-attr]
                    except BlockingIOError:
                        return b""

                write = line.sendall
            try:
                for burst in hostile_bursts(rng):
                    write(burst)
                    written += len(burst)
                    read()
                written += flood(write, read, rng.randint(10, 300))
            except OSError:
                pass  # the terminal closed a hostile connection: allowed
            line.close()
            rounds += 1
            if process.poll() is not None:
                break
            with Terminal(port, timeout=30) as terminal:
                if terminal.sale("1.00", "EUR").approved:
                    approved += 1
    finally:
        alive = process.poll() is None
        process.kill()
        process.wait()
    return (
        f"{kind}: {rounds} rounds, {written:,} bytes written, {approved} sales approved "
        f"after them, terminal {'alive' if alive else 'DEAD'}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="per transport")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    failed = False
    for kind in ("pty", "tcp"):
        line = run(kind, args.seconds, args.seed)
        print(line, flush=True)
        failed = failed or "DEAD" in line
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
