"""PyTorch peer for bench/sample.ts: one forward+backward of a Linear-BN-ReLU net at initialization
with the same per-layer statistics as signalprop's sampler, in float64 on CPU.

Three variants, all computing the same numbers:
  autograd  what a PyTorch user writes: nn.Linear + F.batch_norm(training=True) + ReLU, loss.backward(),
            retain_grad() on every pre-BN h_l, ||W.grad||^2, plus the forward statistics.
  manual    the algorithm signalprop uses: hand-written BN backward, ||dW||^2 from Gram matrices
            (||g^T x||_F^2 = <g g^T, x x^T>), no dW formed; the same flop count as ours.
  fresh     a new seed's whole job: the weights, inputs and readout drawn with torch.randn (scaled as the
            init says), then the autograd step (what signalprop's per-seed cost includes: its draws).
Prints one JSON line: {"torch": version, "threads": n, "autograd_ms": [...], "manual_ms": [...], "fresh_ms": [...], "check_…": {...}}.
"""
import json
import math
import sys
import time

import torch

def main():
    args = json.loads(sys.argv[1])
    L, N, B, reps, threads = args["depth"], args["width"], args["batch"], args["reps"], args["threads"]
    torch.set_num_threads(threads)
    torch.manual_seed(1)
    dt = torch.float64
    Ws = [torch.randn(N, N, dtype=dt) * math.sqrt(2.0 / N) for _ in range(L)]
    x0 = torch.randn(B, N, dtype=dt)
    r = torch.randn(N, dtype=dt) * math.sqrt(1.0 / N)
    eps = 1e-5

    def cos_mean(x):
        G = x @ x.T
        d = torch.sqrt(torch.diagonal(G))
        C = G / d[:, None] / d[None, :]
        iu = torch.triu_indices(B, B, 1)
        return C[iu[0], iu[1]].mean()

    def autograd_step(Ws=Ws, x0=x0, r=r):
        params = [W.clone().requires_grad_(True) for W in Ws]
        x = x0
        hs, stats = [], []
        for W in params:
            h = x @ W.T
            h.retain_grad()
            hs.append(h)
            z = torch.nn.functional.batch_norm(h, None, None, None, None, training=True, eps=eps)
            a = torch.relu(z)
            with torch.no_grad():
                stats.append((h.var(0, unbiased=False).mean(), a.mean(0).mean(), a.var(0, unbiased=False).mean(), cos_mean(a)))
            x = a
        loss = (x @ r).sum()
        loss.backward()
        gh = [float((h.grad ** 2).sum()) for h in hs]
        gw = [float((W.grad ** 2).sum()) for W in params]
        return gh, gw, [tuple(float(v) for v in s) for s in stats]

    @torch.no_grad()
    def manual_step():
        x = x0
        gram_in = x @ x.T
        cache, stats = [], []
        for W in Ws:
            h = x @ W.T
            mu = h.mean(0)
            var = h.var(0, unbiased=False)
            inv = torch.rsqrt(var + eps)
            zh = (h - mu) * inv
            a = torch.relu(zh)
            G = a @ a.T
            d = torch.sqrt(torch.diagonal(G))
            C = G / d[:, None] / d[None, :]
            iu = torch.triu_indices(B, B, 1)
            stats.append((float(var.mean()), float(a.mean()), float(a.var(0, unbiased=False).mean()), float(C[iu[0], iu[1]].mean())))
            cache.append((zh, inv, gram_in))
            gram_in = G
            x = a
        g = r.expand(B, N).clone()
        gh, gw = [0.0] * L, [0.0] * L
        for l in range(L - 1, -1, -1):
            zh, inv, gin = cache[l]
            g = g * (zh > 0)
            g = inv * (g - g.mean(0) - zh * (g * zh).mean(0))
            gh[l] = float((g * g).sum())
            gw[l] = float(((g @ g.T) * gin).sum())
            if l > 0:
                g = g @ Ws[l]
        return gh, gw, stats

    def fresh_step():
        Wf = [torch.randn(N, N, dtype=dt) * math.sqrt(2.0 / N) for _ in range(L)]
        xf = torch.randn(B, N, dtype=dt)
        rf = torch.randn(N, dtype=dt) * math.sqrt(1.0 / N)
        return autograd_step(Wf, xf, rf)

    out = {"torch": torch.__version__, "threads": torch.get_num_threads(), "autograd_ms": [], "manual_ms": [], "fresh_ms": []}
    for name, fn in (("autograd", autograd_step), ("manual", manual_step), ("fresh", fresh_step)):
        fn()  # warm up
        for _ in range(reps):
            t = time.perf_counter()
            res = fn()
            out[name + "_ms"].append((time.perf_counter() - t) * 1000)
        out["check_" + name] = {"grad_h_sq_1": res[0][0], "grad_h_sq_L": res[0][-1], "grad_w_sq_1": res[1][0], "stats_1": res[2][0]}
    print(json.dumps(out))

main()
