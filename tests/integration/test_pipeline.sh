#!/usr/bin/env bash
# Pipeline runs (issue 13): `edgesim plan` prints Asteroid's plan and every baseline's; bad
# pipeline input exits 2 naming key and file; a run trains through a 4-stage 1F1B pipeline
# (GPipe-like plan), the data-parallel, PipeDream and Asteroid plans, with /rounds and the pipeline
# tables identical for -np 1, 2, 3 (and 5) while the stage replicas exchange activations,
# gradients and all-reduces across ranks, and the same losses for the plans (the CNN has no BatchNorm: a pipeline iteration is the same
# gradient step whatever the stages).
source "$(dirname "$0")/lib.sh"

write_device_set "$TMP/devices.toml" "fast 1.0 4GiB 100 5" "slow 4.0 1GiB 40 10" '"fast", "slow", "slow", "fast"'
write_pipeline_config "$TMP/p.toml" "run.rounds = 3" "data.train_samples = 256" "data.test_samples = 64" 'devices.profiles = "devices.toml"' "pipeline.op_overhead_s = 0.002"

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
# Rank 0 refuses the run after the executors started waiting for the plan: they are told to end.
expect_error resume-np3 3 "--resume" "no checkpoint" "--overwrite" -- run "$TMP/p.toml" --out "$TMP/x.h5" --resume

run_ok gpipe1 1 run "$TMP/p.toml" --out "$TMP/gpipe1.h5" --set pipeline.planner=gpipe
grep -q "gpipe: 4 stage(s)" "$TMP/gpipe1.log" || { cat "$TMP/gpipe1.log"; fail "the GPipe-like plan is not 4 stages"; }
# Across ranks (issue 13): stage replicas on executor rank 1 + device mod (R − 1), so -np 2 puts
# all four devices on one executor, -np 3 two per executor, -np 5 one each; activations,
# gradients and all-reduces then cross ranks. Every non-wall-clock column must not change.
same_as_np1() {  # NAME-np1 NAME-npN
  h5check identical --no-tasks "$TMP/$1.h5" "$TMP/$2.h5"
  /usr/bin/python3 - "$TMP/$1.h5" "$TMP/$2.h5" <<'PY' || fail "pipeline tables differ between $1 and $2"
import sys, h5py, numpy as np
a, b = (h5py.File(p, "r") for p in sys.argv[1:])
for t in ("pipeline_iterations", "pipeline_ops", "pipeline_memory"):
    assert a[t].dtype == b[t].dtype and np.array_equal(a[t][:], b[t][:]), t
assert np.all(a["pipeline_memory"]["peak_bytes"] > 0)  # devices.memory = "enforced": metered
ra, rb = a["rounds"][:], b["rounds"][:]
assert np.all(ra["bytes_up"] > 0) and np.array_equal(ra["bytes_up"], ra["bytes_down"]), ra["bytes_up"]
assert np.array_equal(ra["bytes_up"], rb["bytes_up"]) and np.array_equal(ra["bytes_down"], rb["bytes_down"])
PY
}
# The executors' log lines: how many stage messages went to another rank.
remote_messages() { grep -o "[0-9]* stage messages" "$TMP/$1.log" | awk '{s += $1} END {print s + 0}'; }
for planner in gpipe data_parallel pipedream; do
  [[ $planner == gpipe ]] || run_ok "${planner}1" 1 run "$TMP/p.toml" --out "$TMP/${planner}1.h5" --set pipeline.planner=$planner
  for np in 2 3 5; do
    [[ $planner == gpipe || $np == 3 ]] || continue
    run_ok "$planner$np" $np run "$TMP/p.toml" --out "$TMP/$planner$np.h5" --set pipeline.planner=$planner
    same_as_np1 "${planner}1" "$planner$np"
    n=$(remote_messages "$planner$np")
    if [[ $np == 2 ]]; then
      [[ $n == 0 ]] || fail "-np 2 has one executor rank, yet $n stage messages crossed ranks"
    else
      [[ $n -gt 0 ]] || { cat "$TMP/$planner$np.log"; fail "$planner -np $np: no stage message crossed ranks"; }
    fi
  done
