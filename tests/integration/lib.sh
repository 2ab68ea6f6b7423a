# Shared helpers of the integration tests; every test_*.sh sources this file first.
#
# ctest runs each test as `bash tests/integration/test_X.sh` with EDGESIM_BIN (the edgesim
# binary), EDGESIM_SOURCE_DIR (repo root) and EDGESIM_BUILD_DIR set. By hand:
#   EDGESIM_BIN=build/edgesim EDGESIM_SOURCE_DIR=$PWD EDGESIM_BUILD_DIR=build \
#     bash tests/integration/test_determinism.sh
# KEEP_TMP=1 keeps the test's temp dir (configs, logs, results files) for a look afterwards.
set -euo pipefail

: "${EDGESIM_BIN:?set EDGESIM_BIN to the edgesim binary}"
: "${EDGESIM_SOURCE_DIR:?set EDGESIM_SOURCE_DIR to the repository root}"
: "${EDGESIM_BUILD_DIR:=}"

TESTS_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PYTHON=/usr/bin/python3  # Debian's python: has h5py and numpy (the one on PATH may not)
TEST_NAME="$(basename "$0" .sh)"

# Open MPI refuses to run as root without these (CI containers run as root).
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1

TMP="$(mktemp -d "${TMPDIR:-/tmp}/edgesim-${TEST_NAME}.XXXXXX")"
cleanup() {
  local rc=$?
  # Tests that start background jobs register their cleanup here (see on_exit).
  if [[ -n "${ON_EXIT:-}" ]]; then eval "$ON_EXIT" || true; fi
  if [[ "${KEEP_TMP:-0}" == 1 ]]; then echo "kept $TMP" >&2; else rm -rf "$TMP"; fi
  if [[ $rc -eq 0 ]]; then echo "PASS: $TEST_NAME"; else echo "FAIL: $TEST_NAME (exit $rc)" >&2; fi
  exit $rc
}
trap cleanup EXIT
on_exit() { ON_EXIT="${ON_EXIT:-}${ON_EXIT:+; }$1"; }

fail() {
  echo "FAIL: $*" >&2
  exit 1
}

check() { echo "  ok: $*"; }

# The lead may be relinking the binary; give it a moment rather than failing at once.
wait_for_binary() {
  local i
  for ((i = 0; i < 120; i++)); do
    [[ -x "$EDGESIM_BIN" ]] && return 0
    sleep 1
  done
  fail "edgesim binary $EDGESIM_BIN not found"
}
wait_for_binary

# run_edgesim NP ARGS... : edgesim under mpirun with NP ranks; output and exit code as is.
run_edgesim() {
  local np=$1
  shift
  mpirun --oversubscribe --bind-to none -np "$np" "$EDGESIM_BIN" "$@"
}

# run_ok LOGNAME NP ARGS... : like run_edgesim, but output goes to $TMP/LOGNAME.log and
# a failure prints that log and fails the test.
run_ok() {
  local log="$TMP/$1.log" np=$2
  shift 2
  local rc=0
  run_edgesim "$np" "$@" >"$log" 2>&1 || rc=$?
  if [[ $rc -ne 0 ]]; then
    sed 's/^/    | /' "$log" >&2
    fail "edgesim $* (np=$np) exited with $rc"
  fi
}

# expect_error NAME NP "STDERR SUBSTRINGS..." -- EDGESIM ARGS...
#   edgesim must exit with 2, not start training, and print one error on stderr that
#   mentions every substring (one, not one per rank, under mpirun). NP = 0 runs the binary
#   without mpirun, as a user would for a quick check (MPI singleton; also faster).
expect_error() {
  local name=$1 np=$2
  shift 2
  local needles=()
  while [[ $1 != -- ]]; do needles+=("$1"); shift; done
  shift
  local rc=0
  if [[ $np -eq 0 ]]; then
    "$EDGESIM_BIN" "$@" >"$TMP/$name.out" 2>"$TMP/$name.err" || rc=$?
  else
    run_edgesim "$np" "$@" >"$TMP/$name.out" 2>"$TMP/$name.err" || rc=$?
  fi
  [[ $rc -eq 2 ]] || { cat "$TMP/$name.err" >&2; fail "$name: exit code $rc, expected 2"; }
  ! grep -q '^round ' "$TMP/$name.out" || fail "$name: training started"
  local n
  for n in "${needles[@]}"; do
    grep -qF -- "$n" "$TMP/$name.err" || { cat "$TMP/$name.err" >&2; fail "$name: stderr does not mention '$n'"; }
  done
  local errors
  errors=$(grep -c 'edgesim: error:' "$TMP/$name.err" || true)
  [[ $errors -eq 1 ]] || { cat "$TMP/$name.err" >&2; fail "$name: $errors error messages, expected 1"; }
  check "$name: exit 2, stderr: $(grep -m1 'edgesim: error:' "$TMP/$name.err")"
}

# h5check SUBCOMMAND ARGS... : the Python checks (tests/integration/h5check.py).
h5check() { "$PYTHON" "$TESTS_DIR/h5check.py" "$@"; }

