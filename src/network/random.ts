// Seeded random draws shared by the sampler and the trainer, so that step 0 of training is the
// sampled network of the same seed. Every stream is derived from (seed, purpose, index), so a
// layer's weights do not depend on the order in which layers are drawn.

import randnBase from '@stdlib/random/base/randn/lib/index.js';
import randuBase from '@stdlib/random/base/randu/lib/index.js';
import { Matrix, QrDecomposition } from 'ml-matrix';
import { InputError } from './errors.js';
import { blocksOf, type ConvInitKind, denseOf, type Layer, shapesOf } from './layers.js';
import { fillNormalPhilox, fillUniformPhilox, PHILOX, type PhiloxKey, philoxKey } from './philox.js';
import { fanIns, imageOf, layersOf, type NetworkSpec, stableHash, widths } from './spec.js';

export class SeedError extends InputError {
  constructor(field: string, value: unknown, allowed: string) {
    super(field, value, allowed);
    this.name = 'SeedError';
  }
}

/** Check a user seed: an integer from 1 to 2^31-1 (0 would mean "unseeded" in tfjs, so it is refused). */
export function checkSeed(seed: number, field = 'seed'): number {
  if (!Number.isInteger(seed) || seed < 1 || seed > 2147483647) {
    throw new SeedError(field, seed, 'an integer from 1 to 2147483647');
  }
  return seed;
}

/** A 32-bit seed in [1, 2^32-1] derived from a base seed and labels. */
export function deriveSeed(seed: number, ...labels: (string | number)[]): number {
  const h = Number.parseInt(stableHash([seed, ...labels]).slice(0, 8), 16) >>> 0;
  return h === 0 ? 1 : h;
}

export type Normal = () => number;

/** A seeded standard normal generator (stdlib's improved ziggurat on MT19937). */
export function normalStream(seed: number, ...labels: (string | number)[]): Normal {
  return randnBase.factory({ seed: deriveSeed(seed, ...labels) }) as Normal;
}

export function fillNormal(out: Float64Array, rng: Normal, scale = 1): Float64Array {
  const ph = philoxState.get(rng);
  if (ph) {
    // a Philox stream: its next out.length elements in bulk (the same numbers as out.length calls)
    fillNormalPhilox(out, ph.key, ph.next, scale);
    ph.next += out.length;
    return out;
  }
  for (let i = 0; i < out.length; i++) out[i] = rng() * scale;
  return out;
}

// ---- the generator of a draw ---------------------------------------------------------------------

/**
 * The generators a draw can use: Philox4x32-10 (counter-based, docs/random.md) or stdlib's MT19937 + ziggurat
 * (the generator of results written before the switch, kept so that they can be redrawn).
 */
export const RNGS = [PHILOX, 'mt19937'] as const;
export type RngName = (typeof RNGS)[number];

/**
 * The generator of every run (sample, spectrum, train and its data, sweep cells, reproduce) when none is
 * named, and of the bare draw functions below (drawNetwork, gaussianInputs, …) when their options name none.
 * The theory's own Monte Carlo input Gram (gaussianInputGram) names 'mt19937' itself, so predict keeps its bits.
 */
export const DEFAULT_RNG: RngName = PHILOX;

/** What a record or manifest written before the generator was named (no `rng` field) was drawn with. */
export const LEGACY_RNG: RngName = 'mt19937';

/** The allowed values, for error messages: 'philox4x32-10' or 'mt19937'. */
export const RNG_ALLOWED = RNGS.map((x) => `'${x}'`).join(' or ');

/** Check a generator name (a user option): one of RNGS, else an InputError naming `field`. */
export function checkRng(rng: unknown, field = 'rng'): RngName {
  if (!(RNGS as readonly unknown[]).includes(rng)) throw new InputError(field, rng, RNG_ALLOWED);
  return rng as RngName;
}

/** The generator a run asks for: checked, DEFAULT_RNG when absent. */
export function runRng(rng: unknown, field = 'rng'): RngName {
  return rng === undefined || rng === null ? DEFAULT_RNG : checkRng(rng, field);
}

