#!/usr/bin/env bash
# scripts/plot.py draws two results files into a PNG, and exits with 2 on a missing file.
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
