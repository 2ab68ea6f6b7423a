#!/usr/bin/env bash
# mpirun with what a laptop or a root shell needs: --oversubscribe (more ranks than cores is
# fine, executors mostly wait on each other) and, as root, --allow-run-as-root.
# Usage: scripts/mpirun.sh NP COMMAND...
set -euo pipefail
np=$1; shift
flags=(--oversubscribe -np "$np")
[ "$(id -u)" -ne 0 ] || flags+=(--allow-run-as-root)
exec mpirun "${flags[@]}" "$@"
