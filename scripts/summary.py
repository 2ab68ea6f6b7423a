#!/usr/bin/python3
"""Prints a short summary of an edgesim results file: rounds, accuracy (and for language
models test perplexity = exp(test_loss)), virtual time, tasks, what ended the run and the
warnings it raised."""
import argparse
import sys
import tomllib

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
        language_model = tomllib.loads(f.attrs["config"])["model"]["name"] == "transformer"
        # Files from before these attributes existed have neither.
        warnings = str(f.attrs.get("warnings", "")).splitlines()
        ended_by = str(f.attrs.get("ended_by", ""))
        utilisation = float(f.attrs.get("resource_utilisation", float("nan")))
    acc = rounds["test_accuracy"]
    evaluated = ~np.isnan(acc)
    counts = {s: int(np.sum(tasks["status"] == s.encode())) for s in ("ok", "oom", "dropped")}
    trained = int(np.count_nonzero(rounds["round"] >= 1))  # round 0 is the initial model
    how = {"until_virtual_s": ", ended by the virtual-time budget run.until_virtual_s"}.get(ended_by, "")
    print(f"{args.run}: {trained} rounds ({status}{how})")
    if evaluated.any():
        last = np.flatnonzero(evaluated)[-1]
        kind = "next-token accuracy" if language_model else "test accuracy"
        print(f"  final {kind} {100 * acc[last]:.2f}% (best {100 * np.nanmax(acc):.2f}%)")
        if language_model:  # test_loss is the mean cross-entropy per token, in nats
            loss = rounds["test_loss"]
            print(f"  final test perplexity {np.exp(loss[last]):.2f} (best {np.exp(np.nanmin(loss)):.2f}), "
                  f"{loss[last]:.3f} nats per token")
    if len(rounds):
        print(f"  virtual time {rounds['virtual_time_s'][-1]:.1f} s, wall time {rounds['wall_time_s'][-1]:.1f} s")
        if np.isfinite(utilisation):  # written when a federated run completes
            print(f"  resource utilisation {100 * utilisation:.1f}% (task compute time / (virtual time x devices))")
        print(f"  traffic {rounds['bytes_down'].sum() / 2**20:.1f} MiB down, {rounds['bytes_up'].sum() / 2**20:.1f} MiB up")
    print(f"  tasks: {counts['ok']} ok, {counts['oom']} oom, {counts['dropped']} dropped")
    for w in warnings:
        print(f"  warning: {w}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
