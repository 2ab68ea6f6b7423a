#!/usr/bin/env bash
# Pipeline runs (issue 13): `edgesim plan` prints Asteroid's plan and every baseline's; bad
# pipeline input exits 2 naming key and file; a run trains through a 4-stage 1F1B pipeline
# (GPipe-like plan) and through Asteroid's plan, with /rounds identical for -np 1 and 2 and the
# same losses for both plans (the CNN has no BatchNorm: a pipeline iteration is the same
# gradient step whatever the stages).
source "$(dirname "$0")/lib.sh"

write_device_set "$TMP/devices.toml" "fast 1.0 4GiB 100 5" "slow 4.0 1GiB 40 10" '"fast", "slow", "slow", "fast"'
cat >"$TMP/p.toml" <<TOML
[run]
rounds = 3
[data]
dataset = "synthetic"
synthetic_channels = 1
synthetic_size = 28
train_samples = 256
test_samples = 64
[devices]
profiles = "devices.toml"
count = 4
[model]
name = "cnn"
[algorithm]
name = "asteroid"
batch_size = 16
[pipeline]
op_overhead_s = 0.002
TOML

"$EDGESIM_BIN" plan "$TMP/p.toml" --all >"$TMP/plan.out"
for p in asteroid data_parallel gpipe pipedream hetpipe; do
  grep -q "^$p: " "$TMP/plan.out" || { cat "$TMP/plan.out"; fail "plan --all does not print $p"; }
done
grep -q "stage 0: layers 0-" "$TMP/plan.out" || fail "plan prints no stage"
grep -q "share .*, memory .* of " "$TMP/plan.out" || fail "plan prints no device memory against its cap"
/usr/bin/python3 - "$TMP/plan.out" <<'PY' || fail "Asteroid's predicted time is not the best"
import re, sys
times = {m.group(1): float(m.group(2)) for m in re.finditer(r"^(\w+): .*predicted ([0-9.e+-]+) s", open(sys.argv[1]).read(), re.M)}
assert len(times) == 5, times
assert all(times["asteroid"] <= t * (1 + 1e-9) for t in times.values()), times
PY
check "plan --all: every planner, Asteroid's predicted iteration time the smallest"
"$EDGESIM_BIN" plan "$TMP/p.toml" | grep -c "^[a-z_]*: " | grep -qx 1 || fail "plan without --all prints more than the configured planner"

sed 's/^op_overhead_s/planer = "gpipe"\nop_overhead_s/' "$TMP/p.toml" >"$TMP/bad.toml"
expect_error unknown-key 0 "bad.toml" "pipeline.planer" "pipeline.planner" -- plan "$TMP/bad.toml"
expect_error bad-planner 0 "pipeline.planner" "must be one of" -- plan "$TMP/p.toml" --set pipeline.planner=zb
expect_error micro 0 "pipeline.micro_batches" "do not divide" -- plan "$TMP/p.toml" --set pipeline.micro_batches=3
expect_error fl-key 0 "algorithm.fraction" "asteroid" -- run "$TMP/p.toml" --out "$TMP/x.h5" --set algorithm.fraction=0.5
expect_error not-pipeline 0 "pipeline.planner" "fedavg" -- run "$TMP/p.toml" --out "$TMP/x.h5" --set algorithm.name=fedavg --set pipeline.planner=gpipe
expect_error clock 0 "clock.mode" "analytic" -- run "$TMP/p.toml" --out "$TMP/x.h5" --set clock.mode=measured

run_ok gpipe1 1 run "$TMP/p.toml" --out "$TMP/gpipe1.h5" --set pipeline.planner=gpipe
grep -q "gpipe: 4 stage(s)" "$TMP/gpipe1.log" || { cat "$TMP/gpipe1.log"; fail "the GPipe-like plan is not 4 stages"; }
run_ok gpipe2 2 run "$TMP/p.toml" --out "$TMP/gpipe2.h5" --set pipeline.planner=gpipe
h5check identical --no-tasks "$TMP/gpipe1.h5" "$TMP/gpipe2.h5"
/usr/bin/python3 - "$TMP/gpipe1.h5" "$TMP/gpipe2.h5" <<'PY' || fail "pipeline tables differ between -np 1 and 2"
import sys, h5py, numpy as np
a, b = (h5py.File(p, "r") for p in sys.argv[1:])
for t in ("pipeline_iterations", "pipeline_ops"):
    assert a[t].dtype == b[t].dtype and np.array_equal(a[t][:], b[t][:]), t
PY
check "/pipeline_iterations and /pipeline_ops identical for -np 1 and 2"
run_ok asteroid 1 run "$TMP/p.toml" --out "$TMP/asteroid.h5"
/usr/bin/python3 - "$TMP/gpipe1.h5" "$TMP/asteroid.h5" <<'PY' || fail "pipeline /rounds"
import sys, h5py, numpy as np
g, a = (h5py.File(p, "r")["rounds"][:] for p in sys.argv[1:])
assert len(g) == len(a) == 3
for r in (g, a):
    assert np.all(np.isfinite(r["train_loss"])) and np.all(np.diff(r["virtual_time_s"]) > 0)
    assert np.isfinite(r["test_accuracy"][-1])
# Same batches, same initial model, same gradient step: the losses agree whatever the plan.
assert np.allclose(g["train_loss"], a["train_loss"], rtol=1e-5), (g["train_loss"], a["train_loss"])
assert not np.allclose(g["virtual_time_s"], a["virtual_time_s"]), "different plans, same time?"
PY
/usr/bin/python3 - "$TMP/gpipe1.h5" <<'PY' || fail "pipeline tables"
import sys, h5py, numpy as np
f = h5py.File(sys.argv[1], "r")
it, ops, rounds = f["pipeline_iterations"][:], f["pipeline_ops"][:], f["rounds"][:]
assert len(it) == 3 and list(it["iteration"]) == [1, 2, 3] and np.all(it["samples"] == 16)
assert np.allclose(it["end_s"], rounds["virtual_time_s"]) and np.all(it["start_s"][1:] == it["end_s"][:-1])
assert np.array_equal(it["train_loss"], rounds["train_loss"])
# 4 stages of one device each, M micro-batches: 2M compute ops + one all-reduce per device per iteration.
per = len(ops) // 3
assert len(ops) == 3 * per and per % 4 == 0 and (per // 4 - 1) % 2 == 0, len(ops)
kinds = set(ops["kind"])
assert kinds == {b"forward", b"backward", b"allreduce"}, kinds
assert np.all(ops["end_s"] >= ops["start_s"])
for i, row in enumerate(it):
    o = ops[ops["iteration"] == row["iteration"]]
    assert o["start_s"].min() >= row["start_s"] - 1e-12 and abs(o["end_s"].max() - row["end_s"]) < 1e-9
# 1F1B on stage 0 of 4: min(3, M) warm-up forwards, then one forward, then its first backward.
M = (per // 4 - 1) // 2
s0 = ops[(ops["iteration"] == 1) & (ops["stage"] == 0)]
first_bwd = list(s0["kind"]).index(b"backward")
assert first_bwd == min(3, M) + 1, (first_bwd, M)
PY
check "runs: 3 iterations, finite losses, GPipe-like and Asteroid plans train the same, in different virtual times"
