#!/usr/bin/python3
"""Plot one or more edgesim results files (schema: docs/RESULTS.md).

The figure has three panels:
  (a) test accuracy against virtual (simulated) time, one line per run (--xlog, --xlim);
  (b) test accuracy against round, one line per run;
  (c) a per-device timeline of the FIRST run's first rounds: download, compute and upload
      of every task, idle gaps, and tasks that ran out of memory or were dropped
      (--no-timeline or --timeline-devices 0 leave it out). For a pipeline run
      (`algorithm.name = "asteroid"`: /pipeline_ops) it is the 1F1B timeline of its first
      iterations instead: every device's forward, backward and all-reduce ops, idle bubbles;
  (d) pipeline runs only: throughput (samples/s of virtual time of each iteration) against
      virtual time, with each fault, its detection and its recovery end marked
      (/pipeline_faults).

Each run has its own marker and line style as well as colour, so curves that lie on top of
each other stay distinguishable (also in greyscale). Legends say what differs between the
runs: a run is labelled by its run.name when the names tell the runs apart, i.e. they are
distinct and each mentions the run's values of the config keys that differ between the
runs; otherwise by those keys (`algorithm.name=heterofl, data.alpha=0.1`), read from each
file's resolved config (root attribute `config`, docs/RESULTS.md). Files of runs that are
still going, or were killed, are read up to their last finished round.

Needs Debian's python3-h5py and python3-matplotlib, hence /usr/bin/python3.
"""
import argparse
import math
import os
import re
import sys

try:
    import h5py
    import matplotlib

    matplotlib.use("Agg")  # files only; no display needed (or wanted on a cluster node)
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch
    import numpy as np
except ImportError as e:
    sys.exit(f"plot.py: {e}; run it with /usr/bin/python3 (Debian python3-h5py, "
             "python3-matplotlib)")

try:
    import tomllib  # Python >= 3.11
except ImportError:
    tomllib = None

ROUND_FIELDS = ("round", "virtual_time_s", "test_accuracy")
TASK_FIELDS = ("device", "round", "start_s", "end_s", "compute_s", "download_s", "upload_s", "status")

COLOURS = {
    "download": "#4c9be8",
    "compute": "#f28e2b",
    "upload": "#2b6cb0",
    "idle": "#e6e6e6",
    "oom": "#d62728",
    "dropped": "#9e9e9e",
}


class BadInput(Exception):
    """A file the user named is missing or not an edgesim results file (exit code 2)."""


class Run:
    def __init__(self, path, rounds, tasks, config, complete, pipeline=None):
        self.path = path
        self.rounds = rounds
        self.tasks = tasks
        self.config = config
        self.complete = complete
        # Pipeline runs: {"iterations", "ops", "faults"} (docs/RESULTS.md); None otherwise.
        self.pipeline = pipeline
        self.label = run_name(config) or os.path.splitext(os.path.basename(path))[0]


def open_h5(path):
    # A run still in progress, or killed, leaves its file marked as open by an SWMR
    # writer; HDF5 then only lets SWMR readers in. Plain mode is the fallback for HDF5
    # files in older formats, which SWMR readers cannot open (and which are not ours, but
    # deserve the clearer "not an edgesim results file" message below).
    try:
        return h5py.File(path, "r", swmr=True)
    except OSError:
        pass
    try:
        return h5py.File(path, "r")
    except OSError as e:
        raise BadInput(f"{path}: not an edgesim results file (HDF5 cannot open it: {e})") from None


