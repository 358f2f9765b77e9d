#!/usr/bin/python3
"""Independent PyTorch (autograd, float64) reference for one meta-training
episode of "Meta-Learning Biologically Plausible Plasticity Rules with Random
Feedback Pathways" (paper 003: Algorithm 1, Methods 4.2).

It is the contract that the C implementation (plastcc) is checked against.

Usage
-----
  ref003.py --state DIR --out DIR --rule NAME --feedback random|symmetric|direct
            [--beta 10] [--steps N]

State DIR (.npy files)
----------------------
  W1..WL    float64 [n_l, n_{l-1}]  initial forward weights, row = post neuron.
                                     L = number of consecutive W files.
  B1..BL    float64                 fixed feedback matrices:
                                      random:    B_l is [n_{l-1}, n_l]
                                      direct:    B_l is [n_{l-1}, n_L]
                                      symmetric: ignored (B_l := W_l^T)
  x_train   float64 [N, n_0]        presented in order, one sample per step
  y_train   int64   [N]             class index into the output layer
  x_query   float64 [Q, n_0]
  y_query   int64   [Q]
  <param>.npy                       one per meta-parameter (0-d for a scalar);
                                    if absent, the rule's default is used.

Network (no biases), beta = --beta
----------------------------------
  z_l = W_l y_{l-1},  y_0 = x
  hidden  (l < L): y_l = softplus_beta(z_l) = log(1 + exp(beta z_l)) / beta
  output  (l = L): y_L = softmax(z_L);  loss = cross-entropy.

One inner step with sample (x, c), all quantities from PRE-update weights
------------------------------------------------------------------------
  e_L     = softmax(z_L) - onehot(c)
  e_{l-1} = (B_l e_l) * sigmoid(beta z_{l-1})          l = L..2   (random)
  e_{l-1} = (W_l^T e_l) * sigmoid(beta z_{l-1})        l = L..2   (symmetric)
  e_{l-1} = (B_l e_L) * sigmoid(beta z_{l-1})          l = L..2   (direct)
  e_0     = (F_1 e) * (1 - exp(-beta y_0))   synthetic input error, with
            F_1 e = B_1 e_1 (random), W_1^T e_1 (symmetric), B_1 e_L (direct)
            (computed as -expm1(-beta y_0)).
  Then for every layer l:  W_l <- W_l + dw_l,  dw_l = rule(pre = layer l-1
  (y_{l-1}, e_{l-1}), post = layer l (y_l, e_l), w = W_l pre-update).
  For l = L, post.y is the softmax output and post.e = e_L.
  In symmetric mode W_l^T is the live pre-update weight and autograd
  differentiates through it.

Rules, per synapse dw[i, j] (i = post neuron, j = pre neuron; sums over k
run over post neurons, over m over pre neurons)
------------------------------------------------------------------------
  pool        theta[10], default [1e-3, 0, ..., 0]
      dw = - t0 e_i y_j - t1 y_i e_j - t2 e_i e_j - t3 w_ij - t4 e_j
           - t5 e_i (sum_k y_k) y_j
           - t6 y_i S1 e_j          S1 = sum_{k,m} y_k W_km e_m (post y, pre e)
           - t7 e_i S1 y_j
           - t8 y_i S2 e_j          S2 = sum_{k,m} y_m W_km e_k (pre y, post e)
           - t9 (y_i y_j - y_i sum_k y_k W_kj)
  fa          theta (scalar, default 1e-3):  dw = -theta e_i y_j
  tanh_error  eta   (scalar, default 1e-2):  dw = -eta y_j tanh(2 e_i)
  oja_decay   alpha (scalar, default 1e-3), gamma (scalar, default 1e-4):
      dw = -alpha e_i y_j - gamma w_ij (sum_k y_k^2)

Every rule is implemented in the factored form
      dw = - sum_r outer(c_r a_r, b_r) - d * W
(c_r scalar coefficient, a_r a post vector, b_r a pre vector, d a scalar
decay), which keeps the autograd tape small (one matmul per layer and step);
test_ref003.py checks it against the per-synapse formulas above.

Meta-loss and output
--------------------
  meta_loss = mean over the query set of the cross-entropy of the final
  network (no L1 term).  Its gradient w.r.t. every meta-parameter is taken by
  autograd through the whole unrolled inner loop (W^(0), B and the data are
  constants).  Written to --out (created if missing):
      meta_loss.npy (0-d float64), grad_<param>.npy (shape of the parameter),
      W1..WL.npy (final weights, float64).
"""
import argparse
import os
import sys
import time

import numpy as np
import torch

torch.set_default_dtype(torch.float64)

FEEDBACKS = ("random", "symmetric", "direct")


# ---------------------------------------------------------------- rules ----

def _pool_default():
    t = np.zeros(10)
    t[0] = 1e-3
    return t


