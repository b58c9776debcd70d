"""PyTorch peer for bench/conv.ts: one SGD training step of a conv -> BatchNorm2d -> ReLU stack (float32, CPU).

The same step as signalprop's Trainer.step on the conv-bn-act preset: L layers of a 3x3 convolution with
bias and symmetric zero padding 1 (C_in -> C channels, 28x28), BatchNorm2d in training mode (affine, running
statistics, eps 1e-5), ReLU; global average pooling; a Linear readout to 10 outputs; the MSE loss
(1/(2B)) sum ||y - t||^2; backward; p <- p - lr * grad. Two variants:
  plain    what a PyTorch user writes (loss.backward(); optimizer.step()).
  checked  plain + what our trainer also does every step: read the loss and every ||g||^2 to the host.
Prints one JSON line: {"torch": version, "threads": n, "plain_ms": [...], "checked_ms": [...]}.
"""
import json
import math
import sys
import time

import torch
import torch.nn.functional as F


def main():
    a = json.loads(sys.argv[1])
    L, C, H, cin, B = a["depth"], a["channels"], a["image"], a["in_channels"], a["batch"]
    reps, threads, lr, nout = a["reps"], a["threads"], a["lr"], 10
    torch.set_num_threads(threads)
    torch.manual_seed(1)
    params = []
    c_prev = cin
    for _ in range(L):
        params += [
            (torch.randn(C, c_prev, 3, 3) * math.sqrt(2.0 / (9 * c_prev))).requires_grad_(True),
            torch.zeros(C, requires_grad=True),
            torch.ones(C, requires_grad=True),
            torch.zeros(C, requires_grad=True),
        ]
        c_prev = C
    R = (torch.randn(nout, C) * math.sqrt(1.0 / C)).requires_grad_(True)
    rb = torch.zeros(nout, requires_grad=True)
    params += [R, rb]
    run_mean = [torch.zeros(C) for _ in range(L)]
    run_var = [torch.ones(C) for _ in range(L)]
    x0 = torch.randn(B, cin, H, H)
    t = torch.randn(B, nout)
    opt = torch.optim.SGD(params, lr=lr)

    def step(checked):
        x = x0
        for l in range(L):
            W, b, g, be = params[4 * l: 4 * l + 4]
            h = F.conv2d(x, W, b, padding=1)
            z = F.batch_norm(h, run_mean[l], run_var[l], g, be, training=True, momentum=0.1, eps=1e-5)
            x = torch.relu(z)
        y = F.linear(x.mean(dim=(2, 3)), R, rb)
        loss = 0.5 * ((y - t) ** 2).sum() / B
        opt.zero_grad(set_to_none=True)
        loss.backward()
        if checked:
            with torch.no_grad():
                sq = torch.stack([(p.grad ** 2).sum() for p in params])
                vals = torch.cat([loss.detach().reshape(1), sq]).tolist()
                if not all(math.isfinite(v) for v in vals):
                    raise RuntimeError("diverged")
        opt.step()
        return float(loss)

    out = {"torch": torch.__version__, "threads": torch.get_num_threads()}
    for name, checked in (("plain", False), ("checked", True)):
        for _ in range(2):
            step(checked)
        ms = []
        for _ in range(reps):
            t0 = time.perf_counter()
            step(checked)
            ms.append((time.perf_counter() - t0) * 1000)
        out[name + "_ms"] = ms
    print(json.dumps(out))


if __name__ == "__main__":
    main()
