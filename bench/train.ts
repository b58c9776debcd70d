// One training step of depth 32, width 512, batch 128 (Linear-BN-ReLU, SGD, MSE) on signalprop's
// default backend (tfjs + wasm SIMD, one thread) against PyTorch CPU (Debian's python3-torch) doing
// the same step, in one run. Prints medians and ratios. Usage: npx tsx bench/train.ts [reps] [rounds]
import { spawnSync } from 'node:child_process';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { type Dataset, type HostBatch, initBackend, resolveTrainConfig, Trainer } from '../src/train/index.js';
import { gaussianInputs, randomTargets } from '../src/spec/index.js';

const reps = Number(process.argv[2] ?? 7);
const depth = 32;
const width = 512;
const batch = 128;
const lr = 0.01;

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

/** A dataset that returns one fixed batch (so the bench times the step, not data generation). */
function fixedData(): Dataset {
  const hb: HostBatch = {
    x: Float32Array.from(gaussianInputs(batch, width, 1)),
    n: batch,
    labels: null,
    targets: Float32Array.from(randomTargets('mse', batch, 1).targets!),
  };
  return { name: 'fixed', dim: width, nOut: 10, nTrain: null, nTest: batch, batch: () => hb, test: () => hb, describe: () => ({}) };
}

async function ours(probe: boolean): Promise<number[]> {
  const { config, spec } = resolveTrainConfig({
    spec: { depth, width, batch, order: 'linear-bn-act', activation: 'relu' },
    loss: 'mse',
    optimizer: { kind: 'sgd', lr },
    steps: 1_000_000,
    seed: 1,
    probe: probe ? { dense: 1_000_000 } : false,
  });
  const be = await initBackend('wasm');
  const tr = new Trainer(config, spec, fixedData(), null, be.name);
  for (let t = 0; t < 2; t++) tr.step(t);
  const ms: number[] = [];
  for (let t = 2; t < 2 + reps; t++) {
    const t0 = performance.now();
    tr.step(t);
    ms.push(performance.now() - t0);
  }
  tr.dispose();
  return ms;
}

function torch(threads: number): { torch: string; threads: number; plain_ms: number[]; checked_ms: number[] } | null {
  const script = fileURLToPath(new URL('./train_torch.py', import.meta.url));
  const r = spawnSync('/usr/bin/python3', [script, JSON.stringify({ depth, width, batch, reps, threads, lr })], { encoding: 'utf8' });
  if (r.status !== 0) {
    process.stderr.write(`torch peer failed: ${r.stderr}\n`);
    return null;
  }
  return JSON.parse(r.stdout.trim().split('\n').pop()!);
}

// The machine may be shared: run the two sides in alternating rounds so that both see the same load,
// and report every round's medians, the load average, and the median of the per-round ratios.
const rounds = Number(process.argv[3] ?? 3);
const be = await initBackend('wasm');
process.stderr.write(`bench/train: depth ${depth}, width ${width}, batch ${batch}; ${rounds} rounds of ${reps} steps after 2 warm-up steps\n`);
const ratios: number[] = [];
const ours1: number[] = [];
const torch1: number[] = [];
let peer = '';
for (let r = 0; r < rounds; r++) {
  const load = os.loadavg()[0];
  const a = median(await ours(false));
  const t = torch(1);
  if (!t) break;
  peer = `PyTorch ${t.torch} CPU, ${t.threads} thread`;
  const b = median(t.plain_ms);
  ours1.push(a);
  torch1.push(b);
  ratios.push(a / b);
  console.log(`round ${r + 1}: signalprop ${a.toFixed(1)} ms, torch ${b.toFixed(1)} ms (checked ${median(t.checked_ms).toFixed(1)}), ratio ${(a / b).toFixed(2)}x, load avg ${load.toFixed(1)} on ${os.cpus().length} cores`);
}
const probeMs = median(await ours(true));
const t2 = torch(2);
console.log(`signalprop ${be.name}${be.simd ? ' SIMD' : ''} (tfjs ${be.tfjsVersion}, 1 thread): median ${median(ours1).toFixed(1)} ms/step`);
console.log(`${peer}: median ${median(torch1).toFixed(1)} ms/step`);
if (t2) console.log(`PyTorch ${t2.threads} threads: ${median(t2.plain_ms).toFixed(1)} ms/step (one round)`);
console.log(`ratio signalprop / PyTorch 1 thread (median of rounds): ${median(ratios).toFixed(2)}x (goal <= 1.5x)`);
console.log(`probes on every step: ${probeMs.toFixed(1)} ms/step (${(probeMs / median(ours1)).toFixed(2)}x a plain step, one round)`);
