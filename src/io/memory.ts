// Memory a command needs, estimated before it starts: validation accepts sizes (width 60000, batch 100000,
// depth 100000 × width 256) whose weights alone exceed any machine, and a run that dies of memory after an hour
// (or takes the machine down with it) is worse than a refusal. One estimator per command kind, all here.
// The estimates count the large buffers (weights, cached activations, B × B Gram matrices, optimizer state)
// plus a fixed cost per thread; they are meant to be right within a factor of about 2, and they refuse only
// what cannot fit in the machine's total memory.
import { availableParallelism, totalmem } from 'node:os';
import type { NetworkSpec } from '../network/index.js';

/** Bytes of one Node worker thread with the module graph loaded through tsx (measured: ~100 MB). */
export const THREAD_BYTES = 100 * 2 ** 20;
/** Bytes of the main process before any work (Node, tsx, the command's modules). */
const BASE_BYTES = 150 * 2 ** 20;
/** The sampler keeps every layer's activations up to this (src/sample/network.ts), else checkpoints. */
const SAMPLE_CACHE_BUDGET = 256 * 2 ** 20;

export interface MemoryEstimate {
  /** Total bytes. */
  bytes: number;
  /** The largest parts, in words, for the message (e.g. "weights 52 GB"). */
  parts: [string, number][];
}

function layerSizes(spec: NetworkSpec): { ws: number[]; fanIn: number[]; weights: number; units: number; nMax: number } {
  const ws = Array.isArray(spec.width) ? spec.width : new Array<number>(spec.depth).fill(spec.width);
  const fanIn = ws.map((_, i) => (i === 0 ? spec.inputDim : ws[i - 1]));
  let weights = 0;
  let units = 0;
  let nMax = spec.inputDim;
  for (let i = 0; i < ws.length; i++) {
    weights += ws[i] * fanIn[i] + ws[i];
    units += ws[i];
    if (ws[i] > nMax) nMax = ws[i];
  }
  return { ws, fanIn, weights, units, nMax };
}

function total(parts: [string, number][], threads: number, perThread: number): MemoryEstimate {
  const bytes = BASE_BYTES + threads * perThread;
  return { bytes, parts: threads > 1 ? parts.map(([k, v]) => [`${k} × ${threads} threads`, v * threads] as [string, number]) : parts };
}

/** One sampled network (float64): all weights, cached activations (capped, then checkpoints), B × B Grams. */
export function sampleNetworkBytes(spec: NetworkSpec): [string, number][] {
  const B = spec.batch ?? 2;
  const { weights, units, nMax } = layerSizes(spec);
  const acts = Math.min(SAMPLE_CACHE_BUDGET, 8 * B * units * 3) + 8 * B * nMax * (Math.ceil(Math.sqrt(spec.depth)) + 6);
  return [
    ['weights', 8 * weights],
    ['activations', acts],
    ['Gram matrices', 8 * B * B * 6],
  ];
}

/** `sample`: `threads` networks at a time (each its own thread). */
export function estimateSample(spec: NetworkSpec, seeds: number, threads: number): MemoryEstimate {
  const parts = sampleNetworkBytes(spec);
  const t = Math.max(1, Math.min(threads, seeds));
  return total(parts, t, parts.reduce((s, [, v]) => s + v, 0) + (t > 1 ? THREAD_BYTES : 0));
}

/** `spectrum`: one network at a time on the main thread, plus its n × n Jacobian (float64, two copies). */
export function estimateSpectrum(spec: NetworkSpec): MemoryEstimate {
  const { nMax } = layerSizes(spec);
  const parts: [string, number][] = [...sampleNetworkBytes(spec), ['Jacobian', 8 * nMax * Math.max(nMax, spec.inputDim) * 3]];
  return total(
    parts,
    1,
    parts.reduce((s, [, v]) => s + v, 0),
  );
}

