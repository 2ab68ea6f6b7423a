#!/usr/bin/python3
"""Checks of edgesim results files for the integration tests.

    /usr/bin/python3 tests/integration/h5check.py SUBCOMMAND ARGS...

Every subcommand prints what it checked and exits 0 when the check holds, 1 when it does
not (an uncaught exception also exits 1), so a test can simply run it under `set -e`.
`deadline-between` and `wait-rounds` are helpers rather than checks; see their help.

Files are opened with SWMR read access: that is what works on a file whose writer is still
running or was killed (HDF5 refuses a plain open while the SWMR-writer mark is set).
"""
import argparse
import sys
import time

import h5py
import numpy as np

ROUND_FIELDS_NO_WALL = ("round", "virtual_time_s", "test_accuracy", "test_loss",
                        "train_loss", "participants", "dropped", "bytes_up", "bytes_down")


class CheckFailed(Exception):
    pass


def require(cond, msg):
    if not cond:
        raise CheckFailed(msg)


def ok(msg):
    print(f"  ok: {msg}")


def open_h5(path):
    try:
        return h5py.File(path, "r", swmr=True)
    except OSError:
        return h5py.File(path, "r")


def load(path):
    with open_h5(path) as f:
        status = f["status"][()]
        return {"rounds": f["rounds"][()], "tasks": f["tasks"][()],
                "devices": f["devices"][()], "status": status}


def trained(rounds):
    """The training rounds of /rounds: every row but round 0 (the initial model)."""
    return rounds[rounds["round"] >= 1]


def check_initial_row(rounds):
    """Round 0 (run.eval_initial, the default): one row, first, at virtual time 0, with no
    participants, evaluated."""
    zero = rounds[rounds["round"] == 0]
    require(len(zero) == 1 and rounds["round"][0] == 0, f"expected one round-0 row first, got "
            f"round numbers {list(rounds['round'][:3])}...")
    z = zero[0]
    require(float(z["virtual_time_s"]) == 0.0 and int(z["participants"]) == 0 and
            not np.isnan(z["test_accuracy"]), f"round 0: virtual_time_s {z['virtual_time_s']!r}, "
            f"participants {z['participants']}, test_accuracy {z['test_accuracy']!r}")


def status_text(row):
    s = row["status"]
    return s.decode() if isinstance(s, bytes) else str(s)


def tasks_by_round(run):
    out = {}
    for t in run["tasks"]:
        out.setdefault(int(t["round"]), []).append(t)
    return out


def field_list(text, default):
    return tuple(text.split(",")) if text else default


# --- comparisons -----------------------------------------------------------------------

def differing_fields(a, b, fields):
    """Names of the fields whose bytes differ (per field: numpy multi-field indexing would
    keep the full row itemsize, wall_time_s included)."""
    require(len(a) == len(b), f"row counts differ: {len(a)} vs {len(b)}")
    for name in fields:
        require(name in a.dtype.names and name in b.dtype.names, f"no field {name!r}")
    return [n for n in fields if a[n].tobytes() != b[n].tobytes() or a[n].dtype != b[n].dtype]


def describe_difference(a, b, name):
    x, y = a[name], b[name]
    for i in range(len(x)):
        if x[i:i + 1].tobytes() != y[i:i + 1].tobytes():
            return f"{name}: first difference at row {i}: {x[i]!r} vs {y[i]!r}"
    return f"{name}: dtypes {x.dtype} vs {y.dtype}"


def cmd_identical(args):
    a, b = load(args.a), load(args.b)
    fields = field_list(args.fields, ROUND_FIELDS_NO_WALL)
    require(len(a["rounds"]) > 0, f"{args.a}: /rounds is empty")
    diff = differing_fields(a["rounds"], b["rounds"], fields)
    require(not diff, f"/rounds of {args.a} and {args.b} differ: " +
            "; ".join(describe_difference(a["rounds"], b["rounds"], n) for n in diff))
    ok(f"/rounds identical bit for bit ({len(a['rounds'])} rows; {', '.join(fields)})")
    if not args.no_tasks:
        ta, tb = a["tasks"], b["tasks"]
        require(ta.dtype == tb.dtype, f"/tasks dtypes differ: {ta.dtype} vs {tb.dtype}")
        require(len(ta) > 0, f"{args.a}: /tasks is empty")
        diff = differing_fields(ta, tb, ta.dtype.names)
        require(not diff, f"/tasks of {args.a} and {args.b} differ: " +
                "; ".join(describe_difference(ta, tb, n) for n in diff))
        ok(f"/tasks identical bit for bit ({len(ta)} rows, all columns)")


