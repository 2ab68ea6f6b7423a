#!/usr/bin/python3
"""Merge the results files of an edgesim sweep into one table (CSV and HDF5).

Reads SWEEP_DIR/manifest.json (written by `edgesim sweep`) and every results file it names
(schema: docs/RESULTS.md), and writes

  PREFIX.csv             one row per run: axis values, seed, status and the run's metrics;
  PREFIX_by_config.csv   one row per combination of axis values: mean and standard
                         deviation over the seeds of its complete runs;
  PREFIX.h5              the same two tables as compound datasets /runs and /by_config;

PREFIX is SWEEP_DIR/collected unless --out-prefix says otherwise. The aggregated table is
also printed to stdout as a markdown table; warnings (missing or incomplete runs) and the
names of the files written go to stderr, so stdout can be pasted into a document as is.

With --at-time T (virtual seconds; several allowed), both tables also hold the test accuracy
at T, linearly interpolated between the evaluations around T (exact at an evaluation), in a
column named accuracy_at_<T>s_interpolated; NaN when T is before the run's first evaluation
or after its last one (a run that stopped before T is not extrapolated). The aggregated
table's mean is over the seeds that reached T, with their count in n_at_<T>s.

A run is `complete` when its file says so (/status), `incomplete` when the file exists but
says `running` (the run is still going or died) or cannot be read, and `missing` when there
is no file. Only complete runs enter the aggregated table; the per-run table still shows
what an incomplete run has written so far.

Needs Debian's python3-h5py and python3-numpy, hence /usr/bin/python3.
"""
import argparse
import csv
import json
import math
import os
import sys
from datetime import datetime, timezone

try:
    import h5py
    import numpy as np
except ImportError as e:
    sys.exit(f"collect.py: {e}; run it with /usr/bin/python3 (Debian python3-h5py, "
             "python3-numpy)")

DEFAULT_TARGET = 0.8
NAN = float("nan")

# Metric columns of the per-run table, after name, the axis columns, seed and status.
# (column, kind): kind is "f" (float64, NaN when unknown) or "i" (int64; unknown, i.e. a
# missing or unreadable run: -1 in HDF5, an empty cell in CSV).
RUN_METRICS = [
    ("rounds", "i"),                         # finished training rounds (rows of /rounds but round 0)
    ("final_accuracy", "f"),                 # test accuracy of the last evaluated round
    ("best_accuracy", "f"),                  # highest test accuracy of any evaluated round
    ("time_to_target_s", "f"),               # virtual time of the first evaluated round >= target
    ("virtual_time_s", "f"),                 # virtual time at the end of the last round
    ("wall_time_s", "f"),                    # wall time at the end of the last round
    ("estimated_memory_bytes", "i"),         # max of /tasks memory_bytes (analytic estimate)
    ("peak_memory_bytes", "i"),              # max of /tasks peak_memory_bytes (measured; 0 if not)
    ("mean_device_peak_memory_bytes", "f"),  # mean over devices of each device's measured max
    ("bytes_up", "i"),                       # sum of /rounds bytes_up
    ("bytes_down", "i"),                     # sum of /rounds bytes_down
    ("tasks_ok", "i"),                       # tasks by status, over the finished rounds
    ("tasks_oom", "i"),
    ("tasks_dropped", "i"),
]

# Metrics aggregated over seeds in the by-config table: column -> per-run column.
AGG_METRICS = [
    ("final_accuracy", "final_accuracy"),
    ("best_accuracy", "best_accuracy"),
    ("time_to_target_s", "time_to_target_s"),  # over the seeds that reached the target
    ("virtual_time_s", "virtual_time_s"),
    ("bytes_up", "bytes_up"),
    ("bytes_down", "bytes_down"),
]


class BadInput(Exception):
    """The sweep directory or its manifest is missing or malformed (exit code 2)."""


PROG = "collect.py"  # figures.py, which imports this module, sets its own name


def warn(msg):
    print(f"{PROG}: warning: {msg}", file=sys.stderr)


# ---------------------------------------------------------------------------------------
# Reading the sweep