# name -> list of (param name, default value as numpy array)
RULE_PARAMS = {
    "pool": [("theta", _pool_default())],
    "fa": [("theta", np.array(1e-3))],
    "tanh_error": [("eta", np.array(1e-2))],
    "oja_decay": [("alpha", np.array(1e-3)), ("gamma", np.array(1e-4))],
}


def rule_pool(pre_y, pre_e, post_y, post_e, w, p):
    t = p["theta"]
    ones = torch.ones_like(post_y)
    s1 = post_y @ w @ pre_e          # sum_{k,m} y_k W_km e_m
    s2 = post_e @ w @ pre_y          # sum_{k,m} y_m W_km e_k
    sy = post_y.sum()                # sum_k y_k (post)
    r = w.t() @ post_y               # r_j = sum_k y_k W_kj
    terms = [
        (t[0], post_e, pre_y),
        (t[1], post_y, pre_e),
        (t[2], post_e, pre_e),
        (t[4], ones, pre_e),
        (t[5], post_e * sy, pre_y),
        (t[6], post_y * s1, pre_e),
        (t[7], post_e * s1, pre_y),
        (t[8], post_y * s2, pre_e),
        (t[9], post_y, pre_y - r),
    ]
    return terms, t[3]


def rule_fa(pre_y, pre_e, post_y, post_e, w, p):
    return [(p["theta"], post_e, pre_y)], None


def rule_tanh_error(pre_y, pre_e, post_y, post_e, w, p):
    return [(p["eta"], torch.tanh(2.0 * post_e), pre_y)], None


def rule_oja_decay(pre_y, pre_e, post_y, post_e, w, p):
    return [(p["alpha"], post_e, pre_y)], p["gamma"] * (post_y * post_y).sum()


RULES = {
    "pool": rule_pool,
    "fa": rule_fa,
    "tanh_error": rule_tanh_error,
    "oja_decay": rule_oja_decay,
}


def rule_dw(rule, pre_y, pre_e, post_y, post_e, w, params):
    """dw = - sum_r outer(c_r a_r, b_r) - d * w  for the named rule."""
    terms, decay = RULES[rule](pre_y, pre_e, post_y, post_e, w, params)
    a = torch.stack([c * av for c, av, _ in terms], dim=1)   # [n_post, R]
    b = torch.stack([bv for _, _, bv in terms], dim=1)       # [n_pre, R]
    dw = -(a @ b.t())
    if decay is not None:
        dw = dw - decay * w
    return dw


# -------------------------------------------------------------- network ----

def softplus(z, beta):
    """log(1 + exp(beta z)) / beta, overflow-free."""
    return torch.logaddexp(beta * z, torch.zeros_like(z)) / beta


def forward(ws, x, beta):
    """Single-sample forward pass. Returns zs[1..L], ys[0..L] (index 0 of zs
    is None)."""
    zs, ys = [None], [x]
    n_layers = len(ws)
    for l in range(1, n_layers + 1):
        z = ws[l - 1] @ ys[-1]
        zs.append(z)
        ys.append(torch.softmax(z, 0) if l == n_layers else softplus(z, beta))
    return zs, ys


def feedback_matrix(ws, bs, l, feedback):
    """Matrix that carries the error of layer l (or e_L for direct) to l-1."""
    return ws[l - 1].t() if feedback == "symmetric" else bs[l - 1]


def errors(ws, bs, zs, ys, c, feedback, beta):
    """es[0..L] with es[0] the synthetic input error."""
    n_layers = len(ws)
    e_out = ys[n_layers].clone()
    e_out[c] -= 1.0
    es = [None] * (n_layers + 1)
    es[n_layers] = e_out
    for l in range(n_layers, 0, -1):
        src = e_out if feedback == "direct" else es[l]
        back = feedback_matrix(ws, bs, l, feedback) @ src
        if l > 1:
            es[l - 1] = back * torch.sigmoid(beta * zs[l - 1])
        else:
            es[0] = back * (-torch.expm1(-beta * ys[0]))
    return es


def inner_step(ws, bs, x, c, rule, params, feedback, beta):
    """One online plasticity step; returns the new weight list."""
    zs, ys = forward(ws, x, beta)
    es = errors(ws, bs, zs, ys, c, feedback, beta)
    return [ws[l - 1] + rule_dw(rule, ys[l - 1], es[l - 1], ys[l], es[l],
                                ws[l - 1], params)
            for l in range(1, len(ws) + 1)]


def batch_loss(ws, x, y, beta):
    """Mean cross-entropy of the network on a batch x [Q, n_0], y [Q]."""
    h = x
    for l, w in enumerate(ws, start=1):
        z = h @ w.t()
        h = z if l == len(ws) else softplus(z, beta)
    return torch.nn.functional.cross_entropy(h, y, reduction="mean")


