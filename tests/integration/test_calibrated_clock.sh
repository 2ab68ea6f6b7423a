#!/usr/bin/env bash
# The calibrated clock (docs/CLOCK.md): `edgesim profile` writes a compute profile that a run
# reads back; a calibrated run is deterministic across rank counts (it prices work, it does not
# time it); small submodels cost relatively more than FLOPs alone say; the shipped Jetson set
# prices each class by its own profile; bad profiles stop the run before training.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# A quick profile of this host (a smoke test of the measuring path, not a calibration).
"$EDGESIM_BIN" profile --quick --repeats 2 --name test-host --out "$TMP/host.toml" --check "$TMP/check.csv" >"$TMP/profile.log" 2>&1 ||
  { cat "$TMP/profile.log" >&2; fail "edgesim profile --quick"; }
grep -q '^name = "test-host"' "$TMP/host.toml" || fail "profile: name not written"
[[ $(wc -l <"$TMP/check.csv") -ge 9 ]] || fail "profile --check: expected 8 rows"
"$PYTHON" "$EDGESIM_SOURCE_DIR/scripts/clock_error.py" "$TMP/check.csv" >"$TMP/table.md" || fail "clock_error.py"
grep -q "^| cnn | 16 | 0.25 |" "$TMP/table.md" || fail "clock_error.py: no CNN row"
check "edgesim profile --quick wrote a profile and a --check table ($(tail -1 "$TMP/table.md" | cut -c1-60)...)"

# The raw timings are kept; refitting them without measuring gives the same profile and check.
[[ -s "$TMP/host.timings.csv" ]] || fail "profile: no timings CSV next to the profile"
"$EDGESIM_BIN" profile --from "$TMP/host.timings.csv" --name test-host --out "$TMP/refit.toml" --check "$TMP/refit.csv" \
  >"$TMP/refit.log" 2>&1 || { cat "$TMP/refit.log" >&2; fail "edgesim profile --from"; }
diff <(grep -v '^source' "$TMP/host.toml") <(grep -v '^source' "$TMP/refit.toml") >/dev/null ||
  fail "profile --from: the refitted profile differs from the measured one"
cmp -s "$TMP/check.csv" "$TMP/refit.csv" || fail "profile --from: the check table differs"
sed 's/^layer,cnn,1,\([0-9]*\),,conv,[0-9.e+]*/layer,cnn,1,\1,,conv,fast/' "$TMP/host.timings.csv" >"$TMP/bad.timings.csv"
expect_error bad-timings 0 "bad.timings.csv: line" "malformed number" -- \
  profile --from "$TMP/bad.timings.csv" --out "$TMP/never.toml"
check "profile --from refits the kept timings to the same profile; a corrupt timings file names its line"
# Every task's rounds are kept (wall and CPU seconds); --statistic picks what the fit and the
# check use, from the same timings; older timings without rounds allow only the median.
"$EDGESIM_BIN" profile --from "$TMP/host.timings.csv" --statistic min --out "$TMP/min.toml" --check "$TMP/min.csv" \
  >"$TMP/min.log" 2>&1 || { cat "$TMP/min.log" >&2; fail "edgesim profile --from --statistic min"; }
"$PYTHON" - "$TMP/host.timings.csv" "$TMP/check.csv" "$TMP/min.csv" <<'PY' || fail "task rounds / --statistic"
import csv, sys
rows = [r for r in csv.DictReader(l for l in open(sys.argv[1]) if not l.startswith("#")) if r["kind"] in ("fit", "check")]
for r in rows:
    wall, cpu = [float(x) for x in r["rounds_s"].split()], [float(x) for x in r["rounds_cpu_s"].split()]
    assert len(wall) == len(cpu) == 2, f"{r['model']} {r['rate']}: expected 2 rounds, got {r['rounds_s']!r}"
    assert abs(float(r["measured_s"]) - sorted(wall)[1]) <= 1e-9 * max(wall), "measured_s is not the rounds' median"
