#!/usr/bin/python3
"""Tables and figures of Asteroid's study (scripts/reproduce.sh asteroid, results/asteroid/).

    scripts/asteroid.py RUNS_DIR -o OUT_DIR

RUNS_DIR holds throughput/<device set>/<model>-<planner or fedavg>.h5, mixed/r<R>/<model>-<planner>.h5,
microbatch/<set>/<model>-m<M>.h5
and recovery/<name>-s<seed>.h5 (the names reproduce.sh gives). Writes OUT_DIR/tables.md and
OUT_DIR/{throughput,timeline,recovery}.png, and puts the tables into OUT_DIR/README.md between its
BEGIN/END tables.md markers if it has them. Every number comes from the results files
(docs/RESULTS.md: /pipeline_iterations, /pipeline_ops, /pipeline_memory, /pipeline_faults).
Needs Debian's python3-h5py and python3-matplotlib, hence /usr/bin/python3.
"""
import argparse
import glob
import os
import re
import sys

import h5py
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import plot  # noqa: E402  (the pipeline panels of scripts/plot.py)

PLANNERS = ["asteroid", "data_parallel", "gpipe", "pipedream", "hetpipe"]
PLANNER_NAMES = {"asteroid": "Asteroid", "data_parallel": "data parallel (EDDL-like)",
                 "gpipe": "GPipe-like", "pipedream": "PipeDream planner",
                 "hetpipe": "HetPipe-like hybrid"}
CONVENTIONAL = ("data_parallel", "gpipe")   # one kind of parallelism only
HYBRID = ("pipedream", "hetpipe")           # pipeline + data parallel stages
SETS = {"jetson16": "16 Jetsons, Wi-Fi", "home5": "home/office 5, Wi-Fi",
        "home5-ethernet": "home/office 5, Gigabit Ethernet",
        "home5-ethernet-slow": "home/office 5, Ethernet, compute 10× slower"}
MODELS = {"fmnist32-vgg16": "VGG-16", "fmnist32-vit": "ViT (vit-tiny)",
          "fortunes-lm": "Transformer LM (small)"}
# The paper's claims (arXiv 2408.08015, abstract).
CLAIM_CONVENTIONAL, CLAIM_HYBRID, CLAIM_RECOVERY = 12.2, 2.1, 14.0


class Pipe:
    """One pipeline run's tables."""

    def __init__(self, path):
        self.path = path
        with h5py.File(path, "r", swmr=True) as f:
            self.rounds = f["rounds"][()]
            self.its = f["pipeline_iterations"][()]
            self.ops = f["pipeline_ops"][()]
            self.memory = f["pipeline_memory"][()]
            self.faults = f["pipeline_faults"][()]
            status = f["status"][()] if "status" in f else b""
            self.slowdown = f["devices"]["slowdown"][()]
        self.complete = status == b"complete"
        first = self.its[self.its["rerun"] == 0]
        self.oom = not np.isfinite(first["train_loss"]).all()
        self.label = os.path.splitext(os.path.basename(path))[0]

    def throughput(self, its=None):
        """samples / virtual s over the given iterations (default: every first run)."""
        its = self.its[self.its["rerun"] == 0] if its is None else its
        if self.oom or not len(its):
            return 0.0
        return float(its["samples"].sum() / (its["end_s"] - its["start_s"]).sum())

    def plan(self, plan_id=0):
        """(stages, devices, micro-batches) of a plan, from its first iteration's rows."""
        it = self.its[self.its["plan_id"] == plan_id]["iteration"]
        if not len(it):
            return None
        mem = self.memory[self.memory["iteration"] == it[0]]
        ops = self.ops[(self.ops["iteration"] == it[0]) & (self.ops["micro_batch"] >= 0)]
        return (int(mem["stage"].max()) + 1, len(np.unique(mem["device"])),
                len(np.unique(ops["micro_batch"])) if len(ops) else 0)


    def mixed_stages(self, plan_id=0):
        """stages of the plan whose devices have different compute slowdowns"""
        it = self.its[self.its["plan_id"] == plan_id]["iteration"]
        mem = self.memory[self.memory["iteration"] == it[0]]
        return sum(len(np.unique(self.slowdown[mem["device"][mem["stage"] == st]])) > 1
                   for st in np.unique(mem["stage"]))


