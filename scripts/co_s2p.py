#!/usr/bin/python3
"""Tables and figures of the Co-S²P study (results/co-s2p/README.md) from the runs of
scripts/reproduce.sh co-s2p.

    /usr/bin/python3 scripts/co_s2p.py results/co-s2p/runs -o results/co-s2p

RUNS/<workload>/<method>-s<seed>.h5 for the workloads vgg, vit (image classification: accuracy)
and lm (language modelling: perplexity = exp(test loss)). Per workload, every method and
ablation found, mean ± std over seeds (sample std): the final accuracy, the accuracy at equal
virtual time (the last evaluation at or before T*, the earliest of the methods' mean end times),
resource utilisation (Σ task compute time / (virtual time × devices): the root attribute), memory
per device (each device's largest task, estimate and measured peak, averaged over the devices
that trained), oom tasks, and the virtual time to a target (0.9 × the best baseline's mean final
accuracy; LM: 1.1 × its perplexity). The claims table sets Co-S²P beside the best baseline (by
mean final accuracy; LM: by mean final perplexity) and the paper's figures. RUNS/first-round/
holds the 0.11 B-class configuration's first-round checks: every task's memory against its cap.

Writes OUT/tables.md, OUT/accuracy_vs_time.png (VGG and ViT) and OUT/perplexity_vs_time_lm.png.
The run files are not kept in git: a workload (or check) whose runs are not under RUNS keeps its
section and claims rows from the tables.md already in OUT, and the header names those sections;
a figure is redrawn only when all of its workloads' runs are there.
"""
import argparse
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from adaptcl import evaluated  # noqa: E402  (the same reading of /rounds as the AdaptCL study)
from msfusion import config_number, ms, runs_in, seeds_of  # noqa: E402

WORKLOADS = {"vgg": "VGG-11 (width 0.25, exits after each stage), Fashion-MNIST-32, tight-memory-vgg16",
             "vit": "ViT (laptop preset, exits after blocks 2 and 4), Fashion-MNIST-32, jetson16-vit",
             "lm": "Transformer LM (4 blocks, exits after 1-3), fortunes, jetson16-lm"}
METHODS = {"co-s2p": "Co-S²P", "heterofl": "HeteroFL", "fedrolex": "FedRolex", "fjord": "FjORD",
           "depthfl": "DepthFL", "fedavg": "FedAvg (devices that fit)", "fedbuff": "FedBuff (K = 8)"}
ABLATIONS = {"co-s2p": "Co-S²P (learned masks, cross-block transfer, semi-async)",
             "co-s2p-no-kd": "without cross-block transfer", "co-s2p-prefix": "without learned masks (static prefix)",
             "co-s2p-sync": "synchronous"}
CLAIMS = {"accuracy": "up to +8.8% accuracy", "utilisation": "1.2x resource utilisation",
          "memory": "~22% less memory", "time": "~24% less training time"}
MIB = 2.0**20


def score(run, lm):
    """(virtual times, score at each evaluation): accuracy, or perplexity for the LM"""
    r = run["rounds"]
    keep = ~np.isnan(r["test_accuracy"])
    t = r["virtual_time_s"][keep]
    if not lm:
        return evaluated(run)
    with np.errstate(over="ignore", invalid="ignore"):  # a diverged run's loss: inf or nan
        return t, np.exp(r["test_loss"][keep])


def better(a, b, lm):
    return a < b if lm else a > b


def at_time(run, t_star, lm):
    t, s = score(run, lm)
    before = np.flatnonzero(t <= t_star + 1e-12)
    return float(s[before[-1]]) if len(before) else float("nan")


def time_to(run, target, lm):
    t, s = score(run, lm)
    hit = np.flatnonzero(s <= target if lm else s >= target)
    return float(t[hit[0]]) if len(hit) else float("nan")


def utilisation(run):
    return float(run["attrs"].get("resource_utilisation", float("nan")))


