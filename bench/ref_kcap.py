#!/usr/bin/python3
"""Independent PyTorch (autograd, float64) reference for one episode of a
k-cap RNN trained by plasticity rules that read its unrolled steps (paper
000, Balwani et al., sections 4.3-4.4), for the rules and models of
tests/runtime/episode/kcap.rule.  It is the contract `plastcc episode` is checked
against (tests/runtime/episode-kcap.sh).

Usage
-----
  ref_kcap.py make --out DIR --seed S [--steps N] [--query Q] [--batch B]
  ref_kcap.py run  --state DIR --out DIR --readout identity|kcap [--batch B]

Model (sizes n_0 = 6, n_1 = 8, k = 3, T = 3 steps; readout 6)
------------------------------------------------------------
  x_1 = kcap_k(W1 x_0),  x_{s+1} = kcap_k(Wrec1 x_s), s = 1..T,
  out = W2 x_{T+1}  (readout identity)  or  kcap_2(W2 x_{T+1})  (readout kcap)
  loss(x) = 1/2 |out - x|^2;  the meta-loss is its mean over the query set.
  kcap_k(z) is 1 for the k largest z_i (ties to the lower index), else 0; its
  derivative is the straight-through surrogate: y = z + (kcap(z) - z) held
  constant, so dy_i/dz_i = 1.

One inner step on samples B_t = x_train[t B .. t B + B), all signals from
the PRE-update weights; each rule's dw[i, j] (i post, j pre) is the mean
over the batch of its per-sample value, and W <- W + dw for the three
projections at once.  The ends a rule sees (tests/runtime/episode/kcap.rule):
  W1:    pre = x_0 (y and z), post = x_1 (post.y), steps post.y[s] = x_s
  Wrec1: pre = x_T, post = x_{T+1}; steps pre.y[s], post.y[s] = x_s, z[s] = Wrec x_{s-1}
  W2:    pre = x_{T+1} (pre.y, pre.z = z_{T+1}), post = out (y) and W2 x_{T+1} (z)
  pre[d].v is the value at presynaptic neuron (j + d) mod n.
Rules (a, b, c: the meta-parameters, 3 each):
  k_in:  a0 x0_j x1_i + a1 x0_j (x2_i - x4_i) - a2 x1_i w
  k_rec: b0 (x2_j x3_i + x3_j x4_i) + b1 h_j h_i - b2 w x4_i,
         h = tanh(x2 + x3 - z4 / 2)
  k_out: c0 (x4_j + x3_{j-1} / 2 + x2_{j+2} / 4) (z4_j - zout_i)
         + c1 x1_j tanh(out_i) - c2 w
Output (--out): meta_loss.npy; grad_k_in.a.npy, grad_k_rec.b.npy,
grad_k_out.c.npy; the final W1, Wrec1, W2 and grad_W1, grad_Wrec1, grad_W2
(d meta_loss / d initial weights).

--rules sgd: backprop through the unrolled steps as a rule, the feedback
pathway of tests/runtime/episode/kcap.rule's sgd experiments (rules sgd_in on W1, W2
and sgd_rec on Wrec1, learning rates lr_in, lr_rec):
  symmetric: W <- W - lr dL/dW, L the batch's mean loss, dL/dW by autograd
             through the steps (BPTT: Wrec's gradient sums over the steps);
  random:    the same outer products with errors sent back through fixed
             matrices instead (feedback alignment): e_out = out - x,
             e_4 = (B2^T e_out) act'(z_4), e_s = (Brec^T e_{s+1}) act'(z_s),
             dW1 = -lr e_1 x_0^T, dWrec = -lr sum_s e_{s+1} x_s^T,
             dW2 = -lr e_out x_4^T (batch means); B_l stored like W_l.
The hidden activation is kcap(3) (--act kcap) or tanh (--act tanh).
Output: grad_sgd_in.lr.npy, grad_sgd_rec.lr.npy instead of a, b, c.
"""
import argparse
import os

import numpy as np
import torch

torch.set_default_dtype(torch.float64)
N0, N1, K, T = 6, 8, 3, 3