def fmt(x, digits=3):
    if x is None or (isinstance(x, float) and not np.isfinite(x)):
        return "–"
    return f"{x:.{digits}g}"


def throughput_tables(runs_dir):
    """Tables 1 and 2, and the data of the throughput figure."""
    lines, data, best = [], {}, {"conv": [], "hybrid": []}
    lines += ["## Throughput (samples per virtual second; one iteration per plan: the analytic "
              "clock makes every iteration of a plan equally long)", "",
              "| device set | model | " + " | ".join(PLANNER_NAMES[p] for p in PLANNERS)
              + " | Asteroid ÷ " + " | ÷ ".join(PLANNER_NAMES[p] for p in PLANNERS[1:]) + " |",
              "|---|---|" + "---:|" * (2 * len(PLANNERS) - 1)]
    plans = ["", "Plans (stages / devices used / micro-batches M):", "",
             "| device set | model | " + " | ".join(PLANNER_NAMES[p] for p in PLANNERS) + " |",
             "|---|---|" + "---|" * len(PLANNERS)]
    for s in SETS:
        for m in MODELS:
            paths = {p: os.path.join(runs_dir, "throughput", s, f"{m}-{p}.h5") for p in PLANNERS}
            if not all(os.path.isfile(x) for x in paths.values()):
                continue
            r = {p: Pipe(x) for p, x in paths.items()}
            tp = {p: r[p].throughput() for p in PLANNERS}
            data[(s, m)] = tp
            sp = {p: (tp["asteroid"] / tp[p] if tp[p] > 0 else float("inf")) for p in PLANNERS[1:]}
            best["conv"] += [(sp[p], s, m, p) for p in CONVENTIONAL]
            best["hybrid"] += [(sp[p], s, m, p) for p in HYBRID]
            cell = lambda p: "oom" if r[p].oom else fmt(tp[p])
            lines.append(f"| {SETS[s]} | {MODELS[m]} | " + " | ".join(cell(p) for p in PLANNERS)
                         + " | " + " | ".join("∞ (oom)" if not np.isfinite(sp[p]) else f"{sp[p]:.2f}×"
                                              for p in PLANNERS[1:]) + " |")
            plans.append(f"| {SETS[s]} | {MODELS[m]} | "
                         + " | ".join("{} / {} / {}".format(*r[p].plan()) for p in PLANNERS) + " |")
    lines += plans
    lines += ["", "Measured against the paper's claims (largest speedup over the runs above):", "",
              "| Asteroid over | paper (up to) | measured (up to) | where | measured (smallest) |",
              "|---|---:|---:|---|---:|"]
    for key, claim, what in (("conv", CLAIM_CONVENTIONAL, "conventional parallelism (data parallel, GPipe-like)"),
                             ("hybrid", CLAIM_HYBRID, "hybrid parallelism (PipeDream planner, HetPipe-like)")):
        if best[key]:
            hi, lo = max(best[key]), min(best[key])
            lines.append(f"| {what} | {claim}× | {hi[0]:.1f}× | {SETS[hi[1]]}, {MODELS[hi[2]]}, "
                         f"{PLANNER_NAMES[hi[3]]} | {lo[0]:.2f}× |")
    return lines, data


class FedAvg:
    """A FedAvg reference run (federated runtime, docs/RESULTS.md /rounds and /tasks)."""

    def __init__(self, path):
        with h5py.File(path, "r", swmr=True) as f:
            rounds, tasks = f["rounds"][()], f["tasks"][()]
        rounds = rounds[rounds["round"] >= 1]
        ok = tasks["status"] != b"oom"
        first = tasks[tasks["round"] == 1]
        self.devices = len(first)
        self.oom = int(np.count_nonzero(first["status"] == b"oom"))
        start = np.concatenate([[0.0], rounds["virtual_time_s"][:-1]])
        span = float((rounds["virtual_time_s"] - start).sum())
        # samples of the tasks that trained (not oom), per virtual second of the rounds
        self.samples = int(tasks["samples"][ok].sum())
        self.throughput = self.samples / span if span > 0 else 0.0
        self.round_s = span / max(len(rounds), 1)
        self.loss = float(rounds["train_loss"][0]) if len(rounds) else float("nan")


