#!/usr/bin/env bash
# AdaptCL end to end. Six workers from 1x to 8x slower; one (device 1) is throttled from
# 1.67x to 8x from round 7 on (a slowdown schedule). The pruned-rate learner sees only update
# times: it must shrink the slow workers until every update takes about as long as the
# fastest worker's, re-adapt to the throttled one within a few rounds, keep every rate in
# [keep_min, 1], leave a homogeneous set at full width, and be bit-identical for -np 1/2/3.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

cat >"$TMP/devs.toml" <<'TOML'
[reference]
name = "test reference"
flops_per_second = 2.0e11

[profiles.fast]
slowdown = 1.0
memory = "4GiB"
uplink_mbps = 200
downlink_mbps = 200
latency_ms = 5

[profiles.throttled]
slowdown = 1.67
slowdown_schedule = ["7:8.0"]
memory = "4GiB"
uplink_mbps = 150
downlink_mbps = 150
latency_ms = 5

[profiles.mid]
slowdown = 2.5
memory = "4GiB"
uplink_mbps = 100
downlink_mbps = 100
latency_ms = 5

[profiles.slow]
slowdown = 8.0
memory = "4GiB"
uplink_mbps = 40
downlink_mbps = 40
latency_ms = 10

[set]
devices = ["fast", "throttled", "mid", "slow", "mid", "slow"]
TOML
write_config "$TMP/exp.toml" devs.toml 6 12
common=(--set algorithm.name=adaptcl --set data.partition=iid --set algorithm.adaptcl_keep_min=0.15)
for np in 1 2 3; do
  run_ok "adaptcl-np$np" "$np" run "$TMP/exp.toml" "${common[@]}" --out "$TMP/np$np.h5"
done
h5check identical "$TMP/np1.h5" "$TMP/np2.h5"
h5check identical "$TMP/np1.h5" "$TMP/np3.h5"

write_device_set "$TMP/same.toml" "agx 1.0 4GiB 200 5" '"agx"'
write_config "$TMP/same.toml.cfg" same.toml 4 4
run_ok homogeneous 2 run "$TMP/same.toml.cfg" "${common[@]}" --out "$TMP/same.h5"

"$PYTHON" - "$TMP" <<'PY'
import sys
import h5py
import numpy as np
tmp = sys.argv[1]
with h5py.File(f"{tmp}/np1.h5", "r", swmr=True) as f:
    t, r = f["tasks"][:], f["rounds"][:]
update = t["end_s"] - t["start_s"]
def per_round(col, rnd):
    rows = t[t["round"] == rnd]
    return np.asarray(col[t["round"] == rnd])[np.argsort(rows["device"])]
assert (t["status"] == b"ok").all()
assert ((t["rate"] >= 0.15) & (t["rate"] <= 1.0)).all(), t["rate"]
assert (per_round(t["rate"], 1) == 1.0).all(), "round 1: no prior knowledge, everyone at full width"
spread = [per_round(update, k).max() / per_round(update, k).min() for k in range(1, 13)]
assert spread[0] > 5, spread
for k in (4, 5, 6):
    assert spread[k - 1] < 1.35, f"round {k}: update times still {spread[k-1]:.2f}x apart"
# The fastest worker (device 0) stays at full width; slower ones get less.
rates6 = per_round(t["rate"], 6)
assert rates6[0] == 1.0 and rates6[3] < rates6[2] < rates6[1] < 1.0, rates6
# Device 1 is throttled from round 7: slower that round, re-adapted two rounds later.
u = {k: per_round(update, k) for k in range(1, 13)}
assert u[7][1] > 2 * u[6][1], (u[6][1], u[7][1])
for k in (9, 10, 11, 12):
    assert u[k][1] / u[k][0] < 1.35, f"round {k}: the throttled worker takes {u[k][1] / u[k][0]:.2f}x the fastest"
assert per_round(t["rate"], 9)[1] < 0.7 * rates6[1]
assert r["test_accuracy"][-1] > 0.5, r["test_accuracy"]
print(f"  ok: update-time spread {spread[0]:.1f}x in round 1 -> {spread[5]:.2f}x by round 6; throttled worker "
      f"{u[7][1] / u[7][0]:.1f}x the fastest in round 7 -> {u[9][1] / u[9][0]:.2f}x in round 9 (rate "
      f"{rates6[1]:.2f} -> {per_round(t['rate'], 9)[1]:.2f}); final accuracy {r['test_accuracy'][-1]:.2f}")
with h5py.File(f"{tmp}/same.h5", "r", swmr=True) as f:
    s = f["tasks"][:]
