"""``possim terminal`` and ``possim cards``: the simulator's side of the command line."""

from __future__ import annotations

import argparse
import errno
import sqlite3
import sys
import threading

from keys import Pin
from protocols.codes import EntryMode
from protocols.currency import parse_amount
from protocols.errors import FieldError
from protocols.messages import TIP_CUSTOM

from .cards import CATALOGUE
from .core import TerminalCore
from .emv_cli import add_emv_arguments, emv_settings
from .layout import table
from .runner import TerminalConfig, TerminalRunner

__all__ = ["add_terminal_arguments", "run_terminal", "print_cards", "serve_card", "StartFailure"]

MANUAL_HELP = (
    "commands: card NAME [chip|swipe|tap|qr] | pay (the wallet pays the QR code) | pin DIGITS"
    " | bypass | tip N (the N-th offered tip; 0 none) | tip AMOUNT (a custom tip, like 2.50)"
    " | remove | cancel | help"
)


def add_terminal_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--port",
        default="pty",
        help="pty, listen://HOST:PORT, listen+tls://HOST:PORT (with --cert, --key), a device"
        " or a pyserial URL",
    )
    parser.add_argument(
        "--journal", default=":memory:", help="SQLite journal file (default: in memory)"
    )
    parser.add_argument(
        "--reader",
        default="virtual",
        help="virtual (the catalogue, in process) or pcsc[:NAME] (a PC/SC reader)",
    )
    parser.add_argument("--card", default="default", help="the automatic cardholder's card")
    parser.add_argument(
        "--entry",
        choices=("chip", "swipe", "tap", "qr"),
        default="chip",
        help="how the automatic cardholder offers it (qr: a wallet pays)",
    )
    parser.add_argument(
        "--display",
        default=None,
        metavar="FILE",
        help="draw the display's QR codes into FILE: an image for .png or .svg, else text art",
    )
    parser.add_argument(
        "--pin", default=None, help="the PIN the cardholder types (default: the card's)"
    )
    parser.add_argument("--cardholder", choices=("auto", "manual"), default="auto")
    parser.add_argument(
        "--step", action="store_true", help="step mode: show each transition and wait for Enter"
    )
    parser.add_argument(
        "--step-diagram",
        default=None,
        metavar="SVG",
        help="in step mode, draw the current state into this SVG file",
    )
    parser.add_argument(
        "--trace",
        default=None,
        metavar="FILE",
        help="record every frame, APDU and authorization (JSON lines)",
    )
    parser.add_argument("--baud", type=int, default=115200)
    parser.add_argument("--pace", action="store_true", help="wire-accurate pacing at --baud")
    parser.add_argument("--language", choices=("en", "zh"), default="en")
    parser.add_argument(
        "--ack-timeout",
        type=float,
        default=None,
        help="link ACK timeout in seconds (default: 1.0, or scaled to --baud)",
    )
    parser.add_argument(
        "--link-retries",
        type=int,
        default=None,
        help="link retransmissions before giving a frame up (default 3)",
    )
    parser.add_argument(
        "--authorizer-latency",
        type=float,
        default=0.0,
        help="seconds the host takes to answer (simulated network)",
    )
    parser.add_argument(
        "--acquirer",
        metavar="tcp://HOST:PORT",
        help="authorize online through this ISO 8583 host (possim host) instead of the"
        " built-in authorizer",
    )
    parser.add_argument("--cert", help="listen+tls://: the terminal's certificate chain (PEM)")
    parser.add_argument("--key", help="listen+tls://: the certificate's private key (PEM)")
    parser.add_argument(
        "--require-pairing",
        action="store_true",
        help="on a serial line too, answer only paired hosts (TCP always requires pairing)",
    )
    parser.add_argument(
        "--insecure",
        action="store_true",
        help="for tests and local development: no pairing, no merchant password (says so)",
    )
    parser.add_argument("--terminal-id", default="POSSIM01", help="DE 41 to the acquirer (8)")
    parser.add_argument(
        "--merchant-id", default="POSSIM000000001", help="DE 42 to the acquirer (15)"
    )
    parser.add_argument(
        "--acquirer-timeout",
        type=float,
        default=15.0,
        help="seconds to wait for the acquirer's answer before reversing (default 15)",
    )
    add_emv_arguments(parser)
    parser.add_argument(
        "--protocol",
        choices=("possim", "zvt"),
        default="possim",
        help="what the cash register speaks: possim's protocol, or ZVT (docs/zvt.md; TCP"
        " port 20007 by convention: --port listen://0.0.0.0:20007)",
    )
    parser.add_argument(
        "--zvt-password",
        default="123456",
        metavar="DIGITS",
        help="ZVT: the six-digit password of Registration and the other commands that carry one",
    )


