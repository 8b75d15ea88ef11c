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
from protocols.messages import MerchantLogin, Prompt, SetPassword

from .errors import (
    InputRejected,
    LineLost,
    NotPaired,
    PortBusy,
    PortNotFound,
    ProtocolViolation,
    TerminalError,
    TerminalTimeout,
)
from .pair_cli import add_pair_arguments, run_pair
from .payments import _make, _outcome
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

    host = sub.add_parser("host", help="run an ISO 8583 acquirer host; prints its address first")
    if next((a for a in argv if not a.startswith("-")), None) == "host":
        from firmware_sim.host.cli import add_host_arguments

        add_host_arguments(host)

    fleet = sub.add_parser(
        "fleet", help="N simulated terminals paying through an acquirer host, under Locust"
    )
    if next((a for a in argv if not a.startswith("-")), None) == "fleet":
        from firmware_sim.fleet.cli import add_fleet_arguments

        add_fleet_arguments(fleet)

    def client(name: str, help_text: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_text)
        p.add_argument(
            "--port",
            required=name != "last",
            help="the terminal's port: a path or pyserial URL",
        )
        p.add_argument("--timeout", type=float, default=120.0, help="seconds to wait")
        p.add_argument(
            "--ack-timeout", type=float, help="seconds before a frame is sent again (default 1)"
        )
        p.add_argument("--link-retries", type=int, help="retransmissions before giving up (3)")
        p.add_argument(
            "--password",
            default=os.environ.get("POSSIM_MERCHANT_PASSWORD"),
            help="the merchant password, for refund, void, tip and settle once one is set"
            " (default: $POSSIM_MERCHANT_PASSWORD)",
        )
        p.add_argument(
            "--pairings",
            metavar="FILE",
            help="this host's pairing file (default: $POSSIM_PAIRINGS, else"
            " ~/.config/possim/pairings.json); a pairing for --port authenticates every frame",
        )
        if name != "cancel":
            p.add_argument("--json", action="store_true", help="print the result as JSON")
        return p

    def payment(name: str, help_text: str, *, amount: bool = True) -> argparse.ArgumentParser:
        p = client(name, help_text)
        if amount:
            p.add_argument("--amount", required=True, help="in major units, e.g. 12.34")
        p.add_argument("--currency", default="EUR")
        p.add_argument("--id", dest="client_transaction_id", help="client transaction id")
        return p

    sale = payment("sale", "take a payment")
    sale.add_argument(
        "--tip-prompt", metavar="P,P,...", help="the cardholder picks a tip: up to 4 percentages"
    )
    sale.add_argument("--allow-partial", action="store_true", help="accept a partial approval")
    refund = payment("refund", "refund (part of) a sale or completion")
    refund.add_argument("--reference", required=True, help="the sale's reference")
    preauth = payment("preauth", "pre-authorize (hold) an amount on the card")
    preauth.add_argument("--allow-partial", action="store_true", help="accept a partial approval")
    for name, help_text, takes_amount in (
        ("increment", "raise an open pre-authorization", True),
        ("complete", "capture a pre-authorization (once), with an optional tip", True),
        ("release", "give up a pre-authorization", False),
        ("void", "undo a sale, refund or completion before settlement", False),
        ("tip", "set the tip of a sale or completion before settlement", False),
    ):
        follow_up = payment(name, help_text, amount=takes_amount)
        follow_up.add_argument("--reference", required=True, help="the original's reference")
        if name in ("complete", "tip"):
            follow_up.add_argument("--tip", required=name == "tip", default="0", help="e.g. 2.00")
    pin_block = client("pin-block", "have the cardholder enter a PIN; print the PIN block")
    pin_block.add_argument("--pan", required=True)
    pin_block.add_argument("--format", type=int, choices=(0, 4), default=0)
    password = client("password", "set the merchant password (asked for when not given)")
    password.add_argument("--new", help="the new password, 6 to 32 printable ASCII")
    password.add_argument("--current", default="", help="the password set now, if any")
    pair = client("pair", "pair this host with the terminal (type the code it shows)")
    add_pair_arguments(pair)
    last = client("last", "the last transaction")
    last.add_argument(
        "--journal",
        metavar="FILE",
        help="read the terminal's journal instead of asking it (a ZVT terminal's, or one that"
        " is not running): one of --port and --journal",
    )
    lookup = client("lookup", "the outcome of the transaction that --id started")
    lookup.add_argument("--id", dest="client_transaction_id", required=True)
    client("info", "who the terminal is")
    client("status", "what the terminal is doing: state, transaction, journal and link counters")
    client("cancel", "cancel the running command")
    client("settle", "close the batch: totals per currency and kind")
    sub.add_parser("cards", help="the test card catalogue")
    card = sub.add_parser("card", help="serve a catalogue card to pcscd through vpcd")
    card.add_argument("--card", default="default")
    card.add_argument("--vpcd", default="127.0.0.1:35963", metavar="HOST:PORT")
    oda = sub.add_parser("oda", help="check a card's offline data authentication (SDA, DDA, CDA)")
    if next((a for a in argv if not a.startswith("-")), None) == "oda":
        from firmware_sim.emv_cli import add_oda_arguments

        add_oda_arguments(oda)
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
        data = outcome.to_json()
        print(
            f"{outcome.status.name.lower()} {outcome.response_code} "
            f"{outcome.currency} {outcome.amount_text} reference {outcome.reference}"
            + (f" auth {outcome.auth_code}" if outcome.auth_code else "")
            + (f" partial: {data['approved_amount']} approved" if outcome.partial else "")
            + (f" tip {data['tip_amount']}" if outcome.tip_amount else "")
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


def _last_from_journal(path: str, as_json: bool) -> int:
    """``possim last --journal FILE``: the journal's last transaction, as the terminal would
    report it, read from the file (SQLite's WAL lets it be read while the terminal runs)."""
    from pathlib import Path

    from firmware_sim.application.records import outcome_messages
    from firmware_sim.journal import Journal

    if not Path(path).is_file():
        return _fail("rejected", f"no journal {path}")
    journal = Journal(path)
    try:
        entry = journal.last()
    finally:
        journal.close()
    if entry is None:
        return _fail("rejected", f"the journal {path} holds no transaction")
    messages = outcome_messages(entry)
    return _print_outcome(_outcome(messages, entry.client_transaction_id), as_json)


def _with_terminal(args: argparse.Namespace, action: Callable[[Terminal], int]) -> int:
    try:
        with Terminal(
            args.port,
            timeout=args.timeout,
            on_prompt=_prompt_to_stderr,
            link_settings=_link_settings(args),
            password=args.password,
            pairings=args.pairings,
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
    except NotPaired as e:
        return _fail("rejected", f"not paired: {e}")
    except LineLost as e:
        return _fail("no_terminal", f"no terminal: {e}")
    except ProtocolViolation as e:
        return _fail("protocol", f"protocol error: {e}")
    except TerminalError as e:  # pragma: no cover - every subclass is handled above
        return _fail("protocol", str(e))


_ADVICE: dict[object, str] = {
    ErrorCode.ORIGINAL_NOT_FOUND: "; check the reference with possim last or possim lookup",
    ErrorCode.ALREADY_SETTLED: "; after settlement, refund it instead",
    ErrorCode.EXCEEDS_AUTHORIZATION: "; possim increment the pre-authorization first",
    ErrorCode.UNKNOWN_TRANSACTION: "; the terminal never took a payment with that id",
    ErrorCode.BUSY: "; wait for the running command, or possim cancel it",
    ErrorCode.PASSWORD_REQUIRED: "; give the merchant password with --password",
    ErrorCode.PASSWORD_LOCKED: "; wait, then try again with the right password",
    ErrorCode.UNKNOWN_CARD: "; see possim cards",
    ErrorCode.WRONG_PAIRING_CODE: "; run possim pair again and type the code the terminal shows",
    ErrorCode.PAIRING_LOCKED: "; wait, then pair again",
    ErrorCode.UNKNOWN_PAIRING: "; see possim pair --list",
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
        if getattr(args, "tip", None) is not None:
            to_minor_units(args.tip, args.currency, "tip_amount", allow_zero=True)
        if getattr(args, "tip_prompt", None) is not None:
            args.tip_prompt = _tip_percentages(args.tip_prompt)
        if args.command == "password" and args.new is not None:
            _make(lambda: SetPassword(args.current, args.new))  # the rules, before the port
        if getattr(args, "password", None) is not None:
            _make(lambda: MerchantLogin(args.password))
    except InputRejected as e:
        return _refused(e)
    return None


def _tip_percentages(text: str) -> tuple[int, ...]:
    """``--tip-prompt 10,15,20``: up to four whole percentages from 1 to 100."""
    parts = text.split(",")
    if len(parts) > 4 or not all(p.isdigit() and 1 <= int(p) <= 100 for p in parts):
        raise InputRejected(
            ErrorCode.INVALID_FIELD,
            "tip_percentages",
            f"{text!r}: give up to 4 whole percentages from 1 to 100, like 10,15,20",
        )
    return tuple(int(p) for p in parts)


_PAYMENTS: dict[str, Callable[[Terminal, argparse.Namespace, str | None], TransactionOutcome]] = {
    "sale": lambda t, a, i: t.sale(
        a.amount,
        a.currency,
        client_transaction_id=i,
        allow_partial=a.allow_partial,
        tip_percentages=a.tip_prompt or (),
    ),
    "refund": lambda t, a, i: t.refund(a.amount, a.currency, a.reference, client_transaction_id=i),
    "preauth": lambda t, a, i: t.preauth(
        a.amount, a.currency, client_transaction_id=i, allow_partial=a.allow_partial
    ),
    "increment": lambda t, a, i: t.increment(
        a.reference, a.amount, a.currency, client_transaction_id=i
    ),
    "complete": lambda t, a, i: t.complete(
        a.reference, a.amount, a.currency, tip=a.tip, client_transaction_id=i
    ),
    "release": lambda t, a, i: t.release(a.reference, a.currency, client_transaction_id=i),
    "void": lambda t, a, i: t.void(a.reference, a.currency, client_transaction_id=i),
    "tip": lambda t, a, i: t.adjust_tip(a.reference, a.tip, a.currency, client_transaction_id=i),
}


def _set_password(args: argparse.Namespace) -> int:
    """``possim password``: the new password from --new, or typed twice at the keyboard."""
    new, current = args.new, args.current
    if new is None:
        if not sys.stdin.isatty():
            return _fail("rejected", "give --new, or run possim password at a terminal")
        import getpass

        current = current or getpass.getpass("current merchant password (Enter if none): ")
        new = getpass.getpass("new merchant password: ")
        if getpass.getpass("the new password again: ") != new:
            return _fail("rejected", "the two new passwords differ; nothing was changed")

    def set_it(t: Terminal) -> int:
        t.set_password(new, current)
        return _json_or_text(args, {"password_set": True}, "merchant password set")

    return _with_terminal(args, set_it)


def _client_command(args: argparse.Namespace) -> int:
    command = args.command
    refused = _checked_input(args)
    if refused is not None:
        return refused
    if command in _PAYMENTS:
        run = _PAYMENTS[command]
        return _with_terminal(
            args, lambda t: _print_outcome(run(t, args, args.client_transaction_id), args.json)
        )
    if command == "password":
        return _set_password(args)
    if command == "pair":
        return _with_terminal(args, lambda t: run_pair(args, t))
    if command == "last":
        if args.journal:
            return _last_from_journal(args.journal, args.json)
        if not args.port:
            return _fail("rejected", "last needs --port or --journal")
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
            rows = [[x["currency"], x["kind"], str(x["count"]), x["total"]] for x in data["totals"]]
            lines = [f"batch {data['batch_number']} closed"]
            lines += table(["currency", "kind", "count", "total"], rows) if rows else []
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
    if args.command in ("terminal", "card", "cards", "oda"):
        from firmware_sim.cli import StartFailure, print_cards, run_terminal, serve_card
        from firmware_sim.emv_cli import run_oda

        try:
            if args.command == "terminal":
                return run_terminal(args)
            if args.command == "oda":
                return run_oda(args)
            if args.command == "card":
                return serve_card(args.card, args.vpcd)
            return print_cards()
        except StartFailure as e:
            return _fail(e.kind, str(e))
    if args.command == "host":
        from firmware_sim.host.cli import run_host

        return run_host(args)
    if args.command == "fleet":
        from firmware_sim.fleet.cli import run_fleet

        return run_fleet(args)
    if args.command == "trace":
        return _print_trace(args.files, args.fields)
    if args.command == "demo":
        from .demo import run_demo

        return run_demo(as_json=args.json)
    return _client_command(args)


if __name__ == "__main__":
    sys.exit(main())
