#!/usr/bin/env bash
# Installs edgesim's build and run dependencies from Debian 12 packages, only those
# missing. Idempotent and non-interactive; uses sudo when not root.
set -euo pipefail

packages=(
  build-essential cmake ccache git pkg-config
  libtorch-dev libopenblas0-openmp          # LibTorch; OpenBLAS+OpenMP is ~3.5x faster than reference BLAS
  libopenmpi-dev openmpi-bin                # MPI
  libhdf5-dev libcli11-dev catch2 zlib1g-dev
  dataset-fashion-mnist                     # the real data: gzip'd IDX files
  fortunes                                  # text for the character-level LM corpus (load_fortunes_corpus)
  python3 python3-h5py python3-matplotlib python3-numpy   # plots (run with /usr/bin/python3)
  slurmctld slurmd slurm-client munge       # a real single-node Slurm cluster for tests (scripts/slurm/)
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

echo "installing: ${missing[*]}"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
