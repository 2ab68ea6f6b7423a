#!/usr/bin/python3
"""Draw the standard figures of an edgesim sweep (SWEEP_DIR/manifest.json), as PNG and PDF.

  accuracy_vs_time   test accuracy against virtual time, one line per value of the group-by
                     axis (and per combination of the other axes), mean over seeds with a
                     band of ± one standard deviation; one panel per value of --facet;
  time_to_accuracy   virtual time to reach the target accuracy per configuration, mean ±
                     std over the seeds that reached it, with how many did;
  timeline           per-device timeline of one run (the one plot.py draws, panel (c));
  memory             peak training memory per device against the device's memory cap, for
                     one run of each group-by value.

Only complete runs are drawn; missing and incomplete ones are reported on stderr (the same
rules as collect.py). Colours follow the group-by value, with a fixed colour per algorithm
name, so a given algorithm has the same colour in every figure of every sweep.

Needs Debian's python3-h5py, python3-numpy and python3-matplotlib, hence /usr/bin/python3.
"""
import argparse
import math
import os
import sys
import textwrap
import zlib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import collect  # noqa: E402  (scripts/collect.py: manifest, per-run metrics)
import plot  # noqa: E402  (scripts/plot.py: timeline; also sets the Agg backend)

collect.PROG = "figures.py"

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402
from matplotlib.ticker import FixedLocator, FuncFormatter, NullLocator  # noqa: E402

# Fixed colours of the algorithms (matplotlib's tab10 in this order), so that an algorithm
# keeps its colour across figures and sweeps.
ALGORITHM_COLOURS = {
    "fedavg": "#1f77b4",
    "heterofl": "#ff7f0e",
    "fedrolex": "#2ca02c",
    "fjord": "#d62728",
    "fedasync": "#9467bd",
    "fedbuff": "#8c564b",
    "adaptcl": "#e377c2",
    "msfusion": "#7f7f7f",
    "cos2p": "#bcbd22",
    "asteroid": "#17becf",
    "fedprox": "#393b79",
    "scaffold": "#637939",
}
# Any other value: a colour picked from this palette by a hash of the value (stable from
# one run of the script to the next), moved to the next free one if two values collide.
FALLBACK_COLOURS = [
    "#e6550d", "#31a354", "#756bb1", "#843c39", "#8c6d31", "#7b4173", "#3182bd",
    "#636363", "#ad494a", "#bd9e39", "#5254a3", "#de2d26", "#3f007d", "#006d2c",
]
LINESTYLES = ["-", "--", ":", "-."]
MARKERS = ["o", "s", "^", "D", "v", "P", "X"]
NO_MEMORY_CAP = 2**63 - 1  # /devices.memory_cap_bytes of a device with memory = "unlimited"
FIGURES = ("accuracy_vs_time", "time_to_accuracy", "timeline", "memory")


def colour_map(values):
    """value -> colour: ALGORITHM_COLOURS for known algorithms, else a hash-chosen
    fallback that no other value of this set uses."""
    colours, taken = {}, set()
    for v in values:
        if v in ALGORITHM_COLOURS:
            colours[v] = ALGORITHM_COLOURS[v]
            taken.add(colours[v])
    for v in sorted(set(values) - set(colours)):
        i = zlib.crc32(v.encode("utf-8")) % len(FALLBACK_COLOURS)
        for k in range(len(FALLBACK_COLOURS)):
            c = FALLBACK_COLOURS[(i + k) % len(FALLBACK_COLOURS)]
            if c not in taken:
                break
        colours[v] = c  # more values than colours: repeats are unavoidable
        taken.add(c)
    return colours


def short_values(values):
    """Axis value -> how figures show it: a path (a device-set file, say) by its file name
    without extension, when that keeps the values of the axis apart; else as is."""
    shown = {v: (os.path.splitext(os.path.basename(v))[0] or v) if "/" in v else v
             for v in values}
    return shown if len(set(shown.values())) == len(shown) else {v: v for v in values}


def short_names(axes):
    """Axis key -> short label (`data.alpha` -> `alpha`) when the short form is unique."""
    tails = [a.rsplit(".", 1)[-1] for a in axes]
    return {a: (t if tails.count(t) == 1 else a) for a, t in zip(axes, tails)}


