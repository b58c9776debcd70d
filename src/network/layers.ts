// A network is data: a list of layers. Every room (theory, sample, train) reads this list through its own
// table of implementations keyed by LayerKind (`satisfies Record<LayerKind, …>`), so a kind missing from a
// room is a compile error. The presets (`order`, with `residual`) expand to such lists (presets.ts).
import { InputError } from './errors.js';
import { z } from 'zod';
import { ACTIVATION_FORMS, type Activation, ActivationError, type ActivationFns, parseActivation } from './activation.js';
import { unknownField } from './suggest.js';

export const LAYER_KINDS = ['dense', 'batchnorm', 'layernorm', 'rmsnorm', 'act', 'residual'] as const;
export type LayerKind = (typeof LAYER_KINDS)[number];

export const INITS = ['gaussian', 'orthogonal'] as const;
export type InitKind = (typeof INITS)[number];

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

export type Layer = DenseLayer | BatchNormLayer | LayerNormLayer | RmsNormLayer | ActLayer | ResidualLayer;
export type LayerOf<K extends LayerKind> = Extract<Layer, { kind: K }>;
export type NormLayer = BatchNormLayer | LayerNormLayer | RmsNormLayer;

/** One line of doc per kind, for help texts and errors. */
export const LAYER_DOCS = {
  dense: 'dense {width, init?: gaussian|orthogonal, sigmaW2?, sigmaB2?}: h = x Wᵀ + b, Var W = sigmaW2/fan_in',
  batchnorm: 'batchnorm {gamma?, beta?, eps?}: per unit over the batch, γ(v − mean)/√(var + ε) + β',
  layernorm: 'layernorm {gamma?, beta?, eps?}: per sample over the units, γ(v − mean)/√(var + ε) + β',
  rmsnorm: 'rmsnorm {gamma?, eps?}: per sample over the units, γ v/√(mean v² + ε)',
  act: `act {activation}: φ elementwise (${ACTIVATION_FORMS.join(', ')})`,
  residual: 'residual {scale?, layers}: x + scale·inner(x), inner holds exactly one dense layer, equal widths',
} as const satisfies Record<LayerKind, string>;

/** The defaults of each kind's optional fields. */
export const LAYER_DEFAULTS = {
  dense: { init: 'gaussian', sigmaW2: 2, sigmaB2: 0 },
  batchnorm: { gamma: 1, beta: 0, eps: 1e-5 },
  layernorm: { gamma: 1, beta: 0, eps: 1e-5 },
  rmsnorm: { gamma: 1, eps: 1e-5 },
  act: {},
  residual: { scale: 1 },
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
  act: z.object({ kind: z.literal('act'), activation: z.any() }).strict(),
  residual: z.object({ kind: z.literal('residual'), scale: finite.refine((v) => v > 0), layers: z.array(z.any()).min(1) }).strict(),
} satisfies Record<LayerKind, z.ZodTypeAny>;

const ALLOWED_FIELD: Record<string, string> = {
  width: 'an integer from 1 to 65536',
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
    throw new LayerError(f ? `${where}.${f}` : where, f ? merged[f] : merged, ALLOWED_FIELD[f] ?? issue.message);
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

/**
 * Validate a layer list: every layer, and the shape of the whole. A list is a sequence of blocks: each
 * starts with a dense layer or a residual (which holds one), and the layers up to the next such start
 * belong to it; the first layer must start a block. A residual keeps the width (its input width = its
 * dense width).
 */
export function parseLayers(input: unknown, inputDim: number, field = 'layers'): Layer[] {
  if (!Array.isArray(input) || input.length === 0) throw new LayerError(field, input, 'a non-empty array of layers');
  const layers = input.map((l, i) => parseLayer(l, `${field}[${i}]`));
  if (!startsBlock(layers[0])) {
    throw new LayerError(
      `${field}[0].kind`,
      layers[0].kind,
      'dense or residual: the first layer starts the first block (a norm or act goes after a dense)',
    );
  }
  let width = inputDim;
  layers.forEach((l, i) => {
    if (l.kind === 'dense') width = l.width;
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
  return layers;
}

export function startsBlock(l: Layer): boolean {
  return l.kind === 'dense' || l.kind === 'residual';
}

/** The dense layer inside a residual (or the layer itself). */
export function denseOf(l: Layer): DenseLayer {
  if (l.kind === 'dense') return l;
  if (l.kind === 'residual') return l.layers.find((x) => x.kind === 'dense') as DenseLayer;
  throw new Error(`a ${l.kind} layer holds no dense layer`);
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
    if (l.kind === 'residual') return { ...l, layers: layersToJSON(l.layers) };
    return { ...l };
  });
}

/** A short text of a list, e.g. "dense(512)→batchnorm→act(relu) ×32". */
export function describeLayers(layers: readonly Layer[]): string {
  const one = (l: Layer): string => {
    if (l.kind === 'dense') return `dense(${l.width})`;
    if (l.kind === 'act') return `act(${activationOfLayer(l).name})`;
    if (l.kind === 'residual') return `residual(${l.scale}: ${l.layers.map(one).join('→')})`;
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
