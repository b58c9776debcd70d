// One training step of depth 32, width 512, batch 128 (Linear-BN-ReLU, SGD, MSE) on signalprop's
// default backend (auto: blas where the native addon is built) against PyTorch CPU (Debian's
// python3-torch) doing the same step, in one run, at one thread and at every core; tfjs-wasm for
// reference. Prints medians and ratios. Usage: npx tsx bench/train.ts [reps] [rounds]
import { spawnSync } from 'node:child_process';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { allCores } from '../src/train/backend.js';
import { type BackendName, type Dataset, type HostBatch, initBackend, resolveTrainConfig, Trainer } from '../src/train/index.js';
import { gaussianInputs, randomTargets } from '../src/network/index.js';

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

async function ours(probe: boolean, backend: BackendName = 'auto', threads = 1): Promise<number[]> {
  const { config, spec } = resolveTrainConfig({
    spec: { depth, width, batch, order: 'linear-bn-act', activation: 'relu' },
    loss: 'mse',
    optimizer: { kind: 'sgd', lr },
    steps: 1_000_000,
    seed: 1,
    probe: probe ? { dense: 1_000_000 } : false,
    backend,
  });
  const be = await initBackend(backend, threads);
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
// "checked" is PyTorch plus what our trainer does every step (read the loss and every gradient's norm).
const rounds = Number(process.argv[3] ?? 3);
const cores = allCores();
const be = await initBackend('auto', 1);
const lib = be.libraries ? `, sgemm: ${be.libraries.sgemm}, OpenBLAS core ${be.libraries.openblasCore}` : '';
process.stderr.write(
  `bench/train: depth ${depth}, width ${width}, batch ${batch}; ${rounds} rounds of ${reps} steps after 2 warm-up steps\n`,
);
const rows: { threads: number; ours: number[]; torch: number[]; checked: number[]; ratio: number[] }[] = [];
let peer = '';
for (const threads of cores > 1 ? [1, cores] : [1]) {
  const row = { threads, ours: [] as number[], torch: [] as number[], checked: [] as number[], ratio: [] as number[] };
  for (let r = 0; r < rounds; r++) {
    const load = os.loadavg()[0];
    const a = median(await ours(false, 'auto', threads));
    const t = torch(threads);
    if (!t) break;
    peer = `PyTorch ${t.torch} CPU`;
    const b = median(t.plain_ms);
    row.ours.push(a);
    row.torch.push(b);
    row.checked.push(median(t.checked_ms));
    row.ratio.push(a / b);
    console.log(
      `${threads} thread(s), round ${r + 1}: signalprop ${a.toFixed(1)} ms, torch ${b.toFixed(1)} ms (checked ${median(t.checked_ms).toFixed(1)}), ratio ${(a / b).toFixed(2)}x, load avg ${load.toFixed(1)} on ${cores} cores`,
    );
  }
  rows.push(row);
}
const probeMs = median(await ours(true, 'auto', 1));
const wasmMs = median(await ours(false, 'wasm'));
console.log(`signalprop default backend: ${be.name} (tfjs ${be.tfjsVersion}${lib})`);
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