/** The generator a written record or manifest names: its `rng`, or LEGACY_RNG where it has none (older files). */
export function recordedRng(x: { rng?: unknown } | null | undefined, field = 'rng'): RngName {
  return x?.rng === undefined || x.rng === null ? LEGACY_RNG : checkRng(x.rng, field);
}

/** Options of the draw functions. */
export interface DrawOptions {
  /** The generator (default DEFAULT_RNG, Philox4x32-10). */
  rng?: RngName;
}

/** The generator of `opts`, checked: DEFAULT_RNG when absent. */
export function rngOf(opts: DrawOptions = {}): RngName {
  return opts.rng === undefined ? DEFAULT_RNG : checkRng(opts.rng);
}

interface PhiloxState {
  key: PhiloxKey;
  /** the stream position of the next normal */
  next: number;
}
const philoxState = new WeakMap<Normal, PhiloxState>();

/**
 * The Philox4x32-10 standard normal stream of (seed, ...labels), one normal a call from element 0 on (64 at a
 * time from fillNormalPhilox); fillNormal fills from it in bulk, continuing where the calls left off.
 */
export function philoxNormalStream(seed: number, ...labels: (string | number)[]): Normal {
  const st: PhiloxState = { key: philoxKey(seed, ...labels), next: 0 };
  const buf = new Float64Array(64);
  let start = 0;
  let len = 0;
  const f: Normal = () => {
    const at = st.next - start;
    st.next++;
    if (at >= 0 && at < len) return buf[at];
    start = st.next - 1;
    len = buf.length;
    fillNormalPhilox(buf, st.key, start);
    return buf[0];
  };
  philoxState.set(f, st);
  return f;
}

/** The normal stream of (seed, ...labels) with generator `rng`. */
export function streamOf(rng: RngName, seed: number, ...labels: (string | number)[]): Normal {
  return rng === PHILOX ? philoxNormalStream(seed, ...labels) : normalStream(seed, ...labels);
}

/** A seeded uniform [0,1) generator (MT19937). */
export function uniformStream(seed: number, ...labels: (string | number)[]): () => number {
  return randuBase.factory({ seed: deriveSeed(seed, ...labels) }) as () => number;
}

/**
 * The Philox4x32-10 uniform stream of (seed, ...labels): element i is fillUniformPhilox's element i, (w + 1/2)·2^-32
 * in (0, 1) from one 32-bit word, one a call (64 at a time).
 */
export function philoxUniformStream(seed: number, ...labels: (string | number)[]): () => number {
  const key = philoxKey(seed, ...labels);
  const buf = new Float64Array(64);
  let next = 0;
  let at = buf.length;
  return () => {
    if (at === buf.length) {
      fillUniformPhilox(buf, key, next);
      next += buf.length;
      at = 0;
    }
    return buf[at++];
  };
}

/** The uniform stream of (seed, ...labels) with generator `rng` (data order, shuffles, labels). */
export function uniformStreamOf(rng: RngName, seed: number, ...labels: (string | number)[]): () => number {
  return rng === PHILOX ? philoxUniformStream(seed, ...labels) : uniformStream(seed, ...labels);
}

/**
 * Weights of one Linear layer, row-major n_out × n_in, and its bias. A convolution's are the same matrix
 * with n_in = k²·C_in, row o = W[o, dy, dx, c] at (dy·k + dx)·C_in + c (an im2col patch's order). A resblock's
 * block holds its first conv here and its second conv, then its 1×1 projection (when it has one), in `more`.
 */
export interface LinearParams {
  nOut: number;
  nIn: number;
  W: Float64Array;
  b: Float64Array;
  more?: LinearParams[];
}

/**
 * A k×k convolution's weights, C_out × k²C_in: gaussian (Var σ_w²/(k²C_in)), orthogonal (a scaled Haar C_out ×
 * k²C_in matrix with that entry variance), or delta-orthogonal (Xiao et al. 2018: zero but the centre tap, a
 * scaled Haar C_out × C_in matrix with entry variance σ_w²/C_in, so that E h² = σ_w² q as for the others).
 */
