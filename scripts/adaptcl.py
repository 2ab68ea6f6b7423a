#!/usr/bin/python3
"""AdaptCL's headline comparison from the runs of `scripts/reproduce.sh adaptcl`: markdown
tables and figures in OUT (default results/adaptcl).

    /usr/bin/python3 scripts/adaptcl.py RUNS_DIR [-o OUT] [--target-share 0.95 0.99]

RUNS_DIR holds <clock>/<workload>-<setting>-<algorithm>-s<seed>.h5 for clocks analytic and
calibrated, workloads fmnist-cnn and fmnist32-vgg11, settings low, high and high-skew
(Dirichlet 0.5 labels), algorithms fedavg, fedavg-deadline, fedasync, ssp, adaptcl and seeds
1..N; missing ones are skipped.
Reported, as the paper does:
  - headline (table.md, first): AdaptCL's saving of virtual time against synchronous FedAvg,
    1 - t_adaptcl / t_fedavg, per seed (FedAvg and AdaptCL of the same seed paired), as
    mean ± sample std over seeds, under each clock side by side: to a target accuracy
    (--target-share x FedAvg's final accuracy, same setting, clock and seed: 0.95 is reached
    early in a run, 0.99 near its end) and for the whole run (the same amount of local
    training, R rounds);
  - per clock, every algorithm (seed 1): time to target, final accuracy, virtual time and its
    saving, the spread of per-worker update times in a round (slowest / fastest, median over
    rounds 3..R; update time = end_s - start_s in /tasks) and the mean update time relative
    to the fastest worker's full-model update (round 1 of synchronous FedAvg);
  - the final accuracy of FedAvg and AdaptCL (mean over seeds);
  - the spread of device speeds: the slowest / fastest full-model update in round 1 of
    FedAvg, the bound on what shrinking the slow workers can save.
Figures: accuracy against virtual time (seed 1, a row per clock); AdaptCL's keep rates and
per-worker update times per round; the update-time spread per round for FedAvg and AdaptCL.
"""
import argparse
import os
import re
import sys

import h5py
import numpy as np

CLOCKS = {"analytic": "analytic clock", "calibrated": "calibrated clock"}
WORKLOADS = {"fmnist-cnn": "Fashion-MNIST, CNN", "fmnist32-vgg11": "Fashion-MNIST-32, VGG-11"}
SETTINGS = {"low": "low heterogeneity", "high": "high heterogeneity",
            "high-skew": "high heterogeneity, label skew"}
ALGORITHMS = {"fedavg": "FedAvg (wait for all)", "fedavg-deadline": "FedAvg (deadline)",
              "fedasync": "FedAsync", "ssp": "SSP (s = 3)", "adaptcl": "AdaptCL"}
ASYNC = {"fedasync", "ssp"}
NAME = re.compile(r"^(?P<w>.+?)-(?P<s>low|high|high-skew)-(?P<a>fedavg|fedavg-deadline|fedasync|ssp|adaptcl)"
                  r"-s(?P<seed>\d+)\.h5$")


def load(path):
    with h5py.File(path, "r", swmr=True) as f:
        return {"rounds": f["rounds"][:], "tasks": f["tasks"][:]}


def evaluated(run):
    r = run["rounds"]
    keep = ~np.isnan(r["test_accuracy"])
    return r["virtual_time_s"][keep], r["test_accuracy"][keep]


def time_to(run, target):
    t, acc = evaluated(run)
    hit = np.flatnonzero(acc >= target)
    return float(t[hit[0]]) if len(hit) else float("nan")


def update_times(run):
    """{round: (devices, update times, rates) of the tasks that trained, by device}"""
    t = run["tasks"]
    t = t[t["status"] == b"ok"]
    out = {}
    for k in np.unique(t["round"]):
        x = t[t["round"] == k]
        x = x[np.argsort(x["device"])]
        out[int(k)] = (x["device"], x["end_s"] - x["start_s"], x["rate"])
    return out


def spread_per_round(run):
    u = update_times(run)
    return {k: v[1].max() / v[1].min() for k, v in u.items() if len(v[1]) > 1}


def fmt_time(s):
    return "not reached" if np.isnan(s) else f"{s:.1f} s"


def mean_std(values):
    """'m ± sd % (n seeds)' over the finite values; seeds whose AdaptCL missed the target are named."""
    v = np.array(values, dtype=float)
    ok = v[np.isfinite(v)]
    if len(ok) == 0:
        return "not reached"
    text = f"{100 * ok.mean():.0f} ± {100 * ok.std(ddof=1):.0f}%" if len(ok) > 1 else f"{100 * ok[0]:.0f}%"
    text += f" ({len(ok)} seed{'s' if len(ok) > 1 else ''}"
    missed = len(v) - len(ok)
    return text + (f", {missed} not reached)" if missed else ")")