def axis_values(runs, axis):
    """Values of an axis in order of first appearance in the manifest."""
    seen = []
    for r in runs:
        v = r["axes"][axis] if axis else ""
        if v not in seen:
            seen.append(v)
    return seen


def bytes_label(n):
    for s, u in ((2**40, "TiB"), (2**30, "GiB"), (2**20, "MiB"), (2**10, "KiB")):
        if n >= s:
            return f"{n / s:g} {u}"
    return f"{n:g} B"


def fit_suptitle(fig, text, **kw):
    """A figure title broken into lines that fit the figure. A centred title wider than the
    figure (one panel, a long sweep name) is clipped at both edges; matplotlib's wrap=True
    breaks it only when drawing, after the constrained layout has placed the panels, which
    then overlap it. So measure, and break before the layout runs."""
    title = fig.suptitle(text, **kw)
    renderer = fig.canvas.get_renderer()
    room = 0.96 * fig.bbox.width
    n = len(text)
    while n > 20 and title.get_window_extent(renderer).width > room:
        n = int(n * 0.85)
        title.set_text(textwrap.fill(text, n, break_long_words=False, break_on_hyphens=False))
    return title


def save(fig, outdir, name, dpi):
    paths = []
    for ext in ("png", "pdf"):
        path = os.path.join(outdir, f"{name}.{ext}")
        fig.savefig(path, dpi=dpi)
        paths.append(path)
    plt.close(fig)
    print(f"wrote {paths[0]} and .pdf")
    return paths


class Context:
    """What every figure needs: the sweep, its complete runs with their tables, and the
    grouping."""

    def __init__(self, sweep, rows, tables, group_by, facet, target):
        self.sweep = sweep
        self.rows = rows  # complete runs only (collect.py rows)
        self.tables = tables  # run name -> (rounds, tasks, devices)
        self.group_by = group_by
        self.facet = facet
        self.target = target
        self.others = [a for a in sweep.axes if a not in (group_by, facet)]
        self.short = short_names(sweep.axes)
        self.shown = {a: short_values(axis_values(rows, a)) for a in sweep.axes}
        self.groups = list(dict.fromkeys(self.group(r) for r in rows))
        self.colours = colour_map(self.groups)
        self.n_seeds = max((len(v) for v in self.by_config().values()), default=0)

    def group(self, row):
        return row["axes"][self.group_by] if self.group_by else self.sweep.name

    def group_label(self, value):
        return self.value(self.group_by, value) if self.group_by else self.sweep.name

    def value(self, axis, value):
        return self.shown[axis].get(value, value)

    def by_config(self):
        """Axis-value tuple -> complete runs (manifest order)."""
        out = {}
        for r in self.rows:
            out.setdefault(collect.config_key(r, self.sweep.axes), []).append(r)
        return out

    def describe(self, row, axes):
        return ", ".join(f"{self.short[a]}={self.value(a, row['axes'][a])}" for a in axes)

    def config_label(self, row):
        """Label of a configuration: group value first, then the other axes."""
        parts = [self.group_label(self.group(row))] if self.group_by else []
        rest = [a for a in self.sweep.axes if a != self.group_by]
        if rest:
            parts.append(self.describe(row, rest))
        return ", ".join(parts) or self.sweep.name


def evaluated_curve(rounds):
    acc = rounds["test_accuracy"]
    ok = ~np.isnan(acc)
    return rounds["virtual_time_s"][ok], acc[ok]


def mean_curve(curves):
    """Mean and std (ddof=1) of several accuracy-vs-time curves on a common time grid:
    every evaluation time of any seed within the span all seeds cover, each curve
    interpolated linearly between its evaluations."""
    curves = [(t, a) for t, a in curves if len(t)]
    if not curves:
        return np.array([]), np.array([]), np.array([])
    if len(curves) == 1:
        t, a = curves[0]
        return t, a, np.full(len(a), np.nan)
    lo = max(t[0] for t, _ in curves)
    hi = min(t[-1] for t, _ in curves)
    grid = np.unique(np.concatenate([t for t, _ in curves]))
    grid = grid[(grid >= lo) & (grid <= hi)]
    if not len(grid):
        grid = np.array([lo])
    ys = np.array([np.interp(grid, t, a) for t, a in curves])
    return grid, ys.mean(axis=0), ys.std(axis=0, ddof=1)


