#!/usr/bin/python3
"""results/msfusion/'s tables and figures from the runs of `scripts/reproduce.sh msfusion`.

    /usr/bin/python3 scripts/msfusion.py RUNS_DIR [-o OUT] [--target 0.7] [--targets 0.6,0.7,0.75]
                                        [--cnn-targets 0.5,0.6,0.7] [--max-seed N]

RUNS_DIR holds resnet/<method>-mu<μ>-s<seed>.h5 (msfusion, fedrolex, heterofl; fedavg-s1.h5),
ablation/<name>-s<seed>.h5, scale/msfusion-n<N>[-lr<lr>]-s<seed>.h5 and lm/<method>-s<seed>.h5;
missing ones are skipped. OUT (default results/msfusion) gets tables.md and the figures.

Per-participant computation is read from /tasks.flops (the analytic cost model's training
FLOPs, trainers' extra passes included): the FLOPs of every task of rounds 1..k summed and
divided by the number of devices. "To a target" is that sum up to the first evaluated round
whose assembled (global) model reaches the target on the test set; a run that never reaches
it counts as not reached (and the mean over seeds is then not given). Mean ± sample std over
the seeds present.
"""
import argparse
import os
import re
import sys

import h5py
import numpy as np

METHODS = {"msfusion": "MSfusion", "fedrolex": "FedRolex", "heterofl": "HeteroFL"}
ABLATIONS = {"baseline": "MSfusion (all parts)", "no-contrastive": "without the contrastive term",
             "fixed-overlap": "fixed overlap (level 1)", "no-shift": "without the inter-round shift (ζ = 0)",
             "noniid": "non-iid data (Dirichlet α = 0.5), all parts",
             "noniid-no-contrastive": "non-iid data (Dirichlet α = 0.5), without the contrastive term"}
MIB = 2.0**20


def load(path):
    with h5py.File(path, "r", swmr=True) as f:
        return {"rounds": f["rounds"][:], "tasks": f["tasks"][:], "devices": f["devices"][:],
                "transfers": f["transfers"][:], "status": f["status"][()],
                "tensors": f.attrs["model_tensors"], "config": f.attrs["config"]}


def runs_in(folder, max_seed=0):
    """{(name, seed): run} for folder/<name>-s<seed>.h5 (seed <= max_seed unless 0)"""
    out = {}
    if not os.path.isdir(folder):
        return out
    for f in sorted(os.listdir(folder)):
        m = re.fullmatch(r"(.+)-s(\d+)\.h5", f)
        if m and (max_seed == 0 or int(m.group(2)) <= max_seed):
            run = load(os.path.join(folder, f))
            if run["status"] in (b"complete", "complete"):
                out[(m.group(1), int(m.group(2)))] = run
            else:
                print(f"skipped (not complete): {folder}/{f}", file=sys.stderr)
    return out


def model_bytes(run):
    """The full model's size: 4 B per entry of /final_model's layout (attribute model_tensors)."""
    text = run["tensors"].decode() if isinstance(run["tensors"], bytes) else str(run["tensors"])
    total = 0
    for line in text.strip().splitlines():
        total += int(np.prod([int(d) for d in line.split()[-1].split("x")]))
    return 4 * total


def curve(run):
    """(rounds evaluated, accuracy, test loss, cumulative FLOPs per participant at those rounds)"""
    r, t = run["rounds"], run["tasks"]
    per_round = np.array([t["flops"][t["round"] == k].sum() for k in r["round"]]) / len(run["devices"])
    cum = np.cumsum(per_round)
    keep = (r["round"] >= 1) & ~np.isnan(r["test_accuracy"])
    return r["round"][keep], r["test_accuracy"][keep], r["test_loss"][keep], cum[keep]


def reached(run, target):
    """(round, cumulative FLOPs per participant) of the first evaluation at or above target; NaNs if none"""
    k, acc, _, cum = curve(run)
    hit = np.flatnonzero(acc >= target)
    return (float(k[hit[0]]), float(cum[hit[0]])) if len(hit) else (float("nan"), float("nan"))


def flops_to(run, target):
    return reached(run, target)[1]