class Sweep:
    """The manifest of a sweep: its axes, seeds and runs (dicts with the manifest's keys,
    plus `path`, the absolute results file)."""

    def __init__(self, directory, manifest):
        self.dir = directory
        self.name = str(manifest.get("sweep") or os.path.basename(os.path.abspath(directory)))
        self.spec = str(manifest.get("spec") or "")
        self.axes = [str(a) for a in manifest.get("axes") or []]
        self.seeds = list(manifest.get("seeds") or [])
        self.runs = []
        for i, entry in enumerate(manifest.get("runs") or []):
            if not isinstance(entry, dict) or not entry.get("results"):
                raise BadInput(f"{self.manifest_path}: runs[{i}] has no \"results\" file name")
            values = entry.get("axes") or {}
            absent = [a for a in self.axes if a not in values]
            if absent:
                raise BadInput(f"{self.manifest_path}: runs[{i}] ({entry.get('name', '?')}) has "
                               f"no value for axis {', '.join(absent)}")
            results = str(entry["results"])
            self.runs.append({
                "name": str(entry.get("name") or os.path.splitext(os.path.basename(results))[0]),
                "results": results,
                "path": os.path.join(directory, results),
                "seed": int(entry.get("seed", -1)),
                "axes": {a: str(values[a]) for a in self.axes},
            })

    @property
    def manifest_path(self):
        return os.path.join(self.dir, "manifest.json")


def load_sweep(directory):
    if not os.path.isdir(directory):
        raise BadInput(f"{directory}: no such sweep directory")
    path = os.path.join(directory, "manifest.json")
    if not os.path.isfile(path):
        raise BadInput(f"{path}: no manifest.json in the sweep directory (is it the directory "
                       "`edgesim sweep` wrote?)")
    try:
        with open(path, encoding="utf-8") as fh:
            manifest = json.load(fh)
    except (OSError, ValueError) as e:
        raise BadInput(f"{path}: cannot read the manifest: {e}") from None
    if not isinstance(manifest, dict) or not isinstance(manifest.get("runs"), list):
        raise BadInput(f"{path}: not a sweep manifest (no \"runs\" list)")
    return Sweep(directory, manifest)


def open_results(path):
    """The results file in SWMR read mode (needed for files of unfinished runs)."""
    return h5py.File(path, "r", swmr=True)


def read_tables(path):
    """(status string, rounds, tasks, devices) of a results file; raises OSError/KeyError."""
    with open_results(path) as f:
        status = f["status"][()] if "status" in f else b""
        status = status.decode("utf-8", "replace") if isinstance(status, bytes) else str(status)
        status = status.rstrip("\x00")
        return status, f["rounds"][()], f["tasks"][()], f["devices"][()]


def accuracy_at_time(rounds, t):
    """Test accuracy at virtual time t: linearly interpolated between the evaluations before
    and after t (exact at an evaluation). NaN before the first evaluation and after the
    last: the run says nothing there, and a run that stopped before t is not extrapolated."""
    acc = rounds["test_accuracy"]
    ok = ~np.isnan(acc)
    times, values = rounds["virtual_time_s"][ok], acc[ok]
    if not len(times) or t < times[0] or t > times[-1]:
        return NAN
    return float(np.interp(t, times, values))


def at_time_column(t):
    """Column of the accuracy at virtual time t; the name says it is interpolated."""
    return f"accuracy_at_{t:g}s_interpolated"


def trained_rounds(rounds):
    """Rows of /rounds that are training rounds: round 0 (the initial model) is not one."""
    return int(np.count_nonzero(rounds["round"] >= 1)) if len(rounds) else 0


def run_metrics(rounds, tasks, target, at_times=()):
    """The RUN_METRICS of one run from its /rounds and /tasks tables, and its accuracy at
    each of at_times."""
    m = {c: (NAN if k == "f" else -1) for c, k in RUN_METRICS}
    for t in at_times:
        m[at_time_column(t)] = accuracy_at_time(rounds, t) if len(rounds) else NAN
    m["rounds"] = trained_rounds(rounds)
    # Tasks of a round still in progress (unfinished run) are left out: every counted task
    # belongs to a round of /rounds.
    if len(rounds):
        tasks = tasks[tasks["round"] <= rounds["round"][-1]]
    else:
        tasks = tasks[:0]
    if len(rounds):
        acc = rounds["test_accuracy"]
        evaluated = np.flatnonzero(~np.isnan(acc))
        if len(evaluated):
            m["final_accuracy"] = float(acc[evaluated[-1]])
            m["best_accuracy"] = float(np.max(acc[evaluated]))
            reached = evaluated[acc[evaluated] >= target]
            if len(reached):
                m["time_to_target_s"] = float(rounds["virtual_time_s"][reached[0]])
        m["virtual_time_s"] = float(rounds["virtual_time_s"][-1])
        m["wall_time_s"] = float(rounds["wall_time_s"][-1])
        m["bytes_up"] = int(np.sum(rounds["bytes_up"]))
        m["bytes_down"] = int(np.sum(rounds["bytes_down"]))
    if len(tasks):
        m["estimated_memory_bytes"] = int(np.max(tasks["memory_bytes"]))
        # Files from before the counting allocator have no measured peak: 0, not the estimate.
        mem = tasks["peak_memory_bytes"] if "peak_memory_bytes" in tasks.dtype.names else np.zeros(len(tasks), int)
        m["peak_memory_bytes"] = int(np.max(mem))
        per_device = [np.max(mem[tasks["device"] == d]) for d in np.unique(tasks["device"])]
        m["mean_device_peak_memory_bytes"] = float(np.mean(per_device))
    for s in ("ok", "oom", "dropped"):
        m[f"tasks_{s}"] = int(np.count_nonzero(tasks["status"] == s.encode()))
    return m


