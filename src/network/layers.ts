// A network is data: a list of layers. Every room (theory, sample, train) reads this list through its own
// table of implementations keyed by LayerKind (`satisfies Record<LayerKind, …>`), so a kind missing from a
// room is a compile error. The presets (`order`, with `residual`) expand to such lists (presets.ts).
import { InputError } from './errors.js';
import { z } from 'zod';
import { ACTIVATION_FORMS, type Activation, ActivationError, type ActivationFns, parseActivation } from './activation.js';
import { unknownField } from './suggest.js';

export const LAYER_KINDS = [
  'dense',
  'batchnorm',
  'layernorm',
  'rmsnorm',
  'act',
  'residual',
  'conv2d',
  'gap',
  'flatten',
  'resblock',
  'groupnorm',
] as const;
export type LayerKind = (typeof LAYER_KINDS)[number];

export const INITS = ['gaussian', 'orthogonal'] as const;
export type InitKind = (typeof INITS)[number];
/** A convolution's inits: a dense layer's, and delta-orthogonal (Xiao et al. 2018). */
export const CONV_INITS = ['gaussian', 'orthogonal', 'delta-orthogonal'] as const;
export type ConvInitKind = (typeof CONV_INITS)[number];

/** h = x Wᵀ + b, Var W_ij = sigmaW2 / fan_in (Gaussian or scaled Haar-orthogonal), b_i ~ N(0, sigmaB2). */
export interface DenseLayer {
  kind: 'dense';
  width: number;
  init: InitKind;
  sigmaW2: number;
  sigmaB2: number;
}

/** Per unit over the batch: γ (v − mean_B v)/√(var_B v + ε) + β (biased variance, training mode). */
export interface BatchNormLayer {
  kind: 'batchnorm';
  gamma: number;
  beta: number;
  eps: number;
}

/** Per sample over the units: γ (v − mean_n v)/√(var_n v + ε) + β (Ba et al. 2016). */
export interface LayerNormLayer {
  kind: 'layernorm';
  gamma: number;
  beta: number;
  eps: number;
}

/** Per sample over the units: γ v/√(mean_n v² + ε), no centring, no shift (Zhang & Sennrich 2019). */
export interface RmsNormLayer {
  kind: 'rmsnorm';
  gamma: number;
  eps: number;
}

/**
 * Per sample over the units of a group (Wu & He 2018; PyTorch's GroupNorm(G, C)): the C channels of an image
 * (the n units of a flat activation) split into `groups` consecutive groups of C/G, and each sample's group is
 * normalized over its C/G channels × H·W positions (its n/G units): γ (v − mean)/√(var + ε) + β, biased
 * variance. G = 1 is layernorm over channels × space; G = C is instance norm. G must divide C (or n).
 */
export interface GroupNormLayer {
  kind: 'groupnorm';
  groups: number;
  gamma: number;
  beta: number;
  eps: number;
}

/** An elementwise activation φ: an activation string (ACTIVATION_FORMS) or, in the API, a function pair. */
export interface ActLayer {
  kind: 'act';
  activation: string | ActivationFns;
}

/** x + scale · inner(x); the inner list holds exactly one dense layer and keeps the width. */
export interface ResidualLayer {
  kind: 'residual';
  scale: number;
  layers: Layer[];
}

/**
 * A 2-D convolution on an image activation [B, H, W, C_in] (NHWC, cross-correlation as PyTorch's Conv2d):
 * h[b, y, x, o] = Σ_{dy,dx,c} W[o, dy, dx, c]·x[b, s·y + dy − p, s·x + dx − p, c] + b_o, zero padding p
 * ('same': (k − 1)/2, k odd), output size ⌊(H + 2p − k)/s⌋ + 1. Var W = sigmaW2/(k²·C_in) (gaussian, or a
 * scaled Haar-orthogonal C_out × k²C_in matrix); delta-orthogonal (Xiao et al. 2018): zero but at the
 * kernel centre, a scaled Haar-orthogonal C_out × C_in matrix with entry variance sigmaW2/C_in.
 */
