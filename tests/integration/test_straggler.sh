#!/usr/bin/env bash
# A straggler under the two round rules. Three `fast` devices and one `slow` one (4x the
# compute time), identical links, IID data of equal size on every device:
#  (a) wait_all: the slow task's compute_s is exactly 4x the others', and every round lasts
#      as long as the slow task, with all 4 updates accepted;
#  (b) deadline, set from the durations measured in (a) to after the fast tasks end but
#      while the slow one still computes: the slow task is dropped (cancelled at the
#      deadline) every round, 3 updates accepted, and every round lasts exactly deadline_s.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

write_device_set "$TMP/fastslow.toml" \
  "fast 1.0 4GiB 100 0" "slow 4.0 4GiB 100 0" \
  '"fast", "fast", "fast", "slow"'
write_config "$TMP/straggler.toml" fastslow.toml 4 3
# 2000 samples / 4 devices: 500 each.
common=(--set data.partition=iid --set data.train_samples=2000)

echo "(a) straggler = wait_all"
run_ok wait_all 2 run "$TMP/straggler.toml" "${common[@]}" --out "$TMP/wait_all.h5"
h5check straggler-wait-all "$TMP/wait_all.h5" --slow 3 --slowdown 4 --devices 4 --rounds 3

deadline=$(h5check deadline-between "$TMP/wait_all.h5" --slow 3)
echo "(b) straggler = deadline, deadline_s = $deadline"
run_ok deadline 2 run "$TMP/straggler.toml" "${common[@]}" \
  --set algorithm.straggler=deadline --set "algorithm.deadline_s=$deadline" --out "$TMP/deadline.h5"
h5check straggler-deadline "$TMP/deadline.h5" --slow 3 --deadline "$deadline" --devices 4 --rounds 3
