#!/usr/bin/python3
"""Writes a random episode state DIR for ref003.py (and the C side).

Usage
-----
  make_state.py --sizes 784,170,130,100,70,47 --steps N --query Q --seed S
                --feedback random|symmetric|direct --rule NAME --out DIR
                [--data fashion]

Contents (all float64 unless noted; sizes = n_0, ..., n_L)
----------------------------------------------------------
  W_l     [n_l, n_{l-1}]   Xavier uniform U(-a, a), a = sqrt(6/(rows+cols))
  B_l     random/symmetric: [n_{l-1}, n_l]; direct: [n_{l-1}, n_L]
          Xavier uniform with its own shape (ignored by symmetric feedback).
  x_train [N, n_0], x_query [Q, n_0]
          default: U[0, 1)
          --data fashion: Fashion-MNIST training images (n_0 must be 784),
          pixel / 255, drawn without replacement; labels = true label mod n_L.
  y_train [N], y_query [Q]   int64; default uniform in [0, n_L).
  meta-parameters of --rule, small random values so that every term acts:
    pool:       theta.npy [10] = [1e-3, U(-1e-3, 1e-3) x 9], then
                t5 := |t5| / 100, because F^5 is an FA-like step with rate
                t5 * sum_k y_k (~100 t5 in the hidden layers): at |t5| ~ 1e-3,
                or with t5 < 0 (gradient ascent), most full-size episodes
                diverged to inf/NaN within 250 steps.
    fa:         theta.npy ()   = U(0.5e-3, 1.5e-3)
    tanh_error: eta.npy   ()   = U(0.5e-3, 1.5e-3)  (an FA step of rate ~2 eta;
                at the rule default 1e-2 direct-feedback episodes turned chaotic)
    oja_decay:  alpha.npy ()   = U(0.5e-3, 1.5e-3), gamma.npy () = U(0.5e-4, 1.5e-4)
Random numbers come from numpy.random.default_rng(seed), drawn in the order
W1..WL, B1..BL, meta-parameters, data.
"""
import argparse
import gzip
import os
import sys

import numpy as np

FASHION_DIR = "/usr/share/datasets/fashion-mnist"


def xavier(rng, rows, cols):
    a = np.sqrt(6.0 / (rows + cols))
    return rng.uniform(-a, a, size=(rows, cols))


def read_idx(path):
    """Reads a gzip'ed IDX file (unsigned-byte data) into a numpy array."""
    with gzip.open(path, "rb") as f:
        raw = f.read()
    zero, dtype, ndim = raw[0] * 256 + raw[1], raw[2], raw[3]
    if zero != 0 or dtype != 0x08:
        raise SystemExit("%s: not an unsigned-byte IDX file" % path)
    dims = [int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big")
            for i in range(ndim)]
    return np.frombuffer(raw, np.uint8, offset=4 + 4 * ndim).reshape(dims)


def meta_params(rng, rule):
    if rule == "pool":
        t = np.concatenate([[1e-3], rng.uniform(-1e-3, 1e-3, 9)])
        t[5] = abs(t[5]) / 100.0   # F^5 acts as an FA step of rate t5 sum(y)
        return {"theta": t}
    if rule == "fa":
        return {"theta": np.array(rng.uniform(0.5e-3, 1.5e-3))}
    if rule == "tanh_error":
        return {"eta": np.array(rng.uniform(0.5e-3, 1.5e-3))}
    if rule == "oja_decay":
        return {"alpha": np.array(rng.uniform(0.5e-3, 1.5e-3)),
                "gamma": np.array(rng.uniform(0.5e-4, 1.5e-4))}
    raise SystemExit("unknown rule %s" % rule)


def random_data(rng, n, n_in, n_out):
    return rng.uniform(0.0, 1.0, size=(n, n_in)), \
        rng.integers(0, n_out, size=n).astype(np.int64)


def fashion_data(rng, n, n_in, n_out):
    if n_in != 784:
        raise SystemExit("--data fashion needs n_0 = 784")
    imgs = read_idx(os.path.join(FASHION_DIR, "train-images-idx3-ubyte.gz"))
    labs = read_idx(os.path.join(FASHION_DIR, "train-labels-idx1-ubyte.gz"))
    idx = rng.choice(imgs.shape[0], size=n, replace=False)
    x = imgs[idx].reshape(n, -1).astype(np.float64) / 255.0
    return x, (labs[idx].astype(np.int64) % n_out)


def make_state(sizes, steps, query, seed, feedback, rule, data=None):
    """Returns {file stem: ndarray}."""
    rng = np.random.default_rng(seed)
    n_layers = len(sizes) - 1
    st = {}
    for l in range(1, n_layers + 1):
        st["W%d" % l] = xavier(rng, sizes[l], sizes[l - 1])
    for l in range(1, n_layers + 1):
        cols = sizes[-1] if feedback == "direct" else sizes[l]
        st["B%d" % l] = xavier(rng, sizes[l - 1], cols)
    st.update(meta_params(rng, rule))
    gen = fashion_data if data == "fashion" else random_data
    x, y = gen(rng, steps + query, sizes[0], sizes[-1])
    st["x_train"], st["y_train"] = x[:steps], y[:steps]
    st["x_query"], st["y_query"] = x[steps:], y[steps:]
    return st


def write_state(out, st):
    os.makedirs(out, exist_ok=True)
    for k, v in st.items():
        np.save(os.path.join(out, k + ".npy"), v)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", required=True,
                    help="comma-separated layer widths n_0,...,n_L")
    ap.add_argument("--steps", type=int, required=True)
    ap.add_argument("--query", type=int, required=True)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--feedback", required=True,
                    choices=("random", "symmetric", "direct"))
    ap.add_argument("--rule", required=True,
                    choices=("pool", "fa", "tanh_error", "oja_decay"))
    ap.add_argument("--out", required=True)
    ap.add_argument("--data", choices=("fashion",), default=None)
    a = ap.parse_args(argv)
    sizes = [int(s) for s in a.sizes.split(",")]
    if len(sizes) < 2:
        raise SystemExit("--sizes needs at least two layers")
    write_state(a.out, make_state(sizes, a.steps, a.query, a.seed,
                                  a.feedback, a.rule, a.data))
    return 0


if __name__ == "__main__":
    sys.exit(main())