def load_run(path):
    if not os.path.isfile(path):
        raise BadInput(f"{path}: no such file")
    with open_h5(path) as f:
        for name, fields in (("rounds", ROUND_FIELDS), ("tasks", TASK_FIELDS)):
            ds = f.get(name)
            names = getattr(getattr(ds, "dtype", None), "names", None) or ()
            missing = [c for c in fields if c not in names]
            if ds is None or missing:
                what = f"no /{name} table" if ds is None else f"/{name} lacks {', '.join(missing)}"
                raise BadInput(f"{path}: not an edgesim results file ({what})")
        config = f.attrs.get("config", "")
        if isinstance(config, bytes):
            config = config.decode("utf-8", "replace")
        status = f["status"][()] if "status" in f else b""
        complete = (status.decode() if isinstance(status, bytes) else str(status)) == "complete"
        pipeline = None
        if "pipeline_iterations" in f and "pipeline_ops" in f:
            pipeline = {k: f[f"pipeline_{k}"][()] if f"pipeline_{k}" in f else None
                        for k in ("iterations", "ops", "faults")}
        return Run(path, f["rounds"][()], f["tasks"][()], str(config), complete, pipeline)


def run_name(config_text):
    """run.name from the config TOML (None when empty or absent)."""
    name = config_values(config_text).get("run.name")
    return str(name) if name else None


def config_values(config_text):
    """The resolved config as {"section.key": value}. Without tomllib, a line scan of the
    flat TOML edgesim writes, values kept as written (quotes stripped)."""
    if tomllib is not None:
        try:
            return {f"{sec}.{k}": v for sec, table in tomllib.loads(config_text).items()
                    if isinstance(table, dict) for k, v in table.items()}
        except tomllib.TOMLDecodeError:
            pass
    out, table = {}, None
    for line in config_text.splitlines():
        line = line.strip()
        header = re.fullmatch(r"\[\s*([^\]]+?)\s*\]", line)
        if header:
            table = header.group(1)
            continue
        m = re.match(r"""([A-Za-z0-9_]+)\s*=\s*(.*)$""", line)
        if m and table:
            out[f"{table}.{m.group(1)}"] = m.group(2).strip().strip('"')
    return out


# Keys that name or place a run rather than configure it: never "what differs".
NOT_A_SETTING = ("run.name", "run.out")
MAX_LABEL_KEYS = 4


def shown_value(v):
    """How a config value appears in a legend: a path by its file name, a bool in TOML."""
    if isinstance(v, bool):
        return "true" if v else "false"
    v = str(v)
    return os.path.basename(v) if "/" in v else v


def differing_keys(runs):
    """Config keys whose value is not the same in every run, in config order."""
    values = [config_values(r.config) for r in runs]
    keys = list(dict.fromkeys(k for v in values for k in v))
    return [k for k in keys if k not in NOT_A_SETTING
            and len({repr(v.get(k)) for v in values}) > 1], values


def name_tells(name, key, value):
    """Whether a run name mentions the run's value of a key (sweep names do: alpha-0.1)."""
    shown = shown_value(value)
    stem = os.path.splitext(shown)[0]
    return any(s and s.lower() in name.lower() for s in (shown, stem))


def label_runs(runs):
    """Sets each run's legend label (see the module docstring) and returns a legend title:
    the run name they share, if they share one."""
    keys, values = differing_keys(runs)
    names = [r.label for r in runs]
    title = None
    informative = len(set(names)) == len(names) and all(
        name_tells(n, k, v.get(k)) for n, v in zip(names, values) for k in keys)
    if len(runs) > 1 and keys and not informative:
        shown = keys[:MAX_LABEL_KEYS]
        more = f", +{len(keys) - len(shown)} more keys" if len(keys) > len(shown) else ""
        shared = len(set(names)) == 1
        if shared:
            title = f"run.name = {names[0]}"
        for r, n, v in zip(runs, names, values):
            what = ", ".join(f"{k}={shown_value(v.get(k, '(unset)'))}" for k in shown) + more
            r.label = what if shared else f"{n}: {what}"
    # Same config twice (a rerun, a copy): only the file names tell them apart.
    labels = [r.label for r in runs]
    for r in runs:
        if labels.count(r.label) > 1:
            r.label = f"{r.label} ({os.path.basename(r.path)})"
    for r in runs:
        if not r.complete:
            r.label += " [incomplete]"
    return title


def time_unit(max_seconds):
    if max_seconds >= 3 * 3600:
        return 3600.0, "h"
    if max_seconds >= 3 * 60:
        return 60.0, "min"
    return 1.0, "s"