def cmd_differ(args):
    a, b = load(args.a), load(args.b)
    fields = field_list(args.fields, ROUND_FIELDS_NO_WALL)
    require(len(a["rounds"]) > 0 and len(a["rounds"]) == len(b["rounds"]),
            f"expected two non-empty /rounds of equal length, got {len(a['rounds'])} and "
            f"{len(b['rounds'])}")
    diff = differing_fields(a["rounds"], b["rounds"], fields)
    require(diff, f"/rounds of {args.a} and {args.b} are identical in {', '.join(fields)}; "
            "expected them to differ")
    ok(f"/rounds differ in {', '.join(diff)} "
       f"(e.g. {describe_difference(a['rounds'], b['rounds'], diff[0])})")


def cmd_selection(args):
    run = load(args.file)
    by_round = tasks_by_round(run)
    picked = {k: tuple(sorted(int(t["device"]) for t in v)) for k, v in by_round.items()}
    require(all(len(p) == args.per_round for p in picked.values()),
            f"devices picked per round: {picked}, expected {args.per_round} each")
    require(len(set(picked.values())) > 1, f"every round picked the same devices {picked}; "
            "the selection does not exercise the seeded draw")
    ok(f"{args.per_round} devices picked per round, not always the same: {picked}")


# --- stragglers ------------------------------------------------------------------------

def check_round_shape(run, rounds, devices):
    check_initial_row(run["rounds"])
    r = trained(run["rounds"])
    require(len(r) == rounds, f"expected {rounds} rounds, got {len(r)}")
    require(list(r["round"]) == list(range(1, rounds + 1)), f"round numbers {list(r['round'])}")
    by_round = tasks_by_round(run)
    for k in range(1, rounds + 1):
        devs = sorted(int(t["device"]) for t in by_round.get(k, []))
        require(devs == list(range(devices)), f"round {k}: tasks of devices {devs}, "
                f"expected every one of 0..{devices - 1}")
    ok(f"{rounds} rounds, every one with a task on each of the {devices} devices")
    check_task_times(run)
    return by_round


def check_task_times(run):
    """The documented identities of /tasks times (docs/RESULTS.md)."""
    for t in run["tasks"]:
        where = f"round {t['round']} device {t['device']} ({status_text(t)})"
        parts = float(t["download_s"]) + float(t["compute_s"]) + float(t["upload_s"])
        require(abs(duration(t) - parts) < 1e-9, f"{where}: end_s - start_s = "
                f"{duration(t)!r} but download_s + compute_s + upload_s = {parts!r}")
        comm = float(t["download_s"]) + float(t["upload_s"])
        require(abs(float(t["comm_s"]) - comm) < 1e-12, f"{where}: comm_s = "
                f"{float(t['comm_s'])!r}, download_s + upload_s = {comm!r}")
        require(min(float(t[c]) for c in ("download_s", "compute_s", "upload_s")) >= 0,
                f"{where}: negative time")
    ok(f"every task: end_s - start_s = download_s + compute_s + upload_s, "
       "comm_s = download_s + upload_s")


def duration(t):
    return float(t["end_s"]) - float(t["start_s"])


def rel_err(x, y):
    return abs(x - y) / abs(y)


