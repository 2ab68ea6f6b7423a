#!/usr/bin/env bash
# The quickstart: install what is missing, build, run experiments/quickstart.toml with 16
# Jetson-like devices on 3 MPI ranks, and plot it. Writes results/quickstart.h5 and
# results/quickstart.png (replacing those of an earlier quickstart).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh edgesim
scripts/mpirun.sh 3 build/edgesim run experiments/quickstart.toml --out results/quickstart.h5 --overwrite
/usr/bin/python3 scripts/plot.py results/quickstart.h5 -o results/quickstart.png
/usr/bin/python3 scripts/summary.py results/quickstart.h5
echo "figure: results/quickstart.png"