def savings(runs, clock, w, s, share):
    """AdaptCL's savings per seed: (to the target, whole run), paired with FedAvg's seed."""
    to_target, whole = [], []
    for seed in sorted({k[4] for k in runs if k[:4] == (clock, w, s, "fedavg")}):
        ref, run = runs.get((clock, w, s, "fedavg", seed)), runs.get((clock, w, s, "adaptcl", seed))
        if run is None:
            continue
        target = share * evaluated(ref)[1][-1]
        to_target.append(1 - time_to(run, target) / time_to(ref, target))
        whole.append(1 - run["rounds"]["virtual_time_s"][-1] / ref["rounds"]["virtual_time_s"][-1])
    return to_target, whole


def device_spread(ref):
    """slowest / fastest full-model update (round 1 of synchronous FedAvg)"""
    u = update_times(ref)[1][1]
    return u.max() / u.min()


def headline(runs, shares):
    clocks = [c for c in CLOCKS if any(k[0] == c for k in runs)]
    cols = [f"saving to {share:g} x FedAvg's accuracy, {c}" for share in shares for c in clocks]
    cols += [f"saving, whole run, {c}" for c in clocks]
    cols += [f"final acc FedAvg → AdaptCL, {c}" for c in clocks]
    cols += [f"device-speed spread, {c}" for c in clocks]
    lines = ["| workload | setting | " + " | ".join(cols) + " |", "|---|---|" + "---|" * len(cols)]
    for w, wname in WORKLOADS.items():
        for s, sname in SETTINGS.items():
            if not any(k[1:3] == (w, s) for k in runs):
                continue
            cells = []
            for share in shares:
                for c in clocks:
                    cells.append(mean_std(savings(runs, c, w, s, share)[0]))
            for c in clocks:
                cells.append(mean_std(savings(runs, c, w, s, shares[0])[1]))
            for c in clocks:
                accs = [[evaluated(r)[1][-1] for k, r in runs.items() if k[:4] == (c, w, s, a)]
                        for a in ("fedavg", "adaptcl")]
                cells.append(" → ".join(f"{100 * np.mean(x):.1f}%" if x else "–" for x in accs))
            for c in clocks:
                ref = runs.get((c, w, s, "fedavg", 1))
                cells.append("–" if ref is None else f"{device_spread(ref):.1f}x")
            lines.append(f"| {wname} | {sname} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def detail(runs, clock, share):
    lines = ["| workload | setting | algorithm | target acc | time to target | saving vs FedAvg | speedup "
             "| final acc | virtual time (all rounds) | its saving (speedup) vs FedAvg "
             "| update-time spread (slowest/fastest) | mean update time / fastest full-model |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for w, wname in WORKLOADS.items():
        for s, sname in SETTINGS.items():
            ref = runs.get((clock, w, s, "fedavg", 1))
            if ref is None:
                continue
            target = share * evaluated(ref)[1][-1]
            t_ref = time_to(ref, target)
            fastest_full = update_times(ref)[1][1].min()
            for a, aname in ALGORITHMS.items():
                run = runs.get((clock, w, s, a, 1))
                if run is None:
                    continue
                t = time_to(run, target)
                saving = "–" if a == "fedavg" or np.isnan(t) else f"{100 * (1 - t / t_ref):.0f}%"
                speedup = "–" if a == "fedavg" or np.isnan(t) else f"{t_ref / t:.2f}x"
                if a in ASYNC:
                    spread = ratio = "– (asynchronous)"
                else:
                    late = [v for k, v in spread_per_round(run).items() if k >= 3]
                    spread = f"{np.median(late):.2f}x"
                    u = update_times(run)
                    mean_u = np.mean([v[1].mean() for k, v in u.items() if k >= 3])
                    ratio = f"{mean_u / fastest_full:.2f}"
                _, acc = evaluated(run)
                total, total_ref = run["rounds"]["virtual_time_s"][-1], ref["rounds"]["virtual_time_s"][-1]
                whole = "–" if a == "fedavg" else f"{100 * (1 - total / total_ref):.0f}% ({total_ref / total:.2f}x)"
                lines.append(f"| {wname} | {sname} | {aname} | {100 * target:.1f}% | {fmt_time(t)} | {saving} | "
                             f"{speedup} | {100 * acc[-1]:.2f}% | {total:.1f} s | {whole} | {spread} | {ratio} |")
    return "\n".join(lines) + "\n"


def figures(runs, out):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    clocks = [c for c in CLOCKS if any(k[0] == c for k in runs)]
    panels = [(w, s) for w in WORKLOADS for s in SETTINGS if any(k[1:3] == (w, s) for k in runs)]
    fig, axes = plt.subplots(len(clocks), len(panels), figsize=(4.0 * len(panels), 3.3 * len(clocks)),
                             squeeze=False)
    for row, c in enumerate(clocks):
        for ax, (w, s) in zip(axes[row], panels):
            for a, aname in ALGORITHMS.items():
                if (c, w, s, a, 1) in runs:
                    t, acc = evaluated(runs[(c, w, s, a, 1)])
                    ax.plot(t, 100 * acc, label=aname, lw=1.4)
            ax.set_title(f"{WORKLOADS[w]}\n{SETTINGS[s]} ({CLOCKS[c]})", fontsize=8)
            ax.set_xlabel("virtual time (s)")
            ax.set_xscale("log", nonpositive="mask")  # round 0 at time 0 has no place on it
            ax.grid(alpha=0.3)
        axes[row][0].set_ylabel("test accuracy (%), seed 1")
    axes[0][0].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(os.path.join(out, "accuracy_vs_time.png"), dpi=110)
    plt.close(fig)

    clock = clocks[0]
    panels = [(w, s) for (w, s) in panels if (clock, w, s, "adaptcl", 1) in runs and (clock, w, s, "fedavg", 1) in runs]
    fig, axes = plt.subplots(3, len(panels), figsize=(4.0 * len(panels), 8.4), squeeze=False)
    for col, (w, s) in enumerate(panels):
        u = update_times(runs[(clock, w, s, "adaptcl", 1)])
        rounds = sorted(u)
        devices = sorted(set(int(d) for k in rounds for d in u[k][0]))
        for d in devices:
            ks = [k for k in rounds if d in u[k][0]]
            idx = [int(np.flatnonzero(u[k][0] == d)[0]) for k in ks]
            axes[0][col].plot(ks, [u[k][2][i] for k, i in zip(ks, idx)], lw=1)
            axes[1][col].plot(ks, [u[k][1][i] for k, i in zip(ks, idx)], lw=1)
        axes[0][col].set_title(f"AdaptCL: {WORKLOADS[w]}\n{SETTINGS[s]} ({CLOCKS[clock]}, seed 1)", fontsize=8)
        axes[0][col].set_ylim(0, 1.05)
        axes[1][col].set_yscale("log")
        for a, style in (("fedavg", "--"), ("adaptcl", "-")):
            sp = spread_per_round(runs[(clock, w, s, a, 1)])
            axes[2][col].plot(sorted(sp), [sp[k] for k in sorted(sp)], style, label=ALGORITHMS[a])
        axes[2][col].set_xlabel("round")
        axes[2][col].set_yscale("log")
        for ax in axes[:, col]:
            ax.grid(alpha=0.3)
    axes[0][0].set_ylabel("keep rate per worker")
    axes[1][0].set_ylabel("update time per worker (s)")
    axes[2][0].set_ylabel("slowest / fastest update")
    axes[2][0].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(os.path.join(out, "rates_and_update_times.png"), dpi=110)
    plt.close(fig)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("runs_dir")
    ap.add_argument("-o", "--out", default="results/adaptcl")
    ap.add_argument("--target-share", type=float, nargs="+", default=[0.95, 0.99])
    args = ap.parse_args()
    runs = {}
    for c in CLOCKS:
        d = os.path.join(args.runs_dir, c)
        for name in sorted(os.listdir(d)) if os.path.isdir(d) else []:
            m = NAME.match(name)
            if m and m["w"] in WORKLOADS:
                runs[(c, m["w"], m["s"], m["a"], int(m["seed"]))] = load(os.path.join(d, name))
    if not any(k[3] == "fedavg" for k in runs):
        print(f"adaptcl.py: no FedAvg runs in {args.runs_dir}/{{{','.join(CLOCKS)}}}", file=sys.stderr)
        return 2
    os.makedirs(args.out, exist_ok=True)
    seeds = sorted({k[4] for k in runs})
    text = ("Generated by scripts/adaptcl.py from the runs of scripts/reproduce.sh adaptcl "
            f"(seeds {', '.join(map(str, seeds))}).\n\n"
            "### Headline: AdaptCL's saving of virtual time against synchronous FedAvg, mean ± std over seeds\n\n"
            "Target = share x FedAvg's final accuracy in the same setting, clock and seed. Device-speed spread: "
            "slowest / fastest full-model update (FedAvg, round 1, seed 1).\n\n"
            + headline(runs, args.target_share))
    for c, cname in CLOCKS.items():
        if not any(k[0] == c for k in runs):
            continue
        for share in args.target_share:
            text += (f"\n### {cname.capitalize()}, seed 1: target accuracy = {share:g} x synchronous FedAvg's "
                     "final accuracy in the same setting\n\n" + detail(runs, c, share))
    with open(os.path.join(args.out, "table.md"), "w") as f:
        f.write(text)
    print(text)
    figures(runs, args.out)
    print(f"figures: {args.out}/accuracy_vs_time.png, {args.out}/rates_and_update_times.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