# Per run, a marker and a line style besides the colour: runs that reach the same accuracy
# at the same time draw the same line, and colour alone then hides all but the last one.
# Hollow markers of different shapes stay visible on top of each other.
MARKERS = ["o", "s", "^", "D", "v", "P", "X", "*"]
LINESTYLES = ["-", "--", "-.", ":"]


def run_style(i, n_points):
    return dict(marker=MARKERS[i % len(MARKERS)], markerfacecolor="none", markersize=5,
                markeredgewidth=1.1, markevery=max(1, math.ceil(n_points / 20)),
                linestyle=LINESTYLES[i % len(LINESTYLES)], linewidth=1.5)


def plot_accuracy(ax_time, ax_round, runs, xlog=False, xlim=None):
    longest = max((float(np.nanmax(r.rounds["virtual_time_s"])) for r in runs
                   if len(r.rounds)), default=0.0)
    scale, unit = time_unit(xlim[1] if xlim else longest)
    for i, r in enumerate(runs):
        acc = r.rounds["test_accuracy"]
        evaluated = ~np.isnan(acc)  # rounds without evaluation hold NaN
        x_time = r.rounds["virtual_time_s"][evaluated] / scale
        x_round = r.rounds["round"][evaluated]
        y = acc[evaluated]
        style = run_style(i, len(y))
        line, = ax_time.plot(x_time, y, label=r.label, **style)
        ax_round.plot(x_round, y, label=r.label, color=line.get_color(), **style)
        if not len(y):
            line.set_label(f"{r.label} (no evaluated rounds)")
    if xlog:
        # An evaluation at time 0 has no place on a log axis: masked, not clipped to the edge.
        ax_time.set_xscale("log", nonpositive="mask")
    if xlim:
        ax_time.set_xlim(xlim[0] / scale, xlim[1] / scale)
    ax_time.set_xlabel(f"virtual time ({unit}{', log scale' if xlog else ''})")
    ax_time.set_title("(a) test accuracy vs virtual time")
    ax_round.set_xlabel("round")
    ax_round.set_title("(b) test accuracy vs round")
    # Language-model runs report next-token accuracy (docs/RESULTS.md).
    lm = any(re.search(r'^\s*name\s*=\s*"transformer"', r.config, re.M) for r in runs)
    for ax in (ax_time, ax_round):
        ax.set_ylabel("test accuracy (next-token for language models)" if lm else "test accuracy")
        ax.grid(True, alpha=0.3)


