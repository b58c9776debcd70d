"""Peer for bench/theory.ts: Yang et al. (2019) Thm 7 for tanh, written the way a notebook would
(numpy, the printed formula with the prefactor in log space, a tensor Gauss-Legendre grid on a square
in (z1, z2)). Reads {"batches": [...], "reps": n} as argv[1]; prints JSON {"seconds": [...per rep], "rates": {...}}."""
import json
import sys
import time

import numpy as np

cfg = json.loads(sys.argv[1])
batches = cfg["batches"]
reps = cfg["reps"]

n, panels = 24, 16
gx, gw = np.polynomial.legendre.leggauss(n)


def grid(R):
    h = R / panels
    lo = -R + 2 * R * np.arange(panels) / panels
    pts = (lo[:, None] + h + h * gx[None, :]).ravel()
    ws = np.tile(h * gw, panels)
    return pts, ws


def rate(B):
    R = min(np.sqrt(B - 1), 10.0)
    p, w = grid(R)
    z1, z2 = np.meshgrid(p, p, indexing="ij")
    W = np.outer(w, w)
    Z = B * (B - 2) - B * (z1**2 + z2**2) + (z1 - z2) ** 2
    ok = Z > 0
    lnpref = (2 - B / 2) * np.log(B * (B - 2)) - np.log(2 * np.pi)
    wt = np.zeros_like(Z)
    wt[ok] = W[ok] * np.exp(lnpref + (B - 5) / 2 * np.log(Z[ok]))
    t1, t2 = np.tanh(z1), np.tanh(z2)
    d1, d2 = 1 - t1**2, 1 - t2**2
    num = np.sum(wt * ((B - 1 - z1**2) * d1**2 + (1 + z1 * z2) * d1 * d2))
    mass = np.sum(wt)
    qc = (np.sum(wt * t1**2) - np.sum(wt * t1 * t2)) / mass
    return num / qc


secs = []
rates = {}
for _ in range(reps):
    t = time.perf_counter()
    for B in batches:
        rates[B] = rate(B)
    secs.append(time.perf_counter() - t)
print(json.dumps({"seconds": secs, "rates": {str(k): v for k, v in rates.items()}, "numpy": np.__version__}))
