#!/usr/bin/env bash
# Reproduces a paper's headline experiments at laptop scale (or --full scale on a cluster)
# and regenerates their figures and tables.
#
#   scripts/reproduce.sh adaptcl [--full] [--np N] [--overwrite] [--dry-run]
#
# adaptcl: AdaptCL against synchronous FedAvg (wait for all), FedAvg with a deadline and
# FedAsync, in a low- and a high-heterogeneity device set (experiments/adaptcl/devices), on
# Fashion-MNIST with the CNN (also with label skew in the high setting) and on a CIFAR-shaped
# workload (VGG-11). Runs go to
# results/adaptcl/runs/ (finished runs kept, interrupted ones resumed, unless --overwrite); the table
# and figures to results/adaptcl/ (scripts/adaptcl.py).
# The deadline is not tuned by hand: it is the median worker's update time in round 1 of the
# wait-for-all run of the same setting (every worker trains the full model in round 1).
# --full: all 60,000 Fashion-MNIST samples, VGG-11 at full width on 50,000 CIFAR-shaped
# images (real CIFAR-10 if EDGESIM_CIFAR10 names its directory), 100 / 200 rounds.
# --dry-run: print the runs' commands instead of running them.
set -euo pipefail
cd "$(dirname "$0")/.."

usage() { sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
[[ $# -ge 1 ]] || usage
what=$1; shift
[[ $what == adaptcl ]] || usage
full=0 np=3 overwrite=0 dry=0
while [[ $# -gt 0 ]]; do
  case $1 in
    --full) full=1 ;;
    --np) np=$2; shift ;;
    --overwrite) overwrite=1 ;;
    --dry-run) dry=1 ;;
    *) usage ;;
  esac
  shift
done

# EDGESIM_BIN: a prebuilt binary (e.g. a copy, so that rebuilding meanwhile is safe).
bin=${EDGESIM_BIN:-build/edgesim}
[[ -n ${EDGESIM_BIN:-} || $dry == 1 ]] || scripts/build.sh edgesim >/dev/null
out=results/adaptcl
runs=$out/runs
[[ $dry == 1 ]] || mkdir -p "$runs"
devices=$PWD/experiments/adaptcl/devices

# run NAME CONFIG ARGS... : one run. Without --overwrite a finished run is kept and an
# interrupted one continues from its checkpoint (edgesim run --resume).
run() {
  local name=$1 config=$2
  shift 2
  local mode=--resume
  [[ $overwrite == 1 ]] && mode=--overwrite
  if [[ $dry == 1 ]]; then
    echo scripts/mpirun.sh "$np" "$bin" run "$config" "$@" --out "$runs/$name.h5" $mode
    return
  fi
  echo "run  $name"
  scripts/mpirun.sh "$np" "$bin" run "$config" "$@" --out "$runs/$name.h5" $mode >"$runs/$name.log" 2>&1 ||
    { tail -20 "$runs/$name.log" >&2; exit 1; }
}

# The median update time of round 1 (everyone at full width) of a wait-for-all run.
median_round1() {
  /usr/bin/python3 - "$1" <<'PY'
import sys, h5py, numpy as np
with h5py.File(sys.argv[1], "r", swmr=True) as f:
    t = f["tasks"][:]
t = t[t["round"] == 1]
print(f"{np.median(t['end_s'] - t['start_s']):.6g}")
PY
}

for workload in fmnist-cnn cifar-vgg11; do
  config=experiments/adaptcl/$workload.toml
  scale=()
  rounds=$(sed -n 's/^rounds = \([0-9]*\).*/\1/p' "$config")
  if [[ $full == 1 ]]; then
    if [[ $workload == fmnist-cnn ]]; then
      rounds=100
      scale=(--set data.train_samples=0 --set data.test_samples=0 --set run.rounds=$rounds)
    else
      rounds=200
      scale=(--set model.width=1.0 --set data.train_samples=50000 --set data.test_samples=10000 --set run.rounds=$rounds)
      if [[ -n ${EDGESIM_CIFAR10:-} ]]; then
        scale+=(--set data.dataset=cifar10 --set "data.path=$EDGESIM_CIFAR10" --set data.train_samples=0
                --set data.test_samples=0)
      fi
    fi
  fi
  # high-skew: the high setting with Dirichlet(0.5) label skew (Fashion-MNIST only).
  settings=(low high)
  [[ $workload == fmnist-cnn ]] && settings+=(high-skew)
  for setting in "${settings[@]}"; do
    base=("${scale[@]}" --set "devices.profiles=$devices/${setting%-skew}16.toml")
    [[ $setting == *-skew ]] && base+=(--set data.partition=dirichlet --set data.alpha=0.5)
    tag=$workload-$setting
    run "$tag-fedavg" "$config" "${base[@]}" --set algorithm.name=fedavg
    deadline=MEDIAN_ROUND1_TIME
    [[ $dry == 1 ]] || deadline=$(median_round1 "$runs/$tag-fedavg.h5")
    run "$tag-fedavg-deadline" "$config" "${base[@]}" --set algorithm.name=fedavg \
      --set algorithm.straggler=deadline --set "algorithm.deadline_s=$deadline"
    # FedAsync: one aggregation per update, so 16 x the rounds for the same amount of local
    # training; evaluated every 16 updates.
    run "$tag-fedasync" "$config" "${base[@]}" --set algorithm.name=fedasync --set algorithm.concurrency=16 \
      --set "run.rounds=$((16 * rounds))" --set run.eval_every=16
    run "$tag-adaptcl" "$config" "${base[@]}" --set algorithm.name=adaptcl
  done
done
[[ $dry == 1 ]] || /usr/bin/python3 scripts/adaptcl.py "$runs" -o "$out"