def figure_accuracy(ctx, outdir, dpi):
    facets = axis_values(ctx.rows, ctx.facet) if ctx.facet else [None]
    ncols = min(len(facets), 3)
    nrows = math.ceil(len(facets) / ncols)
    longest = max((float(ctx.tables[r["name"]][0]["virtual_time_s"][-1]) for r in ctx.rows
                   if len(ctx.tables[r["name"]][0])), default=1.0)
    scale, unit = plot.time_unit(longest)
    other_combos = []
    for r in ctx.rows:
        key = tuple(r["axes"][a] for a in ctx.others)
        if key not in other_combos:
            other_combos.append(key)

    handles, first_ax = {}, None
    labels = {}
    for runs in ctx.by_config().values():
        r0 = runs[0]
        label = ctx.group_label(ctx.group(r0))
        if ctx.others:
            label += f" ({ctx.describe(r0, ctx.others)})"
        labels[id(runs[0])] = label + f", n={len(runs)}"
    legend_w = 0.8 + 0.075 * max(len(lab) for lab in labels.values())  # inches
    fig = plt.figure(figsize=(4.6 * ncols + legend_w, 3.6 * nrows + 0.7), layout="constrained")
    grid = fig.add_gridspec(nrows, ncols + 1, width_ratios=[4.6] * ncols + [legend_w])
    for i, fv in enumerate(facets):
        ax = fig.add_subplot(grid[i // ncols, i % ncols], sharex=first_ax, sharey=first_ax)
        first_ax = first_ax or ax
        for key, runs in ctx.by_config().items():
            r0 = runs[0]
            if ctx.facet and r0["axes"][ctx.facet] != fv:
                continue
            other = tuple(r0["axes"][a] for a in ctx.others)
            k = other_combos.index(other)
            colour = ctx.colours[ctx.group(r0)]
            style = dict(color=colour, linestyle=LINESTYLES[k % len(LINESTYLES)],
                         linewidth=1.6)
            t, mean, std = mean_curve([evaluated_curve(ctx.tables[r["name"]][0]) for r in runs])
            if not len(t):
                continue
            label = labels[id(r0)]
            # Markers at the evaluations of a single seed; a mean over seeds is
            # interpolated, so its points are not evaluations and get none.
            marker = MARKERS[k % len(MARKERS)] if len(runs) == 1 and len(t) <= 30 else None
            line, = ax.plot(t / scale, mean, marker=marker, markersize=3.5, **style)
            if len(runs) > 1:
                ax.fill_between(t / scale, mean - std, mean + std, color=colour, alpha=0.18,
                                linewidth=0)
            handles.setdefault(label, line)
        ax.axhline(ctx.target, color="black", linestyle=(0, (4, 3)), linewidth=0.9)
        if ctx.facet:
            ax.set_title(f"{ctx.short[ctx.facet]} = {ctx.value(ctx.facet, fv)}")
        ax.grid(True, alpha=0.3)
        if i % ncols == 0:
            ax.set_ylabel("test accuracy")
        if i // ncols == nrows - 1 or i + ncols >= len(facets):
            ax.set_xlabel(f"virtual time ({unit})")
    first_ax.set_ylim(bottom=0)
    first_ax.set_xlim(left=0)
    leg_ax = fig.add_subplot(grid[:, ncols])
    leg_ax.set_axis_off()
    items = list(handles.items()) + [
        (f"target {100 * ctx.target:g}%", Line2D([], [], color="black", linestyle=(0, (4, 3))))]
    title = ctx.group_by or "run"
    leg_ax.legend([h for _, h in items], [lab for lab, _ in items], loc="upper left",
                  title=title, fontsize="small", title_fontsize="small", frameon=False)
    band = "mean over seeds, band ± 1 std" if ctx.n_seeds > 1 else "one seed per configuration"
    fit_suptitle(fig, f"Test accuracy vs virtual time — {ctx.sweep.name} ({band})")
    return save(fig, outdir, "accuracy_vs_time", dpi)


def figure_time_to_accuracy(ctx, outdir, dpi):
    configs = list(ctx.by_config().values())
    if ctx.facet:  # keep the configurations of one facet together
        order = axis_values(ctx.rows, ctx.facet)
        configs.sort(key=lambda runs: order.index(runs[0]["axes"][ctx.facet]))
    n = len(configs)
    fig, ax = plt.subplots(figsize=(9.5, 0.42 * n + 1.9), layout="constrained")
    means = []
    for runs in configs:
        times = [r["time_to_target_s"] for r in runs if not math.isnan(r["time_to_target_s"])]
        means.append(collect.mean_std(times) + (len(times), len(runs)))
    finite = [m + (0 if math.isnan(s) else s) for m, s, _, _ in means if not math.isnan(m)]
    scale, unit = plot.time_unit(max(finite, default=1.0))
    xmax = max(finite, default=1.0) / scale
    for y, (runs, (m, s, k, total)) in enumerate(zip(configs, means)):
        colour = ctx.colours[ctx.group(runs[0])]
        if k:
            ax.barh(y, m / scale, xerr=None if math.isnan(s) else s / scale, color=colour,
                    height=0.65, error_kw=dict(ecolor="black", capsize=3, linewidth=1))
            ax.text((m + (0 if math.isnan(s) else s)) / scale + 0.01 * xmax, y,
                    f" {m / scale:.3g} {unit}  ({k}/{total} seeds)", va="center",
                    fontsize="small")
        else:
            ax.text(0.01 * xmax, y, f"not reached (0/{total} seeds)", va="center",
                    fontsize="small", color="#555555", style="italic")
    ax.set_yticks(range(n))
    ax.set_yticklabels([ctx.config_label(runs[0]) for runs in configs], fontsize="small")
    ax.set_ylim(n - 0.5, -0.5)
    ax.set_xlim(0, xmax * 1.35)
    ax.set_xlabel(f"virtual time to {100 * ctx.target:g}% test accuracy ({unit})")
    ax.grid(True, axis="x", alpha=0.3)
    if ctx.group_by and len(ctx.groups) > 1:
        ax.legend(handles=[Patch(color=ctx.colours[g], label=ctx.group_label(g)) for g in ctx.groups],
                  title=ctx.group_by, fontsize="small", title_fontsize="small",
                  loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0)
    ax.set_title(f"Time to {100 * ctx.target:g}% test accuracy — {ctx.sweep.name}\n"
                 "mean ± std over the seeds that reached it", fontsize="medium")
    return save(fig, outdir, "time_to_accuracy", dpi)


def figure_timeline(ctx, row, outdir, dpi, max_rounds, max_devices):
    run = plot.load_run(row["results_path"])
    run.label = row["name"]
    shown = min(len(np.unique(run.tasks["device"])), max_devices)
    fig, ax = plt.subplots(figsize=(14, max(2.5, 0.28 * shown + 1.2)), layout="constrained")
    plot.plot_timeline(ax, run, max_rounds, max_devices)
    title = ax.get_title()  # plot.py numbers it as its panel (c); this figure stands alone
    ax.set_title(f"Device timeline of {title[len('(c) device timeline of '):]}"
                 if title.startswith("(c) device timeline of ") else title)
    return save(fig, outdir, "timeline", dpi)


def memory_runs(ctx, chosen):
    """One run per group value: the one that matches the chosen run on every other axis and
    the seed, else the first complete run of that group value."""
    out = []
    for g in ctx.groups:
        candidates = [r for r in ctx.rows if ctx.group(r) == g]
        same = [r for r in candidates if r["seed"] == chosen["seed"] and all(
            r["axes"][a] == chosen["axes"][a] for a in ctx.sweep.axes if a != ctx.group_by)]
        out.append((same or candidates)[0])
    return out


def figure_memory(ctx, chosen, outdir, dpi):
    runs = memory_runs(ctx, chosen) if ctx.group_by else [chosen]
    n_dev = max(len(ctx.tables[r["name"]][2]) for r in runs)
    fig, axes = plt.subplots(len(runs), 1, figsize=(max(7.5, 0.42 * n_dev + 3.5),
                                                   2.6 * len(runs) + 1.0),
                             layout="constrained", sharey=True, squeeze=False)
    lo, hi = math.inf, 0
    for ax, r in zip(axes[:, 0], runs):
        _, tasks, devices = ctx.tables[r["name"]]
        ids = devices["device"]
        # memory = "unlimited" is stored as 2^63 - 1 (docs/CONFIG.md): no cap line, and it
        # does not stretch the axis to exabytes.
        raw_caps = devices["memory_cap_bytes"]
        capped = raw_caps < NO_MEMORY_CAP
        caps = np.where(capped, raw_caps, 0).astype(float)
        cap_floor = float(caps[capped].min()) if capped.any() else math.inf
        # The measured peak where the task trained, else the analytic estimate (a task refused
        # before it started has no measured peak); out of memory = any task of the device ended oom.
        measured = "peak_memory_bytes" in tasks.dtype.names
        def footprint(d):
            t = tasks[tasks["device"] == d]
            if not len(t):
                return np.nan
            if measured and np.any(t["peak_memory_bytes"] > 0):
                return float(np.max(t["peak_memory_bytes"]))
            return float(np.max(t["memory_bytes"]))
        peak = np.array([footprint(d) for d in ids], dtype=float)
        colour = ctx.colours[ctx.group(r)]
        over = np.array([np.any(tasks["status"][tasks["device"] == d] == b"oom") for d in ids])
        ax.bar(ids[~over], peak[~over], width=0.7, color=colour,
               label="peak training memory (measured, else estimated)")
        if over.any():
            ax.bar(ids[over], peak[over], width=0.7, color="white", edgecolor="#d62728",
                   hatch="////", label="out of memory (estimate or peak shown)")
        if capped.any():
            ax.hlines(caps[capped], ids[capped] - 0.42, ids[capped] + 0.42, color="black",
                      linewidth=2, label="memory cap")
        lo = min(lo, np.nanmin(peak) if not np.all(np.isnan(peak)) else math.inf, cap_floor)
        hi = max(hi, np.nanmax(peak) if not np.all(np.isnan(peak)) else 0,
                 float(caps[capped].max()) if capped.any() else 0)
        for d, p in zip(ids, peak):
            if np.isnan(p):
                ax.text(d, cap_floor if capped.any() else lo, "no task", rotation=90,
                        ha="center", va="bottom", fontsize="x-small", color="#555555")
        profiles = [p.decode("utf-8", "replace").rstrip("\x00") if isinstance(p, bytes)
                    else str(p) for p in devices["profile"]]
        ax.set_xticks(ids)
        ax.set_xticklabels([f"{d}\n{p}" for d, p in zip(ids, profiles)],
                           fontsize="x-small" if len(ids) > 12 else "small")
        ax.set_xlim(-0.6, len(ids) - 0.4)
        ax.set_ylabel("memory (log scale)")
        ax.set_title(f"{r['name']}", fontsize="medium")
        ax.grid(True, axis="y", alpha=0.3)
    ax.set_xlabel("device (id, profile)")
    ax.set_yscale("log", base=2)
    kmin, kmax = math.floor(math.log2(lo)), math.ceil(math.log2(hi))
    step = max(1, math.ceil((kmax - kmin + 1) / 8))
    ticks = [2.0**k for k in range(kmin, kmax + 1, step)]
    for a in axes[:, 0]:
        a.yaxis.set_major_locator(FixedLocator(ticks))
        a.yaxis.set_minor_locator(NullLocator())
        a.yaxis.set_major_formatter(FuncFormatter(lambda v, _: bytes_label(v)))
        a.set_ylim(2.0**kmin / 1.5, 2.0**kmax * 1.5)
    handles, labels = axes[0, 0].get_legend_handles_labels()
    for a in axes[1:, 0]:
        for h, lab in zip(*a.get_legend_handles_labels()):
            if lab not in labels:
                handles.append(h)
                labels.append(lab)
    axes[0, 0].legend(handles, labels, fontsize="small", loc="upper left",
                      bbox_to_anchor=(1.01, 1.0), borderaxespad=0)
    fit_suptitle(fig, f"Peak training memory per device vs its memory cap — {ctx.sweep.name}",
                 fontsize="medium")
    return save(fig, outdir, "memory", dpi)


def parse_args(argv):
    p = argparse.ArgumentParser(
        prog="figures.py",
        description="Draw the standard figures of an edgesim sweep as PNG and PDF: accuracy "
        "vs virtual time, time to accuracy, a device timeline and peak memory per device.",
        epilog="Example: scripts/figures.py results/sweep-demo --facet data.alpha --target "
        "0.7. Exit codes: 0 ok, 2 no sweep directory or manifest, an unknown axis, no "
        "complete run, or bad arguments.")
    p.add_argument("sweep_dir", metavar="SWEEP_DIR", help="directory written by edgesim sweep")
    p.add_argument("-o", "--outdir", metavar="OUTDIR",
                   help="directory for the figures (default: SWEEP_DIR/figures)")
    p.add_argument("--target", type=float, default=collect.DEFAULT_TARGET, metavar="ACC",
                   help="test accuracy (0-1) for the time-to-accuracy figure "
                   f"(default: {collect.DEFAULT_TARGET})")
    p.add_argument("--group-by", metavar="AXIS",
                   help="axis whose values get a colour each (default: algorithm.name if it "
                   "is an axis, else the first axis)")
    p.add_argument("--facet", metavar="AXIS",
                   help="axis with one accuracy panel per value (default: none)")
    p.add_argument("--run", metavar="NAME",
                   help="run (manifest name) for the timeline and the memory figure "
                   "(default: the first complete run)")
    p.add_argument("--timeline-rounds", type=int, default=10, metavar="N",
                   help="rounds shown in the timeline (default: 10)")
    p.add_argument("--timeline-devices", type=int, default=32, metavar="N",
                   help="devices shown in the timeline (default: 32)")
    p.add_argument("--dpi", type=int, default=150, help="resolution of the PNGs (default: 150)")
    args = p.parse_args(argv)
    if not 0.0 <= args.target <= 1.0:
        p.error("--target is a fraction of the test set, between 0 and 1")
    if args.timeline_rounds < 1 or args.timeline_devices < 1:
        p.error("--timeline-rounds and --timeline-devices must be at least 1")
    return args


def main(argv):
    args = parse_args(argv)

    def bad(msg):
        print(f"figures.py: {msg}", file=sys.stderr)
        return 2

    try:
        sweep = collect.load_sweep(args.sweep_dir)
    except collect.BadInput as e:
        return bad(e)
    axes = sweep.axes
    for opt, value in (("--group-by", args.group_by), ("--facet", args.facet)):
        if value is not None and value not in axes:
            return bad(f"{opt} {value}: not an axis of the sweep (axes: "
                       f"{', '.join(axes) or 'none'})")
    group_by = args.group_by or ("algorithm.name" if "algorithm.name" in axes
                                 else (axes[0] if axes else None))
    if args.facet and args.facet == group_by:
        return bad(f"--facet {args.facet} is also the group-by axis; pick another "
                   "(--group-by AXIS)")

    rows = collect.collect_runs(sweep, args.target)
    for row, run in zip(rows, sweep.runs):
        row["results_path"] = run["path"]
    complete = [r for r in rows if r["status"] == "complete"]
    if not complete:
        return bad(f"{sweep.name}: no complete run to draw")
    tables = {}
    for r in complete:
        _, rounds, tasks, devices = collect.read_tables(r["results_path"])
        tables[r["name"]] = (rounds, tasks, devices)
    if args.run:
        chosen = [r for r in rows if r["name"] == args.run]
        if not chosen:
            return bad(f"--run {args.run}: no such run in the manifest")
        if chosen[0]["status"] != "complete":
            return bad(f"--run {args.run}: the run is {chosen[0]['status']}")
        chosen = chosen[0]
    else:
        chosen = complete[0]

    ctx = Context(sweep, complete, tables, group_by, args.facet, args.target)
    outdir = args.outdir or os.path.join(args.sweep_dir, "figures")
    os.makedirs(outdir, exist_ok=True)
    figure_accuracy(ctx, outdir, args.dpi)
    figure_time_to_accuracy(ctx, outdir, args.dpi)
    figure_timeline(ctx, chosen, outdir, args.dpi, args.timeline_rounds, args.timeline_devices)
    figure_memory(ctx, chosen, outdir, args.dpi)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
