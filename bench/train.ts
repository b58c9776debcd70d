// One training step of depth 32, width 512, batch 128 (Linear-BN-ReLU, SGD, MSE) on signalprop's
// default backend (tfjs + wasm SIMD, one thread) against PyTorch CPU (Debian's python3-torch) doing
// the same step, in one run. Prints medians and ratios. Usage: npx tsx bench/train.ts [reps]
import { spawnSync } from 'node:child_process';
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

const be = await initBackend('wasm');
process.stderr.write(`bench/train: depth ${depth}, width ${width}, batch ${batch}, ${reps} reps after 2 warm-up steps\n`);
const ourMs = await ours(false);
const probeMs = await ours(true);
const t1 = torch(1);
const t2 = torch(2);
const rows: [string, number][] = [
  [`signalprop ${be.name}${be.simd ? ' SIMD' : ''} (tfjs ${be.tfjsVersion}, 1 thread)`, median(ourMs)],
  ['signalprop, probes on every step', median(probeMs)],
];
if (t1) rows.push([`PyTorch ${t1.torch} CPU, ${t1.threads} thread`, median(t1.plain_ms)], [`PyTorch, ${t1.threads} thread + per-step grad-norm read`, median(t1.checked_ms)]);
if (t2) rows.push([`PyTorch ${t2.torch} CPU, ${t2.threads} threads`, median(t2.plain_ms)]);
for (const [name, m] of rows) console.log(`${name.padEnd(56)} ${m.toFixed(1).padStart(8)} ms/step`);
if (t1) console.log(`ratio signalprop / PyTorch (1 thread):  ${(median(ourMs) / median(t1.plain_ms)).toFixed(2)}x  (goal <= 1.5x)`);
if (t2) console.log(`ratio signalprop / PyTorch (${t2.threads} threads): ${(median(ourMs) / median(t2.plain_ms)).toFixed(2)}x`);
console.log(`probe overhead: ${(median(probeMs) / median(ourMs)).toFixed(2)}x a plain step`);
console.log(`raw ms: ours ${ourMs.map((v) => v.toFixed(0)).join(' ')}; torch1 ${t1?.plain_ms.map((v) => v.toFixed(0)).join(' ')}`);
