#!/usr/bin/python3
"""Writes a random episode state DIR of a Gu et al. model for gu_ref.py and
`plastcc episode` (tests/runtime/episode-gu.sh).

Usage
-----
  make_gu_state.py --sizes 3,6,3 --steps N --batch B --query Q --seed S
                   [--hidden H] [--unlabelled F] --out DIR

Contents (float64 unless noted; sizes = n_0, ..., n_L; the layouts of
`plastcc emit-c --dump=schedule`, row = postsynaptic neuron)
------------------------------------------------------------------------
  W1..WL          [n_l, n_{l-1}]   N(0, 1/n_{l-1})   (Gu et al., Appendix A)
  Wtop0..WtopL-1  [n_l, n_{l+1}]   N(0, 1/n_{l+1})
  Wlat0..WlatL    [n_l, n_l]       N(0, 1/n_l)
  x_train [steps * batch, n_0]     N(0, 1)
  y_train int64   [steps * batch]  uniform in [0, n_L), then -1 (unlabelled)
                                   with probability F (default 0.6); at least
                                   one labelled and one unlabelled sample
  x_query [Q, n_0], y_query int64 [Q] (all labelled)
  gu_net.W1 [H, 6], gu_net.b1 [H], gu_net.W2 [7, H], gu_net.b2 [7]
                                   uniform +-1/sqrt(fan_in) (biases 0.1 x that),
                                   the last layer scaled by 0.5 so that 50
                                   steps stay finite
Random numbers come from numpy.random.default_rng(seed), in the order above.
"""
import argparse
import os

import numpy as np


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", required=True)
    ap.add_argument("--steps", type=int, required=True)
    ap.add_argument("--batch", type=int, required=True)
    ap.add_argument("--query", type=int, required=True)
    ap.add_argument("--seed", type=int, required=True)
    ap.add_argument("--hidden", type=int, default=10)
    ap.add_argument("--unlabelled", type=float, default=0.6)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    n = [int(s) for s in a.sizes.split(",")]
    L = len(n) - 1
    rng = np.random.default_rng(a.seed)
    os.makedirs(a.out, exist_ok=True)

    def save(name, v):
        np.save(os.path.join(a.out, name + ".npy"), v)

    for l in range(1, L + 1):
        save("W%d" % l, rng.normal(0, 1 / np.sqrt(n[l - 1]), (n[l], n[l - 1])))
    for l in range(L):
        save("Wtop%d" % l, rng.normal(0, 1 / np.sqrt(n[l + 1]), (n[l], n[l + 1])))
    for l in range(L + 1):
        save("Wlat%d" % l, rng.normal(0, 1 / np.sqrt(n[l]), (n[l], n[l])))
    N = a.steps * a.batch
    save("x_train", rng.normal(0, 1, (N, n[0])))
    y = rng.integers(0, n[L], N)
    y[rng.uniform(0, 1, N) < a.unlabelled] = -1
    y[0] = 0
    y[-1] = -1
    save("y_train", y.astype(np.int64))
    save("x_query", rng.normal(0, 1, (a.query, n[0])))
    save("y_query", rng.integers(0, n[L], a.query).astype(np.int64))
    widths = [6, a.hidden, 7]
    for k in (1, 2):
        bound = 1 / np.sqrt(widths[k - 1])
        scale = 0.5 if k == 2 else 1.0
        save("gu_net.W%d" % k, scale * rng.uniform(-bound, bound, (widths[k], widths[k - 1])))
        save("gu_net.b%d" % k, 0.1 * rng.uniform(-bound, bound, widths[k]))


if __name__ == "__main__":
    main()
