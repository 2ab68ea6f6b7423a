#!/usr/bin/env bash
# The silent failures of issue #14 now say so, once on stderr (rank 0) and in the results
# file's `warnings` attribute:
#  (a) a diverging run (absurd learning rate): non-finite train loss, and test accuracy at
#      chance for run.warn_chance_evals evaluations in a row;
#  (b) a train loss grown past run.warn_loss_growth times the initial loss, still finite;
#  (c) HeteroFL whose rate rule gives every device the full model (= FedAvg): a start-up
#      warning naming the rule; with a rule that binds, the rates per device class and no warning;
#  (d) a healthy run raises none.
# (A memory cap without a unit is an error: test_cli.sh.)
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

write_device_set "$TMP/devs.toml" "agx 1.0 4GiB 200 5" "nano 6.0 2GiB 40 10" '"agx", "nano", "agx", "agx"'
write_config "$TMP/exp.toml" devs.toml 4 4
common=(--set data.train_samples=1200)

# warned NAME TEXT: TEXT in the run's stderr exactly once and in its warnings attribute.
warned() {
  local name=$1 text=$2 n
  n=$(grep -cF -- "$text" "$TMP/$name.err" || true)
  [[ $n -eq 1 ]] || { cat "$TMP/$name.err" >&2; fail "$name: '$text' on stderr $n times, expected once"; }
  "$PYTHON" -c "
import sys, h5py
w = h5py.File(sys.argv[1], 'r').attrs['warnings']
assert sys.argv[2] in w, w" "$TMP/$name.h5" "$text" || fail "$name: '$text' not in the warnings attribute"
  check "$name: $(grep -m1 -F -- "$text" "$TMP/$name.err" | cut -c1-150)"
}

# quiet NAME: no warning on stderr, an empty warnings attribute.
quiet() {
  ! grep -q "edgesim: warning" "$TMP/$1.err" || { cat "$TMP/$1.err" >&2; fail "$1 warns"; }
  "$PYTHON" -c "
import sys, h5py
w = h5py.File(sys.argv[1], 'r').attrs['warnings']
assert w == '', w" "$TMP/$1.h5" || fail "$1: warnings attribute not empty"
  check "$1: no warning"
}

# run_logged NAME NP ARGS...: stdout and stderr apart.
run_logged() {
  local name=$1 np=$2
  shift 2
  run_edgesim "$np" run "$TMP/exp.toml" "${common[@]}" "$@" --out "$TMP/$name.h5" \
    >"$TMP/$name.out" 2>"$TMP/$name.err" || { cat "$TMP/$name.err" >&2; fail "$name failed"; }
}

echo "(a) diverging: lr = 1e4"
run_logged diverged 2 --set algorithm.lr=1e4
warned diverged "train loss is not finite"
warned diverged "has been at chance (1/10) for 3 evaluations in a row"
grep -Eq "^round 1/4 .* loss -?(nan|inf) " "$TMP/diverged.out" \
  || { cat "$TMP/diverged.out"; fail "the progress line does not show the non-finite train loss"; }
check "the progress line shows the train loss: $(grep -m1 '^round 1/' "$TMP/diverged.out")"

echo "(b) exploding but finite: lr = 0.3"
run_logged grown 2 --set algorithm.lr=0.3 --set run.warn_chance_evals=0
warned grown "times the initial loss"
! grep -q "not finite" "$TMP/grown.err" || fail "grown: the loss went non-finite; pick a smaller lr"

echo "(c) HeteroFL with every rate 1, and with rates that bind"
run_logged full 2 --set algorithm.name=heterofl
warned full "every device got the full model (rate 1) from algorithm.rate_rule = \"memory\""
grep -q "^  agx 1 (x3), nano 1 (x1)" "$TMP/full.out" || { cat "$TMP/full.out"; fail "no rates per device class"; }
run_logged bound 2 --set algorithm.name=heterofl --set algorithm.rate_rule=memory_and_speed
grep -q "^rates: algorithm.rate_rule = \"memory_and_speed\"" "$TMP/bound.out" || { cat "$TMP/bound.out"; fail "no rate rule"; }
grep -q "^  agx 1 (x3), nano 0.25 (x1)" "$TMP/bound.out" || { cat "$TMP/bound.out"; fail "no rates per device class"; }
check "bound: $(grep -A1 '^rates:' "$TMP/bound.out" | tail -1)"
quiet bound

echo "(d) a healthy run"
run_logged healthy 2
quiet healthy
