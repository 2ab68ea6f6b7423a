#!/usr/bin/env bash
# Equal virtual time (issue #14): `run.until_virtual_s` ends a run after the round (sync) or
# aggregation (async, semi-async) whose virtual end time reaches the budget, with `run.rounds`
# the upper bound; the rows it writes are those of the unbounded run up to that point, bit for
# bit, and `ended_by` says what ended it. Round 0 (the initial model at virtual time 0) opens
# every run, is not written twice by a resumed run, and `run.eval_initial = false` drops it.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

write_device_set "$TMP/devs.toml" "agx 1.0 4GiB 200 5" "nano 6.0 2GiB 40 10" '"agx", "nano", "agx"'
write_config "$TMP/exp.toml" devs.toml 6 40
common=(--set data.train_samples=1200 --set data.test_samples=300 --set run.checkpoint_every=4)

# budget_between FILE K: a budget halfway between the virtual end times of training rows K and
# K+1 of an unbounded run: the bounded run must stop after row K+1.
budget_between() {
  "$PYTHON" -c "
import sys, h5py
r = h5py.File(sys.argv[1], 'r')['rounds'][:]
r = r[r['round'] >= 1]
k = int(sys.argv[2])
print(repr((r['virtual_time_s'][k - 1] + r['virtual_time_s'][k]) / 2))" "$1" "$2"
}

# same_prefix BOUNDED UNBOUNDED ROUNDS: BOUNDED is complete, ended by the budget after ROUNDS
# training rows, which equal UNBOUNDED's first rows (all but wall-clock columns) with round 0 first.
same_prefix() {
  "$PYTHON" - "$@" <<'PY'
import sys
import h5py
import numpy as np
bounded, unbounded, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
with h5py.File(bounded, "r") as f:
    b, bt = f["rounds"][:], f["tasks"][:]
    ended, status = f.attrs["ended_by"], f["status"][()]
    budget = float(dict(l.split(" = ", 1) for l in f.attrs["config"].splitlines() if " = " in l)["until_virtual_s"])
with h5py.File(unbounded, "r") as f:
    u, ut = f["rounds"][:], f["tasks"][:]
    assert f.attrs["ended_by"] == "rounds", f.attrs["ended_by"]
assert status == b"complete" and ended == "until_virtual_s", (status, ended)
assert list(b["round"]) == list(range(0, n + 1)), list(b["round"])
vt = b["virtual_time_s"]
assert vt[0] == 0 and b["participants"][0] == 0 and not np.isnan(b["test_accuracy"][0]), b[0]
assert vt[-2] < budget <= vt[-1], (budget, vt[-2:])
assert not np.isnan(b["test_accuracy"][-1]), "the last round is always evaluated"
for col in ("round", "virtual_time_s", "test_accuracy", "test_loss", "train_loss", "participants", "bytes_up"):
    assert np.array_equal(b[col], u[col][: n + 1], equal_nan=True), (col, b[col], u[col][: n + 1])
assert np.array_equal(bt, ut[ut["round"] <= n]), "tasks of the bounded run differ"
print(f"  ok: {bounded.rsplit('/', 1)[-1]}: stopped after round {n} at {vt[-1]:.3f} s >= budget "
      f"{budget:.3f} s > round {n - 1}'s {vt[-2]:.3f} s; ended_by = until_virtual_s; rows = the unbounded run's")
PY
}

for spec in "sync" "async --set algorithm.name=fedasync" \
            "semi --set algorithm.schedule=semi_async --set algorithm.semi_async_fraction=0.5"; do
  read -r -a words <<<"$spec"
  name=${words[0]}
  extra=("${words[@]:1}")
  echo "($name) run.until_virtual_s between rounds 5 and 6 of an unbounded 8-round run"
  run_ok "$name-all" 2 run "$TMP/exp.toml" "${common[@]}" "${extra[@]}" --set run.rounds=8 --out "$TMP/$name-all.h5"
  budget=$(budget_between "$TMP/$name-all.h5" 5)
  run_ok "$name-budget" 2 run "$TMP/exp.toml" "${common[@]}" "${extra[@]}" --set "run.until_virtual_s=$budget" \
    --out "$TMP/$name-budget.h5"
  grep -q "virtual-time budget reached" "$TMP/$name-budget.log" || fail "$name: no budget message in the summary"
  same_prefix "$TMP/$name-budget.h5" "$TMP/$name-all.h5" 6
