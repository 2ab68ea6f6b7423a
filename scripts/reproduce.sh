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
#
#   scripts/reproduce.sh co-s2p [--full] [--seeds N] [--only vgg|vit|lm|first-round] [--until S]
#                               [--overwrite] [--dry-run]
#
# co-s2p: results/co-s2p/README.md's study (experiments/co-s2p/, analytic clock), --seeds seeds
# each (default 3). vgg: VGG-11 (width 0.25, an exit after each stage) in the baselines study's
# setting (Fashion-MNIST-32, tight-memory-vgg16.toml, Dirichlet 0.5): Co-S²P (learned masks) and
# its ablations (no cross-block transfer, static prefix width, synchronous) against HeteroFL,
# FedRolex, FjORD, DepthFL, FedAvg and FedBuff (experiments/baselines/fmnist32/*.toml). vit: the
# ViT's laptop preset on jetson16-vit.toml, the same methods with the baselines' rules as --set
# overrides. lm: the Transformer LM on fortunes with exits after each block (Co-S²P, HeteroFL,
# FedRolex, DepthFL, FedBuff). Each method at the best learning rate of a seed-1 sweep (0.05,
# 0.02, 0.01; ViT 0.02, 0.01, 0.005; LM 0.2, 0.1, 0.05, 0.02, 0.01: runs/<workload>/lr/), the ablations at Co-S²P's. Laptop scale: VGG and ViT 2,400 training samples, 8 synchronous
# rounds, 16 aggregations of K = 8 for the semi-asynchronous ones; LM 12 / 24. --full: the
# configs' own scale. --until S (VGG): every run stops at S s of virtual time instead
# (run.until_virtual_s), so methods compare at equal time. Runs go to results/co-s2p/runs/, tables and figures to results/co-s2p/
# (scripts/co_s2p.py). first-round: the 0.11 B-class configuration (fortunes-bert-base.toml),
# one synchronous round with one device of each class (AGX, NX, TX2, Nano), one step each, to
# show every class's task fits its cap. --only: one of these.
#
#   scripts/reproduce.sh asteroid [--full] [--seeds N] [--overwrite] [--dry-run]
#
# asteroid: results/asteroid/README.md's study (experiments/asteroid/, analytic clock). Throughput:
# Asteroid's planner against every baseline planner (data_parallel, gpipe, pipedream, hetpipe)
# for VGG-16 and the ViT (vit-tiny) on Fashion-MNIST-32 and the Transformer LM on fortunes, on
# the 16 Jetson-like devices and the 5-device home/office set (Wi-Fi), and the home set on
# Gigabit Ethernet (the link-bandwidth sensitivity), also with 10x slower compute (the
# compute-to-link ratio; laptop scale: neither with the ViT); VGG-16 on the home set with fixed
# micro-batch counts (the micro-batch sensitivity); FedAvg on every set and model (the reference
# point: local copies, IID shares, one local epoch); Asteroid and the HetPipe-like hybrid on
# mixed8-r{1,2,4,8}.toml (one fast + seven R x slower boards: the intra-stage speed spread). The clock is deterministic, so a plan's
# iteration time is the same every iteration and across seeds: one iteration per run, seed 1
# (--full: 3). Recovery (experiments/asteroid/recovery-lm.toml): a device exit and a device
# failure in the middle of training, replay against restart, and the run without faults, for
# --seeds seeds (default 3; only the loss curves depend on them: the restart runs seed 1);
# 12 iterations (--full: 40, the fault in iteration 25). Runs go to results/asteroid/runs/,
# tables and figures to results/asteroid/ (scripts/asteroid.py).
set -euo pipefail
cd "$(dirname "$0")/.."