def flops_per_round(run):
    t = run["tasks"]
    rounds = max(1, len(np.unique(t["round"])))
    return t["flops"].sum() / len(run["devices"]) / rounds


def final_acc(run):
    return float(curve(run)[1][-1])


def ms(values, scale=1.0, digits=1, unit=""):
    v = np.array(values, dtype=float)
    ok = v[np.isfinite(v)] * scale
    if len(v) == 0:
        return "–"
    if len(ok) < len(v):
        reached = f"{len(ok)} of {len(v)} seeds reached"
        return f"not reached ({reached}" + (f": {ok.mean():.{digits}f}{unit})" if len(ok) else ")")
    text = f"{ok.mean():.{digits}f}"
    if len(ok) > 1:
        text += f" ± {ok.std(ddof=1):.{digits}f}"
    return text + unit


def mean_or_nan(values):
    v = np.array(values, dtype=float)
    return float(v.mean()) if len(v) and np.isfinite(v).all() else float("nan")


def seeds_of(runs, name):
    return [r for (n, s), r in sorted(runs.items()) if n == name]


def task_bytes(run):
    """Largest bytes down and up of one task (device, round), over the run's task traffic."""
    tr = run["transfers"]
    down = up = 0
    for kind, end, field in ((b"download", "destination", "down"), (b"upload", "source", "up")):
        x = tr[(tr["kind"] == kind) & (tr[end] >= 0)]
        if len(x):
            keys = x["round"] * 1_000_000 + x[end]
            _, inverse = np.unique(keys, return_inverse=True)
            largest = int(np.bincount(inverse, weights=x["bytes"]).max())
            if field == "down":
                down = largest
            else:
                up = largest
    return down, up


def size(b):
    for unit, scale in (("MiB", MIB), ("KiB", 1024.0)):
        if b >= scale:
            return f"{b / scale:.2f} {unit}"
    return f"{int(b)} B"


def oom_share(runs):
    t = np.concatenate([r["tasks"] for r in runs])
    return float((t["status"] == b"oom").mean())


def oom_cell(runs):
    """A row's note when every task of every seed ended `oom` (nothing trained)."""
    return "every task `oom` (nothing trained)" if oom_share(runs) == 1.0 else None


def flops_per_sample(run):
    t = run["tasks"]
    return t["flops"].sum() / max(1, t["samples"].sum())


def nobody_holds(resnet):
    fedavg = seeds_of(resnet, "fedavg")
    mine = {n: seeds_of(resnet, n) for n in {k[0] for k in resnet} if n.startswith("msfusion-")}
    if not mine:
        return []
    any_run = next(iter(mine.values()))[0]
    full = model_bytes(any_run)
    caps = any_run["devices"]["memory_cap_bytes"]
    lines = ["## Nobody holds the model\n",
             f"ResNet-18 at width 0.25 on Fashion-MNIST-32: the full model is {full / MIB:.2f} MiB "
             f"({full // 4:,} parameters and buffers); the {len(caps)} devices' memory caps are "
             + (f"{caps.min() / MIB:.0f} MiB each.\n" if caps.min() == caps.max()
                else f"{caps.min() / MIB:.0f}–{caps.max() / MIB:.0f} MiB.\n")]
    if fedavg:
        t = fedavg[0]["tasks"]
        lines.append(f"FedAvg on the same devices (full model, 1 round): training footprint "
                     f"{t['memory_bytes'].max() / MIB:.1f} MiB per device; {int((t['status'] == b'oom').sum())} of "
                     f"{len(t)} tasks end `oom`, {int((t['status'] == b'ok').sum())} train.\n")
    lines += ["| MSfusion split μ | seeds | largest task footprint | largest task download | largest task upload "
              "| peer-to-peer / server bytes | final accuracy of the assembled model |",
              "|---|---|---|---|---|---|---|"]
    for name in sorted(mine, key=lambda n: float(n.split("-mu")[1])):
        rs = mine[name]
        mem = max(int(r["tasks"]["memory_bytes"].max()) for r in rs)
        if oom_cell(rs):
            peak = max(int(r["tasks"]["peak_memory_bytes"].max()) for r in rs)
            lines.append(f"| {name.split('-mu')[1]} | {len(rs)} | estimate {mem / MIB:.1f} MiB, but the allocator refused "
                         f"training at the cap (peak {peak / MIB:.1f} MiB): {oom_cell(rs)} | – | – | – | – |")
            continue
        down, up = np.max([task_bytes(r) for r in rs], axis=0)
        server = sum(int(r["transfers"]["bytes"][((r["transfers"]["source"] == -1) | (r["transfers"]["destination"] == -1))
                                                 & (r["transfers"]["kind"] != b"assembly")].sum()) for r in rs)
        p2p = sum(int(r["transfers"]["bytes"][(r["transfers"]["source"] >= 0) & (r["transfers"]["destination"] >= 0)].sum())
                  for r in rs)
        lines.append(f"| {name.split('-mu')[1]} | {len(rs)} | {mem / MIB:.1f} MiB ({mem / caps.min():.0%} of the cap) "
                     f"| {size(down)} ({down / full:.1%} of the model) | {size(up)} ({up / full:.1%}) "
                     f"| {size(p2p)} / {server} B | {ms([final_acc(r) for r in rs], 100, unit='%')} |")
    lines.append("\nServer bytes count task traffic to or from the server (`/transfers`, source or destination −1, "
                 "`assembly` rows excluded: the evaluation's gathering is bookkeeping, recorded apart).\n")
    return lines


