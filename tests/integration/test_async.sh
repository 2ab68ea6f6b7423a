#!/usr/bin/env bash
# Asynchronous aggregation. FedAsync applies every update as it arrives (1 per /rounds row),
# FedBuff every K buffered updates; tasks are applied in virtual-time order with their
# staleness recorded; at most `concurrency` devices train at once; and the whole run is
# bit-identical for -np 1, 2 and 3 (results are ordered by virtual time, not arrival).
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

write_device_set "$TMP/devs.toml" "agx 1.0 4GiB 200 5" "nx 1.67 4GiB 150 5" "nano 6.0 2GiB 40 10" \
  '"agx", "nx", "nano", "nano", "nx", "agx"'
write_config "$TMP/exp.toml" devs.toml 6 12
common=(--set data.train_samples=1800 --set data.test_samples=300 --set algorithm.concurrency=4)
for alg in fedasync fedbuff; do
  for np in 1 2 3; do
    run_ok "$alg-np$np" "$np" run "$TMP/exp.toml" "${common[@]}" --set algorithm.name=$alg \
      $([[ $alg == fedbuff ]] && echo --set algorithm.buffer_size=3) --out "$TMP/$alg-np$np.h5"
  done
  h5check identical "$TMP/$alg-np1.h5" "$TMP/$alg-np2.h5"
  h5check identical "$TMP/$alg-np1.h5" "$TMP/$alg-np3.h5"
done

"$PYTHON" - "$TMP" <<'PY'
import sys
import h5py
import numpy as np
tmp = sys.argv[1]
for alg, k in (("fedasync", 1), ("fedbuff", 3)):
    with h5py.File(f"{tmp}/{alg}-np2.h5", "r") as f:
        r, t = f["rounds"][:], f["tasks"][:]
    assert r["round"][0] == 0 and r["participants"][0] == 0, "round 0: the initial model"
    r = r[1:]
    assert len(r) == 12 and (r["participants"] == k).all(), (alg, r["participants"])
    assert len(t) == 12 * k, len(t)
    assert (np.diff(t["end_s"]) >= 0).all(), "updates must be applied in virtual-time order"
    assert (t["staleness"] >= 0).all() and (t["staleness"] > 0).any(), t["staleness"]
    assert (np.diff(r["virtual_time_s"]) >= 0).all()
    # At most 4 tasks overlap at any moment (concurrency = 4).
    for s in t["start_s"]:
        running = np.count_nonzero((t["start_s"] <= s) & (t["end_s"] > s))
        assert running <= 4, (alg, s, running)
    assert r["test_accuracy"][-1] > 0.25, f"{alg} does not learn: {r['test_accuracy'][-1]}"
    print(f"  ok: {alg}: {k} update(s) per aggregation, applied in virtual-time order, staleness up to "
          f"{t['staleness'].max()}, <= 4 devices training at once, final accuracy {r['test_accuracy'][-1]:.2f}")
PY
