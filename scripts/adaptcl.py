#!/usr/bin/python3
"""AdaptCL's headline comparison from the runs of `scripts/reproduce.sh adaptcl`: a markdown
table and figures in OUT (default results/adaptcl).

    /usr/bin/python3 scripts/adaptcl.py RUNS_DIR [-o OUT] [--target-share 0.95 0.99]

RUNS_DIR holds <workload>-<setting>-<algorithm>.h5 for workloads fmnist-cnn and cifar-vgg11,
settings low, high and high-skew (Dirichlet 0.5 labels), algorithms fedavg, fedavg-deadline,
fedasync, adaptcl; missing ones are skipped.
Reported, as the paper does:
  - virtual time to a target accuracy, and AdaptCL's saving against synchronous FedAvg
    (1 - t_adaptcl / t_fedavg) and speedup (t_fedavg / t_adaptcl). The target is
    --target-share x the final accuracy of synchronous FedAvg in the same setting (one
    table per share: 0.95 is reached early in a run, 0.99 near its end);
  - final accuracy after the same amount of local training (R rounds; FedAsync: 16 R updates),
    and the virtual time that took, with its saving against synchronous FedAvg;
  - the spread of per-worker update times in a round (slowest / fastest, median over rounds
    3..R; update time = end_s - start_s in /tasks), and its ratio to the fastest worker's
    full-model update time (round 1 of synchronous FedAvg).
Figures: accuracy against virtual time; AdaptCL's keep rates and per-worker update times per
round; the update-time spread per round for FedAvg and AdaptCL.
"""
import argparse
import os
import sys

import h5py
import numpy as np

WORKLOADS = {"fmnist-cnn": "Fashion-MNIST, CNN", "cifar-vgg11": "CIFAR-shaped, VGG-11"}
SETTINGS = {"low": "low heterogeneity", "high": "high heterogeneity",
            "high-skew": "high heterogeneity, label skew"}
ALGORITHMS = {"fedavg": "FedAvg (wait for all)", "fedavg-deadline": "FedAvg (deadline)",
              "fedasync": "FedAsync", "adaptcl": "AdaptCL"}


def load(path):
    with h5py.File(path, "r", swmr=True) as f:
        return {"rounds": f["rounds"][:], "tasks": f["tasks"][:], "status": f.attrs.get("status", b"")}


def evaluated(run):
    r = run["rounds"]
    keep = ~np.isnan(r["test_accuracy"])
    return r["virtual_time_s"][keep], r["test_accuracy"][keep]


def time_to(run, target):
    t, acc = evaluated(run)
    hit = np.flatnonzero(acc >= target)
    return float(t[hit[0]]) if len(hit) else float("nan")


def update_times(run):
    """{round: update times of the tasks that trained, by device}"""
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


def table(runs, share):
    lines = ["| workload | setting | algorithm | target acc | time to target | saving vs FedAvg | speedup "
             "| final acc | virtual time (all rounds) | its saving (speedup) vs FedAvg "
             "| update-time spread (slowest/fastest) | mean update time / fastest full-model |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for w, wname in WORKLOADS.items():
        for s, sname in SETTINGS.items():
            ref = runs.get((w, s, "fedavg"))
            if ref is None:
                continue
            target = share * evaluated(ref)[1][-1]
            t_ref = time_to(ref, target)
            fastest_full = update_times(ref)[1][1].min()
            for a, aname in ALGORITHMS.items():
                run = runs.get((w, s, a))
                if run is None:
                    continue
                t = time_to(run, target)
                saving = "–" if a == "fedavg" or np.isnan(t) else f"{100 * (1 - t / t_ref):.0f}%"
                speedup = "–" if a == "fedavg" or np.isnan(t) else f"{t_ref / t:.2f}x"
                if a == "fedasync":
                    spread = ratio = "– (asynchronous)"
                else:
                    sp = spread_per_round(run)
                    late = [v for k, v in sp.items() if k >= 3]
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

    panels = [(w, s) for w in WORKLOADS for s in SETTINGS if (w, s, "fedavg") in runs]
    fig, axes = plt.subplots(1, len(panels), figsize=(4.2 * len(panels), 3.4), squeeze=False)
    for ax, (w, s) in zip(axes[0], panels):
        for a, aname in ALGORITHMS.items():
            if (w, s, a) in runs:
                t, acc = evaluated(runs[(w, s, a)])
                ax.plot(t, 100 * acc, label=aname, lw=1.4)
        ax.set_title(f"{WORKLOADS[w]}\n{SETTINGS[s]}", fontsize=9)
        ax.set_xlabel("virtual time (s)")
        ax.set_xscale("log", nonpositive="mask")  # round 0 at time 0 has no place on it
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel("test accuracy (%)")
    axes[0][0].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(os.path.join(out, "accuracy_vs_time.png"), dpi=120)
    plt.close(fig)

    panels = [(w, s) for (w, s) in panels if (w, s, "adaptcl") in runs]
    fig, axes = plt.subplots(3, len(panels), figsize=(4.2 * len(panels), 8.4), squeeze=False)
    for col, (w, s) in enumerate(panels):
        u = update_times(runs[(w, s, "adaptcl")])
        rounds = sorted(u)
        devices = sorted(set(int(d) for k in rounds for d in u[k][0]))
        for d in devices:
            ks = [k for k in rounds if d in u[k][0]]
            idx = [int(np.flatnonzero(u[k][0] == d)[0]) for k in ks]
            axes[0][col].plot(ks, [u[k][2][i] for k, i in zip(ks, idx)], lw=1)
            axes[1][col].plot(ks, [u[k][1][i] for k, i in zip(ks, idx)], lw=1)
        axes[0][col].set_title(f"AdaptCL: {WORKLOADS[w]}\n{SETTINGS[s]}", fontsize=9)
        axes[0][col].set_ylim(0, 1.05)
        axes[1][col].set_yscale("log")
        for a, style in (("fedavg", "--"), ("adaptcl", "-")):
            sp = spread_per_round(runs[(w, s, a)])
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
    fig.savefig(os.path.join(out, "rates_and_update_times.png"), dpi=120)
    plt.close(fig)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("runs_dir")
    ap.add_argument("-o", "--out", default="results/adaptcl")
    ap.add_argument("--target-share", type=float, nargs="+", default=[0.95, 0.99])
    args = ap.parse_args()
    runs = {}
    for w in WORKLOADS:
        for s in SETTINGS:
            for a in ALGORITHMS:
                path = os.path.join(args.runs_dir, f"{w}-{s}-{a}.h5")
                if os.path.exists(path):
                    runs[(w, s, a)] = load(path)
    if not runs:
        print(f"adaptcl.py: no runs in {args.runs_dir}", file=sys.stderr)
        return 2
    os.makedirs(args.out, exist_ok=True)
    text = "Generated by scripts/adaptcl.py from the runs of scripts/reproduce.sh adaptcl.\n"
    for share in args.target_share:
        text += (f"\n### Target accuracy = {share:g} x synchronous FedAvg's final accuracy in the same setting\n\n"
                 + table(runs, share))
    with open(os.path.join(args.out, "table.md"), "w") as f:
        f.write(text)
    print(text)
    figures(runs, args.out)
    print(f"figures: {args.out}/accuracy_vs_time.png, {args.out}/rates_and_update_times.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