export function drawConv(init: ConvInitKind, cOut: number, cIn: number, k: number, sigmaW2: number, rng: Normal): Float64Array {
  const nIn = k * k * cIn;
  if (init === 'gaussian') return fillNormal(new Float64Array(cOut * nIn), rng, Math.sqrt(sigmaW2 / nIn));
  if (init === 'orthogonal') {
    const W = orthogonal(cOut, nIn, rng);
    const scale = Math.sqrt((sigmaW2 * Math.max(cOut, nIn)) / nIn);
    for (let i = 0; i < W.length; i++) W[i] *= scale;
    return W;
  }
  const c = orthogonal(cOut, cIn, rng);
  const scale = Math.sqrt((sigmaW2 * Math.max(cOut, cIn)) / cIn);
  const W = new Float64Array(cOut * nIn);
  const centre = ((k - 1) / 2) * k + (k - 1) / 2;
  for (let o = 0; o < cOut; o++) for (let j = 0; j < cIn; j++) W[o * nIn + centre * cIn + j] = scale * c[o * cIn + j];
  return W;
}

function convParams(
  init: ConvInitKind,
  cOut: number,
  cIn: number,
  k: number,
  sigmaW2: number,
  sigmaB2: number,
  rng: RngName,
  seed: number,
  ...label: (string | number)[]
): LinearParams {
  const W = drawConv(init, cOut, cIn, k, sigmaW2, streamOf(rng, seed, 'W', ...label));
  const b = new Float64Array(cOut);
  if (sigmaB2 > 0) fillNormal(b, streamOf(rng, seed, 'b', ...label), Math.sqrt(sigmaB2));
  return { nOut: cOut, nIn: k * k * cIn, W, b };
}

/**
 * The leading layer of block `layer` (1-based) of an image network, its input channels (a conv) or units (a
 * dense after gap or flatten); null for a flat network.
 */
function convLead(spec: NetworkSpec, layer: number): { lead: Layer; cIn: number; nIn: number } | null {
  const image = imageOf(spec);
  if (!image) return null;
  const layers = layersOf(spec);
  const lead = blocksOf(layers)[layer - 1][0];
  const s = shapesOf(layers, spec.inputDim, image)[layers.indexOf(lead)];
  return { lead, cIn: s.shape ? s.shape.c : s.n, nIn: s.n };
}

/** Haar-orthogonal n_out × n_in matrix (orthonormal rows or columns), row-major. */
export function orthogonal(nOut: number, nIn: number, rng: Normal): Float64Array {
  const m = Math.max(nOut, nIn);
  const k = Math.min(nOut, nIn);
  const a = new Matrix(m, k);
  for (let i = 0; i < m; i++) for (let j = 0; j < k; j++) a.set(i, j, rng());
  const qr = new QrDecomposition(a);
  const q = qr.orthogonalMatrix; // m × m, first k columns span
  const r = qr.upperTriangularMatrix;
  const out = new Float64Array(nOut * nIn);
  for (let j = 0; j < k; j++) {
    const s = r.get(j, j) < 0 ? -1 : 1; // Mezzadri's sign fix makes Q Haar-distributed
    for (let i = 0; i < m; i++) {
      const v = s * q.get(i, j);
      if (nOut >= nIn) out[i * nIn + j] = v;
      else out[j * nIn + i] = v;
    }
  }
  return out;
}

/**
 * Draw block l's Linear layer (l = 1..depth). Entries have variance sigmaW2 / fan_in for both
 * inits; orthogonal weights are scaled Haar matrices with that entry variance.
 */
