// The network spec: one typed, validated description read by the theory and by the real networks.
import { InputError } from './errors.js';
import { z } from 'zod';
import { type Activation, ActivationError, type ActivationFns, parseActivation } from './activation.js';
import {
  activationOfLayer,
  blocksOf,
  CONV_INITS,
  type ConvInitKind,
  type ImageShape,
  isImageList,
  leadOf,
  type InitKind,
  INITS,
  kindsOf,
  type Layer,
  LayerError,
  layersToJSON,
  parseLayers,
} from './layers.js';
import { expandPreset, PRESET_NAMES, type PresetName, stageOf } from './presets.js';
import { unknownField } from './suggest.js';

/** The presets (presets.ts), then 'custom': a spec given by its own layer list. */
export const ORDERS = [...PRESET_NAMES, 'custom'] as const;
export type Order = PresetName | 'custom';
export { INITS, type InitKind };

export interface InitSpec {
  kind: InitKind;
  /** Weight gain: Var W_ij = sigmaW2 / fan_in. */
  sigmaW2: number;
  /** Bias variance: b_i ~ N(0, sigmaB2). */
  sigmaB2: number;
}

export interface BnSpec {
  gamma: number;
  beta: number;
  eps: number;
}

/** x_l = x_{l-1} + scale · block_l(x_{l-1}); needs equal widths. */
export interface ResidualSpec {
  scale: number;
}

export interface NetworkSpec {
  /** Number of blocks L (each: Linear, BN unless order is linear-act, activation). */
  depth: number;
  /** Width of every block, or one width per block (length = depth). */
  width: number | number[];
  /** Input dimension; defaults to the first block's width. */
  inputDim: number;
  /** Batch size B; null means the large-batch limit (theory only). */
  batch: number | null;
  order: Order;
  /** Activation string (see ACTIVATION_FORMS) or, in the API, a function pair with a name. */
  activation: string | ActivationFns;
  init: InitSpec;
  bn: BnSpec;
  residual: ResidualSpec | null;
  /**
   * The layer list, for order 'custom' only (then depth, width, activation, init, bn and residual are read
   * from it: the number of dense layers, their widths, the first activation, dense, norm and residual).
   * Presets have none: layersOf(spec) expands them.
   */
  layers?: Layer[];
  /**
   * The input image [H, W, C] of a convolutional network (inputDim = H·W·C, samples stored NHWC); absent
   * for flat inputs (every spec without convolutions, whose JSON and id stay what they were).
   */
  image?: [number, number, number];
  /** The convolution of the conv presets (conv-bn-act): kernel size k (odd, same padding) and init. */
  conv?: ConvSpec;
}

export interface ConvSpec {
  kernel: number;
  init: ConvInitKind;
}

export type SpecInput = Partial<Omit<NetworkSpec, 'init' | 'bn' | 'residual' | 'layers' | 'conv'>> & {
  conv?: Partial<ConvSpec>;
  init?: Partial<InitSpec>;
  bn?: Partial<BnSpec>;
  residual?: Partial<ResidualSpec> | null;
  /** A layer list (order 'custom'); each layer's optional fields take their defaults (LAYER_DEFAULTS). */
  layers?: unknown[];
};

export const DEFAULT_SPEC: NetworkSpec = {
  depth: 32,
  width: 512,
  inputDim: 512,
  batch: 128,
  order: 'linear-bn-act',
  activation: 'relu',
  init: { kind: 'gaussian', sigmaW2: 2, sigmaB2: 0 },
  bn: { gamma: 1, beta: 0, eps: 1e-5 },
  residual: null,
};

/** A bad spec: names the field, the value and what is allowed. */
export class SpecError extends InputError {
  constructor(field: string, value: unknown, allowed: string) {
    super(field, value, allowed);
    this.name = 'SpecError';
  }
}

const posInt = (max: number) => z.number().int().min(1).max(max);
const finite = z.number().refine(Number.isFinite);

const ALLOWED: Record<string, string> = {
  depth: 'an integer from 1 to 100000',
  width: 'an integer from 1 to 65536, or an array of such integers with one entry per block (length = depth)',
  inputDim: 'an integer from 1 to 65536',
  batch: 'an integer from 2 to 1000000, or null for the large-batch limit',
  order: `${ORDERS.filter((o) => o !== 'custom').join(' | ')} (or give layers, a layer list)`,
  'init.kind': INITS.join(' | '),
  'init.sigmaW2': 'a finite number > 0',
  'init.sigmaB2': 'a finite number >= 0',
  'bn.gamma': 'a finite number != 0',
  'bn.beta': 'a finite number',
  'bn.eps': 'a finite number >= 0',
  'residual.scale': 'a finite number > 0 (and equal widths)',
  image: 'an array [H, W, C] of integers from 1 to 4096 (the input image)',
  'conv.kernel': 'an odd integer from 1 to 31',
  'conv.init': CONV_INITS.join(' | '),
};

