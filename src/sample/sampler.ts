// Many seeds of one spec: per-seed statistics on every core, tidy records, measured growth.

import {
  checkSeed,
  DEFAULT_RNG,
  flatLayers,
  type LossKind,
  layersOf,
  type NetworkSpec,
  type RngName,
  runRng,
  SpecError,
  type SpecFields,
  type SpecInput,
  specFields,
  specToJSON,
  studentT975,
} from '../network/index.js';
import { moduleUrl } from '../parallel/moduleUrl.js';
import { defaultThreads, runInPool } from '../parallel/pool.js';
import { type Quantity, quantityRange, record, type SPRecord, summarize } from '../records/index.js';
import { GRAM_RECORDS, interiorLayers, predict } from '../theory/index.js';
import { type BackendChoice, kernels } from './linalg.js';
import { checkLoss, defaultLoss, forwardBackward, type LayerStats, readoutConstantReason } from './network.js';
import type { SeedTask } from './worker.js';

export interface SampleOptions {
  /** Number of networks (seeds), K ≥ 1. */
  seeds: number;
  /** Base seed (default 1); the networks use seeds baseSeed, baseSeed+1, ..., baseSeed+K−1. */
  baseSeed?: number;
  /** Loss at the top (default defaultLoss(spec); an explicit readout that is constant is refused). */
  loss?: LossKind;
  inputCorrelation?: number;
  /** The generator of every draw (default DEFAULT_RNG, 'philox4x32-10'); written into every record as `rng`. */
  rng?: RngName;
  /** Worker threads (default: every core). 1 runs in this thread. */
  threads?: number;
  backend?: BackendChoice;
  onProgress?: (done: number, total: number) => void;
  /** The theory's prediction for the spec, when the caller has it (else looked up in src/theory). */
  predictedGrowth?: number | null;
}

export interface SampleResult {
  records: SPRecord[];
  /** Geometric mean over interior layers and seeds of ‖∂L/∂h_l‖²/‖∂L/∂h_{l+1}‖². */
  measuredGrowth: number;
  /** Standard error of measuredGrowth from the spread over seeds (over layers when K = 1). */
  measuredGrowthSE: number;
  predictedGrowth: number | null;
  seeds: number[];
  /** The generator the networks were drawn with. */
  rng: RngName;
  /** Layers l whose growth enters measuredGrowth: [first, last] (1-based, inclusive). */
  interior: [number, number];
  backend: string;
  /** The loss used, and why when it is not the one asked for (the default replaced a constant readout). */
  loss: LossKind;
  lossNote: string | null;
}

/**
 * The loss of a run and, when the default is not readout, why: readout is constant for the spec
 * (readoutConstantReason), so the default is the projection (mse for linear-act-bn).
 */
export function chooseLoss(spec: NetworkSpec, loss: LossKind | undefined): { loss: LossKind; note: string | null } {
  if (loss !== undefined) {
    checkLoss(spec, loss);
    return { loss, note: null };
  }
  const chosen = defaultLoss(spec);
  const why = chosen === 'readout' ? null : readoutConstantReason(spec);
  return { loss: chosen, note: why ? `default loss ${chosen}, not readout: ${why}` : null };
}

/** Seeds of a run: baseSeed, baseSeed+1, ..., so that seed k of a run is reproducible alone. */
export function seedList(baseSeed: number, k: number): number[] {
  checkSeed(baseSeed, 'seed');
  if (!Number.isInteger(k) || k < 1 || k > 100000) throw new SpecError('seeds', k, 'an integer from 1 to 100000');
  if (baseSeed + k - 1 > 2147483647) throw new SpecError('seed', baseSeed, `at most ${2147483647 - k + 1} with ${k} seeds`);
  return Array.from({ length: k }, (_, i) => baseSeed + i);
}

/** The interior window of the growth estimate: one definition, in the theory room, so prediction and measurement share it. */
export { interiorLayers };

/** Mean of ln growth over the interior layers of one network (telescopes to a difference of logs). */
export function meanLogGrowth(stats: LayerStats, interior = interiorLayers(stats.depth)): number {
  const [a, b] = interior;
  if (b < a) return Number.NaN;
  return (stats.logGradHSq[a - 1] - stats.logGradHSq[b]) / (b - a + 1);
}

/** Degrees of freedom of growthEstimate's standard error: seeds − 1, or interior layers − 1 for one network. */
export function growthDf(seeds: number, interior: [number, number]): number {
  return seeds > 1 ? seeds - 1 : interior[1] - interior[0];
}

