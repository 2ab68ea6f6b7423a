#!/usr/bin/env python3
"""Every published measurement of the calibrated clock's error on this host, in order (docs/CLOCK.md).

Reads a manifest (results/clock/history/measurements.csv: file, commit, cost model and fit, task
timing), each row naming an `edgesim profile --check` CSV kept beside it, and prints one line per
measurement: how many of its held-out cases the calibrated clock got within ±15%, the mean and
worst |error|, and the cases it missed. With --doc, replaces the generated block in that file.

    /usr/bin/python3 scripts/clock_history.py results/clock/history/measurements.csv --doc docs/CLOCK.md
"""
import argparse
import csv
import os
import statistics
import sys

from doc_block import publish


def errors(path):
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    if not rows:
        sys.exit(f"{path}: no rows")
    return [(r["model"], float(r["rate"]), int(r["batch"]),
             float(r["calibrated_s"]) / float(r["measured_s"]) - 1) for r in rows]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("manifest")
    ap.add_argument("--doc", help="Markdown file whose generated block (between the markers) gets the table")
    args = ap.parse_args()
    where = os.path.dirname(args.manifest)
    lines = ["| # | check CSV | commit | cost model and fit | task timing | within ±15% | mean | worst "
             "| cases over 15% |",
             "|---|---|---|---|---|---|---|---|---|"]
    with open(args.manifest, newline="") as f:
        for i, m in enumerate(csv.DictReader(f), 1):
            e = errors(os.path.join(where, m["file"]))
            a = [abs(x[3]) for x in e]
            missed = [f"{mo} w{r:g} b{b} ({100 * x:+.0f}%)" for mo, r, b, x in e if abs(x) > 0.15]
            missed = ", ".join(missed) if len(missed) <= 4 else f"{len(missed)} cases"
            lines.append(f"| {i} | {m['file']} | {m['commit']} | {m['cost model and fit']} | {m['task timing']} "
                         f"| {sum(x <= 0.15 for x in a)}/{len(a)} | {100 * statistics.mean(a):.1f}% "
                         f"| {100 * max(a):.1f}% | {missed or 'none'} |")
    text = "\n".join(lines)
    publish(text, args.doc, "clock_history.py", "history")


if __name__ == "__main__":
    main()
