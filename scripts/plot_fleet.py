"""Draw a fleet run from Locust's CSV history: transactions a second and latency (p50, p95)
over time, as an SVG or PNG (matplotlib).

    possim fleet ... --results run/
    python scripts/plot_fleet.py run/stats_stats_history.csv docs/fleet-run.svg
"""

from __future__ import annotations

import argparse
import csv
import sys

import matplotlib

matplotlib.use("Agg")  # files only, no display
import matplotlib.pyplot as plt  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("history", help="Locust's *_stats_history.csv")
    parser.add_argument("output", help="the image to write (.svg or .png)")
    args = parser.parse_args()
    with open(args.history, encoding="utf-8") as file:
        rows = [r for r in csv.DictReader(file) if r["Name"] == "Aggregated"]
    if not rows:
        print("possim: no Aggregated rows in that file", file=sys.stderr)
        return 2
    start = int(rows[0]["Timestamp"])
    seconds = [int(r["Timestamp"]) - start for r in rows]

    def number(value: str) -> float:
        return float(value) if value not in ("", "N/A") else float("nan")

    rate = [number(r["Requests/s"]) for r in rows]
    p50 = [number(r["50%"]) for r in rows]
    p95 = [number(r["95%"]) for r in rows]
    users = [number(r["User Count"]) for r in rows]
    figure, (top, bottom) = plt.subplots(2, 1, sharex=True, figsize=(8, 6))
    top.plot(seconds, rate, label="transactions/s")
    top.set_ylabel("transactions a second")
    twin = top.twinx()
    twin.plot(seconds, users, color="grey", linestyle=":", label="terminals")
    twin.set_ylabel("terminals running")
    bottom.plot(seconds, p50, label="p50")
    bottom.plot(seconds, p95, label="p95")
    bottom.set_ylabel("latency (ms)")
    bottom.set_xlabel("seconds into the run")
    bottom.legend()
    top.set_title("possim fleet: throughput and latency")
    figure.tight_layout()
    figure.savefig(args.output)
    print(args.output)
    return 0


if __name__ == "__main__":
    sys.exit(main())
