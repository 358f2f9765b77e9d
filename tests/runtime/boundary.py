#!/usr/bin/python3
"""Checks a decision-boundary SVG of `plastcc episode --boundary` against the
network's own classification computed here with NumPy from the final
weights: the grid (120 cells per side over the points' extent padded by a
tenth, row 0 at the top) must be coloured cell by cell with the class the
argmax of z_L = W_L tanh(... tanh(W_1 x)) gives, and every training and query
point must be drawn.

Usage: boundary.py STATE_DIR OUT_DIR FILE.svg LAYERS
"""
import os
import re
import sys

import numpy as np

REGION = ["#c6dbef", "#fdd0a2", "#c7e9c0", "#dadaeb", "#fcbba1", "#d9d9d9"]
SIDE, MARGIN, TITLE, G = 480, 40, 30, 120


def main():
    state, out, svg, layers = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    W = [np.load(os.path.join(out, "W%d.npy" % (l + 1))) for l in range(layers)]
    xt, xq = np.load(os.path.join(state, "x_train.npy")), np.load(os.path.join(state, "x_query.npy"))
    pts = np.concatenate([xt, xq])
    lo, hi = pts.min(0), pts.max(0)
    pad = 0.1 * (hi - lo)
    lo, hi = lo - pad, hi + pad
    c = (np.arange(G) + 0.5) / G
    gx, gy = np.meshgrid(lo[0] + (hi[0] - lo[0]) * c, hi[1] - (hi[1] - lo[1]) * c)
    h = np.stack([gx.ravel(), gy.ravel()], 1)
    for l, Wl in enumerate(W):
        h = h @ Wl.T
        if l < layers - 1:
            h = np.tanh(h)
    want = h.argmax(1).reshape(G, G)
    got = np.full((G, G), -1)
    text = open(svg).read()
    cell = SIDE / G
    for x, y, w, fill in re.findall(r'<rect x="([\d.]+)" y="([\d.]+)" width="([\d.]+)" height="[\d.]+" fill="(#\w+)"/>',
                                    text):
        r = int(round((float(y) - TITLE - MARGIN) / cell))
        c0 = int(round((float(x) - MARGIN) / cell))
        n = int(round((float(w) - 0.3) / cell))
        got[r, c0:c0 + n] = REGION.index(fill)
    bad = int((got != want).sum())
    # a cell whose two logits tie to rounding may go either way
    close = np.abs(np.diff(np.sort(h, 1)[:, -2:], axis=1)).reshape(G, G) < 1e-9
    bad -= int(((got != want) & close).sum())
    points = len(re.findall(r"<circle", text))
    print("boundary: %d of %d cells differ from NumPy's classes, %d points drawn (expected %d)"
          % (bad, G * G, points, len(pts)))
    return 0 if bad == 0 and points == len(pts) else 1


if __name__ == "__main__":
    sys.exit(main())
