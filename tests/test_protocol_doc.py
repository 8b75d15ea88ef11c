"""docs/protocol.md and the code agree: generated sections are fresh, and every hex dump in
the document decodes with the schemas to what its annotation says."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from protocols.exchanges import EXCHANGES, LinkPair, describe

ROOT = Path(__file__).resolve().parent.parent
DOC = (ROOT / "docs" / "protocol.md").read_text(encoding="utf-8")


def test_generated_sections_are_fresh() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "protocol_doc.py"), "--check"],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr


def test_every_exchange_is_in_the_document() -> None:
    for name, (title, _) in EXCHANGES.items():
        assert f"#### {title} (`{name}`)" in DOC


def test_every_hex_dump_decodes_to_its_annotation() -> None:
    # Each dump is a line "t=... sender  annotation" followed by a line of hex bytes.
    pairs = re.findall(
        r"^t=\S+\s+(\S+ -> \S+)\s+(.*?)(?:\s+\[.*\])?\n\s{4}([0-9a-f ]+)$", DOC, re.M
    )
    assert len(pairs) > 40
    for _direction, annotation, hex_bytes in pairs:
        assert describe(bytes.fromhex(hex_bytes)) == annotation.strip()


def test_exchanges_are_rebuilt_by_the_schemas_and_links() -> None:
    for _name, (_title, build) in EXCHANGES.items():
        pair: LinkPair = build()
        for frame in pair.log:
            assert frame.wire.hex(" ") in DOC


def test_frame_example_in_prose_is_right() -> None:
    from protocols.frame import Frame, encode_frame

    assert "`02 00 02 fe 00 20 20 55`" in DOC
    assert encode_frame(Frame(0, 0x20, b"")).hex(" ") == "02 00 02 fe 00 20 20 55"


def test_every_version_the_document_names_is_the_protocols() -> None:
    from protocols.codes import PROTOCOL_VERSION

    named = re.findall(
        r"protocol, version (\d+)|protocol version \(u8, (\d+)\)|version, (\d+) for this"
        r"\s+document|this document: (\d+)",
        DOC,
    )
    assert len(named) == 4  # the title, LINK_RESET, the conversation rules, INFO_RESPONSE
    assert {int(next(n for n in groups if n)) for groups in named} == {PROTOCOL_VERSION}
