#!/usr/bin/env bash
# Checkpoint and resume. A run stopped part-way and resumed with `--resume` must produce
# /rounds (except wall_time_s) and /tasks identical to an uninterrupted run:
#  (a) stopped by SIGTERM (what Slurm sends at a time limit or preemption): the coordinator
#      checkpoints the last finished round and exits; resumed on a different rank count;
#  (b) killed by SIGKILL between periodic checkpoints: the rows written after the last
#      checkpoint are discarded and recomputed;
# and: resuming a complete run does nothing; resuming with a changed config is refused;
#  (e) asynchronous runs (FedAsync, FedBuff) too: their checkpoints hold the tasks in flight
#      and the models they started from; (f) also when stopped again right after a resume.
# Per-device state and semi-asynchronous runs: test_resume_state.sh.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

write_device_set "$TMP/devs.toml" "agx 1.0 4GiB 200 5" "nano 6.0 2GiB 40 10" '"agx", "nano", "agx"'
write_config "$TMP/exp.toml" devs.toml 6 30
common=(--set data.train_samples=3000 --set data.test_samples=300 --set run.checkpoint_every=4
        --set algorithm.fraction=0.5)

run_ok reference 3 run "$TMP/exp.toml" "${common[@]}" --out "$TMP/reference.h5"


echo "(a) SIGTERM, then resume on 2 ranks instead of 3"
interrupt TERM term
grep -q "stopped by signal after round" "$TMP/term.log" || { cat "$TMP/term.log" >&2; fail "no checkpoint message"; }
[[ -f $TMP/term.h5.ckpt ]] || fail "no checkpoint file after SIGTERM"
check "SIGTERM: $(grep -o 'stopped by signal after round [0-9]*' "$TMP/term.log")"
run_ok term-resume 2 run "$TMP/exp.toml" "${common[@]}" --out "$TMP/term.h5" --resume
grep -q "resuming .* after round" "$TMP/term-resume.log" || fail "the resumed run did not resume"
h5check identical "$TMP/reference.h5" "$TMP/term.h5"
[[ ! -f $TMP/term.h5.ckpt ]] || fail "checkpoint left behind after the run completed"
check "a finished run removes its checkpoint"

echo "(b) SIGKILL between checkpoints (every 4 rounds), then resume"
interrupt KILL killed
[[ -f $TMP/killed.h5.ckpt ]] || fail "no periodic checkpoint before the kill"
"$PYTHON" - "$TMP/killed.h5" <<'PY'
import struct, sys
import h5py
with open(sys.argv[1] + ".ckpt", "rb") as f:
    data = f.read()
n = struct.unpack_from("<Q", data, 8)[0]           # magic, then the config's length and text
ckpt_round = struct.unpack_from("<q", data, 16 + n)[0]
with h5py.File(sys.argv[1], "r", swmr=True) as f:
    rows = int((f["rounds"]["round"] >= 1).sum())  # training rounds (round 0 aside)
assert ckpt_round % 4 == 0 and 0 < ckpt_round <= rows, (ckpt_round, rows)
print(f"  ok: killed with {rows} rounds in the file, last checkpoint after round {ckpt_round}"
      f" ({rows - ckpt_round} rounds to discard and redo)")
PY
run_ok killed-resume 3 run "$TMP/exp.toml" "${common[@]}" --out "$TMP/killed.h5" --resume
h5check identical "$TMP/reference.h5" "$TMP/killed.h5"

echo "(c) resuming a complete run does nothing"
before=$(md5sum <"$TMP/reference.h5")
run_ok noop 2 run "$TMP/exp.toml" "${common[@]}" --out "$TMP/reference.h5" --resume
grep -q "already complete" "$TMP/noop.log" || fail "expected 'already complete'"
[[ $(md5sum <"$TMP/reference.h5") == "$before" ]] || fail "a complete results file was modified"
check "complete run left untouched"

echo "(d) a changed config is refused"
interrupt TERM changed
rc=0
run_edgesim 2 run "$TMP/exp.toml" "${common[@]}" --set algorithm.lr=0.01 --out "$TMP/changed.h5" --resume \
  >"$TMP/changed-resume.log" 2>&1 || rc=$?
[[ $rc -eq 2 ]] || { cat "$TMP/changed-resume.log" >&2; fail "expected exit 2, got $rc"; }
grep -q "different config" "$TMP/changed-resume.log" || fail "no 'different config' message"
check "resume with a changed config: exit 2, message names the checkpoint"

echo "(e) asynchronous runs: SIGTERM (FedAsync) and SIGKILL (FedBuff), resumed on other rank counts"
# Without algorithm.fraction: the asynchronous schedules do not read it (an error if given).
common=(--set data.train_samples=3000 --set data.test_samples=300 --set run.checkpoint_every=4)
for alg in fedasync fedbuff; do
  async=(--set algorithm.name=$alg --set algorithm.concurrency=4 --set run.checkpoint_every=5)
  [[ $alg == fedbuff ]] && async+=(--set algorithm.buffer_size=3)
  run_ok "$alg-reference" 3 run "$TMP/exp.toml" "${common[@]}" "${async[@]}" --out "$TMP/$alg-reference.h5"
  if [[ $alg == fedasync ]]; then interrupt TERM "$alg" "${async[@]}"; else interrupt KILL "$alg" "${async[@]}"; fi
  [[ -f $TMP/$alg.h5.ckpt ]] || { cat "$TMP/$alg.log" >&2; fail "$alg: no checkpoint"; }
  run_ok "$alg-resume" 2 run "$TMP/exp.toml" "${common[@]}" "${async[@]}" --out "$TMP/$alg.h5" --resume
  grep -q "resuming .* after round" "$TMP/$alg-resume.log" || fail "$alg: the resumed run did not resume"
  h5check identical "$TMP/$alg-reference.h5" "$TMP/$alg.h5"
done

echo "(f) FedBuff stopped again right after resuming, before its next aggregation, then resumed"
async=(--set algorithm.name=fedbuff --set algorithm.concurrency=4 --set algorithm.buffer_size=3
       --set run.checkpoint_every=5)
interrupt TERM twice "${async[@]}"
setsid mpirun --oversubscribe --bind-to none -np 2 "$EDGESIM_BIN" run "$TMP/exp.toml" "${common[@]}" "${async[@]}" \
  --out "$TMP/twice.h5" --resume >"$TMP/twice-resume1.log" 2>&1 &
job=$!
for _ in $(seq 600); do grep -q "resuming" "$TMP/twice-resume1.log" && break; sleep 0.1; done
kill -TERM "$job"
wait "$job" 2>/dev/null || true
grep -q "stopped by signal" "$TMP/twice-resume1.log" || { cat "$TMP/twice-resume1.log" >&2; fail "second stop: no checkpoint"; }
check "stopped again: $(grep -o 'stopped by signal after round [0-9]*' "$TMP/twice-resume1.log")"
run_ok twice-resume2 3 run "$TMP/exp.toml" "${common[@]}" "${async[@]}" --out "$TMP/twice.h5" --resume
h5check identical "$TMP/fedbuff-reference.h5" "$TMP/twice.h5"