export interface Conv2dLayer {
  kind: 'conv2d';
  channels: number;
  kernel: number;
  stride: number;
  padding: number | 'same';
  init: ConvInitKind;
  sigmaW2: number;
  sigmaB2: number;
}

/** Global average pooling: [B, H, W, C] → [B, C], the mean over positions. */
export interface GapLayer {
  kind: 'gap';
}

/** [B, H, W, C] → [B, H·W·C] (row-major NHWC: a relabelling, no arithmetic). */
export interface FlattenLayer {
  kind: 'flatten';
}

/**
 * A ResNet basic block (He et al. 2016) on [B, H, W, C_in]: u = BN(conv_k,s(x)), v = BN(conv_k,1(φ(u))),
 * out = φ(v + shortcut(x)), shortcut = x when stride 1 and channels = C_in, else BN(conv_1×1,s(x)) (the
 * projection, as torchvision's downsample). Both BN take gamma, beta, eps; convs are bias-free (sigmaB2 0 by
 * default) and take init and sigmaW2.
 */
export interface ResBlockLayer {
  kind: 'resblock';
  channels: number;
  kernel: number;
  stride: number;
  init: ConvInitKind;
  sigmaW2: number;
  sigmaB2: number;
  gamma: number;
  beta: number;
  eps: number;
  activation: string | ActivationFns;
}

export type Layer =
  | DenseLayer
  | BatchNormLayer
  | LayerNormLayer
  | RmsNormLayer
  | GroupNormLayer
  | ActLayer
  | ResidualLayer
  | Conv2dLayer
  | GapLayer
  | FlattenLayer
  | ResBlockLayer;
export type LayerOf<K extends LayerKind> = Extract<Layer, { kind: K }>;
export type NormLayer = BatchNormLayer | LayerNormLayer | RmsNormLayer | GroupNormLayer;

/** One line of doc per kind, for help texts and errors. */
export const LAYER_DOCS = {
  dense: 'dense {width, init?: gaussian|orthogonal, sigmaW2?, sigmaB2?}: h = x Wᵀ + b, Var W = sigmaW2/fan_in',
  batchnorm: 'batchnorm {gamma?, beta?, eps?}: per unit over the batch, γ(v − mean)/√(var + ε) + β',
  layernorm: 'layernorm {gamma?, beta?, eps?}: per sample over the units, γ(v − mean)/√(var + ε) + β',
  rmsnorm: 'rmsnorm {gamma?, eps?}: per sample over the units, γ v/√(mean v² + ε)',
  groupnorm:
    'groupnorm {groups, gamma?, beta?, eps?}: per sample over each of G groups of channels × positions (units), γ(v − mean)/√(var + ε) + β; G divides C',
  act: `act {activation}: φ elementwise (${ACTIVATION_FORMS.join(', ')})`,
  residual: 'residual {scale?, layers}: x + scale·inner(x), inner holds exactly one dense layer, equal widths',
  conv2d:
    "conv2d {channels, kernel?, stride?, padding?: 'same'|p, init?: gaussian|orthogonal|delta-orthogonal, sigmaW2?, sigmaB2?}: on [B,H,W,C], Var W = sigmaW2/(k²·C_in)",
  gap: 'gap {}: global average pooling, [B,H,W,C] → [B,C]',
  flatten: 'flatten {}: [B,H,W,C] → [B,H·W·C]',
  resblock:
    'resblock {channels, kernel?, stride?, init?, sigmaW2?, sigmaB2?, gamma?, beta?, eps?, activation?}: φ(BN(conv(φ(BN(conv x)))) + shortcut x), a ResNet basic block',
} as const satisfies Record<LayerKind, string>;

