#!/usr/bin/env bash
# `fashion-mnist-32`: real Fashion-MNIST in CIFAR's shapes (32x32x3) runs the CIFAR
# architectures on a real task. VGG-11 and ResNet-18 at a laptop width (0.125) learn above
# chance (10%) in a few rounds; HeteroFL on the static-BN VGG evaluates after its BN `stats`
# pass (the global model and each width), stays bit-identical across rank counts, and
# differs from evaluating with test-batch statistics only in the evaluation, never in training.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

write_device_set "$TMP/dev.toml" "big 1.0 4GiB 100 5" "small 2.0 4GiB 100 5" '"big", "small"'
write_config "$TMP/exp.toml" dev.toml 4 3
common=(--set data.dataset=fashion-mnist-32 --set data.partition=iid --set data.train_samples=2000
        --set data.test_samples=500 --set model.width=0.125 --set devices.memory=estimated)

run_ok vgg 2 run "$TMP/exp.toml" "${common[@]}" --set model.name=vgg11 --out "$TMP/vgg.h5"
run_ok resnet 2 run "$TMP/exp.toml" "${common[@]}" --set model.name=resnet18 --set run.rounds=2 --out "$TMP/resnet.h5"
hetero=(--set model.name=vgg11 --set model.static_bn=true --set algorithm.name=heterofl
        --set algorithm.rates=1,0.5 --set algorithm.bn_stats_samples=500)
run_ok heterofl 2 run "$TMP/exp.toml" "${common[@]}" "${hetero[@]}" --out "$TMP/heterofl.h5"
run_ok heterofl-np3 3 run "$TMP/exp.toml" "${common[@]}" "${hetero[@]}" --out "$TMP/heterofl-np3.h5"
run_ok heterofl-batch 2 run "$TMP/exp.toml" "${common[@]}" "${hetero[@]}" --set algorithm.bn_statistics=model \
  --out "$TMP/heterofl-batch.h5"

"$PYTHON" - "$TMP" <<'PY'
import sys
import h5py

tmp = sys.argv[1]
def load(name):
    with h5py.File(f"{tmp}/{name}.h5", "r") as f:
        return f["rounds"][:], f["tasks"][:], f["width_eval"][:]

for name, floor in (("vgg", 0.3), ("resnet", 0.2)):
    r, _, _ = load(name)
    acc = r["test_accuracy"][-1]
    assert acc > floor, f"{name} on fashion-mnist-32 does not learn: {acc}"
    print(f"  ok: {name} learns fashion-mnist-32 above chance: {acc:.1%} after {r['round'][-1]} rounds")

r, t, w = load("heterofl")
# Rounds 0 (the initial model) to 3, each with the width-0.5 cut.
assert list(w["round"]) == [0, 1, 2, 3] and (w["rate"] == 0.5).all(), w
assert r["test_accuracy"][-1] > 0.3 and w["test_accuracy"][-1] > 0.2, (r["test_accuracy"], w["test_accuracy"])
r3, t3, w3 = load("heterofl-np3")
same = lambda a, b: all(a[n].tobytes() == b[n].tobytes() for n in a.dtype.names if "wall" not in n)
assert same(r, r3) and same(t, t3) and same(w, w3), "heterofl with the stats pass differs between -np 2 and -np 3"
print(f"  ok: heterofl, static BN after the stats pass: {r['test_accuracy'][-1]:.1%} (width 0.5: {w['test_accuracy'][-1]:.1%}); "
      "bit-identical for -np 2 and 3")
rb, tb, wb = load("heterofl-batch")
assert same(t, tb) and r["train_loss"].tobytes() == rb["train_loss"].tobytes(), "the evaluation rule changed the training"
assert (r["test_loss"] != rb["test_loss"]).all() and (w["test_loss"] != wb["test_loss"]).all(), "the stats pass changed nothing"
print(f"  ok: test-batch statistics instead: same training, other evaluation ({rb['test_accuracy'][-1]:.1%})")
PY