checks = [r for r in rows if r["kind"] == "check"]
med, low = (list(csv.DictReader(open(p))) for p in sys.argv[2:])
for r, m, l in zip(checks, med, low):
    wall = sorted(float(x) for x in r["rounds_s"].split())
    assert abs(float(m["measured_s"]) / wall[1] - 1) < 1e-5, "--check: measured_s is not the median round"
    assert abs(float(l["measured_s"]) / wall[0] - 1) < 1e-5, "--statistic min: measured_s is not the fastest round"
print(f"  ok: {len(rows)} tasks keep 2 rounds each; the check's measured time is their median, or with --statistic min their minimum")
PY
cut -d, -f1-13 "$TMP/host.timings.csv" >"$TMP/old.timings.csv"
expect_error old-timings-min 0 "old.timings.csv" "no rounds" "--statistic median" -- \
  profile --from "$TMP/old.timings.csv" --statistic min --out "$TMP/never.toml"
rc=0
"$EDGESIM_BIN" profile --from "$TMP/host.timings.csv" --statistic mean --out "$TMP/never.toml" 2>"$TMP/stat.err" || rc=$?
[[ $rc -eq 2 ]] && grep -q -- "--statistic" "$TMP/stat.err" && [[ ! -e "$TMP/never.toml" ]] ||
  { cat "$TMP/stat.err" >&2; fail "profile --statistic mean: exit $rc, expected 2 naming --statistic"; }
# Two measurements' repeatability per statistic: the same rounds 10% slower are a +10% level change, nothing else.
awk -F, 'BEGIN{OFS=","} /^(fit|check),/{for(i=14;i<=15;i++){n=split($i,v," ");s="";for(j=1;j<=n;j++)s=s (j>1?" ":"") v[j]*1.1;$i=s}}1' \
  "$TMP/host.timings.csv" >"$TMP/slower.timings.csv"
"$PYTHON" "$EDGESIM_SOURCE_DIR/scripts/timing_repeatability.py" "$TMP/host.timings.csv" "$TMP/slower.timings.csv" \
  >"$TMP/repeat.md" || fail "timing_repeatability.py"
grep -q '^| wall | minimum | 10.0% | 10.0% | 10.0% | 10.0% | 0/8 | +10.0% | 0.0% | 0.0% | 0/8 |' "$TMP/repeat.md" ||
  { cat "$TMP/repeat.md" >&2; fail "timing_repeatability.py: a uniform 10% slow-down not reported as a level change"; }
check "task rounds kept; --statistic min refits from them; old timings, a bad statistic are errors; repeatability script"

# docs/CLOCK.md's generated blocks are what the committed scripts make of the committed results.
cp "$EDGESIM_SOURCE_DIR/docs/CLOCK.md" "$TMP/CLOCK.md"
(cd "$EDGESIM_SOURCE_DIR" &&
  "$PYTHON" scripts/clock_error.py results/clock/check.csv --again results/clock/check-again.csv --doc "$TMP/CLOCK.md" &&
  "$PYTHON" scripts/timing_repeatability.py results/clock/host.timings.csv results/clock/again.timings.csv --doc "$TMP/CLOCK.md" &&
  "$PYTHON" scripts/clock_history.py results/clock/history/measurements.csv --doc "$TMP/CLOCK.md") >/dev/null ||
  fail "regenerating docs/CLOCK.md's tables"
diff "$EDGESIM_SOURCE_DIR/docs/CLOCK.md" "$TMP/CLOCK.md" >&2 || fail "docs/CLOCK.md's generated tables differ from the scripts' output"
n=$(grep -c '^| [0-9]* | ' <("$PYTHON" "$EDGESIM_SOURCE_DIR/scripts/clock_history.py" "$EDGESIM_SOURCE_DIR/results/clock/history/measurements.csv"))
[[ $n -eq $(($(wc -l <"$EDGESIM_SOURCE_DIR/results/clock/history/measurements.csv") - 1)) ]] || fail "clock_history.py: $n rows"
check "docs/CLOCK.md's three generated tables match the committed results ($n measurements in the history)"
rc=0
"$EDGESIM_BIN" profile --quick --repeats 0 --out "$TMP/never.toml" 2>"$TMP/repeats.err" || rc=$?
[[ $rc -eq 2 ]] && grep -q -- "--repeats" "$TMP/repeats.err" && [[ ! -e "$TMP/never.toml" ]] ||
  { cat "$TMP/repeats.err" >&2; fail "profile --repeats 0: exit $rc, expected 2 naming --repeats"; }
