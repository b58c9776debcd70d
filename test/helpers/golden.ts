// Golden records: the cases, how each is computed, and the compact file format. Shared by
// scripts/golden.ts (writes test/fixtures/golden/*.json) and test/golden.test.ts (recomputes and compares).
import { readFileSync } from 'node:fs';
import { loadNative } from '../../src/io/native.js';
import { makeSpec, type SpecInput } from '../../src/network/index.js';
import type { SPRecord } from '../../src/records/index.js';
import { sampleNetwork } from '../../src/sample/index.js';
import { type DynamicsMode, type GramDynamicsOptions, type PredictOptions, predict } from '../../src/theory/index.js';
import { type TrainConfig, trainRun } from '../../src/train/index.js';

export const GOLDEN_DIR = new URL('../fixtures/golden/', import.meta.url);

// ---------------------------------------------------------------- cases

export interface PredictMode {
  key: string;
  dynamics: DynamicsMode | undefined;
  dynamicsOptions?: GramDynamicsOptions;
}

export interface PredictCase {
  name: string;
  spec: SpecInput;
  /** default PREDICT_MODES */
  modes?: PredictMode[];
}

const P = { depth: 8, width: 64, batch: 16 };

/** Every order, with and without residuals, both inits, γ/β/ε and σ² variations, every activation form. */
export const PREDICT_CASES: PredictCase[] = [
  // linear-bn-act: every activation form
  ...['relu', 'leaky-relu:0.1', 'identity', 'tanh', 'gelu', 'silu', 'elu:1', 'expr:sin(x) + x'].map((a) => ({
    name: `lba-${a}`,
    spec: { ...P, order: 'linear-bn-act' as const, activation: a },
  })),
  { name: 'lba-relu-bnull', spec: { ...P, batch: null } },
  { name: 'lba-relu-b4', spec: { ...P, batch: 4 } },
  { name: 'lba-tanh-b128', spec: { ...P, batch: 128, activation: 'tanh' } },
  { name: 'lba-relu-orth', spec: { ...P, init: { kind: 'orthogonal' } } },
  { name: 'lba-tanh-sw1-sb01', spec: { ...P, activation: 'tanh', init: { sigmaW2: 1, sigmaB2: 0.1 } } },
  { name: 'lba-relu-gamma05-beta03', spec: { ...P, bn: { gamma: 0.5, beta: 0.3 } } },
  { name: 'lba-tanh-gamma2-beta-05', spec: { ...P, activation: 'tanh', bn: { gamma: 2, beta: -0.5 } } },
  { name: 'lba-relu-eps01', spec: { ...P, bn: { eps: 0.1 } } },
  { name: 'lba-tanh-eps0', spec: { ...P, activation: 'tanh', bn: { eps: 0 } } },
  { name: 'lba-gelu-gamma-1', spec: { ...P, activation: 'gelu', bn: { gamma: -1 } } },
  { name: 'lba-gelu-b64-d4', spec: { ...P, depth: 4, batch: 64, activation: 'gelu' } }, // BSB1 not attracting: the default iterates the Gram dynamics
  {
    name: 'lba-tanh-always',
    spec: { ...P, depth: 4, activation: 'tanh' },
    modes: [{ key: 'always (64 samples, 2 replicas)', dynamics: 'always', dynamicsOptions: { samples: 64, replicas: 2 } }],
  },
  { name: 'lba-relu-res1', spec: { ...P, residual: { scale: 1 } } },
  { name: 'lba-tanh-res05', spec: { ...P, activation: 'tanh', residual: { scale: 0.5 } } },
  { name: 'lba-relu-res1-bnull', spec: { ...P, batch: null, residual: { scale: 1 } } },
  { name: 'lba-relu-widths', spec: { ...P, depth: 4, width: [64, 32, 48, 64], inputDim: 32 } },
  // linear-act-bn
  // (smooth φ at a finite batch cost 10–60 s each in predict: one of them, the others at B = ∞)
  ...['relu', 'leaky-relu:0.1', 'identity', 'tanh'].map((a) => ({
    name: `lab-${a}`,
    spec: { ...P, order: 'linear-act-bn' as const, activation: a },
  })),
  ...['tanh', 'gelu', 'silu', 'elu:1'].map((a) => ({
    name: `lab-${a}-bnull`,
    spec: { ...P, order: 'linear-act-bn' as const, activation: a, batch: null },
  })),
  { name: 'lab-relu-bnull', spec: { ...P, order: 'linear-act-bn', batch: null } },
  { name: 'lab-relu-b4', spec: { ...P, order: 'linear-act-bn', batch: 4 } },
  { name: 'lab-relu-orth', spec: { ...P, order: 'linear-act-bn', init: { kind: 'orthogonal' } } },
  { name: 'lab-relu-gamma05-beta03-eps01', spec: { ...P, order: 'linear-act-bn', bn: { gamma: 0.5, beta: 0.3, eps: 0.1 } } },
  { name: 'lab-tanh-sb01-bnull', spec: { ...P, order: 'linear-act-bn', activation: 'tanh', batch: null, init: { sigmaB2: 0.1 } } },
  { name: 'lab-relu-res1', spec: { ...P, order: 'linear-act-bn', residual: { scale: 1 } } },
  { name: 'lab-tanh-res05', spec: { ...P, order: 'linear-act-bn', activation: 'tanh', residual: { scale: 0.5 } } },
  // linear-act (no BN)
  // (elu and expr take 10–90 s each here: their c-map has no closed form)
  ...['relu', 'leaky-relu:0.1', 'identity', 'tanh', 'gelu', 'silu'].map((a) => ({
    name: `la-${a}`,
    spec: { ...P, order: 'linear-act' as const, activation: a },
  })),
  { name: 'la-tanh-sw1-sb005', spec: { ...P, order: 'linear-act', activation: 'tanh', init: { sigmaW2: 1, sigmaB2: 0.05 } } },
  { name: 'la-tanh-sw15-bnull', spec: { ...P, order: 'linear-act', activation: 'tanh', batch: null, init: { sigmaW2: 1.5 } } },
  { name: 'la-relu-orth', spec: { ...P, order: 'linear-act', init: { kind: 'orthogonal' } } },
  { name: 'la-relu-res1', spec: { ...P, order: 'linear-act', residual: { scale: 1 } } },
  { name: 'la-tanh-res05', spec: { ...P, order: 'linear-act', activation: 'tanh', residual: { scale: 0.5 } } },
];