def collect_runs(sweep, target, at_times=()):
    """One dict per manifest run: name, axes, seed, status, results, RUN_METRICS and the
    accuracy at each of at_times."""
    rows = []
    for run in sweep.runs:
        row = {"name": run["name"], "axes": run["axes"], "seed": run["seed"],
               "results": run["results"], "status": "missing"}
        row.update({c: (NAN if k == "f" else -1) for c, k in RUN_METRICS})
        row.update({at_time_column(t): NAN for t in at_times})
        if not os.path.exists(run["path"]):
            warn(f"{run['name']}: results file {run['path']} is missing; run left out of "
                 "the aggregates")
        else:
            try:
                status, rounds, tasks, _ = read_tables(run["path"])
            except (OSError, KeyError, ValueError, TypeError) as e:
                row["status"] = "incomplete"
                warn(f"{run['name']}: cannot read {run['path']} ({e}); counted as incomplete "
                     "and left out of the aggregates")
            else:
                row.update(run_metrics(rounds, tasks, target, at_times))
                row["status"] = "complete" if status == "complete" else "incomplete"
                if row["status"] != "complete":
                    n = trained_rounds(rounds)
                    warn(f"{run['name']}: incomplete (status \"{status}\", {n} "
                         f"round{'s' if n != 1 else ''} written); left out of the aggregates")
        rows.append(row)
    return rows


def mean_std(values):
    """(mean, sample std with ddof=1) of a list of floats; NaN std for fewer than 2, NaN
    mean for none."""
    values = [v for v in values if not math.isnan(v)]
    if not values:
        return NAN, NAN
    mean = float(np.mean(values))
    std = float(np.std(values, ddof=1)) if len(values) > 1 else NAN
    return mean, std


def config_key(row, axes):
    return tuple(row["axes"][a] for a in axes)


def aggregate(rows, axes, at_times=()):
    """One dict per combination of axis values (in order of first appearance in the
    manifest), over the complete runs of that combination."""
    groups = {}
    for row in rows:
        groups.setdefault(config_key(row, axes), []).append(row)
    out = []
    for key, members in groups.items():
        done = [r for r in members if r["status"] == "complete"]
        agg = {"axes": dict(zip(axes, key)), "n_runs": len(members), "n_seeds": len(done),
               "seeds": [r["seed"] for r in done]}
        for col, src in AGG_METRICS:
            agg[f"{col}_mean"], agg[f"{col}_std"] = mean_std([float(r[src]) for r in done
                                                              if r[src] != -1])
        agg["n_reached_target"] = sum(1 for r in done if not math.isnan(r["time_to_target_s"]))
        for t in at_times:
            col = at_time_column(t)
            agg[f"{col}_mean"], agg[f"{col}_std"] = mean_std([r[col] for r in done])
            agg[f"n_at_{t:g}s"] = sum(1 for r in done if not math.isnan(r[col]))
        out.append(agg)
    return out


# ---------------------------------------------------------------------------------------
# Writing


def run_columns(axes, at_times=()):
    """(column, kind) of the per-run table; kind "s" = string."""
    return ([("name", "s")] + [(a, "s") for a in axes] + [("seed", "i"), ("status", "s")]
            + RUN_METRICS + [(at_time_column(t), "f") for t in at_times]
            + [("target_accuracy", "f"), ("results", "s")])


