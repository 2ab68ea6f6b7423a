#!/usr/bin/env bash
# The width-scaled baselines against a memory cap that excludes the full model on half the
# devices (6 MiB < the CNN's 8.3 MB footprint at batch 32): FedAvg loses those devices
# (`oom` every round, their updates absent), HeteroFL and FedRolex give them a submodel that
# fits (width 0.5: smaller footprint, measured peak under the cap, fewer bytes) and merge
# everyone; FjORD holds the same submodels but trains a narrower width on most steps.
# FedRolex's rolling window trains different units than HeteroFL's static prefix.
# Both stay bit-identical across rank counts.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

write_device_set "$TMP/tight.toml" "big 1.0 4GiB 100 5" "small 2.0 6MiB 100 5" '"big", "small"'
write_config "$TMP/exp.toml" tight.toml 4 3
common=(--set data.partition=iid --set data.train_samples=2000 --set data.test_samples=300)

for alg in fedavg heterofl fedrolex fjord; do
  # FjORD draws each step's width from the levels up to p_max: here {0.5, 1}.
  levels=()
  [[ $alg == fjord ]] && levels=(--set algorithm.rate_levels=1,0.5)
  run_ok "$alg" 2 run "$TMP/exp.toml" "${common[@]}" --set algorithm.name=$alg "${levels[@]}" --out "$TMP/$alg.h5"
done
run_ok heterofl-np3 3 run "$TMP/exp.toml" "${common[@]}" --set algorithm.name=heterofl \
  --out "$TMP/heterofl-np3.h5"
run_ok fedrolex-np1 1 run "$TMP/exp.toml" "${common[@]}" --set algorithm.name=fedrolex \
  --out "$TMP/fedrolex-np1.h5"

"$PYTHON" - "$TMP" <<'PY'
import sys
import h5py
import numpy as np

tmp = sys.argv[1]
def load(name):
    with h5py.File(f"{tmp}/{name}.h5", "r") as f:
        r = f["rounds"][:]
        return r[r["round"] >= 1], f["tasks"][:], f["devices"][:]  # round 0 (initial model) aside

cap = 6 * 2**20
r, t, dev = load("fedavg")
small = dev["memory_cap_bytes"] == cap
assert small.tolist() == [False, True, False, True], dev["memory_cap_bytes"]
ts = t[np.isin(t["device"], np.flatnonzero(small))]
assert (ts["status"] == b"oom").all() and (ts["memory_bytes"] > cap).all(), ts
assert (r["participants"] == 2).all(), r["participants"]
print(f"  ok: fedavg: the 2 small-memory devices are oom every round (need {ts['memory_bytes'][0]} B > {cap} B); 2 of 4 merged")
full_bytes = t[t["status"] == b"ok"]["memory_bytes"][0]

for alg in ("heterofl", "fedrolex", "fjord"):
    r, t, dev = load(alg)
    assert (t["status"] == b"ok").all(), t["status"]
    assert (r["participants"] == 4).all(), r["participants"]
    ts = t[np.isin(t["device"], np.flatnonzero(small))]
    tb = t[~np.isin(t["device"], np.flatnonzero(small))]
    assert (ts["memory_bytes"] <= cap).all() and (ts["peak_memory_bytes"] <= cap).all(), ts
    assert (ts["peak_memory_bytes"] > 0).all()
    assert (tb["memory_bytes"] == full_bytes).all(), "big devices train the full model"
    assert (ts["memory_bytes"] < full_bytes / 2).all()
    if alg != "fjord":
        assert (ts["compute_s"] / 2.0 < tb["compute_s"] * 0.5).all(), "a width-0.5 submodel costs well under half the compute"
    assert r["test_accuracy"][-1] > (0.2 if alg == "fjord" else 0.3), f"{alg} does not learn: {r['test_accuracy'][-1]}"
    print(f"  ok: {alg}: all 4 devices merged every round (final accuracy {r['test_accuracy'][-1]:.2f}); small devices train a submodel of "
          f"{ts['memory_bytes'][0]} B (measured peak {ts['peak_memory_bytes'][0]} B) under the {cap} B cap")

def same(a, b):
    ra, ta, _ = load(a)
    rb, tb, _ = load(b)
    return all(ra[n].tobytes() == rb[n].tobytes() for n in ra.dtype.names if "wall" not in n) and \
        all(ta[n].tobytes() == tb[n].tobytes() for n in ta.dtype.names)
assert same("heterofl", "heterofl-np3"), "heterofl differs between -np 2 and -np 3"
assert same("fedrolex", "fedrolex-np1"), "fedrolex differs between -np 2 and -np 1"
print("  ok: heterofl (-np 2 vs 3) and fedrolex (-np 2 vs 1) bit-identical across rank counts")
_, ht, _ = load("heterofl")
_, jt, _ = load("fjord")
big_tasks = ~np.isin(jt["device"], np.flatnonzero(small))
assert (jt["compute_s"] <= ht["compute_s"]).all(), "ordered dropout never trains wider than p_max"
assert (jt["compute_s"][big_tasks] < ht["compute_s"][big_tasks]).all(), "p_max = 1 devices train width 0.5 on some steps"
assert (jt["memory_bytes"] == ht["memory_bytes"]).all(), "FjORD holds the same p_max submodels as HeteroFL"
print("  ok: fjord: same p_max submodels as heterofl; less compute where p_max = 1 (some steps train width 0.5)")
ha, _, _ = load("heterofl")
fa, _, _ = load("fedrolex")
assert ha["test_loss"][0] == fa["test_loss"][0], "round 1: the rolling window starts at the prefix"
assert ha["test_loss"][-1] != fa["test_loss"][-1], "later rounds: the rolling window trains other units"
print("  ok: fedrolex equals heterofl in round 1 (window at the prefix) and differs after (it rolls)")

# Nested methods also evaluate each width in use (a prefix of the global model).
for alg, rates in (("heterofl", [0.5]), ("fjord", [0.5]), ("fedavg", [])):
    with h5py.File(f"{tmp}/{alg}.h5", "r") as f:
        w = f["width_eval"][:]
        rounds = f["rounds"][:]
    assert sorted(set(w["rate"].tolist())) == rates, (alg, w["rate"])
    assert len(w) == len(rates) * len(rounds), (alg, len(w))
    assert ((w["test_accuracy"] >= 0) & (w["test_accuracy"] <= 1)).all()
    if rates:
        full = rounds["test_accuracy"][-1]
        half = w[w["round"] == rounds["round"][-1]]["test_accuracy"][0]
        assert half > 0.2, f"{alg}: width 0.5 of the global model should work on its own ({half})"
        print(f"  ok: {alg}: /width_eval has width 0.5 every round (last: {half:.2f}; full model {full:.2f})")
print("  ok: fedavg has no width levels")
PY
