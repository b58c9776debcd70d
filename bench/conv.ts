// One training step of a 10-layer VGG-style conv net (conv-bn-act preset: 3×3 conv → BatchNorm2d → ReLU at
// 32 channels on 28×28×1 images, global average pooling, a dense head), batch 64, SGD, MSE, on signalprop's
// default backend (blas: the convolution as im2col + sgemm) against PyTorch CPU (Debian's python3-torch,
// bench/conv_torch.py) doing the same step, in alternating rounds of one run, at one thread and at every core.
// Prints medians and ratios. Usage: npx tsx bench/conv.ts [reps] [rounds]
import { spawnSync } from 'node:child_process';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { gaussianInputs, randomTargets } from '../src/network/index.js';
import { allCores } from '../src/train/backend.js';
import { type BackendName, type Dataset, type HostBatch, initBackend, resolveTrainConfig, Trainer } from '../src/train/index.js';

const reps = Number(process.argv[2] ?? 5);
const rounds = Number(process.argv[3] ?? 3);
const depth = 10;
const channels = 32;
const image = 28;
const inChannels = 1;
const batch = 64;
const lr = 0.01;
const dim = image * image * inChannels;

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

/** A dataset that returns one fixed batch (so the bench times the step, not data generation). */
function fixedData(): Dataset {
  const hb: HostBatch = {
    x: Float32Array.from(gaussianInputs(batch, dim, 1)),
    n: batch,
    labels: null,
    targets: Float32Array.from(randomTargets('mse', batch, 1).targets!),
  };
  return { name: 'fixed', dim, nOut: 10, nTrain: null, nTest: batch, batch: () => hb, test: () => hb, describe: () => ({}) };
}

async function ours(backend: BackendName, threads: number): Promise<number[]> {
  const { config, spec } = resolveTrainConfig({
    spec: { order: 'conv-bn-act', depth, width: channels, batch, image: [image, image, inChannels], activation: 'relu' },
    loss: 'mse',
    optimizer: { kind: 'sgd', lr },
    steps: 1_000_000,
    seed: 1,
    probe: false,
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
  const script = fileURLToPath(new URL('./conv_torch.py', import.meta.url));
  const args = { depth, channels, image, in_channels: inChannels, batch, reps, threads, lr };
  const r = spawnSync('/usr/bin/python3', [script, JSON.stringify(args)], { encoding: 'utf8' });
  if (r.status !== 0) {
    process.stderr.write(`torch peer failed (install python3-torch): ${r.stderr.trim().split('\n').pop()}\n`);
    return null;
  }
  return JSON.parse(r.stdout.trim().split('\n').pop()!);
}

const cores = allCores();
const be = await initBackend('auto', 1);
const lib = be.libraries ? `, sgemm: ${be.libraries.sgemm}, OpenBLAS core ${be.libraries.openblasCore}` : '';
process.stderr.write(
  `bench/conv: conv-bn-act depth ${depth}, ${channels} channels, ${image}×${image}×${inChannels}, batch ${batch}; ${rounds} rounds of ${reps} steps after 2 warm-up steps\n`,
);
let peer = '';
const rows: { threads: number; ours: number[]; torch: number[]; checked: number[]; ratio: number[] }[] = [];
for (const threads of cores > 1 ? [1, cores] : [1]) {
  const row = { threads, ours: [] as number[], torch: [] as number[], checked: [] as number[], ratio: [] as number[] };
  for (let r = 0; r < rounds; r++) {
    const load = os.loadavg()[0];
    const a = median(await ours('auto', threads));
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
console.log(`signalprop default backend: ${be.name} (tfjs ${be.tfjsVersion}${lib})`);
for (const r of rows) {
  if (!r.ours.length) continue;
  console.log(
    `${r.threads} thread(s): signalprop ${median(r.ours).toFixed(1)} ms/step, ${peer} ${median(r.torch).toFixed(1)} ms/step (checked ${median(r.checked).toFixed(1)}); ratio (median of rounds) ${median(r.ratio).toFixed(2)}x`,
  );
}
