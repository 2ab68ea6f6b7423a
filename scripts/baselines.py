#!/usr/bin/python3
"""docs/BASELINES.md's table and figure from the runs of `scripts/reproduce.sh baselines`.

    /usr/bin/python3 scripts/baselines.py RUNS_DIR [-o OUT] [--target-share 0.95]

RUNS_DIR holds <clock>/<method>-s<seed>.h5 (clocks calibrated and analytic; methods heterofl,
fedrolex, fjord, depthfl, fedavg, fedasync, fedbuff); missing ones are skipped. OUT
(default results/baselines/fmnist32) gets table.md and baselines.png.
Per clock and method, over the seeds present (mean ± sample std):
  - final and best test accuracy of the global model;
  - virtual time to the target: --target-share x FedAvg's mean final accuracy under the same
    clock (FedAvg trains on the devices that fit the full model only);
  - seed 1: out-of-memory tasks, memory per task (analytic estimate; measured peak, largest
    over tasks) on the largest- and the smallest-memory devices, and the final accuracy of
    the global model cut to each width (or, DepthFL, each exit alone) from /width_eval.
Figure: accuracy against virtual time (seed 1), a panel per clock; memory per task on each
device (seed 1, estimate) per method.
"""
import argparse
import os
import sys

import h5py
import numpy as np

from adaptcl import evaluated, time_to  # the same reading of /rounds as the AdaptCL study

CLOCKS = {"calibrated": "calibrated clock", "analytic": "analytic clock"}
METHODS = {"heterofl": "HeteroFL", "fedrolex": "FedRolex", "fjord": "FjORD", "depthfl": "DepthFL",
           "fedavg": "FedAvg (devices that fit)", "fedasync": "FedAsync", "fedbuff": "FedBuff (K = 8)"}


def load(path):
    with h5py.File(path, "r", swmr=True) as f:
        return {"rounds": f["rounds"][:], "tasks": f["tasks"][:], "devices": f["devices"][:],
                "width_eval": f["width_eval"][:] if "width_eval" in f else None}


def ms(values, scale=1.0, unit="", digits=1):
    v = np.array(values, dtype=float)
    ok = v[np.isfinite(v)] * scale
    if len(ok) == 0:
        return "not reached"
    text = f"{ok.mean():.{digits}f}{unit}"
    if len(ok) > 1:
        text = f"{ok.mean():.{digits}f} ± {ok.std(ddof=1):.{digits}f}{unit}"
    missed = len(v) - len(ok)
    return text + (f" ({missed} of {len(v)} not reached)" if missed else "")


def memory(run, which):
    d, t = run["devices"], run["tasks"]
    caps = d["memory_cap_bytes"]
    devs = d["device"][caps == (caps.max() if which == "max" else caps.min())]
    x = t[np.isin(t["device"], devs)]
    if len(x) == 0:
        return "–"
    ok = x[x["status"] == b"ok"]
    if len(ok) == 0:
        return f"{x['memory_bytes'].max() / 2**20:.1f} MiB (refused)"
    peak = ok["peak_memory_bytes"].max() if "peak_memory_bytes" in ok.dtype.names else 0
    return f"{ok['memory_bytes'].max() / 2**20:.1f}; {peak / 2**20:.1f} MiB"


def per_width(run):
    w = run["width_eval"]
    if w is None or len(w) == 0:
        return "–"
    last = w[w["round"] == w["round"].max()]
    return ", ".join(f"{x['rate']:g}: {100 * x['test_accuracy']:.1f}%" for x in sorted(last, key=lambda x: -x["rate"]))


