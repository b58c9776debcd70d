// What the training benches share: medians, a fixed-batch dataset, timing Trainer.step, the PyTorch peer
// (a script under /usr/bin/python3 that prints one JSON line {torch, threads, plain_ms, checked_ms}), and the
// rounds that alternate the two sides so that both see the same load.
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadNative } from '../src/io/native.js';
import { gaussianInputs, randomTargets, type SpecInput } from '../src/network/index.js';
import { allCores } from '../src/train/backend.js';
import { type BackendName, type Dataset, type HostBatch, initBackend, resolveTrainConfig, Trainer } from '../src/train/index.js';

export const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

/** A dataset that returns one fixed batch (so the bench times the step, not data generation); MSE targets. */
export function fixedData(batch: number, dim: number): Dataset {
  const hb: HostBatch = {
    x: Float32Array.from(gaussianInputs(batch, dim, 1)),
    n: batch,
    labels: null,
    targets: Float32Array.from(randomTargets('mse', batch, 1).targets!),
  };
  return { name: 'fixed', dim, nOut: 10, nTrain: null, nTest: batch, batch: () => hb, test: () => hb, describe: () => ({}) };
}

/** ms of `reps` SGD/MSE steps of `spec` after 2 warm-up steps (probes dense on every step when `probe`). */
export async function trainerSteps(
  spec: SpecInput,
  opts: { reps: number; lr: number; probe?: boolean; backend?: BackendName; threads?: number },
): Promise<number[]> {
  const backend = opts.backend ?? 'auto';
  const { config, spec: s } = resolveTrainConfig({
    spec,
    loss: 'mse',
    optimizer: { kind: 'sgd', lr: opts.lr },
    steps: 1_000_000,
    seed: 1,
    probe: opts.probe ? { dense: 1_000_000 } : false,
    backend,
  });
  const be = await initBackend(backend, opts.threads ?? 1);
  const tr = new Trainer(config, s, fixedData(s.batch!, s.inputDim), null, be.name);
  for (let t = 0; t < 2; t++) tr.step(t);
  const ms: number[] = [];
  for (let t = 2; t < 2 + opts.reps; t++) {
    const t0 = performance.now();
    tr.step(t);
    ms.push(performance.now() - t0);
  }
  tr.dispose();
  return ms;
}

export interface TorchTimes {
  torch: string;
  threads: number;
  plain_ms: number[];
  checked_ms: number[];
}

/** Run a PyTorch peer script beside this file with its JSON arguments; null (with a line on stderr) when it fails. */
export function torchPeer(script: string, args: Record<string, unknown>): TorchTimes | null {
  const path = fileURLToPath(new URL(`./${script}`, import.meta.url));
  const r = spawnSync('/usr/bin/python3', [path, JSON.stringify(args)], { encoding: 'utf8' });
  if (r.status !== 0) {
    process.stderr.write(`torch peer failed (Debian's python3-torch installs it): ${r.stderr.trim().split('\n').pop()}\n`);
    return null;
  }
  return JSON.parse(r.stdout.trim().split('\n').pop()!);
}

export interface RoundRow {
  threads: number;
  ours: number[];
  torch: number[];
  checked: number[];
  ratio: number[];
}

/**
 * At 1 thread and at every core: `rounds` rounds of our median step then the peer's, each round printed with
 * the load average. "checked" is PyTorch plus what our trainer does every step (read the loss and every
 * gradient's norm). Returns the rows and the peer's name.
 */
export async function alternatingRounds(
  rounds: number,
  ours: (threads: number) => Promise<number[]>,
  peer: (threads: number) => TorchTimes | null,
): Promise<{ rows: RoundRow[]; peer: string }> {
  const cores = allCores();
  const rows: RoundRow[] = [];
  let name = '';
  for (const threads of cores > 1 ? [1, cores] : [1]) {
    const row: RoundRow = { threads, ours: [], torch: [], checked: [], ratio: [] };
    for (let r = 0; r < rounds; r++) {
      const load = os.loadavg()[0];
      const a = median(await ours(threads));
      const t = peer(threads);
      if (!t) break;
      name = `PyTorch ${t.torch} CPU`;
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
  return { rows, peer: name };
}

/** "blas (tfjs 4.22.0, sgemm: …, OpenBLAS core …)": the backend a bench ran on. */
export async function backendLine(): Promise<string> {
  const be = await initBackend('auto', 1);
  const lib = be.libraries ? `, sgemm: ${be.libraries.sgemm}, OpenBLAS core ${be.libraries.openblasCore}` : '';
  return `${be.name} (tfjs ${be.tfjsVersion}${lib})`;
}

/** "OpenBLAS, core Zen; sgemm: oneDNN 2.6.3": the BLAS library and kernel set the native addon runs on, or why none. */
export function blasLine(): string {
  const n = loadNative();
  return n ? `OpenBLAS, core ${n.info.openblasCore}; sgemm: ${n.info.sgemm}` : 'no native addon (TypeScript kernels, tfjs-wasm)';
}

/** The conditions a figure was measured under: when, on what, with which BLAS, at what load (1-minute average). */
export interface BenchConditions {
  date: string;
  cpu: string;
  cores: number;
  blas: string;
  loadStart: number;
  loadEnd: number;
  node: string;
}

/** One row of the README's speed table: our median beside the peer's, measured in the same run, and their ratio. */
export interface SummaryRow {
  /** What was timed, e.g. "training step, depth 32, width 512, B 128". */
  what: string;
  threads: number;
  oursMs: number;
  peer: string;
  peerMs: number;
  /** ours / peer (a median of per-round ratios where the bench has rounds). */
  ratio: number;
  /** The lowest and highest per-round ratio, where the bench has rounds. */
  ratioRange?: [number, number];
}

/** Where benches leave their summaries for bench/summary.ts: one fixed folder in the temp dir. */
export function summaryDir(): string {
  return join(os.tmpdir(), 'signalprop-bench');
}

/** The README table's rows of a bench that alternates rounds with a peer (alternatingRounds). */
export function roundSummaries(rows: RoundRow[], what: string, peer: string): SummaryRow[] {
  return rows
    .filter((r) => r.ours.length)
    .map((r) => ({
      what,
      threads: r.threads,
      oursMs: median(r.ours),
      peer,
      peerMs: median(r.torch),
      ratio: median(r.ratio),
      ratioRange: [Math.min(...r.ratio), Math.max(...r.ratio)],
    }));
}

/** Record a bench's rows and conditions as <summaryDir>/<bench>.json (temp file, then rename). */
export function saveSummary(bench: string, rows: SummaryRow[], loadStart: number): void {
  const conditions: BenchConditions = {
    date: new Date().toISOString(),
    cpu: os.cpus()[0]?.model.trim() ?? 'unknown',
    cores: allCores(),
    blas: blasLine(),
    loadStart,
    loadEnd: os.loadavg()[0],
    node: process.version,
  };
  const dir = summaryDir();
  mkdirSync(dir, { recursive: true });
  const path = join(dir, `${bench}.json`);
  writeFileSync(`${path}.tmp`, JSON.stringify({ bench, conditions, rows }, null, 1));
  renameSync(`${path}.tmp`, path);
}

/** Every summary a bench left in summaryDir(), by bench name. */
export function readSummaries(): { bench: string; conditions: BenchConditions; rows: SummaryRow[] }[] {
  let files: string[] = [];
  try {
    files = readdirSync(summaryDir()).filter((f) => f.endsWith('.json'));
  } catch {
    return [];
  }
  return files.sort().map((f) => JSON.parse(readFileSync(join(summaryDir(), f), 'utf8')));
}