export const PREDICT_MODES: PredictMode[] = [
  { key: 'never', dynamics: 'never' },
  { key: 'default', dynamics: undefined },
];

export interface SampleCase {
  name: string;
  spec: SpecInput;
}

const S = { depth: 4, width: 16, batch: 8 };

export const SAMPLE_CASES: SampleCase[] = [
  ...['relu', 'tanh', 'gelu', 'leaky-relu:0.1', 'identity'].map((a) => ({
    name: `lba-${a}`,
    spec: { ...S, order: 'linear-bn-act' as const, activation: a },
  })),
  { name: 'lba-relu-orth-gamma05-beta03-eps01', spec: { ...S, init: { kind: 'orthogonal' }, bn: { gamma: 0.5, beta: 0.3, eps: 0.1 } } },
  { name: 'lba-relu-res1', spec: { ...S, residual: { scale: 1 } } },
  { name: 'lba-tanh-res05-sb01', spec: { ...S, activation: 'tanh', residual: { scale: 0.5 }, init: { sigmaB2: 0.1 } } },
  ...['relu', 'tanh', 'silu'].map((a) => ({ name: `lab-${a}`, spec: { ...S, order: 'linear-act-bn' as const, activation: a } })),
  { name: 'lab-relu-res1', spec: { ...S, order: 'linear-act-bn', residual: { scale: 1 } } },
  ...['relu', 'tanh', 'elu:1'].map((a) => ({ name: `la-${a}`, spec: { ...S, order: 'linear-act' as const, activation: a } })),
  {
    name: 'la-tanh-sw1-sb005-orth',
    spec: { ...S, order: 'linear-act', activation: 'tanh', init: { kind: 'orthogonal', sigmaW2: 1, sigmaB2: 0.05 } },
  },
  { name: 'la-relu-res05', spec: { ...S, order: 'linear-act', residual: { scale: 0.5 } } },
];

