#!/usr/bin/env bash
# Reproduces a paper's headline experiments at laptop scale (or --full scale on a cluster)
# and regenerates their figures and tables.
#
#   scripts/reproduce.sh adaptcl [--full] [--seeds N] [--clock analytic|calibrated|both]
#                                [--np N] [--overwrite] [--dry-run]
#
# adaptcl: AdaptCL against synchronous FedAvg (wait for all), FedAvg with a deadline, FedAsync
# and SSP (staleness bound 3), in a low- and a high-heterogeneity device set
# (experiments/adaptcl/devices), on Fashion-MNIST with the CNN (also with label skew in the
# high setting) and on Fashion-MNIST-32 with VGG-11 (CIFAR's shapes, real data). FedAvg and
# AdaptCL run with --seeds seeds (default 3: run.seed = 1..N), the other baselines with seed 1
# under the analytic clock. --clock (default both): the analytic clock and/or the calibrated
# one (Jetson compute profiles named by the device sets). Runs go to
# results/adaptcl/runs/<clock>/ (finished runs kept, interrupted ones resumed, unless
# --overwrite); the table and figures to results/adaptcl/ (scripts/adaptcl.py).
# The deadline is not tuned by hand: it is the median worker's update time in round 1 of the
# wait-for-all run of the same setting, seed and clock (every worker trains the full model).
# Laptop scale (2 shared cores): CNN 4,000 training samples, 10 rounds; VGG-11 2,400, 8 rounds.
# --full: all 60,000 Fashion-MNIST samples, VGG-11 at full width on all of Fashion-MNIST-32
# (real CIFAR-10 if EDGESIM_CIFAR10 names its directory), 100 / 200 rounds.
#
#   scripts/reproduce.sh baselines [--full] [--seeds N] [--clock analytic|calibrated|both] ...
#
# baselines: docs/BASELINES.md's study, experiments/baselines/fmnist32/*.toml (HeteroFL,
# FedRolex, FjORD, DepthFL, FedAvg, FedAsync, FedBuff on VGG-11 width 0.25, Fashion-MNIST-32,
# tight-memory-vgg16.toml), every method with --seeds seeds under the calibrated clock and
# seed 1 under the analytic one (--clock picks one). Laptop scale: 2,400 training samples,
# 8 rounds (FedAsync 16 x, FedBuff 2 x as many aggregations); --full: the configs' own scale.
# Runs go to results/baselines/fmnist32/runs/<clock>/, table and figure to
# results/baselines/fmnist32/ (scripts/baselines.py).
#
#   scripts/reproduce.sh msfusion [--full] [--seeds N] [--overwrite] [--dry-run]
#
# msfusion: results/msfusion/README.md's study (experiments/msfusion/, analytic clock): on
# ResNet-18 width 0.25, Fashion-MNIST-32, 8 devices that cannot train the full model
# (48 MiB each), MSfusion, FedRolex and HeteroFL at splits 1/8, 1/4, 1/2 (FedAvg once, to
# show it ends `oom`), and MSfusion's ablations at 1/4 (no contrastive term, fixed overlap, no
# inter-round shift; non-iid data with and without the contrastive term); scalability on the
# CNN (Fashion-MNIST, N = 4, 8, 16, 32 participants at split 1/N; lr 0.05 and 0.02); the Transformer LM on fortunes, MSfusion and FedRolex at split 1/4. --seeds
# seeds each (default 3). Laptop scale: ResNet 2,400 training samples, 12 rounds; CNN 4,000,
# 12 rounds; LM 1,920 windows, 12 rounds. --full: the configs' own scale. Runs go to
# results/msfusion/runs/, tables and figures to results/msfusion/ (scripts/msfusion.py).
# --dry-run: print the runs' commands instead of running them.
set -euo pipefail
cd "$(dirname "$0")/.."

