#!/usr/bin/env bash
# SSP (`algorithm.name = "ssp"`, schedule `ssp`): 4 devices, one 6x slower. With staleness
# bound s = 1 the fast devices run ahead by at most one finished task and then wait (visible in
# /tasks as a gap before their next start); s = 0 is bulk-synchronous (each device's k-th task
# starts when the last device's (k-1)-th has ended). Bit-identical at -np 1, 2 and 3; learns;
# killed and resumed on another rank count (the schedule's clocks and waiting devices in the
# checkpoint), identical to an uninterrupted run.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

write_device_set "$TMP/devs.toml" "fast 1.0 4GiB 100 5" "slow 6.0 4GiB 100 5" '"fast", "fast", "fast", "slow"'
write_config "$TMP/exp.toml" devs.toml 4 16
ssp=(--set algorithm.name=ssp --set algorithm.staleness_bound=1 --set data.test_samples=200)

for np in 1 2 3; do
  run_ok "np$np" "$np" run "$TMP/exp.toml" "${ssp[@]}" --out "$TMP/np$np.h5"
done
run_ok bsp 2 run "$TMP/exp.toml" "${ssp[@]}" --set algorithm.staleness_bound=0 --out "$TMP/bsp.h5"
h5check complete "$TMP/np1.h5" --rounds 16
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
        r = f["rounds"][:]
        return r[r["round"] > 0], f["tasks"][:]  # round 0: the initial model, no update

def per_device(tasks):
    out = {}
    for t in sorted(tasks, key=lambda t: t["start_s"]):
        out.setdefault(int(t["device"]), []).append((float(t["start_s"]), float(t["end_s"])))
    return out

for name, s in (("np1", 1), ("bsp", 0)):
    rounds, tasks = load(name)
    assert (tasks["status"] == b"ok").all()
    assert len(rounds) == len(tasks), "one aggregation per update"
    runs = per_device(tasks)
    ends = {d: [e for _, e in r] for d, r in runs.items()}
    # At every start, the device's finished tasks minus the slowest device's are at most s.
    for d, r in runs.items():
        for k, (start, _) in enumerate(r):
            slowest = min(sum(1 for e in ends[x] if e <= start) for x in runs)
            assert k - slowest <= s, (name, d, k, start, slowest)
    print(f"  ok: s = {s}: no device starts a task more than {s} finished tasks ahead of the slowest")
    waited = [start - r[k - 1][1] for d, r in runs.items() if d != 3 for k, (start, _) in enumerate(r) if k > 0]
    assert max(waited) > 0, "the fast devices never waited"
    slow_gaps = [s0 - e0 for (s0, _), (_, e0) in zip(runs[3][1:], runs[3][:-1])]
    assert max(slow_gaps) == 0, "the slowest device never waits"
    print(f"  ok: s = {s}: the fast devices wait (up to {max(waited):.2f} s), the slow one never does")
    if s == 0:
        # Bulk-synchronous: iteration k starts when every device has ended iteration k - 1.
        iterations = min(len(r) for r in runs.values())
        for k in range(1, iterations):
            barrier = max(r[k - 1][1] for r in runs.values())
            assert all(r[k][0] == barrier for r in runs.values()), (k, barrier, [r[k] for r in runs.values()])
        print(f"  ok: s = 0 is bulk-synchronous ({iterations} iterations, each starting at the last end)")
rounds, _ = load("np1")
assert rounds["test_accuracy"][-1] > 0.25, rounds["test_accuracy"]
print(f"  ok: learns ({rounds['test_accuracy'][0]:.2f} -> {rounds['test_accuracy'][-1]:.2f})")
PY

echo "resume: the schedule's clocks and waiting devices"
common=("${ssp[@]}" --set run.checkpoint_every=4 --set run.rounds=14)
run_ok reference 3 run "$TMP/exp.toml" "${common[@]}" --out "$TMP/reference.h5"
interrupt KILL killed
[[ -f $TMP/killed.h5.ckpt ]] || { cat "$TMP/killed.log" >&2; fail "no checkpoint"; }
run_ok resumed 2 run "$TMP/exp.toml" "${common[@]}" --out "$TMP/killed.h5" --resume
grep -q "resuming .* after round" "$TMP/resumed.log" || fail "the resumed run did not resume"
h5check identical "$TMP/reference.h5" "$TMP/killed.h5"
