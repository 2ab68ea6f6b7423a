#!/usr/bin/env bash
# The regression set: every shipped experiment, and every local-training option, at reduced
# scale (45 runs: 7.5 minutes on 2 idle cores with -np 3, about 12 when the cores are shared),
# so that two builds of edgesim can be shown to give the same /rounds, /tasks and /width_eval
# (scripts/compare-results.sh, scripts/compare_results.py).
# Analytic clock only, so every column but the wall-clock ones is deterministic.
#
#   scripts/regression-runs.sh BIN OUT_DIR [SRC_DIR]  run the set with BIN: OUT_DIR/NAME.h5,
#       NAME.log and times.tsv. Configs and device sets are read from SRC_DIR (default: this
#       checkout): compare-results.sh runs this copy of the list against each side's checkout.
#   scripts/regression-runs.sh --list                 print the runs
# Env: REGRESS_NP (ranks, default 3), REGRESS_ONLY (extended regex: only matching run names),
# REGRESS_SET (space-separated key=value overrides added to every run: e.g. a new rule turned off,
# to show that a difference comes from it alone).
# A failed run is logged and the others still run; the exit code is then 1.
set -euo pipefail

# Small Fashion-MNIST; the CIFAR-shaped workload of docs/BASELINES.md (synthetic, 100 classes,
# VGG-11 at width 0.125 with static BN), small.
FM=(--set data.train_samples=4000 --set data.test_samples=1000)
CIFAR=(--set data.dataset=synthetic --set data.synthetic_classes=100 --set data.train_samples=3200
       --set data.test_samples=400 --set model.name=vgg11 --set model.width=0.125 --set model.static_bn=true)

