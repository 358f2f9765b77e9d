"""alignment.py STATE OUT FEEDBACK — an independent NumPy computation of the
alignment angles and orthonormality errors of 003 (runtime/diagnostics.c) from
an episode state (bench/make_state.py) and the final weights `plastcc episode`
wrote, compared with its alignment.npy and orthonormality.npy.

Network as bench/ref003.py: softplus(beta=10) hidden layers, softmax output,
e_L = softmax - onehot, e_{l-1} = (M_l e_l) * sigmoid(beta z_{l-1}), the
synthetic e_0 = (M_1 e_1) * (1 - exp(-beta y_0)); M_l = B_l for the feedback
the rule saw (W_l^T when symmetric; from e_L when direct), M_l = W_l^T for
backprop.  alpha_l: mean over the query samples of the angle between the two
e_l, in degrees; orth_l = mean ||z_l - W_l W_l^T y_l||^2, l = 1..L-1."""
import os
import sys

import numpy as np

BETA = 10.0


def main():
    state, out, feedback = sys.argv[1:4]
    L = 0
    while os.path.exists(os.path.join(out, "W%d.npy" % (L + 1))):
        L += 1
    W = [None] + [np.load(os.path.join(out, "W%d.npy" % l)) for l in range(1, L + 1)]
    x = np.load(os.path.join(state, "x_query.npy"))
    c = np.load(os.path.join(state, "y_query.npy"))
    ys, zs = [x], [x]
    for l in range(1, L + 1):
        z = ys[-1] @ W[l].T
        zs.append(z)
        if l == L:
            e = np.exp(z - z.max(axis=1, keepdims=True))
            ys.append(e / e.sum(axis=1, keepdims=True))
        else:
            ys.append(np.logaddexp(BETA * z, 0) / BETA)
    eL = ys[L].copy()
    eL[np.arange(len(c)), c] -= 1

    def down(mats, direct):
        e = [None] * (L + 1)
        e[L] = eL
        for l in range(L, 0, -1):
            back = (eL if direct else e[l]) @ mats[l].T
            factor = 1 / (1 + np.exp(-BETA * zs[l - 1])) if l > 1 else -np.expm1(-BETA * ys[0])
            e[l - 1] = back * factor
        return e

    if feedback == "symmetric":
        fb = [None] + [W[l].T for l in range(1, L + 1)]
    else:
        fb = [None] + [np.load(os.path.join(state, "B%d.npy" % l)) for l in range(1, L + 1)]
    e_fb = down(fb, feedback == "direct")
    e_bp = down([None] + [W[l].T for l in range(1, L + 1)], False)
    alpha = []
    for l in range(L):
        a, b = e_fb[l], e_bp[l]
        na, nb = np.linalg.norm(a, axis=1), np.linalg.norm(b, axis=1)
        ok = (na > 0) & (nb > 0)
        cos = np.clip((a * b).sum(axis=1)[ok] / (na[ok] * nb[ok]), -1, 1)
        alpha.append(np.degrees(np.arccos(cos)).mean())
    orth = []
    for l in range(1, L):
        v = (ys[l] @ W[l]) @ W[l].T
        orth.append(((zs[l] - v) ** 2).sum(axis=1).mean())
    got_a = np.load(os.path.join(out, "alignment.npy"))
    got_o = np.load(os.path.join(out, "orthonormality.npy"))
    print("  alignment  plastcc", np.array2string(got_a, precision=4), " numpy", np.array2string(np.array(alpha), precision=4))
    print("  orthonorm. plastcc", np.array2string(got_o, precision=4), " numpy", np.array2string(np.array(orth), precision=4))
    bad = 0
    if got_a.shape != (L,) or np.abs(got_a - alpha).max() > 1e-4:   # degrees; acos near 0 is ill-conditioned
        print("FAIL: alignment angles differ"); bad = 1
    if got_o.shape != (L - 1,) or np.abs(got_o - orth).max() > 1e-9 * (1 + np.abs(orth).max()):
        print("FAIL: orthonormality errors differ"); bad = 1
    if feedback == "symmetric" and np.abs(got_a).max() > 1e-4:
        print("FAIL: symmetric feedback must give alignment angles of 0"); bad = 1
    if feedback != "symmetric" and not (got_a[:L - 1] > 1).all():
        print("FAIL: random feedback gave angles of ~0"); bad = 1
    return bad


if __name__ == "__main__":
    sys.exit(main())
