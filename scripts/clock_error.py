#!/usr/bin/env python3
"""The calibrated clock's error: predicted vs measured task compute time (docs/CLOCK.md).

Reads the CSV `edgesim profile --check` writes (model, rate, batch, samples, flops, measured_s,
calibrated_s) and prints a Markdown table of each case's measured time, the calibrated clock's
prediction and the analytic (FLOPs-only) clock's, with their relative errors. The analytic clock
is given its best case: one FLOP/s for the host, fitted (least relative squares) to the width-1
rows, so its error is what FLOPs alone cannot explain. With -o, also draws the errors per width.

    /usr/bin/python3 scripts/clock_error.py results/clock/check.csv -o results/clock/clock_error.png
"""
import argparse
import csv
import sys


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
    args = ap.parse_args()
    rows = load(args.csv)
    if not rows:
        sys.exit(f"{args.csv}: no rows")
    c = analytic_seconds_per_flop(rows)
    for r in rows:
        r["analytic_s"] = r["flops"] * c
        r["cal_err"] = (r["calibrated_s"] - r["measured_s"]) / r["measured_s"]
        r["ana_err"] = (r["analytic_s"] - r["measured_s"]) / r["measured_s"]

    print("| model | batch | width | measured | calibrated | error | analytic | error |")
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['model']} | {r['batch']} | {r['rate']:g} | {r['measured_s'] * 1e3:.1f} ms | "
              f"{r['calibrated_s'] * 1e3:.1f} ms | {r['cal_err'] * 100:+.1f}% | {r['analytic_s'] * 1e3:.1f} ms | "
              f"{r['ana_err'] * 100:+.1f}% |")
    worst_cal = max(abs(r["cal_err"]) for r in rows)
    worst_ana = max(abs(r["ana_err"]) for r in rows)
    within = sum(abs(r["cal_err"]) <= 0.15 for r in rows)
    print()
    print(f"Calibrated: worst |error| {worst_cal * 100:.1f}%, {within}/{len(rows)} cases within ±15%. "
          f"Analytic (best-case FLOP/s {1 / c:.3g}): worst |error| {worst_ana * 100:.1f}%.")

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