const schema = z
  .object({
    depth: posInt(100000),
    width: z.union([posInt(65536), z.array(posInt(65536)).min(1)]),
    inputDim: posInt(65536),
    batch: z.union([z.number().int().min(2).max(1_000_000), z.null()]),
    order: z.enum(ORDERS).refine((o) => o !== 'custom'),
    activation: z.any(),
    init: z.object({ kind: z.enum(INITS), sigmaW2: finite.refine((v) => v > 0), sigmaB2: finite.refine((v) => v >= 0) }).strict(),
    bn: z.object({ gamma: finite.refine((v) => v !== 0), beta: finite, eps: finite.refine((v) => v >= 0) }).strict(),
    residual: z.union([z.object({ scale: finite.refine((v) => v > 0) }).strict(), z.null()]),
    image: z.array(posInt(4096)).length(3).optional(),
    conv: z
      .object({ kernel: posInt(31).refine((k) => k % 2 === 1), init: z.enum(CONV_INITS) })
      .strict()
      .optional(),
  })
  .strict();

function getPath(obj: unknown, path: (string | number)[]): unknown {
  let cur: any = obj;
  for (const p of path) {
    if (cur == null) return undefined;
    cur = cur[p as any];
  }
  return cur;
}

/** The fields of a spec, and of its nested objects (for naming the nearest one of an unknown field). */
export const SPEC_FIELDS = [
  'depth',
  'width',
  'inputDim',
  'batch',
  'order',
  'activation',
  'init',
  'bn',
  'residual',
  'layers',
  'image',
  'conv',
] as const;
const NESTED_FIELDS: Record<string, readonly string[]> = {
  conv: ['kernel', 'init'],
  init: ['kind', 'sigmaW2', 'sigmaB2'],
  bn: ['gamma', 'beta', 'eps'],
  residual: ['scale'],
};