usage() { sed -n '2,81p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
[[ $# -ge 1 ]] || usage
what=$1; shift
[[ $what == adaptcl || $what == baselines || $what == msfusion || $what == co-s2p || $what == asteroid ]] || usage
full=0 np=3 overwrite=0 dry=0 seeds=3 clocks=(analytic calibrated) only=all until=0
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
    --until) until=$2; shift; [[ $until =~ ^[0-9]+([.][0-9]+)?$ ]] || usage ;;
    --only) only=$2; shift; [[ $only =~ ^(vgg|vit|lm|first-round)$ ]] || usage ;;
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

if [[ $what == asteroid ]]; then
  a=experiments/asteroid
  # Pipeline runs cannot --resume: a complete run is kept (unless --overwrite), any other redone.
  prun() {
    if [[ $dry == 0 && $overwrite == 0 && -f $runs/$1.h5 ]] && /usr/bin/python3 -c "import h5py, sys
with h5py.File(sys.argv[1], 'r', swmr=True) as f: sys.exit(f['status'][()] != b'complete')" "$runs/$1.h5" 2>/dev/null; then
      echo "kept $1"
      return
    fi
    local keep=$overwrite
    overwrite=1
    run "$@"
    overwrite=$keep
  }
  # Device sets: name -> profiles and count.
  declare -A set_file=([jetson16]=experiments/devices/jetson16.toml [home5]=$a/devices/home5.toml
                       [home5-ethernet]=$a/devices/home5-ethernet.toml
                       [home5-ethernet-slow]=$a/devices/home5-ethernet-slow.toml)
  declare -A set_count=([jetson16]=16 [home5]=5 [home5-ethernet]=5 [home5-ethernet-slow]=5)
  iters=1
  [[ $full == 1 ]] && iters=3
  for set in jetson16 home5 home5-ethernet home5-ethernet-slow; do
    models=(fmnist32-vgg16 fmnist32-vit fortunes-lm)
    [[ $set == home5-ethernet* && $full == 0 ]] && models=(fmnist32-vgg16 fortunes-lm)
    for model in "${models[@]}"; do
      for planner in asteroid data_parallel gpipe pipedream hetpipe; do
        prun "throughput/$set/$model-$planner" $a/$model.toml --set "devices.profiles=${set_file[$set]}" \
          --set "devices.count=${set_count[$set]}" --set "pipeline.planner=$planner" --set "run.rounds=$iters"
      done
      # FedAvg on the same devices, model and data (the reference point): every device trains a
      # local copy on its IID share of the training set, one local epoch at the same batch size.
      prun "throughput/$set/$model-fedavg" $a/$model.toml --set "devices.profiles=${set_file[$set]}" \
        --set "devices.count=${set_count[$set]}" --set algorithm.name=fedavg --set 'data.partition="iid"' \
        --set algorithm.local_epochs=1 --set run.eval_initial=false --set "run.rounds=$iters"
    done
  done
  # Stages that must mix device speeds (mixed8-r*.toml: one fast board, seven R x slower ones of
  # the same memory): Asteroid against the HetPipe-like hybrid as the speed spread R grows.
  for r in 1 2 4 8; do
    for model in fmnist32-vgg16 fortunes-lm; do
      for planner in asteroid hetpipe; do
        prun "mixed/r$r/$model-$planner" $a/$model.toml --set "devices.profiles=$a/devices/mixed8-r$r.toml" \
          --set devices.count=8 --set "pipeline.planner=$planner" --set "run.rounds=$iters"
      done
    done
  done
  # Micro-batch sensitivity: Asteroid's plan search at a fixed M (the planner's own M is above).
  for m in 1 4 64; do
    prun "microbatch/home5/fmnist32-vgg16-m$m" $a/fmnist32-vgg16.toml --set "devices.profiles=${set_file[home5]}" \
      --set devices.count=5 --set "pipeline.micro_batches=$m" --set "run.rounds=$iters"
  done
  # Recovery. Where to strike: the middle of iteration K as each mode runs it, from a run with
  # a fault after its end (the fault tolerance on: backups or checkpoints; nothing strikes).
  r=$a/recovery-lm.toml rounds=12 k=7
  [[ $full == 1 ]] && rounds=40 k=25
  never='pipeline.faults="fail:0@1e9"'
  mid() {
    [[ $dry == 1 ]] && { echo "T_$2"; return; }
    /usr/bin/python3 -c "import h5py; e = h5py.File('$1', 'r', swmr=True)['pipeline_iterations']['end_s']; print(repr(float(e[$2 - 2] + 0.5 * (e[$2 - 1] - e[$2 - 2]))))"
  }
  for mode in replay restart; do
    prun "recovery/$mode-nofault-s1" $r --set run.seed=1 --set "run.rounds=$rounds" --set "$never" --set "pipeline.recovery=$mode"
  done
  t_replay=$(mid "$runs/recovery/replay-nofault-s1.h5" $k) t_restart=$(mid "$runs/recovery/restart-nofault-s1.h5" $k)
  for ((seed = 1; seed <= seeds; seed++)); do
    prun "recovery/none-s$seed" $r --set "run.seed=$seed" --set "run.rounds=$rounds" --set 'pipeline.faults=""'
    for fault in leave:0 fail:2; do
      prun "recovery/replay-${fault%%:*}-s$seed" $r --set "run.seed=$seed" --set "run.rounds=$rounds" \
        --set "pipeline.faults=\"$fault@$t_replay\"" --set pipeline.recovery=replay
      [[ $seed == 1 ]] && prun "recovery/restart-${fault%%:*}-s$seed" $r --set "run.seed=$seed" --set "run.rounds=$rounds" \
        --set "pipeline.faults=\"$fault@$t_restart\"" --set pipeline.recovery=restart
    done
  done
  [[ $dry == 1 ]] || /usr/bin/python3 scripts/asteroid.py "$runs" -o "$out"
  exit 0
fi

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

if [[ $what == co-s2p ]]; then
  c=experiments/co-s2p b=experiments/baselines/fmnist32
  # Each method runs at the learning rate of {0.05, 0.02, 0.01} (ViT: {0.02, 0.01, 0.005}; LM: {0.2, 0.1, 0.05, 0.02, 0.01}) that
  # gives it the best final score with seed 1 (Co-S²P's loss sums every exit's cross-entropy, so the configs' shared 0.05
  # is not every method's best); the ablations at Co-S²P's rate.
  lrs=(0.05 0.02 0.01)
  declare -A lr_of
  # chosen_lr WORKLOAD METHOD: the rate whose seed-1 run ends best (accuracy; LM: test loss).
  chosen_lr() {
    [[ $dry == 1 ]] && { echo "LR"; return; }
    /usr/bin/python3 - "$runs/$1/lr" "$2" "${lrs[@]}" <<'PY'
import sys, h5py, numpy as np
folder, method, lrs = sys.argv[1], sys.argv[2], sys.argv[3:]
def final(lr):  # the last evaluation's accuracy, or minus its test loss for a language model
    with h5py.File(f"{folder}/{method}-lr{lr}-s1.h5", "r", swmr=True) as f:
        r = f["rounds"][:]
    score = -r["test_loss"] if folder.endswith("/lm/lr") else r["test_accuracy"]
    score = score[np.isfinite(score)]
    return score[-1] if len(score) else -np.inf
print(max(lrs, key=final))
PY
  }
  # at_lr NAME LR: a run at another rate (made before the sweep grew and chose another) is removed,
  # so that it is redone at LR (--resume would keep it).
  at_lr() {
    [[ $dry == 0 && -f $runs/$1.h5 ]] || return 0
    /usr/bin/python3 - "$runs/$1.h5" "$2" <<'PY' && return 0
import re, sys, h5py
with h5py.File(sys.argv[1], "r", swmr=True) as f:
    c = f.attrs["config"]
c = c.decode() if isinstance(c, bytes) else str(c)
part = c.split("[algorithm]", 1)[1].split("\n[", 1)[0]
sys.exit(float(re.search(r"^lr = (\S+)", part, re.M).group(1)) != float(sys.argv[2]))
PY
    echo "redo $1 at lr $2"
    rm -f "$runs/$1.h5" "$runs/$1.h5.ckpt"
  }
  # method_runs WORKLOAD METHOD CONFIG ROUNDS ARGS...: the seed-1 sweep over lrs, then seeds
  # 2..N at the chosen rate (seed 1 at that rate is its sweep run). With a virtual-time budget
  # ($budget > 0: run.until_virtual_s) every run stops at the first round that reaches it, so
  # methods compare at equal time; ROUNDS is then only a cap.
  method_runs() {
    local w=$1 a=$2 config=$3 rounds=$4 lr seed
    shift 4
    [[ $budget != 0 ]] && set -- "$@" --set "run.until_virtual_s=$budget" && rounds=400
    for lr in "${lrs[@]}"; do
      run "$w/lr/$a-lr$lr-s1" "$config" "$@" --set run.seed=1 --set "algorithm.lr=$lr" --set "run.rounds=$rounds"
    done
    lr_of[$w/$a]=$(chosen_lr "$w" "$a")
    [[ $dry == 1 ]] || ln -f "$runs/$w/lr/$a-lr${lr_of[$w/$a]}-s1.h5" "$runs/$w/$a-s1.h5"
    for ((seed = 2; seed <= seeds; seed++)); do
      at_lr "$w/$a-s$seed" "${lr_of[$w/$a]}"
      run "$w/$a-s$seed" "$config" "$@" --set "run.seed=$seed" --set "algorithm.lr=${lr_of[$w/$a]}" --set "run.rounds=$rounds"
    done
  }
  # ablation_runs WORKLOAD CONFIG SYNC_ROUNDS ARGS...: without cross-block transfer, without the
  # learned masks, synchronous (as many updates: K = N/2 per semi-asynchronous aggregation).
  ablation_runs() {
    local w=$1 config=$2 sync=$3 seed v
    shift 3
    [[ $budget != 0 ]] && set -- "$@" --set "run.until_virtual_s=$budget"
    for ((seed = 1; seed <= seeds; seed++)); do
      for v in "no-kd:--set algorithm.co_s2p_distill_from=1000000" "prefix:--set algorithm.co_s2p_width=prefix" \
               "sync:--set algorithm.schedule=sync"; do
        local rounds=$((2 * sync))
        [[ ${v%%:*} == sync ]] && rounds=$sync
        [[ $budget != 0 ]] && rounds=400
        at_lr "$w/co-s2p-${v%%:*}-s$seed" "${lr_of[$w/co-s2p]}"
        # shellcheck disable=SC2086  # the ablation's --set is two words
        run "$w/co-s2p-${v%%:*}-s$seed" "$config" "$@" --set "run.seed=$seed" --set "algorithm.lr=${lr_of[$w/co-s2p]}" \
          ${v#*:} --set "run.rounds=$rounds"
      done
    done
  }
  if [[ $only == all || $only == vgg ]]; then
    # --until S: every run stops at S s of virtual time (equal time; 4 s is about 12 synchronous
    # rounds of the full-width methods at laptop scale); default: round counts (equal updates).
    scale=() sync=20 budget=$until
    [[ $full == 0 ]] && scale=(--set data.train_samples=2400 --set data.test_samples=1000) sync=8
    method_runs vgg co-s2p $c/fmnist32-vgg11.toml $((2 * sync)) "${scale[@]}"
    for a in heterofl fedrolex fjord depthfl fedavg fedbuff; do
      rounds=$sync
      [[ $a == fedbuff ]] && rounds=$((2 * sync))
      method_runs vgg $a $b/$a.toml $rounds "${scale[@]}"
    done
    ablation_runs vgg $c/fmnist32-vgg11.toml $sync "${scale[@]}"
  fi
  if [[ $only == all || $only == vit ]]; then
    # No virtual-time budget yet (round counts: equal numbers of updates), as for the LM below.
    budget=0 scale=() sync=20
    [[ $full == 0 ]] && scale=(--set data.train_samples=2400 --set data.test_samples=1000) sync=8
    v=$c/fmnist32-vit.toml
    lrs=(0.02 0.01 0.005)  # around the ViT config's 0.01
    method_runs vit co-s2p $v $((2 * sync)) "${scale[@]}"
    # The baselines' published rules (as in experiments/baselines/fmnist32/) over the same ViT,
    # data and devices; the file's co-s2p keys are ignored with a warning.
    sync_base=(--set algorithm.straggler=wait_all)
    widths=(--set algorithm.rate_rule=memory --set algorithm.rate_levels=1,0.5,0.25,0.125,0.0625
            --set algorithm.masked_ce=true --set model.scaler=true)
    method_runs vit heterofl $v $sync "${scale[@]}" --set algorithm.name=heterofl "${sync_base[@]}" "${widths[@]}"
    method_runs vit fedrolex $v $sync "${scale[@]}" --set algorithm.name=fedrolex "${sync_base[@]}" "${widths[@]}"
    method_runs vit fjord $v $sync "${scale[@]}" --set algorithm.name=fjord "${sync_base[@]}" \
      --set algorithm.rate_levels=1,0.8,0.6,0.4,0.2 --set algorithm.momentum=0
    # DepthFL keeps ceil(r·6) blocks (Co-S²P floor(r·6)): these levels give the same 6, 4, 2.
    method_runs vit depthfl $v $sync "${scale[@]}" --set algorithm.name=depthfl "${sync_base[@]}" \
      --set algorithm.depthfl_ramp_rounds=0 --set algorithm.rate_levels=1,0.66,0.33
    method_runs vit fedavg $v $sync "${scale[@]}" --set algorithm.name=fedavg "${sync_base[@]}"
    method_runs vit fedbuff $v $((2 * sync)) "${scale[@]}" --set algorithm.name=fedbuff --set algorithm.buffer_size=8 \
      --set algorithm.concurrency=0
    ablation_runs vit $v $sync "${scale[@]}"
  fi
  # The 0.11 B-class configuration: its first round, one step per device (each device's task
  # at the declared batch and sequence length, so its measured peak is a full run's).
  if [[ $only == all || $only == first-round ]]; then
    # One device of each class (devices.count = 4: the first four of jetson16.toml's list are an
    # AGX, an NX, a TX2 and a Nano, at the 16-device set's caps, so at its rates: a task's shape
    # depends only on its device's rate and the batch), 128 windows: 32 each, one step at batch 32;
    # the masks learned over one pass (one step) first. Synchronous, so that every class's task
    # is in the round (semi-asynchronously the round closes with the first K; the 16-device
    # synchronous round would take ~2.5 h on 2 cores). np 2: one executor, the tasks in turn; no
    # evaluation of the start model (the AGX task alone took 7.5 min of wall time here, beside the LM study).
    np=2 run "first-round/bert-base-classes-sync-s1" $c/fortunes-bert-base.toml --set devices.count=4 \
      --set run.rounds=1 --set data.train_samples=128 --set data.test_samples=32 --set algorithm.co_s2p_mask_epochs=1 \
      --set run.eval_every=1 --set run.eval_initial=false --set algorithm.schedule=sync
  fi
  if [[ $only == all || $only == lm ]]; then
    budget=0 scale=() sync=40
    [[ $full == 0 ]] && scale=(--set data.train_samples=1920) sync=12
    l=$c/fortunes-lm.toml
    # Around the LM configs' 0.1: 0.01 because Co-S²P diverged at 0.1 in round 1 (seed 1: summed
    # train loss 51.5, then flat at test perplexity 32.6 and next-token accuracy 16.27% at every
    # evaluation from round 6); 0.2 because HeteroFL's and FedRolex's best of {0.1, ..., 0.01} was 0.1.
    lrs=(0.2 0.1 0.05 0.02 0.01)
    method_runs lm co-s2p $l $((2 * sync)) "${scale[@]}"
    sync_base=(--set algorithm.straggler=wait_all)
    for a in heterofl fedrolex; do
      method_runs lm $a $l $sync "${scale[@]}" --set "algorithm.name=$a" "${sync_base[@]}" \
        --set algorithm.rate_levels=1,0.5,0.25,0.125
    done
    # FjORD without momentum (as in its baseline config): its best of the shared sweep was its
    # largest rate, 0.2 (seed 1: 28.41), so its sweep goes one step further.
    shared_lrs=("${lrs[@]}") lrs=(0.5 "${lrs[@]}")
    method_runs lm fjord $l $sync "${scale[@]}" --set algorithm.name=fjord "${sync_base[@]}" \
      --set algorithm.rate_levels=1,0.8,0.6,0.4,0.2 --set algorithm.momentum=0
    lrs=("${shared_lrs[@]}")
    method_runs lm depthfl $l $sync "${scale[@]}" --set algorithm.name=depthfl "${sync_base[@]}" \
      --set algorithm.depthfl_ramp_rounds=0
    method_runs lm fedavg $l $sync "${scale[@]}" --set algorithm.name=fedavg "${sync_base[@]}"
    method_runs lm fedbuff $l $((2 * sync)) "${scale[@]}" --set algorithm.name=fedbuff --set algorithm.buffer_size=8 \
      --set algorithm.concurrency=0
    ablation_runs lm $l $sync "${scale[@]}"
  fi
  [[ $dry == 1 ]] || /usr/bin/python3 scripts/co_s2p.py "$runs" -o "$out"
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
