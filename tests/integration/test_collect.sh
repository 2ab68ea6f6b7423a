#!/usr/bin/env bash
# From a sweep to tables and figures: a 4-run sweep (2 label skews x 2 seeds), then
# scripts/collect.py (one row per run with the values in its results file; mean over seeds per
# configuration; accuracy at a virtual time with --at-time) and scripts/figures.py (PNG and PDF
# of the standard figures).
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

write_device_set "$TMP/devs.toml" "agx 1.0 4GiB 200 5" "nano 6.0 2GiB 40 10" '"agx", "nano"'
write_config "$TMP/base.toml" devs.toml 4 3
cat >"$TMP/sweep.toml" <<TOML
[sweep]
name = "mini"
base = "base.toml"
out_dir = "$TMP/mini"
seeds = [1, 2]
ranks = 1
set = ["data.train_samples=1000", "data.test_samples=200"]
[axes]
data.alpha = [0.3, 3.0]
TOML
"$EDGESIM_BIN" sweep "$TMP/sweep.toml" --jobs 2 --oversubscribe >"$TMP/sweep.log" 2>&1 || { cat "$TMP/sweep.log"; fail "sweep failed"; }
"$PYTHON" "$EDGESIM_SOURCE_DIR/scripts/collect.py" "$TMP/mini" --target 0.5 --at-time 0.5 1e6 >"$TMP/collect.md" ||
  fail "collect.py failed"
"$PYTHON" "$EDGESIM_SOURCE_DIR/scripts/figures.py" "$TMP/mini" --target 0.5 >"$TMP/figures.log" 2>&1 ||
  { cat "$TMP/figures.log"; fail "figures.py failed"; }

"$PYTHON" - "$TMP/mini" <<'PY'
import csv, math, sys
import h5py
import numpy as np
d = sys.argv[1]
rows = list(csv.DictReader(open(f"{d}/collected.csv")))
assert len(rows) == 4, len(rows)
for row in rows:
    with h5py.File(f"{d}/{row['name']}.h5", "r") as f:
        r = f["rounds"][:]
        t = f["tasks"][:]
    acc = r["test_accuracy"][~np.isnan(r["test_accuracy"])]
    assert math.isclose(float(row["final_accuracy"]), acc[-1], rel_tol=1e-9), (row["final_accuracy"], acc[-1])
    assert math.isclose(float(row["virtual_time_s"]), r["virtual_time_s"][-1], rel_tol=1e-9)
    assert int(row["peak_memory_bytes"]) == int(t["peak_memory_bytes"].max())
    assert row["data.alpha"] in ("0.3", "3.0") and row["seed"] in ("1", "2")
    # --at-time: between the evaluations around 0.5 s (none before the first), none after the run.
    ev = ~np.isnan(r["test_accuracy"])
    t, a = r["virtual_time_s"][ev], r["test_accuracy"][ev]
    at = float(row["accuracy_at_0.5s_interpolated"])
    if t[0] <= 0.5 <= t[-1]:
        assert math.isclose(at, np.interp(0.5, t, a), rel_tol=1e-12), (at, t, a)
    else:
        assert math.isnan(at), (at, t)
    assert math.isnan(float(row["accuracy_at_1e+06s_interpolated"])), row
print("  ok: collected.csv: one row per run, values equal to its results file (and --at-time)")
by = list(csv.DictReader(open(f"{d}/collected_by_config.csv")))
assert len(by) == 2, len(by)
for b in by:
    seeds = [float(r["final_accuracy"]) for r in rows if r["data.alpha"] == b["data.alpha"]]
    mean_col = next(k for k in b if k.startswith("final_accuracy") and "mean" in k)
    assert math.isclose(float(b[mean_col]), np.mean(seeds), rel_tol=1e-9), (b[mean_col], seeds)
print("  ok: collected_by_config.csv: the mean over seeds per configuration")
import os
figs = os.listdir(f"{d}/figures")
for stem in ("accuracy_vs_time", "time_to_accuracy", "timeline", "memory"):
    for ext in ("png", "pdf"):
        p = f"{d}/figures/{stem}.{ext}"
        assert os.path.getsize(p) > 1000, p
print(f"  ok: figures: {', '.join(sorted(figs))}")
PY
grep -q '^| ' "$TMP/collect.md" || fail "collect.py printed no markdown table"
check "collect.py prints the by-configuration table as markdown"
