"""Write docs/acquirer.md from the spec data of protocols/acquirer and an exchange run through
the real terminal client's messages and the real host.

    python scripts/acquirer_doc.py          # rewrite docs/acquirer.md
    python scripts/acquirer_doc.py --check  # exit 1 if the document and the code disagree
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from firmware_sim.acquirer.messages import (  # noqa: E402
    Identity,
    reconciliation_doc,
    request_doc,
    sign_on_doc,
)
from firmware_sim.host import HostLedger  # noqa: E402
from firmware_sim.issuer import AuthorizationRequest, ChipData  # noqa: E402
from keys import KeyStore, Pin  # noqa: E402
from protocols.acquirer.codec import HEADER_SIZE, MAX_MESSAGE, encode_sealed  # noqa: E402
from protocols.acquirer.describe import field_lines  # noqa: E402
from protocols.acquirer.spec import (  # noqa: E402
    ARQC_DATA,
    ARQC_DATA_CONTACTLESS,
    ENTRY_MODE_CODES,
    FIELD_USES,
    KIND_MESSAGES,
    MESSAGES,
    NETWORK_CODES,
    OFFLINE_ADVICE,
    PRIVATE_FIELD,
    REPEAT,
    RESPONSE_CODES,
    SPEC,
    SUBELEMENTS,
)
from protocols.codes import EntryMode, PinBlockFormat, TransactionKind  # noqa: E402

DOC = Path(__file__).resolve().parent.parent / "docs" / "acquirer.md"
NOW = 1795651200.0  # 2026-11-26 00:00:00 UTC: the example's clock
PRESENCE = {"M": "mandatory", "C": "conditional", "E": "echoed"}


def _format(field: int) -> str:
    spec = SPEC[str(field)]
    size = spec["max_len"]
    return {0: f"fixed {size}", 2: f"LLVAR ..{size}", 3: f"LLLVAR ..{size}"}[spec["len_type"]]


def _messages() -> str:
    rows = ["| MTI | message | answered by | what possim sends it for |", "|---|---|---|---|"]
    for mti, spec in MESSAGES.items():
        rows.append(f"| {mti} | {spec.name} | {spec.answer or '-'} | {spec.purpose} |")
    return "\n".join(rows)


def _fields_of(mti: str) -> str:
    rows = ["| DE | name | format | presence | possim puts there |", "|---|---|---|---|---|"]
    for use in MESSAGES[mti].fields:
        name = SPEC[str(use.field)]["desc"]
        usage = FIELD_USES.get(use.field, "").replace("|", "\\|")
        rows.append(
            f"| {use.field} | {name} | {_format(use.field)} | {PRESENCE[use.presence]} | {usage} |"
        )
    return "\n".join(rows)


def _table(headers: tuple[str, str], rows: list[tuple[str, str]]) -> str:
    return "\n".join(
        [f"| {headers[0]} | {headers[1]} |", "|---|---|", *(f"| {a} | {b} |" for a, b in rows)]
    )


def _example() -> str:
    """A sign-on, a chip sale with online PIN, and a reconciliation, through the real code."""
    store = KeyStore.load()
    mac = store.message_authenticator()
    host = HostLedger(":memory:", store)
    identity = Identity("POSSIM01", "POSSIM000000001")
    card = store.card_keys("4761739001010010", "01")
    atc = bytes.fromhex("0001")
    data = (
        bytes.fromhex("00000000123400000000000008260000000000097826112600")
        + bytes.fromhex("12345678")  # the unpredictable number
        + bytes.fromhex("1800")  # AIP
        + atc
    )
    sale = AuthorizationRequest(
        TransactionKind.SALE,
        "000000000001",
        "4761739001010010",
        "01",
        "2712",
        1234,
        "EUR",
        EntryMode.CHIP,
        "202611",
        pin_block=store.pin_pad().encrypt(Pin("1234"), "4761739001010010", PinBlockFormat.ISO_0),
        chip=ChipData(atc, data, card.cryptogram(atc, data)),
        track2="4761739001010010D27122010000000000000",
    )
    requests = [
        ("sign-on", sign_on_doc(identity, "000001", NOW)),
        ("a chip sale of EUR 12.34 with online PIN", request_doc(sale, identity, "000002", NOW)),
        (
            "the batch's reconciliation",
            reconciliation_doc(identity, "000003", NOW, 1, "EUR", (0, 0, 1, 1234)),
        ),
    ]
    out = []
    for title, doc in requests:
        sent = encode_sealed(doc, mac.mac)
        with host.transaction():
            answer = host.handle(sent, NOW)
        assert answer is not None
        out.append(f"### {title}\n")
        for who, message in (("terminal → host", sent), ("host → terminal", answer)):
            wire = len(message).to_bytes(HEADER_SIZE, "big") + message
            out.append(f"{who}, {len(wire)} bytes on the wire:\n")
            out.append("```")
            out += [wire[i : i + 32].hex(" ").upper() for i in range(0, len(wire), 32)]
            out.append("```\n")
            out.append("```")
            out += field_lines(message)
            out.append("```\n")
    return "\n".join(out)


def render() -> str:
    kinds = [
        (k.name.lower().replace("_", " "), f"{mti}, processing code {code}")
        for k, (mti, code) in KIND_MESSAGES.items()
    ]
    kinds.append(
        ("sale approved offline", f"{OFFLINE_ADVICE[0]}, processing code {OFFLINE_ADVICE[1]}")
    )
    per_message = "\n\n".join(
        f"### {mti} {spec.name}\n\n{_fields_of(mti)}" for mti, spec in MESSAGES.items()
    )
    arqc = ", ".join(f"{tag:X} ({size})" for tag, size in ARQC_DATA)
    contactless = ", ".join(f"{tag:X} ({size})" for tag, size in ARQC_DATA_CONTACTLESS)
    return f"""# The acquirer leg: ISO 8583 between terminal and host

