#!/usr/bin/python3
"""The meta-learner part of one HAT training step (paper 001) in PyTorch, in
the paper's 1x1-convolution form: PyTorch's side of workload w4
(bench/bench.py --only w4, bench/README.md).

Usage
-----
  torch_hat.py [--batch B] [--threads N] [--dtype float32|float64]
               [--reps N] [--inputs DIR]
  torch_hat.py --check DIR [--chunk C]

Timing mode.  Learner layer 784 -> 183, minibatch B (default 50), meta-learner
M = MLP 3-100(relu)-1 applied to every (pre, w, post) triple as the paper's
appendix A does: the input tensor [B, 3, 183, 784] (channels pre.y[b, j],
w[i, j], post.y[b, i]), Conv2d 1x1 3 -> 100, ReLU, Conv2d 1x1 100 -> 1, mean
over the batch -> dw [183, 784]; then one backward pass from an upstream
gradient adj_dw to the meta-learner's weights and biases and to w, pre.y,
post.y (what hat_adj computes).  Forward and backward are timed separately,
median of --reps (default 3) after one warm-up; prints one JSON line with
the times, process CPU time, the resident size before the first step and
the peak (getrusage; includes torch itself, about 250 MB), and the BLAS /
oneDNN use.  Inputs come from --inputs DIR (hat_step --dump; the first B
samples) or from torch.manual_seed(1).

Check mode.  Reads DIR as written by `bench/hat_step --dump DIR` (inputs and
plastcc's outputs, double), computes the same in float64 in the convolution
form, C samples at a time (the full batch would need ~23 GB in float64;
the mean and the gradients are sums over samples), and prints the relative
difference (2-norm) of each output against plastcc's (and against its fp32
run, files *_fp32.npy, when present).
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
import torch.nn.functional as F

N_PRE, N_POST, HIDDEN = 784, 183, 100


def rss_mb():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096 / 2**20


def peak_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def split_meta(meta, dtype):
    """plastcc's meta vector (W1 [100,3] row-major, b1, W2 [1,100], b2) as
    the two Conv2d layers' parameters, leaf tensors requiring grad."""
    m = torch.as_tensor(meta, dtype=dtype)
    w1 = m[:300].reshape(HIDDEN, 3, 1, 1).clone().requires_grad_()
    b1 = m[300:400].clone().requires_grad_()
    w2 = m[400:500].reshape(1, HIDDEN, 1, 1).clone().requires_grad_()
    b2 = m[500:501].clone().requires_grad_()
    return [w1, b1, w2, b2]


def hat_dw(pre, w, post, params):
    """dw[i, j] = mean_b M(pre[b, j], w[i, j], post[b, i]), the paper's way:
    one [B, 3, n_post, n_pre] tensor through two 1x1 convolutions."""
    w1, b1, w2, b2 = params
    b = pre.shape[0]
    x = torch.stack([pre[:, None, :].expand(b, N_POST, N_PRE),
                     w[None].expand(b, N_POST, N_PRE),
                     post[:, :, None].expand(b, N_POST, N_PRE)], dim=1)
    h = F.relu(F.conv2d(x, w1, b1))
    out = F.conv2d(h, w2, b2)              # [B, 1, n_post, n_pre]
    return out.mean(dim=0)[0]


def load_inputs(d, batch=None):
    get = lambda n: np.load(os.path.join(d, n + ".npy"))
    pre, post = get("pre_y"), get("post_y")
    if batch is not None:
        pre, post = pre[:batch], post[:batch]
    return pre, get("w"), post, get("meta"), get("adj_dw")


