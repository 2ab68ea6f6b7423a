#!/usr/bin/env bash
# Slurm for real, no mocks: starts a single-node Slurm cluster (scripts/slurm/test-cluster.sh:
# munged, slurmctld, slurmd, all under the test's temp dir), then
#  (a) a job array of 2 tasks through sbatch, each an edgesim run under mpirun inside its
#      allocation (2 tasks = 2 MPI ranks), seeds from SLURM_ARRAY_TASK_ID: both tasks
#      COMPLETED with exit 0, both results files complete, and different;
#  (b) requeue: a --requeue job with a longer run, requeued with `scontrol requeue` while it
#      runs: its first attempt gets SIGTERM, the job runs again (Restarts=1,
#      SLURM_RESTART_COUNT=1) and completes; the test prints what the first attempt left.
# and stops the cluster, checking that no process of it is left. Needs root and Debian's
# slurmctld, slurmd, slurm-client and munge (scripts/install-deps.sh): without them the test
# FAILS, it never skips.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

CLUSTER="$EDGESIM_SOURCE_DIR/scripts/slurm/test-cluster.sh"
CONFIG="$EDGESIM_SOURCE_DIR/experiments/quickstart.toml"
SDIR="$TMP/cluster"
SMALL=(--set data.train_samples=1000 --set data.test_samples=200 --set devices.count=4)

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

# --- (a) a job array of edgesim runs under mpirun --------------------------------------

test_array() {
  echo "(a) job array: 2 tasks, each edgesim on 2 MPI ranks inside its allocation"
  local script=$TMP/array.sbatch id i
  cat >"$script" <<EOF
#!/bin/bash
#SBATCH --job-name=edgesim-array
#SBATCH --array=0-1
#SBATCH --nodes=1
#SBATCH --ntasks=2
#SBATCH --output=$TMP/array-%a.log
#SBATCH --open-mode=append
set -euo pipefail
echo "start: job \$SLURM_JOB_ID = \${SLURM_ARRAY_JOB_ID}_\$SLURM_ARRAY_TASK_ID on \$(hostname -s), tasks per node \$SLURM_TASKS_PER_NODE"
mpirun --oversubscribe --bind-to none --allow-run-as-root -np 2 \\
  "$EDGESIM_BIN" run "$CONFIG" ${SMALL[*]} --set run.rounds=2 \\
  --set run.seed=\$SLURM_ARRAY_TASK_ID --out "$TMP/run\$SLURM_ARRAY_TASK_ID.h5"
echo "end: mpirun exited 0"
EOF
  t0=$SECONDS
  id=$(submit "$script")
  wait_gone "$id" 120
  local states codes
  states=$(job_field "$id" JobState | sort | tr '\n' ' ')
  codes=$(job_field "$id" ExitCode | sort -u | tr '\n' ' ')
  [[ $states == "COMPLETED COMPLETED " ]] || slurm_fail "array job $id: states '$states', expected 2x COMPLETED"
  [[ $codes == "0:0 " ]] || slurm_fail "array job $id: exit codes '$codes', expected 0:0"
  check "array job $id: both tasks COMPLETED with exit 0:0 in $((SECONDS - t0)) s"
  for i in 0 1; do
    grep -q "^start: .*_$i on $node, tasks per node 2$" "$TMP/array-$i.log" ||
      slurm_fail "array-$i.log: no start line with task $i and 2 tasks per node"
    grep -q '^end: mpirun exited 0$' "$TMP/array-$i.log" || slurm_fail "array-$i.log: mpirun did not finish"
    h5check complete "$TMP/run$i.h5" --rounds 2 || slurm_fail "run$i.h5 is not a complete 2-round run"
  done
  h5check differ "$TMP/run0.h5" "$TMP/run1.h5" || fail "the two array tasks (seeds 0 and 1) gave identical runs"
  check "each task ran mpirun -np 2 in a 2-task allocation on $node, seed = SLURM_ARRAY_TASK_ID"
}

# --- (b) requeue ------------------------------------------------------------------------
# For now the job script simply reruns from scratch with --overwrite. When the coordinator
# checkpoints on SIGTERM, this becomes `edgesim run --resume` and the checks below become
# "the second attempt continued from the checkpoint".

