#!/usr/bin/env bash
# scripts/asteroid.py (scripts/reproduce.sh asteroid's tables): on small CNN pipeline runs named
# as reproduce.sh names them, the speedups it prints are the ratios of the runs' samples per
# virtual second, the FedAvg reference counts only the devices that hold the model (its samples/s
# and oom count from /tasks), the mixed-stage speedup is the runs' ratio, the time to recover is
# recovery end - fault, and a
# replayed run's loss curve matches the run without faults.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

write_device_set "$TMP/devices.toml" "fast 1.0 4GiB 100 5" "slow 4.0 1GiB 40 10" '"fast", "slow", "slow", "fast"'
write_pipeline_config "$TMP/p.toml" "run.rounds = 2" "run.eval_every = 100" "data.train_samples = 128" "data.test_samples = 32" 'devices.profiles = "devices.toml"' 'devices.memory = "estimated"' "pipeline.op_overhead_s = 0.002" "pipeline.heartbeat_timeout_s = 0.05"
t=$TMP/runs/throughput/home5 r=$TMP/runs/recovery
mkdir -p "$t" "$r"
for p in asteroid data_parallel gpipe pipedream hetpipe; do
  run_ok "$p" 1 run "$TMP/p.toml" --set "pipeline.planner=$p" --out "$t/fmnist32-vgg16-$p.h5"
done
# FedAvg on the same devices and data (the reference table): the federated runtime, without the
# [pipeline] section's keys; the slow boards too small for the whole CNN, so the table must count
# them as unable to hold the model and leave their samples out.
write_device_set "$TMP/fedavg-devices.toml" "fast 1.0 4GiB 100 5" "slow 4.0 1MiB 40 10" '"fast", "slow", "slow", "fast"'
sed '/^\[pipeline\]/,$d; s/devices.toml/fedavg-devices.toml/' "$TMP/p.toml" >"$TMP/fedavg.toml"
run_ok fedavg 1 run "$TMP/fedavg.toml" --set algorithm.name=fedavg --set 'data.partition="iid"' \
  --set run.eval_initial=false --out "$t/fmnist32-vgg16-fedavg.h5"
# The mixed-stage sensitivity: the same set named as one speed spread.
m=$TMP/runs/mixed/r2
mkdir -p "$m"
for p in asteroid hetpipe; do
  run_ok "mixed-$p" 1 run "$TMP/p.toml" --set "pipeline.planner=$p" --out "$m/fortunes-lm-$p.h5"
done
run_ok none 1 run "$TMP/p.toml" --set pipeline.planner=gpipe --set run.rounds=4 --out "$r/none-s1.h5"
run_ok fail 1 run "$TMP/p.toml" --set pipeline.planner=gpipe --set run.rounds=4 --set 'pipeline.faults="fail:1@0.05"' \
  --out "$r/replay-fail-s1.h5"
"$PYTHON" "$EDGESIM_SOURCE_DIR/scripts/asteroid.py" "$TMP/runs" -o "$TMP/out" >"$TMP/study.log" 2>&1 ||
  { cat "$TMP/study.log" >&2; fail "asteroid.py failed"; }
for f in tables.md throughput.png timeline.png recovery.png; do [[ -s $TMP/out/$f ]] || fail "no $f"; done
"$PYTHON" - "$TMP" <<'PY' || fail "asteroid.py's tables"
import sys, h5py, numpy as np
tmp = sys.argv[1]
def tp(p):
    with h5py.File(f"{tmp}/runs/throughput/home5/fmnist32-vgg16-{p}.h5", "r") as f:
        i = f["pipeline_iterations"][()]
    return i["samples"].sum() / (i["end_s"] - i["start_s"]).sum()
table = open(f"{tmp}/out/tables.md").read()
row = next(l for l in table.splitlines() if l.startswith("| home/office 5, Wi-Fi | VGG-16 |"))
cells = [c.strip() for c in row.strip("|").split("|")]
want = [f"{tp('asteroid') / tp(p):.2f}×" for p in ("data_parallel", "gpipe", "pipedream", "hetpipe")]
assert cells[7:] == want, (cells, want)
assert float(cells[2]) == float(f"{tp('asteroid'):.3g}"), cells
with h5py.File(f"{tmp}/runs/recovery/replay-fail-s1.h5", "r") as f:
    fault = f["pipeline_faults"][0]
ttr = f"{float(fault['recovered_s'] - fault['fault_s']):.3g} s"
rec = next(l for l in table.splitlines() if l.startswith("| replay-fail-s1 |"))
assert f"| {ttr} |" in rec, (rec, ttr)
loss = next(l for l in table.splitlines() if l.startswith("| replay-fail |"))
assert float(loss.strip("|").split("|")[-1]) < 1e-5, loss
with h5py.File(f"{tmp}/runs/throughput/home5/fmnist32-vgg16-fedavg.h5", "r") as f:
    tasks, rounds = f["tasks"][()], f["rounds"][()]
rounds = rounds[rounds["round"] >= 1]
fa = tasks["samples"][tasks["status"] != b"oom"].sum() / rounds["virtual_time_s"][-1]
oom = np.count_nonzero(tasks[tasks["round"] == 1]["status"] == b"oom")
fed = next(l for l in table.splitlines() if l.startswith("| home/office 5, Wi-Fi | VGG-16 |") and " of 4 |" in l)
cells = [c.strip() for c in fed.strip("|").split("|")]
assert oom == 2 and cells[2] == f"{oom} of 4" and float(cells[3]) == float(f"{fa:.3g}"), (cells, fa, oom)
assert cells[7] == f"{tp('asteroid') / fa:.2f}×", (cells, tp('asteroid') / fa)
def tpm(p):
    with h5py.File(f"{tmp}/runs/mixed/r2/fortunes-lm-{p}.h5", "r") as f:
        i = f["pipeline_iterations"][()]
    return i["samples"].sum() / (i["end_s"] - i["start_s"]).sum()
mix = next(l for l in table.splitlines() if l.startswith("| Transformer LM (small) | 2 |"))
assert mix.rstrip(" |").endswith(f"{tpm('asteroid') / tpm('hetpipe'):.2f}×"), mix
print(f"  ok: FedAvg {fa:.3g} samples/s ({oom} oom); mixed r2 {tpm('asteroid') / tpm('hetpipe'):.2f}x")
print(f"  ok: speedups {', '.join(want)} = the runs' throughput ratios; time to recover {ttr}; {loss}")
PY