def run_episode(state, rule, params, feedback, beta, steps=None):
    """Unrolled inner loop + meta-loss. Returns (meta_loss, final ws)."""
    ws = list(state["W"])
    bs = state["B"]
    x_tr, y_tr = state["x_train"], state["y_train"]
    n = x_tr.shape[0] if steps is None else steps
    for i in range(n):
        ws = inner_step(ws, bs, x_tr[i], int(y_tr[i]), rule, params,
                        feedback, beta)
    return batch_loss(ws, state["x_query"], state["y_query"], beta), ws


def meta_gradient(state, rule, params_np, feedback, beta, steps=None):
    """Returns (meta_loss float, {param: grad ndarray}, [final W ndarrays])."""
    params = {k: torch.tensor(v, requires_grad=True)
              for k, v in params_np.items()}
    loss, ws = run_episode(state, rule, params, feedback, beta, steps)
    names = list(params)
    grads = torch.autograd.grad(loss, [params[k] for k in names])
    return (loss.item(), {k: g.numpy() for k, g in zip(names, grads)},
            [w.detach().numpy() for w in ws])


# ------------------------------------------------------------------ I/O ----

def load_state(d, feedback):
    """Reads the state dir into torch tensors (B list empty if symmetric)."""
    def ld(name):
        return np.load(os.path.join(d, name + ".npy"))
    ws = []
    while os.path.exists(os.path.join(d, "W%d.npy" % (len(ws) + 1))):
        ws.append(torch.from_numpy(ld("W%d" % (len(ws) + 1)).astype(np.float64)))
    if not ws:
        raise SystemExit("no W1.npy in %s" % d)
    bs = []
    if feedback != "symmetric":
        bs = [torch.from_numpy(ld("B%d" % l).astype(np.float64))
              for l in range(1, len(ws) + 1)]
    state = {"W": ws, "B": bs}
    for k in ("x_train", "x_query"):
        state[k] = torch.from_numpy(ld(k).astype(np.float64))
    for k in ("y_train", "y_query"):
        state[k] = torch.from_numpy(ld(k).astype(np.int64))
    check_shapes(state, feedback)
    return state


def check_shapes(state, feedback):
    ws, bs = state["W"], state["B"]
    sizes = [ws[0].shape[1]] + [w.shape[0] for w in ws]
    for l, w in enumerate(ws, start=1):
        if tuple(w.shape) != (sizes[l], sizes[l - 1]):
            raise SystemExit("W%d has shape %s" % (l, tuple(w.shape)))
    for l, b in enumerate(bs, start=1):
        want = (sizes[l - 1], sizes[-1] if feedback == "direct" else sizes[l])
        if tuple(b.shape) != want:
            raise SystemExit("B%d has shape %s, want %s"
                             % (l, tuple(b.shape), want))
    for k in ("x_train", "x_query"):
        if state[k].shape[1] != sizes[0]:
            raise SystemExit("%s has %d columns, want %d"
                             % (k, state[k].shape[1], sizes[0]))


def load_params(d, rule):
    params = {}
    for name, default in RULE_PARAMS[rule]:
        path = os.path.join(d, name + ".npy")
        v = np.load(path).astype(np.float64) if os.path.exists(path) \
            else default.copy()
        if v.shape != default.shape:
            raise SystemExit("%s has shape %s, rule %s wants %s"
                             % (path, v.shape, rule, default.shape))
        params[name] = v
    return params


def write_outputs(out, loss, grads, ws):
    os.makedirs(out, exist_ok=True)
    np.save(os.path.join(out, "meta_loss.npy"), np.array(loss, np.float64))
    for k, g in grads.items():
        np.save(os.path.join(out, "grad_%s.npy" % k), g.astype(np.float64))
    for l, w in enumerate(ws, start=1):
        np.save(os.path.join(out, "W%d.npy" % l), w.astype(np.float64))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--state", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--rule", required=True, choices=sorted(RULES))
    ap.add_argument("--feedback", required=True, choices=FEEDBACKS)
    ap.add_argument("--beta", type=float, default=10.0)
    ap.add_argument("--steps", type=int, default=None)
    a = ap.parse_args(argv)
    state = load_state(a.state, a.feedback)
    n = state["x_train"].shape[0]
    if a.steps is not None and not 0 <= a.steps <= n:
        raise SystemExit("--steps %d outside [0, %d]" % (a.steps, n))
    params = load_params(a.state, a.rule)
    t0 = time.time()
    loss, grads, ws = meta_gradient(state, a.rule, params, a.feedback,
                                    a.beta, a.steps)
    write_outputs(a.out, loss, grads, ws)
    print("meta_loss %.17g  (%.2f s)" % (loss, time.time() - t0))
    for k, g in grads.items():
        print("grad_%s %s" % (k, np.array2string(np.atleast_1d(g),
                                                 precision=6)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