/** The defaults of each kind's optional fields. */
export const LAYER_DEFAULTS = {
  dense: { init: 'gaussian', sigmaW2: 2, sigmaB2: 0 },
  batchnorm: { gamma: 1, beta: 0, eps: 1e-5 },
  layernorm: { gamma: 1, beta: 0, eps: 1e-5 },
  rmsnorm: { gamma: 1, eps: 1e-5 },
  groupnorm: { gamma: 1, beta: 0, eps: 1e-5 },
  act: {},
  residual: { scale: 1 },
  conv2d: { kernel: 3, stride: 1, padding: 'same', init: 'gaussian', sigmaW2: 2, sigmaB2: 0 },
  gap: {},
  flatten: {},
  resblock: { kernel: 3, stride: 1, init: 'gaussian', sigmaW2: 2, sigmaB2: 0, gamma: 1, beta: 0, eps: 1e-5, activation: 'relu' },
} as const satisfies Record<LayerKind, object>;

/** A bad layer list: the field (e.g. `layers[2].gamma`), the value and what is allowed. */
export class LayerError extends InputError {
  constructor(field: string, value: unknown, allowed: string) {
    super(field, value, allowed);
    this.name = 'LayerError';
  }
}

const finite = z.number().refine(Number.isFinite);
const FIELD_SCHEMAS = {
  dense: z
    .object({
      kind: z.literal('dense'),
      width: z.number().int().min(1).max(65536),
      init: z.enum(INITS),
      sigmaW2: finite.refine((v) => v > 0),
      sigmaB2: finite.refine((v) => v >= 0),
    })
    .strict(),
  batchnorm: z
    .object({ kind: z.literal('batchnorm'), gamma: finite.refine((v) => v !== 0), beta: finite, eps: finite.refine((v) => v >= 0) })
    .strict(),
  layernorm: z
    .object({ kind: z.literal('layernorm'), gamma: finite.refine((v) => v !== 0), beta: finite, eps: finite.refine((v) => v >= 0) })
    .strict(),
  rmsnorm: z.object({ kind: z.literal('rmsnorm'), gamma: finite.refine((v) => v !== 0), eps: finite.refine((v) => v >= 0) }).strict(),
  groupnorm: z
    .object({
      kind: z.literal('groupnorm'),
      groups: z.number().int().min(1).max(65536),
      gamma: finite.refine((v) => v !== 0),
      beta: finite,
      eps: finite.refine((v) => v >= 0),
    })
    .strict(),
  act: z.object({ kind: z.literal('act'), activation: z.any() }).strict(),
  residual: z.object({ kind: z.literal('residual'), scale: finite.refine((v) => v > 0), layers: z.array(z.any()).min(1) }).strict(),
  conv2d: z
    .object({
      kind: z.literal('conv2d'),
      channels: z.number().int().min(1).max(65536),
      kernel: z.number().int().min(1).max(31),
      stride: z.number().int().min(1).max(31),
      padding: z.union([z.literal('same'), z.number().int().min(0).max(31)]),
      init: z.enum(CONV_INITS),
      sigmaW2: finite.refine((v) => v > 0),
      sigmaB2: finite.refine((v) => v >= 0),
    })
    .strict(),
  gap: z.object({ kind: z.literal('gap') }).strict(),
  flatten: z.object({ kind: z.literal('flatten') }).strict(),
  resblock: z
    .object({
      kind: z.literal('resblock'),
      channels: z.number().int().min(1).max(65536),
      kernel: z.number().int().min(1).max(31),
      stride: z.number().int().min(1).max(31),
      init: z.enum(CONV_INITS),
      sigmaW2: finite.refine((v) => v > 0),
      sigmaB2: finite.refine((v) => v >= 0),
      gamma: finite.refine((v) => v !== 0),
      beta: finite,
      eps: finite.refine((v) => v >= 0),
      activation: z.any(),
    })
    .strict(),
} satisfies Record<LayerKind, z.ZodTypeAny>;

