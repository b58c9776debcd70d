// One training step of depth 32, width 512, batch 128 (Linear-BN-ReLU, SGD, MSE) on signalprop's
// default backend (auto: blas where the native addon is built) against PyTorch CPU (Debian's
// python3-torch) doing the same step, in one run, at one thread and at every core; tfjs-wasm for
// reference. Prints medians and ratios. Usage: npx tsx bench/train.ts [reps] [rounds]
import os from 'node:os';
import type { BackendName } from '../src/train/index.js';
import { alternatingRounds, backendLine, median, roundSummaries, type SummaryRow, saveSummary, torchPeer, trainerSteps } from './common.js';

const reps = Number(process.argv[2] ?? 7);
const rounds = Number(process.argv[3] ?? 3);
const depth = 32;
const width = 512;
const batch = 128;
const lr = 0.01;
const spec = { depth, width, batch, order: 'linear-bn-act', activation: 'relu' } as const;
const ours = (probe: boolean, backend: BackendName = 'auto', threads = 1) => trainerSteps(spec, { reps, lr, probe, backend, threads });

// The machine may be shared: the two sides run in alternating rounds so that both see the same load, and
// every round's medians, the load average, and the median of the per-round ratios are reported.
const loadStart = os.loadavg()[0];
process.stderr.write(
  `bench/train: depth ${depth}, width ${width}, batch ${batch}; ${rounds} rounds of ${reps} steps after 2 warm-up steps\n`,
);
const { rows, peer } = await alternatingRounds(
  rounds,
  (threads) => ours(false, 'auto', threads),
  (threads) => torchPeer('train_torch.py', { depth, width, batch, reps, threads, lr }),
);
const probeMs = median(await ours(true, 'auto', 1));
const wasmMs = median(await ours(false, 'wasm'));
console.log(`signalprop default backend: ${await backendLine()}`);
for (const r of rows) {
  if (!r.ours.length) continue;
  console.log(
    `${r.threads} thread(s): signalprop ${median(r.ours).toFixed(1)} ms/step, ${peer} ${median(r.torch).toFixed(1)} ms/step (checked ${median(r.checked).toFixed(1)}); ratio (median of rounds) ${median(r.ratio).toFixed(2)}x, vs checked ${(median(r.ours) / median(r.checked)).toFixed(2)}x (goal <= 1.5x)`,
  );
}
console.log(
  `tfjs-wasm SIMD (1 thread, the previous default): ${wasmMs.toFixed(1)} ms/step (${(wasmMs / median(rows[0].ours)).toFixed(1)}x the default backend, one round)`,
);
console.log(
  `probes on every step: ${probeMs.toFixed(1)} ms/step (${(probeMs / median(rows[0].ours)).toFixed(2)}x a plain step, one round)`,
);

// for bench/summary.ts (the README's speed table)
const what = `training step, depth ${depth}, width ${width}, B ${batch}`;
const summary: SummaryRow[] = roundSummaries(rows, what, peer);
if (rows[0].ours.length) {
  const blasMs = median(rows[0].ours);
  summary.push({
    what: `${what}, tfjs-wasm (no addon; one round)`,
    threads: 1,
    oursMs: wasmMs,
    peer: 'signalprop blas',
    peerMs: blasMs,
    ratio: wasmMs / blasMs,
  });
  summary.push({
    what: `${what}, dense probes every step (one round)`,
    threads: 1,
    oursMs: probeMs,
    peer: 'signalprop plain step',
    peerMs: blasMs,
    ratio: probeMs / blasMs,
  });
}
saveSummary('train', summary, loadStart);
