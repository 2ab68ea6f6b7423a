#!/usr/bin/env bash
# The Vision Transformer (model.name = "vit", its laptop preset at 4 blocks) on real
# fashion-mnist-32: FedAvg and HeteroFL (half the heads and MLP units on the small devices)
# learn above chance (10%) in a few rounds; it runs on synthetic images with exits after
# chosen blocks. model.init_from: a run started from an earlier run's final model (/final_model)
# evaluates at round 0 exactly what that run ended with; a model of another architecture, or a
# file without a final model, is refused with exit 2 naming the key and both models.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

write_device_set "$TMP/dev.toml" "big 1.0 4GiB 100 5" "small 2.0 4GiB 100 5" '"big", "small"'
write_config "$TMP/exp.toml" dev.toml 4 3
common=(--set data.dataset=fashion-mnist-32 --set data.partition=iid --set data.train_samples=1000
        --set data.test_samples=500 --set model.name=vit --set model.layers=4 --set devices.memory=estimated
        --set algorithm.lr=0.01)

run_ok fedavg 2 run "$TMP/exp.toml" "${common[@]}" --out "$TMP/a.h5"
run_ok heterofl 2 run "$TMP/exp.toml" "${common[@]}" --set algorithm.name=heterofl --set algorithm.rates=1,0.5 \
  --out "$TMP/heterofl.h5"
run_ok from-a 2 run "$TMP/exp.toml" "${common[@]}" --set run.rounds=1 --set model.init_from="$TMP/a.h5" --out "$TMP/b.h5"
# HeteroFL cut in depth: the small devices train blocks 1-3 of 6 and block 3's exit.
run_ok synthetic 2 run "$TMP/exp.toml" --set data.dataset=synthetic --set data.train_samples=200 --set data.test_samples=100 \
  --set model.name=vit --set model.early_exits=true --set model.exit_blocks=2,3 --set run.rounds=1 \
  --set algorithm.name=heterofl --set algorithm.rates=1,0.5 --set algorithm.slicing=depth \
  --set devices.memory=estimated --out "$TMP/synthetic.h5"

"$PYTHON" - "$TMP" <<'PY'
import sys
import h5py

tmp = sys.argv[1]
def load(name):
    with h5py.File(f"{tmp}/{name}.h5", "r") as f:
        return f["rounds"][:], f["width_eval"][:], f["final_model"][:], f.attrs["model_tensors"]

a, _, final_a, tensors_a = load("a")
acc = a["test_accuracy"]
assert acc[-1] > 0.2 and acc[-1] > acc[0] + 0.08, f"the ViT does not learn fashion-mnist-32: {acc}"
print(f"  ok: vit + fedavg learns fashion-mnist-32: {a['test_accuracy'][0]:.1%} -> {a['test_accuracy'][-1]:.1%} in 3 rounds")
h, w, _, _ = load("heterofl")
assert h["test_accuracy"][-1] > 0.2 and w["test_accuracy"][-1] > 0.15, (h["test_accuracy"], w["test_accuracy"])
print(f"  ok: vit + heterofl (rates 1, 0.5): {h['test_accuracy'][-1]:.1%}, its width-0.5 cut {w['test_accuracy'][-1]:.1%}")
import math
n = sum(math.prod(int(e) for e in line.split()[1].split("x")) for line in tensors_a.splitlines())
assert final_a.dtype == "float32" and len(final_a) == n, (final_a.dtype, len(final_a), n)
print(f"  ok: /final_model holds the {n} floats that model_tensors lists")
b, _, _, tensors_b = load("b")
assert b["round"][0] == 0 and b["test_accuracy"][0] == a["test_accuracy"][-1], (b["test_accuracy"][0], a["test_accuracy"][-1])
assert b["test_loss"][0] == a["test_loss"][-1]
assert tensors_b == tensors_a
print(f"  ok: init_from: round 0 of run B = run A's final accuracy ({b['test_accuracy'][0]:.1%}, loss identical)")
s, w, _, tensors_s = load("synthetic")
assert len(s) == 2 and tensors_s.count("\n") > tensors_a.count("\n"), "exit heads missing"
assert list(w["rate"]) == [0.5, 0.5], w  # the depth-3 cut, evaluated at rounds 0 and 1
with h5py.File(f"{tmp}/synthetic.h5", "r") as f:
    t = f["tasks"][:]
