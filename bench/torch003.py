#!/usr/bin/python3
"""One 003 meta-training episode in PyTorch, timed: the competitor of
`plastcc episode` in the side-by-side benchmark (bench/bench.py).

Usage
-----
  torch003.py --state DIR --rule pool|fa --form paper|expert
              [--threads N] [--dtype float64|float32] [--out DIR]

Reads a state written by make_state.py (random feedback), runs the unrolled
inner loop (one sample per step, every layer updated from pre-update
quantities) and the meta-loss on the query set, and takes the exact
meta-gradient dL/dtheta by autograd through the whole unroll (ref003.py's
semantics; its forward pass and state loader are reused).  Prints one JSON
line: {"seconds": episode time (inner loop + meta-loss + backward, not the
import of torch nor the loading of the state), "cpu_seconds" (the same
span's process CPU time), "meta_loss", "steps",
"rss_base_mb": resident size before the episode, "blas": the BLAS library
loaded}; writes grad_theta.npy and
meta_loss.npy to --out.

The two forms of the plasticity update (i = post, j = pre):

paper   each term F^r of the pool materialised as its own [n_post, n_pre]
        matrix, as the public code of 003 writes them (torch.matmul of a
        column and a row; Oja's F^9 as y y^T - (y y^T) W, a [n_post, n_post]
        by [n_post, n_pre] product), scaled by theta_r and summed.
expert  the terms that share a presynaptic factor grouped, so the pool is a
        rank-3 update plus the decay, applied by one addmm:
          W' = (1 - t3) W - [a_y a_e c] [y_pre e_pre r]^T
          a_y = e (t0 + t5 sum(y) + t7 S1) + t9 y
          a_e = y (t1 + t6 S1 + t8 S2) + t2 e + t4,   c = -t9 y
          r = W^T y_post,  S1 = r . e_pre,  S2 = e_post . z  (z = W y_pre,
          already computed by the forward pass);
        fa is one addr (W' = W - theta e y^T), and skips the synthetic
        input error e_0, which fa does not read.
"""
import argparse
import json
import os
import sys
import time

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import ref003  # noqa: E402


def rss_mb():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    return 0.0


def blas_library():
    """The BLAS shared object this process loaded (torch's matmuls use it)."""
    with open("/proc/self/maps") as f:
        for line in f:
            name = line.split()[-1]
            if "libblas" in name or "libopenblas" in name:
                return name
    return "?"


def errors(ws, bs, zs, ys, c, beta, need_e0):
    """e_L = softmax - onehot; e_{l-1} = (B_l e_l) * sigmoid(beta z_{l-1});
    e_0 = (B_1 e_1) * (1 - exp(-beta y_0)) only when the rule reads it."""
    n = len(ws)
    e = ys[n].clone()
    e[c] -= 1.0
    es = [None] * (n + 1)
    es[n] = e
    for l in range(n, 1, -1):
        es[l - 1] = torch.mv(bs[l - 1], es[l]) * torch.sigmoid(beta * zs[l - 1])
    if need_e0:
        es[0] = torch.mv(bs[0], es[1]) * (-torch.expm1(-beta * ys[0]))
    return es


# ------------------------------------------------------- paper form ----

def dw_paper_pool(w, yp, ep, yq, eq, t):
    """The ten terms as [n_post, n_pre] matrices, as 003's code builds them."""
    yp_r, ep_r = yp[None, :], ep[None, :]          # rows    [1, n_pre]
    yq_c, eq_c = yq[:, None], eq[:, None]          # columns [n_post, 1]
    yq_r, eq_r = yq[None, :], eq[None, :]
    ones_c = torch.ones_like(yq_c)
    s1 = torch.matmul(torch.matmul(yq_r, w), ep[:, None])      # [1, 1]
    s2 = torch.matmul(torch.matmul(eq_r, w), yp[:, None])
    f = [torch.matmul(eq_c, yp_r),                               # F0
         torch.matmul(yq_c, ep_r),                               # F1
         torch.matmul(eq_c, ep_r),                               # F2
         w,                                                      # F3
         torch.matmul(ones_c, ep_r),                             # F4
         torch.matmul(torch.matmul(eq_c, torch.matmul(ones_c.t(), yq_c)), yp_r),
         torch.matmul(torch.matmul(yq_c, s1), ep_r),             # F6
         torch.matmul(torch.matmul(eq_c, s1), yp_r),             # F7
         torch.matmul(torch.matmul(yq_c, s2), ep_r),             # F8
         torch.matmul(yq_c, yp_r) - torch.matmul(torch.matmul(yq_c, yq_r), w)]
    upd = -t[0] * f[0]
    for r in range(1, 10):
        upd = upd - t[r] * f[r]
    return upd


