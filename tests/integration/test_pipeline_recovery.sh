#!/usr/bin/env bash
# Pipeline recovery from a whole stage's loss (issue 13, pipeline/recovery.hpp): on a 4-stage
# plan (GPipe-like: one device per stage) a device failing or leaving loses its whole stage;
# replay re-plans the layers over the 3 survivors, restores the lost stage's weights and
# momentum from its backup on the next stage and replays the interrupted iteration, so the
# training loss curve is the run without faults (CNN, no BatchNorm: float tolerance), only
# later in virtual time. The restart baseline rolls back to a checkpoint, re-plans, and runs
# the iterations since it again: the same losses, a longer recovery. Results are the same for
# any rank count; bad recovery keys exit 2.
source "$(dirname "$0")/lib.sh"

write_device_set "$TMP/devices.toml" "fast 1.0 4GiB 100 5" "slow 4.0 1GiB 40 10" '"fast", "slow", "slow", "fast"'
write_pipeline_config "$TMP/p.toml" "run.rounds = 8" "data.train_samples = 256" "data.test_samples = 64" 'devices.profiles = "devices.toml"' 'devices.memory = "estimated"' 'pipeline.planner = "gpipe"' "pipeline.op_overhead_s = 0.002" "pipeline.heartbeat_timeout_s = 0.05"

expect_error bad-recovery 0 "pipeline.recovery" "must be one of" -- plan "$TMP/p.toml" --set pipeline.recovery=rewind
expect_error bad-backup 0 "pipeline.backup_every" -- plan "$TMP/p.toml" --set pipeline.backup_every=0
expect_error bad-checkpoint 0 "pipeline.checkpoint_every" -- plan "$TMP/p.toml" --set pipeline.checkpoint_every=-1
expect_error backup-restart 0 "pipeline.backup_every" "replay" -- plan "$TMP/p.toml" --set pipeline.backup_every=2 \
  --set pipeline.recovery=restart
expect_error checkpoint-replay 0 "pipeline.checkpoint_every" "restart" -- plan "$TMP/p.toml" --set pipeline.checkpoint_every=2

run_ok base 1 run "$TMP/p.toml" --out "$TMP/base.h5"
# Where to strike: the middle of iteration 6 as each recovery mode runs it. A fault after the
# run's end switches the fault tolerance on (backups or checkpoints, which shift the times)
# without striking; both modes then lose device 1 in their iteration 6.
never='pipeline.faults="fail:0@1e9"'
run_ok probe-replay 1 run "$TMP/p.toml" --out "$TMP/probe-replay.h5" --set "$never"
run_ok probe-restart 1 run "$TMP/p.toml" --out "$TMP/probe-restart.h5" --set "$never" --set pipeline.recovery=restart
mid6() { /usr/bin/python3 -c "import h5py; e = h5py.File('$1', 'r')['pipeline_iterations']['end_s']; print(repr(float(e[4] + 0.5 * (e[5] - e[4]))))"; }
T=$(mid6 "$TMP/probe-replay.h5")
R=$(mid6 "$TMP/probe-restart.h5")
run_ok fail1 1 run "$TMP/p.toml" --out "$TMP/fail1.h5" --set "pipeline.faults=\"fail:1@$T\""
run_ok fail3 3 run "$TMP/p.toml" --out "$TMP/fail3.h5" --set "pipeline.faults=\"fail:1@$T\""
run_ok leave2 2 run "$TMP/p.toml" --out "$TMP/leave2.h5" --set "pipeline.faults=\"leave:3@$T\""
# Restart: the checkpoint every 10 iterations (the default) is the initial one: 5 iterations redone.
run_ok restart1 1 run "$TMP/p.toml" --out "$TMP/restart1.h5" --set "pipeline.faults=\"fail:1@$R\"" \
  --set pipeline.recovery=restart
run_ok restart2 2 run "$TMP/p.toml" --out "$TMP/restart2.h5" --set "pipeline.faults=\"fail:1@$R\"" \
  --set pipeline.recovery=restart
