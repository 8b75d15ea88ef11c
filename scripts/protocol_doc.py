"""Regenerate the generated sections of docs/protocol.md from the schemas and the link.

    python scripts/protocol_doc.py          # rewrite the sections in place
    python scripts/protocol_doc.py --check  # exit 1 if the document and the code disagree

A section sits between ``<!-- generated:NAME -->`` and ``<!-- end generated:NAME -->``; the
prose around the sections is written by hand.
"""

from __future__ import annotations

import argparse
import re
import sys
from enum import Enum
from pathlib import Path

from protocols import codes, errors
from protocols.crc import CRC16_CHECK
from protocols.exchanges import EXCHANGES, render
from protocols.frame import INTERBYTE_TIMEOUT, MAX_FRAME_SIZE
from protocols.link import LinkSettings
from protocols.link_window import WINDOW
from protocols.messages import MAX_PAYLOAD, MESSAGE_CLASSES

DOC = Path(__file__).resolve().parent.parent / "docs" / "protocol.md"
_SECTION = re.compile(
    r"(<!-- generated:(?P<name>[\w-]+) -->\n)(?P<body>.*?)(<!-- end generated:(?P=name) -->)",
    re.S,
)


def _size(sub: object) -> str:
    try:
        return str(sub.sizeof())  # type: ignore[attr-defined]
    except Exception:
        return "1 + n"


def _message_table() -> str:
    rows = ["| type | message | direction | what it is for |", "|---|---|---|---|"]
    for message_type, cls in sorted(MESSAGE_CLASSES.items()):
        summary = (cls.__doc__ or "").strip().split("\n")[0] if cls.__doc__ else ""
        if summary.startswith(cls.__name__ + "("):  # dataclass's generated docstring
            summary = ""
        rows.append(
            f"| `{message_type:#04x}` | {message_type.name} | {cls.DIRECTION.value} | {summary} |"
        )
    return "\n".join(rows)


def _message_fields() -> str:
    parts = []
    for message_type, cls in sorted(MESSAGE_CLASSES.items()):
        parts.append(f"#### `{message_type:#04x}` {message_type.name} ({cls.DIRECTION.value})\n")
        subs = [s for s in cls.SCHEMA.subcons if s.name]
        if not subs:
            parts.append("Empty payload.\n")
            continue
        parts.append("| field | bytes | encoding and range |\n|---|---|---|")
        for sub in subs:
            parts.append(f"| `{sub.name}` | {_size(sub)} | {sub.docs} |")
        parts.append("")
    return "\n".join(parts).rstrip()


def _enum_table(enum: type[Enum]) -> str:
    rows = [f"**{enum.__name__}**\n", "| value | name |", "|---|---|"]
    rows += [f"| `{int(m.value):#04x}` | {m.name} |" for m in enum]
    return "\n".join(rows)


def _enums() -> str:
    enums: list[type[Enum]] = [
        codes.EntryMode,
        codes.TransactionKind,
        codes.TransactionStatus,
        codes.Capability,
        codes.PinBlockFormat,
        codes.PromptId,
        codes.ReceiptCopy,
        codes.PinEntry,
        codes.CancelOutcome,
    ]
    return "\n\n".join(_enum_table(e) for e in enums)


def _error_codes() -> str:
    rows = ["| code | name | meaning |", "|---|---|---|"]
    for code in errors.ErrorCode:
        rows.append(f"| `{code:#06x}` | {code.name} | {errors.ERROR_DESCRIPTIONS[code]} |")
    return "\n".join(rows)


def _link_constants() -> str:
    s = LinkSettings()
    rows = [
        "| constant | value |",
        "|---|---|",
        f"| maximum payload | {MAX_PAYLOAD} bytes |",
        f"| maximum frame | {MAX_FRAME_SIZE} bytes |",
        f"| ACK timeout (115200 baud and faster) | {s.ack_timeout} s |",
        f"| retransmissions after the first try | {s.max_retries} |",
        f"| inter-byte timeout | {INTERBYTE_TIMEOUT} s |",
        f"| frames queued per side | at most {s.max_queued} |",
        f"| WINDOW: data frames in flight per side | at most {WINDOW} |",
        f"| CRC check value of ASCII `123456789` | `{CRC16_CHECK:#06x}` |",
    ]
    for baud in (9600, 19200, 38400, 57600):
        rows.append(f"| ACK timeout at {baud} baud | {LinkSettings.for_baud(baud).ack_timeout} s |")
    return "\n".join(rows)


def _exchanges() -> str:
    parts = []
    for name, (title, _build) in EXCHANGES.items():
        parts.append(f"#### {title} (`{name}`)\n\n```\n{render(name)}\n```\n")
    return "\n".join(parts).rstrip()


SECTIONS = {
    "link-constants": _link_constants,
    "message-table": _message_table,
    "message-fields": _message_fields,
    "enums": _enums,
    "error-codes": _error_codes,
    "exchanges": _exchanges,
}


def regenerate(text: str) -> str:
    seen = set()

    def replace(match: re.Match[str]) -> str:
        name = match.group("name")
        seen.add(name)
        return f"{match.group(1)}{SECTIONS[name]()}\n{match.group(4)}"

    out = _SECTION.sub(replace, text)
    missing = set(SECTIONS) - seen
    if missing:
        raise SystemExit(f"docs/protocol.md lacks the generated sections {sorted(missing)}")
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--check", action="store_true", help="fail if the document is stale")
    args = parser.parse_args()
    text = DOC.read_text(encoding="utf-8")
    fresh = regenerate(text)
    if args.check:
        if fresh != text:
            print("docs/protocol.md is stale: run python scripts/protocol_doc.py", file=sys.stderr)
            return 1
        return 0
    DOC.write_text(fresh, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
