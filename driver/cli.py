"""The ``possim`` command line of design.md.

Exit status (:data:`EXIT_STATUSES`, also in ``possim --help``): 0 when a payment command ran
to an outcome (approved or declined) or another command succeeded; anything else prints one
line on stderr that says what to do. Prompts go to stderr while a command runs; results to
stdout (``--json`` for machines).

>>> main(["--version"])
possim 0.1.0
0
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

from firmware_sim.layout import table
from protocols.codes import TransactionStatus
from protocols.errors import ErrorCode
from protocols.link import LinkSettings
from protocols.messages import Prompt

from .errors import (
    InputRejected,
    LineLost,
    PortBusy,
    PortNotFound,
    ProtocolViolation,
    TerminalError,
    TerminalTimeout,
)
from .results import TransactionOutcome
from .terminal import Terminal, to_minor_units

__all__ = ["main", "VERSION", "EXIT_CODES", "EXIT_STATUSES"]

VERSION = "0.1.0"
# kind: (status, what it means); the help's epilog is made from this table
EXIT_STATUSES = {
    "ok": (0, "the command ran to an outcome (approved or declined) or succeeded"),
    "not_completed": (1, "the transaction was cancelled or failed"),
    "rejected": (2, "rejected input: usage, amount, card, reference, or the terminal's refusal"),
    "no_terminal": (3, "no terminal answered: nothing there, the line was lost, or a timeout"),
    "protocol": (4, "the terminal broke the protocol, or speaks another version"),
    "port_not_found": (5, "no such port"),
    "port_busy": (6, "the port is busy: another program has it"),
    "journal": (7, "the terminal's journal cannot be written"),
}
EXIT_CODES = {kind: status for kind, (status, _) in EXIT_STATUSES.items()}


class _Parser(argparse.ArgumentParser):
    """Usage errors in one line on stderr, exit status 2 (rejected input)."""

    def error(self, message: str) -> Any:
        print(f"possim: {message}", file=sys.stderr)
        raise SystemExit(EXIT_CODES["rejected"])


def _parser(argv: Sequence[str]) -> argparse.ArgumentParser:
    """The command line. The simulator (firmware_sim) is imported only for the commands that
    run it, so a checkout's ``possim sale`` starts in less time."""
    epilog = "exit status:\n" + "\n".join(
        f"  {status}  {meaning}" for status, meaning in EXIT_STATUSES.values()
    )
    parser = _Parser(
        prog="possim",
        description="A payment-terminal simulator and its host driver.",
        epilog=epilog,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="store_true", help="print the version and exit")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    terminal = sub.add_parser("terminal", help="run a simulated terminal; prints its port first")
    if next((a for a in argv if not a.startswith("-")), None) == "terminal":
        from firmware_sim.cli import add_terminal_arguments

        add_terminal_arguments(terminal)

    def client(name: str, help_text: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_text)
        p.add_argument("--port", required=True, help="the terminal's port: a path or pyserial URL")
        p.add_argument("--timeout", type=float, default=120.0, help="seconds to wait")
        p.add_argument(
            "--ack-timeout", type=float, help="seconds before a frame is sent again (default 1)"
        )
        p.add_argument("--link-retries", type=int, help="retransmissions before giving up (3)")
        if name != "cancel":
            p.add_argument("--json", action="store_true", help="print the result as JSON")
        return p

    sale = client("sale", "take a payment")
    sale.add_argument("--amount", required=True, help="in major units, e.g. 12.34")
    sale.add_argument("--currency", default="EUR")
    sale.add_argument("--id", dest="client_transaction_id", help="client transaction id")
    refund = client("refund", "refund (part of) a sale")
    refund.add_argument("--amount", required=True)
    refund.add_argument("--currency", default="EUR")
    refund.add_argument("--reference", required=True, help="the sale's reference")
    refund.add_argument("--id", dest="client_transaction_id")
    pin_block = client("pin-block", "have the cardholder enter a PIN; print the PIN block")
    pin_block.add_argument("--pan", required=True)
    pin_block.add_argument("--format", type=int, choices=(0, 4), default=0)
    client("last", "the last sale or refund")
    lookup = client("lookup", "the outcome of the sale or refund that --id started")
    lookup.add_argument("--id", dest="client_transaction_id", required=True)
    client("info", "who the terminal is")
    client("status", "what the terminal is doing: state, transaction, journal and link counters")
    client("cancel", "cancel the running command")
    client("settle", "close the batch: totals per currency")
    sub.add_parser("cards", help="the test card catalogue")
    card = sub.add_parser("card", help="serve a catalogue card to pcscd through vpcd")
    card.add_argument("--card", default="default")
    card.add_argument("--vpcd", default="127.0.0.1:35963", metavar="HOST:PORT")
    trace = sub.add_parser("trace", help="print a recorded trace, annotated")
    trace.add_argument("files", nargs="+", metavar="FILE", help="trace files (host and terminal)")
    trace.add_argument("--fields", action="store_true", help="every frame and APDU field by field")
    demo = sub.add_parser("demo", help="a terminal on a pty: sale, refund, PIN block, receipt")
    demo.add_argument("--json", action="store_true")
    return parser