assert (s["rate"] == 1.0).all(), s["rate"]
print("  ok: a homogeneous set stays at full width in every round")
PY

# The analysis behind `scripts/reproduce.sh adaptcl`: tables and figures from the runs
# (<clock>/<workload>-<setting>-<algorithm>-s<seed>.h5).
mkdir -p "$TMP/runs/analytic"
run_ok fedavg 2 run "$TMP/exp.toml" "${common[@]}" --set algorithm.name=fedavg --out "$TMP/runs/analytic/fmnist-cnn-low-fedavg-s1.h5"
cp "$TMP/np1.h5" "$TMP/runs/analytic/fmnist-cnn-low-adaptcl-s1.h5"
"$PYTHON" "$EDGESIM_SOURCE_DIR/scripts/adaptcl.py" "$TMP/runs" -o "$TMP/out" >"$TMP/analysis.log"
grep -q "| Fashion-MNIST, CNN | low heterogeneity | AdaptCL |" "$TMP/out/table.md" || fail "no AdaptCL row in table.md"
# The headline row: AdaptCL's saving against FedAvg of the same seed (one seed here).
grep -qE "^\| Fashion-MNIST, CNN \| low heterogeneity \| (-?[0-9]+%|not reached) \(?" "$TMP/out/table.md" ||
  fail "no headline row in table.md"
for png in accuracy_vs_time rates_and_update_times; do
  [[ -s $TMP/out/$png.png ]] || fail "no $png.png"
done
check "adaptcl.py: table.md and both figures from the runs"
rc=0
"$PYTHON" "$EDGESIM_SOURCE_DIR/scripts/adaptcl.py" "$TMP/nothing" -o "$TMP/out2" 2>/dev/null || rc=$?
[[ $rc -eq 2 ]] || fail "adaptcl.py without runs: expected exit 2, got $rc"
check "adaptcl.py: no runs -> exit 2"
rc=0
"$EDGESIM_SOURCE_DIR/scripts/reproduce.sh" bogus 2>/dev/null || rc=$?
[[ $rc -eq 2 ]] || fail "reproduce.sh with an unknown experiment: expected exit 2, got $rc"
check "reproduce.sh: unknown experiment -> exit 2"
# --full, default 3 seeds and both clocks: FedAvg and AdaptCL in 5 settings x 3 seeds x 2 clocks
# (60), the deadline, FedAsync and SSP runs in 5 settings (seed 1, analytic: 15).
full=$("$EDGESIM_SOURCE_DIR/scripts/reproduce.sh" adaptcl --full --dry-run)
[[ $(grep -c ' run experiments/' <<<"$full") -eq 75 ]] || fail "reproduce.sh --full --dry-run: expected 75 runs"
grep -q 'model.width=1.0' <<<"$full" || fail "--full must run VGG-11 at full width"
[[ $(grep -c 'clock.mode=calibrated' <<<"$full") -eq 30 ]] || fail "--full --dry-run: expected 30 calibrated runs"
[[ $(grep -c 'algorithm.name=ssp' <<<"$full") -eq 5 ]] || fail "--full --dry-run: expected 5 SSP runs"
grep -q 'fmnist32-vgg11-high-adaptcl-s3.h5' <<<"$full" || fail "--full --dry-run: no seed-3 VGG-11 run"
one=$("$EDGESIM_SOURCE_DIR/scripts/reproduce.sh" adaptcl --seeds 1 --clock analytic --dry-run)
[[ $(grep -c ' run experiments/' <<<"$one") -eq 25 ]] || fail "reproduce.sh --seeds 1 --clock analytic: expected 25 runs"
check "reproduce.sh adaptcl --dry-run: 75 runs (3 seeds, 2 clocks), 25 with one seed and clock"
rc=0
"$EDGESIM_SOURCE_DIR/scripts/reproduce.sh" adaptcl --seeds 0 --dry-run 2>/dev/null || rc=$?
[[ $rc -eq 2 ]] || fail "reproduce.sh --seeds 0: expected exit 2, got $rc"
check "reproduce.sh: --seeds 0 -> exit 2"
base=$("$EDGESIM_SOURCE_DIR/scripts/reproduce.sh" baselines --dry-run)
[[ $(grep -c ' run experiments/' <<<"$base") -eq 28 ]] || fail "reproduce.sh baselines --dry-run: expected 28 runs"
for a in heterofl fedrolex fjord depthfl fedavg fedasync fedbuff; do
  grep -q "fmnist32/$a.toml" <<<"$base" || fail "reproduce.sh baselines: no $a run"
done
check "reproduce.sh baselines --dry-run: 7 methods x 3 seeds calibrated + 7 analytic"