class StartFailure(Exception):
    """``possim terminal`` (or ``possim card``) cannot start. ``kind`` names the exit status
    the possim command gives (see ``possim --help``); the text says what to do."""

    def __init__(self, kind: str, text: str) -> None:
        super().__init__(text)
        self.kind = kind


def _fail(text: str) -> int:
    raise StartFailure("rejected", text)


def _start_failure(args: argparse.Namespace, error: Exception) -> StartFailure:
    """What went wrong starting the runner, as the user can act on it."""
    number = getattr(error, "errno", None)
    reason = getattr(error, "strerror", None) or error
    if isinstance(error, sqlite3.Error):
        return StartFailure(
            "journal",
            f"cannot write the journal {args.journal} ({error}): give --journal a file in a "
            "directory you can write",
        )
    if number in (errno.EBUSY, errno.EAGAIN, errno.EADDRINUSE, errno.EACCES):
        return StartFailure(
            "port_busy",
            f"the port {args.port} is busy or not yours ({reason}): close "
            "the program that has it, or choose another port",
        )
    if number in (errno.ENOENT, errno.ENODEV, errno.ENXIO, errno.EISDIR, errno.EADDRNOTAVAIL):
        return StartFailure(
            "port_not_found",
            f"no port {args.port} ({reason}): give --port pty, "
            "listen://HOST:PORT or an existing serial device",
        )
    return StartFailure("port_not_found", f"cannot open the port {args.port}: {error}")


def run_terminal(args: argparse.Namespace) -> int:
    if args.reader != "virtual" and not args.reader.startswith("pcsc"):
        return _fail(f"--reader takes virtual or pcsc[:NAME], not {args.reader!r}")
    if args.card not in CATALOGUE:
        return _fail(f"unknown card {args.card!r}: see 'possim cards'")
    if args.pin is not None:
        try:
            Pin(args.pin)
        except FieldError:
            return _fail("--pin must be 4 to 12 digits")
    try:
        emv = emv_settings(args)
    except ValueError as e:
        return _fail(str(e))
    if not (len(args.zvt_password) == 6 and args.zvt_password.isdigit()):
        return _fail("--zvt-password is six digits")
    config = TerminalConfig(
        port=args.port,
        journal=args.journal,
        card=args.card,
        pin=args.pin,
        cardholder=args.cardholder,
        baud=args.baud,
        pace=args.pace,
        language=args.language,
        authorizer_latency=args.authorizer_latency,
        ack_timeout=args.ack_timeout,
        link_retries=args.link_retries,
        reader=args.reader,
        entry=args.entry,
        display=args.display,
        trace=args.trace,
        step=args.step,
        step_diagram=args.step_diagram,
        acquirer=args.acquirer,
        terminal_id=args.terminal_id,
        merchant_id=args.merchant_id,
        acquirer_timeout=args.acquirer_timeout,
        cert=args.cert,
        key=args.key,
        require_pairing=args.require_pairing,
        insecure=args.insecure,
        emv=emv,
        protocol=args.protocol,
        zvt_password=int(args.zvt_password),
    )
    if args.insecure and args.require_pairing:
        return _fail("--insecure and --require-pairing contradict each other: choose one")
    if args.acquirer:
        from .acquirer import parse_acquirer_url

        try:
            parse_acquirer_url(args.acquirer)
        except ValueError as e:
            return _fail(str(e))
        if not (1 <= len(args.terminal_id) <= 8 and 1 <= len(args.merchant_id) <= 15):
            return _fail("--terminal-id is 1 to 8 characters, --merchant-id 1 to 15")
    try:
        runner = TerminalRunner(config)
    except (OSError, sqlite3.Error, ValueError) as e:  # serial's errors are OSErrors
        raise _start_failure(args, e) from None
    except Exception as e:  # noqa: BLE001 - a reader or key store that will not start
        text = f"cannot start the terminal: {e}"
        if args.reader.startswith("pcsc"):
            text += "; is pcscd running? (or use --reader virtual)"
        raise StartFailure("rejected", text) from None
    print(runner.port.name, flush=True)
    runner.show_display = lambda line: print(f"display: {line}", flush=True)
    access = runner.access
    if args.protocol == "zvt":
        print(
            "possim: speaking ZVT: a cash register registers with the ZVT password"
            " (--zvt-password); ZVT has no link security of its own: use a serial line or a"
            " network you trust",
            file=sys.stderr,
            flush=True,
        )
    elif args.insecure:
        print(
            "possim: INSECURE: no pairing and no merchant password: any program that reaches "
            "this terminal may drive it, refund and settle (for tests and development only)",
            file=sys.stderr,
            flush=True,
        )
    elif access.required:
        paired = len(access.pairing.pairings)
        print(
            f"possim: only paired hosts are answered ({paired} pairing"
            f"{'' if paired == 1 else 's'}); pair with `possim pair --port {runner.port.name}`",
            file=sys.stderr,
            flush=True,
        )
    if not runner.merchant.is_set and not args.insecure and args.protocol != "zvt":
        print(
            "possim: no merchant password is set: any host that reaches this terminal may refund,"
            " void, adjust tips and settle (possim password --port PORT sets one)",
            file=sys.stderr,
            flush=True,
        )
    if args.cardholder == "manual":
        threading.Thread(target=_keyboard, args=(runner,), daemon=True).start()
    try:
        runner.serve()
    except KeyboardInterrupt:
        pass
    finally:
        runner.stop()
    return 0