# Two whole stages lost one after the other (the second on the re-planned pipeline).
U=$(/usr/bin/python3 -c "import h5py; e = h5py.File('$TMP/probe-replay.h5', 'r')['pipeline_iterations']['end_s']; print(repr(float(e[1] + 0.5 * (e[2] - e[1]))))")
run_ok twice1 1 run "$TMP/p.toml" --out "$TMP/twice1.h5" --set "pipeline.faults=\"fail:1@$U,leave:2@$T\""
# A backup every 4 iterations: losing stage 1 in iteration 6 restores its weights of iteration 4
# (the other stages keep theirs): the backup really is what comes back.
run_ok probe-every4 1 run "$TMP/p.toml" --out "$TMP/probe-every4.h5" --set "$never" --set pipeline.backup_every=4
run_ok stale1 1 run "$TMP/p.toml" --out "$TMP/stale1.h5" --set pipeline.backup_every=4 \
  --set "pipeline.faults=\"fail:1@$(mid6 "$TMP/probe-every4.h5")\""
# A stage of two devices lost one after the other (HetPipe-like plan on fast links: 2 stages of
# 2 devices): device 0's failure re-splits stage 0 onto device 3; device 3 leaving then loses the
# stage whole, replayed from its backup on a stage-1 device. The new plan has a 2-device stage
# summing in another order: the losses agree to rtol 1e-5 (not bit for bit); -np 1 = -np 3.
mkdir -p "$TMP/two"
write_device_set "$TMP/two/devices.toml" "fast 1.0 3MiB 10000 0" "slow 2.0 3MiB 10000 0" '"fast", "slow", "slow", "fast"'
sed 's/^planner = "gpipe"/planner = "hetpipe"/' "$TMP/p.toml" >"$TMP/two/p.toml"
run_ok two-base 1 run "$TMP/two/p.toml" --out "$TMP/two-base.h5"
grep -q "device 3 (fast): share 8" "$TMP/two-base.log" || { cat "$TMP/two-base.log"; fail "the 2x2 plan changed"; }
for np in 1 3; do
  run_ok two$np $np run "$TMP/two/p.toml" --out "$TMP/two$np.h5" --set 'pipeline.faults="fail:0@0.02,leave:3@0.04"'
done
h5check identical --no-tasks "$TMP/two1.h5" "$TMP/two3.h5"
/usr/bin/python3 - "$TMP/two-base.h5" "$TMP/two1.h5" "$TMP/two3.h5" <<'PY' || fail "a two-device stage lost whole"
import sys, h5py, numpy as np
base, a, b = (h5py.File(p, "r") for p in sys.argv[1:])
for t in ("pipeline_iterations", "pipeline_ops", "pipeline_memory", "pipeline_faults"):
    x, y = a[t][:], b[t][:]
    assert x.dtype == y.dtype and len(x) == len(y), t
    assert all(np.array_equal(x[n], y[n], equal_nan=x[n].dtype.kind == "f") for n in x.dtype.names), t
f = a["pipeline_faults"][:]
assert list(f["recovery"]) == [b"reshare", b"replay"] and list(f["plan_id"]) == [1, 2], f
r, rb = a["rounds"]["train_loss"][:], base["rounds"]["train_loss"][:]
assert len(r) == len(rb) == 8 and np.allclose(r, rb, rtol=1e-5, atol=0), (r, rb)
PY
check "a 2-device stage lost one device at a time: re-split, then replayed from its backup; losses within rtol 1e-5; -np 1 = -np 3"
# Metered memory (devices.memory = "enforced"): each backup holder's measured footprint is its
# replica's peak plus the backup it holds, exactly what the estimate adds.
run_ok metered 1 run "$TMP/p.toml" --out "$TMP/metered.h5" --set devices.memory=enforced --set run.rounds=2
run_ok metered-probe 1 run "$TMP/p.toml" --out "$TMP/metered-probe.h5" --set devices.memory=enforced --set run.rounds=2 \
  --set "$never"