const ALLOWED_FIELD: Record<string, string> = {
  width: 'an integer from 1 to 65536',
  groups: 'an integer from 1 to 65536 that divides the channel count (the width of a flat activation)',
  channels: 'an integer from 1 to 65536',
  kernel: 'an integer from 1 to 31',
  stride: 'an integer from 1 to 31',
  padding: "'same' or an integer from 0 to 31",
  init: INITS.join(' | '),
  sigmaW2: 'a finite number > 0',
  sigmaB2: 'a finite number >= 0',
  gamma: 'a finite number != 0',
  beta: 'a finite number',
  eps: 'a finite number >= 0',
  scale: 'a finite number > 0',
  layers: 'a non-empty array of layers',
};

const FIELDS_OF: Record<LayerKind, readonly string[]> = Object.fromEntries(
  LAYER_KINDS.map((k) => [k, Object.keys(FIELD_SCHEMAS[k].shape)]),
) as unknown as Record<LayerKind, readonly string[]>;

function checkActivation(where: string, a: unknown): void {
  if (typeof a === 'string') {
    try {
      parseActivation(a);
    } catch (e) {
      if (e instanceof ActivationError) throw new LayerError(`${where}.activation`, a, e.allowed);
      throw e;
    }
    return;
  }
  const f = a as ActivationFns | null;
  if (!f || typeof f !== 'object' || typeof f.phi !== 'function' || typeof f.dphi !== 'function' || typeof f.name !== 'string') {
    throw new LayerError(`${where}.activation`, a, 'an activation string or {name, phi, dphi} with two functions');
  }
}

/** Validate one layer (defaults filled); `where` names it in errors, e.g. `layers[3]`. */
function parseLayer(input: unknown, where: string): Layer {
  if (input === null || typeof input !== 'object' || Array.isArray(input)) {
    throw new LayerError(where, input, `a layer object {kind, …}; kinds: ${LAYER_KINDS.join(', ')}`);
  }
  const kind = (input as { kind?: unknown }).kind;
  if (typeof kind !== 'string' || !(LAYER_KINDS as readonly string[]).includes(kind)) {
    throw new LayerError(`${where}.kind`, kind, LAYER_KINDS.join(' | '));
  }
  const k = kind as LayerKind;
  for (const f of Object.keys(input)) {
    if (!FIELDS_OF[k].includes(f))
      throw new LayerError(`${where}.${f}`, (input as Record<string, unknown>)[f], unknownField(f, FIELDS_OF[k], `a ${k} layer`));
  }
  const merged = { ...LAYER_DEFAULTS[k], ...(input as object) } as Record<string, unknown>;
  const parsed = FIELD_SCHEMAS[k].safeParse(merged);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const f = String(issue.path[0] ?? '');
    if (f === 'activation' || (k === 'act' && merged.activation === undefined))
      throw new LayerError(`${where}.activation`, merged.activation, 'an activation string');
    const allowed = k !== 'dense' && f === 'init' ? CONV_INITS.join(' | ') : ALLOWED_FIELD[f];
    throw new LayerError(f ? `${where}.${f}` : where, f ? merged[f] : merged, allowed ?? issue.message);
  }
  if (k === 'conv2d' && merged.padding === 'same' && (merged.kernel as number) % 2 === 0) {
    throw new LayerError(`${where}.padding`, 'same', `an integer with an even kernel (${merged.kernel}): 'same' needs an odd kernel`);
  }
  if (k === 'resblock') {
    if ((merged.kernel as number) % 2 === 0) throw new LayerError(`${where}.kernel`, merged.kernel, 'an odd integer (same padding)');
    checkActivation(where, merged.activation);
    return { ...(parsed.data as ResBlockLayer), activation: merged.activation as string | ActivationFns };
  }
  if (k === 'act') {
    if (merged.activation === undefined) throw new LayerError(`${where}.activation`, undefined, 'an activation string');
    checkActivation(where, merged.activation);
    return { kind: 'act', activation: merged.activation as string | ActivationFns };
  }
  if (k === 'residual') {
    const inner = (merged.layers as unknown[]).map((l, i) => parseLayer(l, `${where}.layers[${i}]`));
    const dense = inner.filter((l) => l.kind === 'dense');
    if (dense.length !== 1 || inner.some((l) => l.kind === 'residual')) {
      throw new LayerError(
        `${where}.layers`,
        inner.map((l) => l.kind),
        'exactly one dense layer and no nested residual inside a residual',
      );
    }
    return { kind: 'residual', scale: merged.scale as number, layers: inner };
  }
  return parsed.data as Layer;
}