def computation(resnet, targets):
    lines = ["## Computation per participant to a target accuracy\n",
             "ResNet-18 w 0.25, Fashion-MNIST-32 (iid), 8 devices; MFLOP = 10⁶ training FLOPs per participant "
             "(`/tasks.flops` summed over the run's tasks until the assembled model first reaches the target, "
             "divided by the number of devices). MFLOP per sample: a task's forward and backward passes over one sample, with "
             "the trainer's extra passes (MSfusion's contrastive term: two more forwards).\n"]
    head = " | ".join(f"to {100 * x:.0f}% (MFLOP)" for x in targets)
    lines += [f"| method | split μ | seeds | MFLOP per sample | MFLOP per participant per round | final accuracy | best accuracy | {head} |",
              "|---|---|---|---|---|---|---|" + "---|" * len(targets)]
    best = {}
    for m in METHODS:
        for mu in ("0.125", "0.25", "0.5"):
            rs = seeds_of(resnet, f"{m}-mu{mu}")
            if not rs:
                continue
            if oom_cell(rs):
                lines.append(f"| {METHODS[m]} | {mu} | {len(rs)} | " + " | ".join([oom_cell(rs)] + ["–"] * (4 + len(targets)))
                             + " |")
                continue
            cells = []
            for x in targets:
                v = [flops_to(r, x) for r in rs]
                cells.append(ms(v, 1e-6, 0))
                mean = mean_or_nan(v)
                if np.isfinite(mean) and mean < best.get((x, m), (np.inf,))[0]:
                    best[(x, m)] = (mean, mu, v)
            lines.append(f"| {METHODS[m]} | {mu} | {len(rs)} | {ms([flops_per_sample(r) for r in rs], 1e-6, 2)} "
                         f"| {ms([flops_per_round(r) for r in rs], 1e-6, 1)} "
                         f"| {ms([final_acc(r) for r in rs], 100, unit='%')} "
                         f"| {ms([curve(r)[1].max() for r in rs], 100, unit='%')} | " + " | ".join(cells) + " |")
    lines += ["", "Each method at its best split for the target (the split with the least mean computation among "
              "those whose every seed reached it), and the ratio to MSfusion's best:\n",
              "| target | MSfusion | FedRolex | HeteroFL | FedRolex / MSfusion | HeteroFL / MSfusion |",
              "|---|---|---|---|---|---|"]
    for x in targets:
        cell, ratio = {}, {}
        for m in METHODS:
            b = best.get((x, m))
            cell[m] = f"{b[0] * 1e-6:.0f} MFLOP at μ {b[1]}" if b else "not reached at any split"
        mb = best.get((x, "msfusion"))
        for m in ("fedrolex", "heterofl"):
            b = best.get((x, m))
            ratio[m] = f"{b[0] / mb[0]:.2f}×" if b and mb else ("–" if not mb else "> the sweep (not reached)")
        lines.append(f"| {100 * x:.0f}% | {cell['msfusion']} | {cell['fedrolex']} | {cell['heterofl']} "
                     f"| {ratio['fedrolex']} | {ratio['heterofl']} |")
    lines.append("")
    return lines


