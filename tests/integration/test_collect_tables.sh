#!/usr/bin/env bash
# scripts/collect.py and scripts/figures.py on a small sweep directory built by hand (what
# `edgesim sweep` writes): 2 alphas x 2 seeds of real runs, plus one incomplete run (a
# results file that says "running") and one missing run. The per-run table must hold what
# the results files hold, the per-config table the mean over the complete seeds only, and
# figures.py must write every figure as PNG and PDF. Then --at-time of collect.py and
# compare.py on a results file made by hand, and figures.py's long titles.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

collect="$EDGESIM_SOURCE_DIR/scripts/collect.py"
figures="$EDGESIM_SOURCE_DIR/scripts/figures.py"
[[ -f $collect ]] || fail "$collect does not exist"
[[ -f $figures ]] || fail "$figures does not exist"

SWEEP="$TMP/sweep"
mkdir -p "$SWEEP"

# One rank without mpirun: the fastest way to run edgesim.
run_one() {
  local alpha=$1 seed=$2 name="alpha-$1_seed-$2"
  "$EDGESIM_BIN" run "$EDGESIM_SOURCE_DIR/experiments/quickstart.toml" \
    --set data.train_samples=1000 --set data.test_samples=300 --set run.rounds=3 \
    --set devices.count=4 --set data.alpha="$alpha" --set run.seed="$seed" \
    --out "$SWEEP/$name.h5" >"$TMP/$name.log" 2>&1 ||
    { sed 's/^/    | /' "$TMP/$name.log" >&2; fail "edgesim run $name failed"; }
}
for alpha in 0.1 1.0; do
  for seed in 1 2; do run_one "$alpha" "$seed"; done
done
run_one 0.1 3
check "ran 5 small runs"

# alpha=0.1 seed=3 becomes an unfinished run: one round written, status "running" (tasks of
# later rounds stay in /tasks, as when a run dies mid-round). alpha=1.0 seed=3 has no file.
# The manifest names an algorithm.name axis with one value, so figures.py's default
# group-by (algorithm.name) and a --facet on data.alpha both get exercised.
"$PYTHON" - "$SWEEP" <<'PY'
import json, os, sys
import h5py
sweep = sys.argv[1]
with h5py.File(os.path.join(sweep, "alpha-0.1_seed-3.h5"), "r+") as f:
    f["rounds"].resize((2,))  # round 0 (the initial model) and round 1
    f["status"][()] = b"running"
runs = []
for alpha in ("0.1", "1.0"):
    for seed in (1, 2, 3):
        name = f"alpha-{alpha}_seed-{seed}"
        runs.append({"name": name, "results": name + ".h5", "seed": seed,
                     "axes": {"algorithm.name": "fedavg", "data.alpha": alpha}})
manifest = {"sweep": "collect-test", "spec": os.path.join(sweep, "spec.toml"),
            "axes": ["algorithm.name", "data.alpha"], "seeds": [1, 2, 3], "runs": runs}
with open(os.path.join(sweep, "manifest.json"), "w") as fh:
    json.dump(manifest, fh, indent=2)
PY

rc=0
"$PYTHON" "$collect" "$SWEEP" --target 0.3 >"$TMP/collect.out" 2>"$TMP/collect.err" || rc=$?
[[ $rc -eq 0 ]] || { cat "$TMP/collect.out" "$TMP/collect.err" >&2; fail "collect.py exited with $rc"; }
for f in collected.csv collected_by_config.csv collected.h5; do
  [[ -s $SWEEP/$f ]] || fail "collect.py wrote no (or an empty) $f"
done
grep -q "warning: alpha-0.1_seed-3: incomplete" "$TMP/collect.err" ||
  { cat "$TMP/collect.err" >&2; fail "no warning on stderr about the incomplete run"; }
grep -q "warning: alpha-1.0_seed-3: .*missing" "$TMP/collect.err" ||
  { cat "$TMP/collect.err" >&2; fail "no warning on stderr about the missing run"; }
check "collect.py: exit 0, CSV and HDF5 written, warnings for the incomplete and missing runs"

"$PYTHON" - "$SWEEP" "$TMP/collect.out" <<'PY' || fail "collected tables do not match the results files"
import csv, math, os, sys
import h5py, numpy as np

sweep, stdout = sys.argv[1], sys.argv[2]
target = 0.3

def num(s):
    return float("nan") if s in ("", "nan") else float(s)

def same(a, b):
    return (math.isnan(a) and math.isnan(b)) or a == b

def close(a, b):
    return (math.isnan(a) and math.isnan(b)) or abs(a - b) <= 1e-12 * max(1.0, abs(b))

