#!/usr/bin/env bash
# Events are applied strictly in virtual-time order (runtime/event_loop.hpp). An asynchronous
# run whose slow device fits the memory estimate but crosses its enforced cap mid-training ends
# those tasks early (as `oom` at download time); one with the measured clock learns every end
# time only after training. In both, every task is applied in (end time, device) order across
# the whole run, and virtual time never decreases. The old asynchronous loop applied a task
# by its *predicted* end and could hand over a later one first. /transfers holds each task's
# download and upload (a star: the server is -1).
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# The CNN's estimate at batch 32 is ~8.3 MB and its measured peak ~9.3 MB: 8.4 MiB (8.8 MB)
# admits the task and fails it mid-training.
write_device_set "$TMP/devs.toml" "fast 1.0 4GiB 100 5" "tight 12.0 8.4MiB 100 5" \
  '"fast", "tight", "fast", "fast"'
write_config "$TMP/exp.toml" devs.toml 4 12
async=(--set algorithm.name=fedasync --set data.partition=iid)

run_ok oom 2 run "$TMP/exp.toml" "${async[@]}" --out "$TMP/oom.h5"
run_ok measured 3 run "$TMP/exp.toml" "${async[@]}" --set clock.mode=measured --set devices.memory=estimated \
  --out "$TMP/measured.h5"
run_ok semi 3 run "$TMP/exp.toml" --set algorithm.name=heterofl --set algorithm.schedule=semi_async \
  --set algorithm.rates=1,0.5 --set clock.mode=measured --set devices.memory=estimated --out "$TMP/semi.h5"

"$PYTHON" - "$TMP" <<'PY'
import sys
import h5py
import numpy as np

tmp = sys.argv[1]
for name in ("oom", "measured", "semi"):
    with h5py.File(f"{tmp}/{name}.h5", "r", swmr=True) as f:
        tasks, rounds = f["tasks"][:], f["rounds"][:]
    # /tasks rows are appended per aggregation in the order the tasks were applied.
    key = list(zip(tasks["end_s"], tasks["device"]))
    assert all(a <= b for a, b in zip(key, key[1:])), (name, "applied out of virtual-time order", key)
    assert np.all(np.diff(rounds["virtual_time_s"]) >= 0), (name, rounds["virtual_time_s"])
    print(f"  ok: {name}: {len(tasks)} tasks applied in (end, device) order; virtual time never decreases")
    with h5py.File(f"{tmp}/{name}.h5", "r", swmr=True) as f:
        transfers = f["transfers"][:]
    # Star traffic: one download per task, one upload per task that trained, timed as /tasks says.
    down = transfers[transfers["kind"] == b"download"]
    up = transfers[transfers["kind"] == b"upload"]
    assert len(down) == len(tasks) and (down["source"] == -1).all() and (down["destination"] == tasks["device"]).all()
    assert np.allclose(down["end_s"] - down["start_s"], tasks["download_s"], rtol=0, atol=1e-9)
    assert len(up) == int((tasks["status"] == b"ok").sum()) and (up["destination"] == -1).all()
    assert np.allclose(up["end_s"], tasks["end_s"][tasks["status"] == b"ok"], rtol=0, atol=1e-9)
    print(f"  ok: {name}: /transfers has each task's download and upload, timed as /tasks says")
    if name == "oom":
        mid = (tasks["status"] == b"oom") & (tasks["peak_memory_bytes"] > 0)
        assert mid.any(), "expected tasks that fail mid-training"
        ok = tasks["status"] == b"ok"
        # A mid-training failure ends at its download: before tasks that started with it and trained.
        assert tasks["end_s"][mid].min() < tasks["end_s"][ok].max()
        print(f"  ok: {int(mid.sum())} tasks failed mid-training and were applied at their (early) end")
PY
