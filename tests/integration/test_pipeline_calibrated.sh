#!/usr/bin/env bash
# Pipeline runs under the calibrated clock (docs/CLOCK.md, issue 15): every forward, backward and
# optimizer step priced by the compute profile a federated calibrated run uses; the /pipeline_*
# tables and /rounds identical for -np 1 and 3; another iteration time than the analytic clock's;
# per-class profiles plan too; a bad profile path, pipeline.op_overhead_s and a slowdown_schedule
# exit 2.
source "$(dirname "$0")/lib.sh"

write_device_set "$TMP/devices.toml" "fast 1.0 4GiB 100 5" "slow 4.0 1GiB 40 10" '"fast", "slow", "slow", "fast"'
write_pipeline_config "$TMP/p.toml" "run.rounds = 2" "data.train_samples = 128" "data.test_samples = 32" 'devices.profiles = "devices.toml"'
profile="$EDGESIM_SOURCE_DIR/results/clock/host.toml"
cal=(--set clock.mode=calibrated --set "clock.profile=$profile")

expect_error bad-profile 0 "clock.profile" "nope.toml" -- plan "$TMP/p.toml" --set clock.mode=calibrated --set "clock.profile=$TMP/nope.toml"
expect_error overhead 0 "pipeline.op_overhead_s" "calibrated" -- plan "$TMP/p.toml" "${cal[@]}" --set pipeline.op_overhead_s=0.002
expect_error bad-profile-run 3 "clock.profile" "nope.toml" -- run "$TMP/p.toml" --out "$TMP/x.h5" --set clock.mode=calibrated --set "clock.profile=$TMP/nope.toml"
# A slowdown schedule would change a device's speed mid-run, which the plan does not follow: refused.
sed 's/^latency_ms = 10$/latency_ms = 10\nslowdown_schedule = ["2:8.0"]/' "$TMP/devices.toml" >"$TMP/scheduled.toml"
sed 's/"devices.toml"/"scheduled.toml"/' "$TMP/p.toml" >"$TMP/ps.toml"
expect_error schedule-run 0 "scheduled.toml" "'slow'" "slowdown_schedule" "pipeline runs" -- run "$TMP/ps.toml" --out "$TMP/x.h5"
expect_error schedule-plan 0 "scheduled.toml" "slowdown_schedule" -- plan "$TMP/ps.toml"

# The GPipe-like plan (4 stages, one device each) on both clocks: the same plan, other op times;
# at -np 3 its activations and gradients cross ranks.
gpipe=(--set pipeline.planner=gpipe)
run_ok analytic 1 run "$TMP/p.toml" "${gpipe[@]}" --out "$TMP/analytic.h5"
run_ok cal1 1 run "$TMP/p.toml" "${gpipe[@]}" "${cal[@]}" --out "$TMP/cal1.h5"
run_ok cal3 3 run "$TMP/p.toml" "${gpipe[@]}" "${cal[@]}" --out "$TMP/cal3.h5"
[[ $(grep -o "[0-9]* stage messages" "$TMP/cal3.log" | awk '{s += $1} END {print s + 0}') -gt 0 ]] ||
  { cat "$TMP/cal3.log"; fail "-np 3: no stage message crossed ranks"; }
h5check identical --no-tasks "$TMP/cal1.h5" "$TMP/cal3.h5"
"$PYTHON" - "$TMP/analytic.h5" "$TMP/cal1.h5" "$TMP/cal3.h5" <<'PY' || fail "calibrated pipeline tables"
import sys, h5py, numpy as np
a, c1, c3 = (h5py.File(p, "r") for p in sys.argv[1:])
for t in ("pipeline_iterations", "pipeline_ops", "pipeline_memory"):
    x, y = c1[t][:], c3[t][:]
    assert x.dtype == y.dtype and all(np.array_equal(x[n], y[n], equal_nan=x[n].dtype.kind == "f") for n in x.dtype.names), t
ia, ic = a["pipeline_iterations"][:], c1["pipeline_iterations"][:]
da, dc = ia["end_s"] - ia["start_s"], ic["end_s"] - ic["start_s"]
assert np.all(dc > 0) and not np.allclose(da, dc, rtol=1e-3), (da, dc)
# Each device's own op record: 4 one-device stages, every op at the whole micro-batch.
oa, oc = a["pipeline_ops"][:], c1["pipeline_ops"][:]
assert np.array_equal(oa["kind"], oc["kind"]) and np.array_equal(oa["device"], oc["device"])
fwd = oa["kind"] == b"forward"
ta, tc = (o["end_s"][fwd] - o["start_s"][fwd] for o in (oa, oc))
assert np.all(tc > 0) and not np.allclose(ta, tc, rtol=0.05), (ta[:4], tc[:4])
print(f"  forward op of device 0: analytic {ta[0] * 1e3:.3g} ms, calibrated {tc[0] * 1e3:.3g} ms")
r = c1["rounds"][:]
assert np.allclose(r["virtual_time_s"], ic["end_s"]) and np.all(np.isfinite(r["train_loss"])), r
print(f"  iteration time: analytic {da[0]:.4g} s, calibrated {dc[0]:.4g} s")
PY
grep -q "predicted" "$TMP/cal1.log" || { cat "$TMP/cal1.log"; fail "no plan printed"; }
check "calibrated pipeline run: /rounds and /pipeline_* identical for -np 1 and 3, iteration time unlike the analytic clock's"

# A set whose classes have their own profiles (the shipped Jetson ones): every planner prices them.
profiles="$EDGESIM_SOURCE_DIR/experiments/devices/profiles"
cat >"$TMP/jetson.toml" <<TOML
[reference]
name = "agx"
flops_per_second = 2.0e11
compute_profile = "$profiles/agx-xavier.toml"

[profiles.agx]
slowdown = 1.0
memory = "4GiB"
uplink_mbps = 100
downlink_mbps = 100
compute_profile = "$profiles/agx-xavier.toml"

[profiles.nano]
slowdown = 6.0
memory = "1GiB"
uplink_mbps = 40
downlink_mbps = 40
compute_profile = "$profiles/nano.toml"

[set]
devices = ["agx", "nano", "nano", "agx"]
TOML
"$EDGESIM_BIN" plan "$TMP/p.toml" --all --set devices.profiles="$TMP/jetson.toml" --set clock.mode=calibrated >"$TMP/jetson.out" 2>&1 ||
  { cat "$TMP/jetson.out"; fail "plan --all with per-class compute profiles"; }
"$PYTHON" - "$TMP/jetson.out" <<'PY' || { cat "$TMP/jetson.out"; fail "per-class profiles: planners"; }
import re, sys
times = {m.group(1): float(m.group(2)) for m in re.finditer(r"^(\w+): .*predicted ([0-9.e+-]+) s", open(sys.argv[1]).read(), re.M)}
assert len(times) == 5, times
assert all(times["asteroid"] <= t * (1 + 1e-9) for t in times.values()), times
PY
check "plan --all under per-class compute profiles: every planner, Asteroid's predicted time the smallest"