def _keyboard(runner: TerminalRunner) -> None:
    """The cardholder at the keyboard; actions run on the runner's thread."""
    print(MANUAL_HELP, file=sys.stderr)
    for line in sys.stdin:
        words = line.split()
        if not words:
            continue
        action = _manual_action(words)
        if action is None:
            print(MANUAL_HELP, file=sys.stderr)
        else:
            runner.actions.put(action)


def _manual_action(words: list[str]):  # type: ignore[no-untyped-def]
    command, rest = words[0], words[1:]
    if command == "pay":
        return lambda core, now: core.wallet_pays(now)
    if command == "card" and rest:
        modes = {
            "chip": EntryMode.CHIP,
            "swipe": EntryMode.SWIPE,
            "tap": EntryMode.TAP,
            "qr": EntryMode.QR,
        }
        mode = modes.get(rest[1] if len(rest) > 1 else "chip")
        return lambda core, now: core.present_card(rest[0], mode or EntryMode.CHIP, now)
    if command == "pin" and rest:
        try:
            pin = Pin(rest[0])
        except FieldError:
            return None
        return lambda core, now: core.type_pin(pin, now)
    if command == "bypass":
        return lambda core, now: core.type_pin(None, now)
    if command == "tip" and rest:
        return _tip_action(rest[0])
    if command == "remove":
        return lambda core, now: core.remove_card(now)
    if command == "cancel":
        return lambda core, now: core.press_cancel(now)
    return None


def _tip_action(word: str):  # type: ignore[no-untyped-def]
    """``tip 2`` picks the second offered percentage, ``tip 0`` none, ``tip 2.50`` a custom tip
    (by the amount rule, in the sale's currency)."""
    if word.isdigit() and len(word) == 1:
        return lambda core, now: core.choose_tip(int(word), 0, now)

    def custom(core: TerminalCore, now: float) -> None:
        currency = core.txn.currency if core.txn else "EUR"
        core.choose_tip(TIP_CUSTOM, parse_amount(word, currency, "tip_amount"), now)

    return custom


def serve_card(card: str, vpcd: str) -> int:
    """``possim card``: a catalogue card in vpcd's reader until interrupted."""
    from .cards import VirtualCard
    from .vpcd import VpcdCard

    if card not in CATALOGUE:
        return _fail(f"unknown card {card!r}: see 'possim cards'")
    host, _, port = vpcd.rpartition(":")
    try:
        address = (host or "127.0.0.1", int(port))
    except ValueError:
        return _fail(f"--vpcd takes HOST:PORT, not {vpcd!r}")
    server = VpcdCard(VirtualCard(CATALOGUE[card]), address)
    print(f"card {card} for vpcd at {address[0]}:{address[1]} (Ctrl-C to take it out)", flush=True)
    try:
        server.serve()
    except KeyboardInterrupt:
        server.stop()
    return 0


def print_cards() -> int:
    rows = [[c.name, c.pan, c.pin, c.expiry, c.description] for c in CATALOGUE.values()]
    for line in table(["card", "PAN", "PIN", "expiry", "description"], rows):
        print(line)
    print(
        "\nAmounts ending in 51 decline 51 (insufficient funds), 05 decline 05 (do not honour),"
        " 91 decline 91 (issuer unavailable), 10 is approved for half (response code 10) when"
        " the request allows a partial approval and declined 51 otherwise; any other is"
        " approved with a six-digit code."
    )
    return 0
