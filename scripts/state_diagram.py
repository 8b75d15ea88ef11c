"""Draw docs/state-machine.{dot,svg,png} from the terminal's transition table.

python scripts/state_diagram.py            # needs graphviz's dot (Debian: graphviz)
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from firmware_sim.diagram import state_graph_source

DOCS = Path(__file__).resolve().parent.parent / "docs"


def main() -> int:
    dot = DOCS / "state-machine.dot"
    dot.write_text(state_graph_source(), encoding="utf-8")
    for fmt in ("svg", "png"):
        subprocess.run(
            ["dot", f"-T{fmt}", str(dot), "-o", str(DOCS / f"state-machine.{fmt}")], check=True
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
