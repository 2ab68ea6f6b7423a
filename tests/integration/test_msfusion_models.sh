#!/usr/bin/env bash
# MSfusion (algo/msfusion.hpp) beyond the CNN of test_msfusion.sh, kept tiny so it runs in well
# under a minute on a loaded 2-core machine:
#  (a) ResNet-18 at width 0.125 on fashion-mnist-32 and the Transformer LM on fortunes: both
#      run to completion, the assembled model is evaluated at every eval round (`assembly`
#      rows, finite test loss and accuracy), and no task's window exceeds msfusion_max_split
#      even for a device given rate 1 (the cap binds: that device trains exactly at it); a
#      contrastive representation layer the model does not have is an error before any round;
#  (b) the deadline straggler policy, its deadline taken from a wait_all run's task times so
#      that the one slow device is dropped every round and the others are not: the rounds
#      complete, a dropped task records no upload transfer and its round's bytes_up counts only
#      the uploads that were recorded, and -np 1 and -np 3 give identical results.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# --- (a) other models -------------------------------------------------------------------
write_device_set "$TMP/devs.toml" "big 1.0 4GiB 100 5" "small 2.0 4GiB 50 10" '"big", "small", "big", "small"'
write_config "$TMP/exp.toml" devs.toml 4 2
# Device 0 asks for the whole model (rate 1); the cap must bring it down to msfusion_max_split.
tiny=(--set algorithm.name=msfusion --set 'algorithm.rates=1,0.25' --set data.partition=iid
      --set data.train_samples=400 --set data.test_samples=100 --set devices.memory=estimated)

echo "(a) ResNet-18 and the Transformer LM"
run_ok resnet 2 run "$TMP/exp.toml" "${tiny[@]}" --set model.name=resnet18 --set model.width=0.125 \
  --set data.dataset=fashion-mnist-32 --set algorithm.msfusion_max_split=0.4 --out "$TMP/resnet.h5"
h5check complete "$TMP/resnet.h5" --rounds 2
run_ok lm 2 run "$EDGESIM_SOURCE_DIR/experiments/msfusion/fortunes-transformer.toml" "${tiny[@]}" \
  --set data.partition=iid --set data.train_samples=480 --set devices.count=4 --set run.rounds=2 --out "$TMP/lm.h5"
h5check complete "$TMP/lm.h5" --rounds 2

"$PYTHON" - "$TMP/resnet.h5" 0.4 "$TMP/lm.h5" 0.5 <<'PY'
import sys
import h5py
import numpy as np

for path, cap in zip(sys.argv[1::2], map(float, sys.argv[2::2])):
    with h5py.File(path, "r") as f:
        rounds, tasks, tr = f["rounds"][:], f["tasks"][:], f["transfers"][:]
    name = path.rsplit("/", 1)[-1]
    assert (tasks["status"] == b"ok").all(), f"{name}: statuses {set(tasks['status'])}"
    assert tasks["rate"].max() <= cap + 1e-12, f"{name}: a window of {tasks['rate'].max()} > max_split {cap}"
    # Round 1 starts at overlap level 1, so device 0 (rate 1) trains its whole split: the cap.
    first = tasks[(tasks["device"] == 0) & (tasks["round"] == 1)]["rate"]
    assert len(first) == 1 and abs(first[0] - cap) < 1e-12, f"{name}: device 0's round-1 window {first}, expected {cap}"
    evaluated = rounds[rounds["round"] >= 1]
    assert np.isfinite(evaluated["test_loss"]).all() and np.isfinite(evaluated["test_accuracy"]).all(), \
        f"{name}: test loss {evaluated['test_loss']}, accuracy {evaluated['test_accuracy']}"
    assert np.isfinite(evaluated["train_loss"]).all(), f"{name}: train loss {evaluated['train_loss']}"
    asm = tr[tr["kind"] == b"assembly"]
    assert set(asm["round"]) == set(evaluated["round"]), \
        f"{name}: assembly in rounds {sorted(set(asm['round']))}, evaluated {list(evaluated['round'])}"
    assert (asm["bytes"] > 0).all() and (asm["source"] >= 0).all(), f"{name}: assembly rows {asm}"
    print(f"  ok: {name}: windows <= {cap} (device 0 asked for 1, got {first[0]}), the assembled model "
          f"evaluated every round (test loss {evaluated['test_loss'][-1]:.3f}, "
          f"accuracy {evaluated['test_accuracy'][-1]:.3f}, finite)")
PY

# A representation layer the model does not have: a usage error before any round.
expect_error representation-out-of-range 2 "algorithm.msfusion_representation = 99" "layers before its classifier" -- \
  run "$TMP/exp.toml" "${tiny[@]}" --set algorithm.msfusion_representation=99 --out "$TMP/bad.h5"

# --- (b) the deadline straggler policy -----------------------------------------------------
# Fast links and a 20x compute slowdown on device 3: compute dominates the slow task, so a
# deadline between the fast tasks' ends and the slow one's end of compute exists. The overlap
# is fixed because the adaptive level depends on which updates a round accepted, so it would
# change the windows (and the compute times) between the wait_all run and the deadline runs.
write_device_set "$TMP/fastslow.toml" "fast 1.0 4GiB 1000 1" "slow 20.0 4GiB 1000 1" '"fast", "fast", "fast", "slow"'
write_config "$TMP/straggler.toml" fastslow.toml 4 3
strag=(--set algorithm.name=msfusion --set algorithm.rates=0.5 --set algorithm.msfusion_overlap=fixed
       --set data.partition=iid --set data.train_samples=1000 --set data.test_samples=200)

