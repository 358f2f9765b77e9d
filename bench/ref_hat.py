#!/usr/bin/python3
"""One step of HAT's joint training (paper 001, Algorithm 1) in PyTorch
autograd, fp64: an implementation independent of plastcc's kernels and
schedule, to check `plastcc episode` on a `train joint` experiment.

Usage
-----
  ref_hat.py make --sizes 12,7,4 --batch 6 --hidden 100 --seed S --out DIR
                  [--unlabelled K] [--eta X]
  ref_hat.py step --state DIR --out DIR [--act sigmoid|relu|tanh] [--eta-param]
  ref_hat.py time --sizes 784,183,10 --batch 50 --hidden 100
                  [--dtype float32|float64] [--reps N] [--threads N]

make writes a random state DIR (float64 unless noted; sizes n_0, ..., n_L):
  W_l      [n_l, n_{l-1}]  Xavier uniform (rows + cols)
  bias_l   [n_l]           U(-0.1, 0.1)
  x_train  [B, n_0]        U[0, 1)
  y_train  [B] int64       uniform classes; the first K (--unlabelled) are -1
  hat_net  [4 H + 1]       the meta-MLP M: 3 -> H (relu) -> 1, as plastcc lays
                           it out (W1 [H, 3] row-major, b1 [H], W2 [1, H], b2),
                           uniform +-1/sqrt(fan_in), biases U(-0.1, 0.1)
  eta      ()              the rule's output scale (--eta, default 0.05)
Random numbers come from numpy.random.default_rng(seed) in that order.

step reads DIR and computes, for every layer l = 1..L in turn,
  vhat = act(W_l v + b_l),  W_l' = W_l + eta * mean_b M(v_j, W_l[i, j], vhat_i),
  v = act(W_l' v + b_l)  (softmax on the last layer),
then the loss: the cross-entropy of the last layer's logits, averaged over
the labelled samples (y >= 0).  It writes meta_loss.npy, the updated weights
W_l.npy (bias_l.npy unchanged), and the gradients of the loss with respect
to the initial W_l, bias_l, hat_net and (with --eta-param) eta, named as
`plastcc episode` names them.

time runs --reps whole training steps (after one more) on random data at
--sizes, --batch, --hidden in --dtype (default float32) on --threads: the
loss, backward, Adam on the learner (its rule-updated weights, stepped with
the gradient of their initial values, as `train joint` does) and on M
('init output 0': M's last layer zero), and prints one JSON line: the
median step time, the first, and the peak RSS (getrusage, torch included).
M runs in the stacked-input form above ([B, n_post, n_pre, 3] @ [3, H]),
the same arithmetic as the paper's 1x1 convolutions (bench/torch_hat.py).
"""
import argparse
import json
import os
import resource
import statistics
import sys
import time

import numpy as np
import torch

ACTS = {"sigmoid": torch.sigmoid, "relu": torch.relu, "tanh": torch.tanh}


def make(a):
    rng = np.random.default_rng(a.seed)
    sizes = [int(s) for s in a.sizes.split(",")]
    os.makedirs(a.out, exist_ok=True)
    save = lambda name, v: np.save(os.path.join(a.out, name + ".npy"), v)
    for l in range(1, len(sizes)):
        r = np.sqrt(6.0 / (sizes[l] + sizes[l - 1]))
        save("W%d" % l, rng.uniform(-r, r, size=(sizes[l], sizes[l - 1])))
    for l in range(1, len(sizes)):
        save("bias%d" % l, rng.uniform(-0.1, 0.1, size=sizes[l]))
    save("x_train", rng.uniform(0, 1, size=(a.batch, sizes[0])))
    y = rng.integers(0, sizes[-1], size=a.batch).astype(np.int64)
    y[:a.unlabelled] = -1
    save("y_train", y)
    h = a.hidden
    meta = np.concatenate([rng.uniform(-1, 1, 3 * h) / np.sqrt(3), rng.uniform(-0.1, 0.1, h),
                           rng.uniform(-1, 1, h) / np.sqrt(h), rng.uniform(-0.1, 0.1, 1)])
    save("hat_net", meta)
    save("eta", np.array(a.eta))


def meta_mlp(inp, meta):
    """M applied to the last axis (3 inputs) of INP."""
    h = (meta.numel() - 1) // 5
    w1, b1 = meta[:3 * h].reshape(h, 3), meta[3 * h:4 * h]
    w2, b2 = meta[4 * h:5 * h].reshape(1, h), meta[5 * h:]
    return (torch.relu(inp @ w1.T + b1) @ w2.T + b2)[..., 0]


