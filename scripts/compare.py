#!/usr/bin/python3
"""Prints a markdown table comparing edgesim runs: accuracy, virtual time to a target
accuracy, merged updates, out-of-memory tasks, memory per task on the largest- and
smallest-memory devices (estimate; measured peak), upload traffic, and per-width accuracy
for nested methods.

    /usr/bin/python3 scripts/compare.py RUN.h5 [RUN.h5 ...] [--target 0.85] [--at-time T ...]

--at-time T adds a column per T: the test accuracy at virtual time T seconds, linearly
interpolated between the evaluations around T, and "–" when T is before the run's first
evaluation or after its last (the run did not get that far; nothing is extrapolated).
"""
import argparse
import os
import sys
import tomllib

import h5py
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from collect import accuracy_at_time  # noqa: E402  (the same interpolation as collect.py)


def row(path, target, at_times=()):
    with h5py.File(path, "r", swmr=True) as f:
        r, t, d = f["rounds"][:], f["tasks"][:], f["devices"][:]
        w = f["width_eval"][:] if "width_eval" in f else np.zeros(0)
        name = tomllib.loads(f.attrs["config"])["run"]["name"]
    acc = r["test_accuracy"]
    at = "".join(" – |" if np.isnan(a) else f" {100 * a:.2f}% |"
                 for a in (accuracy_at_time(r, x) for x in at_times))
    reached = np.flatnonzero(acc >= target)
    ttt = f"{r['virtual_time_s'][reached[0]]:.1f} s (round {r['round'][reached[0]]})" if len(reached) else "not reached"

    def memory(devices):
        x = t[np.isin(t["device"], devices)]
        peak = x["peak_memory_bytes"].max() if "peak_memory_bytes" in x.dtype.names else 0
        return f"{x['memory_bytes'].max() / 1e6:.1f}; {peak / 1e6:.1f} MB"

    caps = d["memory_cap_bytes"]
    big, small = d["device"][caps == caps.max()], d["device"][caps == caps.min()]
    widths = ""
    if len(w):
        last = w[w["round"] == w["round"].max()]
        widths = ", ".join(f"{x['rate']:g}: {100 * x['test_accuracy']:.1f}%" for x in last)
    return (f"| {name} | {100 * acc[~np.isnan(acc)][-1]:.2f}% | {100 * np.nanmax(acc):.2f}% | {ttt} | "
            f"{r['virtual_time_s'][-1]:.1f} s |{at} {r['participants'].sum()}/{len(t)} | "
            f"{np.count_nonzero(t['status'] == b'oom')} | {memory(big)} | {memory(small)} | "
            f"{r['bytes_up'].sum() / 2**20:.0f} MiB | {widths or '–'} |")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("runs", nargs="+")
    ap.add_argument("--target", type=float, default=0.85)
    ap.add_argument("--at-time", type=float, nargs="+", default=[], metavar="T",
                    help="virtual time(s) in seconds: test accuracy there, interpolated between "
                    "evaluations ('–' past the end of a run)")
    args = ap.parse_args()
    at_head = "".join(f" acc at {x:g} s (interpolated) |" for x in args.at_time)
    print(f"| run | final acc | best acc | virtual time to {100 * args.target:g}% | virtual time |{at_head} "
          "updates merged | oom tasks | memory/task, largest cap (estimate; peak) "
          "| memory/task, smallest cap (estimate; peak) | upload | width levels (final) |")
    print("|" + "---|" * (11 + len(args.at_time)))
    for path in args.runs:
        try:
            print(row(path, args.target, args.at_time))
        except OSError as e:
            print(f"compare.py: cannot read {path}: {e}", file=sys.stderr)
            return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
