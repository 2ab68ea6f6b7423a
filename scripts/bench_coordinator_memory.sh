#!/usr/bin/env bash
# Measures the coordinator's (rank 0's) peak resident memory as the device count grows
# (docs/PERFORMANCE.md "Coordinator memory"): one synchronous round of VGG-11 (width 1, 9.2 M
# parameters, 35 MiB of float32) on fashion-mnist-32, each device one step of 32 samples, at
# -np 2, for FedAvg (every device the whole model) and HeteroFL (rates 1, 1/2, 1/4, 1/8:
# extracted submodels). Prints, per binary, rank 0's peak RSS per device count and the growth
# per device in units of the model's size — the number to keep small.
# Usage: scripts/bench_coordinator_memory.sh [BIN...]   (default build/edgesim; give two
#        binaries, e.g. a base and a new one, to compare them in one invocation)
set -euo pipefail
cd "$(dirname "$0")/.."
bins=("$@")
[[ ${#bins[@]} -gt 0 ]] || { scripts/build.sh edgesim >/dev/null; bins=(build/edgesim); }
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
counts=(4 16 32)
# Rank 0 under GNU time (its peak RSS in KiB to a file); the executor as is.
cat >"$out/rank.sh" <<'SH'
#!/usr/bin/env bash
if [[ ${OMPI_COMM_WORLD_RANK:-0} == 0 ]]; then exec /usr/bin/time -f %M -o "$RSS_FILE" "$@"; fi
exec "$@"
SH
chmod +x "$out/rank.sh"
rows=()
for bin in "${bins[@]}"; do
  for algo in fedavg heterofl; do
    for n in "${counts[@]}"; do
      sets=(--set model.name=vgg11 --set data.dataset=fashion-mnist-32 --set "devices.count=$n"
            --set "data.train_samples=$((32 * n))" --set data.test_samples=64 --set run.rounds=1
            --set run.eval_every=1 --set "algorithm.name=$algo" --set devices.memory=estimated)
      [[ $algo == heterofl ]] && sets+=(--set algorithm.rates=1,0.5,0.25,0.125)
      RSS_FILE=$out/rss OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 \
        scripts/mpirun.sh 2 -x RSS_FILE "$out/rank.sh" "$bin" run experiments/quickstart.toml "${sets[@]}" \
        --out "$out/run.h5" --overwrite >"$out/log" 2>&1 || { cat "$out/log" >&2; exit 1; }
      entries=$(/usr/bin/python3 -c "import h5py,sys; print(len(h5py.File(sys.argv[1],'r')['final_model']))" "$out/run.h5")
      rows+=("$bin $algo $n $(cat "$out/rss") $entries")
    done
  done
done
/usr/bin/python3 - "${rows[@]}" <<'PY'
import sys
from collections import defaultdict
runs = defaultdict(dict)
for row in sys.argv[1:]:
    b, algo, n, kib, entries = row.split()
    runs[(b, algo)][int(n)] = int(kib) / 1024
    model_mb = int(entries) * 4 / 2**20  # the flat float32 model (/final_model)
print(f"rank 0 peak RSS (MiB), one round, -np 2; the model is {model_mb:.1f} MiB")
counts = sorted(next(iter(runs.values())))
print("| binary | algorithm | " + " | ".join(f"{n} devices" for n in counts) + " | growth per device (models) |")
print("|---|---|" + "---|" * len(counts) + "---|")
for (b, algo), by_n in runs.items():
    slope = (by_n[counts[-1]] - by_n[counts[0]]) / (counts[-1] - counts[0]) / model_mb
    print(f"| {b} | {algo} | " + " | ".join(f"{by_n[n]:.0f}" for n in counts) + f" | {slope:.2f} |")
PY
