// One training step of depth 32, width 512, batch 128 (Linear-BN-ReLU, SGD, MSE) on signalprop's
// default backend (auto: blas where the native addon is built) against PyTorch CPU (Debian's
// python3-torch) doing the same step, in one run, at one thread and at every core; tfjs-wasm for
// reference. Prints medians and ratios. Usage: npx tsx bench/train.ts [reps] [rounds]
//
// With --table: the step time against PyTorch's over the sizes studies use (width 64, 128, 512, 1024; batch 32
// and 128; depth 16 and 32; 1 thread and every core), one cell after another: both sides built and warmed up
// (2 steps), then rounds of a few steps, signalprop's then PyTorch's (one Python process serves every cell);
// the cell's ratio is the median of its rounds' ratios of medians. Plus width 8, where
// the matrix products cost next to nothing, as the fixed per-step cost of each side. Prints a markdown table.
//   npx tsx bench/train.ts --table [--rounds 3] [--reps 3] [--big-reps 2] [--widths 8,64,128,512,1024]
import { spawn } from 'node:child_process';
import os from 'node:os';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { SpecInput } from '../src/network/index.js';
import { allCores } from '../src/train/backend.js';
import { type BackendName, initBackend, resolveTrainConfig, Trainer } from '../src/train/index.js';
import {
  alternatingRounds,
  backendLine,
  blasLine,
  fixedData,
  median,
  roundSummaries,
  type SummaryRow,
  saveSummary,
  type TorchTimes,
  torchPeer,
  trainerSteps,
} from './common.js';

const flag = (name: string, def: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : def;
};
const positional = process.argv.slice(2); // [reps] [rounds] (not with --table)
const reps = Number(positional[0] ?? 7);
const rounds = Number(positional[1] ?? 3);
const depth = 32;
const width = 512;
const batch = 128;
const lr = 0.01;
const spec = { depth, width, batch, order: 'linear-bn-act', activation: 'relu' } as const;
const ours = (probe: boolean, backend: BackendName = 'auto', threads = 1) => trainerSteps(spec, { reps, lr, probe, backend, threads });

/** PyTorch's train_torch.py --serve: one request, one answer, in one Python process. */
function torchServer(): { ask<T = TorchTimes>(args: Record<string, unknown>): Promise<T>; close(): void } {
  const child = spawn('/usr/bin/python3', [fileURLToPath(new URL('./train_torch.py', import.meta.url)), '--serve'], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: child.stdout! });
  const waiting: ((line: string) => void)[] = [];
  lines.on('line', (l) => waiting.shift()?.(l));
  child.on('exit', (code) => {
    for (const w of waiting.splice(0)) w(JSON.stringify({ error: `python exited with ${code}` }));
  });
  return {
    ask<T>(args: Record<string, unknown>) {
      return new Promise<T>((resolve, reject) => {
        waiting.push((l) => {
          const j = JSON.parse(l);
          if (j.error) reject(new Error(`torch peer: ${j.error} (Debian's python3-torch installs it)`));
          else resolve(j as T);
        });
        child.stdin!.write(`${JSON.stringify(args)}\n`);
      });
    },
    close: () => child.stdin!.end(),
  };
}

/** Our trainer for one cell (as trainerSteps in common.ts builds it), warmed up by 2 steps; steps(n) times n more. */
async function ourTrainer(spec: SpecInput, threads: number): Promise<{ steps(n: number): number[]; dispose(): void }> {
  const { config, spec: s } = resolveTrainConfig({
    spec,
    loss: 'mse',
    optimizer: { kind: 'sgd', lr },
    steps: 1_000_000,
    seed: 1,
    probe: false,
    backend: 'auto',
  });
  const be = await initBackend('auto', threads);
  const tr = new Trainer(config, s, fixedData(s.batch!, s.inputDim), null, be.name);
  let t = 0;
  for (; t < 2; t++) tr.step(t);
  return {
    steps(n) {
      const ms: number[] = [];
      for (let i = 0; i < n; i++, t++) {
        const t0 = performance.now();
        tr.step(t);
        ms.push(performance.now() - t0);
      }
      return ms;
    },
    dispose: () => tr.dispose(),
  };
}