def fedavg_table(runs_dir, data):
    lines = ["", "## FedAvg on the same devices and data (a reference point, not the same computation)", "",
             "FedAvg (`algorithm.name = \"fedavg\"`, the federated runtime): every device trains its own copy "
             "of the whole model on its IID share of the same training set (one local epoch at the same "
             "batch size), uploads it, and the server averages; a device that cannot hold the whole model "
             "is `oom` and contributes nothing. Samples/s = samples trained by the devices that are not "
             "`oom` ÷ the rounds' virtual time (download, local epoch, upload; the slowest device ends "
             "the round). It counts local-copy samples, which do not add up to one model's progress as a "
             "pipeline's do, and it grows with the local epoch's length (longer rounds amortise the model "
             "transfers). Train loss: FedAvg's first round (mean local loss over all its samples) — not "
             "comparable to one pipeline iteration's loss, so not put beside it.", "",
             "| device set | model | devices that cannot hold the model | FedAvg samples/s | round (virtual s) "
             "| FedAvg round-1 train loss | Asteroid samples/s | Asteroid ÷ FedAvg |",
             "|---|---|---:|---:|---:|---:|---:|---:|"]
    n = 0
    for s in SETS:
        for m in MODELS:
            path = os.path.join(runs_dir, "throughput", s, f"{m}-fedavg.h5")
            if not os.path.isfile(path) or (s, m) not in data:
                continue
            r, ast = FedAvg(path), data[(s, m)]["asteroid"]
            ratio = f"{ast / r.throughput:.2f}×" if r.throughput > 0 else "∞"
            lines.append(f"| {SETS[s]} | {MODELS[m]} | {r.oom} of {r.devices} | {fmt(r.throughput)} | "
                         f"{fmt(r.round_s)} | {fmt(r.loss)} | {fmt(ast)} | {ratio} |")
            n += 1
    return lines if n else []


def mixed_table(runs_dir):
    """Asteroid against the HetPipe-like hybrid on mixed8-r<R>: the speed spread inside a stage."""
    rows = []
    for path in glob.glob(os.path.join(runs_dir, "mixed", "r*", "*-asteroid.h5")):
        R = int(os.path.basename(os.path.dirname(path))[1:])
        m = os.path.basename(path)[:-len("-asteroid.h5")]
        het = path.replace("-asteroid.h5", "-hetpipe.h5")
        if os.path.isfile(het):
            a, h = Pipe(path), Pipe(het)
            if a.complete and h.complete:
                rows.append((m, R, a, h))
    if not rows:
        return []
    lines = ["", "## Stages of unequal devices: speedup over the HetPipe-like hybrid against the speed spread", "",
             "One fast board (Xavier NX class) and seven slow ones R× slower, all with the same memory, on "
             "Gigabit Ethernet with compute 10× slower than jetson16.toml's reference "
             "(`experiments/asteroid/devices/mixed8-r<R>.toml`). A plan's stage with devices of both "
             "speeds is *mixed*.", "",
             "| model | R (slow ÷ fast) | Asteroid plan (stages / devices / M) | mixed stages | Asteroid samples/s "
             "| HetPipe-like plan | mixed stages | HetPipe-like samples/s | Asteroid ÷ HetPipe-like |",
             "|---|---:|---|---:|---:|---|---:|---:|---:|"]
    best = []
    for m, R, a, h in sorted(rows, key=lambda x: (x[0], x[1])):
        ta, th = a.throughput(), h.throughput()
        sp = ta / th if th > 0 else float("inf")
        best.append((sp, m, R))
        lines.append(f"| {MODELS.get(m, m)} | {R} | " + "{} / {} / {}".format(*a.plan()) + f" | {a.mixed_stages()} | "
                     f"{fmt(ta)} | " + "{} / {} / {}".format(*h.plan()) + f" | {h.mixed_stages()} | {fmt(th)} | {sp:.2f}× |")
    hi = max(best)
    lines += ["", f"Largest: {hi[0]:.2f}× ({MODELS.get(hi[1], hi[1])}, R = {hi[2]}); paper: up to {CLAIM_HYBRID}× "
              "over the state-of-the-art hybrid."]
    return lines