# regression_runs: calls `reg NAME CONFIG ARGS...` once per run (CONFIG relative to SRC_DIR).
regression_runs() {
  local a s w dev deadline
  reg quickstart experiments/quickstart.toml "${FM[@]}" --set run.rounds=3
  # One point of experiments/sweeps/sweep-demo.toml: deadline stragglers, skew, nano-heavy16.
  reg sweep-demo-point experiments/quickstart.toml "${FM[@]}" --set run.rounds=3 --set data.alpha=0.1 \
    --set algorithm.straggler=deadline --set algorithm.deadline_s=0.5 \
    --set devices.profiles=experiments/devices/nano-heavy16.toml
  reg resnet18-aggregation experiments/resnet18-aggregation.toml --set run.rounds=1

  # docs/BASELINES.md, Fashion-MNIST and CIFAR-shaped (1/r scaler on the BN model for
  # HeteroFL and FedRolex). Asynchronous runs: rounds = aggregations.
  for a in fedavg heterofl fedrolex fjord; do
    reg baseline-$a experiments/baselines/$a.toml "${FM[@]}" --set run.rounds=3
  done
  reg baseline-fedasync experiments/baselines/fedasync.toml "${FM[@]}" --set run.rounds=40 --set run.eval_every=8
  reg baseline-fedbuff experiments/baselines/fedbuff.toml "${FM[@]}" --set run.rounds=40 --set run.eval_every=8
  for a in fedavg fjord; do
    reg cifar-$a experiments/baselines/$a.toml "${CIFAR[@]}" --set run.rounds=2
  done
  for a in heterofl fedrolex; do
    reg cifar-$a-scaler experiments/baselines/$a.toml "${CIFAR[@]}" --set run.rounds=2 --set model.scaler=true
  done
  reg cifar-fedasync experiments/baselines/fedasync.toml "${CIFAR[@]}" --set run.rounds=16 --set run.eval_every=8
  reg cifar-fedbuff experiments/baselines/fedbuff.toml "${CIFAR[@]}" --set run.rounds=4 --set run.eval_every=2

  # Local objectives (the future "trainers"): masked cross-entropy (with strong skew, so that
  # devices lack classes), FjORD's self-distillation, alone and with masking.
  for a in heterofl fedrolex fjord; do
    reg masked-ce-$a experiments/baselines/$a.toml "${FM[@]}" --set run.rounds=3 --set data.alpha=0.1 \
      --set algorithm.masked_ce=true
  done
  reg fjord-distillation experiments/baselines/fjord.toml "${FM[@]}" --set run.rounds=3 \
    --set algorithm.fjord_distillation=true
  reg fjord-distillation-masked-ce experiments/baselines/fjord.toml "${FM[@]}" --set run.rounds=3 \
    --set data.alpha=0.1 --set algorithm.fjord_distillation=true --set algorithm.masked_ce=true

  # HeteroFL cut in depth (tests/integration/test_depth.sh), CNN and VGG-11 (BN exits).
  local depth=(--set algorithm.name=heterofl --set model.early_exits=true --set algorithm.rates=1,0.5,0.25)
  for s in depth width_and_depth; do
    reg depth-cnn-$s experiments/quickstart.toml "${FM[@]}" --set run.rounds=3 "${depth[@]}" --set algorithm.slicing=$s
  done
  reg depth-vgg11 experiments/quickstart.toml "${CIFAR[@]}" --set run.rounds=2 "${depth[@]}" --set algorithm.slicing=depth

  # scripts/reproduce.sh adaptcl, small: both device sets, AdaptCL (CNN: l2_norm; VGG-11:
  # bn_gamma with its L1 penalty) against FedAvg, FedAvg with a deadline and FedAsync.
  # Deadlines: as reproduce.sh picks them, the median round-1 update time of the matching
  # fedavg run at this scale (3 significant digits), measured once and fixed here, so that
  # no input depends on an output.
  # cifar-vgg11: experiments/adaptcl/fmnist32-vgg11.toml on the synthetic 100-class images the
  # shipped config used before it moved to fashion-mnist-32, so the references stay comparable.
  local synth=(--set data.dataset=synthetic --set data.synthetic_classes=100)
  for w in fmnist-cnn cifar-vgg11; do
    local scale=(--set data.train_samples=3200 --set data.test_samples=800 --set run.rounds=3)
    [[ $w == cifar-vgg11 ]] && scale=(--set data.train_samples=1600 --set data.test_samples=400 --set run.rounds=3)
    for dev in low high; do
      case $w-$dev in
        fmnist-cnn-low) deadline=0.141 ;; fmnist-cnn-high) deadline=0.186 ;;
        cifar-vgg11-low) deadline=0.0914 ;; cifar-vgg11-high) deadline=0.123 ;;
      esac
      local base=(experiments/adaptcl/$w.toml "${scale[@]}" --set devices.profiles=experiments/adaptcl/devices/${dev}16.toml)
      [[ $w == cifar-vgg11 ]] && base=(experiments/adaptcl/fmnist32-vgg11.toml "${synth[@]}" "${base[@]:1}")
      reg adaptcl-$w-$dev-fedavg "${base[@]}" --set algorithm.name=fedavg
      reg adaptcl-$w-$dev-fedavg-deadline "${base[@]}" --set algorithm.name=fedavg \
        --set algorithm.straggler=deadline --set algorithm.deadline_s=$deadline
      # FedAsync: 16 x the rounds (a later --set wins), evaluated every 16 updates.
      reg adaptcl-$w-$dev-fedasync "${base[@]}" --set algorithm.name=fedasync --set algorithm.concurrency=16 \
        --set run.rounds=48 --set run.eval_every=16
      reg adaptcl-$w-$dev-adaptcl "${base[@]}" --set algorithm.name=adaptcl
    done
  done
  reg adaptcl-fmnist-cnn-high-skew-adaptcl experiments/adaptcl/fmnist-cnn.toml --set data.train_samples=3200 \
    --set data.test_samples=800 --set run.rounds=3 --set devices.profiles=experiments/adaptcl/devices/high16.toml \
    --set data.partition=dirichlet --set data.alpha=0.5
  reg adaptcl-cifar-vgg11-low-adaptcl-l2norm experiments/adaptcl/fmnist32-vgg11.toml "${synth[@]}" --set data.train_samples=1600 \
    --set data.test_samples=400 --set run.rounds=3 --set algorithm.adaptcl_importance=l2_norm

  # The Transformer LM: FedAvg as shipped; HeteroFL slicing whole heads and head dimensions;
  # cut in depth through its exit heads (as in test_depth.sh).
  # The contrastive trainer (MOON, MSfusion) and MSfusion's peer-to-peer rounds; the ResNet
  # split at 1/2 is the one whose reference passes once ran past its 48 MiB cap.
  reg moon-cnn experiments/baselines/fedavg.toml "${FM[@]}" --set run.rounds=3 --set algorithm.name=moon
  reg msfusion-cnn experiments/msfusion/fmnist-cnn.toml --set data.train_samples=2400 --set data.test_samples=500 \
    --set run.rounds=3
  reg msfusion-resnet18-half experiments/msfusion/fmnist32-resnet18.toml --set data.train_samples=1200 \
    --set data.test_samples=300 --set run.rounds=2 --set algorithm.rates=0.5

  local text=experiments/text/fortunes-transformer.toml
  reg text-fedavg $text --set run.rounds=2
  for s in heads head_dims; do
    reg text-heterofl-$s $text --set run.rounds=2 --set algorithm.name=heterofl --set algorithm.rates=1,0.5,0.25 \
      --set model.attention_slicing=$s
  done
  reg text-depth $text --set run.rounds=1 --set devices.count=3 --set algorithm.name=heterofl \
    --set model.early_exits=true --set algorithm.rates=1,0.5 --set algorithm.slicing=depth --set model.layers=2
}