done

echo "(resume) a budget run killed mid-way resumes to the same rows, with one round 0"
run_ok long 2 run "$TMP/exp.toml" "${common[@]}" --set run.rounds=20 --out "$TMP/long.h5"
budget=$(budget_between "$TMP/long.h5" 15)
common+=(--set "run.until_virtual_s=$budget" --set run.checkpoint_every=2)
run_ok budget-reference 2 run "$TMP/exp.toml" "${common[@]}" --out "$TMP/ref.h5"
same_prefix "$TMP/ref.h5" "$TMP/long.h5" 16
interrupt KILL killed
[[ -f $TMP/killed.h5.ckpt ]] || { cat "$TMP/killed.log" >&2; fail "no checkpoint before the kill"; }
run_ok killed-resume 2 run "$TMP/exp.toml" "${common[@]}" --out "$TMP/killed.h5" --resume
grep -q "resuming .* after round" "$TMP/killed-resume.log" || fail "the resumed run did not resume"
! grep -q "^round 0/" "$TMP/killed-resume.log" || fail "the resumed run evaluated round 0 again"
h5check identical "$TMP/ref.h5" "$TMP/killed.h5"
h5check complete "$TMP/killed.h5" --rounds 16
same_prefix "$TMP/killed.h5" "$TMP/long.h5" 16

echo "(eval_initial = false) no round 0"
run_ok no-initial 1 run "$TMP/exp.toml" "${common[@]}" --set run.rounds=2 --set run.eval_initial=false \
  --out "$TMP/no-initial.h5"
"$PYTHON" -c "
import sys, h5py
r = h5py.File(sys.argv[1], 'r')['rounds'][:]
assert list(r['round']) == [1, 2], list(r['round'])" "$TMP/no-initial.h5" || fail "run.eval_initial = false still wrote round 0"
check "run.eval_initial = false: rows of rounds 1 and 2 only"

echo "(sweep) run.until_virtual_s as a sweep axis"
cat >"$TMP/budget-sweep.toml" <<TOML
[sweep]
name = "budgets"
base = "exp.toml"
out_dir = "$TMP/budget-sweep"
seeds = [1]
ranks = 2
set = ["data.train_samples=1200", "data.test_samples=300", "run.rounds=40"]

[axes]
run.until_virtual_s = [0.5, 1.5]
TOML
"$EDGESIM_BIN" sweep "$TMP/budget-sweep.toml" --jobs 1 --oversubscribe >"$TMP/sweep.log" 2>&1 || { cat "$TMP/sweep.log" >&2; fail "sweep failed"; }
"$PYTHON" - "$TMP/budget-sweep" <<'PY' || fail "the sweep's runs did not stop at their budgets"
import glob, sys
import h5py
files = sorted(glob.glob(sys.argv[1] + "/*.h5"))
assert len(files) == 2, files
ends = {}
for path in files:
    with h5py.File(path, "r") as f:
        r = f["rounds"][:]
        budget = float([l for l in f.attrs["config"].splitlines() if l.startswith("until_virtual_s")][0].split("=")[1])
        assert f.attrs["ended_by"] == "until_virtual_s" and r["virtual_time_s"][-2] < budget <= r["virtual_time_s"][-1], path
        ends[budget] = int(r["round"][-1])
assert ends[0.5] < ends[1.5], ends
print(f"  ok: sweep axis run.until_virtual_s: rounds by budget {ends}")
PY