def _fail(kind: str, text: str) -> int:
    print(f"possim: {text}", file=sys.stderr)
    return EXIT_CODES[kind]


def _prompt_to_stderr(prompt: Prompt) -> None:
    print(f"[terminal] {prompt.text}", file=sys.stderr, flush=True)


def _print_outcome(outcome: TransactionOutcome, as_json: bool) -> int:
    if as_json:
        print(json.dumps(outcome.to_json(), ensure_ascii=False))
    else:
        print(
            f"{outcome.status.name.lower()} {outcome.response_code} "
            f"{outcome.currency} {outcome.amount_text} reference {outcome.reference}"
            + (f" auth {outcome.auth_code}" if outcome.auth_code else "")
        )
        for line in outcome.receipt:
            print(f"  {line}")
    if outcome.status in (TransactionStatus.APPROVED, TransactionStatus.DECLINED):
        return 0
    print(f"possim: the transaction was {outcome.status.name.lower()}", file=sys.stderr)
    return EXIT_CODES["not_completed"]


def _link_settings(args: argparse.Namespace) -> LinkSettings | None:
    if args.ack_timeout is None and args.link_retries is None:
        return None
    settings = LinkSettings()
    if args.ack_timeout is not None:
        settings = replace(settings, ack_timeout=args.ack_timeout)
    if args.link_retries is not None:
        settings = replace(settings, max_retries=args.link_retries)
    return settings


def _with_terminal(args: argparse.Namespace, action: Callable[[Terminal], int]) -> int:
    try:
        with Terminal(
            args.port,
            timeout=args.timeout,
            on_prompt=_prompt_to_stderr,
            link_settings=_link_settings(args),
        ) as terminal:
            return action(terminal)
    except InputRejected as e:
        return _refused(e)
    except TerminalTimeout as e:
        return _fail("no_terminal", f"timeout: {e}; is the terminal running on {args.port}?")
    except PortNotFound as e:
        return _fail("port_not_found", str(e))
    except PortBusy as e:
        return _fail("port_busy", str(e))
    except LineLost as e:
        return _fail("no_terminal", f"no terminal: {e}")
    except ProtocolViolation as e:
        return _fail("protocol", f"protocol error: {e}")
    except TerminalError as e:  # pragma: no cover - every subclass is handled above
        return _fail("protocol", str(e))


_ADVICE: dict[object, str] = {
    ErrorCode.ORIGINAL_NOT_FOUND: "; check the reference with possim last or possim lookup",
    ErrorCode.UNKNOWN_TRANSACTION: "; the terminal never took a payment with that id",
    ErrorCode.BUSY: "; wait for the running command, or possim cancel it",
    ErrorCode.UNKNOWN_CARD: "; see possim cards",
}


def _refused(error: InputRejected) -> int:
    """One line for a refusal: its code's name, the reason, and what to do where we know."""
    name = getattr(error.code, "name", str(error.code))
    return _fail("rejected", f"rejected ({name}): {error}{_ADVICE.get(error.code, '')}")


def _json_or_text(args: argparse.Namespace, data: dict[str, Any], text: str) -> int:
    print(json.dumps(data, ensure_ascii=False) if args.json else text)
    return 0


def _print_trace(files: list[str], fields: bool) -> int:
    from protocols.trace import annotate, parse_line

    records = []
    for name in files:
        try:
            with open(name, encoding="utf-8") as trace:
                records += [parse_line(line) for line in trace if line.strip()]
        except (OSError, ValueError, TypeError) as e:
            return _fail("rejected", f"cannot read the trace {name}: {e}")
    print(f"{'seconds':>10}  {'  '.join(('host', 'terminal', 'card', 'authorizer'))}")
    for line in annotate(records, fields=fields):
        print(line)
    return 0