def cmd_straggler_wait_all(args):
    run = load(args.file)
    by_round = check_round_shape(run, args.rounds, args.devices)
    rounds = trained(run["rounds"])
    prev_end = 0.0
    for k in range(1, args.rounds + 1):
        tasks = by_round[k]
        slow = [t for t in tasks if int(t["device"]) == args.slow][0]
        fast = [t for t in tasks if int(t["device"]) != args.slow]
        require(all(status_text(t) == "ok" for t in tasks), f"round {k}: statuses "
                f"{[status_text(t) for t in tasks]}, expected all 'ok'")
        require(len({int(t["samples"]) for t in tasks}) == 1,
                f"round {k}: sample counts differ {[int(t['samples']) for t in tasks]}")
        for t in fast:
            ratio = float(slow["compute_s"]) / float(t["compute_s"])
            require(rel_err(ratio, args.slowdown) < 1e-9,
                    f"round {k}: slow compute_s {slow['compute_s']!r} / device {t['device']} "
                    f"compute_s {t['compute_s']!r} = {ratio!r}, expected {args.slowdown}")
            require(duration(slow) > duration(t), f"round {k}: slow task lasts "
                    f"{duration(slow)} s, not longer than device {t['device']}'s {duration(t)} s")
        require(all(float(t["start_s"]) == prev_end for t in tasks),
                f"round {k}: tasks start at {[float(t['start_s']) for t in tasks]}, expected "
                f"the previous round's end {prev_end}")
        row = rounds[k - 1]
        vt = float(row["virtual_time_s"])
        require(vt == float(slow["end_s"]), f"round {k}: virtual_time_s {vt!r} != the slow "
                f"task's end_s {float(slow['end_s'])!r}")
        require(rel_err(vt - prev_end, duration(slow)) < 1e-12, f"round {k}: round lasted "
                f"{vt - prev_end!r} s, the slow task {duration(slow)!r} s")
        require(int(row["participants"]) == args.devices and int(row["dropped"]) == 0,
                f"round {k}: participants={row['participants']} dropped={row['dropped']}, "
                f"expected {args.devices} and 0")
        prev_end = vt
    ok(f"slow device {args.slow}: compute_s = {args.slowdown} x each fast device's "
       "(rel. err < 1e-9) and its task lasts longer, every round")
    ok("each round ends when the slow task does (virtual_time_s increment = its duration)")
    ok(f"participants = {args.devices}, dropped = 0 every round")


def cmd_deadline_between(args):
    """Prints a deadline after every fast task has ended but while the slow one is still
    computing: halfway between the longest fast task and the slow task's end of compute
    (download_s + compute_s), so the deadline cuts its compute short."""
    run = load(args.file)
    fast = [duration(t) for t in run["tasks"] if int(t["device"]) != args.slow]
    slow = [float(t["download_s"]) + float(t["compute_s"]) for t in run["tasks"]
            if int(t["device"]) == args.slow]
    require(fast and slow, "need tasks of both the slow and the other devices")
    require(max(fast) < min(slow), f"fast tasks last up to {max(fast)} s, the slow one "
            f"computes until {min(slow)} s: no deadline separates them")
    print(repr((max(fast) + min(slow)) / 2))


def cmd_straggler_deadline(args):
    run = load(args.file)
    by_round = check_round_shape(run, args.rounds, args.devices)
    rounds = trained(run["rounds"])
    deadline = float(args.deadline)
    prev_end = 0.0
    for k in range(1, args.rounds + 1):
        for t in by_round[k]:
            want = "dropped" if int(t["device"]) == args.slow else "ok"
            require(status_text(t) == want, f"round {k}: device {t['device']} has status "
                    f"{status_text(t)!r}, expected {want!r}")
            require(float(t["start_s"]) == prev_end, f"round {k}: device {t['device']} "
                    f"starts at {float(t['start_s'])!r}, expected {prev_end!r}")
            end, cutoff = float(t["end_s"]), prev_end + deadline
            if want == "ok":
                require(end <= cutoff, f"round {k}: device {t['device']} is 'ok' but ends "
                        f"at {end!r}, after the deadline {cutoff!r}")
                continue
            # A dropped task is cancelled at the deadline: it ends there, stops computing
            # there (the deadline falls in its compute phase) and uploads nothing.
            require(end == cutoff, f"round {k}: dropped task ends at {end!r}, expected the "
                    f"deadline {cutoff!r}")
            busy = float(t["download_s"]) + float(t["compute_s"])
            require(rel_err(busy, cutoff - prev_end) < 1e-12, f"round {k}: dropped task "
                    f"downloads + computes for {busy!r} s, expected to compute until the deadline "
                    f"({cutoff - prev_end!r} s)")
            require(float(t["upload_s"]) == 0.0, f"round {k}: dropped task uploads for "
                    f"{float(t['upload_s'])!r} s, expected 0")
        row = rounds[k - 1]
        vt = float(row["virtual_time_s"])
        require(vt == prev_end + deadline, f"round {k}: virtual_time_s {vt!r}, expected "
                f"exactly previous end + deadline_s = {prev_end + deadline!r}")
        require(rel_err(vt - prev_end, deadline) < 1e-12,
                f"round {k}: lasted {vt - prev_end!r} s, deadline_s {deadline!r}")
        require(int(row["participants"]) == args.devices - 1 and int(row["dropped"]) == 1,
                f"round {k}: participants={row['participants']} dropped={row['dropped']}, "
                f"expected {args.devices - 1} and 1")
        prev_end = vt
    ok(f"slow device {args.slow} 'dropped' every round, cut at the deadline (end_s = "
       "deadline, download + compute up to it, no upload); the others 'ok' and done by then")
    ok(f"every round lasts exactly deadline_s = {deadline!r} s")
    ok(f"participants = {args.devices - 1}, dropped = 1 every round")