async function table(): Promise<void> {
  const widths = flag('widths', '8,64,128,512,1024').split(',').map(Number);
  const smallReps = Number(flag('reps', '3'));
  const bigReps = Number(flag('big-reps', '2'));
  const rounds = Number(flag('rounds', '3'));
  const cores = allCores();
  const threadsList = cores > 1 ? [1, cores] : [1];
  const torch = torchServer();
  const load0 = os.loadavg()[0];
  const t0 = performance.now();
  const cells: {
    width: number;
    batch: number;
    depth: number;
    threads: number;
    ours: number;
    torch: number;
    ratio: number;
    range: [number, number];
    load: number;
  }[] = [];
  let peer = 'PyTorch';
  process.stderr.write(
    `bench/train --table: widths ${widths.join(', ')}, batch 32 and 128, depth 16 and 32, threads ${threadsList.join(' and ')}; ${rounds} rounds of ${smallReps} steps (${bigReps} at width >= 512) each side, after 2 warm-up steps\n`,
  );
  try {
    for (const threads of threadsList)
      for (const depth of [16, 32])
        for (const batch of [32, 128])
          for (const width of widths) {
            const n = width >= 512 ? bigReps : smallReps;
            const load = os.loadavg()[0];
            const spec = { depth, width, batch, order: 'linear-bn-act', activation: 'relu' } as const;
            // both sides built and warmed up (2 steps each), then rounds of n steps, ours then PyTorch's, so that
            // each round's ratio compares steps taken within seconds of each other
            const tr = await ourTrainer(spec, threads);
            const info = await torch.ask({ cmd: 'build', depth, width, batch, threads, lr });
            peer = `PyTorch ${info.torch} CPU`;
            const oursMs: number[] = [];
            const torchMs: number[] = [];
            const ratios: number[] = [];
            try {
              for (let r = 0; r < rounds; r++) {
                const x = tr.steps(n);
                const y = (await torch.ask<{ plain_ms: number[] }>({ cmd: 'steps', reps: n })).plain_ms;
                oursMs.push(...x);
                torchMs.push(...y);
                ratios.push(median(x) / median(y));
              }
            } finally {
              tr.dispose();
            }
            const a = median(oursMs);
            const b = median(torchMs);
            const ratio = median(ratios);
            cells.push({ width, batch, depth, threads, ours: a, torch: b, ratio, range: [Math.min(...ratios), Math.max(...ratios)], load });
            process.stderr.write(
              `  width ${width}, batch ${batch}, depth ${depth}, ${threads} thread(s): signalprop ${a.toFixed(1)} ms, torch ${b.toFixed(1)} ms, ratio ${ratio.toFixed(2)}x (rounds ${ratios.map((q) => q.toFixed(2)).join(', ')}; load ${load.toFixed(1)})\n`,
            );
          }
  } finally {
    torch.close();
  }
  const ms = (x: number) => (x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2));
  const out = [
    `| width | batch | depth | threads | signalprop (ms) | ${peer} (ms) | ratio (rounds) | load |`,
    '| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...cells.map(
      (c) =>
        `| ${c.width} | ${c.batch} | ${c.depth} | ${c.threads} | ${ms(c.ours)} | ${ms(c.torch)} | ${c.ratio.toFixed(2)}× (${c.range[0].toFixed(2)}–${c.range[1].toFixed(2)}) | ${c.load.toFixed(1)} |`,
    ),
    '',
  ];
  const over = cells.filter((c) => c.width > 8 && c.ratio > 1);
  out.push(
    `Cells above 1.0× (width >= 64): ${over.length} of ${cells.filter((c) => c.width > 8).length}${over.length ? `: ${over.map((c) => `width ${c.width} batch ${c.batch} depth ${c.depth} ${c.threads}t ${c.ratio.toFixed(2)}×`).join('; ')}` : ''}.`,
  );
  for (const threads of threadsList) {
    const w8 = cells.filter((c) => c.width === 8 && c.threads === threads);
    for (const c of w8)
      out.push(
        `Fixed cost per step (width 8, batch ${c.batch}, depth ${c.depth}, ${threads} thread(s)): signalprop ${ms(c.ours)} ms (${ms((c.ours * 1000) / c.depth)} µs per layer), PyTorch ${ms(c.torch)} ms (${ms((c.torch * 1000) / c.depth)} µs per layer).`,
      );
  }
  out.push(
    `Conditions: ${os.cpus()[0]?.model.trim() ?? 'unknown CPU'}, ${cores} cores; signalprop ${await backendLine()}; ${blasLine()}; Node ${process.version}; load average ${load0.toFixed(1)} at the start, ${os.loadavg()[0].toFixed(1)} at the end; ${((performance.now() - t0) / 1000).toFixed(0)} s in all.`,
  );
  console.log(out.join('\n'));
}

if (process.argv.includes('--table')) {
  await table();
  process.exit(0);
}

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