usage() { sed -n '2,44p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
[[ $# -ge 1 ]] || usage
what=$1; shift
[[ $what == adaptcl || $what == baselines || $what == msfusion ]] || usage
full=0 np=3 overwrite=0 dry=0 seeds=3 clocks=(analytic calibrated)
while [[ $# -gt 0 ]]; do
  case $1 in
    --full) full=1 ;;
    --seeds) seeds=$2; shift; [[ $seeds =~ ^[1-9][0-9]*$ ]] || usage ;;
    --clock)
      case $2 in analytic|calibrated) clocks=("$2") ;; both) clocks=(analytic calibrated) ;; *) usage ;; esac
      shift ;;
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
out=results/$what
[[ $what == baselines ]] && out=results/baselines/fmnist32
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
  mkdir -p "$(dirname "$runs/$name.h5")"
  # Another user of the machine may ask for quiet while it measures (/tmp/quiet.lock).
  while [[ -e /tmp/quiet.lock ]]; do sleep 20; done
  echo "run  $name"
  nice -n 5 scripts/mpirun.sh "$np" "$bin" run "$config" "$@" --out "$runs/$name.h5" $mode >"$runs/$name.log" 2>&1 ||
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

if [[ $what == msfusion ]]; then
  m=experiments/msfusion
  for ((seed = 1; seed <= seeds; seed++)); do
    resnet=(--set "run.seed=$seed") cnn=(--set "run.seed=$seed") lm=(--set "run.seed=$seed")
    if [[ $full == 0 ]]; then
      resnet+=(--set data.train_samples=2400 --set data.test_samples=500 --set run.rounds=12)
      cnn+=(--set data.train_samples=4000 --set data.test_samples=1000 --set run.rounds=12)
      lm+=(--set run.rounds=12)
    fi
    # Computation to a target: the same splits for all three; FedRolex and HeteroFL have a server.
    for mu in 0.125 0.25 0.5; do
      for a in msfusion fedrolex heterofl; do
        run "resnet/$a-mu$mu-s$seed" $m/fmnist32-resnet18.toml "${resnet[@]}" \
          --set "algorithm.name=$a" --set "algorithm.rates=$mu"
      done
    done
    # Nobody holds the model: the full model on the same devices (one round shows the oom).
    [[ $seed == 1 ]] && run "resnet/fedavg-s$seed" $m/fmnist32-resnet18.toml "${resnet[@]}" \
      --set algorithm.name=fedavg --set algorithm.rates= --set run.rounds=1
    # Ablations at split 1/4.
    run "ablation/no-contrastive-s$seed" $m/fmnist32-resnet18.toml "${resnet[@]}" \
      --set algorithm.msfusion_contrastive_weight=0
    run "ablation/fixed-overlap-s$seed" $m/fmnist32-resnet18.toml "${resnet[@]}" \
      --set algorithm.msfusion_overlap=fixed
    run "ablation/no-shift-s$seed" $m/fmnist32-resnet18.toml "${resnet[@]}" --set algorithm.msfusion_shift=0
    # Label skew, where MOON's term is meant to help: with and without it.
    noniid=(--set data.partition=dirichlet --set data.alpha=0.5)
    run "ablation/noniid-s$seed" $m/fmnist32-resnet18.toml "${resnet[@]}" "${noniid[@]}"
    run "ablation/noniid-no-contrastive-s$seed" $m/fmnist32-resnet18.toml "${resnet[@]}" "${noniid[@]}" \
      --set algorithm.msfusion_contrastive_weight=0
    # Scalability: N participants at split 1/N (one round covers the model), the same data.
    for n in 4 8 16 32; do
      mu=$(/usr/bin/python3 -c "print(1 / $n)")
      run "scale/msfusion-n$n-s$seed" $m/fmnist-cnn.toml "${cnn[@]}" --set "devices.count=$n" \
        --set "algorithm.rates=$mu"
      # Sensitivity to the learning rate (the config's 0.05 diverged once at N = 4).
      run "scale/msfusion-n$n-lr0.02-s$seed" $m/fmnist-cnn.toml "${cnn[@]}" --set "devices.count=$n" \
        --set "algorithm.rates=$mu" --set algorithm.lr=0.02
    done
    # NLP: the Transformer LM, MSfusion and FedRolex at split 1/4.
    for a in msfusion fedrolex; do
      run "lm/$a-s$seed" $m/fortunes-transformer.toml "${lm[@]}" --set "algorithm.name=$a"
    done
  done
  [[ $dry == 1 ]] || /usr/bin/python3 scripts/msfusion.py "$runs" -o "$out"
  exit 0
fi