def memory_per_device(run, column):
    """Each device's largest task (ok tasks only), averaged over the devices that trained."""
    t = run["tasks"]
    ok = t[t["status"] == b"ok"]
    if len(ok) == 0:
        return float("nan")
    return float(np.mean([ok[column][ok["device"] == d].max() for d in np.unique(ok["device"])]))


def summary(rs, lm, t_star, target):
    final = [score(r, lm)[1][-1] for r in rs]
    scale, unit, digits = (1.0, "", 2) if lm else (100.0, "%", 2)
    return {
        "final": ms(final, scale, digits, unit), "final_mean": float(np.mean(final)),
        "at": ms([at_time(r, t_star, lm) for r in rs], scale, digits, unit),
        "at_mean": float(np.mean([at_time(r, t_star, lm) for r in rs])),
        "util": ms([utilisation(r) for r in rs], 100.0, 1, "%"), "util_mean": float(np.mean([utilisation(r) for r in rs])),
        "mem": ms([memory_per_device(r, "memory_bytes") / MIB for r in rs], 1.0, 1),
        "mem_mean": float(np.mean([memory_per_device(r, "memory_bytes") for r in rs])),
        "peak": ms([memory_per_device(r, "peak_memory_bytes") / MIB for r in rs], 1.0, 1),
        "oom": ms([np.count_nonzero(r["tasks"]["status"] == b"oom") for r in rs], 1.0, 0),
        "time": ms([time_to(r, target, lm) for r in rs], 1.0, 2, " s"),
        "time_mean": float(np.mean([time_to(r, target, lm) for r in rs])),
        "end": ms([r["rounds"]["virtual_time_s"][-1] for r in rs], 1.0, 2, " s"),
        "seeds": len(rs), "lr": f"{config_number(rs[0], 'algorithm', 'lr'):g}",
    }


def less(ours, theirs):
    share = 1 - ours / theirs
    return f"{100 * share:.0f}% less" if share >= 0 else f"{-100 * share:.0f}% more"


def load_workload(folder):
    runs = runs_in(folder)
    for run in runs.values():
        run.setdefault("attrs", {})
    return runs