def config_number(run, section, key):
    """A number from the run's resolved config (the `config` attribute)."""
    text = run["config"].decode() if isinstance(run["config"], bytes) else str(run["config"])
    part = text.split(f"[{section}]", 1)[1].split("\n[", 1)[0]
    return float(re.search(rf"^{key} = (\S+)", part, re.M).group(1))


def scalability(scale, targets):
    """Rows per (learning rate, N); the figure's points are the default learning rate's."""
    names = {}
    for n, _ in scale:
        m = re.fullmatch(r"msfusion-n(\d+)(-lr[\d.]+)?", n)
        if m:
            names[n] = (m.group(2) is not None, int(m.group(1)))
    if not names:
        return [], []
    head = " | ".join(f"to {100 * x:.0f}%: MFLOP (rounds)" for x in targets)
    lines = ["## Scalability: N participants at split 1/N\n",
             "The CNN on Fashion-MNIST (iid), the same 4,000 training samples split over N devices; SGD with "
             "momentum 0.9 at the config's learning rate and, as a sensitivity run, a lower one.\n",
             f"| N | split μ | lr | seeds | samples per participant | MFLOP per participant per round | final accuracy "
             f"| best accuracy | {head} |",
             "|---|---|---|---|---|---|---|---|" + "---|" * len(targets)]
    points = []
    for name in sorted(names, key=names.get):
        varied, n = names[name]
        rs = seeds_of(scale, name)
        cells = []
        for x in targets:
            rounds, to = (list(v) for v in zip(*(reached(r, x) for r in rs)))
            cells.append(f"{ms(to, 1e-6, 0)} ({ms(rounds, 1, 1)})" if np.isfinite(to).all() else ms(to, 1e-6, 0))
            if x == targets[0]:
                points.append((n, rs, to, config_number(rs[0], "algorithm", "lr"), varied))
        samples = int(np.median(rs[0]["devices"]["samples"]))
        lr = config_number(rs[0], "algorithm", "lr")
        lines.append(f"| {n} | 1/{n} | {lr:g} | {len(rs)} | {samples} | {ms([flops_per_round(r) for r in rs], 1e-6, 1)} "
                     f"| {ms([final_acc(r) for r in rs], 100, unit='%')} | {ms([curve(r)[1].max() for r in rs], 100, unit='%')} | "
                     + " | ".join(cells) + " |")
    lines.append("")
    return lines, points


def ablations(abl, resnet, target):
    runs = dict(abl)
    for (n, s), r in resnet.items():
        if n == "msfusion-mu0.25":
            runs[("baseline", s)] = r
    if not any(n != "baseline" for n, _ in runs):
        return []
    lines = ["## Ablations (split μ = 1/4)\n",
             "The study's ResNet setting with one part changed (iid unless said).\n",
             f"| variant | seeds | final accuracy | best accuracy | MFLOP per participant per round "
             f"| MFLOP per participant to {100 * target:.0f}% |",
             "|---|---|---|---|---|---|"]
    for key, label in ABLATIONS.items():
        rs = seeds_of(runs, key)
        if rs:
            lines.append(f"| {label} | {len(rs)} | {ms([final_acc(r) for r in rs], 100, unit='%')} "
                         f"| {ms([curve(r)[1].max() for r in rs], 100, unit='%')} "
                         f"| {ms([flops_per_round(r) for r in rs], 1e-6, 1)} | {ms([flops_to(r, target) for r in rs], 1e-6, 0)} |")
    lines.append("")
    return lines


