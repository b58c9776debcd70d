"""PyTorch peer for bench/train.ts: one SGD training step of a Linear-BN-ReLU MLP (float32, CPU).

The same step as signalprop's Trainer.step: forward (Linear with bias, BatchNorm in training mode
with affine gamma/beta and running statistics, ReLU) x depth, a Linear readout to 10 outputs, the MSE
loss (1/(2B)) sum ||y - t||^2, backward, and p <- p - lr * grad for every parameter. Two variants:
  plain    what a PyTorch user writes (loss.backward(); optimizer.step()).
  checked  plain + what our trainer also does every step: read the loss and every tensor's ||g||^2
           to the host (the divergence check) before the update.
Prints one JSON line: {"torch": version, "threads": n, "plain_ms": [...], "checked_ms": [...]}.
With --serve (bench/train.ts --table): one JSON request per line on stdin, one JSON line back for each (see
serve()), so that a table alternates with signalprop round by round without starting Python for each cell.
"""
import json
import math
import sys
import time

import torch
import torch.nn.functional as F


def build(a):
    """The net, data and optimizer of one configuration; returns its step(checked) function."""
    L, N, B, nout, threads, lr = a["depth"], a["width"], a["batch"], 10, a["threads"], a["lr"]
    torch.set_num_threads(threads)
    torch.manual_seed(1)
    params = []
    for _ in range(L):
        params += [
            (torch.randn(N, N) * math.sqrt(2.0 / N)).requires_grad_(True),
            torch.zeros(N, requires_grad=True),
            torch.ones(N, requires_grad=True),
            torch.zeros(N, requires_grad=True),
        ]
    R = (torch.randn(nout, N) * math.sqrt(1.0 / N)).requires_grad_(True)
    rb = torch.zeros(nout, requires_grad=True)
    params += [R, rb]
    run_mean = [torch.zeros(N) for _ in range(L)]
    run_var = [torch.ones(N) for _ in range(L)]
    x0 = torch.randn(B, N)
    t = torch.randn(B, nout)
    opt = torch.optim.SGD(params, lr=lr)

    def step(checked):
        x = x0
        for l in range(L):
            W, b, g, be = params[4 * l: 4 * l + 4]
            h = F.linear(x, W, b)
            z = F.batch_norm(h, run_mean[l], run_var[l], g, be, training=True, momentum=0.1, eps=1e-5)
            x = torch.relu(z)
        y = F.linear(x, R, rb)
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

    return step


def timed(step, checked, reps):
    ms = []
    for _ in range(reps):
        t0 = time.perf_counter()
        step(checked)
        ms.append((time.perf_counter() - t0) * 1000)
    return ms


def run(a):
    step = build(a)
    reps = a["reps"]
    out = {"torch": torch.__version__, "threads": torch.get_num_threads()}
    variants = a.get("variants", ["plain", "checked"])
    for name, checked in (("plain", False), ("checked", True)):
        if name not in variants:
            continue
        for _ in range(2):
            step(checked)
        out[name + "_ms"] = timed(step, checked, reps)
    return out


def serve():
    """Requests: a configuration (run it, as from the command line); {"cmd": "build", ...configuration}: build
    it and take 2 warm-up plain steps; {"cmd": "steps", "reps": n}: time n more plain steps of the last built."""
    step = None
    for line in sys.stdin:
        if not line.strip():
            continue
        a = json.loads(line)
        cmd = a.get("cmd")
        if cmd == "build":
            step = build(a)
            for _ in range(2):
                step(False)
            out = {"torch": torch.__version__, "threads": torch.get_num_threads()}
        elif cmd == "steps":
            out = {"plain_ms": timed(step, False, a["reps"])}
        else:
            out = run(a)
        print(json.dumps(out), flush=True)


def main():
    if sys.argv[1] == "--serve":
        serve()
        return
    print(json.dumps(run(json.loads(sys.argv[1]))))


if __name__ == "__main__":
    main()
