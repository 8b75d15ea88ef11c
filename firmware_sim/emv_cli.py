"""The EMV options of ``possim terminal`` (CA keys, revocation list, floor limit, exception
file) and ``possim oda``, which checks a card's offline data authentication."""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from keys.capk import CaKeyFileError, load_ca_keys, parse_revocations
from protocols.currency import parse_amount
from protocols.errors import FieldError
from protocols.validation import luhn_ok

from .kernel.settings import EmvSettings

__all__ = ["add_emv_arguments", "add_oda_arguments", "emv_settings", "run_oda"]


def add_emv_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--capk",
        metavar="FILE",
        help="CA public keys for offline data authentication (docs/emv.md; default: the"
        " schemes' published keys shipped with possim and possim's test CA)",
    )
    parser.add_argument(
        "--crl",
        metavar="FILE",
        help="revoked issuer certificates: RID, CA index, serial per line (default: shipped)",
    )
    parser.add_argument(
        "--floor-limit",
        default="0.00",
        metavar="AMOUNT",
        help="chip cards under this amount (EUR) may be approved offline (default 0.00: never)",
    )
    parser.add_argument(
        "--random-selection",
        default="0,0",
        metavar="TARGET,MAX",
        help="percent of transactions under the floor limit sent online at random: TARGET for"
        " small amounts rising to MAX near the floor limit (default 0,0: none)",
    )
    parser.add_argument(
        "--exception-file",
        metavar="FILE",
        help="PANs to decline offline (one per line): the terminal's hot list",
    )


def _read(path: str, what: str) -> str:
    try:
        return Path(path).read_text()
    except OSError as e:
        raise ValueError(f"cannot read the {what} {path}: {e.strerror or e}") from None


def emv_settings(args: argparse.Namespace) -> EmvSettings:
    """The settings the options give; ValueError saying which option is wrong."""
    settings = EmvSettings()
    try:
        floor = parse_amount(args.floor_limit, "EUR", "--floor-limit", allow_zero=True)
    except FieldError:
        raise ValueError(
            f"--floor-limit takes an amount like 50.00, not {args.floor_limit!r}"
        ) from None
    try:
        target, maximum = (int(p) for p in args.random_selection.split(","))
        if not 0 <= target <= maximum <= 99:
            raise ValueError
    except ValueError:
        raise ValueError(
            "--random-selection takes TARGET,MAX percentages with 0 <= TARGET <= MAX <= 99,"
            f" not {args.random_selection!r}"
        ) from None
    ca_keys, revocations = settings.ca_keys, settings.revocations
    try:
        if args.capk:
            _read(args.capk, "CA key file")
            ca_keys = load_ca_keys(Path(args.capk))
        if args.crl:
            revocations = parse_revocations(_read(args.crl, "revocation list"))
    except CaKeyFileError as e:
        raise ValueError(str(e)) from None
    hot: set[str] = set()
    if args.exception_file:
        for number, line in enumerate(_read(args.exception_file, "exception file").splitlines()):
            pan = line.split("#", 1)[0].strip()
            if pan and not (pan.isdigit() and 12 <= len(pan) <= 19 and luhn_ok(pan)):
                raise ValueError(
                    f"{args.exception_file}: line {number + 1} is not a PAN (12 to 19 digits,"
                    " Luhn-valid)"
                )
            if pan:
                hot.add(pan)
    return EmvSettings(
        ca_keys=ca_keys,
        revocations=revocations,
        floor_limit=floor,
        target_percentage=target,
        max_target_percentage=maximum,
        exception_file=frozenset(hot),
    )


def add_oda_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--reader",
        default="pcsc",
        help="pcsc[:NAME] for the card in a PC/SC reader (default), or virtual with --card",
    )
    parser.add_argument("--card", default="cda", help="with --reader virtual: a catalogue card")
    parser.add_argument("--capk", metavar="FILE", help="CA public keys (default: shipped)")
    parser.add_argument("--crl", metavar="FILE", help="revoked issuer certificates")
    parser.add_argument("--json", action="store_true")


def run_oda(args: argparse.Namespace) -> int:
    """``possim oda``: 0 when the card was read and its ODA checked (verified or not: the
    output says which), non-zero when there is no card or reader, or an option is wrong."""
    from .cli import StartFailure
    from .kernel import CardReader, InProcessReader
    from .kernel.reader import CardFailure
    from .oda_check import check_card

    args.floor_limit, args.exception_file, args.random_selection = "0.00", None, "0,0"
    try:
        settings = emv_settings(args)
    except ValueError as e:
        raise StartFailure("rejected", str(e)) from None
    reader: CardReader
    if args.reader == "virtual":
        from .cards import CATALOGUE, VirtualCard

        if args.card not in CATALOGUE:
            raise StartFailure("rejected", f"unknown card {args.card!r}: see 'possim cards'")
        reader = InProcessReader(VirtualCard(CATALOGUE[args.card]))
    elif args.reader.startswith("pcsc"):
        from .pcsc import PcscReader

        try:
            reader = PcscReader(args.reader.partition(":")[2])
        except Exception as e:  # noqa: BLE001 - no pcscd, no pyscard, no such reader
            raise StartFailure("port_not_found", f"no PC/SC reader: {e}") from None
    else:
        raise StartFailure("rejected", f"--reader takes pcsc[:NAME] or virtual, not {args.reader}")
    now = time.gmtime()
    try:
        report = check_card(reader, settings, today=(now.tm_year, now.tm_mon))
    except (CardFailure, OSError) as e:
        raise StartFailure("port_not_found", f"cannot read the card: {e}") from None
    except Exception as e:  # noqa: BLE001 - pyscard's own errors: no card in the reader
        raise StartFailure("port_not_found", f"cannot read the card: {e}") from None
    finally:
        reader.power_off()
    if args.json:
        print(json.dumps(report.as_json()))
    else:
        for line in report.lines():
            print(line)
    return 0
