#!/usr/bin/python3
"""scipy-free numpy references for the representation metrics of libplast.

Usage: ref_metrics.py make DIR SEED    (random arrays for test_metrics ref DIR)
       ref_metrics.py check DIR        (compares test_metrics' results, exit 1 on a mismatch)

  emd:         brute force over every bijection (n = 7: 5040 of them)
  emd_aligned: at least as small as emd, and no smaller than the best of a
               fine scan of rotations and reflections (1440 angles) by brute force
  pca:         numpy.linalg.eigh of the covariance, signed as plast_pca signs
  probe:       L2 logistic regression by plain gradient descent (no Newton),
               from zero to a gradient norm below 1e-12
"""
import itertools
import os
import sys

import numpy as np


def emd_brute(a, b):
    n = len(a)
    d = np.sqrt(((a[:, None, :] - b[None, :, :]) ** 2).sum(-1))
    return min(d[np.arange(n), list(p)].sum() for p in itertools.permutations(range(n))) / n


def make(dirname, seed):
    rng = np.random.default_rng(seed)
    os.makedirs(dirname, exist_ok=True)
    np.save(os.path.join(dirname, "a.npy"), rng.normal(size=(7, 2)))
    np.save(os.path.join(dirname, "b.npy"), rng.normal(size=(7, 2)) * [2.0, 0.5] + 0.3)
    np.save(os.path.join(dirname, "x.npy"), rng.normal(size=(40, 5)) @ rng.normal(size=(5, 5)))
    px = rng.normal(size=(30, 4))
    py = (px @ [1.0, -2.0, 0.5, 0.0] + 0.7 * rng.normal(size=30) > 0).astype(np.int64)
    np.save(os.path.join(dirname, "px.npy"), px)
    np.save(os.path.join(dirname, "py.npy"), py)


def logreg_gd(x, y):
    s = np.where(y == 1, 1.0, -1.0)
    xb = np.hstack([x, np.ones((len(x), 1))])
    w = np.zeros(xb.shape[1])
    pen = np.ones(xb.shape[1])
    pen[-1] = 0
    lip = 0.25 * np.linalg.norm(xb, 2) ** 2 + 1
    for _ in range(2000000):
        p = 1 / (1 + np.exp(-s * (xb @ w)))
        g = -(xb.T @ ((1 - p) * s)) + pen * w
        if np.linalg.norm(g) < 1e-12:
            break
        w -= g / lip
    return w


def check(dirname):
    ld = lambda n: np.load(os.path.join(dirname, n + ".npy"))
    a, b, x = ld("a"), ld("b"), ld("x")
    bad = 0
    e, want = float(ld("emd")), emd_brute(a, b)
    print("emd %.15g, brute force %.15g" % (e, want))
    bad |= abs(e - want) > 1e-12
    ea = float(ld("emd_aligned"))
    scan = min(emd_brute(a @ np.array([[np.cos(t), np.sin(t)], [-np.sin(t), np.cos(t)]]) * [1, 1] if f == 0
                         else (a * [1, -1]) @ np.array([[np.cos(t), np.sin(t)], [-np.sin(t), np.cos(t)]]), b)
               for f in (0, 1) for t in np.linspace(0, 2 * np.pi, 48, endpoint=False))
    print("emd_aligned %.15g, scan of 96 orthogonal maps %.15g" % (ea, scan))
    bad |= not (ea <= e + 1e-12 and ea <= scan + 1e-9)
    xc = x - x.mean(0)
    val, vec = np.linalg.eigh(xc.T @ xc / len(x))
    vec = vec[:, ::-1][:, :2]
    vec = vec * np.where(vec[np.abs(vec).argmax(0), [0, 1]] < 0, -1, 1)
    pc, var = ld("pca"), ld("pca_var")
    d = np.abs(pc - xc @ vec).max()
    print("pca max difference %.3g, variances %s vs %s" % (d, var, val[::-1][:2]))
    bad |= d > 1e-10 or np.abs(var - val[::-1][:2]).max() > 1e-10
    w, want = ld("probe").ravel(), logreg_gd(ld("px"), ld("py"))
    d = np.abs(w - want).max()
    print("probe max difference %.3g (w = %s)" % (d, w))
    bad |= d > 1e-8
    return 1 if bad else 0


if __name__ == "__main__":
    if sys.argv[1] == "make":
        make(sys.argv[2], int(sys.argv[3]))
    else:
        sys.exit(check(sys.argv[2]))