def microbatch_table(runs_dir):
    lines, rows = [], []
    for path in glob.glob(os.path.join(runs_dir, "microbatch", "*", "*-m*.h5")):
        s = os.path.basename(os.path.dirname(path))
        mm = re.match(r"(.*)-m(\d+)\.h5$", os.path.basename(path))
        rows.append((s, mm.group(1), int(mm.group(2)), Pipe(path)))
    if not rows:
        return lines
    lines += ["", "## Sensitivity to the micro-batch count M (Asteroid's planner at a fixed M)", "",
              "| device set | model | M | stages / devices | samples/s |", "|---|---|---:|---|---:|"]
    for s, m, M, r in sorted(rows, key=lambda x: (x[0], x[1], x[2])):
        own = os.path.join(runs_dir, "throughput", s, f"{m}-asteroid.h5")
        st, dev, _ = r.plan()
        lines.append(f"| {SETS.get(s, s)} | {MODELS.get(m, m)} | {M} | {st} / {dev} | {fmt(r.throughput())} |")
    for s, m in sorted({(x[0], x[1]) for x in rows}):
        own = os.path.join(runs_dir, "throughput", s, f"{m}-asteroid.h5")
        if os.path.isfile(own):
            r = Pipe(own)
            st, dev, M = r.plan()
            lines.append(f"| {SETS.get(s, s)} | {MODELS.get(m, m)} | {M} (planner's) | {st} / {dev} | {fmt(r.throughput())} |")
    return lines


def compute_only(its):
    """samples / virtual s of the iterations' 1F1B makespans alone (overhead_s left out)."""
    t = (its["end_s"] - its["start_s"] - its["overhead_s"]).sum()
    return float(its["samples"].sum() / t) if len(its) and t > 0 else float("nan")