with open(os.path.join(sweep, "collected.csv"), newline="") as fh:
    runs = {r["name"]: r for r in csv.DictReader(fh)}
with open(os.path.join(sweep, "collected_by_config.csv"), newline="") as fh:
    configs = {r["data.alpha"]: r for r in csv.DictReader(fh)}
assert len(runs) == 6, f"{len(runs)} rows in collected.csv, expected 6"
assert set(configs) == {"0.1", "1.0"}, f"by-config rows: {sorted(configs)}"

# Every complete run: the CSV row is what h5py reads from its file.
expected = {}
for alpha in ("0.1", "1.0"):
    for seed in (1, 2):
        name = f"alpha-{alpha}_seed-{seed}"
        row = runs[name]
        with h5py.File(os.path.join(sweep, name + ".h5"), "r", swmr=True) as f:
            rounds, tasks = f["rounds"][()], f["tasks"][()]
        acc = rounds["test_accuracy"]
        ev = ~np.isnan(acc)
        reached = np.flatnonzero(ev & (acc >= target))
        want = {
            "final_accuracy": float(acc[ev][-1]),
            "best_accuracy": float(acc[ev].max()),
            "virtual_time_s": float(rounds["virtual_time_s"][-1]),
            "wall_time_s": float(rounds["wall_time_s"][-1]),
            "time_to_target_s": float(rounds["virtual_time_s"][reached[0]]) if len(reached)
                                else float("nan"),
            "rounds": 3.0,
            "bytes_up": float(rounds["bytes_up"].sum()),
            "bytes_down": float(rounds["bytes_down"].sum()),
            "estimated_memory_bytes": float(tasks["memory_bytes"].max()),
            "peak_memory_bytes": float(tasks["peak_memory_bytes"].max()),
            "tasks_ok": float(np.count_nonzero(tasks["status"] == b"ok")),
            "tasks_oom": float(np.count_nonzero(tasks["status"] == b"oom")),
            "tasks_dropped": float(np.count_nonzero(tasks["status"] == b"dropped")),
        }
        assert row["status"] == "complete", f"{name}: status {row['status']}"
        assert row["data.alpha"] == alpha and row["algorithm.name"] == "fedavg", row
        assert int(row["seed"]) == seed and num(row["target_accuracy"]) == target, row
        for col, value in want.items():
            assert same(num(row[col]), value), f"{name}: {col} = {row[col]}, file says {value}"
        expected[(alpha, seed)] = want
finals = ", ".join("%.4f" % w["final_accuracy"] for w in expected.values())
print(f"  ok: collected.csv: 4 complete runs match their files (final accuracy {finals})")

inc, miss = runs["alpha-0.1_seed-3"], runs["alpha-1.0_seed-3"]
assert inc["status"] == "incomplete", f"unfinished run has status {inc['status']}"
assert inc["rounds"] == "1", f"unfinished run: rounds = {inc['rounds']}, expected 1"
assert inc["tasks_ok"] == "4", f"unfinished run counts tasks of unfinished rounds: {inc['tasks_ok']}"
assert miss["status"] == "missing" and miss["rounds"] == "", f"missing run: {miss}"
assert math.isnan(num(miss["final_accuracy"])), miss
print("  ok: collected.csv: the unfinished run is incomplete (1 round), the absent one missing")

# By config: mean and std over seeds 1 and 2 only (the incomplete/missing seed 3 excluded).
for alpha, row in configs.items():
    assert row["n_runs"] == "3" and row["n_seeds"] == "2", f"alpha={alpha}: {row}"
    for col in ("final_accuracy", "best_accuracy", "virtual_time_s", "bytes_up", "bytes_down"):
        v = [expected[(alpha, s)][col] for s in (1, 2)]
        assert close(num(row[col + "_mean"]), float(np.mean(v))), \
            f"alpha={alpha}: {col}_mean = {row[col + '_mean']}, mean of seeds {v}"
        assert close(num(row[col + "_std"]), float(np.std(v, ddof=1))), \
            f"alpha={alpha}: {col}_std = {row[col + '_std']}, std of seeds {v}"
    t = [expected[(alpha, s)]["time_to_target_s"] for s in (1, 2)]
    t = [x for x in t if not math.isnan(x)]
    assert int(row["n_reached_target"]) == len(t), f"alpha={alpha}: n_reached_target {row}"
    assert close(num(row["time_to_target_s_mean"]), float(np.mean(t)) if t else float("nan"))
print("  ok: collected_by_config.csv: mean and std over the two complete seeds")

