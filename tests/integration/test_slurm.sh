#!/usr/bin/env bash
# Slurm for real, no mocks: starts a single-node Slurm cluster (scripts/slurm/test-cluster.sh:
# munged, slurmctld, slurmd, all under the test's temp dir), then
#  (a) `edgesim sweep SPEC --slurm --submit`: a 2-run sweep as a job array, each task an
#      edgesim run under mpirun inside its allocation (2 MPI ranks): both tasks COMPLETED with
#      exit 0, both results files complete, and different;
#  (b) time limit: a running sweep task gets USR1 (as from --signal=B:USR1@120), its batch
#      shell requeues it, the coordinator checkpoints on the SIGTERM that follows, the second
#      attempt resumes (--resume) and completes, and its results are identical to the same
#      run done without Slurm or interruption;
# and stops the cluster, checking that no process of it is left. Needs root and Debian's
# slurmctld, slurmd, slurm-client and munge (scripts/install-deps.sh): without them the test
# FAILS, it never skips.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

CLUSTER="$EDGESIM_SOURCE_DIR/scripts/slurm/test-cluster.sh"
CONFIG="$EDGESIM_SOURCE_DIR/experiments/quickstart.toml"
SDIR="$TMP/cluster"

[[ $(id -u) -eq 0 ]] || fail "must run as root: the Slurm test cluster runs slurmd as root"
for b in sbatch squeue scontrol slurmctld slurmd munged; do
  command -v "$b" >/dev/null ||
    fail "$b not found: install Debian's slurmctld slurmd slurm-client munge (scripts/install-deps.sh)"
done

# --- the cluster ------------------------------------------------------------------------

# A free slurmctld/slurmd port pair (someone may run a test cluster by hand on 6917/6918).
port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
EDGESIM_SLURM_PORT=""
for p in 6917 6927 6937 6947 6957; do
  if ! port_in_use "$p" && ! port_in_use $((p + 1)); then
    EDGESIM_SLURM_PORT=$p
    break
  fi
done
[[ -n $EDGESIM_SLURM_PORT ]] || fail "no free port pair for slurmctld/slurmd among 6917..6958"
export EDGESIM_SLURM_PORT

# shellcheck disable=SC2016 # expanded when the test exits
on_exit '"$CLUSTER" stop "$SDIR" >&2'
t0=$SECONDS
"$CLUSTER" start "$SDIR" || fail "could not start the Slurm test cluster (logs above)"
# shellcheck source=/dev/null
source "$SDIR/env.sh" # SLURM_CONF for sbatch, squeue, scontrol
node=$(hostname -s)
check "Slurm test cluster up in $((SECONDS - t0)) s: node $node idle, port $EDGESIM_SLURM_PORT"

