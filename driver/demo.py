"""``possim demo``: a terminal on a pty in the background, then a sale, a refund of part of
it and a PIN block through the driver, with the prompts and the receipts printed."""

from __future__ import annotations

import json
import sys

from .results import TransactionOutcome
from .terminal import Terminal
from .testing import simulated_terminal

__all__ = ["run_demo"]


def _show(title: str, outcome: TransactionOutcome) -> None:
    print(f"\n== {title}: {outcome.status.name} (response code {outcome.response_code})")
    width = max(len(line) for line in outcome.receipt) if outcome.receipt else 0
    print("+" + "-" * (width + 2) + "+")
    for line in outcome.receipt:
        print(f"| {line.ljust(width)} |")
    print("+" + "-" * (width + 2) + "+")


def run_demo(as_json: bool = False) -> int:
    with simulated_terminal() as port:
        prompts: list[str] = []
        with Terminal(port, on_prompt=lambda p: prompts.append(p.text)) as terminal:
            if not as_json:
                print(f"terminal on {port}: {terminal.info().serial_number}")
            sale = terminal.sale("12.34", "EUR")
            sale_prompts, prompts[:] = list(prompts), []
            refund = terminal.refund("5.00", "EUR", sale.reference)
            pin_block = terminal.pin_block("4012345678909", 0)
    if as_json:
        print(
            json.dumps(
                {
                    "sale": sale.to_json(),
                    "refund": refund.to_json(),
                    "pin_block": pin_block.to_json(),
                },
                ensure_ascii=False,
            )
        )
        return 0
    print("prompts during the sale: " + " | ".join(sale_prompts))
    _show("sale of EUR 12.34", sale)
    _show(f"refund of EUR 5.00 against reference {sale.reference}", refund)
    data = pin_block.to_json()
    print(
        f"\n== PIN block (ISO 9564 format 0 under TDES DUKPT): {data['pin_block']}"
        f"  KSN {data['ksn']}"
    )
    return 0 if sale.approved and refund.approved else 1


if __name__ == "__main__":
    sys.exit(run_demo())