/** The shape of an activation: an image [H, W, C] per sample (NHWC), or null for a flat vector of units. */
export interface ImageShape {
  h: number;
  w: number;
  c: number;
}

/** Output size of a convolution along one axis. */
export function convOut(size: number, kernel: number, stride: number, pad: number): number {
  return Math.floor((size + 2 * pad - kernel) / stride) + 1;
}

/** The zero padding of a conv2d ('same': (k − 1)/2). */
export function padOf(l: Conv2dLayer): number {
  return l.padding === 'same' ? (l.kernel - 1) / 2 : l.padding;
}

/** A groupnorm's G divides the channels C of an image (the width n of a flat activation). */
function checkGroups(l: GroupNormLayer, s: ImageShape | null, n: number, where: string): void {
  const c = s ? s.c : n;
  if (c % l.groups !== 0)
    throw new LayerError(
      `${where}.groups`,
      l.groups,
      `a divisor of the ${s ? `channel count ${c} of its input [${s.h}, ${s.w}, ${c}]` : `width ${c} of its input`} (each group holds C/G channels)`,
    );
}

/** The kinds that need an image input. */
const IMAGE_KINDS: readonly LayerKind[] = ['conv2d', 'gap', 'flatten', 'resblock'];

/**
 * The shape after a layer, from the shape before it (an image, or null: flat, n units). Throws a
 * LayerError naming `where` when the layer cannot take that input.
 */
export function shapeAfter(l: Layer, s: ImageShape | null, n: number, where: string): { shape: ImageShape | null; n: number } {
  if (l.kind === 'groupnorm') checkGroups(l, s, n, where);
  if (l.kind === 'residual')
    for (const [i, x] of l.layers.entries()) if (x.kind === 'groupnorm') checkGroups(x, null, n, `${where}.layers[${i}]`);
  if (IMAGE_KINDS.includes(l.kind) && s === null) {
    throw new LayerError(
      `${where}.kind`,
      l.kind,
      `a layer for flat inputs here: a ${l.kind} layer needs an image input [H, W, C] (the spec's image, and no gap or flatten before it)`,
    );
  }
  if (l.kind === 'conv2d') {
    const p = padOf(l);
    const h = convOut(s!.h, l.kernel, l.stride, p);
    const w = convOut(s!.w, l.kernel, l.stride, p);
    if (h < 1 || w < 1)
      throw new LayerError(
        `${where}.kernel`,
        l.kernel,
        `at most the padded input size (${s!.h + 2 * p} × ${s!.w + 2 * p}) with stride ${l.stride}`,
      );
    return { shape: { h, w, c: l.channels }, n: h * w * l.channels };
  }
  if (l.kind === 'resblock') {
    const p = (l.kernel - 1) / 2;
    const h = convOut(s!.h, l.kernel, l.stride, p);
    const w = convOut(s!.w, l.kernel, l.stride, p);
    if (h < 1 || w < 1) throw new LayerError(`${where}.kernel`, l.kernel, `at most the padded input size ${s!.h + 2 * p}`);
    return { shape: { h, w, c: l.channels }, n: h * w * l.channels };
  }
  if (l.kind === 'gap') return { shape: null, n: s!.c };
  if (l.kind === 'flatten') return { shape: null, n };
  if ((l.kind === 'dense' || l.kind === 'residual') && s !== null) {
    throw new LayerError(
      `${where}.kind`,
      l.kind,
      `a layer for image inputs here (the input is [${s.h}, ${s.w}, ${s.c}]): put gap or flatten before a ${l.kind} layer`,
    );
  }
  if (l.kind === 'dense') return { shape: null, n: l.width };
  return { shape: s, n };
}