def _checked_input(args: argparse.Namespace) -> int | None:
    """Check what can be checked before the port is opened; the exit status if it fails."""
    try:
        if getattr(args, "amount", None) is not None:
            to_minor_units(args.amount, args.currency)
    except InputRejected as e:
        return _refused(e)
    return None


def _client_command(args: argparse.Namespace) -> int:
    command = args.command
    refused = _checked_input(args)
    if refused is not None:
        return refused
    if command == "sale":
        return _with_terminal(
            args,
            lambda t: _print_outcome(
                t.sale(
                    args.amount, args.currency, client_transaction_id=args.client_transaction_id
                ),
                args.json,
            ),
        )
    if command == "refund":
        return _with_terminal(
            args,
            lambda t: _print_outcome(
                t.refund(
                    args.amount,
                    args.currency,
                    args.reference,
                    client_transaction_id=args.client_transaction_id,
                ),
                args.json,
            ),
        )
    if command == "last":
        return _with_terminal(args, lambda t: _print_outcome(t.last(), args.json))
    if command == "lookup":
        return _with_terminal(
            args, lambda t: _print_outcome(t.lookup(args.client_transaction_id), args.json)
        )
    if command == "pin-block":

        def pin_block(t: Terminal) -> int:
            result = t.pin_block(args.pan, args.format)
            data = result.to_json()
            return _json_or_text(
                args,
                data,
                f"pin block {data['pin_block']} ksn {data['ksn']} format {data['format']}",
            )

        return _with_terminal(args, pin_block)
    if command == "info":

        def info(t: Terminal) -> int:
            data = t.info().to_json()
            return _json_or_text(
                args,
                data,
                f"{data['serial_number']} firmware "
                f"{data['firmware_version']} protocol "
                f"{data['protocol_version']}: "
                f"{', '.join(data['capabilities'])}",
            )

        return _with_terminal(args, info)
    if command == "status":

        def status(t: Terminal) -> int:
            data = t.status().to_json()
            running = data["transaction"]
            lines = [f"state {data['state']}"]
            if running:
                lines.append(
                    f"transaction {running['kind']} {running['currency']} {running['amount']}"
                    f" id {running['client_transaction_id']}"
                    + (f" reference {running['reference']}" if running["reference"] else "")
                )
            rows = [[name, str(value)] for name, value in data["counters"].items()]
            lines += table(["counter", "value"], rows)
            return _json_or_text(args, data, "\n".join(lines))

        return _with_terminal(args, status)
    if command == "settle":

        def settle(t: Terminal) -> int:
            data = t.settle().to_json()
            lines = [f"batch {data['batch_number']} closed"] + [
                f"  {x['currency']}: {x['sale_count']} sales {x['sale_total']},"
                f" {x['refund_count']} refunds {x['refund_total']}"
                for x in data["totals"]
            ]
            return _json_or_text(args, data, "\n".join(lines))

        return _with_terminal(args, settle)
    if command == "cancel":

        def cancel(t: Terminal) -> int:
            print(t.cancel().name.lower())
            return 0

        return _with_terminal(args, cancel)
    raise AssertionError(command)


def main(argv: Sequence[str] | None = None) -> int:
    try:
        return _main(argv)
    except BrokenPipeError:  # the reader went away (possim cards | head): not an error
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_CODES["ok"]


def _main(argv: Sequence[str] | None) -> int:
    parser = _parser(sys.argv[1:] if argv is None else argv)
    args, rest = parser.parse_known_args(argv)
    if args.version:
        print(f"possim {VERSION}")
        return 0
    if args.command is None:
        parser.print_help(sys.stderr)
        return EXIT_CODES["rejected"]
    if rest:
        return _fail("rejected", f"unknown arguments: {' '.join(rest)}")
    if args.command in ("terminal", "card", "cards"):
        from firmware_sim.cli import StartFailure, print_cards, run_terminal, serve_card

        try:
            if args.command == "terminal":
                return run_terminal(args)
            if args.command == "card":
                return serve_card(args.card, args.vpcd)
            return print_cards()
        except StartFailure as e:
            return _fail(e.kind, str(e))
    if args.command == "trace":
        return _print_trace(args.files, args.fields)
    if args.command == "demo":
        from .demo import run_demo

        return run_demo(as_json=args.json)
    return _client_command(args)


if __name__ == "__main__":
    sys.exit(main())