def recovery_tables(runs_dir):
    rec = os.path.join(runs_dir, "recovery")
    if not os.path.isdir(rec):
        return [], {}
    load = lambda n: Pipe(os.path.join(rec, f"{n}.h5")) if os.path.isfile(os.path.join(rec, f"{n}.h5")) else None
    runs = {n: load(n) for n in ("none-s1", "replay-nofault-s1", "restart-nofault-s1", "replay-leave-s1",
                                 "replay-fail-s1", "restart-leave-s1", "restart-fail-s1")}
    base, probe = runs["none-s1"], runs["replay-leave-s1"] or runs["replay-fail-s1"]
    where = ""
    if base is not None and probe is not None and len(probe.faults):
        st, dev, _ = base.plan()
        where = (f" ({st} stages on {dev} devices; one fault in iteration "
                 f"{int(probe.faults['iteration'][0])} of {len(base.its)})")
    lines = ["", f"## Recovery{where}", "",
             "| run | fault | detected after | recovered after (time to recover) | iterations redone "
             "| moved MB | samples/s before | samples/s after recovery | after, without backups "
             "or checkpoints | final virtual s |",
             "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    ttr = {}
    for n in ("none-s1", "replay-nofault-s1", "restart-nofault-s1", "replay-leave-s1", "replay-fail-s1",
              "restart-leave-s1", "restart-fail-s1"):
        r = runs[n]
        if r is None:
            continue
        end = float(r.its["end_s"].max())
        hit = r.faults[r.faults["iteration"] > 0] if len(r.faults) else r.faults
        if not len(hit):
            lines.append(f"| {n} | none | – | – | – | – | {fmt(r.throughput())} | – | – | {fmt(end, 4)} |")
            continue
        f0 = hit[0]
        kind = ("leave" if f0["leave"] else "fail") + f" of device {f0['device']} at {f0['fault_s']:.3f} s"
        first = r.its[r.its["rerun"] == 0]
        before = first[first["end_s"] <= f0["fault_s"]]
        after = first[first["start_s"] >= f0["recovered_s"]]
        ttr[n] = float(f0["recovered_s"] - f0["fault_s"])
        lines.append(f"| {n} | {kind} ({f0['recovery'].decode()}) | {fmt(float(f0['detected_s'] - f0['fault_s']))} s "
                     f"| {fmt(ttr[n])} s | {f0['redone']} | {f0['moved_bytes'] / 1e6:.2f} "
                     f"| {fmt(r.throughput(before))} | {fmt(r.throughput(after))} "
                     f"| {fmt(compute_only(after))} | {fmt(end, 4)} |")
    lines += ["", "`none`: no fault tolerance (no backups, no checkpoints); `*-nofault`: the fault "
              "tolerance on (replay: a backup of every stage after every iteration; restart: a "
              "checkpoint every 10 iterations), a fault after the run's end so nothing strikes. "
              "Throughput = samples / the iterations' virtual time, their backup or checkpoint "
              "included; time to recover = recovery end − fault (detection, layer moves or the "
              "store download, and for restart the iterations redone)."]
    lines += ["", "| fault | replay: time to recover | restart: time to recover | restart ÷ replay "
              "| paper |", "|---|---:|---:|---:|---:|"]
    for f in ("leave", "fail"):
        a, b = ttr.get(f"replay-{f}-s1"), ttr.get(f"restart-{f}-s1")
        if a and b:
            lines.append(f"| {f} | {fmt(a)} s | {fmt(b)} s | {b / a:.1f}× | {CLAIM_RECOVERY}× |")
    # Loss curves: every seed's fault runs against the same seed's run without faults.
    lines += ["", "Training loss after recovery against the run without faults (same seed, per "
              "iteration; the replayed iterations' math is unchanged):", "",
              "| run | seeds | iterations compared | max relative difference of the loss |",
              "|---|---:|---:|---:|"]
    curves = {}
    for kind in ("replay-leave", "replay-fail", "restart-leave", "restart-fail"):
        diffs, seeds, n_it = [], 0, 0
        for path in sorted(glob.glob(os.path.join(rec, f"{kind}-s*.h5"))):
            seed = re.search(r"-s(\d+)\.h5$", path).group(1)
            base = os.path.join(rec, f"none-s{seed}.h5")
            if not os.path.isfile(base):
                continue
            a, b = Pipe(path).rounds["train_loss"], Pipe(base).rounds["train_loss"]
            k = min(len(a), len(b))
            diffs.append(float(np.max(np.abs(a[:k] - b[:k]) / np.abs(b[:k]))))
            seeds, n_it = seeds + 1, k
            curves.setdefault(kind, []).append((int(seed), a, b))
        if seeds:
            lines.append(f"| {kind} | {seeds} | {n_it} | {max(diffs):.2g} |")
    return lines, {"runs": runs, "curves": curves}


def throughput_figure(data, out):
    keys = list(data)
    if not keys:
        return
    fig, ax = plt.subplots(figsize=(15, 4.4), layout="constrained")
    w = 0.8 / len(PLANNERS)
    for j, p in enumerate(PLANNERS):
        ys = [max(data[k][p], 1e-3) for k in keys]
        ax.bar(np.arange(len(keys)) + (j - (len(PLANNERS) - 1) / 2) * w, ys, w,
               label=PLANNER_NAMES[p], color=f"C{j}")
    ax.set_yscale("log")
    ax.set_xticks(range(len(keys)))
    ax.set_xticklabels([f"{MODELS[m]}\n{SETS[s]}".replace(", ", ",\n") for s, m in keys], fontsize="x-small")
    ax.set_ylabel("samples / virtual s (log)")
    ax.set_title("Throughput of each planner's plan (analytic clock, Jetson-like devices)")
    ax.legend(fontsize="small", ncol=len(PLANNERS), loc="upper center", bbox_to_anchor=(0.5, -0.18))
    ax.grid(True, axis="y", alpha=0.3)
    fig.savefig(os.path.join(out, "throughput.png"), dpi=110)
    plt.close(fig)


def timeline_figure(runs_dir, out):
    """Asteroid's plan against the GPipe-like one (VGG-16, home/office set): one iteration each."""
    paths = [os.path.join(runs_dir, "throughput", "home5", f"fmnist32-vgg16-{p}.h5") for p in ("asteroid", "gpipe")]
    if not all(os.path.isfile(p) for p in paths):
        return
    fig, axes = plt.subplots(2, 1, figsize=(14, 6.5), layout="constrained")
    for ax, path in zip(axes, paths):
        run = plot.load_run(path)
        run.label = os.path.splitext(os.path.basename(path))[0] + " (home/office set, Wi-Fi)"
        plot.plot_pipeline_timeline(ax, run, 1, 32)
        ax.set_title(ax.get_title().replace("(c) ", ""))
    fig.savefig(os.path.join(out, "timeline.png"), dpi=110)
    plt.close(fig)


def recovery_figure(rec, runs_dir, out):
    if not rec or not rec["curves"]:
        return
    fig = plt.figure(figsize=(14, 9), layout="constrained")
    grid = fig.add_gridspec(3, 1, height_ratios=[3, 3, 3])
    for row, f in enumerate(("leave", "fail")):
        paths = [os.path.join(runs_dir, "recovery", f"{n}.h5") for n in (f"replay-{f}-s1", f"restart-{f}-s1", "none-s1")]
        runs = [plot.load_run(p) for p in paths if os.path.isfile(p)]
        for r in runs:
            r.label = os.path.splitext(os.path.basename(r.path))[0]
        ax = fig.add_subplot(grid[row])
        plot.plot_throughput(ax, runs)
        ax.set_title(f"({'ab'[row]}) device {'exit' if f == 'leave' else 'failure'}: samples/s per "
                     f"iteration — " + ", ".join(f"C{i}: {r.label}" for i, r in enumerate(runs)))
    ax = fig.add_subplot(grid[2])
    for i, (kind, items) in enumerate(sorted(rec["curves"].items())):
        for seed, a, b in items:
            ax.plot(np.arange(1, len(a) + 1), a, color=f"C{i}", marker=plot.MARKERS[i], markerfacecolor="none",
                    linestyle="none", label=kind if seed == items[0][0] else None)
    for seed, _, b in rec["curves"].get("replay-fail", rec["curves"][next(iter(rec["curves"]))]):
        ax.plot(np.arange(1, len(b) + 1), b, color="black", linewidth=0.8,
                label="no fault" if seed == 1 else None)
    ax.set_xlabel("iteration")
    ax.set_ylabel("training loss")
    ax.set_title("(c) training loss per iteration, every seed: fault runs (markers) on the runs without faults (lines)")
    ax.legend(fontsize="small")
    ax.grid(True, alpha=0.3)
    fig.savefig(os.path.join(out, "recovery.png"), dpi=110)
    plt.close(fig)


def main(argv):
    p = argparse.ArgumentParser(prog="asteroid.py", description=__doc__.splitlines()[0])
    p.add_argument("runs", metavar="RUNS_DIR")
    p.add_argument("-o", "--out", required=True, metavar="OUT_DIR")
    args = p.parse_args(argv)
    if not os.path.isdir(args.runs):
        print(f"asteroid.py: {args.runs}: no such directory", file=sys.stderr)
        return 2
    os.makedirs(args.out, exist_ok=True)
    t_lines, data = throughput_tables(args.runs)
    m_lines = fedavg_table(args.runs, data) + mixed_table(args.runs) + microbatch_table(args.runs)
    r_lines, rec = recovery_tables(args.runs)
    text = ["# Asteroid study: generated tables", "",
            "Written by `scripts/asteroid.py` from the results files of `scripts/reproduce.sh asteroid` "
            "(do not edit by hand). Analytic clock; Asteroid and its baselines are reconstructions "
            "(docs/ALGORITHMS.md, Asteroid).", ""] + t_lines + m_lines + r_lines
    with open(os.path.join(args.out, "tables.md"), "w") as f:
        f.write("\n".join(text) + "\n")
    # The README shows the tables between these markers (replaced, never typed by hand).
    readme = os.path.join(args.out, "README.md")
    begin, end = "<!-- BEGIN tables.md (scripts/asteroid.py) -->", "<!-- END tables.md -->"
    if os.path.isfile(readme):
        body = open(readme).read()
        if begin in body and end in body:
            head, rest = body.split(begin, 1)
            tables = "\n".join(text[2:]).replace("\n## ", "\n### ")
            body = head + begin + "\n" + tables + "\n" + end + rest.split(end, 1)[1]
            with open(readme, "w") as f:
                f.write(body)
    throughput_figure(data, args.out)
    timeline_figure(args.runs, args.out)
    recovery_figure(rec, args.runs, args.out)
    print(f"wrote {args.out}/tables.md and figures")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
