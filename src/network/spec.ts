// The network spec: one typed, validated description read by the theory and by the real networks.
import { z } from 'zod';
import { type Activation, ActivationError, type ActivationFns, parseActivation } from './activation.js';
import { unknownField } from './suggest.js';

export const ORDERS = ['linear-bn-act', 'linear-act-bn', 'linear-act'] as const;
export type Order = (typeof ORDERS)[number];
export const INITS = ['gaussian', 'orthogonal'] as const;
export type InitKind = (typeof INITS)[number];

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
}

export type SpecInput = Partial<Omit<NetworkSpec, 'init' | 'bn' | 'residual'>> & {
  init?: Partial<InitSpec>;
  bn?: Partial<BnSpec>;
  residual?: Partial<ResidualSpec> | null;
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
export class SpecError extends Error {
  constructor(
    public readonly field: string,
    public readonly value: unknown,
    public readonly allowed: string,
  ) {
    super(`${field}: ${JSON.stringify(value)} is not allowed; expected ${allowed}`);
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
  order: ORDERS.join(' | '),
  'init.kind': INITS.join(' | '),
  'init.sigmaW2': 'a finite number > 0',
  'init.sigmaB2': 'a finite number >= 0',
  'bn.gamma': 'a finite number != 0',
  'bn.beta': 'a finite number',
  'bn.eps': 'a finite number >= 0',
  'residual.scale': 'a finite number > 0 (and equal widths)',
};

const schema = z
  .object({
    depth: posInt(100000),
    width: z.union([posInt(65536), z.array(posInt(65536)).min(1)]),
    inputDim: posInt(65536),
    batch: z.union([z.number().int().min(2).max(1_000_000), z.null()]),
    order: z.enum(ORDERS),
    activation: z.any(),
    init: z.object({ kind: z.enum(INITS), sigmaW2: finite.refine((v) => v > 0), sigmaB2: finite.refine((v) => v >= 0) }).strict(),
    bn: z.object({ gamma: finite.refine((v) => v !== 0), beta: finite, eps: finite.refine((v) => v >= 0) }).strict(),
    residual: z.union([z.object({ scale: finite.refine((v) => v > 0) }).strict(), z.null()]),
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
export const SPEC_FIELDS = ['depth', 'width', 'inputDim', 'batch', 'order', 'activation', 'init', 'bn', 'residual'] as const;
const NESTED_FIELDS: Record<string, readonly string[]> = { init: ['kind', 'sigmaW2', 'sigmaB2'], bn: ['gamma', 'beta', 'eps'], residual: ['scale'] };

/** Validate a partial spec, fill defaults, and return a complete NetworkSpec. Throws SpecError. */
export function makeSpec(input: SpecInput = {}): NetworkSpec {
  if (input === null || typeof input !== 'object' || Array.isArray(input)) {
    throw new SpecError('spec', input, 'an object with fields depth, width, batch, order, activation, init, bn, residual');
  }
  for (const k of Object.keys(input)) {
    if (!(SPEC_FIELDS as readonly string[]).includes(k)) throw new SpecError(k, (input as Record<string, unknown>)[k], unknownField(k, SPEC_FIELDS, 'the spec'));
  }
  const width = input.width ?? DEFAULT_SPEC.width;
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
  };
  const parsed = schema.safeParse(merged);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    if (issue.code === 'unrecognized_keys') {
      const where = issue.path.length ? `${issue.path.join('.')}.` : '';
      const key = (issue as any).keys[0];
      const known = NESTED_FIELDS[String(issue.path[0])] ?? SPEC_FIELDS;
      throw new SpecError(`${where}${key}`, getPath(merged, [...issue.path, key]), unknownField(key, known, where ? `spec.${where.slice(0, -1)}` : 'the spec'));
    }
    const path = issue.path.filter((p) => typeof p === 'string').join('.');
    const field = path || 'spec';
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
      throw new SpecError('residual', spec.residual, `equal widths (inputDim = every block's width) for residual blocks; got inputDim ${spec.inputDim} and widths ${[...new Set(ws)].join(',')}`);
    }
  }
  if (spec.order !== 'linear-act' && spec.batch !== null && spec.batch < 2) {
    throw new SpecError('batch', spec.batch, 'at least 2 with BatchNorm');
  }
  return spec;
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

export function hasBN(spec: NetworkSpec): boolean {
  return spec.order !== 'linear-act';
}

export function activationOf(spec: NetworkSpec): Activation {
  return typeof spec.activation === 'string' ? parseActivation(spec.activation) : spec.activation;
}

export function activationName(spec: NetworkSpec): string {
  return typeof spec.activation === 'string' ? parseActivation(spec.activation).name : spec.activation.name;
}

/** JSON form of a spec (the activation as its name). */
export function specToJSON(spec: NetworkSpec): Record<string, unknown> {
  return { ...spec, activation: activationName(spec) };
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
