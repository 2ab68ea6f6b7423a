#!/usr/bin/env bash
# A device whose memory cap is below the model's training footprint (the CNN at batch 32
# needs ~8 MB) fails every task with status "oom", computes nothing, and its update is left
# out of the average: the global model (test loss/accuracy, train loss) is bit-identical to
# a run where the same device trains but misses the deadline, and differs from a run where
# all 4 devices contribute.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

normal="normal 1.0 4GiB 100 0"
write_device_set "$TMP/oom.toml" "$normal" "tiny 1.0 1MiB 100 0" \
  '"normal", "normal", "normal", "tiny"'
# Same device 3, but with room to train and 1000x slower: it always misses a 5 s deadline
# that the others (~0.2 s per task) always meet.
write_device_set "$TMP/crawl.toml" "$normal" "crawl 1000 4GiB 100 0" \
  '"normal", "normal", "normal", "crawl"'
write_device_set "$TMP/all.toml" "$normal" '"normal", "normal", "normal", "normal"'
write_config "$TMP/oomtest.toml" oom.toml 4 2

echo "device 3 out of memory (wait_all):"
run_ok oom 2 run "$TMP/oomtest.toml" --out "$TMP/oom.h5"
h5check excluded "$TMP/oom.h5" --device 3 --status oom --devices 4 --rounds 2

echo "device 3 dropped by a deadline:"
run_ok crawl 2 run "$TMP/oomtest.toml" --set "devices.profiles=$TMP/crawl.toml" \
  --set algorithm.straggler=deadline --set algorithm.deadline_s=5 --out "$TMP/crawl.h5"
h5check excluded "$TMP/crawl.h5" --device 3 --status dropped --devices 4 --rounds 2

echo "all 4 devices contribute:"
run_ok all 2 run "$TMP/oomtest.toml" --set "devices.profiles=$TMP/all.toml" --out "$TMP/all.h5"

model_fields=test_loss,test_accuracy,train_loss
echo "oom run vs dropped run (same global model):"
h5check identical "$TMP/oom.h5" "$TMP/crawl.h5" --fields "$model_fields" --no-tasks
echo "oom run vs all-devices run (must differ):"
h5check differ "$TMP/oom.h5" "$TMP/all.h5" --fields "$model_fields"
