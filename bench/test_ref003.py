#!/usr/bin/python3
"""Self-test of the paper-003 reference (ref003.py), make_state.py and
compare_npy.py.  Run:  /usr/bin/python3 bench/test_ref003.py

  (a) for every rule x feedback on a tiny network (sizes 6,5,4,3, 7 steps,
      4 query samples): the autograd meta-gradient of every meta-parameter
      element equals a central finite difference of the whole episode
      (eps = 1e-6, relative error < 1e-6, with the denominator floored at
      1e-4 |meta_loss|, the finite difference's own round-off level).
  (b) fa with symmetric feedback: one step's dw_l equals -theta times the
      true backprop gradient dLoss/dW_l of the per-sample cross-entropy,
      computed independently by autograd, for every layer l.
  (c) the factored rule implementation (ref003.rule_dw) equals the
      per-synapse formulas of the contract, written as explicit loops.
  (d) end to end: make_state.py -> ref003.py CLI -> compare_npy.py, including
      compare_npy's exit codes, and the Fashion-MNIST loader when present.
Prints "N passed, N failed" and exits non-zero on failure.
"""
import math
import os
import subprocess
import sys
import tempfile

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import compare_npy  # noqa: E402
import make_state  # noqa: E402
import ref003  # noqa: E402

torch.set_default_dtype(torch.float64)

SIZES = [6, 5, 4, 3]
STEPS = 7
QUERY = 4
BETA = 10.0
EPS = 1e-6
FD_TOL = 1e-6
# Central differences carry round-off ~1e-16 |L| / EPS = 1e-10 |L|, so a
# component below ~1e-4 |L| cannot be resolved to 1e-6 relative: the relative
# error's denominator is floored at FD_FLOOR * |meta_loss|.
FD_FLOOR = 1e-4

RESULTS = {"passed": 0, "failed": 0}


def report(ok, msg):
    RESULTS["passed" if ok else "failed"] += 1
    print("%s  %s" % ("ok  " if ok else "FAIL", msg))


def tiny_state(feedback, seed=1):
    st = make_state.make_state(SIZES, STEPS, QUERY, seed, feedback, "fa")
    return {
        "W": [torch.from_numpy(st["W%d" % l]) for l in range(1, len(SIZES))],
        "B": [] if feedback == "symmetric" else
        [torch.from_numpy(st["B%d" % l]) for l in range(1, len(SIZES))],
        "x_train": torch.from_numpy(st["x_train"]),
        "y_train": torch.from_numpy(st["y_train"]),
        "x_query": torch.from_numpy(st["x_query"]),
        "y_query": torch.from_numpy(st["y_query"]),
    }


def test_params(rule, rng):
    """Meta-parameters large enough that every term moves the tiny episode."""
    if rule == "pool":
        return {"theta": np.concatenate([[0.3], rng.uniform(-0.1, 0.1, 9)])}
    if rule == "fa":
        return {"theta": np.array(0.3)}
    if rule == "tanh_error":
        return {"eta": np.array(0.3)}
    return {"alpha": np.array(0.3), "gamma": np.array(0.05)}


def episode_loss(state, rule, params_np, feedback):
    with torch.no_grad():
        p = {k: torch.tensor(v) for k, v in params_np.items()}
        loss, _ = ref003.run_episode(state, rule, p, feedback, BETA)
    return loss.item()


def rel_err(a, b, floor=1e-300):
    return abs(a - b) / max(abs(a), abs(b), floor)


# ------------------------------------------------------------------ (a) ----

def perturbed(params, name, idx, delta):
    """Copy of params with element idx (flat) of params[name] moved by delta."""
    out = {k: np.array(v, copy=True) for k, v in params.items()}
    flat = out[name].reshape(-1)
    flat[idx] += delta
    out[name] = flat.reshape(out[name].shape)
    return out


def check_fd(rule, feedback, rng):
    state = tiny_state(feedback)
    params = test_params(rule, rng)
    loss, grads, _ = ref003.meta_gradient(state, rule, params, feedback, BETA)
    worst, worst_at = 0.0, None
    for name, v in params.items():
        g = np.atleast_1d(grads[name])
        for idx in range(np.atleast_1d(v).size):
            plus = perturbed(params, name, idx, +EPS)
            minus = perturbed(params, name, idx, -EPS)
            fd = (episode_loss(state, rule, plus, feedback)
                  - episode_loss(state, rule, minus, feedback)) / (2 * EPS)
            e = rel_err(g[idx], fd, FD_FLOOR * abs(loss))
            if e > worst or worst_at is None:
                worst, worst_at = e, "%s[%d] ad=%.10e fd=%.10e" % (
                    name, idx, g[idx], fd)
    report(worst < FD_TOL and math.isfinite(loss),
           "(a) %-10s %-9s meta_loss=%.6f worst rel err %.2e at %s"
           % (rule, feedback, loss, worst, worst_at))


# ------------------------------------------------------------------ (b) ----

def check_fa_is_backprop():
    state = tiny_state("symmetric", seed=3)
    theta = 0.3
    x, c = state["x_train"][0], int(state["y_train"][0])
    new = ref003.inner_step(state["W"], [], x, c, "fa",
                            {"theta": torch.tensor(theta)}, "symmetric", BETA)
    ws = [w.clone().requires_grad_(True) for w in state["W"]]
    loss = ref003.batch_loss(ws, x[None, :], torch.tensor([c]), BETA)
    grads = torch.autograd.grad(loss, ws)
    for l, (w0, w1, g) in enumerate(zip(state["W"], new, grads), start=1):
        dw = (w1 - w0).detach()
        err = ((dw + theta * g).abs().max() / (theta * g).abs().max()).item()
        report(err < 1e-12, "(b) fa/symmetric layer %d: dw = -theta dL/dW, "
               "max rel err %.2e" % (l, err))