/** The input shape of every top-level layer of a list, and the output's. */
export function shapesOf(
  layers: readonly Layer[],
  inputDim: number,
  image: ImageShape | null,
  field = 'layers',
): { shape: ImageShape | null; n: number }[] {
  let cur = { shape: image, n: image ? image.h * image.w * image.c : inputDim };
  const out = [cur];
  layers.forEach((l, i) => {
    checkNotConstant(layers, i, cur.shape, cur.n, field);
    cur = shapeAfter(l, cur.shape, cur.n, `${field}[${i}]`);
    out.push(cur);
  });
  return out;
}

/**
 * A groupnorm whose output cannot depend on its input: a group of one value normalizes to 0 (G = n on a flat
 * activation, or G = C on a 1×1 image), and an instance norm (G = C) right before gap averages every channel
 * to its β. What follows would see a constant and its gradients would be round-off, so such a list is refused.
 */
function checkNotConstant(layers: readonly Layer[], i: number, s: ImageShape | null, n: number, field: string): void {
  const l = layers[i];
  if (l.kind !== 'groupnorm') return;
  const c = s ? s.c : n;
  const perGroup = (c / l.groups) * (s ? s.h * s.w : 1);
  if (perGroup === 1)
    throw new LayerError(
      `${field}[${i}].groups`,
      l.groups,
      `fewer groups than the ${c} ${s ? 'channels of a 1×1 image' : 'units'}: a group of one value normalizes to 0, so the output is the constant β`,
    );
  if (s && l.groups === s.c && layers[i + 1]?.kind === 'gap')
    throw new LayerError(
      `${field}[${i}].groups`,
      l.groups,
      `fewer groups than the ${s.c} channels when gap follows: global average pooling of an instance norm is the constant β`,
    );
}

/**
 * Validate a layer list: every layer, and the shape of the whole. A list is a sequence of blocks: each
 * starts with a dense layer, a residual (which holds one), a conv2d or a resblock, and the layers up to the
 * next such start belong to it; the first layer must start a block. A residual keeps the width (its input
 * width = its dense width). With an image input ([H, W, C]) the shapes are followed through the list.
 */
export function parseLayers(input: unknown, inputDim: number, field = 'layers', image: ImageShape | null = null): Layer[] {
  if (!Array.isArray(input) || input.length === 0) throw new LayerError(field, input, 'a non-empty array of layers');
  const layers = input.map((l, i) => parseLayer(l, `${field}[${i}]`));
  if (!startsBlock(layers[0])) {
    throw new LayerError(
      `${field}[0].kind`,
      layers[0].kind,
      'dense or residual (or conv2d, resblock for an image): the first layer starts the first block (a norm or act goes after one)',
    );
  }
  let width = inputDim;
  layers.forEach((l, i) => {
    if (l.kind === 'dense') width = l.width;
    if (l.kind === 'gap' || l.kind === 'flatten') width = Number.NaN;
    if (l.kind === 'residual') {
      const d = denseOf(l);
      if (d.width !== width) {
        throw new LayerError(
          `${field}[${i}].layers`,
          d.width,
          `the residual's input width ${width}: x + scale·inner(x) needs equal widths`,
        );
      }
    }
  });
  shapesOf(layers, inputDim, image, field);
  return layers;
}

export function startsBlock(l: Layer): boolean {
  return l.kind === 'dense' || l.kind === 'residual' || l.kind === 'conv2d' || l.kind === 'resblock';
}

/** The dense layer inside a residual (or the layer itself). */
export function denseOf(l: Layer): DenseLayer {
  if (l.kind === 'dense') return l;
  if (l.kind === 'residual') return l.layers.find((x) => x.kind === 'dense') as DenseLayer;
  throw new Error(`a ${l.kind} layer holds no dense layer`);
}

/** What leads a block: its weight layer's width (channels for a convolution) and init. */
export interface BlockLead {
  kind: 'dense' | 'conv2d' | 'resblock';
  width: number;
  init: ConvInitKind;
  sigmaW2: number;
  sigmaB2: number;
}

