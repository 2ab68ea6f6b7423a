#!/usr/bin/env bash
# The coordinator's memory per device (docs/PERFORMANCE.md "Coordinator memory"): one
# synchronous FedAvg round of VGG-11 (35 MiB of weights) at 4 and at 16 devices, -np 2. Rank 0
# keeps each returned model until the merge (one model per device) but no longer every order's
# packed copy as well: its peak RSS (the results file's coordinator_peak_rss_bytes) may grow by
# at most 1.4 models per device (it grew by 1.84 when every packed order was held to the end).
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

for n in 4 16; do
  run_ok "n$n" 2 run "$EDGESIM_SOURCE_DIR/experiments/quickstart.toml" --set model.name=vgg11 \
    --set data.dataset=fashion-mnist-32 --set "devices.count=$n" --set "data.train_samples=$((32 * n))" \
    --set data.test_samples=64 --set run.rounds=1 --set devices.memory=estimated --out "$TMP/n$n.h5"
done
grep -q "coordinator peak RSS [0-9]* MiB" "$TMP/n16.log" || fail "the summary line does not give rank 0's peak RSS"
"$PYTHON" - "$TMP" <<'PY'
import sys
import h5py

def load(n):
    with h5py.File(f"{sys.argv[1]}/n{n}.h5", "r") as f:
        return f.attrs["coordinator_peak_rss_bytes"], len(f["final_model"]) * 4

(a, model), (b, _) = load(4), load(16)
assert a > model and b > a, (a, b, model)
growth = (b - a) / 12 / model
assert growth < 1.4, f"rank 0 grows by {growth:.2f} models per device (<= 1: the results it merges)"
print(f"  ok: rank 0 peak RSS {a / 2**20:.0f} MiB at 4 devices, {b / 2**20:.0f} MiB at 16: "
      f"{growth:.2f} models per device")
PY