# HDF5: the same tables as compound datasets.
with h5py.File(os.path.join(sweep, "collected.h5"), "r") as f:
    assert f.attrs["target_accuracy"] == target
    h5runs, h5cfg = f["runs"][()], f["by_config"][()]
assert len(h5runs) == 6 and len(h5cfg) == 2, (len(h5runs), len(h5cfg))
for r in h5runs:
    row = runs[r["name"].decode()]
    assert r["status"].decode() == row["status"]
    for col in ("final_accuracy", "virtual_time_s", "time_to_target_s"):
        assert same(float(r[col]), num(row[col])), f"collected.h5 /runs {col}: {r[col]} vs {row[col]}"
for r in h5cfg:
    row = configs[r["data.alpha"].decode()]
    assert close(float(r["final_accuracy_mean"]), num(row["final_accuracy_mean"]))
print("  ok: collected.h5: /runs and /by_config agree with the CSVs")

# stdout: a markdown table with one row per configuration.
lines = [l for l in open(stdout).read().splitlines() if l.startswith("|")]
assert len(lines) == 4, f"markdown table has {len(lines)} lines, expected header + rule + 2"
assert "data.alpha" in lines[0] and "final acc" in lines[0], lines[0]
assert lines[2].startswith("| fedavg | 0.1 | 2/3 |"), lines[2]
print("  ok: stdout: markdown table of the 2 configurations")
PY

# Bad input: exit 2 and a message naming the problem.
rc=0
"$PYTHON" "$collect" "$TMP/no-such-sweep" >/dev/null 2>"$TMP/nodir.err" || rc=$?
[[ $rc -eq 2 ]] && grep -q "no-such-sweep" "$TMP/nodir.err" ||
  { cat "$TMP/nodir.err" >&2; fail "collect.py on a missing dir: exit $rc, expected 2 and its name"; }
mkdir -p "$TMP/empty"
rc=0
"$PYTHON" "$collect" "$TMP/empty" >/dev/null 2>"$TMP/nomanifest.err" || rc=$?
[[ $rc -eq 2 ]] && grep -q "manifest.json" "$TMP/nomanifest.err" ||
  { cat "$TMP/nomanifest.err" >&2; fail "collect.py without manifest: exit $rc, expected 2"; }
check "collect.py: exit 2 on a missing sweep dir and on a dir without manifest.json"

# Figures.
rc=0
"$PYTHON" "$figures" "$SWEEP" --target 0.3 --facet data.alpha -o "$TMP/figs" \
  >"$TMP/figures.log" 2>&1 || rc=$?
[[ $rc -eq 0 ]] || { cat "$TMP/figures.log" >&2; fail "figures.py exited with $rc"; }
for name in accuracy_vs_time time_to_accuracy timeline memory; do
  for ext in png pdf; do
    [[ -s $TMP/figs/$name.$ext ]] || fail "figures.py wrote no (or an empty) $name.$ext"
  done
  head -c 8 "$TMP/figs/$name.png" | od -An -tx1 | grep -q "89 50 4e 47 0d 0a 1a 0a" ||
    fail "$name.png is not a PNG"
  [[ $(head -c 5 "$TMP/figs/$name.pdf") == "%PDF-" ]] || fail "$name.pdf is not a PDF"
done
check "figures.py: 4 figures as PNG and PDF"
rc=0
"$PYTHON" "$figures" "$SWEEP" --facet no.such.axis -o "$TMP/figs2" >/dev/null 2>"$TMP/badaxis.err" || rc=$?
[[ $rc -eq 2 ]] && grep -q "no.such.axis" "$TMP/badaxis.err" ||
  { cat "$TMP/badaxis.err" >&2; fail "figures.py --facet on an unknown axis: exit $rc, expected 2"; }
check "figures.py: exit 2 on an unknown axis"

# Accuracy at a virtual time (--at-time), on a results file made by hand so the answer is
# known: evaluations at 1 s (20%) and 4 s (60%), none at 2 s (round 2 not evaluated).
# At 3 s: 20% + (60% - 20%) * 2/3, interpolated; at 4 s exactly 60%; at 0.5 s (before the
# first evaluation) and at 5 s (after the run) nothing.
HAND="$TMP/handmade"
mkdir -p "$HAND"
"$PYTHON" - "$HAND" <<'PY'
import json, os, sys
import h5py, numpy as np
d = sys.argv[1]
rounds = np.array([(1, 1.0, 0.2, 0.1, 10, 20, 1), (2, 2.0, np.nan, 0.2, 10, 20, 1),
                   (3, 4.0, 0.6, 0.3, 10, 20, 1)],
                  dtype=[("round", "<i8"), ("virtual_time_s", "<f8"), ("test_accuracy", "<f8"),
                         ("wall_time_s", "<f8"), ("bytes_up", "<i8"), ("bytes_down", "<i8"),
                         ("participants", "<i8")])
