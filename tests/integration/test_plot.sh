#!/usr/bin/env bash
# scripts/plot.py draws results files into a PNG, and exits with 2 on a missing file; the
# timeline can be left out, the time axis made logarithmic or limited, runs that overlap get
# their own marker and line style, and legends say what differs between the runs; a pipeline
# run gets its 1F1B timeline and its throughput with the faults marked.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

plot="$EDGESIM_SOURCE_DIR/scripts/plot.py"
[[ -f $plot ]] || fail "$plot does not exist"

# Two small runs; the first has an out-of-memory device and a deadline straggler, so the
# timeline has every kind of bar.
write_device_set "$TMP/mix.toml" "agx 1.0 4GiB 200 5" "nano 6.0 2GiB 40 10" "tiny 1.0 1MiB 100 5" \
  '"agx", "nano", "tiny", "agx"'
write_config "$TMP/plotrun.toml" mix.toml 4 2
run_ok run_a 1 run "$TMP/plotrun.toml" --set run.name=deadline \
  --set algorithm.straggler=deadline --set algorithm.deadline_s=0.3 --out "$TMP/a.h5"
run_ok run_b 1 run "$TMP/plotrun.toml" --set run.name=wait_all --set run.seed=2 --out "$TMP/b.h5"
# The newcomer's case: another algorithm by --set, the run name left as it was.
run_ok run_c 1 run "$TMP/plotrun.toml" --set run.name=wait_all --set run.seed=2 \
  --set algorithm.name=heterofl --out "$TMP/c.h5"

"$PYTHON" "$plot" "$TMP/a.h5" "$TMP/b.h5" -o "$TMP/out.png" --title "plot test" >"$TMP/plot.log" 2>&1 ||
  { cat "$TMP/plot.log" >&2; fail "plot.py exited with $?"; }
[[ -s $TMP/out.png ]] || fail "plot.py wrote no (or an empty) PNG"
"$PYTHON" - "$TMP/out.png" <<'PY' || fail "out.png is not a valid PNG"
import struct, sys
data = open(sys.argv[1], "rb").read()
assert data[:8] == b"\x89PNG\r\n\x1a\n", f"magic bytes {data[:8]!r}"
assert data[12:16] == b"IHDR", "no IHDR chunk first"
width, height = struct.unpack(">II", data[16:24])
assert width >= 200 and height >= 200, f"{width}x{height} pixels"
print(f"  ok: out.png: PNG signature, {width}x{height} pixels, {len(data)} bytes")
PY

rc=0
"$PYTHON" "$plot" "$TMP/a.h5" "$TMP/missing.h5" -o "$TMP/missing.png" >"$TMP/missing.log" 2>&1 || rc=$?
[[ $rc -eq 2 ]] || { cat "$TMP/missing.log" >&2; fail "plot.py on a missing file: exit $rc, expected 2"; }
grep -q "missing.h5" "$TMP/missing.log" || fail "plot.py's error does not name the missing file"
[[ ! -e $TMP/missing.png ]] || fail "plot.py wrote an image despite the missing input"
check "plot.py on a missing file: exit 2, names it, writes no image"

# Without the timeline: --no-timeline and --timeline-devices 0 give the same, shorter figure.
png_height() { "$PYTHON" -c 'import struct,sys; print(struct.unpack(">II", open(sys.argv[1],"rb").read()[16:24])[1])' "$1"; }
"$PYTHON" "$plot" "$TMP/a.h5" "$TMP/b.h5" -o "$TMP/nt1.png" --no-timeline >/dev/null || fail "plot.py --no-timeline failed"
"$PYTHON" "$plot" "$TMP/a.h5" "$TMP/b.h5" -o "$TMP/nt2.png" --timeline-devices 0 >/dev/null ||
  fail "plot.py --timeline-devices 0 failed"
h_full=$(png_height "$TMP/out.png") h1=$(png_height "$TMP/nt1.png") h2=$(png_height "$TMP/nt2.png")
[[ $h1 -eq $h2 && $h1 -lt $h_full ]] || fail "no-timeline heights $h1, $h2 vs $h_full with the timeline"
check "--no-timeline = --timeline-devices 0: no timeline panel ($h1 vs $h_full pixels high)"

# Log and limited time axes; a bad range is a usage error (exit 2).
"$PYTHON" "$plot" "$TMP/a.h5" "$TMP/b.h5" -o "$TMP/xlog.png" --xlog --xlim 0.05 20 >/dev/null ||
  fail "plot.py --xlog --xlim failed"
"$PYTHON" "$plot" "$TMP/a.h5" -o "$TMP/xlim.png" --xlim 0 1 >/dev/null || fail "plot.py --xlim failed"
for bad in "--xlim 5 1" "--xlog --xlim 0 1" "--timeline-devices -1"; do
  rc=0
  # shellcheck disable=SC2086
  "$PYTHON" "$plot" "$TMP/a.h5" -o "$TMP/bad.png" $bad >/dev/null 2>&1 || rc=$?
  [[ $rc -eq 2 && ! -e $TMP/bad.png ]] || fail "plot.py $bad: exit $rc, expected 2 and no image"
done
check "--xlog and --xlim draw; --xlim 5 1, --xlog with a range from 0, --timeline-devices -1: exit 2"