def kcap(z, k):
    """1 for the k largest entries of each row (ties to the lower index)."""
    order = torch.argsort(-z, dim=-1, stable=True)
    y = torch.zeros_like(z)
    y.scatter_(-1, order[..., :k], 1.0)
    return y


def st_kcap(z, k):
    return z + (kcap(z.detach(), k) - z).detach()


ACT = "kcap"


def act(z):
    return st_kcap(z, K) if ACT == "kcap" else torch.tanh(z)


def act_slope(z):
    return torch.ones_like(z) if ACT == "kcap" else 1 - torch.tanh(z) ** 2


def forward(W1, Wrec, W2, x, readout):
    """The states x_1..x_{T+1} and their z, the readout's z and y."""
    zs, xs = [None], [x]
    z = x @ W1.t()
    for s in range(1, T + 2):
        if s > 1:
            z = xs[-1] @ Wrec.t()
        zs.append(z)
        xs.append(act(z))
    zo = xs[T + 1] @ W2.t()
    yo = zo if readout == "identity" else st_kcap(zo, 2)
    return xs, zs, zo, yo


def shift(v, d):
    """v at neuron (j + d) mod n, for every j."""
    return torch.roll(v, shifts=-d, dims=-1)


def mean_outer(post, pre):
    """mean over the batch of post_i pre_j."""
    return post.t() @ pre / post.shape[0]


def updates(W1, Wrec, W2, xs, zs, zo, yo, a, b, c):
    x0, x1, x2, x3, x4 = xs
    nb = x0.shape[0]
    d_in = a[0] * mean_outer(x1, x0) + a[1] * mean_outer(x2 - x4, x0) - a[2] * W1 * x1.mean(0)[:, None]
    h = torch.tanh(x2 + x3 - 0.5 * zs[4])
    d_rec = (b[0] * (mean_outer(x3, x2) + mean_outer(x4, x3)) + b[1] * mean_outer(h, h)
             - b[2] * Wrec * x4.mean(0)[:, None])
    field = x4 + 0.5 * shift(x3, -1) + 0.25 * shift(x2, 2)
    # (field_j)(z4_j - zo_i): sum over the batch, per synapse
    d_out = c[0] * (field * zs[4]).mean(0)[None, :] - c[0] * mean_outer(zo, field)
    d_out = d_out + c[1] * mean_outer(torch.tanh(yo), x1) - c[2] * W2
    assert d_out.shape == W2.shape and nb > 0
    return W1 + d_in, Wrec + d_rec, W2 + d_out


def sgd_symmetric(W1, Wrec, W2, xb, readout, lr_in, lr_rec):
    _, _, _, yo = forward(W1, Wrec, W2, xb, readout)
    loss = (0.5 * ((yo - xb) ** 2).sum(1)).mean()
    g1, grec, g2 = torch.autograd.grad(loss, (W1, Wrec, W2), create_graph=True)
    return W1 - lr_in * g1, Wrec - lr_rec * grec, W2 - lr_in * g2


def sgd_random(W1, Wrec, W2, B, xb, readout, lr_in, lr_rec):
    xs, zs, zo, yo = forward(W1, Wrec, W2, xb, readout)
    eo = (yo - xb) * (1 if readout == "identity" else torch.ones_like(zo))
    e = [None] * (T + 2)
    e[T + 1] = (eo @ B["B2"].t()) * act_slope(zs[T + 1])
    for s in range(T, 0, -1):
        e[s] = (e[s + 1] @ B["Brec1"].t()) * act_slope(zs[s])
    d_rec = sum(mean_outer(e[s + 1], xs[s]) for s in range(1, T + 1))
    return (W1 - lr_in * mean_outer(e[1], xs[0]), Wrec - lr_rec * d_rec, W2 - lr_in * mean_outer(eo, xs[T + 1]))