def workload_tables(name, runs, lm):
    baselines = [m for m in METHODS if m != "co-s2p" and seeds_of(runs, m)]
    names = [m for m in list(METHODS) + list(ABLATIONS) if seeds_of(runs, m)]
    if not names:
        return None, None
    ends = [np.mean([r["rounds"]["virtual_time_s"][-1] for r in seeds_of(runs, m)]) for m in names if m in METHODS]
    t_star = float(min(ends)) if ends else float("inf")
    final_of = {m: np.mean([score(r, lm)[1][-1] for r in seeds_of(runs, m)]) for m in names}
    best = None
    for m in baselines:
        if best is None or better(final_of[m], final_of[best], lm):
            best = m
    ref = final_of[best] if best else final_of[names[0]]
    target = 1.1 * ref if lm else 0.9 * ref
    what = "perplexity" if lm else "accuracy"
    stats = {m: summary(seeds_of(runs, m), lm, t_star, target) for m in names}
    best_name = METHODS.get(best, "–")
    target_text = (f"target perplexity {target:.2f} (1.1 x the best baseline's, {best_name})" if lm else
                   f"target accuracy {100 * target:.1f}% (0.9 x the best baseline's mean final, {best_name})")
    head = f"### {WORKLOADS[name]}\n\nT* = {t_star:.2f} s of virtual time (the earliest mean end); {target_text}.\n"
    cols = ("| method | lr | seeds | final " + what + " | " + what + " at T* | utilisation | memory/device "
            "(estimate; peak, MiB) | oom tasks | virtual time to target | virtual time (all) |\n"
            "|---|---|---|---|---|---|---|---|---|---|")
    rows = [f"| {METHODS.get(m, ABLATIONS.get(m))} | {s['lr']} | {s['seeds']} | {s['final']} | {s['at']} | {s['util']} | "
            f"{s['mem']}; {s['peak']} | {s['oom']} | {s['time']} | {s['end']} |"
            for m, s in stats.items() if m in METHODS]
    abl = [f"| {ABLATIONS[m]} | {s['lr']} | {s['seeds']} | {s['final']} | {s['at']} | {s['util']} | {s['mem']}; {s['peak']} | "
           f"{s['oom']} | {s['time']} | {s['end']} |" for m, s in stats.items() if m in ABLATIONS]
    text = head + "\n" + cols + "\n" + "\n".join(rows) + "\n"
    if abl:
        text += "\nAblations (Co-S²P's parts):\n\n" + cols.replace("| method |", "| variant |") + "\n" + "\n".join(abl) + "\n"
    claims = None
    if "co-s2p" in stats and best:
        c, b = stats["co-s2p"], stats[best]
        if lm:  # lower is better: Co-S²P's final perplexity beside the best baseline's, and the relative change
            acc = (f"perplexity {c['final_mean']:.2f} vs {b['final_mean']:.2f} ({METHODS[best]}): "
                   f"{100 * (c['final_mean'] / b['final_mean'] - 1):+.1f}% final (lower is better)")
        else:
            acc = f"{100 * (c['final_mean'] - b['final_mean']):+.2f} pp final vs {METHODS[best]}"
        claims = [f"| {name} | accuracy{' (perplexity)' if lm else ''} | {CLAIMS['accuracy']} | {acc} |",
                  f"| {name} | utilisation | {CLAIMS['utilisation']} | {c['util_mean'] / b['util_mean']:.2f}x "
                  f"({100 * c['util_mean']:.1f}% vs {100 * b['util_mean']:.1f}%) |",
                  f"| {name} | memory per device | {CLAIMS['memory']} | {less(c['mem_mean'], b['mem_mean'])} |",
                  f"| {name} | time to target | {CLAIMS['time']} | " +
                  (f"{less(c['time_mean'], b['time_mean'])} |"
                   if np.isfinite(c["time_mean"]) and np.isfinite(b["time_mean"]) else
                   f"Co-S²P {c['time']}, {METHODS[best]} {b['time']} |")]
    return text, claims


def lr_sweep(folder, lm):
    """Seed 1's final score at every learning rate tried (RUNS/<workload>/lr/<method>-lr<lr>-s1.h5)."""
    import re

    if not os.path.isdir(folder):
        return None
    found = {}
    for (name, _), run in runs_in(folder).items():
        m = re.fullmatch(r"(.+)-lr([0-9.]+)", name)
        if m:
            found.setdefault(m.group(1), {})[float(m.group(2))] = score(run, lm)[1][-1]
    if not found:
        return None
    lrs = sorted({lr for v in found.values() for lr in v}, reverse=True)
    lines = ["| method | " + " | ".join(f"lr {lr:g}" for lr in lrs) + " |", "|---|" + "---|" * len(lrs)]
    for m in METHODS:
        if m in found:
            cells = [found[m].get(lr) for lr in lrs]
            lines.append(f"| {METHODS[m]} | " + " | ".join(
                "–" if c is None else "diverged" if not np.isfinite(c) else (f"{c:.2f}" if lm else f"{100 * c:.1f}%")
                for c in cells) + " |")
    what = "perplexity" if lm else "accuracy"
    return (f"Learning-rate sweep (seed 1, final {what}; each method then runs at its best; diverged: the last "
            f"evaluation's test loss is not finite):\n\n" + "\n".join(lines) + "\n")