# Legends and styles, from plot.py's own functions on the three files.
"$PYTHON" - "$EDGESIM_SOURCE_DIR/scripts" "$TMP" <<'PY' || fail "plot.py legends or styles"
import sys
sys.path.insert(0, sys.argv[1])
import plot
import matplotlib.pyplot as plt
tmp = sys.argv[2]
load = lambda *names: [plot.load_run(f"{tmp}/{n}.h5") for n in names]

# Same run.name, different algorithm: labelled by the key that differs, the name as title.
runs = load("b", "c")
title = plot.label_runs(runs)
assert title == "run.name = wait_all", title
assert [r.label for r in runs] == ["algorithm.name=fedavg", "algorithm.name=heterofl"], \
    [r.label for r in runs]
# Distinct names that do not say everything that differs (the seed): name and keys.
runs = load("a", "b")
plot.label_runs(runs)
assert runs[0].label.startswith("deadline: ") and "run.seed=1" in runs[0].label, runs[0].label
assert "algorithm.straggler=wait_all" in runs[1].label, runs[1].label
# Names that do tell the runs apart are kept.
runs = load("a", "b")
runs[0].label, runs[1].label = "deadline_seed-1", "wait_all_seed-2"
keys, _ = plot.differing_keys(runs)
assert keys == ["run.seed", "algorithm.straggler", "algorithm.deadline_s"], keys
runs[0].label += "_0.3"
runs[1].label += "_0.0"
plot.label_runs(runs)
assert [r.label for r in runs] == ["deadline_seed-1_0.3", "wait_all_seed-2_0.0"], [r.label for r in runs]
print("  ok: legends: a shared run.name gives way to the keys that differ")

# b and c may well draw the same curve: each run its own marker and line style.
runs = load("a", "b", "c")
plot.label_runs(runs)
fig, (ax1, ax2) = plt.subplots(1, 2)
plot.plot_accuracy(ax1, ax2, runs)
styles = [(l.get_marker(), l.get_linestyle()) for l in ax1.get_lines()]
assert len(set(styles)) == len(runs), styles
print(f"  ok: curves: {len(runs)} runs, {len(set(styles))} distinct marker/line styles")
PY

# A pipeline run (issue 13): panel (c) becomes the 1F1B timeline of its ops and panel (d) its
# throughput per iteration, with the fault, its detection and its recovery end marked.
write_device_set "$TMP/pipe-devices.toml" "fast 1.0 4GiB 100 5" "slow 4.0 1GiB 40 10" '"fast", "slow", "slow", "fast"'
write_pipeline_config "$TMP/pipe.toml" "run.rounds = 4" "run.eval_every = 100" "data.train_samples = 128" "data.test_samples = 32" 'devices.profiles = "pipe-devices.toml"' 'devices.memory = "estimated"' 'pipeline.planner = "gpipe"' "pipeline.heartbeat_timeout_s = 0.05" 'pipeline.faults = "fail:1@0.05"'
run_ok pipe 1 run "$TMP/pipe.toml" --out "$TMP/pipe.h5"
"$PYTHON" "$plot" "$TMP/pipe.h5" "$TMP/a.h5" -o "$TMP/pipe.png" --timeline-rounds 2 >/dev/null ||
  fail "plot.py on a pipeline run failed"
[[ $(png_height "$TMP/pipe.png") -gt $h_full ]] || fail "no throughput panel under the pipeline timeline"
"$PYTHON" - "$EDGESIM_SOURCE_DIR/scripts" "$TMP" <<'PY' || fail "plot.py's pipeline panels"
import sys
sys.path.insert(0, sys.argv[1])
import plot
import numpy as np
import matplotlib.pyplot as plt
run = plot.load_run(f"{sys.argv[2]}/pipe.h5")
assert plot.load_run(f"{sys.argv[2]}/a.h5").pipeline is None
its, ops, faults = run.pipeline["iterations"], run.pipeline["ops"], run.pipeline["faults"]
assert len(faults) == 1 and np.isfinite(faults["recovered_s"][0]), faults
# (c): one bar per op of the shown iterations, coloured by kind, on the device that ran it.
fig, ax = plt.subplots()
plot.plot_pipeline_timeline(ax, run, 2, 32)
shown = ops[np.isin(ops["iteration"], np.unique(ops["iteration"])[:2])]
for kind, colour in plot.PIPELINE_COLOURS.items():
    want = int((plot.decoded(shown["kind"]) == kind).sum())
    rgba = plt.matplotlib.colors.to_rgba(colour)
    bars = sum(len(c.get_paths()) for c in ax.collections
               if len(c.get_facecolor()) and tuple(c.get_facecolor()[0]) == rgba)
    assert bars == want and (want > 0 or kind == "allreduce"), (kind, bars, want)
# (d): samples / span per iteration, and a line at each of the fault's three times.
y = plot.iteration_throughput(its)
assert np.allclose(y, its["samples"] / (its["end_s"] - its["start_s"])), y
fig, ax = plt.subplots()
plot.plot_throughput(ax, [run])
xs = sorted(l.get_xdata()[0] for l in ax.get_lines() if l.get_linestyle() in ("-", "--", ":")
            and len(set(l.get_xdata())) == 1 and len(l.get_xdata()) == 2)
want = sorted(float(faults[0][k]) for k in ("fault_s", "detected_s", "recovered_s"))
assert np.allclose(xs, want), (xs, want)
print(f"  ok: pipeline plot: {len(shown)} ops as bars by kind, throughput of {len(its)} iterations, "
      f"fault/detection/recovery at {', '.join(f'{x:.3f}' for x in want)} s")
PY
