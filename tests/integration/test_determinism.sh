#!/usr/bin/env bash
# Results do not depend on how many MPI ranks host the devices, nor on the run: the same
# config gives /rounds (all but wall_time_s) and /tasks identical bit for bit with -np 1
# (rank 0 trains itself), 2, 3, 5 and a second -np 3 — under the synchronous, the
# asynchronous (FedAsync) and the semi-asynchronous schedule (HeteroFL's submodels). A
# different seed must change them, which shows the comparison can fail.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# 6 devices of three kinds; only half of them are picked each round, so the seeded
# selection matters, and Dirichlet label skew makes every device's data different.
write_device_set "$TMP/mix.toml" \
  "big 1.0 4GiB 200 5" "mid 2.5 2GiB 100 5" "small 6.0 1GiB 40 10" \
  '"big", "mid", "small"'
write_config "$TMP/det.toml" mix.toml 6 3
common=(--set run.seed=11 --set algorithm.fraction=0.5 --set data.partition=dirichlet)

for np in 1 2 3 5; do
  run_ok "np$np" "$np" run "$TMP/det.toml" "${common[@]}" --out "$TMP/np$np.h5"
done
run_ok np3-again 3 run "$TMP/det.toml" "${common[@]}" --out "$TMP/np3-again.h5"
run_ok seed12 2 run "$TMP/det.toml" "${common[@]}" --set run.seed=12 --out "$TMP/seed12.h5"

h5check complete "$TMP/np1.h5" --rounds 3
h5check selection "$TMP/np1.h5" --per-round 3
for other in np2 np3 np5 np3-again; do
  echo "np1 vs $other:"
  h5check identical "$TMP/np1.h5" "$TMP/$other.h5"
done
echo "seed 11 vs seed 12 (must differ):"
h5check differ "$TMP/np2.h5" "$TMP/seed12.h5"

# The same for the other two schedules of the event loop.
schedules=(
  "async --set algorithm.name=fedasync --set run.rounds=8"
  "semi --set algorithm.name=heterofl --set algorithm.schedule=semi_async --set algorithm.rates=1,0.5,0.25 --set run.rounds=4"
)
for spec in "${schedules[@]}"; do
  read -r -a words <<<"$spec"
  name=${words[0]}
  for np in 1 2 3 5; do
    run_ok "$name-np$np" "$np" run "$TMP/det.toml" --set run.seed=11 --set data.partition=dirichlet "${words[@]:1}" \
      --out "$TMP/$name-np$np.h5"
  done
  for np in 2 3 5; do
    echo "$name: np1 vs np$np:"
    h5check identical "$TMP/$name-np1.h5" "$TMP/$name-np$np.h5"
  done
done
