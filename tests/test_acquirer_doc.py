"""docs/acquirer.md is generated from protocols/acquirer: fresh, complete, and its example
exchange is what the wire carries."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from protocols.acquirer.codec import HEADER_SIZE, decode
from protocols.acquirer.describe import field_lines
from protocols.acquirer.spec import MESSAGES, SUBELEMENTS

ROOT = Path(__file__).resolve().parent.parent
DOC = (ROOT / "docs" / "acquirer.md").read_text(encoding="utf-8")


def test_the_document_is_fresh() -> None:
    done = subprocess.run(
        [sys.executable, "scripts/acquirer_doc.py", "--check"], cwd=ROOT, capture_output=True
    )
    assert done.returncode == 0, done.stderr


def test_every_message_and_subelement_is_documented() -> None:
    for mti, spec in MESSAGES.items():
        assert f"### {mti} {spec.name}" in DOC
    for tag in SUBELEMENTS:
        assert f"| {tag} |" in DOC
    for field in (52, 53, 55, 64):
        assert f"**DE {field}**" in DOC


def test_each_hex_dump_decodes_to_the_listing_after_it() -> None:
    blocks = re.findall(r"bytes on the wire:\n\n```\n(.*?)```\n\n```\n(.*?)```", DOC, re.S)
    assert len(blocks) == 6  # three requests, three answers
    for dump, listing in blocks:
        wire = bytes.fromhex(dump.replace("\n", " ").replace(" ", ""))
        length = int.from_bytes(wire[:HEADER_SIZE], "big")
        message = wire[HEADER_SIZE:]
        assert length == len(message)
        decode(message)  # parses and meets the spec
        assert field_lines(message) == listing.rstrip("\n").split("\n")
