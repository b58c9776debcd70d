// Memory a command needs, estimated before it starts: validation accepts sizes (width 60000, batch 100000,
// depth 100000 × width 256) whose weights alone exceed any machine, and a run that dies of memory after an hour
// (or takes the machine down with it) is worse than a refusal. One estimator per command kind, all here.
// The estimates count the large buffers (weights, cached activations, B × B Gram matrices, optimizer state)
// plus a fixed cost per thread; they are meant to be right within a factor of about 2, and they refuse only
// what cannot fit in the machine's total memory. Image nets are sized from their layer list (imageSizes):
// B·H·W·C values per activation and a conv's B·H·W·k²·C_in patches, not the C per position the flat count
// would give (an underestimate by ~H·W). Measured (test/io/memory.test.ts: peak RSS growth in a fresh process,
// conv-bn-act, 4 × 32 channels, 28×28, B = 16): sampler 197 MB estimated for 130 MB, a tfjs step 190 MB for
// 140–210 MB.
import { availableParallelism, totalmem } from 'node:os';
import { imageOf, isImageList, layersOf, type NetworkSpec, shapesOf } from '../network/index.js';

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

/**
 * An image net's sizes, per sample, from its layer list (the shapes followed through it): weights (a conv2d's
 * k²·C_in·C_out + C_out; a resblock's two convs, its projection when the stride or the channels change, and its
 * BN γ, β; a dense head's n_in·width + width); `cached`, the values the sampler's kernels keep for the backward
 * pass (a conv's patch matrix P_out·k²·C_in, a resblock's two plus 4 × its output, a norm's or act's output n, as
 * their cacheBytes do); `values`, every layer's output (what tfjs keeps for backprop, with the patches);
 * `nMax`, the largest activation; `colsMax`, the largest patch matrix.
 */
export interface ImageSizes {
  weights: number;
  cached: number;
  values: number;
  nMax: number;
  colsMax: number;
}

export function imageSizes(spec: NetworkSpec): ImageSizes {
  const layers = layersOf(spec);
  const shapes = shapesOf(layers, spec.inputDim, imageOf(spec));
  const out: ImageSizes = { weights: 0, cached: 0, values: 0, nMax: spec.inputDim, colsMax: 0 };
  layers.forEach((l, i) => {
    const sIn = shapes[i];
    const sOut = shapes[i + 1];
    const pOut = sOut.shape ? sOut.shape.h * sOut.shape.w : 1;
    const cIn = sIn.shape ? sIn.shape.c : sIn.n;
    out.nMax = Math.max(out.nMax, sOut.n);
    let cols = 0;
    if (l.kind === 'conv2d') {
      const k2 = l.kernel * l.kernel;
      out.weights += k2 * cIn * l.channels + l.channels;
      cols = pOut * k2 * cIn;
      out.cached += cols;
      out.colsMax = Math.max(out.colsMax, cols);
    } else if (l.kind === 'resblock') {
      const k2 = l.kernel * l.kernel;
      const c = l.channels;
      const proj = l.stride !== 1 || c !== cIn;
      out.weights += k2 * cIn * c + k2 * c * c + 4 * c + (proj ? cIn * c + 2 * c : 0);
      cols = pOut * k2 * cIn + pOut * k2 * c + (proj ? pOut * cIn : 0);
      out.cached += cols + 4 * sOut.n;
      out.colsMax = Math.max(out.colsMax, pOut * k2 * Math.max(cIn, c));
      out.values += 4 * sOut.n;
    } else if (l.kind === 'dense') {
      out.weights += sIn.n * l.width + l.width;
    } else if (l.kind === 'residual') {
      const d = l.layers.find((x) => x.kind === 'dense');
      if (d && d.kind === 'dense') out.weights += sIn.n * d.width + d.width;
      out.cached += l.layers.length * sOut.n;
      out.values += l.layers.length * sOut.n;
    } else if (l.kind !== 'gap' && l.kind !== 'flatten') out.cached += sOut.n;
    out.values += sOut.n + cols;
  });
  return out;
}

function total(parts: [string, number][], threads: number, perThread: number): MemoryEstimate {
  const bytes = BASE_BYTES + threads * perThread;
  return { bytes, parts: threads > 1 ? parts.map(([k, v]) => [`${k} × ${threads} threads`, v * threads] as [string, number]) : parts };
}

/** One sampled network (float64): all weights, cached activations (capped, then checkpoints), B × B Grams. */
export function sampleNetworkBytes(spec: NetworkSpec): [string, number][] {
  const B = spec.batch ?? 2;
  if (spec.image && isImageList(layersOf(spec))) {
    // an image net: B·H·W·C values per activation, and a conv's patches k² times its input (docs/sampling.md)
    const z = imageSizes(spec);
    const all = 8 * B * z.cached;
    const seg = Math.ceil(Math.sqrt(spec.depth));
    // every block's caches when they fit the budget, else one segment of √L blocks recomputed from a checkpoint
    const cache = all <= SAMPLE_CACHE_BUDGET ? all : Math.ceil((all * seg) / spec.depth);
    // in flight: a conv's patches and their gradient, and the checkpoints and working activations
    const work = 8 * B * (2 * z.colsMax + (seg + 6) * z.nMax);
    return [
      ['weights', 8 * z.weights],
      ['activations', cache + work],
      ['Gram matrices', 8 * B * B * 6],
    ];
  }
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
  if (spec.image && isImageList(layersOf(spec))) {
    // an image net: every layer's output and a conv's patches (B·P_out·k²·C_in) are kept for backprop (float32)
    const z = imageSizes(spec);
    const parts: [string, number][] = [
      ['weights, gradients and optimizer state', 4 * z.weights * 4],
      ['activations', 4 * B * (TRAIN_IMAGE_FACTOR * z.values + spec.inputDim)],
      ['data', dataBytes],
    ];
    return total(parts, 1, 200 * 2 ** 20 + parts.reduce((s, [, v]) => s + v, 0));
  }
  const { weights, units } = layerSizes(spec);
  const parts: [string, number][] = [
    ['weights, gradients and optimizer state', 4 * weights * 4],
    ['activations', 4 * B * (units + spec.inputDim) * 6],
    ['data', dataBytes],
  ];
  return total(parts, 1, 200 * 2 ** 20 + parts.reduce((s, [, v]) => s + v, 0));
}

/** Copies of each kept value a tfjs training step holds at its peak (forward value, saved tensors, gradient). */
const TRAIN_IMAGE_FACTOR = 3;

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
