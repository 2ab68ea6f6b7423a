#!/usr/bin/env bash
# The two host-timed clock modes. `measured`: compute time is the host's measured seconds
# × slowdown, so a 4x slower device shows roughly 4x the compute (host noise allowed).
# `realtime`: the same, and executors really sleep, so the run's wall time is at least its
# virtual time.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

write_device_set "$TMP/fastslow.toml" \
  "fast 1.0 4GiB 100 0" "slow 4.0 4GiB 100 0" \
  '"fast", "slow"'
write_config "$TMP/clock.toml" fastslow.toml 2 2
common=(--set data.partition=iid --set data.train_samples=1000 --set data.test_samples=200)

run_ok measured 2 run "$TMP/clock.toml" "${common[@]}" --set clock.mode=measured --out "$TMP/measured.h5"
run_ok realtime 2 run "$TMP/clock.toml" "${common[@]}" --set clock.mode=realtime --out "$TMP/realtime.h5"
"$PYTHON" - "$TMP/measured.h5" "$TMP/realtime.h5" <<'PY'
import sys
import h5py
import numpy as np

with h5py.File(sys.argv[1], "r") as f:
    t = f["tasks"][:]
    fast, slow = t[t["device"] == 0]["compute_s"], t[t["device"] == 1]["compute_s"]
    assert (fast > 0).all() and (slow > 0).all(), "measured compute times must be positive"
    ratio = slow.sum() / fast.sum()
    assert 2.0 < ratio < 8.0, f"slow/fast measured compute ratio {ratio:.2f}, expected about 4"
    print(f"  ok: measured: slow/fast compute ratio {ratio:.2f} (slowdown 4, host noise allowed)")
with h5py.File(sys.argv[2], "r") as f:
    r, t = f["rounds"][:], f["tasks"][:]
    # One executor hosts both devices and sleeps each task to its emulated duration, one after
    # the other: every round must take at least the sum of its tasks' durations in wall time.
    wall = np.diff(np.concatenate([[0.0], r["wall_time_s"]]))
    for i, rnd in enumerate(r["round"]):
        tasks = t[t["round"] == rnd]
        need = float(np.sum(tasks["end_s"] - tasks["start_s"]))
        assert wall[i] >= need, f"realtime: round {rnd} took {wall[i]:.3f} s of wall time < {need:.3f} s emulated"
    print(f"  ok: realtime: every round's wall time >= the sum of its tasks' emulated durations "
          f"(last: {wall[-1]:.2f} s >= {need:.2f} s)")
PY