def hat_loss(W, b, meta, eta, x, y, act):
    """Algorithm 1 on one minibatch: the masked loss and the updated W_l."""
    v, final, L = x, [], len(W)
    for l in range(L):
        zhat = v @ W[l].T + b[l]
        vhat = torch.softmax(zhat, dim=1) if l == L - 1 else act(zhat)
        n_post, n_pre = W[l].shape
        inp = torch.stack([v[:, None, :].expand(-1, n_post, n_pre),
                           W[l][None].expand(v.shape[0], n_post, n_pre),
                           vhat[:, :, None].expand(-1, n_post, n_pre)], dim=-1)
        Wn = W[l] + eta * meta_mlp(inp, meta).mean(dim=0)
        final.append(Wn)
        z = v @ Wn.T + b[l]
        v = torch.softmax(z, dim=1) if l == L - 1 else act(z)
    labelled = torch.tensor(y >= 0)
    logp = torch.log_softmax(z, dim=1)
    picked = logp[torch.arange(len(y)), torch.tensor(np.maximum(y, 0))]
    return -(picked * labelled).sum() / max(int(labelled.sum()), 1), final


def step(a):
    load = lambda name: torch.tensor(np.load(os.path.join(a.state, name + ".npy")), dtype=torch.float64)
    L = 0
    while os.path.exists(os.path.join(a.state, "W%d.npy" % (L + 1))):
        L += 1
    W = [load("W%d" % l).requires_grad_() for l in range(1, L + 1)]
    b = [load("bias%d" % l).requires_grad_() for l in range(1, L + 1)]
    meta = load("hat_net").requires_grad_()
    eta = load("eta").requires_grad_()
    x = load("x_train")
    y = np.load(os.path.join(a.state, "y_train.npy")).astype(np.int64)
    loss, final = hat_loss(W, b, meta, eta, x, y, ACTS[a.act])
    loss.backward()
    os.makedirs(a.out, exist_ok=True)
    save = lambda name, t: np.save(os.path.join(a.out, name + ".npy"), t.detach().numpy())
    save("meta_loss", loss)
    for l in range(L):
        save("W%d" % (l + 1), final[l])
        save("bias%d" % (l + 1), b[l])
        save("grad_W%d" % (l + 1), W[l].grad)
        save("grad_bias%d" % (l + 1), b[l].grad)
    save("grad_hat_net", meta.grad)
    if a.eta_param:
        save("grad_eta", eta.grad)


def time_steps(a):
    """Whole training steps as plastcc's `train joint` runs them: the loss,
    backward, then Adam on the learner (its rule-updated weights, stepped
    with the gradient of their initial values) and on M."""
    dt = getattr(torch, a.dtype)
    g = torch.Generator().manual_seed(a.seed)
    sizes = [int(s) for s in a.sizes.split(",")]
    W = [((torch.rand(sizes[l], sizes[l - 1], generator=g, dtype=dt) * 2 - 1)
          * np.sqrt(6.0 / (sizes[l] + sizes[l - 1]))).requires_grad_() for l in range(1, len(sizes))]
    b = [torch.zeros(n, dtype=dt, requires_grad=True) for n in sizes[1:]]
    h = a.hidden
    meta = torch.cat([(torch.rand(3 * h, generator=g, dtype=dt) * 2 - 1) / np.sqrt(3), torch.zeros(h, dtype=dt),
                      torch.zeros(h + 1, dtype=dt)]).requires_grad_()     # 'init output 0'
    eta = torch.tensor(a.eta, dtype=dt)
    x = torch.rand(a.batch, sizes[0], generator=g, dtype=dt)
    y = np.arange(a.batch) % sizes[-1]
    learner, meta_opt = torch.optim.Adam(W + b, lr=1e-3), torch.optim.Adam([meta], lr=1e-3)
    rss0, times = rss_mb(), []
    for r in range(a.reps + 1):
        t0 = time.perf_counter()
        loss, final = hat_loss(W, b, meta, eta, x, y, torch.sigmoid)
        learner.zero_grad()
        meta_opt.zero_grad()
        loss.backward()
        with torch.no_grad():
            for w, wn in zip(W, final):
                w.copy_(wn)
        learner.step()
        meta_opt.step()
        times.append(time.perf_counter() - t0)
    print(json.dumps({"dtype": a.dtype, "hidden": h, "batch": a.batch, "threads": torch.get_num_threads(),
                      "step_s": round(statistics.median(times[1:]), 4), "first_s": round(times[0], 4),
                      "rss_base_mb": round(rss0, 1), "peak_mb": round(rss_mb(), 1)}))


def rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("what", choices=["make", "step", "time"])
    ap.add_argument("--sizes", default="12,7,4")
    ap.add_argument("--batch", type=int, default=6)
    ap.add_argument("--hidden", type=int, default=100)
    ap.add_argument("--unlabelled", type=int, default=0)
    ap.add_argument("--eta", type=float, default=0.05)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out")
    ap.add_argument("--state")
    ap.add_argument("--act", default="sigmoid", choices=sorted(ACTS))
    ap.add_argument("--eta-param", action="store_true")
    ap.add_argument("--dtype", default="float32", choices=["float32", "float64"])
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--threads", type=int, default=1)
    a = ap.parse_args()
    if a.what != "time" and not a.out:
        ap.error("%s needs --out" % a.what)
    torch.set_num_threads(a.threads)
    {"make": make, "step": step, "time": time_steps}[a.what](a)


if __name__ == "__main__":
    sys.exit(main())