echo "(b) straggler = deadline"
run_ok wait_all 2 run "$TMP/straggler.toml" "${strag[@]}" --out "$TMP/wait_all.h5"
deadline=$(h5check deadline-between "$TMP/wait_all.h5" --slow 3)
echo "  deadline_s = $deadline (from the wait_all run's task times)"
for np in 1 3; do
  run_ok "deadline-np$np" "$np" run "$TMP/straggler.toml" "${strag[@]}" --set algorithm.straggler=deadline \
    --set "algorithm.deadline_s=$deadline" --out "$TMP/deadline-np$np.h5"
done
h5check complete "$TMP/deadline-np1.h5" --rounds 3
h5check straggler-deadline "$TMP/deadline-np1.h5" --slow 3 --deadline "$deadline" --devices 4 --rounds 3
h5check identical "$TMP/deadline-np1.h5" "$TMP/deadline-np3.h5"

"$PYTHON" - "$TMP/deadline-np1.h5" "$TMP/wait_all.h5" "$TMP/deadline-np3.h5" <<'PY'
import sys
import h5py
import numpy as np

def load(p):
    with h5py.File(p, "r") as f:
        return f["rounds"][:], f["tasks"][:], f["transfers"][:]
rounds, tasks, tr = load(sys.argv[1])
# h5check identical compares /rounds and /tasks; the peer-to-peer traffic must match too.
_, _, tr3 = load(sys.argv[3])
assert tr.dtype == tr3.dtype and np.array_equal(tr, tr3), "/transfers differ between -np 1 and -np 3"
print(f"  ok: /transfers identical with -np 1 and -np 3 ({len(tr)} rows)")
dropped = tasks[tasks["status"] == b"dropped"]
assert 0 < len(dropped) < len(tasks), f"{len(dropped)} of {len(tasks)} tasks dropped: expected some, not all"
ups = tr[tr["kind"] == b"upload"]
for t in dropped:
    sent = ups[(ups["round"] == t["round"]) & (ups["source"] == t["device"])]
    assert len(sent) == 0, f"round {t['round']}: dropped device {t['device']} has upload rows {sent}"
print(f"  ok: {len(dropped)} dropped tasks, none with an upload transfer in its round")
for r in rounds[rounds["round"] >= 1]:
    k = int(r["round"])
    recorded = int(ups[ups["round"] == k]["bytes"].sum())
    assert int(r["bytes_up"]) == recorded, f"round {k}: bytes_up {int(r['bytes_up'])}, upload rows {recorded} B"
print("  ok: every round's bytes_up is the sum of its recorded upload transfers (nothing for dropped tasks)")
# The accepted participants still exchange their overlaps (with each other and, as planned at
# dispatch, with the dropped one), as in the wait_all run.
_, _, tr_all = load(sys.argv[2])
assert len(ups) > 0 and len(ups) < len(tr_all[tr_all["kind"] == b"upload"]), \
    f"{len(ups)} upload rows with the deadline, {len(tr_all[tr_all['kind'] == b'upload'])} without"
print(f"  ok: {len(ups)} upload transfers with the deadline, fewer than wait_all's")
PY

# A deadline inside the slow task's upload phase: its uploads start together and share its
# uplink, so the small one (to the peer it shares only the classifier's bias with) ends first.
# Cut between that one's end and the task's end, the task is dropped — and a dropped task uploads
# nothing (docs/RESULTS.md), so not even the upload that would have been complete may be recorded.
late=$("$PYTHON" - "$TMP/wait_all.h5" <<'PY'
import sys
import h5py
with h5py.File(sys.argv[1], "r") as f:
    tasks, tr = f["tasks"][:], f["transfers"][:]
slow = tasks[(tasks["device"] == 3) & (tasks["round"] == 1)][0]
ups = tr[(tr["round"] == 1) & (tr["source"] == 3) & (tr["kind"] == b"upload")]
first = float(ups["end_s"].min())
assert first < float(slow["end_s"]), f"the slow task's uploads all end together at {first}"
print(repr((first + float(slow["end_s"])) / 2 - float(slow["start_s"])))
PY
)
echo "  deadline_s = $late (inside the slow task's upload phase)"
run_ok deadline-upload 1 run "$TMP/straggler.toml" "${strag[@]}" --set run.rounds=1 --set algorithm.straggler=deadline \
  --set "algorithm.deadline_s=$late" --out "$TMP/deadline-upload.h5"
"$PYTHON" - "$TMP/deadline-upload.h5" <<'PY'
import sys
import h5py
with h5py.File(sys.argv[1], "r") as f:
    rounds, tasks, tr = f["rounds"][:], f["tasks"][:], f["transfers"][:]
slow = tasks[tasks["device"] == 3][0]
assert slow["status"] == b"dropped", f"the slow task is {slow['status']!r}, expected dropped"
sent = tr[(tr["source"] == 3) & (tr["kind"] == b"upload")]
assert len(sent) == 0, f"dropped device 3 has upload rows {sent.tolist()} (/rounds.bytes_up {int(rounds['bytes_up'][-1])})"
ups = tr[tr["kind"] == b"upload"]
assert int(rounds["bytes_up"][-1]) == int(ups["bytes"].sum()), "bytes_up and the upload rows disagree"
print("  ok: cancelled in its upload phase, the dropped task records no upload, not even a finished one")
PY
