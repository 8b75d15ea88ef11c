"""The committed diagram is the one the current table draws."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from firmware_sim.diagram import state_graph_source
from firmware_sim.states import TerminalState

DOCS = Path(__file__).resolve().parent.parent / "docs"


def test_committed_dot_matches_the_table() -> None:
    committed = (DOCS / "state-machine.dot").read_text(encoding="utf-8")
    assert committed == state_graph_source(), "run python scripts/state_diagram.py"


def test_rendered_svg_shows_every_state() -> None:
    svg = (DOCS / "state-machine.svg").read_text(encoding="utf-8")
    for state in TerminalState:
        assert f">{state.name}" in svg


def test_the_current_state_can_be_highlighted() -> None:
    source = state_graph_source(TerminalState.ONLINE_PIN)
    highlighted = [line for line in source.splitlines() if "fillcolor=darksalmon" in line]
    assert len(highlighted) == 1 and "ONLINE_PIN" in highlighted[0]


@pytest.mark.skipif(shutil.which("dot") is None, reason="graphviz's dot is not installed")
def test_dot_renders(tmp_path: Path) -> None:
    import subprocess

    out = tmp_path / "m.svg"
    subprocess.run(["dot", "-Tsvg", str(DOCS / "state-machine.dot"), "-o", str(out)], check=True)
    assert "<svg" in out.read_text()