/** Validate a partial spec, fill defaults, and return a complete NetworkSpec. Throws SpecError. */
export function makeSpec(input: SpecInput = {}): NetworkSpec {
  if (input === null || typeof input !== 'object' || Array.isArray(input)) {
    throw new SpecError('spec', input, 'an object with fields depth, width, batch, order, activation, init, bn, residual');
  }
  for (const k of Object.keys(input)) {
    if (!(SPEC_FIELDS as readonly string[]).includes(k))
      throw new SpecError(k, (input as Record<string, unknown>)[k], unknownField(k, SPEC_FIELDS, 'the spec'));
  }
  if (input.layers !== undefined) return customSpec(input);
  // the conv presets default to 32 channels (512 channels on a 28 × 28 image would be 400k units per sample)
  const width = input.width ?? (isConvPreset(input.order ?? DEFAULT_SPEC.order) ? 32 : DEFAULT_SPEC.width);
  const firstWidth = Array.isArray(width) ? width[0] : width;
  const merged = {
    depth: input.depth ?? DEFAULT_SPEC.depth,
    width,
    inputDim: input.inputDim ?? firstWidth,
    batch: input.batch === undefined ? DEFAULT_SPEC.batch : input.batch,
    order: input.order ?? DEFAULT_SPEC.order,
    activation: input.activation ?? DEFAULT_SPEC.activation,
    init: { ...DEFAULT_SPEC.init, ...(input.init ?? {}) },
    bn: { ...DEFAULT_SPEC.bn, ...(input.bn ?? {}) },
    residual: input.residual == null ? null : { scale: 1, ...input.residual },
    ...convFields(input, width),
  };
  // vgg, resnet: a base width doubles at each stage (stageOf); the spec carries the widths per block
  if (
    (merged.order === 'vgg' || merged.order === 'resnet') &&
    typeof width === 'number' &&
    Number.isInteger(merged.depth) &&
    merged.depth >= 1
  )
    merged.width = Array.from({ length: merged.depth }, (_, l) => width * 2 ** stageOf(merged.depth, l));
  const parsed = schema.safeParse(merged);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    if (issue.code === 'unrecognized_keys') {
      const where = issue.path.length ? `${issue.path.join('.')}.` : '';
      const key = (issue as any).keys[0];
      const known = NESTED_FIELDS[String(issue.path[0])] ?? SPEC_FIELDS;
      throw new SpecError(
        `${where}${key}`,
        getPath(merged, [...issue.path, key]),
        unknownField(key, known, where ? `spec.${where.slice(0, -1)}` : 'the spec'),
      );
    }
    const path = issue.path.filter((p) => typeof p === 'string').join('.');
    const field = path || 'spec';
    if (field === 'image') throw new SpecError(field, merged.image, ALLOWED.image);
    throw new SpecError(field, getPath(merged, issue.path as (string | number)[]), ALLOWED[field] ?? issue.message);
  }
  const spec = merged as NetworkSpec;
  if (Array.isArray(spec.width) && spec.width.length !== spec.depth) {
    throw new SpecError('width', spec.width, `one width per block: an array of length depth = ${spec.depth}`);
  }
  if (typeof spec.activation === 'string') {
    try {
      parseActivation(spec.activation);
    } catch (e) {
      if (e instanceof ActivationError) throw new SpecError('activation', spec.activation, e.allowed);
      throw e;
    }
  } else if (
    typeof spec.activation !== 'object' ||
    typeof (spec.activation as ActivationFns).phi !== 'function' ||
    typeof (spec.activation as ActivationFns).dphi !== 'function' ||
    typeof (spec.activation as ActivationFns).name !== 'string'
  ) {
    throw new SpecError('activation', spec.activation, 'an activation string or {name, phi, dphi} with two functions');
  }
  if (spec.residual) {
    const ws = widths(spec);
    if (ws.some((w) => w !== spec.inputDim)) {
      throw new SpecError(
        'residual',
        spec.residual,
        `equal widths (inputDim = every block's width) for residual blocks; got inputDim ${spec.inputDim} and widths ${[...new Set(ws)].join(',')}`,
      );
    }
  }
  if (spec.order === 'preln-residual' || spec.order === 'postln-residual') {
    if (spec.residual === null) spec.residual = { scale: 1 };
    if (widths(spec).some((w) => w !== spec.inputDim)) {
      throw new SpecError(
        'width',
        spec.width,
        `equal widths (inputDim = every block's width) for ${spec.order}; got inputDim ${spec.inputDim}`,
      );
    }
  }
  const conv = isConvPreset(spec.order);
  if (conv && spec.residual) {
    throw new SpecError('residual', spec.residual, `null for ${spec.order} (resnet is the residual conv preset)`);
  }
  if (conv !== (spec.image !== undefined)) {
    throw new SpecError(
      'image',
      spec.image,
      conv
        ? `an input image [H, W, C] for ${spec.order}`
        : `no image for ${spec.order} (a flat-input preset; give layers for your own conv net)`,
    );
  }
  if (conv && spec.inputDim !== spec.image![0] * spec.image![1] * spec.image![2]) {
    throw new SpecError('inputDim', spec.inputDim, `H·W·C = ${spec.image!.join('·')} of the image for ${spec.order}`);
  }
  if (spec.order === 'linear-rms-act' && spec.bn.beta !== 0) {
    throw new SpecError('bn.beta', spec.bn.beta, '0 for linear-rms-act: RMSNorm has a gain γ and no shift β');
  }
  checkBatch(spec);
  return spec;
}

/** The conv presets (an image input, the conv field). */
export const CONV_PRESETS = ['conv-bn-act', 'vgg', 'resnet'] as const;
export function isConvPreset(order: Order): boolean {
  return (CONV_PRESETS as readonly string[]).includes(order);
}

/** The image and conv fields of a preset spec: present (with defaults) for the conv presets only. */
function convFields(input: SpecInput, width: number | number[]): { image?: [number, number, number]; conv?: ConvSpec; inputDim?: number } {
  const order = input.order ?? DEFAULT_SPEC.order;
  if (!isConvPreset(order)) {
    if (input.conv !== undefined) throw new SpecError('conv', input.conv, `no conv field for ${order} (a preset without convolutions)`);
    return input.image !== undefined ? { image: input.image } : {};
  }
  const c = Array.isArray(width) ? width[0] : width;
  const image = input.image ?? ([28, 28, c] as [number, number, number]);
  const conv = { kernel: 3, init: 'gaussian' as ConvInitKind, ...(input.conv ?? {}) };
  const dim = Array.isArray(image) && image.length === 3 ? image[0] * image[1] * image[2] : undefined;
  return { image, conv, ...(input.inputDim === undefined && dim !== undefined ? { inputDim: dim } : {}) };
}