# write_device_set FILE PROFILE_SPECS... DEVICES
#   Each PROFILE_SPEC is "name slowdown memory mbps latency_ms"; DEVICES is the TOML list
#   body, e.g. '"fast", "fast", "slow"'.
# write_pipeline_config FILE [SECTION.KEY = VALUE ...]: a pipeline run's config for the tests —
# the CNN on synthetic 28x28 images, 4 devices, Asteroid at batch 16 — with each extra line put
# under its section (run, data, devices, algorithm, pipeline), e.g.
#   write_pipeline_config "$TMP/p.toml" "run.rounds = 3" 'devices.profiles = "devices.toml"'
write_pipeline_config() {
  local file=$1 kv
  shift
  local -A extra=()
  for kv in "$@"; do extra[${kv%%.*}]+="${kv#*.}"$'\n'; done
  {
    printf '[run]\n%s' "${extra[run]:-}"
    printf '[data]\ndataset = "synthetic"\nsynthetic_channels = 1\nsynthetic_size = 28\n%s' "${extra[data]:-}"
    printf '[devices]\ncount = 4\n%s' "${extra[devices]:-}"
    printf '[model]\nname = "cnn"\n[algorithm]\nname = "asteroid"\nbatch_size = 16\n%s' "${extra[algorithm]:-}"
    printf '[pipeline]\n%s' "${extra[pipeline]:-}"
  } >"$file"
}

write_device_set() {
  local file=$1
  shift
  local devices=${!#}
  {
    printf '[reference]\nname = "test reference"\nflops_per_second = 2.0e11\n'
    local spec name slowdown memory mbps latency
    for spec in "${@:1:$#-1}"; do
      read -r name slowdown memory mbps latency <<<"$spec"
      printf '\n[profiles.%s]\nslowdown = %s\nmemory = "%s"\nuplink_mbps = %s\ndownlink_mbps = %s\nlatency_ms = %s\n' \
        "$name" "$slowdown" "$memory" "$mbps" "$mbps" "$latency"
    done
    printf '\n[set]\ndevices = [%s]\n' "$devices"
  } >"$file"
}

# write_config FILE DEVICE_SET_NAME COUNT ROUNDS
#   A small, fast experiment: 2000 training and 500 test samples, analytic clock, seed 1,
#   Dirichlet partition, every device every round, wait for all. DEVICE_SET_NAME is
#   relative to the config's directory, as in experiments/. Tests change the rest with
#   --set.
write_config() {
  local file=$1 devset=$2 count=$3 rounds=$4
  cat >"$file" <<TOML
[run]
name = "$(basename "$file" .toml)"
seed = 1
rounds = $rounds

[data]
partition = "dirichlet"
alpha = 0.5
train_samples = 2000
test_samples = 500

[devices]
profiles = "$devset"
count = $count

[algorithm]
fraction = 1.0
local_epochs = 1
batch_size = 32

[clock]
mode = "analytic"
TOML
}

# pids_of_tree PID: PID and all its descendants.
pids_of_tree() {
  local p
  echo "$1"
  for p in $(pgrep -P "$1" || true); do pids_of_tree "$p"; done
}

# kill_tree PID: SIGKILL to the process group of PID and of every descendant at once.
# Open MPI puts each rank in a process group of its own, so killing mpirun's group alone
# would leave the ranks running (and rank 0 still writing).
kill_tree() {
  local pgids=() p g
  for p in $(pids_of_tree "$1"); do
    g=$(ps -o pgid= -p "$p" 2>/dev/null | tr -d ' ') || continue
    [[ -n $g && " ${pgids[*]} " != *" -$g "* ]] && pgids+=("-$g")
  done
  [[ ${#pgids[@]} -gt 0 ]] && kill -9 -- "${pgids[@]}" 2>/dev/null || true
}

# h5status FILE: "complete", "running", or "missing".
h5status() {
  "$PYTHON" -c "
import sys, h5py
try:
    print(h5py.File(sys.argv[1], 'r', swmr=True)['status'][()].decode())
except Exception:
    print('missing')" "$1"
}

# interrupt SIGNAL NAME [ARGS...]: start a run of $TMP/exp.toml (the test's `common` args, then
# ARGS) on 3 ranks into $TMP/NAME.h5, wait for 6 rounds, send SIGNAL (TERM, or KILL of the
# whole process tree) to the job. Used by the resume tests.
interrupt() {
  local sig=$1 name=$2
  shift 2
  setsid mpirun --oversubscribe --bind-to none -np 3 "$EDGESIM_BIN" run "$TMP/exp.toml" "${common[@]}" "$@" \
    --out "$TMP/$name.h5" >"$TMP/$name.log" 2>&1 &
  local job=$!
  h5check wait-rounds "$TMP/$name.h5" 6 --timeout 120 || { cat "$TMP/$name.log" >&2; fail "no rounds written"; }
  if [[ $sig == TERM ]]; then
    kill -TERM "$job"  # mpirun forwards it to every rank
  else
    kill_tree "$job"
  fi
  wait "$job" 2>/dev/null || true
  if grep -q '^done:' "$TMP/$name.log"; then fail "$name: the run finished before it was interrupted"; fi
}