def timing(args):
    torch.set_num_threads(args.threads)
    dtype = getattr(torch, args.dtype)
    if args.inputs:
        pre, w, post, meta, adj = load_inputs(args.inputs, args.batch)
        assert pre.shape[0] == args.batch, "the dump has fewer samples than --batch"
        pre, w, post, adj = (torch.as_tensor(a, dtype=dtype) for a in (pre, w, post, adj))
    else:
        g = torch.Generator().manual_seed(1)
        pre = torch.rand(args.batch, N_PRE, generator=g, dtype=dtype)
        post = torch.rand(args.batch, N_POST, generator=g, dtype=dtype)
        w = (2 * torch.rand(N_POST, N_PRE, generator=g, dtype=dtype) - 1) / N_PRE ** 0.5
        adj = 2 * torch.rand(N_POST, N_PRE, generator=g, dtype=dtype) - 1
        meta = np.concatenate([(2 * np.random.RandomState(1).rand(400) - 1) / 3 ** 0.5,
                               (2 * np.random.RandomState(2).rand(101) - 1) / 10])
    params = split_meta(meta, dtype)
    leaves = [w.requires_grad_(), pre.requires_grad_(), post.requires_grad_()]
    rss_base = rss_mb()
    fwd, bwd, cpu = [], [], []
    for r in range(args.reps + 1):        # the first is a warm-up
        for p in params + leaves:
            p.grad = None
        c0, t0 = time.process_time(), time.perf_counter()
        dw = hat_dw(pre, w, post, params)
        t1 = time.perf_counter()
        dw.backward(adj)
        t2, c2 = time.perf_counter(), time.process_time()
        del dw
        if r:
            fwd.append(t1 - t0)
            bwd.append(t2 - t1)
            cpu.append(c2 - c0)
    tot = [a + b for a, b in zip(fwd, bwd)]
    print(json.dumps({
        "batch": args.batch, "threads": args.threads, "dtype": args.dtype, "reps": args.reps,
        "fwd_s": statistics.median(fwd), "bwd_s": statistics.median(bwd),
        "step_s": statistics.median(tot), "step_min_s": min(tot), "cpu_s": statistics.median(cpu),
        "rss_base_mb": round(rss_base, 1), "peak_mb": round(peak_mb(), 1),
        "mkldnn": bool(torch.backends.mkldnn.is_available()),
        "torch": torch.__version__}), flush=True)


def check(args):
    torch.set_num_threads(args.threads)
    pre, w, post, meta, adj = load_inputs(args.check)
    dt = torch.float64
    pre_t, w_t, post_t, adj_t = (torch.as_tensor(a, dtype=dt) for a in (pre, w, post, adj))
    params = split_meta(meta, dt)
    w_t.requires_grad_()
    b_all = pre.shape[0]
    dw = torch.zeros(N_POST, N_PRE, dtype=dt)
    adj_pre, adj_post = np.zeros_like(pre), np.zeros_like(post)
    t0 = time.perf_counter()
    for s in range(0, b_all, args.chunk):
        pc = pre_t[s:s + args.chunk].clone().requires_grad_()
        qc = post_t[s:s + args.chunk].clone().requires_grad_()
        part = hat_dw(pc, w_t, qc, params) * (pc.shape[0] / b_all)
        part.backward(adj_t)               # grads of w and the meta-parameters accumulate
        dw += part.detach()
        adj_pre[s:s + args.chunk] = pc.grad.numpy()
        adj_post[s:s + args.chunk] = qc.grad.numpy()
    ref = {"dw": dw.numpy(), "adj_meta": torch.cat([p.grad.reshape(-1) for p in params]).numpy(),
           "adj_w": w_t.grad.numpy(), "adj_pre_y": adj_pre, "adj_post_y": adj_post}
    out = {"check_seconds": round(time.perf_counter() - t0, 1), "batch": b_all}
    for suffix in ("", "_fp32"):
        for name, r in ref.items():
            path = os.path.join(args.check, name + suffix + ".npy")
            if not os.path.exists(path):
                continue
            x = np.load(path)
            out[name + suffix] = float(np.linalg.norm(x - r) / np.linalg.norm(r))
    print(json.dumps(out), flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--batch", type=int, default=50)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--dtype", default="float32", choices=["float32", "float64"])
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--inputs")
    ap.add_argument("--check")
    ap.add_argument("--chunk", type=int, default=5)
    args = ap.parse_args()
    if args.check:
        check(args)
    else:
        timing(args)


if __name__ == "__main__":
    sys.exit(main())
