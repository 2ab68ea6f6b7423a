#!/usr/bin/python3
"""Prints a markdown table comparing edgesim runs: accuracy, virtual time to a target
accuracy, merged updates, out-of-memory tasks, memory per task on the largest- and
smallest-memory devices (estimate; measured peak), upload traffic, and per-width accuracy
for nested methods.

    /usr/bin/python3 scripts/compare.py RUN.h5 [RUN.h5 ...] [--target 0.85]
"""
import argparse
import sys
import tomllib

import h5py
import numpy as np


def row(path, target):
    with h5py.File(path, "r", swmr=True) as f:
        r, t, d = f["rounds"][:], f["tasks"][:], f["devices"][:]
        w = f["width_eval"][:] if "width_eval" in f else np.zeros(0)
        name = tomllib.loads(f.attrs["config"])["run"]["name"]
    acc = r["test_accuracy"]
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
            f"{r['virtual_time_s'][-1]:.1f} s | {r['participants'].sum()}/{len(t)} | "
            f"{np.count_nonzero(t['status'] == b'oom')} | {memory(big)} | {memory(small)} | "
            f"{r['bytes_up'].sum() / 2**20:.0f} MiB | {widths or '–'} |")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("runs", nargs="+")
    ap.add_argument("--target", type=float, default=0.85)
    args = ap.parse_args()
    print(f"| run | final acc | best acc | virtual time to {100 * args.target:g}% | virtual time | updates merged "
          "| oom tasks | memory/task, largest cap (estimate; peak) | memory/task, smallest cap (estimate; peak) "
          "| upload | width levels (final) |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for path in args.runs:
        try:
            print(row(path, args.target))
        except OSError as e:
            print(f"compare.py: cannot read {path}: {e}", file=sys.stderr)
            return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
