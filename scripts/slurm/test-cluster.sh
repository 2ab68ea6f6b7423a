#!/usr/bin/env bash
# A throwaway single-node Slurm cluster for tests and by-hand experiments, run as root.
# Everything (munge key and socket, slurm.conf, state, spool, logs, pid files) lives under
# DIR; nothing is written to /etc. Needs Debian's slurmctld, slurmd, slurm-client and munge
# (scripts/install-deps.sh installs them).
#
# Usage: scripts/slurm/test-cluster.sh start|stop|status DIR
#   start   stops a stale cluster in DIR, writes the config, starts munged, slurmctld and
#           slurmd, and waits (up to EDGESIM_SLURM_START_TIMEOUT s, default 60) until the
#           node is idle; on failure prints the daemons' logs, stops them, exits 1.
#   stop    cancels every job, stops slurmd, slurmctld and munged (from their pid files)
#           and kills what is left (job steps, job processes that escaped Slurm); exits 1
#           if anything survives.
#   status  prints the daemons' pids and `sinfo`; exits 1 unless all three are running.
#
# Then point the Slurm clients at it:  source DIR/env.sh   (exports SLURM_CONF)
#   sbatch / squeue / scontrol / sinfo / scancel work; sacct does not (no slurmdbd).
# Ports: EDGESIM_SLURM_PORT (slurmctld, default 6917) and the next one (slurmd).
set -euo pipefail