/usr/bin/python3 - "$TMP/metered.h5" "$TMP/metered-probe.h5" <<'PY' || fail "metered backups"
import sys, h5py, numpy as np
a, b = (h5py.File(p, "r")["pipeline_memory"][:] for p in sys.argv[1:])
assert len(a) == len(b) == 8 and np.all(a["peak_bytes"] > 0) and np.array_equal(a["device"], b["device"])
extra = b["estimated_bytes"] - a["estimated_bytes"]
assert np.all(extra > 0) and np.array_equal(b["peak_bytes"] - a["peak_bytes"], extra), (a, b)
PY
check "metered memory: every holder's measured footprint grows by the backup it holds, as its estimate does"
# Asteroid's plan here is one stage on device 0 (the fast links cannot pay for a cut): device 1
# failing is outside it, recorded and nothing else; a one-stage plan keeps no backup (there is no
# next stage), so the run is the run without faults.
run_ok asteroid1 1 run "$TMP/p.toml" --out "$TMP/asteroid1.h5" --set pipeline.planner=asteroid
A=$(/usr/bin/python3 -c "import h5py; print(repr(float(h5py.File('$TMP/asteroid1.h5', 'r')['rounds']['virtual_time_s'][-1] / 2)))")
run_ok asteroid-fail1 1 run "$TMP/p.toml" --out "$TMP/asteroid-fail1.h5" --set pipeline.planner=asteroid \
  --set "pipeline.faults=\"fail:1@$A\""
grep -q "device 1 failed at .*: its stage's layers re-planned over the survivors (plan 1, weights from the backup on device 2)" \
  "$TMP/fail1.log" || { cat "$TMP/fail1.log"; fail "the failure of device 1 is not reported as replayed"; }

for pair in "fail1 fail3" "restart1 restart2"; do
  set -- $pair
  h5check identical --no-tasks "$TMP/$1.h5" "$TMP/$2.h5"
  /usr/bin/python3 - "$TMP/$1.h5" "$TMP/$2.h5" <<'PY' || fail "pipeline tables differ between $1 and $2"
import sys, h5py, numpy as np
a, b = (h5py.File(p, "r") for p in sys.argv[1:])
for t in ("pipeline_iterations", "pipeline_ops", "pipeline_memory", "pipeline_faults"):
    x, y = a[t][:], b[t][:]
    assert x.dtype == y.dtype and len(x) == len(y), t
    assert all(np.array_equal(x[n], y[n], equal_nan=x[n].dtype.kind == "f") for n in x.dtype.names), t
PY
done
check "replay (-np 1 = -np 3) and restart (-np 1 = -np 2): every table identical"

/usr/bin/python3 - "$TMP/base.h5" "$TMP/fail1.h5" "$TMP/leave2.h5" "$TMP/restart1.h5" "$TMP/twice1.h5" "$TMP/probe-replay.h5" \
  "$TMP/stale1.h5" "$TMP/asteroid1.h5" "$TMP/asteroid-fail1.h5" <<'PY' || fail "recovery"
import sys, h5py, numpy as np
base, fail, leave, restart, twice, probe, stale, ast, astf = (h5py.File(p, "r") for p in sys.argv[1:])
rb = base["rounds"][:]
assert len(base["pipeline_faults"]) == 0 and np.all(base["pipeline_iterations"]["overhead_s"] == 0)
# The probe: backups cost time, not math.
assert len(probe["pipeline_faults"]) == 0 and np.all(probe["pipeline_iterations"]["overhead_s"] > 0)
assert np.array_equal(probe["rounds"]["train_loss"], rb["train_loss"])
# CNN without BatchNorm: the replayed and re-run iterations are the same gradient steps (float
# sums in another order on other stages: rtol 1e-5), on a different plan, later in virtual time.
for name, f, kind in (("fail", fail, "replay"), ("leave", leave, "replay"), ("restart", restart, "restart"),
                      ("twice", twice, "replay")):
    r, it, faults = f["rounds"][:], f["pipeline_iterations"][:], f["pipeline_faults"][:]
    assert len(r) == 8 and list(r["round"]) == list(range(1, 9)), (name, r["round"])
    assert np.allclose(r["train_loss"], rb["train_loss"], rtol=1e-5, atol=0), (name, r["train_loss"], rb["train_loss"])
    assert np.allclose(r["test_loss"][-1], rb["test_loss"][-1], rtol=1e-4), name
    assert r["virtual_time_s"][-1] > rb["virtual_time_s"][-1], name
    assert len(faults) >= 1 and all(k.decode() == kind for k in faults["recovery"]), (name, faults)
    for x in faults:
        assert x["fault_s"] <= x["detected_s"] <= x["resumed_s"] <= x["recovered_s"], (name, x)
        assert x["plan_id"] >= 1 and x["iteration"] >= 2, (name, x)
    lost = set(faults["device"])
    after = it[it["plan_id"] == it["plan_id"].max()]
    ops = f["pipeline_ops"][:]
    assert not (lost & set(ops[np.isin(ops["iteration"], after["iteration"]) & (ops["start_s"] > faults["recovered_s"].max())]["device"])), name
    # The plan after recovery has fewer stages: layers moved onto the survivors.
    stages = lambda rows: len(set(rows["stage"]))
    assert stages(ops[ops["iteration"] == 1]) == 4 and stages(ops[ops["start_s"] >= faults["recovered_s"].max()]) < 4, name