function checkBatch(spec: NetworkSpec): void {
  if (spec.batch !== null && spec.batch < 2 && kindsOf(layersOf(spec)).has('batchnorm')) {
    throw new SpecError('batch', spec.batch, 'at least 2 with BatchNorm');
  }
}

/**
 * A spec from a layer list: order 'custom', and the flat fields read from the list (so that records,
 * tables and file names have them). A flat field given beside the list must agree with it.
 */
function customSpec(input: SpecInput): NetworkSpec {
  const raw = input.layers;
  const firstWidth = Array.isArray(raw) && raw[0] && typeof raw[0] === 'object' ? denseWidthOf(raw[0]) : undefined;
  if (input.inputDim !== undefined && !schema.shape.inputDim.safeParse(input.inputDim).success)
    throw new SpecError('inputDim', input.inputDim, ALLOWED.inputDim);
  // without inputDim, the first dense width (validated with its layer)
  const inputDim =
    input.inputDim ??
    (firstWidth !== undefined && schema.shape.inputDim.safeParse(firstWidth).success ? firstWidth : DEFAULT_SPEC.inputDim);
  if (input.conv !== undefined)
    throw new SpecError('conv', input.conv, 'no conv field beside layers: each conv2d layer gives its kernel and init');
  const imageIn = input.image;
  if (imageIn !== undefined && !schema.shape.image.safeParse(imageIn).success) throw new SpecError('image', imageIn, ALLOWED.image);
  const image: ImageShape | null = imageIn ? { h: imageIn[0], w: imageIn[1], c: imageIn[2] } : null;
  let layers: Layer[];
  try {
    layers = parseLayers(raw, image ? image.h * image.w * image.c : inputDim, 'layers', image);
  } catch (e) {
    if (e instanceof LayerError) throw new SpecError(e.field, e.value, e.allowed);
    throw e;
  }
  const dense = blocksOf(layers).map((b) => leadOf(b[0]));
  const ws = dense.map((d) => d.width);
  if (image && input.inputDim !== undefined && input.inputDim !== image.h * image.w * image.c)
    throw new SpecError('inputDim', input.inputDim, `H·W·C = ${imageIn!.join('·')} of the image, or leave inputDim out`);
  if (!image && isImageList(layers))
    throw new SpecError('image', undefined, ALLOWED.image + ' for a list with conv2d, resblock, gap or flatten');
  const flat = layers.flatMap((l) => (l.kind === 'residual' ? l.layers : [l]));
  const act = flat.find((l) => l.kind === 'act');
  const nrm = flat.find((l) => l.kind === 'batchnorm' || l.kind === 'layernorm' || l.kind === 'rmsnorm' || l.kind === 'groupnorm');
  const res = layers.find((l) => l.kind === 'residual');
  const derived: NetworkSpec = {
    depth: dense.length,
    width: ws.every((w) => w === ws[0]) ? ws[0] : ws,
    inputDim: image ? image.h * image.w * image.c : inputDim,
    batch: input.batch === undefined ? DEFAULT_SPEC.batch : input.batch,
    order: 'custom',
    activation: act && act.kind === 'act' ? act.activation : 'identity',
    init: {
      kind: dense[0].init === 'delta-orthogonal' ? 'orthogonal' : dense[0].init,
      sigmaW2: dense[0].sigmaW2,
      sigmaB2: dense[0].sigmaB2,
    },
    bn: nrm ? { gamma: nrm.gamma, beta: 'beta' in nrm ? nrm.beta : 0, eps: nrm.eps } : { ...DEFAULT_SPEC.bn },
    residual: res && res.kind === 'residual' ? { scale: res.scale } : null,
    layers,
    ...(imageIn ? { image: [...imageIn] as [number, number, number] } : {}),
  };
  const bz = schema.shape.batch.safeParse(derived.batch);
  if (!bz.success) throw new SpecError('batch', derived.batch, ALLOWED.batch);
  // flat fields beside the list must say what the list says (a spec written by specToJSON round-trips)
  const same = (a: unknown, b: unknown) => canonical(a) === canonical(b);
  const given = input as Record<string, unknown>;
  for (const f of ['depth', 'width', 'order', 'activation', 'init', 'bn', 'residual'] as const) {
    if (given[f] === undefined) continue;
    const want = f === 'activation' ? (act && act.kind === 'act' ? activationOfLayer(act).name : 'identity') : derived[f];
    const got = f === 'activation' && typeof given[f] !== 'string' ? (given[f] as ActivationFns).name : given[f];
    const wantFull = f === 'init' || f === 'bn' ? { ...(want as object), ...(got as object) } : got;
    if (!same(wantFull, want)) {
      throw new SpecError(
        f,
        given[f],
        `${canonical(want)} (what layers says), or leave ${f} out: with layers, the list alone describes the network`,
      );
    }
  }
  checkBatch(derived);
  return derived;
}

