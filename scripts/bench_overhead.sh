#!/usr/bin/env bash
# Measures edgesim's overhead over plain LibTorch doing the same SGD steps (docs/PERFORMANCE.md).
# Runs, one after the other in one invocation: the floor (edgesim-floor-bench: a single-process
# LibTorch loop over the same devices' data, model, batch size, epochs and rounds), then
# edgesim on 2 ranks (one executor: the same serial work) and on 3 ranks (two executors).
# Usage: scripts/bench_overhead.sh [ROUNDS]   (default 3; config: experiments/quickstart.toml)
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-3}
scripts/build.sh edgesim edgesim-floor-bench >/dev/null
config=experiments/quickstart.toml
sets=(run.rounds=$rounds run.eval_every=$rounds)
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

floor=$(build/edgesim-floor-bench $config "${sets[@]}" | awk '/floor_seconds/ {print $2}')
wall() {  # wall seconds of an edgesim run on $1 ranks, from its results file
  scripts/mpirun.sh "$1" build/edgesim run $config ${sets[@]/#/--set } --out "$out/np$1.h5" >/dev/null
  /usr/bin/python3 -c "import h5py,sys; print(h5py.File(sys.argv[1],'r')['rounds']['wall_time_s'][-1])" "$out/np$1.h5"
}
np2=$(wall 2)
np3=$(wall 3)
/usr/bin/python3 - "$floor" "$np2" "$np3" "$rounds" <<'PY'
import sys
floor, np2, np3, rounds = map(float, sys.argv[1:])
print(f"rounds: {rounds:.0f} (16 devices, full Fashion-MNIST per round, evaluation only at the end)")
print(f"floor (plain LibTorch, 1 process):   {floor:7.1f} s")
print(f"edgesim -np 2 (1 executor):          {np2:7.1f} s   ratio {np2 / floor:.3f}")
print(f"edgesim -np 3 (2 executors):         {np3:7.1f} s   ratio {np3 / floor:.3f}")
PY
