#!/usr/bin/python3
"""Prints a short summary of an edgesim results file: rounds, accuracy, virtual time, tasks."""
import argparse
import math
import sys

import h5py
import numpy as np


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("run", help="results file (.h5)")
    args = ap.parse_args()
    try:
        f = h5py.File(args.run, "r", swmr=True)
    except OSError as e:
        print(f"summary.py: cannot read {args.run}: {e}", file=sys.stderr)
        return 2
    with f:
        rounds, tasks = f["rounds"][:], f["tasks"][:]
        status = f["status"][()].decode()
    acc = rounds["test_accuracy"]
    evaluated = ~np.isnan(acc)
    counts = {s: int(np.sum(tasks["status"] == s.encode())) for s in ("ok", "oom", "dropped")}
    print(f"{args.run}: {len(rounds)} rounds ({status})")
    if evaluated.any():
        last = np.flatnonzero(evaluated)[-1]
        print(f"  final test accuracy {100 * acc[last]:.2f}% (best {100 * np.nanmax(acc):.2f}%)")
    if len(rounds):
        print(f"  virtual time {rounds['virtual_time_s'][-1]:.1f} s, wall time {rounds['wall_time_s'][-1]:.1f} s")
        print(f"  traffic {rounds['bytes_down'].sum() / 2**20:.1f} MiB down, {rounds['bytes_up'].sum() / 2**20:.1f} MiB up")
    print(f"  tasks: {counts['ok']} ok, {counts['oom']} oom, {counts['dropped']} dropped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
