#!/usr/bin/env python3
"""The calibrated clock's error: predicted vs measured task compute time (docs/CLOCK.md).

Reads the CSV `edgesim profile --check` writes (model, rate, batch, samples, flops, measured_s,
calibrated_s) and prints a Markdown table of each case's measured time, the calibrated clock's
prediction and the analytic (FLOPs-only) clock's, with their relative errors. The analytic clock
is given its best case: one FLOP/s for the host, fitted (least relative squares) to the width-1
rows, so its error is what FLOPs alone cannot explain. With -o, also draws the errors per width.
With --again, a second measurement of the same cases (another `edgesim profile --check` run's CSV)
adds how far the measured side itself repeats: the floor under any clock's error.

    /usr/bin/python3 scripts/clock_error.py results/clock/check.csv -o results/clock/clock_error.png \
        --doc docs/CLOCK.md   # replaces the generated table there
"""
import argparse
import csv
import sys

from doc_block import publish


def load(path):
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    for r in rows:
        for k in ("rate", "flops", "measured_s", "calibrated_s"):
            r[k] = float(r[k])
        r["batch"] = int(r["batch"])
    return rows


def analytic_seconds_per_flop(rows):
    a = [r["flops"] / r["measured_s"] for r in rows if r["rate"] == 1.0]
    return sum(a) / sum(x * x for x in a)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("csv")
    ap.add_argument("-o", "--out", help="figure to write (PNG)")
    ap.add_argument("--again", help="another --check CSV of the same cases: the measurement's own repeatability")
    ap.add_argument("--doc", help="Markdown file whose generated block (between the markers) gets the table")
    args = ap.parse_args()
    rows = load(args.csv)
    if not rows:
        sys.exit(f"{args.csv}: no rows")
    c = analytic_seconds_per_flop(rows)
    for r in rows:
        r["analytic_s"] = r["flops"] * c
        r["cal_err"] = (r["calibrated_s"] - r["measured_s"]) / r["measured_s"]
        r["ana_err"] = (r["analytic_s"] - r["measured_s"]) / r["measured_s"]

    if args.again:
        again = {(r["model"], r["rate"], r["batch"]): r["measured_s"] for r in load(args.again)}
        for r in rows:
            key = (r["model"], r["rate"], r["batch"])
            if key not in again:
                sys.exit(f"{args.again}: no row for {key[0]} width {key[1]:g} batch {key[2]}")
            r["again_diff"] = (again[key] - r["measured_s"]) / r["measured_s"]
    lines = ["| model | batch | width | measured | calibrated | error | analytic | error |" +
             (" measured again |" if args.again else ""),
             "|---|---|---|---|---|---|---|---|" + ("---|" if args.again else "")]
    for r in rows:
        lines.append(f"| {r['model']} | {r['batch']} | {r['rate']:g} | {r['measured_s'] * 1e3:.1f} ms | "
                     f"{r['calibrated_s'] * 1e3:.1f} ms | {r['cal_err'] * 100:+.1f}% | {r['analytic_s'] * 1e3:.1f} ms | "
                     f"{r['ana_err'] * 100:+.1f}% |" + (f" {r['again_diff'] * 100:+.1f}% |" if args.again else ""))
    worst_cal = max(abs(r["cal_err"]) for r in rows)
    worst_ana = max(abs(r["ana_err"]) for r in rows)
    within = sum(abs(r["cal_err"]) <= 0.15 for r in rows)
    mean_cal = sum(abs(r["cal_err"]) for r in rows) / len(rows)
    lines += ["", f"Calibrated: mean |error| {mean_cal * 100:.1f}%, worst {worst_cal * 100:.1f}%, {within}/{len(rows)} "
              f"cases within ±15%. Analytic (best-case FLOP/s {1 / c:.3g}, fitted to the width-1 rows): worst |error| "
              f"{worst_ana * 100:.1f}%."]
    if args.again:
        d = [abs(r["again_diff"]) for r in rows]
        ratios = sorted(1 + r["again_diff"] for r in rows)
        level = ratios[len(ratios) // 2]  # the host's overall speed between the two measurements
        e = [abs(x / level - 1) for x in ratios]
        lines.append(f"Measured again ({args.again}): the same cases differ by {sum(d) / len(d) * 100:.1f}% on average, "
                     f"at most {max(d) * 100:.1f}%, {sum(x > 0.15 for x in d)}/{len(d)} by more than 15%; with the "
                     f"host's overall speed change ({(level - 1) * 100:+.1f}%, the median) taken out, "
                     f"{sum(e) / len(e) * 100:.1f}% on average, at most {max(e) * 100:.1f}%, "
                     f"{sum(x > 0.15 for x in e)}/{len(e)} by more than 15%.")
        # The profile used later, as runs use it: this measurement's prediction against the other's times.
        later = [abs(r["calibrated_s"] / (r["measured_s"] * (1 + r["again_diff"])) - 1) for r in rows]
        lines.append(f"This profile against the other measurement's times: mean |error| "
                     f"{sum(later) / len(later) * 100:.1f}%, worst {max(later) * 100:.1f}%, "
                     f"{sum(x <= 0.15 for x in later)}/{len(later)} cases within ±15%.")
    table = "\n".join(lines)
    publish(table, args.doc, "clock_error.py")

    if args.out:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        models = sorted({r["model"] for r in rows}, key=[r["model"] for r in rows].index)
        fig, axes = plt.subplots(1, len(models), figsize=(3.2 * len(models), 3.2), sharey=True)
        if len(models) == 1:
            axes = [axes]
        for ax, m in zip(axes, models):
            for batch, marker in zip(sorted({r["batch"] for r in rows}), "os^v"):
                sel = sorted((r for r in rows if r["model"] == m and r["batch"] == batch), key=lambda r: r["rate"])
                x = [r["rate"] for r in sel]
                ax.plot(x, [100 * r["cal_err"] for r in sel], marker=marker, label=f"calibrated, batch {batch}")
                ax.plot(x, [100 * r["ana_err"] for r in sel], marker=marker, linestyle="--",
                        label=f"analytic, batch {batch}")
            ax.axhspan(-15, 15, color="0.9", zorder=0)
            ax.set_xscale("log", base=2)
            ax.set_title(m)
            ax.set_xlabel("width (rate)")
        axes[0].set_ylabel("predicted vs measured compute time (%)")
        axes[-1].legend(fontsize=7)
        fig.tight_layout()
        fig.savefig(args.out, dpi=120)


if __name__ == "__main__":
    main()
