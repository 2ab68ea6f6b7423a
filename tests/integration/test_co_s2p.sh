#!/usr/bin/env bash
# Co-S²P (`algorithm.name = "co-s2p"`): the ViT (6 blocks, exits after 2 and 4) on real
# fashion-mnist-32, 6 devices of rates 1, 0.67 and 0.34 (the deepest on the fastest devices) under
# the semi-asynchronous schedule (K = ceil(0.5·6) = 3 reports per aggregation). Devices train depth prefixes of 6, 4 and 2
# blocks with the exits among them, narrower by the rate (`co_s2p_width = "prefix"`), with
# cross-block transfer from round 2. Checked: bit-identical at -np 1 and 3; the global model
# learns above chance; every exit in use is reported (/width_eval 2/6, 4/6); the shallow devices
# are charged less memory and compute; some updates arrive stale; the
# resource utilisation is written and consistent with /tasks; the distillation terms change the
# run; with learned masks (`co_s2p_width = "learned"`) the devices then train smaller submodels
# of the units they kept; killed at -np 3 and resumed at -np 2 (the masks in the checkpoint), the
# run is identical to the uninterrupted one at -np 1 (so the masks are rank-count independent too).
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# The full-depth devices are the fast, well-connected ones (as the authors' GPU sites): with equal
# devices they would always arrive last and stale, and the staleness-aware weights would all but
# ignore the only updates of the model's own classifier.
write_device_set "$TMP/dev.toml" "gpu 0.1 4GiB 1000 5" "mid 0.35 4GiB 100 5" "small 1.0 4GiB 100 5" \
  '"gpu", "mid", "small"'
write_config "$TMP/exp.toml" dev.toml 6 8
common=(--set data.dataset=fashion-mnist-32 --set data.train_samples=1200 --set data.test_samples=300
        --set algorithm.local_epochs=2
        --set model.name=vit --set model.layers=6 --set model.early_exits=true --set model.exit_blocks=2,4
        --set devices.memory=estimated --set algorithm.lr=0.01 --set algorithm.name=co-s2p
        --set algorithm.rates=1,0.67,0.34 --set algorithm.co_s2p_distill_from=2 --set algorithm.co_s2p_width=prefix)

run_ok np1 1 run "$TMP/exp.toml" "${common[@]}" --out "$TMP/np1.h5"
run_ok np3 3 run "$TMP/exp.toml" "${common[@]}" --out "$TMP/np3.h5"
grep -q "utilisation" "$TMP/np1.log" || fail "the summary line does not give the utilisation"
run_ok nokd 2 run "$TMP/exp.toml" "${common[@]}" --set run.rounds=3 --set algorithm.co_s2p_distill_from=1000 --out "$TMP/nokd.h5"
# 9 rounds, a checkpoint every 3 (no effect on results): the reference of the resume check below.
learned=(--set algorithm.co_s2p_width=learned --set algorithm.co_s2p_mask_rounds=1 --set algorithm.co_s2p_mask_epochs=2
         --set run.checkpoint_every=3 --set run.rounds=9)
run_ok learned1 1 run "$TMP/exp.toml" "${common[@]}" "${learned[@]}" --out "$TMP/learned1.h5"
# Rates derived from the memory caps (rate_rule) with learned masks: the footprint of each level
# is the trainer's own (this once crashed before any task ran).
run_ok derived 1 run "$TMP/exp.toml" "${common[@]}" "${learned[@]}" --set algorithm.rates= \
  --set algorithm.rate_levels=1,0.67,0.34 --set run.rounds=1 --out "$TMP/derived.h5"
grep -q "rate_rule" "$TMP/derived.log" || fail "the start-up summary does not say how the rates were derived"
h5check complete "$TMP/np1.h5" --rounds 8
echo "np1 vs np3:"
h5check identical "$TMP/np1.h5" "$TMP/np3.h5"

"$PYTHON" - "$TMP" <<'PY'
import sys
import h5py
import numpy as np

tmp = sys.argv[1]
def load(name):
    with h5py.File(f"{tmp}/{name}.h5", "r") as f:
        return f["rounds"][:], f["tasks"][:], f["width_eval"][:], f["final_model"][:], dict(f.attrs)

rounds, tasks, widths, final, attrs = load("np1")
acc = rounds["test_accuracy"]
assert (tasks["status"] == b"ok").all(), tasks["status"]
assert acc[-1] > 0.15 and acc.max() > 0.2, f"co-s2p does not learn fashion-mnist-32 (chance 0.1): {acc}"
print(f"  ok: the global model learns: {acc[0]:.1%} -> {acc[-1]:.1%}")
assert sorted(set(np.round(widths["rate"], 4).tolist())) == [round(2 / 6, 4), round(4 / 6, 4)], widths["rate"]
last = widths[widths["round"] == rounds["round"][-1]]
print("  ok: each exit in use is evaluated (last round: " +
      ", ".join(f"{r:.2f}: {a:.1%}" for r, a in zip(last["rate"], last["test_accuracy"])) + ")")