def legend_layout(runs):
    """(columns, height in inches) of the runs' legend in a row of its own under panels (a)
    and (b): labels that name several config keys are too long to sit inside a panel."""
    longest = max(len(r.label) for r in runs) + 6  # + the line sample
    ncol = max(1, min(len(runs), 150 // longest))  # ~150 small characters across 14 in
    rows = math.ceil(len(runs) / ncol)
    return ncol, 0.45 + 0.2 * rows


def plot_legend(ax, ax_time, ncol, title=None):
    ax.set_axis_off()
    handles, labels = ax_time.get_legend_handles_labels()
    ax.legend(handles, labels, loc="center", ncol=ncol, fontsize="small", title=title,
              title_fontsize="small", frameon=False)


def plot_timeline(ax, run, max_rounds, max_devices):
    tasks = run.tasks
    all_rounds = np.unique(tasks["round"])
    shown_rounds = all_rounds[:max_rounds]
    tasks = tasks[np.isin(tasks["round"], shown_rounds)]
    all_devices = np.unique(run.tasks["device"])
    devices = all_devices[:max_devices]
    tasks = tasks[np.isin(tasks["device"], devices)]
    row = {d: i for i, d in enumerate(devices)}

    if not len(tasks):
        ax.text(0.5, 0.5, "no tasks recorded", ha="center", va="center", transform=ax.transAxes)
        ax.set_axis_off()
        return

    scale, unit = time_unit(float(np.max(tasks["end_s"])))
    height = 0.7

    def bar(device, start, length, thin=False, **kw):
        h = height / 3 if thin else height
        if length > 0:
            ax.broken_barh([(start / scale, length / scale)], (row[device] - h / 2, h), **kw)

    # The server stops waiting for a dropped straggler at the round's end, and the device
    # gets its next task then, so its bar is cut there (and marked) instead of overlapping.

    # Idle: from the end of each task to the start of the device's next one.
    order = np.lexsort((tasks["start_s"], tasks["device"]))
    for a, b in zip(tasks[order][:-1], tasks[order][1:]):
        if a["device"] == b["device"] and b["start_s"] > a["end_s"]:
            bar(a["device"], a["end_s"], b["start_s"] - a["end_s"], facecolor=COLOURS["idle"],
                edgecolor="none", thin=True)

    for t in tasks:
        status = t["status"].decode() if isinstance(t["status"], bytes) else str(t["status"])
        d, start, compute = t["device"], t["start_s"], t["compute_s"]
        down, up = t["download_s"], t["upload_s"]
        if status == "oom":
            # Fails on arrival: the whole span is the download of a model it cannot train.
            bar(d, start, t["end_s"] - start, facecolor="white", edgecolor=COLOURS["oom"],
                hatch="////", linewidth=0.8)
            continue
        if status == "dropped":
            # Cancelled at the round deadline: download and the compute done until then.
            bar(d, start, t["end_s"] - start, facecolor=COLOURS["dropped"], edgecolor="#555555",
                linewidth=0.8)
            continue
        bar(d, start, down, facecolor=COLOURS["download"])
        bar(d, start + down, compute, facecolor=COLOURS["compute"])
        bar(d, start + down + compute, up, facecolor=COLOURS["upload"])

    # Round ends, when the server aggregates.
    ends = run.rounds[np.isin(run.rounds["round"], shown_rounds)]["virtual_time_s"]
    for x in ends:
        ax.axvline(x / scale, color="black", linestyle=":", linewidth=0.8)

    ax.set_yticks(range(len(devices)))
    ax.set_yticklabels([str(d) for d in devices], fontsize="small" if len(devices) <= 24 else 6)
    ax.set_ylim(len(devices) - 0.5, -0.5)  # device 0 on top
    ax.set_ylabel("device")
    ax.set_xlabel(f"virtual time ({unit})")
    ax.set_xlim(left=float(tasks["start_s"].min()) / scale)
    first, last = int(shown_rounds[0]), int(shown_rounds[-1])
    title = f"(c) device timeline of {run.label}, rounds {first}-{last} of {len(all_rounds)}"
    if len(devices) < len(all_devices):
        title += f", first {len(devices)} of {len(all_devices)} devices"
    ax.set_title(title)
    ax.grid(True, axis="x", alpha=0.3)
    legend = [
        Patch(facecolor=COLOURS["download"], label="download"),
        Patch(facecolor=COLOURS["compute"], label="compute"),
        Patch(facecolor=COLOURS["upload"], label="upload"),
        Patch(facecolor=COLOURS["idle"], label="idle"),
        Patch(facecolor="white", edgecolor=COLOURS["oom"], hatch="////", label="out of memory"),
        Patch(facecolor=COLOURS["dropped"], edgecolor="#555555", label="dropped straggler"),
        plt.Line2D([], [], color="black", linestyle=":", label="round end"),
    ]
    ax.legend(handles=legend, fontsize="small", loc="upper left", bbox_to_anchor=(1.01, 1.0),
              borderaxespad=0)


PIPELINE_COLOURS = {"forward": "#4c9be8", "backward": "#f28e2b", "allreduce": "#59a14f"}
OVERHEAD_COLOUR = "#b07aa1"  # the backups' (replay) or checkpoint's (restart) transfer
# Fault marks in panel (d): the fault, its detection, the end of its recovery.
FAULT_MARKS = (("fault_s", "#d62728", "-", "fault"), ("detected_s", "#ff7f0e", "--", "detected"),
               ("recovered_s", "#2ca02c", ":", "recovered"))


def decoded(values):
    return np.array([v.decode() if isinstance(v, bytes) else str(v) for v in values])


def plot_pipeline_timeline(ax, run, max_iterations, max_devices, first=None):
    """The 1F1B schedule per device: each op a bar from its start to its end (the device's own
    share), idle time the gaps between them (grey), iterations separated by dotted lines."""
    ops, its = run.pipeline["ops"], run.pipeline["iterations"]
    numbers = np.unique(ops["iteration"]) if len(ops) else np.array([], dtype=int)
    if first is not None:
        numbers = numbers[numbers >= first]
    shown = numbers[:max_iterations]
    ops = ops[np.isin(ops["iteration"], shown)]
    all_devices = np.unique(run.pipeline["ops"]["device"]) if len(run.pipeline["ops"]) else []
    devices = list(all_devices[:max_devices])
    ops = ops[np.isin(ops["device"], devices)]
    if not len(ops):
        ax.text(0.5, 0.5, "no pipeline ops recorded", ha="center", va="center",
                transform=ax.transAxes)
        ax.set_axis_off()
        return
    row = {d: i for i, d in enumerate(devices)}
    ends = its[np.isin(its["iteration"], shown)]["end_s"]  # a backup may follow the last op
    t0, t1 = float(ops["start_s"].min()), max(float(ops["end_s"].max()), float(ends.max()))
    scale, unit = time_unit(t1)
    kinds = decoded(ops["kind"])
    height = 0.7
    # Idle: the whole span in grey first, the ops drawn over it.
    for d in devices:
        ax.broken_barh([(t0 / scale, (t1 - t0) / scale)], (row[d] - height / 6, height / 3),
                       facecolor=COLOURS["idle"], edgecolor="none")
    for kind, colour in PIPELINE_COLOURS.items():
        sel = ops[kinds == kind]
        for d in devices:
            mine = sel[sel["device"] == d]
            if len(mine):
                ax.broken_barh([(a / scale, (b - a) / scale) for a, b in zip(mine["start_s"], mine["end_s"])],
                               (row[d] - height / 2, height), facecolor=colour,
                               edgecolor="white", linewidth=0.3)
    # Micro-batch numbers on ops wide enough to hold them.
    width = (t1 - t0) / scale
    for o, k in zip(ops, kinds):
        if k != "allreduce" and (o["end_s"] - o["start_s"]) / scale > width / 120:
            ax.text((o["start_s"] + o["end_s"]) / 2 / scale, row[o["device"]], str(o["micro_batch"]),
                    ha="center", va="center", fontsize=5)
    overhead = False
    for it in its[np.isin(its["iteration"], shown)]:
        ax.axvline(it["end_s"] / scale, color="black", linestyle=":", linewidth=0.8)
        if it["overhead_s"] > 0:  # after the flush, on every device of the plan
            overhead = True
            for d in np.unique(ops[ops["iteration"] == it["iteration"]]["device"]):
                ax.broken_barh([((it["end_s"] - it["overhead_s"]) / scale, it["overhead_s"] / scale)],
                               (row[d] - height / 6, height / 3), facecolor=OVERHEAD_COLOUR,
                               edgecolor="none")
    stage_of = {int(o["device"]): int(o["stage"]) for o in ops}
    ax.set_yticks(range(len(devices)))
    ax.set_yticklabels([f"{d} (stage {stage_of.get(int(d), '-')})" for d in devices],
                       fontsize="small" if len(devices) <= 24 else 6)
    ax.set_ylim(len(devices) - 0.5, -0.5)
    ax.set_ylabel("device")
    ax.set_xlabel(f"virtual time ({unit})")
    ax.set_xlim(t0 / scale, t1 / scale)
    name = run.label if len(run.label) <= 60 else run.label[:57] + "..."
    title = (f"(c) 1F1B timeline of {name}, iterations {int(shown[0])}-{int(shown[-1])} "
             f"of {len(np.unique(its['iteration']))}")
    if len(devices) < len(all_devices):
        title += f", first {len(devices)} of {len(all_devices)} devices"
    ax.set_title(title)
    ax.grid(True, axis="x", alpha=0.3)
    legend = [Patch(facecolor=c, label=k) for k, c in PIPELINE_COLOURS.items()]
    if overhead:
        legend.append(Patch(facecolor=OVERHEAD_COLOUR, label="backup / checkpoint"))
    legend += [Patch(facecolor=COLOURS["idle"], label="idle (bubble)"),
               plt.Line2D([], [], color="black", linestyle=":", label="iteration end")]
    ax.legend(handles=legend, fontsize="small", loc="upper left", bbox_to_anchor=(1.01, 1.0),
              borderaxespad=0)


def iteration_throughput(iterations):
    """samples/s of virtual time of each iteration: samples / (end_s - start_s), the backup or
    checkpoint after it included (docs/RESULTS.md, /pipeline_iterations)."""
    span = iterations["end_s"] - iterations["start_s"]
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(span > 0, iterations["samples"] / span, np.nan)


def plot_throughput(ax, runs):
    """Panel (d): each pipeline run's samples/s per iteration at the iteration's end; re-run
    iterations (a restart's) hollow; faults, detections and recovery ends as vertical lines."""
    pipes = [(i, r) for i, r in enumerate(runs) if r.pipeline is not None]
    longest = max((float(r.pipeline["iterations"]["end_s"].max()) for _, r in pipes
                   if len(r.pipeline["iterations"])), default=0.0)
    scale, unit = time_unit(longest)
    marks = set()
    for i, r in pipes:
        its = r.pipeline["iterations"]
        y = iteration_throughput(its)
        rerun = its["rerun"] == 1 if "rerun" in (its.dtype.names or ()) else np.zeros(len(its), bool)
        # Panel (a)'s colour and style for the run (its legend names the runs).
        # Each iteration a segment over its own span, so the time lost to a fault is a gap.
        colour, style = f"C{i % 10}", run_style(i, len(y))
        first = ~rerun
        ax.hlines(y[first], its["start_s"][first] / scale, its["end_s"][first] / scale,
                  color=colour, linestyle=style["linestyle"], linewidth=1.5)
        ax.plot(its["end_s"][first] / scale, y[first], color=colour, linestyle="none",
                **{k: v for k, v in style.items() if k.startswith("marker")})
        if rerun.any():
            ax.hlines(y[rerun], its["start_s"][rerun] / scale, its["end_s"][rerun] / scale,
                      color=colour, linestyle=":", linewidth=1.0)
            ax.plot(its["end_s"][rerun] / scale, y[rerun], linestyle="none", marker="x",
                    color=colour)
            marks.add("re-run")
        faults = r.pipeline.get("faults")
        for fault in (faults if faults is not None else []):
            for field, colour, ls, what in FAULT_MARKS:
                if np.isfinite(fault[field]):
                    ax.axvline(fault[field] / scale, color=colour, linestyle=ls, linewidth=1.0,
                               alpha=0.8)
                    marks.add(what)
    handles = [plt.Line2D([], [], color=c, linestyle=ls, label=w) for _, c, ls, w in FAULT_MARKS
               if w in marks]
    if "re-run" in marks:
        handles.append(plt.Line2D([], [], color="black", marker="x", linestyle="none",
                                  label="re-run iteration (restart)"))
    if handles:
        ax.legend(handles=handles, fontsize="small", loc="upper left", bbox_to_anchor=(1.01, 1.0),
                  borderaxespad=0)
    ax.set_xlabel(f"virtual time ({unit})")
    ax.set_ylabel("samples / s (virtual)")
    ax.set_ylim(bottom=0)
    ax.set_title("(d) pipeline throughput per iteration (faults, detection, recovery end marked)")
    ax.grid(True, alpha=0.3)


def parse_args(argv):
    p = argparse.ArgumentParser(
        prog="plot.py",
        description="Plot edgesim results files: test accuracy against virtual time and "
        "against round for every run, and a per-device timeline (download, compute, upload, "
        "idle, out-of-memory and dropped tasks) of the first run.",
        epilog="Example: scripts/plot.py results/fedavg.h5 results/fedprox.h5 -o cmp.png "
        "--title 'FedAvg vs FedProx'. Exit codes: 0 ok, 2 a file is missing or is not an "
        "edgesim results file (or bad arguments).")
    p.add_argument("runs", nargs="+", metavar="RUN.h5",
                   help="results files written by edgesim; the first one gets the timeline")
    p.add_argument("-o", "--output", required=True, metavar="OUT.png",
                   help="image to write (the format follows the extension: png, pdf, svg)")
    p.add_argument("--title", help="figure title (default: none)")
    p.add_argument("--timeline-rounds", type=int, default=None, metavar="N",
                   help="rounds shown in the timeline, from the first one (default: 10; "
                   "pipeline runs: iterations, default 1)")
    p.add_argument("--timeline-from", type=int, default=None, metavar="I",
                   help="pipeline runs: the first iteration shown in the timeline (default: "
                   "the first)")
    p.add_argument("--timeline-devices", type=int, default=32, metavar="N",
                   help="devices shown in the timeline, lowest ids first; 0 = no timeline "
                   "(default: 32)")
    p.add_argument("--no-timeline", action="store_true",
                   help="leave out the device timeline (same as --timeline-devices 0)")
    p.add_argument("--xlog", action="store_true",
                   help="log scale for the virtual-time axis of panel (a); evaluations at "
                   "time 0 are not shown")
    p.add_argument("--xlim", type=float, nargs=2, metavar=("A", "B"),
                   help="virtual-time range of panel (a), in seconds")
    p.add_argument("--dpi", type=int, default=120, help="resolution of raster output "
                   "(default: 120)")
    args = p.parse_args(argv)
    if (args.timeline_rounds is not None and args.timeline_rounds < 1) or args.timeline_devices < 0:
        p.error("--timeline-rounds must be at least 1 and --timeline-devices at least 0")
    if args.xlim and not args.xlim[0] < args.xlim[1]:
        p.error("--xlim A B needs A < B")
    if args.xlim and args.xlog and args.xlim[0] <= 0:
        p.error("--xlim A B with --xlog needs A > 0")
    if args.no_timeline:
        args.timeline_devices = 0
    return args


def main(argv):
    args = parse_args(argv)
    try:
        runs = [load_run(path) for path in args.runs]
    except BadInput as e:
        print(f"plot.py: {e}", file=sys.stderr)
        return 2
    legend_title = label_runs(runs)

    # Rows: panels (a) and (b), their legend, and the timeline unless it is left out.
    ncol, legend_height = legend_layout(runs)
    heights = [4.2, legend_height]
    pipeline = runs[0].pipeline is not None
    if args.timeline_devices > 0:
        ids = runs[0].pipeline["ops"]["device"] if pipeline else runs[0].tasks["device"]
        shown_devices = min(len(np.unique(ids)), args.timeline_devices)
        heights.append(max(2.5, 0.28 * shown_devices + 1.2))
    throughput = any(r.pipeline is not None for r in runs)
    if throughput:
        heights.append(3.6)
    fig = plt.figure(figsize=(14, sum(heights)), layout="constrained")
    grid = fig.add_gridspec(len(heights), 2, height_ratios=heights)
    ax_time = fig.add_subplot(grid[0, 0])
    plot_accuracy(ax_time, fig.add_subplot(grid[0, 1]), runs, xlog=args.xlog, xlim=args.xlim)
    plot_legend(fig.add_subplot(grid[1, :]), ax_time, ncol, legend_title)
    if args.timeline_devices > 0:
        if pipeline:
            plot_pipeline_timeline(fig.add_subplot(grid[2, :]), runs[0], args.timeline_rounds or 1,
                                   args.timeline_devices, args.timeline_from)
        else:
            plot_timeline(fig.add_subplot(grid[2, :]), runs[0], args.timeline_rounds or 10,
                          args.timeline_devices)
    if throughput:
        plot_throughput(fig.add_subplot(grid[len(heights) - 1, :]), runs)
    if args.title:
        fig.suptitle(args.title, fontsize="x-large")

    out_dir = os.path.dirname(os.path.abspath(args.output))
    os.makedirs(out_dir, exist_ok=True)
    fig.savefig(args.output, dpi=args.dpi)
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