function denseWidthOf(l: unknown): number | undefined {
  const x = l as { kind?: unknown; width?: unknown; layers?: unknown[] };
  if (x.kind === 'dense' && typeof x.width === 'number') return x.width;
  if (x.kind === 'residual' && Array.isArray(x.layers)) for (const y of x.layers) if (denseWidthOf(y) !== undefined) return denseWidthOf(y);
  return undefined;
}

/** The layer list of a spec: its own (order 'custom') or its preset's expansion. */
export function layersOf(spec: NetworkSpec): Layer[] {
  if (spec.layers) return spec.layers;
  if (spec.order === 'custom') throw new SpecError('layers', undefined, "a layer list for order 'custom'");
  return expandPreset(spec.order, spec);
}

/** The blocks of a spec (blocksOf(layersOf(spec))): block l is the l-th dense layer and what follows it. */
export function blocksOfSpec(spec: NetworkSpec): Layer[][] {
  return blocksOf(layersOf(spec));
}

/** The input image of a spec, or null (flat inputs). */
export function imageOf(spec: NetworkSpec): ImageShape | null {
  return spec.image ? { h: spec.image[0], w: spec.image[1], c: spec.image[2] } : null;
}

/** Width of each block, length = depth. */
export function widths(spec: NetworkSpec): number[] {
  return Array.isArray(spec.width) ? spec.width.slice() : new Array(spec.depth).fill(spec.width);
}

/** Fan-in of each block's Linear layer. */
export function fanIns(spec: NetworkSpec): number[] {
  const ws = widths(spec);
  return ws.map((_, i) => (i === 0 ? spec.inputDim : ws[i - 1]));
}

/** Whether the network has a BatchNorm layer anywhere. */
export function hasBN(spec: NetworkSpec): boolean {
  return kindsOf(layersOf(spec)).has('batchnorm');
}

export function activationOf(spec: NetworkSpec): Activation {
  return typeof spec.activation === 'string' ? parseActivation(spec.activation) : spec.activation;
}

export function activationName(spec: NetworkSpec): string {
  return typeof spec.activation === 'string' ? parseActivation(spec.activation).name : spec.activation.name;
}

/** JSON form of a spec (the activation as its name). */
export function specToJSON(spec: NetworkSpec): Record<string, unknown> {
  const { layers, ...flat } = spec;
  return layers
    ? { ...flat, activation: activationName(spec), layers: layersToJSON(layers) }
    : { ...flat, activation: activationName(spec) };
}

function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v && typeof v === 'object') {
    return `{${Object.keys(v)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical((v as any)[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v);
}

/** Stable 64-bit FNV-1a hash (hex) of any JSON value's canonical form. */
export function stableHash(v: unknown): string {
  const s = canonical(v);
  let h1 = 0x811c9dc5;
  let h2 = 0x01000193 ^ 0x5bd1e995;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 0x01000193) >>> 0;
    h2 = Math.imul(h2 ^ c, 0x5bd1e995) >>> 0;
  }
  return h1.toString(16).padStart(8, '0') + h2.toString(16).padStart(8, '0');
}

/** Stable id of a spec, for joining records of theory, samples and training. */
export function specId(spec: NetworkSpec): string {
  return stableHash(specToJSON(spec));
}

/** Spec fields flattened for tidy records. */
export interface SpecFields {
  specId: string;
  depth: number;
  width: number;
  batch: number | null;
  order: Order;
  activation: string;
  init: InitKind;
  sigmaW2: number;
  sigmaB2: number;
  gamma: number;
  beta: number;
  eps: number;
  residual: number | null;
}

export function specFields(spec: NetworkSpec): SpecFields {
  return {
    specId: specId(spec),
    depth: spec.depth,
    width: Array.isArray(spec.width) ? spec.width[0] : spec.width,
    batch: spec.batch,
    order: spec.order,
    activation: activationName(spec),
    init: spec.init.kind,
    sigmaW2: spec.init.sigmaW2,
    sigmaB2: spec.init.sigmaB2,
    gamma: spec.bn.gamma,
    beta: spec.bn.beta,
    eps: spec.bn.eps,
    residual: spec.residual ? spec.residual.scale : null,
  };
}