REQUEUE_ROUNDS=40

write_requeue_script() {
  cat >"$1" <<EOF
#!/bin/bash
#SBATCH --job-name=edgesim-requeue
#SBATCH --nodes=1
#SBATCH --ntasks=2
#SBATCH --requeue
#SBATCH --output=$TMP/requeue.log
#SBATCH --open-mode=append
out="$TMP/requeue.h5"
echo "start: job \$SLURM_JOB_ID restart_count=\${SLURM_RESTART_COUNT:-0}"
if [[ -e \$out ]]; then
  echo "previous attempt left: \$($PYTHON -c '
import sys, h5py
with h5py.File(sys.argv[1], "r", swmr=True) as f:
    print("status=%s rounds=%d" % (f["status"][()].decode(), f["rounds"].shape[0]))
' "\$out" 2>&1 | tail -n 1)"
fi
got_term=0
trap 'got_term=1; echo "batch shell: SIGTERM"' TERM
mpirun --oversubscribe --bind-to none --allow-run-as-root -np 2 \\
  "$EDGESIM_BIN" run "$CONFIG" ${SMALL[*]} --set run.rounds=$REQUEUE_ROUNDS \\
  --out "\$out" --overwrite &
pid=\$!
rc=0
wait \$pid || rc=\$?
if ((got_term)); then # the trap interrupted wait: wait for mpirun itself
  rc2=0
  wait \$pid 2>/dev/null || rc2=\$?
  ((rc2 == 127)) || rc=\$rc2
fi
echo "end: mpirun exited \$rc"
exit \$rc
EOF
}

test_requeue() {
  echo "(b) requeue: a --requeue job of $REQUEUE_ROUNDS rounds, requeued while it runs"
  local script=$TMP/requeue.sbatch id t0
  write_requeue_script "$script"
  id=$(submit "$script")
  wait_state "$id" RUNNING 60
  h5check wait-rounds "$TMP/requeue.h5" 2 --timeout 60 || slurm_fail "the requeue job wrote no rounds"
  [[ $(job_field "$id" JobState) == RUNNING ]] ||
    slurm_fail "job $id finished before it could be requeued: make the run longer"
  scontrol requeue "$id" || slurm_fail "scontrol requeue $id failed"
  t0=$SECONDS
  check "job $id RUNNING with rounds written; scontrol requeue $id"

  wait_state "$id" RUNNING 90 1
  check "job $id requeued and RUNNING again after $((SECONDS - t0)) s (Restarts=1)"
  wait_gone "$id" 120
  [[ $(job_field "$id" JobState) == COMPLETED && $(job_field "$id" ExitCode) == 0:0 ]] ||
    slurm_fail "requeued job $id: $(job_field "$id" JobState) exit $(job_field "$id" ExitCode), expected COMPLETED 0:0"
  h5check complete "$TMP/requeue.h5" --rounds "$REQUEUE_ROUNDS" ||
    slurm_fail "the requeued job's results file is not complete"

  local log=$TMP/requeue.log
  [[ $(grep -c '^start: ' "$log") == 2 ]] || slurm_fail "requeue.log: expected 2 starts"
  grep -q "^start: job $id restart_count=0$" "$log" || slurm_fail "requeue.log: no first start"
  grep -q "^start: job $id restart_count=1$" "$log" || slurm_fail "requeue.log: no start with SLURM_RESTART_COUNT=1"
  grep -q '^batch shell: SIGTERM$' "$log" || slurm_fail "requeue.log: the first attempt got no SIGTERM"
  check "two starts in the job log (SLURM_RESTART_COUNT unset, then 1); the first got SIGTERM"
  # What edgesim does today on a requeue (recorded, not asserted):
  echo "  first attempt: $(grep -m1 '^end: ' "$log" | sed 's/^end: //')"
  echo "  second attempt found: $(grep -m1 '^previous attempt left: ' "$log" | sed 's/^previous attempt left: //')"
  check "the second attempt reran from scratch (--overwrite) to a complete $REQUEUE_ROUNDS-round file"
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
  for p in $before $(pids_of_cluster); do kill -0 "$p" 2>/dev/null && after+=" $p"; done
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