# Running the set (when executed rather than sourced).
main() {
  if [[ ${1:-} == --list ]]; then
    reg() { echo "$1: $2 ${*:3}"; }
    regression_runs
    return
  fi
  [[ $# -ge 2 && $# -le 3 ]] || { sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
  local here bin out src
  here=$(cd "$(dirname "$0")" && pwd)
  bin=$(realpath "$1")
  mkdir -p "$2"
  out=$(realpath "$2")
  src=$(realpath "${3:-$here/..}")
  export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
  FAILED=0
  # What made these results: the binary and the checkout the configs came from.
  { echo "bin $bin $(sha256sum <"$bin" | cut -c1-16)"; echo "src $src"
    echo "commit $(git -C "$src" rev-parse HEAD 2>/dev/null || echo unknown)"; } >"$out/SOURCE"
  printf 'run\twall_s\texit\n' >"$out/times.tsv"
  reg() {
    local name=$1 config=$2 rc=0 t0 t1
    shift 2
    [[ -z ${REGRESS_ONLY:-} || $name =~ $REGRESS_ONLY ]] || return 0
    rm -f "$out/$name.h5"  # a run that fails before writing must not leave an older file behind
    t0=$(date +%s.%N)
    local extra=() kv
    for kv in ${REGRESS_SET:-}; do extra+=(--set "$kv"); done
    (cd "$src" && nice -n 5 "$here/mpirun.sh" "${REGRESS_NP:-3}" "$bin" run "$config" \
      --set clock.mode=analytic --set run.checkpoint_every=0 "$@" "${extra[@]}" --out "$out/$name.h5" --overwrite) \
      >"$out/$name.log" 2>&1 || rc=$?
    t1=$(date +%s.%N)
    printf '%s\t%.1f\t%d\n' "$name" "$(echo "$t1 - $t0" | bc)" $rc | tee -a "$out/times.tsv"
    if [[ $rc -ne 0 ]]; then FAILED=1; tail -5 "$out/$name.log" | sed 's/^/    | /' >&2; fi
  }
  regression_runs
  awk -F'\t' 'NR > 1 { s += $2 } END { printf "total\t%.1f\n", s }' "$out/times.tsv" | tee -a "$out/times.tsv"
  return $FAILED
}

if [[ ${BASH_SOURCE[0]} == "$0" ]]; then main "$@"; fi
