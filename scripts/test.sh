#!/usr/bin/env bash
# Installs what is missing, builds, and runs every test (Catch2 unit tests and MPI
# integration tests) with ctest.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh
cd build
ctest --output-on-failure -j "${EDGESIM_TEST_JOBS:-2}" "$@"
