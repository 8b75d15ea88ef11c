"""The link layer alone, in memory: a request and an answer (each data frame and its ACK)
through two sans-IO links, plain and paired (a MAC on every frame), and one MAC seal and
check. What authenticated frames cost, without the pty's noise.

    python scripts/bench_link.py [--exchanges 5000]
"""

from __future__ import annotations

import argparse
import sys
import time
import timeit
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from keys.link_keys import SessionMacs  # noqa: E402
from protocols.exchanges import LinkPair  # noqa: E402
from protocols.messages import InfoRequest, SaleRequest  # noqa: E402
from tests.pairing import paired_links  # noqa: E402


def per_exchange(make: Callable[[], LinkPair], count: int) -> float:
    """Microseconds for one request host->terminal and one message back, with their ACKs."""
    pair = make()
    pair.send("host", InfoRequest(request_id=1))
    pair.run()
    started = time.perf_counter()
    for i in range(count):
        request_id = i % 60000 + 2
        pair.send("host", SaleRequest(f"S{i}", 1234, "EUR", request_id=request_id))
        pair.send("terminal", InfoRequest(request_id=request_id))
        pair.run()
        pair.events = {"host": [], "terminal": []}
        pair.log.clear()
    return (time.perf_counter() - started) / count * 1e6


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--exchanges", type=int, default=5000)
    args = parser.parse_args()
    macs = SessionMacs(bytes(32), b"HOST", b"TERM")
    frame = bytes(100)
    runs = timeit.repeat(lambda: macs.check("host", frame, macs.seal("host", frame)), number=20000)
    print(f"one MAC sealed and checked (100-byte frame): {min(runs) / 20000 * 1e6:.2f} us")
    plain = [per_exchange(LinkPair, args.exchanges) for _ in range(3)]
    paired = [per_exchange(paired_links, args.exchanges) for _ in range(3)]
    print(f"plain link, a request and an answer with their ACKs: {min(plain):.1f} us (best of 3)")
    print(f"paired link, the same: {min(paired):.1f} us (best of 3)")
    print(f"authentication costs {min(paired) - min(plain):.1f} us per exchange of two frames")
    return 0


if __name__ == "__main__":
    sys.exit(main())