done
check "/rounds (bytes_* included), /pipeline_iterations, /pipeline_ops and /pipeline_memory identical for -np 1, 2, 3, 5 (GPipe-like), 1 and 3 (data parallel, PipeDream), with stage messages crossing ranks"
run_ok asteroid1 1 run "$TMP/p.toml" --out "$TMP/asteroid1.h5"
# A hybrid plan across ranks, and the counting allocator: fast links and small caps make
# Asteroid's plan 2 stages, the first on 3 devices with unequal shares (4, 4, 8 of 16), the
# second on one; -np 3 and 5 place them on different executors. The estimate fits every cap,
# but device 0's metered peak (its replica's real tensors) crosses its 3 MiB cap once the first
# step has allocated the momentum: iteration 1 trains, 2 and 3 are oom (nothing applied).
mkdir -p "$TMP/hybrid"
write_device_set "$TMP/hybrid/devices.toml" "fast 1.0 3MiB 10000 0" "slow 2.0 2MiB 10000 0" '"fast", "slow", "slow", "fast"'
cp "$TMP/p.toml" "$TMP/hybrid/p.toml"
for np in 1 3 5; do
  run_ok "hybrid$np" $np run "$TMP/hybrid/p.toml" --out "$TMP/hybrid$np.h5"
done
grep -q "device 1 (slow): share 4" "$TMP/hybrid1.log" && grep -q "device 3 (fast): share 8" "$TMP/hybrid1.log" ||
  { cat "$TMP/hybrid1.log"; fail "the hybrid plan changed (the test needs a 3-device stage with unequal shares)"; }
for np in 3 5; do
  h5check identical --no-tasks "$TMP/hybrid1.h5" "$TMP/hybrid$np.h5"
  [[ $(remote_messages "hybrid$np") -gt 0 ]] || fail "hybrid -np $np: no stage message crossed ranks"
done
run_ok hybrid_est 1 run "$TMP/hybrid/p.toml" --out "$TMP/hybrid_est.h5" --set devices.memory=estimated
/usr/bin/python3 - "$TMP/hybrid1.h5" "$TMP/hybrid3.h5" "$TMP/hybrid5.h5" "$TMP/hybrid_est.h5" <<'PY' || fail "hybrid plan / metered memory"
import sys, h5py, numpy as np
files = [h5py.File(p, "r") for p in sys.argv[1:]]
a, est = files[0], files[-1]
for b in files[1:3]:
    for t in ("pipeline_iterations", "pipeline_ops", "pipeline_memory"):
        x, y = a[t][:], b[t][:]
        same = lambda u, v: np.array_equal(u, v, equal_nan=u.dtype.kind == "f")
        assert x.dtype == y.dtype and all(same(x[n], y[n]) for n in x.dtype.names), t
r, mem = a["rounds"][:], a["pipeline_memory"][:]
assert np.isfinite(r["train_loss"][0]) and np.all(np.isnan(r["train_loss"][1:])), r["train_loss"]
assert list(r["dropped"]) == [0, 1, 1] and r["bytes_up"][0] > 0 and np.all(r["bytes_up"][1:] == 0), r
assert len(mem) == 3 * 4 and np.all(mem["peak_bytes"] > 0) and np.all(mem["estimated_bytes"] <= mem["cap_bytes"])
over = mem[mem["peak_bytes"] > mem["cap_bytes"]]
assert list(over["iteration"]) == [2, 3] and set(over["device"]) == {0}, over
# Discarded iterations leave no trace: the weights after 3 iterations are those after 1.
assert np.isfinite(r["test_loss"][0]) and r["test_loss"][0] == r["test_loss"][2], r["test_loss"]
# Not metered: the estimate alone decides, every iteration trains, the same first step.
re, me = est["rounds"][:], est["pipeline_memory"][:]
assert np.all(np.isfinite(re["train_loss"])) and np.all(me["peak_bytes"] == 0), re
assert re["train_loss"][0] == r["train_loss"][0]
PY
check "hybrid plan (3 devices, shares 4/4/8, then 1) identical for -np 1, 3, 5; metered peak over the cap makes iterations oom, estimate-only runs train"
# Faults (pipeline.faults): device 2 of the hybrid plan's 3-device first stage fails during
# iteration 2; its missed heartbeat is noticed 0.05 virtual s later, the stage is re-split
# between devices 1 and 3 (plan 1) and iteration 2 replayed on the same batch. Device 0 (the
# only device of stage 1) leaving later ends the run: stage 1's backup fits on no device of
# stage 0 (2-3 MiB caps; warned at the start), and no plan fits the survivors anyway
# (test_pipeline_recovery.sh has whole stages replayed). Same results for -np 1 and 3.
expect_error faults-bad 0 "pipeline.faults" "device 7" -- plan "$TMP/hybrid/p.toml" --set 'pipeline.faults="fail:7@1"'
for np in 1 3; do
  run_ok "fault$np" $np run "$TMP/hybrid/p.toml" --out "$TMP/fault$np.h5" --set devices.memory=estimated \
    --set run.rounds=5 --set pipeline.heartbeat_timeout_s=0.05 --set 'pipeline.faults="fail:2@0.012,leave:0@0.075"'