# --- devices left out (out of memory / dropped) ------------------------------------------

def cmd_excluded(args):
    run = load(args.file)
    by_round = check_round_shape(run, args.rounds, args.devices)
    cap = int(run["devices"][args.device]["memory_cap_bytes"])
    for k in range(1, args.rounds + 1):
        for t in by_round[k]:
            want = args.status if int(t["device"]) == args.device else "ok"
            require(status_text(t) == want, f"round {k}: device {t['device']} has status "
                    f"{status_text(t)!r}, expected {want!r}")
            if int(t["device"]) == args.device and args.status == "oom":
                require(float(t["compute_s"]) == 0.0, f"round {k}: oom task has compute_s "
                        f"{float(t['compute_s'])!r}, expected 0")
                require(int(t["memory_bytes"]) > cap, f"round {k}: oom task needs "
                        f"{int(t['memory_bytes'])} bytes, not more than the cap {cap}")
        row = trained(run["rounds"])[k - 1]
        require(int(row["participants"]) == args.devices - 1 and int(row["dropped"]) == 1,
                f"round {k}: participants={row['participants']} dropped={row['dropped']}, "
                f"expected {args.devices - 1} and 1")
    extra = (f", compute_s == 0 and memory_bytes > its cap of {cap} bytes"
             if args.status == "oom" else "")
    ok(f"device {args.device}: status {args.status!r} every round{extra}; the others 'ok'")
    ok(f"participants = {args.devices - 1}, dropped = 1 every round")


# --- language models -------------------------------------------------------------------

def cmd_lm_learns(args):
    with open_h5(args.file) as f:
        rounds, hist, devices = f["rounds"][()], f["label_histogram"], f["devices"][()]
        require(hist.shape == (len(devices), 0), f"/label_histogram has shape {hist.shape}, "
                f"expected ({len(devices)}, 0): text has no labels")
    loss = rounds["test_loss"][~np.isnan(rounds["test_loss"])]
    require(len(loss) >= 2, f"{len(loss)} evaluated rounds, need at least 2")
    require(loss[-1] < loss[0], f"test loss per token did not fall: {list(loss)}")
    train = trained(rounds)["train_loss"]
    require(train[-1] < train[0], f"train loss did not fall: {list(train)}")
    ppl = np.exp(loss)
    require(ppl[-1] < args.vocab, f"final perplexity {ppl[-1]:.2f} is not below the uniform "
            f"guess's {args.vocab} (the vocabulary size)")
    ok(f"test perplexity {ppl[0]:.2f} -> {ppl[-1]:.2f} (uniform guess: {args.vocab}), train loss "
       f"{train[0]:.3f} -> {train[-1]:.3f}; /label_histogram is {hist.shape}")


# --- run status ------------------------------------------------------------------------

def cmd_wait_rounds(args):
    """Waits until FILE exists and its /rounds has at least N rows (exit 1 on timeout)."""
    deadline = time.monotonic() + args.timeout
    last = None
    while time.monotonic() < deadline:
        try:
            with h5py.File(args.file, "r", swmr=True) as f:
                n = len(trained(f["rounds"][()]))
            if n >= args.n:
                print(f"  {args.file}: {n} rounds written")
                return
        except (OSError, KeyError) as e:  # not created yet, or not finished creating
            last = e
        time.sleep(0.1)
    raise CheckFailed(f"{args.file}: fewer than {args.n} rounds after {args.timeout} s "
                      f"(last error: {last})")


