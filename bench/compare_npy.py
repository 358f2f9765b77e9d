#!/usr/bin/python3
"""Compares every .npy file present in both A_DIR and B_DIR element-wise.

Usage: compare_npy.py A_DIR B_DIR [--rtol 1e-8]

For each file present in both: rel = |a - b| / max(|a|, |b|, 1e-300),
except that elements where both |a| and |b| are < 1e-14 * max|b| (max over
the file's B array) are ignored.  Prints the max rel per file.  A shape
mismatch or a NaN/inf disagreement counts as rel = inf.

Exit status: 2 if a file in A_DIR is missing from B_DIR (each is printed),
otherwise 1 if any file's max rel exceeds rtol, otherwise 0.
"""
import argparse
import os
import sys

import numpy as np


def max_rel_diff(a, b):
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        return float("inf")
    if a.size == 0:
        return 0.0
    fin = np.isfinite(a) & np.isfinite(b)
    if np.any(~fin & ~(a == b)):      # NaN anywhere, or inf vs other
        return float("inf")
    a, b = a[fin], b[fin]
    if a.size == 0:
        return 0.0
    aa, ab = np.abs(a), np.abs(b)
    floor = 1e-14 * ab.max()
    keep = ~((aa < floor) & (ab < floor))
    if not keep.any():
        return 0.0
    den = np.maximum(np.maximum(aa, ab), 1e-300)
    return float((np.abs(a - b) / den)[keep].max())


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("a_dir")
    ap.add_argument("b_dir")
    ap.add_argument("--rtol", type=float, default=1e-8)
    a = ap.parse_args(argv)
    names = sorted(f for f in os.listdir(a.a_dir) if f.endswith(".npy"))
    missing = [f for f in names
               if not os.path.exists(os.path.join(a.b_dir, f))]
    worst_ok = True
    for f in names:
        if f in missing:
            continue
        r = max_rel_diff(np.load(os.path.join(a.a_dir, f)),
                         np.load(os.path.join(a.b_dir, f)))
        bad = not r <= a.rtol
        worst_ok &= not bad
        print("%-24s max rel diff %.3e%s" % (f, r, "  FAIL" if bad else ""))
    for f in missing:
        print("%-24s missing in %s" % (f, a.b_dir))
    if missing:
        return 2
    return 0 if worst_ok else 1


if __name__ == "__main__":
    sys.exit(main())
