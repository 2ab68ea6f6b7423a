#!/usr/bin/env bash
# DepthFL (`algorithm.name = "depthfl"`): on Fashion-MNIST with the CNN and its early-exit
# heads, devices of rate 1, 0.5 and 0.25 train 3, 2 and 1 blocks with a classifier after each,
# with mutual self-distillation and FedDyn. Bit-identical at -np 1, 2 and 3; learns above
# chance; /width_eval reports each classifier alone (rates 1/3, 2/3, 1); every classifier and
# FedDyn's copies are charged (more compute and memory than HeteroFL's depth cut for the same
# device); killed and resumed on another rank count (FedDyn's per-device h_i and the server's
# h in the checkpoint), the run is identical to an uninterrupted one.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

write_device_set "$TMP/devs.toml" "board 1.0 4GiB 100 5" '"board"'
write_config "$TMP/exp.toml" devs.toml 6 4
# lr 0.02: the summed loss over every classifier makes the default 0.05 unstable on some CPUs
# (accuracy 0.25 then back to 0.13 in 4 rounds on one Xeon).
common=(--set model.early_exits=true --set algorithm.rates=1,0.5,0.25 --set algorithm.lr=0.02)
depthfl=(--set algorithm.name=depthfl --set algorithm.depthfl_ramp_rounds=3)

for np in 1 2 3; do
  run_ok "np$np" "$np" run "$TMP/exp.toml" "${common[@]}" "${depthfl[@]}" --out "$TMP/np$np.h5"
done
run_ok heterofl 2 run "$TMP/exp.toml" "${common[@]}" --set algorithm.name=heterofl --set algorithm.slicing=depth \
  --out "$TMP/heterofl.h5"
h5check complete "$TMP/np1.h5" --rounds 4
echo "np1 vs np2 vs np3:"
h5check identical "$TMP/np1.h5" "$TMP/np2.h5"
h5check identical "$TMP/np1.h5" "$TMP/np3.h5"

"$PYTHON" - "$TMP" <<'PY'
import sys
import h5py
import numpy as np

tmp = sys.argv[1]
def load(name):
    with h5py.File(f"{tmp}/{name}.h5", "r", swmr=True) as f:
        return f["rounds"][:], f["tasks"][:], f["width_eval"][:]

rounds, tasks, widths = load("np1")
_, plain, _ = load("heterofl")
assert (tasks["status"] == b"ok").all(), tasks["status"]
assert rounds["test_accuracy"][-1] > 0.2, f"does not learn (chance 0.1): {rounds['test_accuracy']}"
print(f"  ok: the global model (mean of its classifiers) learns: {rounds['test_accuracy'][0]:.2f} -> "
      f"{rounds['test_accuracy'][-1]:.2f}")
assert sorted(set(np.round(widths["rate"], 6).tolist())) == [round(1 / 3, 6), round(2 / 3, 6), 1.0], widths["rate"]
assert len(widths) == 3 * len(rounds)
last = widths[widths["round"] == rounds["round"][-1]]
print("  ok: /width_eval has each classifier alone every round (last: " +
      ", ".join(f"{r:.2f}: {a:.2f}" for r, a in zip(last["rate"], last["test_accuracy"])) + ")")
assert (last["test_accuracy"] > 0.1).all(), last
shallow = tasks["device"] % 3 == 2  # depth 1: one classifier, nothing to distil
deep = ~shallow
assert (tasks["compute_s"][deep] > plain["compute_s"][deep]).all(), "every classifier's passes are charged"
assert (tasks["memory_bytes"] > plain["memory_bytes"]).all(), "FedDyn's copies (and the exits) cost memory"
print("  ok: devices with several classifiers are charged more compute than HeteroFL's depth cut, "
      "and every device more memory")
assert (tasks["download_s"][shallow] == plain["download_s"][shallow]).all()
assert (tasks["download_s"][deep] > plain["download_s"][deep]).all(), "the extra exit heads travel"
print("  ok: a device also downloads the exit heads of its shallower levels")
PY

expect_error noexits 0 "model.early_exits" -- run "$TMP/exp.toml" --set algorithm.name=depthfl

echo "resume: FedDyn's state per device and on the server"
common+=("${depthfl[@]}" --set data.test_samples=300 --set run.checkpoint_every=4
         --set run.rounds=12 --set algorithm.fraction=0.5)
run_ok reference 3 run "$TMP/exp.toml" "${common[@]}" --out "$TMP/reference.h5"
interrupt KILL killed
[[ -f $TMP/killed.h5.ckpt ]] || { cat "$TMP/killed.log" >&2; fail "no checkpoint"; }
run_ok resumed 2 run "$TMP/exp.toml" "${common[@]}" --out "$TMP/killed.h5" --resume
grep -q "resuming .* after round" "$TMP/resumed.log" || fail "the resumed run did not resume"
h5check identical "$TMP/reference.h5" "$TMP/killed.h5"