done
h5check identical --no-tasks "$TMP/fault1.h5" "$TMP/fault3.h5"
grep -q "device 2 failed at 0.0120 s, noticed at 0.0620 s: its stage re-split, plan 1, iteration 2 replayed" "$TMP/fault1.log" ||
  { cat "$TMP/fault1.log"; fail "the failure of device 2 is not reported as recovered"; }
grep -q "warning: stage 1's backup fits on no device of the next stage" "$TMP/fault1.log" ||
  { cat "$TMP/fault1.log"; fail "no warning that stage 1 has no room for its backup"; }
/usr/bin/python3 - "$TMP/fault1.h5" "$TMP/fault3.h5" "$TMP/hybrid_est.h5" <<'PY' || fail "faults"
import sys, h5py, numpy as np
f, g, base = (h5py.File(p, "r") for p in sys.argv[1:])
faults, it, ops, r = f["pipeline_faults"][:], f["pipeline_iterations"][:], f["pipeline_ops"][:], f["rounds"][:]
for t in ("pipeline_faults", "pipeline_iterations", "pipeline_ops", "pipeline_memory"):
    x, y = f[t][:], g[t][:]
    assert x.dtype == y.dtype and all(np.array_equal(x[n], y[n], equal_nan=x[n].dtype.kind == "f") for n in x.dtype.names), t
assert len(faults) == 2, faults
a, b = faults
assert (a["device"], a["leave"], a["iteration"], a["plan_id"]) == (2, 0, 2, 1), a
assert abs(a["detected_s"] - 0.062) < 1e-12 and a["recovered_s"] == a["detected_s"], a
assert (b["device"], b["leave"], b["plan_id"]) == (0, 1, -1) and np.isnan(b["recovered_s"]) and b["detected_s"] == 0.075, b
assert (a["recovery"], b["recovery"]) == (b"reshare", b"lost"), (a, b)
# Iteration 2 replayed from the detection on plan 1 without device 2; the run ends at the leave.
assert list(it["plan_id"][:2]) == [0, 1] and it["start_s"][1] == a["detected_s"], it
assert len(r) == len(it) and len(it) < 5 and np.all(it["end_s"] <= b["fault_s"] + 1e-12), it
assert 2 not in set(ops[ops["iteration"] >= 2]["device"]) and 2 in set(ops[ops["iteration"] == 1]["device"])
# The replayed micro-batches' math is unchanged: the same losses as the run without faults (CNN, no BN).
base_loss = base["rounds"]["train_loss"][:len(r)]
assert np.allclose(r["train_loss"], base_loss, rtol=1e-5), (r["train_loss"], base_loss)
PY
check "faults: a failure noticed by heartbeat timeout, stage re-split and iteration replayed (same losses); a single-device stage's exit ends the run; -np 1 = -np 3"
# Random failures (pipeline.failure_mtbf_s): drawn per device from (failure_seed, device), the
# same for any rank count; another seed, other times; a listed device keeps its listed fault.
for np in 1 3; do
  run_ok "random$np" $np run "$TMP/hybrid/p.toml" --out "$TMP/random$np.h5" --set devices.memory=estimated \
    --set run.rounds=5 --set pipeline.heartbeat_timeout_s=0.05 --set pipeline.failure_mtbf_s=0.05 \
    --set 'pipeline.faults="leave:3@100"'
done
run_ok random-seed2 1 run "$TMP/hybrid/p.toml" --out "$TMP/random-seed2.h5" --set devices.memory=estimated \
  --set run.rounds=5 --set pipeline.heartbeat_timeout_s=0.05 --set pipeline.failure_mtbf_s=0.05 \
  --set 'pipeline.faults="leave:3@100"' --set pipeline.failure_seed=2
/usr/bin/python3 - "$TMP/random1.h5" "$TMP/random3.h5" "$TMP/random-seed2.h5" <<'PY' || fail "random failures"
import sys, h5py, numpy as np
a, b, c = (h5py.File(p, "r")["pipeline_faults"][:] for p in sys.argv[1:])
same = lambda x, y: len(x) == len(y) and all(np.array_equal(x[n], y[n], equal_nan=x[n].dtype.kind == "f") for n in x.dtype.names)
assert len(a) >= 1 and same(a, b), (a, b)
assert np.all(a["leave"] == 0) and np.all(np.diff(a["fault_s"]) >= 0) and 3 not in set(a["device"]), a
assert len(c) >= 1 and not np.array_equal(a["fault_s"][:1], c["fault_s"][:1]), (a, c)
PY
check "random failures: drawn per device from the failure seed, identical for -np 1 and 3, other times for another seed"
/usr/bin/python3 - "$TMP/gpipe1.h5" "$TMP/asteroid1.h5" <<'PY' || fail "pipeline /rounds"
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