usage() {
  echo "usage: $0 start|stop|status DIR" >&2
  exit 2
}
[[ $# -eq 2 ]] || usage
cmd=$1
[[ $cmd == start || $cmd == stop || $cmd == status ]] || usage
mkdir -p "$2"
DIR=$(cd "$2" && pwd)

CONF=$DIR/etc/slurm.conf
MUNGE_SOCKET=$DIR/munge/munge.socket
MUNGED_PID=$DIR/munge/munged.pid
CTLD_PID=$DIR/run/slurmctld.pid
SLURMD_PID=$DIR/run/slurmd.pid
# Every daemon is started with this in its environment (slurmstepd inherits it from
# slurmd), so `stop` can find what they leave behind and nothing else.
MARKER="EDGESIM_SLURM_TEST_CLUSTER=$DIR"
# Unique per DIR. Slurm puts SLURM_CLUSTER_NAME in every job's environment: `stop` also finds
# job processes that escaped Slurm's cleanup (see marked_pids).
CLUSTER_NAME="edgesim-$(printf %s "$DIR" | md5sum | cut -c1-8)"
CTLD_PORT=${EDGESIM_SLURM_PORT:-6917}
SLURMD_PORT=$((CTLD_PORT + 1))
START_TIMEOUT=${EDGESIM_SLURM_START_TIMEOUT:-60}
NODE=$(hostname -s)
export SLURM_CONF=$CONF

err() { echo "test-cluster: $*" >&2; }
die() {
  err "ERROR: $*"
  exit 1
}

# running PID: the process exists and is not a zombie (a killed daemon may stay a zombie
# for a while before init reaps it).
running() {
  local st
  st=$(ps -o stat= -p "$1" 2>/dev/null) || return 1
  [[ -n $st && $st != Z* ]]
}

# pid_alive FILE: prints the pid in FILE and succeeds if that process is running.
pid_alive() {
  local pid
  [[ -s $1 ]] || return 1
  pid=$(tr -dc '0-9' <"$1")
  [[ -n $pid ]] && running "$pid" || return 1
  echo "$pid"
}

# marked_pids: processes whose environment carries this cluster's marker (the daemons and
# slurmstepd) or its SLURM_CLUSTER_NAME (job processes), and all their descendants. Without
# cgroups (proctrack/linuxproc) Slurm kills a job by walking the process tree from
# slurmstepd, so a job process whose parent died first (e.g. mpirun outliving the batch
# shell) is reparented to init and survives the job: only its environment still tells.
marked_pids() {
  local d p marked=() tree
  for d in /proc/[0-9]*; do
    p=${d#/proc/}
    [[ $p == "$$" || $p == "$BASHPID" ]] && continue
    if tr '\0' '\n' 2>/dev/null <"$d/environ" |
      grep -qxF -e "$MARKER" -e "SLURM_CLUSTER_NAME=$CLUSTER_NAME"; then
      marked+=("$p")
    fi
  done
  [[ ${#marked[@]} -gt 0 ]] || return 0
  tree=$(ps -eo pid=,ppid=,stat= | awk '$3 !~ /^Z/')
  awk -v roots="${marked[*]}" '
    { parent[$1] = $2 }
    END {
      n = split(roots, r, " "); for (i = 1; i <= n; i++) keep[r[i]] = 1
      do { added = 0
        for (p in parent) if (!(p in keep) && (parent[p] in keep)) { keep[p] = 1; added = 1 }
      } while (added)
      for (p in keep) print p
    }' <<<"$tree"
}

# stop_pid NAME FILE: SIGTERM, wait up to 10 s, then SIGKILL.
stop_pid() {
  local name=$1 file=$2 pid i
  pid=$(pid_alive "$file") || {
    rm -f "$file"
    return 0
  }
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < 100; i++)); do
    running "$pid" || break
    sleep 0.1
  done
  if running "$pid"; then
    err "$name (pid $pid) ignored SIGTERM for 10 s; sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    sleep 0.2
  fi
  rm -f "$file"
}

# port_in_use PORT: something accepts connections on 127.0.0.1:PORT.
port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

show_logs() {
  local f
  for f in "$DIR/munge/munged.log" "$DIR/log/slurmctld.log" "$DIR/log/slurmd.log"; do
    [[ -f $f ]] || continue
    echo "----- $f (last 40 lines) -----" >&2
    tail -n 40 "$f" >&2
  done
}

do_stop() {
  local -a pids
  local i
  # Cancel every job first, while slurmctld and slurmd can still end the steps cleanly.
  if pid_alive "$CTLD_PID" >/dev/null; then
    if [[ -n $(squeue -h -o %i 2>/dev/null) ]]; then
      # shellcheck disable=SC2046 # one word per job id
      scancel --quiet $(squeue -h -o %A) 2>/dev/null || true
      for ((i = 0; i < 100; i++)); do
        [[ -z $(squeue -h -o %i 2>/dev/null) ]] && break
        sleep 0.1
      done
    fi
  fi
  stop_pid slurmd "$SLURMD_PID"
  stop_pid slurmctld "$CTLD_PID"
  stop_pid munged "$MUNGED_PID"
  # Leftovers (slurmstepd of a job that did not end, a daemon whose pid file was lost).
  mapfile -t pids < <(marked_pids)
  if [[ ${#pids[@]} -gt 0 ]]; then
    err "killing leftover processes: ${pids[*]}"
    kill -KILL "${pids[@]}" 2>/dev/null || true
    for ((i = 0; i < 50; i++)); do
      mapfile -t pids < <(marked_pids)
      [[ ${#pids[@]} -eq 0 ]] && break
      sleep 0.1
    done
    if [[ ${#pids[@]} -gt 0 ]]; then
      ps -o pid,ppid,user,args -p "$(IFS=,; echo "${pids[*]}")" >&2 || true
      die "processes of the cluster in $DIR survived SIGKILL"
    fi
  fi
  rm -f "$MUNGE_SOCKET" "$MUNGE_SOCKET.lock"
}

write_config() {
  local cpus mem_avail_kb real_mb
  cpus=$(nproc)
  mem_avail_kb=$(awk '/^MemAvailable:/ {print $2}' /proc/meminfo)
  real_mb=$((mem_avail_kb * 9 / 10 / 1024))
  ((real_mb >= 256)) || die "only $((mem_avail_kb / 1024)) MiB of memory available"
  cat >"$CONF" <<EOF
# Written by scripts/slurm/test-cluster.sh: a throwaway single-node cluster in $DIR.
ClusterName=$CLUSTER_NAME
SlurmctldHost=$NODE(127.0.0.1)
SlurmUser=root
SlurmdUser=root
SlurmctldPort=$CTLD_PORT
SlurmdPort=$SLURMD_PORT
AuthType=auth/munge
CredType=cred/munge
# socket: our munged, not the system one. cred_expire: how long a requeued job waits
# before it may start again (default 120 s).
AuthInfo=socket=$MUNGE_SOCKET,cred_expire=10
StateSaveLocation=$DIR/state
SlurmdSpoolDir=$DIR/spool
SlurmctldPidFile=$CTLD_PID
SlurmdPidFile=$SLURMD_PID
SlurmctldLogFile=$DIR/log/slurmctld.log
SlurmdLogFile=$DIR/log/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
PlugStackConfig=$DIR/etc/plugstack.conf
MailProg=/bin/true
# No cgroups (containers may not allow them): plain process tracking, no task binding.
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SwitchType=switch/none
MpiDefault=none
SchedulerType=sched/backfill
# Look at pending jobs every 2 s (defaults: 60 s and 30 s): a requeued job starts again
# soon after its BeginTime instead of up to a minute later.
SchedulerParameters=sched_interval=2,bf_interval=2
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
JobRequeue=1
# Reject at submission a job that can never run (e.g. more tasks than CPUs) instead of
# leaving it pending forever with Reason=PartitionConfig.
EnforcePartLimits=ALL
KillWait=5
MinJobAge=600
SlurmdTimeout=60
InactiveLimit=0
NodeName=$NODE NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$real_mb State=UNKNOWN
PartitionName=debug Nodes=$NODE Default=YES MaxTime=INFINITE State=UP
EOF
  : >"$DIR/etc/plugstack.conf"
  cat >"$DIR/env.sh" <<EOF
# source this to use the test cluster in $DIR
export SLURM_CONF=$CONF
EOF
}

do_start() {
  local b i state
  [[ $(id -u) -eq 0 ]] || die "must run as root (SlurmUser=root; slurmd needs root)"
  for b in munged mungekey slurmctld slurmd sinfo sbatch squeue scontrol scancel; do
    command -v "$b" >/dev/null || die "$b not found: run scripts/install-deps.sh (Debian packages munge slurmctld slurmd slurm-client)"
  done

  # A stale cluster in DIR (or leftovers of one): stop it, then start from scratch.
  if pid_alive "$SLURMD_PID" >/dev/null || pid_alive "$CTLD_PID" >/dev/null ||
    pid_alive "$MUNGED_PID" >/dev/null || [[ -n $(marked_pids) ]]; then
    err "a cluster is already running in $DIR: stopping it first"
    do_stop
  fi
  for b in "$CTLD_PORT" "$SLURMD_PORT"; do
    if port_in_use "$b"; then
      die "port $b is in use (another Slurm cluster?); stop it or set EDGESIM_SLURM_PORT"
    fi
  done

  for b in state spool log run munge etc; do
    rm -rf "${DIR:?}/$b"
    mkdir -p "$DIR/$b"
  done
  chmod 755 "$DIR/munge" # munged wants its socket directory searchable by all
  write_config

  mungekey --create --keyfile="$DIR/munge/munge.key" --bits=1024 ||
    die "mungekey could not create $DIR/munge/munge.key"
  chmod 400 "$DIR/munge/munge.key"
  # --force: start even where munged would distrust the directories above DIR.
  if ! env "$MARKER" munged --force --key-file="$DIR/munge/munge.key" --socket="$MUNGE_SOCKET" \
    --pid-file="$MUNGED_PID" --log-file="$DIR/munge/munged.log" \
    --seed-file="$DIR/munge/munged.seed" 2>"$DIR/munge/munged.stderr"; then
    cat "$DIR/munge/munged.stderr" >&2
    show_logs
    do_stop
    die "munged did not start"
  fi
  for ((i = 0; i < 50; i++)); do
    [[ -S $MUNGE_SOCKET ]] && break
    sleep 0.1
  done
  [[ -S $MUNGE_SOCKET ]] || {
    show_logs
    do_stop
    die "munged did not create its socket $MUNGE_SOCKET"
  }

  if ! env "$MARKER" slurmctld -f "$CONF" -c 2>"$DIR/log/slurmctld.stderr"; then
    cat "$DIR/log/slurmctld.stderr" >&2
    show_logs
    do_stop
    die "slurmctld did not start"
  fi
  if ! env "$MARKER" slurmd -f "$CONF" 2>"$DIR/log/slurmd.stderr"; then
    cat "$DIR/log/slurmd.stderr" >&2
    show_logs
    do_stop
    die "slurmd did not start"
  fi

  state=""
  for ((i = 0; i < START_TIMEOUT * 2; i++)); do
    state=$(sinfo -h -N -n "$NODE" -o %T 2>/dev/null || true)
    [[ $state == idle ]] && break
    if ((i > 4)) && ! { pid_alive "$CTLD_PID" >/dev/null && pid_alive "$SLURMD_PID" >/dev/null; }; then
      break # a daemon died: no point waiting
    fi
    sleep 0.5
  done
  if [[ $state != idle ]]; then
    pid_alive "$CTLD_PID" >/dev/null || err "slurmctld is not running (died after starting?)"
    pid_alive "$SLURMD_PID" >/dev/null || err "slurmd is not running (died after starting?)"
    err "node $NODE is '${state:-unknown}', not idle (sinfo -N below)"
    sinfo -N -l >&2 2>&1 || true
    scontrol show node "$NODE" >&2 2>&1 || true
    cat "$DIR"/log/*.stderr >&2 2>/dev/null || true
    show_logs
    do_stop
    die "the Slurm test cluster in $DIR did not come up"
  fi
  echo "test-cluster: node $NODE idle ($(nproc) CPUs, partition debug), slurmctld on port $CTLD_PORT"
  echo "test-cluster: use it with: source $DIR/env.sh"
}

do_status() {
  local ok=0 name file pid
  for name in munged slurmctld slurmd; do
    case $name in
    munged) file=$MUNGED_PID ;;
    slurmctld) file=$CTLD_PID ;;
    slurmd) file=$SLURMD_PID ;;
    esac
    if pid=$(pid_alive "$file"); then
      echo "$name: running (pid $pid)"
    else
      echo "$name: not running"
      ok=1
    fi
  done
  if [[ $ok -eq 0 ]]; then sinfo -N -l || ok=1; fi
  return $ok
}

case $cmd in
start) do_start ;;
stop) do_stop ;;
status) do_status ;;
esac
