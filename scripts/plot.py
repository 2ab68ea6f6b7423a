#!/usr/bin/python3
"""Plot one or more edgesim results files (schema: docs/RESULTS.md).

The figure has three panels:
  (a) test accuracy against virtual (simulated) time, one line per run;
  (b) test accuracy against round, one line per run;
  (c) a per-device timeline of the FIRST run's first rounds: download, compute and upload
      of every task, idle gaps, and tasks that ran out of memory or were dropped.

Runs are labelled with run.name from their config (the file name if it has none). Files of
runs that are still going, or were killed, are read up to their last finished round.

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
    def __init__(self, path, rounds, tasks, config, complete):
        self.path = path
        self.rounds = rounds
        self.tasks = tasks
        self.config = config
        self.complete = complete
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
        return Run(path, f["rounds"][()], f["tasks"][()], str(config), complete)


def run_name(config_text):
    """run.name from the config TOML; a crude line scan if the TOML does not parse."""
    if tomllib is not None:
        try:
            name = tomllib.loads(config_text).get("run", {}).get("name")
            return str(name) if name else None
        except (tomllib.TOMLDecodeError, AttributeError):
            pass
    table = None
    for line in config_text.splitlines():
        line = line.strip()
        header = re.fullmatch(r"\[\s*([^\]]+?)\s*\]", line)
        if header:
            table = header.group(1)
            continue
        m = re.match(r"""name\s*=\s*["'](.*?)["']""", line)
        if m and table == "run":
            return m.group(1)
    return None


def unique_labels(runs):
    # Two runs with the same run.name (a sweep over a setting that is not in the name)
    # would be indistinguishable in the legend; the file names tell them apart.
    labels = [r.label for r in runs]
    for r in runs:
        if labels.count(r.label) > 1:
            r.label = f"{r.label} ({os.path.basename(r.path)})"
    for r in runs:
        if not r.complete:
            r.label += " [incomplete]"


def time_unit(max_seconds):
    if max_seconds >= 3 * 3600:
        return 3600.0, "h"
    if max_seconds >= 3 * 60:
        return 60.0, "min"
    return 1.0, "s"


def plot_accuracy(ax_time, ax_round, runs):
    longest = max((float(np.nanmax(r.rounds["virtual_time_s"])) for r in runs
                   if len(r.rounds)), default=0.0)
    scale, unit = time_unit(longest)
    for r in runs:
        acc = r.rounds["test_accuracy"]
        evaluated = ~np.isnan(acc)  # rounds without evaluation hold NaN
        x_time = r.rounds["virtual_time_s"][evaluated] / scale
        x_round = r.rounds["round"][evaluated]
        y = acc[evaluated]
        style = dict(marker="o" if len(y) <= 30 else None, markersize=3, linewidth=1.5)
        line, = ax_time.plot(x_time, y, label=r.label, **style)
        ax_round.plot(x_round, y, label=r.label, color=line.get_color(), **style)
        if not len(y):
            line.set_label(f"{r.label} (no evaluated rounds)")
    ax_time.set_xlabel(f"virtual time ({unit})")
    ax_time.set_title("(a) test accuracy vs virtual time")
    ax_round.set_xlabel("round")
    ax_round.set_title("(b) test accuracy vs round")
    # Language-model runs report next-token accuracy (docs/RESULTS.md).
    lm = any(re.search(r'^\s*name\s*=\s*"transformer"', r.config, re.M) for r in runs)
    for ax in (ax_time, ax_round):
        ax.set_ylabel("test accuracy (next-token for language models)" if lm else "test accuracy")
        ax.grid(True, alpha=0.3)
    ax_time.legend(fontsize="small", loc="lower right")


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
    p.add_argument("--timeline-rounds", type=int, default=10, metavar="N",
                   help="rounds shown in the timeline, from the first one (default: 10)")
    p.add_argument("--timeline-devices", type=int, default=32, metavar="N",
                   help="devices shown in the timeline, lowest ids first (default: 32)")
    p.add_argument("--dpi", type=int, default=120, help="resolution of raster output "
                   "(default: 120)")
    args = p.parse_args(argv)
    if args.timeline_rounds < 1 or args.timeline_devices < 1:
        p.error("--timeline-rounds and --timeline-devices must be at least 1")
    return args


def main(argv):
    args = parse_args(argv)
    try:
        runs = [load_run(path) for path in args.runs]
    except BadInput as e:
        print(f"plot.py: {e}", file=sys.stderr)
        return 2
    unique_labels(runs)

    shown_devices = min(len(np.unique(runs[0].tasks["device"])), args.timeline_devices)
    timeline_height = max(2.5, 0.28 * shown_devices + 1.2)
    fig = plt.figure(figsize=(14, 4.2 + timeline_height), layout="constrained")
    grid = fig.add_gridspec(2, 2, height_ratios=[4.2, timeline_height])
    plot_accuracy(fig.add_subplot(grid[0, 0]), fig.add_subplot(grid[0, 1]), runs)
    plot_timeline(fig.add_subplot(grid[1, :]), runs[0], args.timeline_rounds,
                  args.timeline_devices)
    if args.title:
        fig.suptitle(args.title, fontsize="x-large")

    out_dir = os.path.dirname(os.path.abspath(args.output))
    os.makedirs(out_dir, exist_ok=True)
    fig.savefig(args.output, dpi=args.dpi)
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