def first_round(path, heading):
    """The 0.11 B-class configuration's first round: every task against its device's cap."""
    import h5py

    with h5py.File(path, "r", swmr=True) as f:
        if f["status"][()] not in (b"complete", "complete"):
            print(f"skipped (not complete): {path}", file=sys.stderr)
            return None
        t, d = f["tasks"][:], f["devices"][:]
        entries = int(f["final_model"].shape[0])
    rows = ["| device class | devices | rate | task memory, estimate (GiB) | measured peak (GiB) | cap (GiB) | status |",
            "|---|---|---|---|---|---|---|"]
    for profile in dict.fromkeys(d["profile"]):
        devs = d["device"][d["profile"] == profile]
        x = t[np.isin(t["device"], devs)]
        cap = d["memory_cap_bytes"][d["profile"] == profile][0]
        name = profile.decode() if isinstance(profile, bytes) else profile
        if len(x) == 0:
            rows.append(f"| {name} | {len(devs)} | – | – | – | {cap / 2**30:.1f} | no task reported in the round |")
            continue
        status = ", ".join(f"{n} {s.decode()}" for s, n in zip(*np.unique(x["status"], return_counts=True)))
        rows.append(f"| {name} | {len(devs)} | "
                    f"{', '.join(f'{r:g}' for r in np.unique(x['rate']))} | {x['memory_bytes'].max() / 2**30:.2f} | "
                    f"{x['peak_memory_bytes'].max() / 2**30:.2f} | {cap / 2**30:.1f} | {status} |")
    schedule = ("synchronous: every device's task is in the round" if "sync" in os.path.basename(path) else
                "semi-asynchronous: the round closes with the first K = 8 tasks")
    return (f"{heading}\n\n"
            f"{entries / 1e6:.1f} M model entries (parameters and buffers), {len(d)} devices, batch 32 x 256 tokens, "
            f"one step per device (masks learned over one pass first, at full width); {schedule}. "
            f"Each task's largest footprint (enforced caps: a task is oom if its estimate exceeds the cap, or "
            f"if the counting allocator sees an allocation cross it):\n\n"
            + "\n".join(rows) + "\n")


