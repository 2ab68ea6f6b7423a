#!/usr/bin/env bash
# Configures and builds edgesim (Release) into build/.
# Usage: scripts/build.sh [TARGET...]   (default: everything, tests included)
set -euo pipefail
cd "$(dirname "$0")/.."
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
targets=()
for t in "$@"; do targets+=(--target "$t"); done
cmake --build build -j "${EDGESIM_JOBS:-2}" "${targets[@]}"