def cmd_killed(args):
    with h5py.File(args.file, "r", swmr=True) as f:
        rounds = f["rounds"][()]
        status = f["status"][()]
    require(len(trained(rounds)) >= args.min_rounds, f"/rounds has {len(trained(rounds))} training "
            f"rows, expected at least {args.min_rounds}")
    check_initial_row(rounds)
    vt = rounds["virtual_time_s"]
    require(bool(np.all(np.isfinite(vt))), f"non-finite virtual_time_s: {vt}")
    require(bool(np.all(np.diff(vt) > 0)), f"virtual_time_s not increasing: {vt}")
    rounds = trained(rounds)
    require(list(rounds["round"]) == list(range(1, len(rounds) + 1)),
            f"round numbers {list(rounds['round'])}")
    require(status == b"running", f"/status is {status!r}, expected b'running'")
    ok(f"killed run's file opens (SWMR read): round 0 and rounds 1..{len(rounds)}, "
       "finite increasing virtual_time_s")
    ok("/status is b'running'")


def cmd_complete(args):
    run = load(args.file)
    require(run["status"] == b"complete", f"/status is {run['status']!r}, expected b'complete'")
    check_initial_row(run["rounds"])
    n = len(trained(run["rounds"]))
    require(n == args.rounds, f"/rounds has {n} training rows (and round 0), expected {args.rounds}")
    ok(f"{args.file}: /status is b'complete', {args.rounds} rounds")


def main(argv):
    p = argparse.ArgumentParser(prog="h5check.py", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)

    s = sub.add_parser("identical", help="/rounds (minus wall_time_s) and /tasks are "
                       "identical bit for bit")
    s.add_argument("a")
    s.add_argument("b")
    s.add_argument("--fields", help="comma-separated /rounds fields (default: all but "
                   "wall_time_s)")
    s.add_argument("--no-tasks", action="store_true", help="do not compare /tasks")
    s.set_defaults(func=cmd_identical)

    s = sub.add_parser("differ", help="at least one of the /rounds fields differs")
    s.add_argument("a")
    s.add_argument("b")
    s.add_argument("--fields")
    s.set_defaults(func=cmd_differ)

    s = sub.add_parser("selection", help="K devices per round, not the same every round")
    s.add_argument("file")
    s.add_argument("--per-round", type=int, required=True)
    s.set_defaults(func=cmd_selection)

    for name, func in (("straggler-wait-all", cmd_straggler_wait_all),
                       ("straggler-deadline", cmd_straggler_deadline)):
        s = sub.add_parser(name)
        s.add_argument("file")
        s.add_argument("--slow", type=int, required=True, help="the slow device's id")
        s.add_argument("--devices", type=int, required=True)
        s.add_argument("--rounds", type=int, required=True)
        if name == "straggler-wait-all":
            s.add_argument("--slowdown", type=float, required=True)
        else:
            s.add_argument("--deadline", required=True, help="deadline_s as passed to edgesim")
        s.set_defaults(func=func)

    s = sub.add_parser("deadline-between", help="print a deadline between the fast and "
                       "the slow tasks' durations")
    s.add_argument("file")
    s.add_argument("--slow", type=int, required=True)
    s.set_defaults(func=cmd_deadline_between)

    s = sub.add_parser("excluded", help="one device's tasks are all 'oom' or 'dropped'")
    s.add_argument("file")
    s.add_argument("--device", type=int, required=True)
    s.add_argument("--status", choices=("oom", "dropped"), required=True)
    s.add_argument("--devices", type=int, required=True)
    s.add_argument("--rounds", type=int, required=True)
    s.set_defaults(func=cmd_excluded)

    s = sub.add_parser("lm-learns", help="a language model's loss falls and its test "
                       "perplexity ends below the vocabulary size; no label histogram")
    s.add_argument("file")
    s.add_argument("--vocab", type=int, required=True)
    s.set_defaults(func=cmd_lm_learns)

    s = sub.add_parser("wait-rounds", help="wait until the file has at least N training rounds (round 0 aside)")
    s.add_argument("file")
    s.add_argument("n", type=int)
    s.add_argument("--timeout", type=float, default=120)
    s.set_defaults(func=cmd_wait_rounds)

    s = sub.add_parser("killed", help="a killed run's file: readable, status 'running'")
    s.add_argument("file")
    s.add_argument("--min-rounds", type=int, required=True)
    s.set_defaults(func=cmd_killed)

    s = sub.add_parser("complete", help="status 'complete' and the expected round count")
    s.add_argument("file")
    s.add_argument("--rounds", type=int, required=True)
    s.set_defaults(func=cmd_complete)

    args = p.parse_args(argv)
    try:
        args.func(args)
    except CheckFailed as e:
        print(f"CHECK FAILED ({args.cmd}): {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
