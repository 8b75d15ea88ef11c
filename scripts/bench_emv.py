"""What offline data authentication costs: the RSA operations one by one, a card's
personalisation, and a whole sale in the terminal core (in memory, automatic cardholder,
built-in authorizer) with a card that has no ODA and with SDA, DDA and CDA cards.

    python scripts/bench_emv.py [--sales 300]
"""

from __future__ import annotations

import argparse
import functools
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from firmware_sim.card_personalisation import personalise_card  # noqa: E402
from firmware_sim.cardholder import AutoCardholder, drain  # noqa: E402
from firmware_sim.catalogue import CATALOGUE  # noqa: E402
from firmware_sim.testing import make_core, shipped_store  # noqa: E402
from keys.rsa import generate_rsa_key  # noqa: E402
from protocols.messages import SaleRequest  # noqa: E402


def per_call(action: Callable[[], object], repeat: int) -> float:
    """Milliseconds per call, the best of three rounds."""
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        for _ in range(repeat):
            action()
        best = min(best, (time.perf_counter() - start) / repeat)
    return best * 1e3


def _sale_loop(card: str) -> Callable[[], None]:
    """One sale after another with ``card``, in a core of its own."""
    core, cardholder, count = make_core(), AutoCardholder(card), [0]

    def sale() -> None:
        count[0] += 1
        core.handle_message(SaleRequest(f"T{count[0]}", 1234, "EUR"), 0.0)
        drain(core, cardholder, 0.0)

    return sale


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sales", type=int, default=300)
    args = parser.parse_args()
    print("RSA (exponent 3), ms a call:")
    for bits in (1024, 1152, 1408):
        key = generate_rsa_key(f"bench {bits}".encode(), bits)
        block = b"\x6a" + bytes(key.public.size - 2) + b"\xbc"
        signature = key.sign(block)
        recover = per_call(functools.partial(key.public.recover, signature), 2000)
        sign = per_call(functools.partial(key.sign, block), 200)
        print(f"  {bits} bits: recover (the terminal) {recover:.4f}, sign (CRT) {sign:.3f}")
    store = shipped_store()
    print("personalising a card (certificates signed), ms:")
    for name in ("sda", "dda", "cda"):
        ms = per_call(functools.partial(personalise_card, CATALOGUE[name], store), 20)
        print(f"  {name}: {ms:.2f}")
    print(f"a sale in the terminal core, ms ({args.sales} sales, the best of three rounds):")
    for name in ("default", "offline-pin", "sda", "dda", "cda"):
        sale = _sale_loop(name)
        sale()  # the card is personalised at its first use
        print(f"  {name:12} {per_call(sale, args.sales):.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
