#!/usr/bin/env bash
# A run killed with SIGKILL mid-way leaves a readable results file: every finished round is
# there (SWMR: each round is flushed as it ends) and /status says "running"; a run that
# finishes says "complete".
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

write_device_set "$TMP/devs.toml" "agx 1.0 4GiB 200 5" "nano 6.0 2GiB 40 10" '"agx", "nano"'
write_config "$TMP/long.toml" devs.toml 4 60

# Own session and process group, so the whole job can be killed without touching ours.
setsid mpirun --oversubscribe --bind-to none -np 2 "$EDGESIM_BIN" run "$TMP/long.toml" \
  --out "$TMP/killed.h5" >"$TMP/killed.log" 2>&1 &
job=$!
# If the test fails half-way, do not leave the run behind; but only while $job is still
# our child (after it exits its pid may be reused by an unrelated process).
on_exit '[[ $(ps -o ppid= -p "$job" 2>/dev/null | tr -d " ") == "$$" ]] && kill_tree "$job"'

h5check wait-rounds "$TMP/killed.h5" 2 --timeout 120 || { cat "$TMP/killed.log" >&2; fail "no rounds written"; }
pids=$(pids_of_tree "$job" | tr '\n' ' ')
[[ $(wc -w <<<"$pids") -ge 3 ]] || fail "expected mpirun and 2 ranks running, found pids: $pids"
kill_tree "$job"
wait "$job" 2>/dev/null || true
for ((i = 0; i < 50; i++)); do
  alive=""
  for p in $pids; do kill -0 "$p" 2>/dev/null && alive+=" $p"; done
  [[ -z $alive ]] && break
  sleep 0.1
done
[[ -z $alive ]] || fail "processes still alive after kill -9:$alive"
check "killed mpirun and both ranks with SIGKILL (pids $pids)"
if grep -q '^done:' "$TMP/killed.log"; then fail "the run finished before it was killed"; fi

h5check killed "$TMP/killed.h5" --min-rounds 2

run_ok complete 2 run "$TMP/long.toml" --set run.rounds=2 --out "$TMP/complete.h5"
h5check complete "$TMP/complete.h5" --rounds 2