check "profile --repeats 0 is a usage error (exit 2)"

write_device_set "$TMP/fastslow.toml" "fast 1.0 4GiB 100 0" "slow 4.0 4GiB 100 0" '"fast", "slow", "slow", "fast"'
write_config "$TMP/cal.toml" fastslow.toml 4 2
common=(--set data.train_samples=800 --set data.test_samples=200 --set algorithm.name=heterofl
        --set 'algorithm.rates=1,0.25,0.25,1')
cal=(--set clock.mode=calibrated --set "clock.profile=$TMP/host.toml")
run_ok analytic 2 run "$TMP/cal.toml" "${common[@]}" --out "$TMP/analytic.h5"
run_ok cal1 1 run "$TMP/cal.toml" "${common[@]}" "${cal[@]}" --out "$TMP/cal1.h5"
run_ok cal3 3 run "$TMP/cal.toml" "${common[@]}" "${cal[@]}" --out "$TMP/cal3.h5"
"$PYTHON" - "$TMP/analytic.h5" "$TMP/cal1.h5" "$TMP/cal3.h5" <<'PY'
import sys
import h5py
import numpy as np

def tasks(p):
    with h5py.File(p, "r") as f:
        return f["tasks"][:]
a, c1, c3 = (tasks(p) for p in sys.argv[1:])
for col in ("start_s", "end_s", "compute_s"):
    assert np.array_equal(c1[col], c3[col]), f"calibrated: {col} differs between -np 1 and -np 3"
print("  ok: calibrated clock: /tasks times bit-identical for -np 1 and -np 3")
assert not np.array_equal(a["compute_s"], c1["compute_s"]), "calibrated compute times equal the analytic ones"
# Device 1 (slow, rate 0.25) against device 0 (fast, rate 1): the slowdown cancels out of the
# ratio of ratios; what is left is how much a quarter-width task costs relative to a full one.
def share(t):
    d0, d1 = t[t["device"] == 0]["compute_s"].sum(), t[t["device"] == 1]["compute_s"].sum()
    s0, s1 = t[t["device"] == 0]["samples"].sum(), t[t["device"] == 1]["samples"].sum()
    return (d1 / s1) / (d0 / s0) / 4.0
sa, sc = share(a), share(c1)
assert sc > 1.5 * sa, f"a quarter-width task's relative cost: calibrated {sc:.3f} not well above analytic {sa:.3f}"
print(f"  ok: per-sample cost of width 0.25 relative to width 1: analytic {sa:.3f}, calibrated {sc:.3f}")
PY

# The shipped Jetson set: each class priced by its own data-sheet profile.
write_config "$TMP/jetson.toml" "$EDGESIM_SOURCE_DIR/experiments/devices/jetson16.toml" 4 1
run_ok jetson 2 run "$TMP/jetson.toml" --set data.train_samples=400 --set data.test_samples=100 \
  --set clock.mode=calibrated --out "$TMP/jetson.h5"
check "jetson16.toml under the calibrated clock (per-class profiles) runs"

# Bad input: no profile for a class, a malformed profile, a profile without the calibrated clock.
expect_error no-profile 0 "clock.mode" "needs a compute profile" "fastslow.toml" -- \
  run "$TMP/cal.toml" --set clock.mode=calibrated --out "$TMP/x.h5"
sed 's/^kernel_seconds = .*/kernel_seconds = soon/' "$TMP/host.toml" >"$TMP/bad.toml"
expect_error bad-profile 0 "bad.toml" "forward.conv.kernel_seconds" "soon" -- \
  run "$TMP/cal.toml" --set clock.mode=calibrated --set "clock.profile=$TMP/bad.toml" --out "$TMP/x.h5"
expect_error profile-unread 0 "clock.profile" "only read with clock.mode" -- \
  run "$TMP/cal.toml" --set "clock.profile=$TMP/host.toml" --out "$TMP/x.h5"