assert sorted(set(t["rate"])) == [0.5, 1.0] and (t["status"] == b"ok").all(), t
print(f"  ok: vit with exits after blocks 2 and 3, HeteroFL cut in depth, on synthetic images ({s['test_accuracy'][-1]:.1%})")
PY

# The language model gets exits after chosen blocks the same way: 3 layers, an exit after
# layer 2 only; HeteroFL cut in depth at rate 0.5 trains layers 1-2 and that exit.
run_ok lm-exits 2 run "$EDGESIM_SOURCE_DIR/experiments/text/fortunes-transformer.toml" --set run.rounds=1 \
  --set data.train_samples=480 --set model.layers=3 --set model.early_exits=true --set model.exit_blocks=2 \
  --set algorithm.name=heterofl --set algorithm.rates=1,0.5 --set algorithm.slicing=depth --out "$TMP/lm.h5"
"$PYTHON" - "$TMP/lm.h5" <<'PY'
import sys
import h5py
with h5py.File(sys.argv[1], "r") as f:
    w, t = f["width_eval"][:], f["tasks"][:]
assert list(w["rate"]) == [0.5, 0.5] and sorted(set(t["rate"])) == [0.5, 1.0] and (t["status"] == b"ok").all(), (w, t)
print(f"  ok: the Transformer LM with an exit after layer 2 of 3, cut there in depth (cut's accuracy {w['test_accuracy'][-1]:.1%})")
PY
expect_error lm-exit-range 0 "model.exit_blocks" "from 1 to 2" -- run "$EDGESIM_SOURCE_DIR/experiments/text/fortunes-transformer.toml" \
  --set model.layers=3 --set model.early_exits=true --set model.exit_blocks=3 --out "$TMP/g.h5"

expect_error mismatch 0 "model.init_from" "$TMP/a.h5" "is not this config's model" "64" "32" -- \
  run "$TMP/exp.toml" "${common[@]}" --set model.d_model=32 --set model.init_from="$TMP/a.h5" --out "$TMP/c.h5"
expect_error other-model 0 "model.init_from" "$TMP/a.h5" "is not this config's model cnn" -- \
  run "$TMP/exp.toml" "${common[@]}" --set model.name=cnn --set model.layers=0 --set model.init_from="$TMP/a.h5" --out "$TMP/d.h5"
expect_error not-results 0 "model.init_from" "$TMP/dev.toml" -- \
  run "$TMP/exp.toml" "${common[@]}" --set model.init_from="$TMP/dev.toml" --out "$TMP/e.h5"
expect_error exit-range 0 "model.exit_blocks" "from 1 to 5" -- \
  run "$TMP/exp.toml" "${common[@]}" --set model.layers=6 --set model.early_exits=true --set model.exit_blocks=6 --out "$TMP/f.h5"
expect_error exit-needs-exits 0 "model.exit_blocks" "model.early_exits" -- \
  run "$TMP/exp.toml" "${common[@]}" --set model.exit_blocks=2 --out "$TMP/f.h5"
expect_error vit-preset 0 "model.preset" "vit-tiny" -- run "$TMP/exp.toml" "${common[@]}" --set model.preset=bert-base --out "$TMP/f.h5"
expect_error patch 0 "model.patch" "32" -- run "$TMP/exp.toml" "${common[@]}" --set model.patch=5 --out "$TMP/f.h5"
[[ ! -e "$TMP/c.h5" && ! -e "$TMP/d.h5" ]] || fail "a refused init_from left a results file"
check "refused runs wrote no results file"
