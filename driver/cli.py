"""The ``possim`` command line of design.md.

Commands whose parts are not built yet say so on one line of stderr and exit 2.

>>> main(["--version"])
possim 0.1.0
0
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

__all__ = ["main", "VERSION"]

VERSION = "0.1.0"

# command -> the issue that builds it
_PENDING = {
    "sale": "driver/",
    "refund": "driver/",
    "pin-block": "driver/",
    "last": "driver/",
    "info": "driver/",
    "cancel": "driver/",
    "card": "real card readers",
    "trace": "for students",
    "demo": "driver/",
}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="possim", description="A payment-terminal simulator and its host driver."
    )
    parser.add_argument("--version", action="store_true", help="print the version and exit")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    from firmware_sim.cli import add_terminal_arguments

    terminal = sub.add_parser("terminal", help="run a simulated terminal; prints its port first")
    add_terminal_arguments(terminal)
    sub.add_parser("cards", help="the test card catalogue")
    for name, issue in _PENDING.items():
        sub.add_parser(name, help=f"(not built yet: the {issue} issue)", add_help=False)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args, _rest = _parser().parse_known_args(argv)
    if args.version:
        print(f"possim {VERSION}")
        return 0
    if args.command == "terminal":
        from firmware_sim.cli import run_terminal

        if _rest:
            print(f"possim: unknown arguments {' '.join(_rest)}", file=sys.stderr)
            return 2
        return run_terminal(args)
    if args.command == "cards":
        from firmware_sim.cli import print_cards

        return print_cards()
    if args.command is None:
        _parser().print_help(sys.stderr)
        return 2
    print(
        f"possim: '{args.command}' is not built yet (the {_PENDING[args.command]} issue)",
        file=sys.stderr,
    )
    return 2


if __name__ == "__main__":
    sys.exit(main())