# What went wrong, for a failure: the jobs, their logs, the daemons' logs.
diagnostics() {
  echo "----- squeue / scontrol show job -----" >&2
  squeue >&2 2>&1 || true
  scontrol show job >&2 2>&1 || true
  local f
  for f in "$TMP"/*.log "$SDIR/log/slurmctld.log" "$SDIR/log/slurmd.log"; do
    [[ -f $f ]] || continue
    echo "----- $f (last 40 lines) -----" >&2
    tail -n 40 "$f" >&2
  done
}
slurm_fail() {
  diagnostics
  fail "$*"
}

# submit SCRIPT: sbatch it from $TMP, print the job id.
submit() {
  local out
  out=$(cd "$TMP" && sbatch --parsable "$1") || slurm_fail "sbatch $1 failed"
  echo "${out%%;*}"
}

# job_field JOBID FIELD: FIELD of every job of JOBID (one line per array task).
job_field() { scontrol -o show job "$1" | grep -oE "(^| )$2=[^ ]*" | sed "s/^ *$2=//"; }

# wait_gone JOBID TIMEOUT: until no job of JOBID is pending, running or completing.
wait_gone() {
  local id=$1 timeout=$2 t=$SECONDS left
  while :; do
    left=$(squeue -h -j "$id" -o %i) || slurm_fail "squeue failed (is slurmctld alive?)"
    [[ -z $left ]] && return 0
    ((SECONDS - t < timeout)) || slurm_fail "job $id not done after $timeout s (left: ${left//$'\n'/ })"
    sleep 1
  done
}

# wait_state JOBID STATE TIMEOUT [RESTARTS]: until the job is in STATE (after RESTARTS
# restarts, if given).
wait_state() {
  local id=$1 want=$2 timeout=$3 restarts=${4:-} t=$SECONDS state
  while :; do
    state=$(job_field "$id" JobState) || slurm_fail "scontrol show job $id failed"
    if [[ $state == "$want" && (-z $restarts || $(job_field "$id" Restarts) == "$restarts") ]]; then
      return 0
    fi
    ((SECONDS - t < timeout)) ||
      slurm_fail "job $id is $state (restarts $(job_field "$id" Restarts)), not $want${restarts:+ after $restarts restarts}, after $timeout s"
    sleep 0.5
  done
}

# --- (a) a sweep as a job array ----------------------------------------------------------

# sweep_spec FILE NAME ROUNDS SEEDS: a sweep of the quickstart on small data, 2 ranks per run.
sweep_spec() {
  cat >"$1" <<EOF
[sweep]
name = "$2"
base = "$CONFIG"
out_dir = "$TMP/$2"
seeds = [$4]
ranks = 2
set = ["data.train_samples=1000", "data.test_samples=200", "devices.count=4", "run.rounds=$3",
       "run.checkpoint_every=1000"]
[slurm]
time = "00:10:00"
EOF
}

test_array() {
  echo "(a) edgesim sweep --slurm --submit: a 2-run sweep as a job array, 2 MPI ranks per task"
  sweep_spec "$TMP/array.toml" array 2 "0, 1"
  local out id i t0=$SECONDS
  out=$(cd "$TMP" && "$EDGESIM_BIN" sweep "$TMP/array.toml" --slurm --submit) || slurm_fail "edgesim sweep --slurm --submit failed"
  id=$(sed -n 's/^submitted job array \([0-9]*\)$/\1/p' <<<"$out")
  [[ -n $id ]] || slurm_fail "no job id in: $out"
  wait_gone "$id" 120
  local states codes
  states=$(job_field "$id" JobState | sort | tr '\n' ' ')
  codes=$(job_field "$id" ExitCode | sort -u | tr '\n' ' ')
  [[ $states == "COMPLETED COMPLETED " ]] || slurm_fail "array job $id: states '$states', expected 2x COMPLETED"
  [[ $codes == "0:0 " ]] || slurm_fail "array job $id: exit codes '$codes', expected 0:0"
  check "array job $id: both tasks COMPLETED with exit 0:0 in $((SECONDS - t0)) s"
  for i in 0 1; do
    h5check complete "$TMP/array/seed-$i.h5" --rounds 2 || slurm_fail "seed-$i.h5 is not a complete 2-round run"
    grep -q "^edgesim sweep task $i, attempt 1, on $node$" "$TMP"/array/logs/slurm-"${id}_$i".log ||
      slurm_fail "no task line in the log of task $i"
  done
  h5check differ "$TMP/array/seed-0.h5" "$TMP/array/seed-1.h5" || fail "the two array tasks gave identical runs"
  check "each task ran its run of the sweep under mpirun -np 2; results complete and distinct"
}

# --- (b) requeue: the task checkpoints and the next attempt resumes ----------------------

REQUEUE_ROUNDS=40

test_requeue() {
  echo "(b) time limit: a $REQUEUE_ROUNDS-round sweep task gets USR1, requeues itself, resumes from its checkpoint"
  sweep_spec "$TMP/requeue.toml" requeue "$REQUEUE_ROUNDS" "7"
  local out id t0 log
  out=$(cd "$TMP" && "$EDGESIM_BIN" sweep "$TMP/requeue.toml" --slurm --submit) || slurm_fail "sbatch failed"
  id=$(sed -n 's/^submitted job array \([0-9]*\)$/\1/p' <<<"$out")
  wait_state "$id" RUNNING 60
  h5check wait-rounds "$TMP/requeue/seed-7.h5" 3 --timeout 60 || slurm_fail "the requeue job wrote no rounds"
  [[ $(job_field "$id" JobState) == RUNNING ]] || slurm_fail "job $id finished before it could be requeued"
  # What Slurm does 120 s before a time limit (--signal=B:USR1@120): USR1 to the batch shell,
  # whose trap requeues the task; Slurm then sends SIGTERM and the coordinator checkpoints.
  scancel --batch --signal=USR1 "$id" || slurm_fail "scancel --batch --signal=USR1 $id failed"
  t0=$SECONDS
  check "job $id RUNNING with rounds written; sent USR1 to its batch shell (the time-limit warning)"
  wait_state "$id" RUNNING 90 1
  check "job $id requeued and RUNNING again after $((SECONDS - t0)) s (Restarts=1)"
  wait_gone "$id" 180
  [[ $(job_field "$id" JobState) == COMPLETED && $(job_field "$id" ExitCode) == 0:0 ]] ||
    slurm_fail "requeued job $id: $(job_field "$id" JobState) exit $(job_field "$id" ExitCode), expected COMPLETED 0:0"
  log=$(ls "$TMP"/requeue/logs/slurm-*.log)
  grep -q "attempt 2" "$log" || slurm_fail "no second attempt in $log"
  # checkpoint_every = 1000: a checkpoint can only come from the SIGTERM of the requeue. (The
  # coordinator's "stopped by signal" line may not reach the log: mpirun stops forwarding
  # output once it is signalled.)
  grep -q "resuming .* after round [1-9]" "$log" || slurm_fail "the second attempt did not resume from a checkpoint"
  check "SIGTERM checkpoint, then the second attempt $(grep -o 'resuming .* after round [0-9]*' "$log" | sed 's/resuming .* after/resumed after/')"
  # The same run without Slurm or interruption: identical tables.
  run_ok requeue-reference 2 run "$CONFIG" --set data.train_samples=1000 --set data.test_samples=200 \
    --set devices.count=4 --set run.rounds=$REQUEUE_ROUNDS --set run.checkpoint_every=1000 --set run.seed=7 \
    --set run.threads=1 --set run.name=seed-7 --out "$TMP/requeue-reference.h5"
  h5check identical "$TMP/requeue-reference.h5" "$TMP/requeue/seed-7.h5"
}

# --- stop, and nothing left behind ------------------------------------------------------

# pids_of_cluster: every process of the cluster (daemons and job steps carry its marker in
# their environment) and every process with the test's temp dir in its command line.
pids_of_cluster() {
  local d p
  for d in /proc/[0-9]*; do
    p=${d#/proc/}
    [[ $p == "$$" || $p == "$BASHPID" ]] && continue
    if tr '\0' '\n' 2>/dev/null <"$d/environ" | grep -qxF "EDGESIM_SLURM_TEST_CLUSTER=$SDIR"; then
      echo "$p"
    fi
  done
  ps -eo pid=,args= | T="$TMP" awk 'index($0, ENVIRON["T"]) { print $1 }'
}

test_stop() {
  local before after p
  before=$(pids_of_cluster | sort -u | tr '\n' ' ')
  [[ $(wc -w <<<"$before") -ge 3 ]] || slurm_fail "expected munged, slurmctld and slurmd running, found: $before"
  "$CLUSTER" stop "$SDIR" || fail "test-cluster.sh stop failed"
  after=""
  # A zombie (exited, not yet reaped by init) counts as gone.
  for p in $before $(pids_of_cluster); do
    [[ $(ps -o stat= -p "$p" 2>/dev/null) == [^Z]* ]] && after+=" $p"
  done
  if [[ -n $after ]]; then
    ps -o pid,ppid,args -p "$(echo "$after" | xargs | tr ' ' ,)" >&2 || true
    fail "processes left after stopping the cluster:$after"
  fi
  ! squeue -h >/dev/null 2>&1 || fail "squeue still answers after stop"
  check "cluster stopped: none of its processes is left (was: $before)"
}

test_array
test_requeue
test_stop
echo "  total $SECONDS s"