/** `train` on TensorFlow.js (float32): weights, gradients and two optimizer slots; activations kept for backprop. */
export function estimateTrain(spec: NetworkSpec, dataBytes = 0): MemoryEstimate {
  const B = spec.batch ?? 128;
  const { weights, units } = layerSizes(spec);
  const parts: [string, number][] = [
    ['weights, gradients and optimizer state', 4 * weights * 4],
    ['activations', 4 * B * (units + spec.inputDim) * 6],
    ['data', dataBytes],
  ];
  return total(parts, 1, 200 * 2 ** 20 + parts.reduce((s, [, v]) => s + v, 0));
}

/** `predict`: the mean-field recursions are per layer; the Gram dynamics hold B × M samples and B × B matrices. */
export function estimatePredict(spec: NetworkSpec, dynamics: { samples: number } | null): MemoryEstimate {
  const B = spec.batch ?? 0;
  const parts: [string, number][] = [['per-layer records', spec.depth * 2000]];
  if (dynamics && B > 0) parts.push(['Gram dynamics', 8 * (3 * B * dynamics.samples + 6 * B * B)]);
  return total(
    parts,
    1,
    parts.reduce((s, [, v]) => s + v, 0),
  );
}

/** One sweep cell of a built-in kind (sample: one network at a time; train: a run), in bytes; 0 for other kinds. */
export function cellBytes(kind: string, spec: NetworkSpec): number {
  if (kind === 'sample') return sampleNetworkBytes(spec).reduce((s, [, v]) => s + v, 0);
  if (kind === 'train') return estimateTrain(spec).bytes;
  return 0;
}

/** `sweep` (local): the largest cell's estimate (bytes) on each of `threads` threads at once. */
export function estimateSweep(largestCellBytes: number, cells: number, threads: number): MemoryEstimate {
  const t = Math.max(1, Math.min(threads, cells));
  return total([['largest cell', largestCellBytes]], t, largestCellBytes + THREAD_BYTES);
}

/** "29 GB", "512 MB". */
export function formatBytes(b: number): string {
  const gb = b / 1e9;
  if (gb >= 1e4) return `${gb.toExponential(1)} GB`;
  if (gb >= 10) return `${Math.round(gb)} GB`;
  if (gb >= 1) return `${gb.toFixed(1)} GB`;
  return `${Math.max(1, Math.round(b / 1e6))} MB`;
}

/** The machine's memory; SIGNALPROP_TOTALMEM (bytes) overrides it, for tests. */
export function machineMemory(): number {
  const o = Number(process.env.SIGNALPROP_TOTALMEM);
  return Number.isFinite(o) && o > 0 ? o : totalmem();
}

/**
 * Why this estimate cannot run here (one sentence naming what to reduce), or null when it fits in the
 * machine's total memory.
 */
export function memoryProblem(command: string, est: MemoryEstimate, reduce: string): string | null {
  const have = machineMemory();
  if (est.bytes <= have) return null;
  const big = est.parts
    .filter(([, v]) => v > 0)
    .sort((a, b) => b[1] - a[1])
    .slice(0, 2)
    .map(([k, v]) => `${k} ${formatBytes(v)}`)
    .join(', ');
  return `${command}: needs ≈ ${formatBytes(est.bytes)} of memory (${big}); this machine has ${formatBytes(have)}; reduce ${reduce}`;
}

/** The machine's cores (os.availableParallelism); SIGNALPROP_CORES overrides it, for tests. */
export function machineCores(): number {
  const o = Number(process.env.SIGNALPROP_CORES);
  return Number.isInteger(o) && o > 0 ? o : Math.max(1, availableParallelism());
}

/**
 * Threads asked for, capped at the core count: more threads than cores run no faster and each costs
 * ~100 MB. Returns the count to use and, when capped, the warning to print.
 */
export function capThreads(flag: string, asked: number): { threads: number; warning: string | null } {
  const cores = machineCores();
  if (asked <= cores) return { threads: asked, warning: null };
  return {
    threads: cores,
    warning: `${flag}: ${asked} is more than the ${cores} core${cores === 1 ? '' : 's'} of this machine (os.availableParallelism()); using ${cores}`,
  };
}