/** measuredGrowth and its standard error from per-seed statistics. */
export function growthEstimate(all: LayerStats[], interior: [number, number]): { growth: number; se: number; perSeed: number[] } {
  const perSeed = all.map((s) => meanLogGrowth(s, interior));
  const m = perSeed.reduce((a, b) => a + b, 0) / perSeed.length;
  const growth = Math.exp(m);
  let seLog: number;
  if (all.length > 1) {
    seLog = summarize(perSeed).sd / Math.sqrt(perSeed.length);
  } else {
    // one network: spread of the per-layer log growth over interior layers
    const [a, b] = interior;
    const logs: number[] = [];
    for (let l = a; l <= b; l++) logs.push(all[0].logGradHSq[l - 1] - all[0].logGradHSq[l]);
    seLog = logs.length > 1 ? summarize(logs).sd / Math.sqrt(logs.length) : Number.NaN;
  }
  return { growth, se: growth * seLog, perSeed: perSeed.map(Math.exp) };
}

const PER_LAYER: [Quantity, (s: LayerStats, l: number) => number][] = [
  ['preact_var', (s, l) => s.preactVar[l]],
  ['postact_mean', (s, l) => s.postactMean[l]],
  ['postact_var', (s, l) => s.postactVar[l]],
  ['corr', (s, l) => s.corr[l]],
  ...GRAM_RECORDS.map(
    ([q]) => [q, (s: LayerStats, l: number) => s.gram?.[q]?.[l] ?? Number.NaN] as [Quantity, (s: LayerStats, l: number) => number],
  ),
  ['grad_h_sq', (s, l) => s.gradHSq[l]],
  ['grad_w_sq', (s, l) => s.gradWSq[l]],
  ['log_grad_h_sq', (s, l) => s.logGradHSq[l] - s.logGradHSq[s.depth - 1]],
  ['log_grad_w_sq', (s, l) => s.logGradWSq[l] - s.logGradWSq[s.depth - 1]],
  ['grad_growth', (s, l) => s.gradGrowth[l]],
];

/**
 * Tidy records of K networks: one per seed, layer and quantity, and across seeds (seed null) the mean
 * with sd, 95% interval and n. Non-finite values (an overflowed grad_h_sq in a very deep net, growth at
 * the last layer) are left out; the log quantities always stay finite. Every record names the generator
 * the networks were drawn with (`rng`, next to the seed).
 */
export function sampleRecords(
  spec: NetworkSpec,
  all: LayerStats[],
  seeds: number[],
  tags: Record<string, string | number | boolean | null>,
  interior = interiorLayers(spec.depth),
  rng: RngName = DEFAULT_RNG,
): SPRecord[] {
  const fields: SpecFields = specFields(spec);
  const out: SPRecord[] = [];
  const L = spec.depth;
  for (const [q, get] of PER_LAYER) {
    for (let l = 0; l < L; l++) {
      const vals: number[] = [];
      all.forEach((s, k) => {
        const v = get(s, l);
        if (Number.isFinite(v)) {
          out.push(record(fields, 'sampled', q, l + 1, v, { seed: seeds[k], rng, tags }));
          vals.push(v);
        }
      });
      if (vals.length === all.length && vals.length > 0) {
        const m = summarize(vals, quantityRange(q));
        out.push(record(fields, 'sampled', q, l + 1, m.mean, { rng, sd: m.sd, lo: m.lo, hi: m.hi, n: m.n, tags }));
      }
    }
  }
  const { growth, se, perSeed } = growthEstimate(all, interior);
  const gtags = { ...tags, interiorFirst: interior[0], interiorLast: interior[1] };
  perSeed.forEach((g, k) => {
    if (Number.isFinite(g)) out.push(record(fields, 'sampled', 'growth', null, g, { seed: seeds[k], rng, tags: gtags }));
  });
  if (Number.isFinite(growth)) {
    const seLog = se / growth;
    out.push(
      record(fields, 'sampled', 'growth', null, growth, {
        rng,
        sd: all.length > 1 ? seLog * Math.sqrt(all.length) * growth : se,
        // Student-t on ln growth: df = seeds − 1, or interior layers − 1 for one network
        lo: growth * Math.exp(-studentT975(growthDf(all.length, interior)) * seLog),
        hi: growth * Math.exp(studentT975(growthDf(all.length, interior)) * seLog),
        n: all.length,
        tags: gtags,
      }),
    );
  }
  const losses = all.map((s) => s.loss);
  losses.forEach((v, k) => {
    out.push(record(fields, 'sampled', 'loss', null, v, { seed: seeds[k], rng, tags }));
  });
  const ml = summarize(losses);
  out.push(record(fields, 'sampled', 'loss', null, ml.mean, { rng, sd: ml.sd, lo: ml.lo, hi: ml.hi, n: ml.n, tags }));
  return out;
}

/** The worker module (compiled JavaScript, or TypeScript run through tsx's loader by the pool). */
function workerUrl(): URL {
  return moduleUrl('./worker.js', import.meta.url);
}