# ------------------------------------------------------------------ (c) ----

def loop_dw(rule, py, pe, qy, qe, w, p):
    """Per-synapse contract formulas; p = pre (y, e), q = post (y, e)."""
    n_post, n_pre = w.shape
    dw = np.zeros_like(w)
    s1 = sum(qy[k] * w[k, m] * pe[m] for k in range(n_post)
             for m in range(n_pre))
    s2 = sum(py[m] * w[k, m] * qe[k] for k in range(n_post)
             for m in range(n_pre))
    for i in range(n_post):
        for j in range(n_pre):
            if rule == "pool":
                t = p["theta"]
                d = (- t[0] * qe[i] * py[j] - t[1] * qy[i] * pe[j]
                     - t[2] * qe[i] * pe[j] - t[3] * w[i, j] - t[4] * pe[j]
                     - t[5] * qe[i] * qy.sum() * py[j]
                     - t[6] * qy[i] * s1 * pe[j]
                     - t[7] * qe[i] * s1 * py[j]
                     - t[8] * qy[i] * s2 * pe[j]
                     - t[9] * (qy[i] * py[j]
                               - qy[i] * sum(qy[k] * w[k, j]
                                             for k in range(n_post))))
            elif rule == "fa":
                d = -p["theta"] * qe[i] * py[j]
            elif rule == "tanh_error":
                d = -p["eta"] * py[j] * math.tanh(2 * qe[i])
            else:
                d = (-p["alpha"] * qe[i] * py[j]
                     - p["gamma"] * w[i, j] * (qy ** 2).sum())
            dw[i, j] = d
    return dw


def check_rule_formulas(rng):
    for rule in ref003.RULES:
        params = test_params(rule, rng)
        if rule == "pool":
            params["theta"][3] = 0.07     # make sure the decay term is on
        w = rng.normal(size=(4, 6))
        vecs = [rng.normal(size=6), rng.normal(size=6),
                rng.normal(size=4), rng.normal(size=4)]
        got = ref003.rule_dw(rule, *[torch.tensor(v) for v in vecs],
                             torch.tensor(w),
                             {k: torch.tensor(v) for k, v in params.items()})
        want = loop_dw(rule, *vecs, w, params)
        err = np.abs(got.numpy() - want).max() / np.abs(want).max()
        report(err < 1e-13, "(c) %-10s factored rule == per-synapse formula, "
               "rel err %.2e" % (rule, err))


# ------------------------------------------------------------------ (d) ----

def run(args):
    return subprocess.run([sys.executable] + args, capture_output=True,
                          text=True)


def check_cli():
    with tempfile.TemporaryDirectory() as tmp:
        st, o1, o2 = (os.path.join(tmp, d) for d in ("st", "o1", "o2"))
        r = run([os.path.join(HERE, "make_state.py"), "--sizes", "6,5,4,3",
                 "--steps", "7", "--query", "4", "--seed", "5",
                 "--feedback", "direct", "--rule", "pool", "--out", st])
        report(r.returncode == 0, "(d) make_state.py runs " + r.stderr)
        for out in (o1, o2):
            r = run([os.path.join(HERE, "ref003.py"), "--state", st,
                     "--out", out, "--rule", "pool", "--feedback", "direct"])
        files = sorted(os.listdir(o1)) if os.path.isdir(o1) else []
        want = ["W1.npy", "W2.npy", "W3.npy", "grad_theta.npy",
                "meta_loss.npy"]
        report(r.returncode == 0 and files == want,
               "(d) ref003.py CLI writes %s %s" % (files, r.stderr))
        g = np.load(os.path.join(o1, "grad_theta.npy"))
        m = np.load(os.path.join(o1, "meta_loss.npy"))
        report(g.shape == (10,) and m.shape == () and g.dtype == np.float64,
               "(d) output shapes grad_theta %s meta_loss %s"
               % (g.shape, m.shape))
        cmp = os.path.join(HERE, "compare_npy.py")
        r = run([cmp, o1, o2])
        report(r.returncode == 0, "(d) compare_npy identical dirs -> 0")
        np.save(os.path.join(o2, "W2.npy"),
                np.load(os.path.join(o2, "W2.npy")) * (1 + 1e-6))
        r = run([cmp, o1, o2])
        report(r.returncode == 1, "(d) compare_npy 1e-6 perturbation -> 1")
        os.remove(os.path.join(o2, "W3.npy"))
        r = run([cmp, o1, o2])
        report(r.returncode == 2 and "W3.npy" in r.stdout,
               "(d) compare_npy missing file -> 2")
    report(compare_npy.max_rel_diff([1.0, 1e-20], [1.0, -1e-20]) == 0.0
           and compare_npy.max_rel_diff([1.0, np.nan], [1.0, np.nan])
           == float("inf"),
           "(d) compare_npy tiny-element floor and NaN handling")
    if os.path.isdir(make_state.FASHION_DIR):
        st = make_state.make_state([784, 20, 47], 5, 3, 0, "random", "fa",
                                   "fashion")
        x = st["x_train"]
        report(x.shape == (5, 784) and 0 <= x.min() and x.max() <= 1
               and x.max() > 0.5 and st["y_train"].max() < 10,
               "(d) fashion-mnist loader")


def main():
    rng = np.random.default_rng(1234)
    for rule in ref003.RULES:
        for feedback in ref003.FEEDBACKS:
            check_fd(rule, feedback, rng)
    check_fa_is_backprop()
    check_rule_formulas(rng)
    check_cli()
    print("%d passed, %d failed" % (RESULTS["passed"], RESULTS["failed"]))
    return 1 if RESULTS["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