def run(a):
    global ACT
    ACT = a.act
    st = lambda n: torch.tensor(np.load(os.path.join(a.state, n + ".npy")))
    W0 = [st("W1").requires_grad_(), st("Wrec1").requires_grad_(), st("W2").requires_grad_()]
    names = ("a", "b", "c") if a.rules == "steps" else ("sgd_in.lr", "sgd_rec.lr")
    meta = [st(n).requires_grad_() for n in names]
    B = {n: st(n) for n in ("B2", "Brec1")} if a.feedback == "random" else None
    xt, xq = st("x_train"), st("x_query")
    W1, Wrec, W2 = W0
    for t in range(xt.shape[0] // a.batch):
        xb = xt[t * a.batch:(t + 1) * a.batch]
        if a.rules == "sgd" and a.feedback == "symmetric":
            W1, Wrec, W2 = sgd_symmetric(W1, Wrec, W2, xb, a.readout, *meta)
        elif a.rules == "sgd":
            W1, Wrec, W2 = sgd_random(W1, Wrec, W2, B, xb, a.readout, *meta)
        else:
            xs, zs, zo, yo = forward(W1, Wrec, W2, xb, a.readout)
            W1, Wrec, W2 = updates(W1, Wrec, W2, xs, zs, zo, yo, *meta)
    _, _, _, yo = forward(W1, Wrec, W2, xq, a.readout)
    loss = (0.5 * ((yo - xq) ** 2).sum(1)).mean()
    grads = torch.autograd.grad(loss, W0 + meta)
    os.makedirs(a.out, exist_ok=True)
    save = lambda n, v: np.save(os.path.join(a.out, n + ".npy"), v.detach().numpy())
    save("meta_loss", loss)
    for n, w, g in zip(("W1", "Wrec1", "W2"), (W1, Wrec, W2), grads[:3]):
        save(n, w)
        save("grad_" + n, g)
    for n, g in zip(("k_in.a", "k_rec.b", "k_out.c") if a.rules == "steps" else names, grads[3:]):
        save("grad_" + n, g)
    print("meta-loss %.17g" % loss.item())


def make(a):
    rng = np.random.default_rng(a.seed)
    xav = lambda r, c: rng.uniform(-np.sqrt(6 / (r + c)), np.sqrt(6 / (r + c)), size=(r, c))
    os.makedirs(a.out, exist_ok=True)
    arrays = {"W1": xav(N1, N0), "Wrec1": xav(N1, N1), "W2": xav(N0, N1),
              "a": rng.uniform(0.01, 0.05, 3), "b": rng.uniform(0.01, 0.05, 3), "c": rng.uniform(0.01, 0.05, 3),
              "x_train": rng.normal(size=(a.steps * a.batch, N0)), "x_query": rng.normal(size=(a.query, N0)),
              "sgd_in.lr": np.array(rng.uniform(0.02, 0.05)), "sgd_rec.lr": np.array(rng.uniform(0.02, 0.05)),
              # feedback matrices, stored transposed as plastcc episode reads them: [n_{l-1}, n_l]
              "B1": np.ascontiguousarray(xav(N1, N0).T), "Brec1": np.ascontiguousarray(xav(N1, N1).T),
              "B2": np.ascontiguousarray(xav(N0, N1).T)}
    for n, v in arrays.items():
        np.save(os.path.join(a.out, n + ".npy"), v)
    np.save(os.path.join(a.out, "y_train.npy"), rng.integers(0, 2, a.steps * a.batch).astype(np.int64))
    np.save(os.path.join(a.out, "y_query.npy"), rng.integers(0, 2, a.query).astype(np.int64))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    m = sub.add_parser("make")
    m.add_argument("--out", required=True)
    m.add_argument("--seed", type=int, default=1)
    m.add_argument("--steps", type=int, default=12)
    m.add_argument("--query", type=int, default=7)
    m.add_argument("--batch", type=int, default=2)
    r = sub.add_parser("run")
    r.add_argument("--state", required=True)
    r.add_argument("--out", required=True)
    r.add_argument("--readout", choices=("identity", "kcap"), required=True)
    r.add_argument("--batch", type=int, default=2)
    r.add_argument("--rules", choices=("steps", "sgd"), default="steps")
    r.add_argument("--feedback", choices=("symmetric", "random"), default="symmetric")
    r.add_argument("--act", choices=("kcap", "tanh"), default="kcap")
    a = ap.parse_args()
    make(a) if a.cmd == "make" else run(a)


if __name__ == "__main__":
    main()