def table(runs, clock, share):
    fedavg = [r for (c, m, s), r in runs.items() if c == clock and m == "fedavg"]
    if not fedavg:
        return None, None
    target = share * np.mean([evaluated(r)[1][-1] for r in fedavg])
    lines = [f"Target accuracy {100 * target:.1f}% ({share:g} x FedAvg's mean final accuracy).\n",
             "| method | seeds | final acc | best acc | virtual time to target | virtual time (all rounds) "
             "| oom tasks (seed 1) | memory/task, largest cap (estimate; peak) | memory/task, smallest cap "
             "| per width / exit, final (seed 1) |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for m, name in METHODS.items():
        rs = [runs[k] for k in sorted(runs) if k[0] == clock and k[1] == m]
        if not rs:
            continue
        one = runs.get((clock, m, 1), rs[0])
        lines.append(
            f"| {name} | {len(rs)} | {ms([evaluated(r)[1][-1] for r in rs], 100, '%', 2)} | "
            f"{ms([evaluated(r)[1].max() for r in rs], 100, '%', 2)} | "
            f"{ms([time_to(r, target) for r in rs], unit=' s')} | "
            f"{ms([r['rounds']['virtual_time_s'][-1] for r in rs], unit=' s')} | "
            f"{np.count_nonzero(one['tasks']['status'] == b'oom')} | {memory(one, 'max')} | {memory(one, 'min')} | "
            f"{per_width(one)} |")
    return "\n".join(lines) + "\n", target


def figure(runs, out):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    clocks = [c for c in CLOCKS if any(k[0] == c for k in runs)]
    fig, axes = plt.subplots(1, len(clocks) + 1, figsize=(4.6 * (len(clocks) + 1), 3.6), squeeze=False)
    for ax, c in zip(axes[0], clocks):
        for m, name in METHODS.items():
            if (c, m, 1) in runs:
                t, acc = evaluated(runs[(c, m, 1)])
                ax.plot(t, 100 * acc, label=name, lw=1.3)
        ax.set_title(f"{CLOCKS[c]}, seed 1", fontsize=9)
        ax.set_xlabel("virtual time (s)")
        ax.set_ylabel("test accuracy (%)")
        ax.grid(alpha=0.3)
    axes[0][0].legend(fontsize=7)
    ax = axes[0][-1]
    ms_ = [m for m in METHODS if (clocks[0], m, 1) in runs]
    for i, m in enumerate(ms_):
        t = runs[(clocks[0], m, 1)]["tasks"]
        devs = np.unique(t["device"])
        mem = [t["memory_bytes"][t["device"] == d].max() / 2**20 for d in devs]
        ax.bar(devs + (i - len(ms_) / 2) * 0.8 / len(ms_), mem, width=0.8 / len(ms_), label=METHODS[m])
    caps = runs[(clocks[0], ms_[0], 1)]["devices"]
    small = caps["memory_cap_bytes"] < 2**30
    ax.scatter(caps["device"][small], caps["memory_cap_bytes"][small] / 2**20, marker="_", s=120, c="k",
               label="memory cap")
    ax.set_xlabel("device")
    ax.set_ylabel("memory per task, estimate (MiB)")
    ax.set_title("per-device memory (seed 1)", fontsize=9)
    ax.legend(fontsize=6)
    fig.tight_layout()
    fig.savefig(os.path.join(out, "baselines.png"), dpi=110)
    plt.close(fig)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("runs_dir")
    ap.add_argument("-o", "--out", default="results/baselines/fmnist32")
    ap.add_argument("--target-share", type=float, default=0.95)
    args = ap.parse_args()
    runs = {}
    for c in CLOCKS:
        for m in METHODS:
            for seed in range(1, 100):
                path = os.path.join(args.runs_dir, c, f"{m}-s{seed}.h5")
                if os.path.exists(path):
                    runs[(c, m, seed)] = load(path)
    if not runs:
        print(f"baselines.py: no runs in {args.runs_dir}", file=sys.stderr)
        return 2
    os.makedirs(args.out, exist_ok=True)
    text = "Generated by scripts/baselines.py from the runs of scripts/reproduce.sh baselines.\n"
    for c, cname in CLOCKS.items():
        t, _ = table(runs, c, args.target_share)
        if t:
            text += f"\n### {cname.capitalize()}\n\n" + t
    with open(os.path.join(args.out, "table.md"), "w") as f:
        f.write(text)
    print(text)
    figure(runs, args.out)
    print(f"figure: {args.out}/baselines.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