def figure(all_runs, out, workloads, filename):
    """One panel per workload; written only when every one of `workloads` has runs (else the file
    there, made from the runs of an earlier session, is left as it is), or when no such file exists."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    present = [w for w in workloads if all_runs.get(w)]
    path = os.path.join(out, filename)
    if not present or (len(present) < len(workloads) and os.path.exists(path)):
        if present or os.path.exists(path):
            print(f"kept {path} (runs of {', '.join(w for w in workloads if w not in present)} not under RUNS)")
        return
    fig, axes = plt.subplots(1, len(present), figsize=(5.5 * len(present), 4), squeeze=False)
    for ax, w in zip(axes[0], present):
        lm = w == "lm"
        for m in list(METHODS) + [a for a in ABLATIONS if a != "co-s2p"]:
            rs = seeds_of(all_runs[w], m)
            if not rs:
                continue
            curves = [score(r, lm) for r in rs]
            n = min(len(c[0]) for c in curves)
            t = np.mean([c[0][:n] for c in curves], axis=0)
            s = np.array([c[1][:n] for c in curves]) * (1 if lm else 100)
            style = "-" if m in METHODS else ":"
            line, = ax.plot(t, s.mean(axis=0), style, label=METHODS.get(m) or "Co-S²P " + ABLATIONS[m], lw=1.5)
            if len(rs) > 1:
                ax.fill_between(t, s.mean(axis=0) - s.std(axis=0, ddof=1), s.mean(axis=0) + s.std(axis=0, ddof=1),
                                color=line.get_color(), alpha=0.15)
        ax.set_title({"vit": "ViT", "lm": "Transformer LM (fortunes)"}.get(w, w.upper()), fontsize=10)
        ax.set_xlabel("virtual time (s)")
        ax.set_ylabel("test perplexity" if lm else "test accuracy (%)")
        if lm:
            ax.set_yscale("log")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    fig.suptitle("Co-S²P against the baselines (mean ± std over seeds)", fontsize=11)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    print(f"wrote {path}")


def previous_tables(path):
    """The sections (by their '### ' heading) and the claims rows (by workload) of an earlier tables.md."""
    sections, claims = {}, {}
    if not os.path.exists(path):
        return sections, claims
    heading = None
    for line in open(path, encoding="utf-8").read().split("\n"):
        if line.startswith("### "):
            heading = line
            sections[heading] = []
        elif heading:
            sections[heading].append(line)
    for heading, lines in sections.items():
        if heading.startswith("### The paper's claims"):
            for line in lines:
                cells = line.split("|")
                if len(cells) > 2 and cells[1].strip() in WORKLOADS:
                    claims.setdefault(cells[1].strip(), []).append(line)
    return {h: "\n".join([h] + lines).rstrip("\n") + "\n" for h, lines in sections.items()}, claims


# The first-round checks of the 0.11 B-class configuration: run name -> its section's heading.
FIRST_ROUNDS = {
    "bert-base-classes-sync-s1": "### The 0.11 B-class configuration: its first round with one device of each class "
                                 "(fortunes-bert-base.toml, synchronous)",
    "bert-base-s1": "### The 0.11 B-class configuration: its first round (fortunes-bert-base.toml)",
}


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("runs")
    p.add_argument("-o", "--out", default="results/co-s2p")
    a = p.parse_args()
    import h5py

    all_runs = {}
    for w in WORKLOADS:
        runs = load_workload(os.path.join(a.runs, w))
        for (m, s), run in runs.items():
            with h5py.File(os.path.join(a.runs, w, f"{m}-s{s}.h5"), "r", swmr=True) as f:
                run["attrs"] = dict(f.attrs)
        all_runs[w] = runs
    checks = {name: os.path.join(a.runs, "first-round", f"{name}.h5") for name in FIRST_ROUNDS}
    checks = {name: path for name, path in checks.items() if os.path.exists(path)}
    if not any(all_runs.values()) and not checks:
        sys.exit(f"no complete runs under {a.runs}")
    os.makedirs(a.out, exist_ok=True)
    # A workload (or first-round check) whose runs are not under RUNS keeps its section, and its
    # claims rows, from the tables.md already in OUT (made from the runs of an earlier session).
    old_sections, old_claims = previous_tables(os.path.join(a.out, "tables.md"))
    parts, claims, kept = [], [], []
    for w in WORKLOADS:
        heading = f"### {WORKLOADS[w]}"
        if not all_runs[w]:
            if heading in old_sections:
                parts.append(old_sections[heading])
                claims += old_claims.get(w, [])
                kept.append(w)
            continue
        text, c = workload_tables(w, all_runs[w], w == "lm")
        sweep = lr_sweep(os.path.join(a.runs, w, "lr"), w == "lm")
        parts.append(text + ("\n" + sweep if sweep else ""))
        claims += c or []
    if claims:
        parts.append("### The paper's claims beside the measured figures\n\n| workload | figure | paper | measured "
                     "(Co-S²P vs the best baseline by final accuracy; LM: by final perplexity) |\n|---|---|---|---|\n"
                     + "\n".join(claims) + "\n")
    for name, heading in FIRST_ROUNDS.items():
        table = first_round(checks[name], heading) if name in checks else None
        if table:
            parts.append(table)
        elif heading in old_sections:
            parts.append(old_sections[heading])
            kept.append(f"first-round/{name}")
    head = "Generated by scripts/co_s2p.py from the runs of scripts/reproduce.sh co-s2p (analytic clock)."
    if kept:
        head += (" Sections kept unchanged from the previous tables.md, whose runs are not under RUNS (run files "
                 "are not kept in git): " + ", ".join(kept) + ".")
    with open(os.path.join(a.out, "tables.md"), "w") as f:
        f.write("\n".join([head + "\n"] + parts))
    print(f"wrote {a.out}/tables.md" + (f" (kept: {', '.join(kept)})" if kept else ""))
    figure(all_runs, a.out, ["vgg", "vit"], "accuracy_vs_time.png")
    figure(all_runs, a.out, ["lm"], "perplexity_vs_time_lm.png")


if __name__ == "__main__":
    main()
