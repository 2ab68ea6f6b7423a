#!/usr/bin/env python3
"""How well a task time repeats between two independent `edgesim profile` measurements, per statistic.

Reads two timings CSVs (`edgesim profile` writes every task's rounds, wall clock and CPU time) and,
for each way of summarising a task's rounds (median, lower quartile, minimum; of wall or CPU
seconds), compares the same tasks across the two measurements: the relative difference per task,
raw and with the host's overall speed change (the median ratio) taken out. The statistic whose
measurements repeat best is the one a clock can be checked against most precisely (docs/CLOCK.md).

    /usr/bin/python3 scripts/timing_repeatability.py results/clock/host.timings.csv \
        results/clock/again.timings.csv --doc docs/CLOCK.md   # replaces the generated block there
"""
import argparse
import csv
import statistics
import sys

from doc_block import publish

STATISTICS = {
    "median": lambda v: sorted(v)[len(v) // 2],  # as edgesim profile's median (the upper one)
    "lower quartile": lambda v: sorted(v)[len(v) // 4],
    "minimum": min,
}


def load(path):
    tasks = {}
    with open(path, newline="") as f:
        rows = [line for line in f if not line.startswith("#")]
    for r in csv.DictReader(rows):
        if r["kind"] not in ("fit", "check"):
            continue
        if not r.get("rounds_s"):
            sys.exit(f"{path}: task rows without rounds (timings from before edgesim kept them): measure again")
        key = (r["kind"], r["model"], float(r["rate"]), int(r["batch"]), int(r["samples"]))
        tasks[key] = {"wall": [float(x) for x in r["rounds_s"].split()],
                      "cpu": [float(x) for x in r["rounds_cpu_s"].split()]}
    return tasks


def summary(diffs):
    a = [abs(d) for d in diffs]
    return statistics.mean(a), max(a), sum(x > 0.15 for x in a)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("first")
    ap.add_argument("second")
    ap.add_argument("--doc", help="Markdown file whose generated block (between the markers) gets the table")
    args = ap.parse_args()
    a, b = load(args.first), load(args.second)
    common = sorted(set(a) & set(b))
    check = [k for k in common if k[0] == "check"]
    if not check:
        sys.exit(f"{args.first}, {args.second}: no check task in both")
    rounds = (len(a[check[0]]["wall"]), len(b[check[0]]["wall"]))
    lines = [f"Tasks in both measurements: {len(common)} ({len(check)} check tasks); rounds per task: "
             f"{rounds[0]} and {rounds[1]}. Difference of the second from the first, per task:",
             "",
             "| time | statistic | all tasks: mean | worst | check tasks: mean | worst | over 15% "
             "| level change | check, level out: mean | worst | over 15% |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for clock in ("wall", "cpu"):
        for name, f in STATISTICS.items():
            diff = {k: f(b[k][clock]) / f(a[k][clock]) - 1 for k in common}
            level = statistics.median(1 + d for d in diff.values())
            am, aw, _ = summary(diff.values())
            cm, cw, cn = summary([diff[k] for k in check])
            lm, lw, ln = summary([(1 + diff[k]) / level - 1 for k in check])
            lines.append(f"| {clock} | {name} | {100 * am:.1f}% | {100 * aw:.1f}% | {100 * cm:.1f}% | {100 * cw:.1f}% "
                         f"| {cn}/{len(check)} | {100 * (level - 1):+.1f}% | {100 * lm:.1f}% | {100 * lw:.1f}% "
                         f"| {ln}/{len(check)} |")
    # Spread inside one measurement: how far a task's rounds lie from its median.
    spread = [max(v) / STATISTICS["median"](v) - 1 for t in (a, b) for k in check for v in [t[k]["wall"]]]
    lines += ["", f"Within one measurement, a check task's slowest round is {100 * statistics.median(spread):.0f}% "
              f"(median over tasks), up to {100 * max(spread):.0f}%, above its median round."]
    text = "\n".join(lines)
    publish(text, args.doc, "timing_repeatability.py", "repeatability")


if __name__ == "__main__":
    main()