rate = {d: tasks["rate"][tasks["device"] == d][0] for d in range(6)}
assert [round(rate[d], 2) for d in range(3)] == [1.0, 0.67, 0.34], rate
mem = {d: tasks["memory_bytes"][tasks["device"] == d][0] for d in range(3)}
flops = {d: tasks["flops"][tasks["device"] == d][0] for d in range(3)}
assert mem[0] > mem[1] > mem[2] and flops[0] > flops[1] > flops[2], (mem, flops)
count = np.bincount(tasks["device"], minlength=6)
print(f"  ok: deeper prefixes cost more (memory {mem[0]} > {mem[1]} > {mem[2]} B); reports per device {count.tolist()}")
assert (rounds["participants"][1:] >= 3).all(), rounds["participants"]
assert tasks["staleness"].max() >= 1, "semi-asynchronous: some updates should arrive stale"
print(f"  ok: >= K = 3 reports per aggregation, staleness up to {tasks['staleness'].max()}")
u = attrs["resource_utilisation"]
expect = tasks["compute_s"].sum() / (rounds["virtual_time_s"][-1] * 6)
assert 0 < u <= 1 and abs(u - expect) < 1e-9 * max(1, expect), (u, expect)
print(f"  ok: resource utilisation {u:.1%} = sum of compute_s / (virtual time x 6)")
nokd_rounds, nokd_tasks, _, _, _ = load("nokd")
n = len(nokd_tasks)
assert (nokd_tasks["flops"] == tasks["flops"][:n]).all(), "distillation should cost no extra passes"
assert (nokd_tasks["end_s"] == tasks["end_s"][:n]).all(), "same schedule without distillation"
# Tasks from round 2 on distil: the model after aggregation 3 differs (its test loss).
assert nokd_rounds["test_loss"][1] == rounds["test_loss"][1], "round 1: no distillation in either"
assert nokd_rounds["test_loss"][3] != rounds["test_loss"][3], "the distillation terms should change the training"
print("  ok: cross-block transfer changes the weights, not the charged passes")

# Learned masks: a device of rate < 1 learns them on its first task (round 1, or its first later
# one) at full width, then trains the physically smaller submodel of the units it kept.
_, lt, _, _, _ = load("learned1")
for d in range(6):
    mine = lt[lt["device"] == d]
    if round(rate[d], 2) == 1.0:
        assert (mine["memory_bytes"] == mine["memory_bytes"][0]).all(), "rate 1 keeps every unit"
        continue
    assert len(mine) >= 2, (d, mine)
    first, later = mine[0], mine[1:]
    assert (later["memory_bytes"] < first["memory_bytes"]).all() and (later["flops"] < first["flops"]).all(), (d, mine)
    # About r of the units: near the static prefix of the same rate.
    prefix = tasks["memory_bytes"][tasks["device"] == d][0]
    assert abs(later["memory_bytes"][0] / prefix - 1) < 0.3, (d, later["memory_bytes"][0], prefix)
print("  ok: learned masks: after its mask task every device of rate < 1 trains a smaller submodel, "
      "about the size of the static prefix's")
PY

echo "resume: a semi-asynchronous co-s2p run with learned masks killed at np 3, resumed at np 2, vs np 1"
common+=("${learned[@]}")
interrupt KILL killed
[[ -f $TMP/killed.h5.ckpt ]] || { cat "$TMP/killed.log" >&2; fail "no checkpoint"; }
run_ok resumed 2 run "$TMP/exp.toml" "${common[@]}" --out "$TMP/killed.h5" --resume
grep -q "resuming .* after round" "$TMP/resumed.log" || fail "the resumed run did not resume"
h5check identical "$TMP/learned1.h5" "$TMP/killed.h5"
"$PYTHON" - "$TMP" <<'PY'
import sys
import h5py

u = [h5py.File(f"{sys.argv[1]}/{n}.h5", "r").attrs["resource_utilisation"] for n in ("learned1", "killed")]
assert u[0] == u[1] and 0 < u[0] <= 1, u
print(f"  ok: the resumed run reports the uninterrupted run's utilisation ({u[0]:.1%}: the checkpoint carries its sum)")
PY

expect_error noexits 0 "model.early_exits" -- run "$TMP/exp.toml" --set algorithm.name=co-s2p