export function drawLinear(spec: NetworkSpec, seed: number, layer: number, opts: DrawOptions = {}, into?: LinearParams): LinearParams {
  const rng = rngOf(opts);
  const cl = convLead(spec, layer);
  if (cl) {
    const { lead, cIn } = cl;
    if (lead.kind === 'conv2d') return convParams(lead.init, lead.channels, cIn, lead.kernel, lead.sigmaW2, lead.sigmaB2, rng, seed, layer);
    if (lead.kind === 'resblock') {
      const { init, channels: c, kernel: k, sigmaW2: w, sigmaB2: b } = lead;
      const first = convParams(init, c, cIn, k, w, b, rng, seed, layer);
      first.more = [convParams(init, c, c, k, w, b, rng, seed, layer, 2)];
      if (lead.stride !== 1 || cIn !== c) first.more.push(convParams(init, c, cIn, 1, w, b, rng, seed, layer, 'proj'));
      return first;
    }
  }
  const nOut = widths(spec)[layer - 1];
  // a dense layer of an image net reads what gap or flatten left (H·W·C, or C)
  const nIn = cl ? cl.nIn : fanIns(spec)[layer - 1];
  // the layer's own init (a custom list may give each dense layer its own); presets: spec.init for all
  const init = denseInit(spec, layer);
  const wStream = streamOf(rng, seed, 'W', layer);
  let W: Float64Array;
  if (init.kind === 'orthogonal') {
    W = orthogonal(nOut, nIn, wStream);
    const scale = Math.sqrt((init.sigmaW2 * Math.max(nOut, nIn)) / nIn);
    for (let i = 0; i < W.length; i++) W[i] *= scale;
  } else {
    // fillNormal writes every element, so a reused array gets the same bits as a fresh one
    const reuse = into && !into.more && into.W.length === nOut * nIn ? into.W : null;
    W = fillNormal(reuse ?? new Float64Array(nOut * nIn), wStream, Math.sqrt(init.sigmaW2 / nIn));
  }
  let b: Float64Array;
  if (into && into.b.length === nOut) {
    b = into.b;
    if (!(init.sigmaB2 > 0)) b.fill(0);
  } else b = new Float64Array(nOut);
  if (init.sigmaB2 > 0) fillNormal(b, streamOf(rng, seed, 'b', layer), Math.sqrt(init.sigmaB2));
  return { nOut, nIn, W, b };
}

/** The init of block `layer`'s dense layer (1-based): its own fields in a custom list, spec.init for a preset. */
function denseInit(spec: NetworkSpec, layer: number): { kind: 'gaussian' | 'orthogonal'; sigmaW2: number; sigmaB2: number } {
  if (!spec.layers) return spec.init;
  const d = denseOf(blocksOf(spec.layers)[layer - 1][0]);
  return { kind: d.init, sigmaW2: d.sigmaW2, sigmaB2: d.sigmaB2 };
}

/**
 * Every block's Linear layer. With `into` (an earlier draw's layers, which the caller no longer needs), a dense
 * gaussian layer's W and every layer's b are drawn into its arrays where their lengths match (the same bits as
 * fresh arrays; orthogonal and conv layers, and arrays of another size, are allocated as without it).
 */
export function drawNetwork(spec: NetworkSpec, seed: number, opts: DrawOptions = {}, into?: readonly LinearParams[]): LinearParams[] {
  rngOf(opts);
  const out: LinearParams[] = [];
  for (let l = 1; l <= spec.depth; l++) out.push(drawLinear(spec, seed, l, opts, into?.[l - 1]));
  return out;
}

/** Readout weights (nOut × width), entries N(0, 1/width), drawn from their own stream. */
export function drawReadout(width: number, nOut: number, seed: number, opts: DrawOptions = {}): Float64Array {
  return fillNormal(new Float64Array(nOut * width), streamOf(rngOf(opts), seed, 'readout'), Math.sqrt(1 / width));
}

/**
 * A batch of B inputs of dimension d (row-major B × d): x_i = sqrt(1-ρ)·z_i + sqrt(ρ)·s, with a
 * shared component s, so that samples have pairwise correlation ρ in expectation.
 */
export function gaussianInputs(
  batch: number,
  dim: number,
  seed: number,
  rho = 0,
  label: string | number = 'x',
  opts: DrawOptions = {},
): Float64Array {
  if (!(rho >= 0 && rho < 1)) throw new SeedError('input-correlation', rho, 'a number in [0, 1)');
  const rng = rngOf(opts);
  const x = fillNormal(new Float64Array(batch * dim), streamOf(rng, seed, 'inputs', label));
  if (rho > 0) {
    const shared = fillNormal(new Float64Array(dim), streamOf(rng, seed, 'inputs-shared', label));
    const a = Math.sqrt(1 - rho);
    const c = Math.sqrt(rho);
    for (let i = 0; i < batch; i++) for (let j = 0; j < dim; j++) x[i * dim + j] = a * x[i * dim + j] + c * shared[j];
  }
  return x;
}