/** The sampler's kernels: 'typescript' everywhere; 'native' (OpenBLAS) only where its core matches the fixture's. */
export const SAMPLE_BACKENDS = ['typescript', 'native'] as const;
export type SampleBackend = (typeof SAMPLE_BACKENDS)[number];

export interface TrainCase {
  name: string;
  config: TrainConfig;
}

const T = { depth: 3, width: 12, batch: 8 };
const TD = { kind: 'synthetic', rho: 0.2, nTest: 16 };

export const TRAIN_CASES: TrainCase[] = [
  { name: 'lba-relu-sgd', config: { spec: { ...T }, data: TD, steps: 3, seed: 1, probe: { dense: 3 } } },
  {
    name: 'lba-tanh-momentum-mse',
    config: {
      spec: { ...T, activation: 'tanh', bn: { gamma: 0.5, beta: 0.3, eps: 0.1 } },
      data: TD,
      loss: 'mse',
      optimizer: { kind: 'momentum', lr: 0.05 },
      steps: 3,
      seed: 2,
      probe: { dense: 3 },
    },
  },
  {
    name: 'lab-gelu-adam',
    config: {
      spec: { ...T, order: 'linear-act-bn', activation: 'gelu' },
      data: TD,
      optimizer: { kind: 'adam', lr: 0.01 },
      steps: 3,
      seed: 3,
      probe: { dense: 3 },
    },
  },
  {
    name: 'la-relu-res1-lars',
    config: {
      spec: { ...T, order: 'linear-act', residual: { scale: 1 } },
      data: TD,
      optimizer: { kind: 'lars', lr: 0.5, trustCoefficient: 0.02 },
      clip: { kind: 'layer', maxNorm: 5 },
      steps: 3,
      seed: 4,
      probe: { dense: 3 },
    },
  },
  {
    name: 'lba-relu-res05-orth',
    config: { spec: { ...T, init: { kind: 'orthogonal' }, residual: { scale: 0.5 } }, data: TD, steps: 3, seed: 5, probe: { dense: 3 } },
  },
];

/** tfjs's cpu backend (pure JavaScript: the same float32 results on every machine) and, where its core matches, blas. */
export const TRAIN_BACKENDS = ['cpu', 'blas'] as const;
export type TrainBackend = (typeof TRAIN_BACKENDS)[number];

// ---------------------------------------------------------------- native availability

/** The OpenBLAS core the addon runs on (its kernels, and so its rounding, depend on it), or null without the addon. */
export function nativeCore(): string | null {
  return loadNative()?.info.openblasCore ?? null;
}

// ---------------------------------------------------------------- compact records

const ROW_KEYS = ['source', 'quantity', 'layer', 'step', 'seed', 'value'] as const;

/** Numbers JSON cannot hold (NaN, ±Infinity) as strings, so that they compare bit for bit too. */
function enc(v: unknown): unknown {
  if (typeof v === 'number') return Number.isFinite(v) ? v : String(v);
  if (Array.isArray(v)) return v.map(enc);
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, enc(x)]));
  return v;
}

export interface Compact {
  /** Fields every record of the case carries with the same value (the spec fields, mostly). */
  common: Record<string, unknown>;
  /** [source, quantity, layer, step, seed, value, rest?]: rest holds the other keys (sd, tags, ...). */
  rows: unknown[][];
}