def config_columns(axes, at_times=()):
    cols = [(a, "s") for a in axes] + [("n_runs", "i"), ("n_seeds", "i")]
    for col, _ in AGG_METRICS:
        cols += [(f"{col}_mean", "f"), (f"{col}_std", "f")]
        if col == "time_to_target_s":
            cols.append(("n_reached_target", "i"))
    for t in at_times:
        col = at_time_column(t)
        cols += [(f"{col}_mean", "f"), (f"{col}_std", "f"), (f"n_at_{t:g}s", "i")]
    return cols + [("target_accuracy", "f")]


def cell(row, col, axes, target):
    if col in axes:
        return row["axes"][col]
    if col == "target_accuracy":
        return target
    return row[col]


def table(rows, columns, axes, target):
    return [[cell(r, c, axes, target) for c, _ in columns] for r in rows]


def fmt_csv(v, kind):
    if kind == "f":
        return "nan" if math.isnan(v) else repr(float(v))  # repr: shortest exact round-trip
    if kind == "i":
        return "" if v == -1 else str(v)  # unknown (missing run): empty, read as NaN
    return str(v)


def write_csv(path, columns, values):
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow([c for c, _ in columns])
        for row in values:
            w.writerow([fmt_csv(v, kind) for v, (_, kind) in zip(row, columns)])


def compound(columns, values):
    """A numpy structured array: strings fixed-length null-padded UTF-8 (as in the results
    files), integers <i8, floats <f8."""
    fields = []
    for j, (c, kind) in enumerate(columns):
        if kind == "s":
            width = max([len(str(r[j]).encode("utf-8")) for r in values] + [1])
            fields.append((c, f"S{width}"))
        else:
            fields.append((c, "<i8" if kind == "i" else "<f8"))
    arr = np.zeros(len(values), dtype=fields)
    for i, row in enumerate(values):
        for j, (c, kind) in enumerate(columns):
            arr[c][i] = str(row[j]).encode("utf-8") if kind == "s" else row[j]
    return arr


def write_h5(path, sweep, target, run_cols, run_vals, cfg_cols, cfg_vals):
    tmp = path + ".tmp"
    with h5py.File(tmp, "w") as f:
        f.attrs["sweep"] = sweep.name
        f.attrs["spec"] = sweep.spec
        f.attrs["sweep_dir"] = os.path.abspath(sweep.dir)
        f.attrs["axes"] = json.dumps(sweep.axes)
        f.attrs["seeds"] = json.dumps(sweep.seeds)
        f.attrs["target_accuracy"] = float(target)
        f.attrs["created"] = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        f.create_dataset("runs", data=compound(run_cols, run_vals))
        f.create_dataset("by_config", data=compound(cfg_cols, cfg_vals))
    os.replace(tmp, path)


def fmt_pm(mean, std, scale=1.0, digits=2):
    if math.isnan(mean):
        return "–"
    if digits is None:  # times: enough decimals for short runs, none for long ones
        digits = 2 if abs(mean * scale) < 10 else 1 if abs(mean * scale) < 1000 else 0
    s = f"{mean * scale:.{digits}f}"
    if not math.isnan(std):
        s += f" ± {std * scale:.{digits}f}"
    return s


def fmt_bytes_pm(mean, std):
    if math.isnan(mean):
        return "–"
    scale, unit = 1.0, "B"
    for s, u in ((2**30, "GiB"), (2**20, "MiB"), (2**10, "KiB")):
        if mean >= s:
            scale, unit = 1.0 / s, u
            break
    return f"{fmt_pm(mean, std, scale, 1)} {unit}"


