#!/usr/bin/python3
"""Independent PyTorch (autograd, float64) reference for one inner loop of
Gu, Greydanus, Metz, Maheswaranathan and Sohl-Dickstein, "Meta-learning
biologically plausible semi-supervised update rules" (Appendix A), as
plastcc implements it (docs/language.md, section 6.2).  tests/runtime/episode-gu.sh
checks `plastcc episode` against it.

Usage
-----
  gu_ref.py --state DIR --out DIR --batch B

State DIR: see make_gu_state.py (W1..WL, Wtop0..WtopL-1, Wlat0..WlatL,
x_train, y_train (-1: unlabelled), x_query, y_query, gu_net.W1, b1, W2, b2).

The model (no biases; layer 0 is the input, x^0 = z^0 = x)
-----------------------------------------------------------
  z^l = W^l x^{l-1},  x^l = tanh(z^l) (l < L),  x^L = softmax(z^L)
  loss_b = CE(z^L_b, y_b) for labelled samples (mask m_b = 1), 0 otherwise
Inner step t on the samples t*B .. t*B + B - 1 of the training stream:
  zlat^l = Wlat^l x^l                              l = 0..L  (lateral input)
  ztop^L = m (softmax(z^L) - onehot(y))            (the loss gradient w.r.t. the
                                                    logits, 0 when unlabelled)
  for l = L-1 .. 0:
      delta^{l+1} = MLP(u^{l+1})[0]
      ztop^l = Wtop^l delta^{l+1}                  (top-down input)
  u^l_b = (z^l_b, ztop^l_b, zlat^l_b, mean_b z^l, mean_b ztop^l, mean_b zlat^l)
          per neuron: the meta-MLP's six inputs
  (delta, a, b, atop, btop, alat, blat)^l = MLP(u^l),
          MLP(u) = V2 relu(V1 u + c1) + c2, the same for every neuron
  W^l    += mean_b  b^l_b   (a^{l-1}_b)^T  / sqrt(n_{l-1} n_l)
  Wtop^l += mean_b btop^l_b (atop^{l+1}_b)^T / sqrt(n_{l+1} n_l)
  Wlat^l += mean_b blat^l_b (alat^l_b)^T   / sqrt(n_l n_l)
  (every update from the weights and signals before the step)
Meta-loss: mean over the query samples of CE(z^L(x_q), y_q) with the final
weights.  Autograd gives its gradient with respect to the MLP's weights and to
every initial weight matrix.

Output DIR: meta_loss.npy, grad_gu_net.{W1,b1,W2,b2}.npy, and per weight
matrix NAME its final value NAME.npy and gradient grad_NAME.npy.
"""
import argparse
import os

import numpy as np
import torch

torch.set_default_dtype(torch.float64)


def load(d, name):
    return torch.tensor(np.load(os.path.join(d, name + ".npy")))


def mlp(u, V1, c1, V2, c2):
    """u [..., 6] -> [..., 7]"""
    return torch.relu(u @ V1.T + c1) @ V2.T + c2


def neuron_outputs(z, ztop, zlat, net):
    """z, ztop, zlat [B, n] -> outputs [B, n, 7]"""
    B = z.shape[0]
    means = [v.mean(0, keepdim=True).expand(B, -1) for v in (z, ztop, zlat)]
    u = torch.stack([z, ztop, zlat] + means, dim=-1)
    return mlp(u, *net)


def forward(W, x):
    zs, xs = [x], [x]
    for l, Wl in enumerate(W):
        z = xs[-1] @ Wl.T
        zs.append(z)
        xs.append(torch.softmax(z, 1) if l == len(W) - 1 else torch.tanh(z))
    return zs, xs


def step(W, Wtop, Wlat, net, x, y):
    L = len(W)
    zs, xs = forward(W, x)
    mask = (y >= 0).to(x.dtype)
    onehot = torch.zeros_like(zs[L])
    lab = y >= 0
    onehot[lab, y[lab]] = 1.0
    zlat = [xs[l] @ Wlat[l].T for l in range(L + 1)]
    ztop = [None] * (L + 1)
    ztop[L] = mask[:, None] * (torch.softmax(zs[L], 1) - onehot)
    outs = [None] * (L + 1)
    for l in range(L, -1, -1):
        outs[l] = neuron_outputs(zs[l], ztop[l], zlat[l], net)
        if l > 0:
            ztop[l - 1] = outs[l][..., 0] @ Wtop[l - 1].T
    n = [W[0].shape[1]] + [Wl.shape[0] for Wl in W]
    B = x.shape[0]

    def outer(post, pre, n_post, n_pre):
        return post.T @ pre / B / np.sqrt(n_post * n_pre)

    W2 = [W[l - 1] + outer(outs[l][..., 2], outs[l - 1][..., 1], n[l], n[l - 1]) for l in range(1, L + 1)]
    Wtop2 = [Wtop[l] + outer(outs[l][..., 4], outs[l + 1][..., 3], n[l], n[l + 1]) for l in range(L)]
    Wlat2 = [Wlat[l] + outer(outs[l][..., 6], outs[l][..., 5], n[l], n[l]) for l in range(L + 1)]
    return W2, Wtop2, Wlat2


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--state", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--batch", type=int, required=True)
    a = ap.parse_args()
    d = a.state
    L = 0
    while os.path.exists(os.path.join(d, "W%d.npy" % (L + 1))):
        L += 1
    W0 = [load(d, "W%d" % l).requires_grad_() for l in range(1, L + 1)]
    Wtop0 = [load(d, "Wtop%d" % l).requires_grad_() for l in range(L)]
    Wlat0 = [load(d, "Wlat%d" % l).requires_grad_() for l in range(L + 1)]
    net = [load(d, "gu_net." + k).requires_grad_() for k in ("W1", "b1", "W2", "b2")]
    xt, yt = load(d, "x_train"), load(d, "y_train")
    xq, yq = load(d, "x_query"), load(d, "y_query")
    W, Wtop, Wlat = W0, Wtop0, Wlat0
    for t in range(xt.shape[0] // a.batch):
        s = slice(t * a.batch, (t + 1) * a.batch)
        W, Wtop, Wlat = step(W, Wtop, Wlat, net, xt[s], yt[s])
    zs, _ = forward(W, xq)
    loss = torch.nn.functional.cross_entropy(zs[L], yq)
    loss.backward()
    os.makedirs(a.out, exist_ok=True)

    def save(name, v):
        np.save(os.path.join(a.out, name + ".npy"), v.detach().numpy())

    save("meta_loss", loss)
    for k, v in zip(("W1", "b1", "W2", "b2"), net):
        save("grad_gu_net." + k, v.grad)
    mats = [("W%d" % (l + 1), W0[l], W[l]) for l in range(L)]
    mats += [("Wtop%d" % l, Wtop0[l], Wtop[l]) for l in range(L)]
    mats += [("Wlat%d" % l, Wlat0[l], Wlat[l]) for l in range(L + 1)]
    for name, start, final in mats:
        save(name, final)
        save("grad_" + name, start.grad)


if __name__ == "__main__":
    main()