export function compact(records: SPRecord[]): Compact {
  const encoded = records.map((r) => enc(r) as Record<string, unknown>);
  const common: Record<string, unknown> = {};
  if (encoded.length) {
    for (const [k, v] of Object.entries(encoded[0])) {
      if ((ROW_KEYS as readonly string[]).includes(k)) continue;
      const j = JSON.stringify(v);
      if (encoded.every((r) => k in r && JSON.stringify(r[k]) === j)) common[k] = v;
    }
  }
  const rows = encoded.map((r) => {
    const row: unknown[] = ROW_KEYS.map((k) => r[k]);
    const rest = Object.fromEntries(Object.entries(r).filter(([k]) => !(ROW_KEYS as readonly string[]).includes(k) && !(k in common)));
    if (Object.keys(rest).length) row.push(rest);
    return row;
  });
  return { common, rows };
}

// ---------------------------------------------------------------- computing

export interface GoldenEntry {
  /** case name / mode / backend: what the diff message names */
  id: string;
  /** run-level outputs besides the records (predictedGrowth, notes, ...) */
  summary: Record<string, unknown>;
  records: Compact;
}

function errorEntry(id: string, e: unknown): GoldenEntry {
  const err = e as Error;
  return { id, summary: { error: `${err?.name}: ${err?.message}` }, records: { common: {}, rows: [] } };
}

export function computePredict(c: PredictCase, mode: PredictMode): GoldenEntry {
  const id = `${c.name} / dynamics ${mode.key}`;
  try {
    const opts: PredictOptions = {};
    if (mode.dynamics) opts.dynamics = mode.dynamics;
    if (mode.dynamicsOptions) opts.dynamicsOptions = mode.dynamicsOptions;
    const p = predict(makeSpec(c.spec), opts);
    const summary = enc({
      predictedGrowth: p.predictedGrowth,
      predictedGrowthSE: p.predictedGrowthSE,
      depthScale: p.depthScale,
      logGrowthTotal: p.logGrowthTotal,
      bsb1Growth: p.bsb1Growth,
      stability: p.stability,
      dynamics: p.dynamics === null ? null : 'iterated',
      notes: p.notes,
    }) as Record<string, unknown>;
    return { id, summary, records: compact(p.records) };
  } catch (e) {
    return errorEntry(id, e);
  }
}

export async function computeSample(c: SampleCase, backend: SampleBackend): Promise<GoldenEntry> {
  const id = `${c.name} / ${backend}`;
  try {
    const r = await sampleNetwork(makeSpec(c.spec), { seeds: 2, baseSeed: 1, threads: 1, backend });
    const summary = enc({
      measuredGrowth: r.measuredGrowth,
      measuredGrowthSE: r.measuredGrowthSE,
      predictedGrowth: r.predictedGrowth,
      seeds: r.seeds,
      interior: r.interior,
      backend: r.backend,
      loss: r.loss,
      lossNote: r.lossNote,
    }) as Record<string, unknown>;
    return { id, summary, records: compact(r.records) };
  } catch (e) {
    return errorEntry(id, e);
  }
}

export async function computeTrain(c: TrainCase, backend: TrainBackend): Promise<GoldenEntry> {
  const id = `${c.name} / ${backend}`;
  try {
    const r = await trainRun({ ...c.config, backend }, { threads: 1 });
    const summary = enc({ status: r.status, final: r.final, steps: r.steps, divergedAt: r.divergedAt ?? null }) as Record<string, unknown>;
    return { id, summary, records: compact(r.records) };
  } catch (e) {
    return errorEntry(id, e);
  }
}

// ---------------------------------------------------------------- files

export interface GoldenFile {
  /** what produced it and how to regenerate */
  about: string;
  /** the OpenBLAS core of native / blas entries (they are compared only on the same core) */
  nativeCore?: string | null;
  entries: GoldenEntry[];
}

export const GOLDEN_FILES = ['predict', 'sample-typescript', 'sample-native', 'train-cpu', 'train-blas'] as const;
export type GoldenName = (typeof GOLDEN_FILES)[number];