a = fail["pipeline_faults"][0]
assert a["device"] == 1 and a["leave"] == 0 and abs(a["detected_s"] - a["fault_s"] - 0.05) < 1e-12, a
assert a["moved_bytes"] > 0 and a["redone"] == 0 and a["resumed_s"] == a["recovered_s"] > a["detected_s"], a
b = leave["pipeline_faults"][0]
assert b["device"] == 3 and b["leave"] == 1 and b["detected_s"] == b["fault_s"], b
# Replay: the interrupted iteration replayed from the recovery; every iteration pays its backup.
it = fail["pipeline_iterations"][:]
assert np.all(it["overhead_s"] > 0) and np.all(it["rerun"] == 0) and len(it) == 8, it
assert a["iteration"] == 6, a
i = list(it["iteration"]).index(a["iteration"])
assert it["plan_id"][i] == 1 and it["start_s"][i] == a["recovered_s"] and it["plan_id"][i - 1] == 0, it
# Backups are charged to their holders' memory: the estimate is above the run without them.
mf, mb = fail["pipeline_memory"][:], base["pipeline_memory"][:]
first = lambda m: m[m["iteration"] == 1]
assert np.all(first(mf)["estimated_bytes"] > first(mb)["estimated_bytes"]), (first(mf), first(mb))
# Restart: back to the checkpoint of iteration 0, iterations 1 .. k-1 run again (rerun rows,
# no second /rounds row), a longer recovery than replay's for the same fault.
c = restart["pipeline_faults"][0]
ri = restart["pipeline_iterations"][:]
assert c["iteration"] == a["iteration"] and c["redone"] == c["iteration"] - 1 >= 1, c
assert list(ri[ri["rerun"] == 1]["iteration"]) == list(range(1, c["iteration"])), ri
assert len(ri) == 8 + c["redone"] and c["moved_bytes"] > 0, ri
rec = lambda x: x["recovered_s"] - x["fault_s"]
assert rec(a) < rec(c), (rec(a), rec(c))
print(f"time to recover from the failure of device 1: replay {rec(a):.4f} s, restart {rec(c):.4f} s")
assert len(twice["pipeline_faults"]) == 2 and list(twice["pipeline_faults"]["plan_id"]) == [1, 2]
st, sf = stale["rounds"]["train_loss"][:], stale["pipeline_faults"][:]
assert len(sf) == 1 and sf[0]["iteration"] == 6 and sf[0]["recovery"] == b"replay", sf
io = stale["pipeline_iterations"]["overhead_s"][:]
assert np.all((io > 0) == (np.arange(1, len(io) + 1) % 4 == 0)), io
assert np.array_equal(st[:5], rb["train_loss"][:5]) and not np.allclose(st[5:], rb["train_loss"][5:], rtol=1e-6, atol=0), (st, rb["train_loss"])
ab, af = ast["rounds"]["train_loss"][:], astf["rounds"]["train_loss"][:]
assert len(af) == 8 and np.array_equal(af, ab) and len(astf["pipeline_faults"]) == 1, astf["pipeline_faults"][:]
assert astf["pipeline_faults"][0]["recovery"] == b"none" and astf["pipeline_faults"][0]["iteration"] == 0
assert np.array_equal(astf["rounds"]["virtual_time_s"][:], ast["rounds"]["virtual_time_s"][:])
PY
check "whole-stage failure and leave: replay re-plans onto the survivors with the backup, losses equal the run without faults (rtol 1e-5), later in virtual time; restart re-runs the iterations since its checkpoint and recovers slower; a stale backup (every 4) changes the losses after the fault; a device outside the plan changes nothing"