/** The weight layer that leads a block (a dense, a residual's dense, a conv2d, a resblock's first conv). */
export function leadOf(l: Layer): BlockLead {
  if (l.kind === 'conv2d' || l.kind === 'resblock')
    return { kind: l.kind, width: l.channels, init: l.init, sigmaW2: l.sigmaW2, sigmaB2: l.sigmaB2 };
  const d = denseOf(l);
  return { kind: 'dense', width: d.width, init: d.init, sigmaW2: d.sigmaW2, sigmaB2: d.sigmaB2 };
}

/**
 * The blocks of a list: block l (1..depth) is the layers from its dense (or residual) to the next one.
 * Per-layer records use this index, as they always have ("layer l" = block l = the l-th dense layer).
 */
export function blocksOf(layers: readonly Layer[]): Layer[][] {
  const out: Layer[][] = [];
  for (const l of layers) {
    if (startsBlock(l)) out.push([l]);
    else out[out.length - 1].push(l);
  }
  return out;
}

/** The dense layers in order (one per block). */
export function denseLayers(layers: readonly Layer[]): DenseLayer[] {
  return blocksOf(layers).map((b) => denseOf(b[0]));
}

/** Whether a list has convolutional kinds (an image network). */
export function isImageList(layers: readonly Layer[]): boolean {
  return flatLayers(layers).some((l) => IMAGE_KINDS.includes(l.kind));
}

/** Every layer of the list, residuals' inner layers included, depth first. */
export function flatLayers(layers: readonly Layer[]): Layer[] {
  return layers.flatMap((l) => (l.kind === 'residual' ? [l, ...l.layers] : [l]));
}

/** The kinds a list uses (residual inner layers included). */
export function kindsOf(layers: readonly Layer[]): Set<LayerKind> {
  return new Set(flatLayers(layers).map((l) => l.kind));
}

export function activationOfLayer(l: ActLayer): Activation {
  return typeof l.activation === 'string' ? parseActivation(l.activation) : l.activation;
}

/** JSON form of a list (activations as their names). */
export function layersToJSON(layers: readonly Layer[]): unknown[] {
  return layers.map((l) => {
    if (l.kind === 'act') return { kind: 'act', activation: activationOfLayer(l).name };
    if (l.kind === 'resblock') return { ...l, activation: activationOfLayer({ kind: 'act', activation: l.activation }).name };
    if (l.kind === 'residual') return { ...l, layers: layersToJSON(l.layers) };
    return { ...l };
  });
}

/** A short text of a list, e.g. "dense(512)→batchnorm→act(relu) ×32". */
export function describeLayers(layers: readonly Layer[]): string {
  const one = (l: Layer): string => {
    if (l.kind === 'dense') return `dense(${l.width})`;
    if (l.kind === 'act') return `act(${activationOfLayer(l).name})`;
    if (l.kind === 'groupnorm') return `groupnorm(${l.groups})`;
    if (l.kind === 'residual') return `residual(${l.scale}: ${l.layers.map(one).join('→')})`;
    if (l.kind === 'conv2d') return `conv2d(${l.channels}, ${l.kernel}×${l.kernel}${l.stride > 1 ? `/${l.stride}` : ''})`;
    if (l.kind === 'resblock')
      return `resblock(${l.channels}, ${l.kernel}×${l.kernel}${l.stride > 1 ? `/${l.stride}` : ''}, ${activationOfLayer({ kind: 'act', activation: l.activation }).name})`;
    return l.kind;
  };
  const blocks = blocksOf(layers).map((b) => b.map(one).join('→'));
  const runs: string[] = [];
  for (let i = 0; i < blocks.length; ) {
    let j = i;
    while (j < blocks.length && blocks[j] === blocks[i]) j++;
    runs.push(j - i > 1 ? `${blocks[i]} ×${j - i}` : blocks[i]);
    i = j;
  }
  return runs.join(', ');
}