export function readGolden(name: GoldenName): GoldenFile | null {
  try {
    return JSON.parse(readFileSync(new URL(`${name}.json`, GOLDEN_DIR), 'utf8')) as GoldenFile;
  } catch {
    return null;
  }
}

/** One line a row at most, so that the files stay small and diffs readable. */
export function formatGolden(g: GoldenFile): string {
  const lines: string[] = ['{', `"about": ${JSON.stringify(g.about)},`];
  if (g.nativeCore !== undefined) lines.push(`"nativeCore": ${JSON.stringify(g.nativeCore)},`);
  lines.push('"entries": [');
  g.entries.forEach((e, i) => {
    lines.push(`{"id": ${JSON.stringify(e.id)}, "summary": ${JSON.stringify(e.summary)},`);
    lines.push(` "records": {"common": ${JSON.stringify(e.records.common)}, "rows": [`);
    lines.push(e.records.rows.map((r) => `  ${JSON.stringify(r)}`).join(',\n'));
    lines.push(`]}}${i < g.entries.length - 1 ? ',' : ''}`);
  });
  lines.push(']', '}', '');
  return lines.join('\n');
}

// ---------------------------------------------------------------- comparing

function rowLabel(row: unknown[]): string {
  const [source, quantity, layer, step, seed] = row;
  const parts = [`${source} ${quantity}`];
  if (layer !== null) parts.push(`layer ${layer}`);
  if (step !== null) parts.push(`step ${step}`);
  if (seed !== null) parts.push(`seed ${seed}`);
  return parts.join(', ');
}

/** Differences between a golden entry and a recomputed one, each naming the case, the quantity and the layer. */
export function diffEntry(want: GoldenEntry, got: GoldenEntry, max = 12): string[] {
  const out: string[] = [];
  const id = want.id;
  for (const k of new Set([...Object.keys(want.summary), ...Object.keys(got.summary)])) {
    const a = JSON.stringify(want.summary[k]);
    const b = JSON.stringify(got.summary[k]);
    if (a !== b) out.push(`${id}: ${k}: golden ${a}, now ${b}`);
  }
  for (const k of new Set([...Object.keys(want.records.common), ...Object.keys(got.records.common)])) {
    const a = JSON.stringify(want.records.common[k]);
    const b = JSON.stringify(got.records.common[k]);
    if (a !== b) out.push(`${id}: every record's ${k}: golden ${a}, now ${b}`);
  }
  const key = (r: unknown[]) => JSON.stringify(r.slice(0, 5));
  const gotByKey = new Map<string, unknown[][]>();
  for (const r of got.records.rows) {
    const k = key(r);
    if (!gotByKey.has(k)) gotByKey.set(k, []);
    gotByKey.get(k)!.push(r);
  }
  for (const r of want.records.rows) {
    const list = gotByKey.get(key(r));
    const g = list?.shift();
    if (!g) out.push(`${id}: ${rowLabel(r)}: missing now (golden value ${JSON.stringify(r[5])})`);
    else if (JSON.stringify(g) !== JSON.stringify(r)) {
      if (JSON.stringify(g[5]) !== JSON.stringify(r[5]))
        out.push(`${id}: ${rowLabel(r)}: golden ${JSON.stringify(r[5])}, now ${JSON.stringify(g[5])}`);
      else out.push(`${id}: ${rowLabel(r)}: other fields: golden ${JSON.stringify(r[6] ?? {})}, now ${JSON.stringify(g[6] ?? {})}`);
    }
  }
  for (const list of gotByKey.values())
    for (const r of list) out.push(`${id}: ${rowLabel(r)}: new record (value ${JSON.stringify(r[5])}), not in the golden file`);
  if (out.length === 0) {
    // same multiset of rows: the order of the records is part of the output too
    const a = want.records.rows.map(key).join('\n');
    const b = got.records.rows.map(key).join('\n');
    if (a !== b) out.push(`${id}: the same records in another order`);
  }
  return out.length > max ? [...out.slice(0, max), `${id}: … and ${out.length - max} more differences`] : out;
}