tasks = np.array([(0, r, 100, 120, b"ok") for r in (1, 2, 3)],
                 dtype=[("device", "<i8"), ("round", "<i8"), ("memory_bytes", "<i8"),
                        ("peak_memory_bytes", "<i8"), ("status", "S8")])
devices = np.array([(0, 1 << 30)], dtype=[("device", "<i8"), ("memory_cap_bytes", "<i8")])
with h5py.File(os.path.join(d, "hand.h5"), "w") as f:
    f.attrs["config"] = '[run]\nname = "hand"\n'
    f["status"] = b"complete"
    f["rounds"], f["tasks"], f["devices"] = rounds, tasks, devices
json.dump({"sweep": "hand", "axes": ["algorithm.name"], "seeds": [1],
           "runs": [{"name": "hand", "results": "hand.h5", "seed": 1,
                     "axes": {"algorithm.name": "fedavg"}}]},
          open(os.path.join(d, "manifest.json"), "w"))
PY
"$PYTHON" "$collect" "$HAND" --target 0.5 --at-time 0.5 3 4 5 >"$TMP/hand.md" 2>"$TMP/hand.err" ||
  { cat "$TMP/hand.err" >&2; fail "collect.py --at-time exited with an error"; }
"$PYTHON" - "$HAND" "$TMP/hand.md" <<'PY' || fail "collect.py --at-time: wrong values"
import csv, math, sys
d, md = sys.argv[1], sys.argv[2]
run = next(csv.DictReader(open(f"{d}/collected.csv")))
cfg = next(csv.DictReader(open(f"{d}/collected_by_config.csv")))
want = {"0.5": math.nan, "3": 0.2 + 0.4 * 2 / 3, "4": 0.6, "5": math.nan}
for t, v in want.items():
    col = f"accuracy_at_{t}s_interpolated"
    for table, key in ((run, col), (cfg, col + "_mean")):
        got = float(table[key])
        assert (math.isnan(v) and math.isnan(got)) or abs(got - v) < 1e-12, f"{key} = {got}, want {v}"
    assert cfg[f"n_at_{t}s"] == ("0" if math.isnan(v) else "1"), (t, cfg[f"n_at_{t}s"])
head, _, row = [l for l in open(md).read().splitlines() if l.startswith("|")]
assert "acc at 3 s (%, interpolated)" in head, head
assert "| 46.67 | 60.00 | – |" in row, row
print("  ok: collect.py --at-time: interpolated between evaluations, exact at one, NaN/– outside the run")
PY
"$PYTHON" "$EDGESIM_SOURCE_DIR/scripts/compare.py" "$HAND/hand.h5" --target 0.5 --at-time 3 5 >"$TMP/compare.md" ||
  fail "compare.py --at-time exited with an error"
grep -q "acc at 3 s (interpolated) | acc at 5 s (interpolated) |" "$TMP/compare.md" ||
  { cat "$TMP/compare.md" >&2; fail "compare.py --at-time: no interpolated column in the header"; }
grep -q "| 46.67% | – |" "$TMP/compare.md" ||
  { cat "$TMP/compare.md" >&2; fail "compare.py --at-time: expected 46.67% at 3 s and – at 5 s"; }
check "compare.py --at-time: 46.67% at 3 s (interpolated), – past the end of the run"

# figures.py: a figure title wider than the figure (one panel, a long sweep name) is broken
# into lines inside it, not centred and clipped at both edges.
"$PYTHON" - "$EDGESIM_SOURCE_DIR/scripts" <<'PY' || fail "figures.py: a long title does not fit its figure"
import sys
sys.path.insert(0, sys.argv[1])
import figures, matplotlib.pyplot as plt
fig = plt.figure(figsize=(6, 4), layout="constrained")
fig.add_subplot()
title = figures.fit_suptitle(fig, "Test accuracy vs virtual time — " + "a-long-sweep-name " * 4
                             + "(mean over seeds, band ± 1 std)")
fig.canvas.draw()
box = title.get_window_extent(fig.canvas.get_renderer())
assert box.x0 >= 0 and box.x1 <= fig.bbox.width, (box, fig.bbox.width)
assert "\n" in title.get_text()
print(f"  ok: figures.py: a long title breaks into {title.get_text().count(chr(10)) + 1} lines within the figure")
PY