def language(lm):
    methods = [m for m in ("msfusion", "fedrolex") if seeds_of(lm, m)]
    if not methods:
        return []
    # Equal computation: the smallest per-participant total of any run compared.
    budget = min(curve(r)[3][-1] for m in methods for r in seeds_of(lm, m))
    lines = ["## Language model: the Transformer on fortunes (split 1/4)\n",
             "Perplexity = exp(test loss per character) of the assembled (global) model. At equal computation: "
             f"the last evaluation whose cumulative per-participant computation is within {budget * 1e-6:.0f} MFLOP "
             "(the smallest total of the runs compared).\n",
             "| method | seeds | MFLOP per participant per round | final perplexity | best perplexity "
             f"| perplexity at {budget * 1e-6:.0f} MFLOP per participant |", "|---|---|---|---|---|---|"]
    for m in methods:
        rs = seeds_of(lm, m)
        at = []
        for r in rs:
            _, _, loss, cum = curve(r)
            ok = np.flatnonzero(cum <= budget * (1 + 1e-9))
            at.append(float(np.exp(loss[ok[-1]])) if len(ok) else float("nan"))
        lines.append(f"| {METHODS[m]} | {len(rs)} | {ms([flops_per_round(r) for r in rs], 1e-6, 1)} "
                     f"| {ms([np.exp(curve(r)[2][-1]) for r in rs], 1, 2)} | {ms([np.exp(curve(r)[2].min()) for r in rs], 1, 2)} "
                     f"| {ms(at, 1, 2)} |")
    lines.append("")
    return lines


def band(ax, rs, y_of, label, **kw):
    """Mean ± std over seeds against the mean cumulative per-participant FLOPs, round by round."""
    curves = [curve(r) for r in rs]
    k = min(len(c[0]) for c in curves)
    x = np.mean([c[3][:k] for c in curves], axis=0) * 1e-6
    y = np.array([y_of(c)[:k] for c in curves])
    line, = ax.plot(x, y.mean(axis=0), label=f"{label} ({len(rs)} seeds)", **kw)
    if len(rs) > 1:
        ax.fill_between(x, y.mean(axis=0) - y.std(axis=0, ddof=1), y.mean(axis=0) + y.std(axis=0, ddof=1),
                        color=line.get_color(), alpha=0.2)