<!-- generated by scripts/acquirer_doc.py from protocols/acquirer; do not edit by hand -->

`possim host --listen HOST:PORT [--ledger FILE]` is an acquirer and issuer; `possim terminal
--acquirer tcp://HOST:PORT` authorizes every transaction through it instead of the built-in
authorizer. Both ends run the same issuer (`firmware_sim/issuer`): outcomes by amount, PIN and
ARQC checks, the ARPC.

## On the wire

Each message is preceded by a {HEADER_SIZE}-byte big-endian length, 1 to {MAX_MESSAGE}; any
other length closes the connection, as the stream cannot be resynchronised. The
message is ISO 8583:1987 in pyiso8583's stock `default_ascii` layout, unchanged: a 4-digit
ASCII MTI, the primary bitmap as 16 hex digits (and a secondary one when a field past 64 is
present), every field in ASCII, binary fields as hex digits, LLVAR and LLLVAR lengths in
ASCII digits. Any tool that reads the 1987 ASCII layout reads possim's traffic.

## Messages

{_messages()}

A request sent again because its answer did not come has the last MTI digit 1
({", ".join(f"{a} → {b}" for a, b in REPEAT.items())}), the same STAN and the same fields. The host
keeps every answer by terminal id (DE 41) and STAN (DE 11): a request it has answered is
answered again with the same bytes and never authorized twice; the same STAN for another
reference is answered 94.

## Transaction kinds

{_table(("kind", "message"), kinds)}

## Fields of each message

{per_message}

## DE {PRIVATE_FIELD}: possim's subelements

Each subelement is a 2-character tag, a 3-digit length and the value.

{_table(("tag", "what it holds"), list(SUBELEMENTS.items()))}

## The PIN block, its KSN, the ICC data and the MAC

- **DE 52** holds an ISO 9564 format 0 PIN block encrypted under the TDES DUKPT PIN key of
  its KSN (8 bytes, 16 hex digits). **DE 53** in this layout is 16 digits, too short for a
  10-byte TDES KSN or a 12-byte AES one, so the KSN travels in DE 48 `KS`. An AES format 4
  block (16 bytes) does not fit DE 52 either: it goes in DE 48 `PB`, its format in `PF`.
