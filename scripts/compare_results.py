#!/usr/bin/python3
"""Compares two directories of edgesim results files table by table, byte for byte.

    /usr/bin/python3 scripts/compare_results.py DIR_A DIR_B

Used by scripts/compare-results.sh to show that a change to edgesim leaves its results
unchanged. For every *.h5 in either directory: /rounds, /tasks and /width_eval must be in
both files and equal, column by column, as raw bytes (so NaN == NaN when the bits match),
except wall-clock columns (any field whose name contains "wall": wall_time_s,
aggregation_wall_s). Every other dataset present in both files (/devices, /label_histogram,
/status, a future /transfers...) is compared the same way; one present on one side only is
reported but is not a failure; so is a column only the second directory's file has (a schema
addition). A file missing on one side is a failure. Round 0 (the initial
model) in /rounds and /width_eval on one side only is left out of the comparison, with a note.
Prints one line per file and a summary; exit 0 only if everything matches.
"""
import sys
from pathlib import Path

import h5py
import numpy as np

REQUIRED = ("rounds", "tasks", "width_eval")


def open_h5(path):
    # SWMR read also opens files whose writer was killed (see docs/RESULTS.md).
    try:
        return h5py.File(path, "r", swmr=True)
    except OSError:
        return h5py.File(path, "r")


def datasets(f):
    out = {}

    def visit(name, obj):  # a non-None return would stop visititems
        if isinstance(obj, h5py.Dataset):
            out[name] = np.asarray(obj[()])
    f.visititems(visit)
    return out


def first_difference(a, b):
    """Row index and values of the first row whose bytes differ, or None."""
    a, b = np.atleast_1d(a), np.atleast_1d(b)
    for i in range(min(len(a), len(b))):
        if a[i:i + 1].tobytes() != b[i:i + 1].tobytes():
            return i, a[i], b[i]
    return None


def compare_table(name, a, b):
    """A description of the first difference of two datasets, or None if they match."""
    if a.dtype.names is None or b.dtype.names is None:
        if a.dtype != b.dtype or a.shape != b.shape:
            return f"/{name}: dtype/shape {a.dtype}{a.shape} vs {b.dtype}{b.shape}"
        d = first_difference(a, b)
        return None if d is None else f"/{name}: row {d[0]}: {d[1]!r} vs {d[2]!r}"
    fields_a = [n for n in a.dtype.names if "wall" not in n]
    fields_b = [n for n in b.dtype.names if "wall" not in n]
    # A column the new side added (a schema addition) is reported, not compared; one it lost,
    # or a reordering, is a difference.
    added = [n for n in fields_b if n not in fields_a]
    if [n for n in fields_b if n in fields_a] != fields_a:
        return f"/{name}: columns differ: {fields_a} vs {fields_b}"
    if added:
        print(f"  note: /{name}: column(s) only in the new file, not compared: {', '.join(added)}")
    if len(a) != len(b):
        return f"/{name}: {len(a)} rows vs {len(b)}"
    for col in fields_a:
        x, y = a[col], b[col]  # one column at a time: multi-field views keep the full itemsize
        if x.dtype != y.dtype:
            return f"/{name}.{col}: dtype {x.dtype} vs {y.dtype}"
        if x.tobytes() != y.tobytes():
            i, vx, vy = first_difference(x, y)
            bits = f" (bits {x[i:i + 1].tobytes().hex()} vs {y[i:i + 1].tobytes().hex()})" if repr(vx) == repr(vy) else ""
            return f"/{name}.{col}: first difference at row {i}: {vx!r} vs {vy!r}{bits}"
    return None


def compare_file(pa, pb):
    """(ok, message) for one pair of files."""
    with open_h5(pa) as fa, open_h5(pb) as fb:
        da, db = datasets(fa), datasets(fb)
    notes, rows = [], []
    # Files from before round 0 (the initial model, run.eval_initial) existed lack its rows: a
    # change that only adds them compares equal on the rest, with a note.
    for name in ("rounds", "width_eval"):
        if name in da and name in db and len(da[name]) and "round" in (da[name].dtype.names or ()):
            za, zb = (np.any(d[name]["round"] == 0) if len(d[name]) else False for d in (da, db))
            if za != zb:
                for d in (da, db):
                    d[name] = d[name][d[name]["round"] != 0]
                notes.append(f"/{name} round 0 only in {'A' if za else 'B'}")
    for name in sorted(set(da) | set(db)):
        if name not in da or name not in db:
            side = "B" if name in db else "A"
            if name in REQUIRED:
                return False, f"/{name} only in {side}"
            notes.append(f"/{name} only in {side}")
            continue
        diff = compare_table(name, da[name], db[name])
        if diff:
            return False, diff
        if name in REQUIRED:
            rows.append(f"{name} {len(da[name])}")
    return True, "identical (" + ", ".join(rows) + ")" + "".join(f"; note: {n}" for n in notes)


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    dir_a, dir_b = Path(sys.argv[1]), Path(sys.argv[2])
    for d in (dir_a, dir_b):
        if not d.is_dir():
            sys.exit(f"{d}: not a directory")
    names = sorted({p.name for p in dir_a.glob("*.h5")} | {p.name for p in dir_b.glob("*.h5")})
    if not names:
        sys.exit(f"no *.h5 files in {dir_a} or {dir_b}")
    failed = []
    for name in names:
        pa, pb = dir_a / name, dir_b / name
        if not pa.exists() or not pb.exists():
            ok, msg = False, f"missing in {dir_a if not pa.exists() else dir_b}"
        else:
            try:
                ok, msg = compare_file(pa, pb)
            except OSError as e:
                ok, msg = False, f"cannot read: {e}"
        print(f"{'ok  ' if ok else 'DIFF'} {name}: {msg}")
        if not ok:
            failed.append(name)
    print(f"summary: {len(names) - len(failed)} of {len(names)} files identical"
          + (f"; differ: {', '.join(failed)}" if failed else ""))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