def figures(resnet, points, lm, out, target, cnn_target):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    written = []
    mus = [mu for mu in ("0.125", "0.25", "0.5") if any(seeds_of(resnet, f"{m}-mu{mu}") for m in METHODS)]
    if mus:
        fig, axes = plt.subplots(1, len(mus), figsize=(4.6 * len(mus), 3.8), sharey=True, squeeze=False)
        for ax, mu in zip(axes[0], mus):
            for m in METHODS:
                rs = seeds_of(resnet, f"{m}-mu{mu}")
                if rs:
                    band(ax, rs, lambda c: 100 * c[1], METHODS[m], marker=".")
            ax.axhline(100 * target, color="grey", lw=0.8, ls="--")
            ax.set_xscale("log")
            ax.set_title(f"split μ = {mu}")
            ax.set_xlabel("training MFLOP per participant (cumulative)")
            ax.grid(alpha=0.3)
        axes[0][0].set_ylabel("test accuracy of the global model (%)")
        axes[0][0].legend(fontsize=8)
        fig.suptitle("ResNet-18 w 0.25, Fashion-MNIST-32, 8 devices that cannot hold the model (mean ± std)", fontsize=10)
        fig.tight_layout()
        fig.savefig(os.path.join(out, "accuracy_vs_flops.png"), dpi=120)
        plt.close(fig)
        written.append("accuracy_vs_flops.png")
    if points:
        fig, (a, b) = plt.subplots(1, 2, figsize=(10, 3.8))
        missed = set()
        for lr in sorted({p[3] for p in points}, reverse=True):
            series = [p for p in points if p[3] == lr]
            ns = [p[0] for p in series]
            vals = [p[2] for p in series]
            mean = [np.mean(v) * 1e-6 if np.isfinite(v).all() else np.nan for v in vals]
            err = [np.std(v, ddof=1) * 1e-6 if len(v) > 1 and np.isfinite(v).all() else 0 for v in vals]
            a.errorbar(ns, mean, yerr=err, marker="o", capsize=3, label=f"lr {lr:g}")
            missed |= {f"N = {n} (lr {lr:g})" for n, m in zip(ns, mean) if not np.isfinite(m)}
        if missed:
            a.set_title("not reached in every seed: " + ", ".join(sorted(missed)), fontsize=7)
        all_ns = sorted({p[0] for p in points})
        a.set_xscale("log", base=2)
        a.set_yscale("log")
        a.set_xticks(all_ns, [str(n) for n in all_ns])
        a.set_xlabel("participants N (split 1/N)")
        a.set_ylabel(f"MFLOP per participant to {100 * cnn_target:.0f}%")
        a.legend(fontsize=8)
        a.grid(alpha=0.3)
        points = [p for p in points if not p[4]]  # the accuracy curves: the config's learning rate
        for n, rs, _, lr, _ in points:
            band(b, rs, lambda c: 100 * c[1], f"N = {n} (lr {lr:g})", marker=".")
        b.axhline(100 * cnn_target, color="grey", lw=0.8, ls="--")
        b.set_xscale("log")
        b.set_xlabel("training MFLOP per participant (cumulative)")
        b.set_ylabel("test accuracy (%)")
        b.legend(fontsize=8)
        b.grid(alpha=0.3)
        fig.suptitle("MSfusion scalability: the CNN on Fashion-MNIST (mean ± std over seeds)")
        fig.tight_layout()
        fig.savefig(os.path.join(out, "scalability.png"), dpi=120)
        plt.close(fig)
        written.append("scalability.png")
    if lm:
        fig, ax = plt.subplots(figsize=(5.5, 3.8))
        for m in ("msfusion", "fedrolex"):
            rs = seeds_of(lm, m)
            if rs:
                band(ax, rs, lambda c: np.exp(c[2]), METHODS[m], marker=".")
        ax.set_xscale("log")
        ax.set_xlabel("training MFLOP per participant (cumulative)")
        ax.set_ylabel("test perplexity (per character)")
        ax.set_title("Transformer LM on fortunes, split 1/4")
        ax.legend(fontsize=8)
        ax.grid(alpha=0.3)
        fig.tight_layout()
        fig.savefig(os.path.join(out, "lm_perplexity_vs_flops.png"), dpi=120)
        plt.close(fig)
        written.append("lm_perplexity_vs_flops.png")
    return written


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("runs")
    p.add_argument("-o", "--out", default="results/msfusion")
    p.add_argument("--target", type=float, default=0.7, help="ResNet target accuracy (0-1)")
    p.add_argument("--targets", default="0.6,0.7,0.75", help="targets of the computation table")
    p.add_argument("--max-seed", type=int, default=0, help="only seeds 1..N (0: all present)")
    p.add_argument("--cnn-targets", default="0.5,0.6,0.7",
                   help="targets of the scalability (CNN) table; the figure uses the lowest")
    a = p.parse_args()
    os.makedirs(a.out, exist_ok=True)
    resnet = runs_in(os.path.join(a.runs, "resnet"), a.max_seed)
    abl = runs_in(os.path.join(a.runs, "ablation"), a.max_seed)
    scale = runs_in(os.path.join(a.runs, "scale"), a.max_seed)
    lm = runs_in(os.path.join(a.runs, "lm"), a.max_seed)
    if not (resnet or abl or scale or lm):
        sys.exit(f"msfusion.py: no finished runs under {a.runs}/{{resnet,ablation,scale,lm}}/")
    targets = sorted({float(x) for x in a.targets.split(",")} | {a.target})
    seeds = f" --max-seed {a.max_seed}" if a.max_seed else ""
    lines = ["# MSfusion study: tables\n",
             f"Generated by `scripts/msfusion.py {a.runs}{seeds}` from the runs of `scripts/reproduce.sh msfusion` "
             "(analytic clock). Do not edit: re-run the script.\n"]
    lines += nobody_holds(resnet)
    lines += computation(resnet, targets)
    cnn_targets = sorted(float(x) for x in a.cnn_targets.split(","))
    scale_lines, points = scalability(scale, cnn_targets)
    lines += scale_lines
    lines += ablations(abl, resnet, a.target)
    lines += language(lm)
    with open(os.path.join(a.out, "tables.md"), "w") as f:
        f.write("\n".join(lines))
    written = figures(resnet, points, lm, a.out, a.target, cnn_targets[0])
    print(f"wrote {a.out}/tables.md" + "".join(f", {a.out}/{w}" for w in written))


if __name__ == "__main__":
    main()