/** Run K seeds of a spec (every core by default) and summarize them as tidy records. */
export async function sampleNetwork(spec: NetworkSpec, opts: SampleOptions): Promise<SampleResult> {
  if (spec.batch === null) {
    throw new SpecError('batch', null, 'an integer batch size for sampled networks (null, the large-batch limit, is theory only)');
  }
  const seeds = seedList(opts.baseSeed ?? 1, opts.seeds);
  const { loss, note } = chooseLoss(spec, opts.loss);
  const rho = opts.inputCorrelation ?? 0;
  if (!(rho >= 0 && rho < 1)) throw new SpecError('inputCorrelation', rho, 'a number in [0, 1)');
  const backend = opts.backend ?? 'auto';
  const rng = runRng(opts.rng);
  const k = kernels(backend);
  const threads = Math.max(1, Math.min(opts.threads ?? defaultThreads(), seeds.length));
  // worker threads rebuild the spec from its JSON: every activation must be a string
  const cloneable =
    typeof spec.activation === 'string' && flatLayers(layersOf(spec)).every((l) => l.kind !== 'act' || typeof l.activation === 'string');
  let all: LayerStats[];
  if (threads > 1 && cloneable) {
    const tasks: SeedTask[] = seeds.map((seed) => ({
      spec: spec as SpecInput,
      seed,
      loss,
      inputCorrelation: rho,
      rng,
      backend,
      blasThreads: 1,
    }));
    const before = k.getThreads();
    try {
      all = await runInPool<SeedTask, LayerStats>(workerUrl(), tasks, threads, opts.onProgress);
    } catch (e) {
      // a SpecError from a worker (e.g. RoundOffGradientError) arrives as a plain Error: keep its name
      const err = e as Error;
      if (typeof err?.message === 'string' && /^loss: /.test(err.message)) err.name = 'SpecError';
      throw err;
    } finally {
      k.setThreads(before);
    }
  } else {
    all = [];
    for (const seed of seeds) {
      all.push(forwardBackward(spec, seed, { loss, inputCorrelation: rho, rng, backend }));
      opts.onProgress?.(all.length, seeds.length);
    }
  }
  const interior = interiorLayers(spec.depth);
  const tags: Record<string, string | number> = { loss, inputCorrelation: rho };
  if (note) tags.lossNote = note;
  const records = sampleRecords(spec, all, seeds, tags, interior, rng);
  const { growth, se } = growthEstimate(all, interior);
  const predictedGrowth = opts.predictedGrowth !== undefined ? opts.predictedGrowth : await theoryGrowth(spec);
  return {
    records,
    measuredGrowth: growth,
    measuredGrowthSE: se,
    predictedGrowth,
    seeds,
    rng,
    interior,
    backend: all[0]?.backend ?? k.name,
    loss,
    lossNote: note,
  };
}

/** The theory room's predicted interior growth for the spec (predict(spec)), or null where it has none. */
export async function theoryGrowth(spec: NetworkSpec): Promise<number | null> {
  const key = theoryKey(spec);
  const hit = key === null ? undefined : theoryMemo.get(key);
  if (hit !== undefined) return hit;
  let out: number | null;
  try {
    const g = predict(spec).predictedGrowth;
    out = Number.isFinite(g) ? g : null;
  } catch {
    out = null;
  }
  if (key !== null) {
    if (theoryMemo.size >= THEORY_MEMO_MAX) theoryMemo.clear();
    theoryMemo.set(key, out);
  }
  return out;
}

/**
 * predict(spec) is deterministic in the spec alone (its own Monte Carlo names its generator and seed) and costs
 * as much as a seed's draw, forward and backward at depth 32, width 512, so each thread computes it once per
 * spec: the seeds of a run, and the cells of a sweep that share a spec, read it from here.
 */
const theoryMemo = new Map<string, number | null>();
const THEORY_MEMO_MAX = 1024;

/** The memo's key: the spec's canonical JSON, or null (not memoized) where an activation is a function, not a name. */
function theoryKey(spec: NetworkSpec): string | null {
  const named =
    typeof spec.activation === 'string' && flatLayers(layersOf(spec)).every((l) => l.kind !== 'act' || typeof l.activation === 'string');
  return named ? canonicalJson(specToJSON(spec)) : null;
}

/** JSON with object keys sorted, so that equal specs give equal keys whatever order their fields were set in. */
function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  if (v && typeof v === 'object') {
    return `{${Object.keys(v)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJson((v as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v) ?? 'undefined';
}

/** Forget the memoized predictions (for tests: a run with and without the memo). */
export function clearTheoryMemo(): void {
  theoryMemo.clear();
}
