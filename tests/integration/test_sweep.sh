#!/usr/bin/env bash
# `edgesim sweep`: expansion and names (--list), validation before anything runs
# (--dry-run), the local runner (several runs at a time, manifest, complete results), and
# an interrupted sweep that, run again, finishes without redoing finished runs.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

write_device_set "$TMP/devs.toml" "agx 1.0 4GiB 200 5" "nano 6.0 2GiB 40 10" '"agx", "nano"'
write_config "$TMP/base.toml" devs.toml 4 3
spec() {  # spec FILE ROUNDS SEEDS ALPHAS
  cat >"$1" <<TOML
[sweep]
name = "tiny"
base = "base.toml"
out_dir = "$TMP/out-$(basename "$1" .toml)"
seeds = [$3]
ranks = 2
set = ["run.rounds=$2", "data.train_samples=1000", "data.test_samples=200", "run.checkpoint_every=1"]

[axes]
data.alpha = [$4]
algorithm.straggler = ["wait_all"]
TOML
}
spec "$TMP/small.toml" 3 "1, 2" "0.5, 1.0"

echo "--list"
"$EDGESIM_BIN" sweep "$TMP/small.toml" --list >"$TMP/list.txt"
names=$(grep -E '^ +[0-9]+ ' "$TMP/list.txt" | awk '{print $2}')
expected=$'alpha-0.5_straggler-wait_all_seed-1\nalpha-0.5_straggler-wait_all_seed-2\nalpha-1.0_straggler-wait_all_seed-1\nalpha-1.0_straggler-wait_all_seed-2'
[[ $names == "$expected" ]] || fail "unexpected run names:"$'\n'"$names"
[[ -z $(grep -v '^[A-Za-z0-9._-]*$' <<<"$names") ]] || fail "run names must be [A-Za-z0-9._-] only"
check "4 runs, names from axis values and seed (only [A-Za-z0-9._-]), first axis slowest, seeds fastest"

echo "--dry-run"
"$EDGESIM_BIN" sweep "$TMP/small.toml" --dry-run >"$TMP/dry.log" 2>&1
grep -q "all 4 runs are valid" "$TMP/dry.log" || fail "dry run"
spec "$TMP/bad.toml" 3 "1" "0.5, -1"
rc=0
"$EDGESIM_BIN" sweep "$TMP/bad.toml" --dry-run >"$TMP/bad.log" 2>&1 || rc=$?
[[ $rc -eq 2 ]] || fail "a bad value must exit 2 (got $rc)"
grep -q "run 'alpha--1_straggler-wait_all_seed-1'.*'data.alpha'" "$TMP/bad.log" || { cat "$TMP/bad.log"; fail "message must name the run and the key"; }
check "a bad value in one run: exit 2, message names the run and the key"
rc=0
"$EDGESIM_BIN" sweep "$TMP/bad.toml" >"$TMP/bad-run.log" 2>&1 || rc=$?
[[ $rc -eq 2 && ! -d $TMP/out-bad ]] || fail "running a sweep with a bad run must fail before starting anything"
check "the runner validates every run before starting any"

echo "local runner, 2 runs at a time"
"$EDGESIM_BIN" sweep "$TMP/small.toml" --jobs 2 --oversubscribe >"$TMP/run.log" 2>&1 || { cat "$TMP/run.log"; fail "sweep failed"; }
for n in $names; do
  "$PYTHON" -c "import h5py,sys; f=h5py.File(sys.argv[1],'r'); assert f['status'][()]==b'complete' and (f['rounds'][:]['round']>=1).sum()==3" \
    "$TMP/out-small/$n.h5" || fail "$n is not complete"
done
"$PYTHON" -c "import json,sys; m=json.load(open(sys.argv[1])); assert len(m['runs'])==4 and m['axes']==['data.alpha','algorithm.straggler'], m" \
  "$TMP/out-small/manifest.json" || fail "bad manifest"
check "4 complete results files and a manifest"
# A sweep run is the same run as by hand.
run_ok direct 2 run "$TMP/base.toml" --set run.rounds=3 --set data.train_samples=1000 --set data.test_samples=200 \
  --set run.checkpoint_every=1 --set data.alpha=1.0 --set algorithm.straggler=wait_all --set run.seed=2 \
  --set run.threads=1 --set run.name=alpha-1.0_straggler-wait_all_seed-2 --out "$TMP/direct.h5"
h5check identical "$TMP/direct.h5" "$TMP/out-small/alpha-1.0_straggler-wait_all_seed-2.h5"
"$EDGESIM_BIN" sweep "$TMP/small.toml" --jobs 2 --oversubscribe >"$TMP/again.log" 2>&1
grep -q "4 complete, 0 to run" "$TMP/again.log" || fail "rerun must skip complete runs"
check "running a finished sweep again does nothing"

echo "interrupt the runner, then run it again"
spec "$TMP/long.toml" 12 "1, 2, 3" "0.5, 1.0"
setsid "$EDGESIM_BIN" sweep "$TMP/long.toml" --jobs 1 >"$TMP/long1.log" 2>&1 &
runner=$!
on_exit '[[ $(ps -o ppid= -p "$runner" 2>/dev/null | tr -d " ") == "$$" ]] && kill_tree "$runner"'
for ((i = 0; i < 600; i++)); do grep -q '^\[1/6\] done' "$TMP/long1.log" && break; sleep 0.2; done
grep -q '^\[1/6\] done' "$TMP/long1.log" || { cat "$TMP/long1.log"; fail "first run never finished"; }
sleep 1
kill -INT "$runner"
rc=0
wait "$runner" || rc=$?
[[ $rc -eq 130 ]] || { cat "$TMP/long1.log"; fail "interrupted runner must exit 130 (got $rc)"; }
grep -q "sweep interrupted" "$TMP/long1.log" || fail "no interruption message"
finished=()
for f in "$TMP"/out-long/*.h5; do
  [[ $(h5status "$f") == complete ]] && finished+=("$f")
done
[[ ${#finished[@]} -ge 1 && ${#finished[@]} -lt 6 ]] || fail "expected some but not all runs complete, got ${#finished[@]}"
before=$(md5sum "${finished[@]}")
check "interrupted after ${#finished[@]} of 6 runs (exit 130)"
"$EDGESIM_BIN" sweep "$TMP/long.toml" --jobs 1 >"$TMP/long2.log" 2>&1 || { cat "$TMP/long2.log"; fail "second pass failed"; }
grep -q "${#finished[@]} complete, $((6 - ${#finished[@]})) to run" "$TMP/long2.log" || { cat "$TMP/long2.log"; fail "second pass must skip the finished runs"; }
[[ $(md5sum "${finished[@]}") == "$before" ]] || fail "finished runs were redone"
for f in "$TMP"/out-long/*.h5; do [[ $(h5status "$f") == complete ]] || fail "$f incomplete after the second pass"; done
check "second pass finished the sweep; finished runs untouched"