def markdown(aggs, axes, target, at_times=()):
    head = list(axes) + ["seeds", "final acc (%)", "best acc (%)",
                         f"time to {100 * target:g}% (s)", "reached"]
    head += [f"acc at {t:g} s (%, interpolated)" for t in at_times]
    head += ["virtual time (s)", "up", "down"]
    lines = ["| " + " | ".join(head) + " |",
             "|" + "|".join("---" if i < len(axes) else "--:" for i in range(len(head))) + "|"]
    for a in aggs:
        cells = [a["axes"][x] for x in axes] + [
            f"{a['n_seeds']}/{a['n_runs']}",
            fmt_pm(a["final_accuracy_mean"], a["final_accuracy_std"], 100),
            fmt_pm(a["best_accuracy_mean"], a["best_accuracy_std"], 100),
            fmt_pm(a["time_to_target_s_mean"], a["time_to_target_s_std"], 1, None),
            f"{a['n_reached_target']}/{a['n_seeds']}",
        ] + [
            # "–" when no seed ran until t; the count when only some did.
            fmt_pm(a[f"{at_time_column(t)}_mean"], a[f"{at_time_column(t)}_std"], 100)
            + (f" ({a[f'n_at_{t:g}s']}/{a['n_seeds']})"
               if 0 < a[f"n_at_{t:g}s"] < a["n_seeds"] else "")
            for t in at_times
        ] + [
            fmt_pm(a["virtual_time_s_mean"], a["virtual_time_s_std"], 1, None),
            fmt_bytes_pm(a["bytes_up_mean"], a["bytes_up_std"]),
            fmt_bytes_pm(a["bytes_down_mean"], a["bytes_down_std"]),
        ]
        lines.append("| " + " | ".join(str(c).replace("|", "\\|") for c in cells) + " |")
    return "\n".join(lines)


def parse_args(argv):
    p = argparse.ArgumentParser(
        prog="collect.py",
        description="Merge the results files of an edgesim sweep (SWEEP_DIR/manifest.json) "
        "into one table per run and one aggregated over seeds, as CSV and HDF5, and print "
        "the aggregated table as markdown.",
        epilog="Writes PREFIX.csv, PREFIX_by_config.csv and PREFIX.h5 (/runs, /by_config). "
        "Exit codes: 0 ok (also with missing or incomplete runs, which are reported on "
        "stderr), 2 no sweep directory, no or bad manifest.json, or bad arguments.")
    p.add_argument("sweep_dir", metavar="SWEEP_DIR", help="directory written by edgesim sweep")
    p.add_argument("--target", type=float, default=DEFAULT_TARGET, metavar="ACC",
                   help="test accuracy (0-1) for the time-to-accuracy column "
                   f"(default: {DEFAULT_TARGET})")
    p.add_argument("--at-time", type=float, nargs="+", default=[], metavar="T",
                   help="virtual time(s) in seconds at which to report the test accuracy, "
                   "linearly interpolated between evaluations (NaN when the run did not get "
                   "that far)")
    p.add_argument("--out-prefix", metavar="PREFIX",
                   help="output path without extension (default: SWEEP_DIR/collected)")
    args = p.parse_args(argv)
    if not 0.0 <= args.target <= 1.0:
        p.error("--target is a fraction of the test set, between 0 and 1")
    if any(not (t >= 0 and math.isfinite(t)) for t in args.at_time):
        p.error("--at-time takes virtual times in seconds, >= 0")
    # A time given twice (or two that print alike): one column.
    unique = {}
    for t in args.at_time:
        unique.setdefault(at_time_column(t), t)
    args.at_time = list(unique.values())
    return args


def main(argv):
    args = parse_args(argv)
    try:
        sweep = load_sweep(args.sweep_dir)
    except BadInput as e:
        print(f"collect.py: {e}", file=sys.stderr)
        return 2
    at = args.at_time
    rows = collect_runs(sweep, args.target, at)
    aggs = aggregate(rows, sweep.axes, at)

    prefix = args.out_prefix or os.path.join(args.sweep_dir, "collected")
    os.makedirs(os.path.dirname(os.path.abspath(prefix)), exist_ok=True)
    run_cols, cfg_cols = run_columns(sweep.axes, at), config_columns(sweep.axes, at)
    run_vals = table(rows, run_cols, sweep.axes, args.target)
    cfg_vals = table(aggs, cfg_cols, sweep.axes, args.target)
    write_csv(prefix + ".csv", run_cols, run_vals)
    write_csv(prefix + "_by_config.csv", cfg_cols, cfg_vals)
    write_h5(prefix + ".h5", sweep, args.target, run_cols, run_vals, cfg_cols, cfg_vals)

    counts = {s: sum(1 for r in rows if r["status"] == s) for s in ("complete", "incomplete",
                                                                    "missing")}
    print(f"collect.py: {sweep.name}: {len(rows)} runs ({counts['complete']} complete, "
          f"{counts['incomplete']} incomplete, {counts['missing']} missing), "
          f"{len(aggs)} configuration{'s' if len(aggs) != 1 else ''}; wrote {prefix}.csv, {prefix}_by_config.csv, "
          f"{prefix}.h5", file=sys.stderr)
    print(markdown(aggs, sweep.axes, args.target, at))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