def step_paper(ws, bs, x, c, theta, rule, beta):
    zs, ys = ref003.forward(ws, x, beta)
    es = errors(ws, bs, zs, ys, c, beta, need_e0=True)
    out = []
    for l in range(1, len(ws) + 1):
        w = ws[l - 1]
        if rule == "pool":
            upd = dw_paper_pool(w, ys[l - 1], es[l - 1], ys[l], es[l], theta)
        else:
            upd = -theta * torch.matmul(es[l][:, None], ys[l - 1][None, :])
        out.append(w + upd)
    return out


# ------------------------------------------------------ expert form ----

def step_expert(ws, bs, x, c, theta, rule, beta):
    zs, ys = ref003.forward(ws, x, beta)
    es = errors(ws, bs, zs, ys, c, beta, need_e0=(rule == "pool"))
    out = []
    for l in range(1, len(ws) + 1):
        w, yp, ep, yq, eq = ws[l - 1], ys[l - 1], es[l - 1], ys[l], es[l]
        if rule == "fa":
            out.append(torch.addr(w, eq * -theta, yp))
            continue
        t = theta
        r = torch.mv(w.t(), yq)                    # r_j = sum_k y_k W_kj
        s1 = torch.dot(r, ep)
        s2 = torch.dot(eq, zs[l])
        a_y = eq * (t[0] + t[5] * yq.sum() + t[7] * s1) + t[9] * yq
        a_e = yq * (t[1] + t[6] * s1 + t[8] * s2) + t[2] * eq + t[4]
        a = torch.stack([a_y, a_e, -t[9] * yq], 1)     # [n_post, 3]
        b = torch.stack([yp, ep, r], 0)                # [3, n_pre]
        out.append(torch.addmm(w * (1.0 - t[3]), a, b, alpha=-1.0))
    return out


# ---------------------------------------------------------- episode ----

def episode(state, theta, rule, form, beta):
    step = step_paper if form == "paper" else step_expert
    ws, bs = list(state["W"]), state["B"]
    xs, cs = state["x_train"], state["y_train"].tolist()
    for i in range(len(cs)):
        ws = step(ws, bs, xs[i], cs[i], theta, rule, beta)
    loss = ref003.batch_loss(ws, state["x_query"], state["y_query"], beta)
    (g,) = torch.autograd.grad(loss, [theta])
    return loss.item(), g


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--state", required=True)
    ap.add_argument("--rule", required=True, choices=("pool", "fa"))
    ap.add_argument("--form", required=True, choices=("paper", "expert"))
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--dtype", default="float64", choices=("float64", "float32"))
    ap.add_argument("--beta", type=float, default=10.0)
    ap.add_argument("--out", default=None)
    a = ap.parse_args(argv)
    torch.set_num_threads(a.threads)
    dt = getattr(torch, a.dtype)
    st = ref003.load_state(a.state, "random")
    st = {k: ([t.to(dt) for t in v] if isinstance(v, list) else
              (v.to(dt) if v.is_floating_point() else v)) for k, v in st.items()}
    theta_np = ref003.load_params(a.state, a.rule)["theta"]
    theta = torch.tensor(theta_np, dtype=dt, requires_grad=True)
    base = rss_mb()
    t0, c0 = time.perf_counter(), time.process_time()
    loss, g = episode(st, theta, a.rule, a.form, a.beta)
    sec, cpu = time.perf_counter() - t0, time.process_time() - c0
    if a.out:
        os.makedirs(a.out, exist_ok=True)
        np.save(os.path.join(a.out, "grad_theta.npy"),
                g.detach().to(torch.float64).numpy())
        np.save(os.path.join(a.out, "meta_loss.npy"), np.array(loss))
    print(json.dumps({"seconds": sec, "cpu_seconds": cpu, "meta_loss": loss,
                      "steps": int(st["y_train"].shape[0]),
                      "rss_base_mb": base, "blas": blas_library()}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