if [[ $what == baselines ]]; then
  # Every method on the same data, model, devices and rounds; the asynchronous ones get as
  # much local training (FedAsync: one device per update, FedBuff: 8 per aggregation).
  for ((seed = 1; seed <= seeds; seed++)); do
    for clock in $(printf '%s\n' "${clocks[@]}" | sort -r); do  # calibrated first
      # The analytic clock: seed 1 only, for the time to target beside the calibrated one.
      [[ $clock == analytic && $seed -gt 1 && ${#clocks[@]} -gt 1 ]] && continue
      for a in heterofl fedrolex fjord depthfl fedavg fedasync fedbuff; do
        scale=()
        if [[ $full == 0 ]]; then
          rounds=8
          case $a in fedasync) rounds=128 ;; fedbuff) rounds=16 ;; esac
          scale=(--set data.train_samples=2400 --set data.test_samples=1000 --set run.rounds=$rounds)
        fi
        run "$clock/$a-s$seed" experiments/baselines/fmnist32/$a.toml "${scale[@]}" \
          --set "clock.mode=$clock" --set "run.seed=$seed"
      done
    done
  done
  [[ $dry == 1 ]] || /usr/bin/python3 scripts/baselines.py "$runs" -o "$out"
  exit 0
fi

# The seeds are the outer loop, so an interrupted study has every setting at fewer seeds.
for ((seed = 1; seed <= seeds; seed++)); do
for clock in "${clocks[@]}"; do
for workload in fmnist-cnn fmnist32-vgg11; do
  config=experiments/adaptcl/$workload.toml
  if [[ $full == 1 ]]; then
    if [[ $workload == fmnist-cnn ]]; then
      rounds=100
      scale=(--set data.train_samples=0 --set data.test_samples=0 --set run.rounds=$rounds)
    else
      rounds=200
      scale=(--set model.width=1.0 --set data.train_samples=0 --set data.test_samples=0 --set run.rounds=$rounds)
      if [[ -n ${EDGESIM_CIFAR10:-} ]]; then
        scale+=(--set data.dataset=cifar10 --set "data.path=$EDGESIM_CIFAR10")
      fi
    fi
  elif [[ $workload == fmnist-cnn ]]; then
    rounds=10
    scale=(--set data.train_samples=4000 --set data.test_samples=1000 --set run.rounds=$rounds)
  else
    rounds=8
    scale=(--set data.train_samples=2400 --set data.test_samples=1000 --set run.rounds=$rounds)
  fi
  # high-skew: the high setting with Dirichlet(0.5) label skew (Fashion-MNIST only).
  settings=(low high)
  [[ $workload == fmnist-cnn ]] && settings+=(high-skew)
  for setting in "${settings[@]}"; do
    base=("${scale[@]}" --set "devices.profiles=$devices/${setting%-skew}16.toml" --set "clock.mode=$clock"
          --set "run.seed=$seed")
    [[ $setting == *-skew ]] && base+=(--set data.partition=dirichlet --set data.alpha=0.5)
    tag=$clock/$workload-$setting
    run "$tag-fedavg-s$seed" "$config" "${base[@]}" --set algorithm.name=fedavg
    run "$tag-adaptcl-s$seed" "$config" "${base[@]}" --set algorithm.name=adaptcl
    # The other baselines: one seed, analytic clock (the budget of a laptop).
    [[ $seed == 1 && $clock == analytic ]] || continue
    deadline=MEDIAN_ROUND1_TIME
    [[ $dry == 1 ]] || deadline=$(median_round1 "$runs/$tag-fedavg-s$seed.h5")
    run "$tag-fedavg-deadline-s$seed" "$config" "${base[@]}" --set algorithm.name=fedavg \
      --set algorithm.straggler=deadline --set "algorithm.deadline_s=$deadline"
    # FedAsync and SSP: one aggregation per update, so 16 x the rounds for the same amount of
    # local training; evaluated every 16 updates.
    run "$tag-fedasync-s$seed" "$config" "${base[@]}" --set algorithm.name=fedasync --set algorithm.concurrency=16 \
      --set "run.rounds=$((16 * rounds))" --set run.eval_every=16
    # SSP's staleness bound s = 3 (the schedule's default): a worker may be 3 updates ahead of
    # the slowest, the middle of the range (s = 1..10) Ho et al. evaluate.
    run "$tag-ssp-s$seed" "$config" "${base[@]}" --set algorithm.name=ssp --set algorithm.staleness_bound=3 \
      --set "run.rounds=$((16 * rounds))" --set run.eval_every=16
  done
done
done
done
[[ $dry == 1 ]] || /usr/bin/python3 scripts/adaptcl.py "$runs" -o "$out"
