#!/usr/bin/env bash
# HeteroFL cut in depth (`algorithm.slicing = "depth"`): on Fashion-MNIST with the CNN and its
# early-exit heads, devices of rate 1, 0.5 and 0.25 train 3, 2 and 1 of its 3 blocks (the
# shallow ones through an exit head). They are charged less memory, compute and download than
# the full model, /width_eval reports the global model cut at each depth in use, and the run
# is bit-identical with -np 1 and -np 3. Width and depth together cut the bytes further.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

write_device_set "$TMP/devs.toml" "board 1.0 4GiB 100 5" '"board"'
write_config "$TMP/exp.toml" devs.toml 6 3
depth=(--set algorithm.name=heterofl --set model.early_exits=true --set algorithm.rates=1,0.5,0.25)

run_ok np1 1 run "$TMP/exp.toml" "${depth[@]}" --set algorithm.slicing=depth --out "$TMP/np1.h5"
run_ok np3 3 run "$TMP/exp.toml" "${depth[@]}" --set algorithm.slicing=depth --out "$TMP/np3.h5"
run_ok both 2 run "$TMP/exp.toml" "${depth[@]}" --set algorithm.slicing=width_and_depth --out "$TMP/both.h5"

h5check complete "$TMP/np1.h5" --rounds 3
echo "np1 vs np3:"
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
assert (tasks["status"] == b"ok").all(), tasks["status"]
rate = np.array([1, 0.5, 0.25])[tasks["device"] % 3]
costs = {"memory": tasks["memory_bytes"], "download": tasks["download_s"],
         "compute per sample": tasks["compute_s"] / tasks["samples"]}
for name, cost in costs.items():
    by_rate = {r: cost[rate == r] for r in (1, 0.5, 0.25)}
    assert by_rate[0.5].max() < by_rate[1].min() and by_rate[0.25].max() < by_rate[0.5].min(), (name, by_rate)
print("  ok: depth 1 < depth 2 < all 3 blocks in memory, compute per sample and download, every task")
assert (tasks["rate"] == rate).all(), ("/tasks.rate must be each device's rate", tasks["rate"])
print("  ok: /tasks.rate records each device's depth rate")
assert sorted(set(widths["rate"].tolist())) == [0.25, 0.5] and len(widths) == 2 * len(rounds), widths
assert ((widths["test_accuracy"] >= 0) & (widths["test_accuracy"] <= 1)).all()
print(f"  ok: /width_eval has depth rates 0.25 and 0.5 every round (last: "
      f"{', '.join(f'{a:.2f}' for a in widths['test_accuracy'][-2:])})")
assert rounds["test_accuracy"][-1] > 0.25, f"does not learn: {rounds['test_accuracy']}"
print(f"  ok: the global model learns (accuracy {rounds['test_accuracy'][0]:.2f} -> {rounds['test_accuracy'][-1]:.2f})")

_, both, _ = load("both")
assert (both["status"] == b"ok").all()
full = tasks["device"] % 3 == 0
assert (both["download_s"][full] == tasks["download_s"][full]).all(), "rate 1 is the same full-depth model"
assert (both["download_s"][~full] < tasks["download_s"][~full]).all(), "narrower and shallower sends less"
print("  ok: width_and_depth: rate-1 devices as in depth mode, the others download less")
PY

# The Transformer gets exit heads too (layernorm + the tied head after each layer).
run_ok text 2 run "$EDGESIM_SOURCE_DIR/experiments/text/fortunes-transformer.toml" --set run.rounds=1 \
  --set devices.count=3 --set algorithm.name=heterofl --set model.early_exits=true --set algorithm.rates=1,0.5 \
  --set algorithm.slicing=depth --set model.layers=2 --out "$TMP/text.h5"
h5check complete "$TMP/text.h5" --rounds 1
check "the Transformer LM cut in depth trains through its exit heads"
