"""``possim host --listen HOST:PORT [--ledger FILE]``: prints ``tcp://HOST:PORT`` as its first
line (the address terminals are started with), then serves until interrupted."""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys

from .server import AcquirerHost, parse_listen

__all__ = ["add_host_arguments", "run_host"]


def add_host_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--listen", required=True, help="HOST:PORT to listen on (port 0: any free port)"
    )
    parser.add_argument(
        "--ledger",
        default=":memory:",
        help="the ledger's SQLite file (default: in memory, gone at exit)",
    )
    parser.add_argument(
        "--delay",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="hold each answer back this long after it is committed (a slow host, for tests)",
    )


def run_host(args: argparse.Namespace) -> int:
    try:
        host, port = parse_listen(args.listen)
    except ValueError as e:
        print(f"possim: {e}", file=sys.stderr)
        return 2
    if args.delay < 0:
        print("possim: --delay is seconds, 0 or more", file=sys.stderr)
        return 2
    acquirer = AcquirerHost(args.ledger, delay=args.delay)

    def ready(bound_host: str, bound_port: int) -> None:
        print(f"tcp://{bound_host}:{bound_port}", flush=True)
        ledger = "in memory" if args.ledger == ":memory:" else args.ledger
        print(
            f"possim host: ISO 8583 on {bound_host}:{bound_port}, ledger {ledger}", file=sys.stderr
        )

    async def main() -> None:
        loop = asyncio.get_running_loop()
        stop = asyncio.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        serving = loop.create_task(acquirer.serve(host, port, ready))
        stopped = loop.create_task(stop.wait())
        done, _ = await asyncio.wait({serving, stopped}, return_when=asyncio.FIRST_COMPLETED)
        serving.cancel()
        if serving in done and serving.exception() is not None:
            raise serving.exception()  # type: ignore[misc]

    try:
        asyncio.run(main())
    except OSError as e:
        print(f"possim: cannot listen on {args.listen}: {e.strerror or e}", file=sys.stderr)
        return 3
    finally:
        counters, commits = acquirer.counters, acquirer.commits
        acquirer.close()
    print(f"possim host: {vars(counters)}, commits {commits}", file=sys.stderr)
    return 0
