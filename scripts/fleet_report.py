"""The summary and the reconciliation of a fleet run from its results directory: what
`possim fleet` prints at the end, for a run whose master and workers ran on several machines
(copy each worker's ``worker-*.json`` and the master's ``locust.json`` into one directory).

    python scripts/fleet_report.py RESULTS_DIR --terminals N --duration S [--workers W]

Exit status 0 when everything agrees, 1 saying what differs.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from firmware_sim.fleet.cli import read_report  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("results")
    parser.add_argument("--terminals", type=int, required=True)
    parser.add_argument("--duration", type=float, required=True)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()
    report = read_report(Path(args.results))
    report.expected_workers = args.workers
    print(report.summary(args.terminals, args.duration))
    problems = report.problems(args.terminals)
    for problem in problems:
        print(f"possim: does not reconcile: {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
