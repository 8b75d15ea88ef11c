"""``possim pair``: pair this host with a terminal (type the code it shows), list the
terminal's pairings, or revoke one.

    possim pair --port socket://127.0.0.1:4000   asks for the code the terminal then shows
    possim pair --port P --list [--json]
    possim pair --port P --revoke PAIRING_ID
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime, timezone

from .pairing_commands import default_host_name
from .terminal import Terminal

__all__ = ["add_pair_arguments", "run_pair"]


def add_pair_arguments(parser: argparse.ArgumentParser) -> None:
    action = parser.add_mutually_exclusive_group()
    action.add_argument("--list", action="store_true", help="list the terminal's pairings")
    action.add_argument("--revoke", metavar="PAIRING_ID", help="revoke a pairing (hex id)")
    parser.add_argument(
        "--name", default=default_host_name(), help="this host's name, as the terminal lists it"
    )


def _typed_code() -> str:
    """The code the terminal shows, typed once it shows it (a line on stdin for scripts)."""
    if not sys.stdin.isatty():
        return sys.stdin.readline().strip()
    return input("the code the terminal shows: ")


def _when(created: int) -> str:
    return datetime.fromtimestamp(created, timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def run_pair(args: argparse.Namespace, terminal: Terminal) -> int:
    if args.list or args.revoke:
        entries = terminal.revoke_pairing(args.revoke) if args.revoke else terminal.pairings()
        rows = [
            {
                "pairing_id": e.pairing_id.hex(),
                "host_name": e.host_name,
                "created": _when(e.created),
            }
            for e in entries
        ]
        if args.json:
            print(json.dumps({"pairings": rows}))
        else:
            if args.revoke:
                print(f"revoked {args.revoke}")
            for row in rows:
                print(f"{row['pairing_id']}  {row['created']}  {row['host_name']}")
            if not rows:
                print("no pairings")
        return 0
    print("pairing: the terminal shows a six-digit code", file=sys.stderr, flush=True)
    record = terminal.pair(_typed_code, args.name)
    data = {"paired": True, "pairing_id": record.pairing_id, "terminal": record.name}
    text = (
        f"paired with {record.name} (pairing {record.pairing_id}); kept in {terminal.pairing_file}"
    )
    print(json.dumps(data) if args.json else text)
    return 0
