#!/usr/bin/env bash
# Checkpoint and resume with state beyond the global model: per-device state (MOON keeps each
# device's previous local model between its tasks) and a semi-asynchronous run whose tasks in
# flight train submodels. Killed by SIGKILL between periodic checkpoints and resumed on another
# rank count, each must give /rounds and /tasks identical to an uninterrupted run.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

write_device_set "$TMP/devs.toml" "agx 1.0 4GiB 200 5" "nano 6.0 2GiB 40 10" '"agx", "nano", "agx"'
write_config "$TMP/exp.toml" devs.toml 6 30
common=(--set data.train_samples=3000 --set data.test_samples=300 --set run.checkpoint_every=4
        --set algorithm.fraction=0.5 --set run.rounds=16)




echo "(g) per-device state (MOON keeps each device's previous model) and a semi-asynchronous run"
echo "    with submodels in flight: SIGKILL, resumed on another rank count"
for spec in "moon --set algorithm.name=moon" \
            "semi --set algorithm.name=heterofl --set algorithm.schedule=semi_async --set algorithm.rates=1,0.5"; do
  read -r -a words <<<"$spec"
  name=${words[0]}
  extra=("${words[@]:1}")
  run_ok "$name-reference" 3 run "$TMP/exp.toml" "${common[@]}" "${extra[@]}" --out "$TMP/$name-reference.h5"
  interrupt KILL "$name" "${extra[@]}"
  [[ -f $TMP/$name.h5.ckpt ]] || { cat "$TMP/$name.log" >&2; fail "$name: no checkpoint"; }
  run_ok "$name-resume" 2 run "$TMP/exp.toml" "${common[@]}" "${extra[@]}" --out "$TMP/$name.h5" --resume
  grep -q "resuming .* after round" "$TMP/$name-resume.log" || fail "$name: the resumed run did not resume"
  h5check identical "$TMP/$name-reference.h5" "$TMP/$name.h5"
done