- **DE 55** is BER-TLV in hex. A request carries the data an ARQC covers, in the order of EMV
  Book 2 section 8.1.1 ({arqc}; tag (length in bytes)), and the ARQC in 9F26; the host
  rebuilds the cryptogram's input from them and verifies it. A contactless card (DE 22 07)
  computes its cryptogram at GET PROCESSING OPTIONS over its PDOL data, the AIP and the ATC:
  {contactless}. Real issuers tell the two apart by the cryptogram version in 9F10; possim's
  host by DE 22. The answer carries 91, the
  issuer authentication data: the ARPC (method 1) and the 2-character response code.
- **DE 64** (DE 128 when the message has a secondary bitmap) is the MAC: AES-CMAC (NIST SP
  800-38B) under the key store's `acquirer-mac` key (TR-31 usage M6) over the message as sent,
  from the MTI to the byte before the MAC's value, first 8 bytes as 16 hex digits. Both sides
  MAC what they send and check what they receive in constant time; a request with a wrong MAC
  is answered 30, an answer with a wrong MAC is dropped.

## Codes

{_table(("POS entry mode (DE 22)", "entry"), [(v, k.name.lower()) for k, v in ENTRY_MODE_CODES.items()])}

{_table(("response code (DE 39)", "meaning"), list(RESPONSE_CODES.items()))}

{_table(("network code (DE 70)", "meaning"), list(NETWORK_CODES.items()))}

## What each side does

- The terminal writes each request down (in its journal's file) before sending it. No answer
  in time (`--acquirer-timeout`, default 15 s), or the line lost after sending: it queues a
  0420 reversal advice of that request, closes the connection (a late answer can never be
  taken for a later request's) and declines with 91. An answer counts only if its MTI, STAN,
  terminal id and reference are the request's and its MAC is good.
- Advices (0220: completion, tip adjustment) are queued before they are sent; when the host
  does not answer, the terminal approves them and they follow.
- The queue goes to the host oldest first: before each new request, and every 5 s from a
  sender thread, each message sent again with its repeat MTI until the host answers it,
  across restarts of either side (the queue and the host's ledger are both durable).
  Nothing overtakes it: while it cannot be delivered, a new request is declined 91 without
  being sent, and a new advice is approved and waits behind it.
- An idle connection the host has closed (it restarted) is noticed before a request is
  written to it: the terminal signs on again rather than lose the request.
- A reversal that reaches the host before the request it reverses (they travel on different
  connections) is remembered: the request, when it arrives, is answered 12 and never approved.
- The host answers only after its ledger has committed (SQLite, WAL, synchronous=FULL); it
  puts every message waiting at that moment into one commit.
- At settlement the terminal sends one 0500 per currency of the batch: credits are refunds,
  debits are sales and completions, each at its approved amount with its adjusted tip,
  voided ones left out. The host compares with its own open entries of that terminal and
  answers 00 in balance or 95 out of balance, with its totals; the entries go into the batch
  either way.
- A message that does not parse, lacks a mandatory field, or has a wrong MAC is answered 30
  where an MTI can be read; otherwise the connection is closed and counted. Nothing a
  terminal sends stops the host.

## An example exchange

Produced by `scripts/acquirer_doc.py` through the terminal client's message builders and the
host's ledger, at 2026-11-26 00:00 UTC with the shipped test keys and the catalogue's default
test card. The hex is the wire as sent; the field listings are what `possim trace --fields`
prints of it: PAN and track 2 masked, the PIN block zeroed.

{_example()}"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args()
    text = render()
    if args.check:
        if not DOC.exists() or DOC.read_text(encoding="utf-8") != text:
            print(f"{DOC} is out of date: run python scripts/acquirer_doc.py", file=sys.stderr)
            return 1
        return 0
    DOC.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
