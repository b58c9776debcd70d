// Optimizers and gradient clipping: small and explicit, each with validated options (one zod schema per
// optimizer kind: its options, their defaults and what they allow; the config types derive from them).
// Formulas and sources are in docs/training.md. Every adaptive method reports its per-tensor trust
// ratio or clip factor, which the trainer records as `trust_ratio` probes.
import * as tf from '@tensorflow/tfjs';
import { z } from 'zod';
import { bool, fieldsOf, num, oneOf, parseObject } from '../network/input.js';
import { didYouMean } from '../network/suggest.js';
import { TrainConfigError } from './errors.js';
import type { ParamInfo } from './model.js';
import { sgdUpdate, sumSquares } from './ops.js';

export const OPTIMIZERS = ['sgd', 'momentum', 'adam', 'lars', 'lamb', 'lalc'] as const;
export type OptimizerKind = (typeof OPTIMIZERS)[number];

/** Every optimizer option, with what it allows; each kind below takes some of them, with its defaults. */
const OPTION = {
  /** Base learning rate (multiplied by the schedule's factor). */
  lr: num('a finite number > 0', (v) => v > 0),
  /** L2 weight decay added to the gradient (g + wd·w); LARS/LAMB/LALC skip it on 1-D params when excludeOneD. */
  weightDecay: num('a finite number >= 0', (v) => v >= 0),
  /** momentum coefficient μ. */
  momentum: num('a number in [0, 1)', (v) => v >= 0 && v < 1),
  /** Nesterov momentum. */
  nesterov: bool(),
  /** β₁, β₂. */
  beta1: num('a number in [0, 1)', (v) => v >= 0 && v < 1),
  beta2: num('a number in [0, 1)', (v) => v >= 0 && v < 1),
  /** adam, lamb: ε added to √v̂; lars, lalc: ε added to the trust-ratio denominator. */
  eps: num('a finite number >= 0', (v) => v >= 0),
  /** lars, lalc: trust coefficient η in η‖w‖/‖g‖. */
  trustCoefficient: num('a finite number > 0', (v) => v > 0),
  /** leave 1-D parameters (biases, BN γ/β) unadapted and without weight decay. */
  excludeOneD: bool(),
  /** lalc: the layer factor is clipped to [clipLow, clipHigh], clipHigh ≤ 1 (a layer's rate is never raised). */
  clipLow: num('a number in [0, 1] (and <= clipHigh)', (v) => v >= 0 && v <= 1),
  clipHigh: num('a number in (0, 1]: LALC may only lower a layer rate, never raise it above the base rate', (v) => v > 0 && v <= 1),
  /** lamb: bounds of the trust ratio (null = unbounded). */
  trustMin: num('a finite number >= 0', (v) => v >= 0),
  trustMax: z.union([z.null(), num('a number > 0, or null for unbounded', (v) => v > 0)], { error: 'a number > 0, or null for unbounded' }),
};

const kindOf = <K extends OptimizerKind>(k: K) => z.literal(k);

/** Each optimizer: its options and their defaults (the resolved config has exactly these keys, in this order). */
export const OPTIMIZER_SCHEMAS = {
  sgd: z.object({ kind: kindOf('sgd'), lr: OPTION.lr.default(0.1), weightDecay: OPTION.weightDecay.default(0) }),
  momentum: z.object({
    kind: kindOf('momentum'),
    lr: OPTION.lr.default(0.1),
    weightDecay: OPTION.weightDecay.default(0),
    momentum: OPTION.momentum.default(0.9),
    nesterov: OPTION.nesterov.default(false),
  }),
  adam: z.object({
    kind: kindOf('adam'),
    lr: OPTION.lr.default(1e-3),
    weightDecay: OPTION.weightDecay.default(0),
    beta1: OPTION.beta1.default(0.9),
    beta2: OPTION.beta2.default(0.999),
    eps: OPTION.eps.default(1e-8),
  }),
  lars: z.object({
    kind: kindOf('lars'),
    lr: OPTION.lr.default(0.1),
    weightDecay: OPTION.weightDecay.default(0),
    momentum: OPTION.momentum.default(0.9),
    nesterov: OPTION.nesterov.default(false),
    trustCoefficient: OPTION.trustCoefficient.default(0.001),
    eps: OPTION.eps.default(1e-8),
    excludeOneD: OPTION.excludeOneD.default(true),
  }),
  lamb: z.object({
    kind: kindOf('lamb'),
    lr: OPTION.lr.default(1e-3),
    weightDecay: OPTION.weightDecay.default(0),
    beta1: OPTION.beta1.default(0.9),
    beta2: OPTION.beta2.default(0.999),
    eps: OPTION.eps.default(1e-6),
    excludeOneD: OPTION.excludeOneD.default(true),
    trustMin: OPTION.trustMin.default(0),
    trustMax: OPTION.trustMax.default(null),
  }),
  lalc: z.object({
    kind: kindOf('lalc'),
    lr: OPTION.lr.default(0.1),
    weightDecay: OPTION.weightDecay.default(0),
    momentum: OPTION.momentum.default(0.9),
    nesterov: OPTION.nesterov.default(false),
    trustCoefficient: OPTION.trustCoefficient.default(0.1),
    eps: OPTION.eps.default(1e-8),
    excludeOneD: OPTION.excludeOneD.default(true),
    clipLow: OPTION.clipLow.default(0),
    clipHigh: OPTION.clipHigh.default(1),
  }),
} as const satisfies Record<OptimizerKind, z.ZodObject>;

/** A validated optimizer config: a union discriminated on kind, each kind with its own options. */
export type OptimizerConfig = { [K in OptimizerKind]: z.output<(typeof OPTIMIZER_SCHEMAS)[K]> }[OptimizerKind];
/** What a user may write: a kind name, or {kind, …options} with any option left to its default. */
export type OptimizerInput = OptimizerKind | { [K in OptimizerKind]: z.input<(typeof OPTIMIZER_SCHEMAS)[K]> }[OptimizerKind];

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/** Validate optimizer options (an object with `kind`, or a kind name); unknown options are errors. */
export function makeOptimizerConfig(input: unknown, field = 'optimizer'): OptimizerConfig {
  const raw: unknown = typeof input === 'string' ? { kind: input } : input == null ? { kind: 'sgd' } : input;
  if (!isObject(raw)) throw new TrainConfigError(field, input, `an object {kind: ${OPTIMIZERS.join(' | ')}, lr, …} or a kind name`);
  const kind = (raw.kind ?? 'sgd') as OptimizerKind;
  if (!OPTIMIZERS.includes(kind)) throw new TrainConfigError(`${field}.kind`, raw.kind, OPTIMIZERS.join(' | '));
  const out = parseObject(OPTIMIZER_SCHEMAS[kind], { ...raw, kind }, field, (f, v, a) => new TrainConfigError(f, v, a), {
    notObject: 'an object',
    unknown: (k, known) =>
      `no such option for optimizer "${kind}"${didYouMean(k, known)}; its options are ${known.filter((o) => o !== 'kind').join(', ')}`,
  }) as OptimizerConfig;
  if (out.kind === 'lalc' && out.clipLow > out.clipHigh)
    throw new TrainConfigError(`${field}.clipLow`, out.clipLow, `a number <= clipHigh (${out.clipHigh})`);
  if (out.kind === 'lamb' && out.trustMax !== null && out.trustMin > out.trustMax)
    throw new TrainConfigError(`${field}.trustMin`, out.trustMin, `a number <= trustMax (${out.trustMax})`);
  return out;
}

/** The options of one optimizer kind, for docs and --help. */
export function optimizerOptions(kind: OptimizerKind): string[] {
  return fieldsOf(OPTIMIZER_SCHEMAS[kind]).filter((k) => k !== 'kind');
}

// ---- gradient clipping --------------------------------------------------------------------------

export const CLIP_KINDS = ['none', 'global', 'layer'] as const;
export type ClipKind = (typeof CLIP_KINDS)[number];

/** Clipping as written: kind (default global) and maxNorm, so that the (global, or per-tensor) gradient norm is at most maxNorm. */
const CLIP_SCHEMA = z.object({
  kind: oneOf(CLIP_KINDS).default('global'),
  // null: the resolved form of kind none (no norm), as written in manifests
  maxNorm: z.union([z.null(), num('a finite number > 0', (v) => v > 0)], { error: 'a finite number > 0' }).optional(),
});
export type ClipInput = null | number | 'none' | z.input<typeof CLIP_SCHEMA>;
export type ClipConfig = { kind: 'none'; maxNorm: number } | { kind: 'global' | 'layer'; maxNorm: number };

export function makeClipConfig(input: unknown, field = 'clip'): ClipConfig {
  if (input == null || input === 'none') return { kind: 'none', maxNorm: Number.POSITIVE_INFINITY };
  const raw = typeof input === 'number' ? { kind: 'global', maxNorm: input } : input;
  const c = parseObject(CLIP_SCHEMA, raw, field, (f, v, a) => new TrainConfigError(f, v, a), {
    notObject: 'null, a max norm (global clipping), or {kind: global | layer, maxNorm}',
    unknown: (k, known) => `no such option${didYouMean(k, known)}; clipping has kind and maxNorm`,
  });
  if (c.kind === 'none') return { kind: 'none', maxNorm: Number.POSITIVE_INFINITY };
  if (c.maxNorm == null) throw new TrainConfigError(`${field}.maxNorm`, c.maxNorm, 'a finite number > 0');
  return { kind: c.kind, maxNorm: c.maxNorm };
}

/**
 * Clip factors per tensor from the squared gradient norms: global: min(1, c/‖g‖) with ‖g‖ over all
 * tensors; layer: min(1, c/‖g_i‖) per tensor (a tensor with ‖g_i‖ = 0 keeps factor 1).
 */
export function clipFactors(cfg: ClipConfig, gradSq: number[]): number[] {
  if (cfg.kind === 'none') return gradSq.map(() => 1);
  if (cfg.kind === 'global') {
    const total = Math.sqrt(gradSq.reduce((a, b) => a + b, 0));
    const f = total > cfg.maxNorm ? cfg.maxNorm / total : 1;
    return gradSq.map(() => f);
  }
  return gradSq.map((s) => {
    const n = Math.sqrt(s);
    return n > cfg.maxNorm ? cfg.maxNorm / n : 1;
  });
}

// ---- optimizers ---------------------------------------------------------------------------------

export interface StepResult {
  /** New parameters (the old ones are not disposed). */
  params: tf.Tensor[];
  /** Per tensor: trust ratio (lars, lamb) or clip factor (lalc) in effect; null where not adapted. */
  factors: (number | null)[];
}

/** Per-tensor squared norms, read in one transfer. */
export function sqNorms(ts: tf.Tensor[]): number[] {
  if (ts.length === 0) return [];
  const t = sumSquares(ts);
  const v = Array.from(t.dataSync());
  t.dispose();
  return v;
}

/** LARS trust ratio η‖w‖/(‖g‖ + wd‖w‖ + ε), and 1 when either norm is 0 (You et al. 2017; timm). */
export function larsTrust(wNorm: number, gNorm: number, eta: number, wd: number, eps: number): number {
  if (wNorm === 0 || gNorm === 0) return 1;
  return (eta * wNorm) / (gNorm + wd * wNorm + eps);
}

/** LAMB trust ratio ‖w‖/‖u‖ clipped to [min, max], and 1 when either norm is 0 (You et al. 2019). */
export function lambTrust(wNorm: number, uNorm: number, min: number, max: number | null): number {
  if (wNorm === 0 || uNorm === 0) return 1;
  const r = wNorm / uNorm;
  return Math.min(max ?? Number.POSITIVE_INFINITY, Math.max(min, r));
}

/**
 * LALC (our reconstruction of Paik & Choi's layer-wise asymmetric learning-rate clipping): the LARS
 * rate η‖w‖/(‖g‖ + wd‖w‖ + ε), as a fraction of the base rate, clipped to [clipLow, clipHigh] with
 * clipHigh ≤ 1, so a layer's rate can only be lowered. Factor clipHigh when either norm is 0.
 */
export function lalcFactor(wNorm: number, gNorm: number, eta: number, wd: number, eps: number, clipLow: number, clipHigh: number): number {
  if (wNorm === 0 || gNorm === 0) return clipHigh;
  const r = (eta * wNorm) / (gNorm + wd * wNorm + eps);
  return Math.min(clipHigh, Math.max(clipLow, r));
}

export class Optimizer {
  readonly cfg: OptimizerConfig;
  readonly info: ParamInfo[];
  /** Per parameter: [momentum buffer] or [m, v]; empty for sgd. */
  slots: tf.Tensor[][];

  constructor(cfg: OptimizerConfig, info: ParamInfo[]) {
    this.cfg = cfg;
    this.info = info;
    const n = cfg.kind === 'adam' || cfg.kind === 'lamb' ? 2 : cfg.kind === 'sgd' ? 0 : 1;
    this.slots = info.map((p) => Array.from({ length: n }, () => tf.zeros(p.shape)));
  }

  /** Whether tensor i is adapted (trust ratio / clip factor) by a layer-wise method. */
  adapted(i: number): boolean {
    const k = this.cfg.kind;
    if (k !== 'lars' && k !== 'lamb' && k !== 'lalc') return false;
    return !(this.cfg.excludeOneD && this.info[i].oneD);
  }

  /**
   * One update. `grads` are the (already clipped) gradients, `gradSq` their squared norms, `lr` the
   * scheduled rate, `t` the 1-based update count (Adam/LAMB bias correction).
   */
  step(params: tf.Tensor[], grads: tf.Tensor[], gradSq: number[], lr: number, t: number): StepResult {
    const c = this.cfg;
    const factors: (number | null)[] = params.map(() => null);
    const out: tf.Tensor[] = new Array(params.length);
    const decay = (i: number) =>
      c.weightDecay > 0 && !((c.kind === 'lars' || c.kind === 'lamb' || c.kind === 'lalc') && c.excludeOneD && this.info[i].oneD);
    const needW = c.kind === 'lars' || c.kind === 'lalc' || c.kind === 'lamb';
    const wSq = needW ? sqNorms(params) : [];

    if (c.kind === 'sgd') {
      for (let i = 0; i < params.length; i++) {
        out[i] = decay(i)
          ? tf.tidy(() => sgdUpdate(params[i], tf.add(grads[i], tf.mul(params[i], c.weightDecay)), lr))
          : sgdUpdate(params[i], grads[i], lr);
      }
      return { params: out, factors };
    }

    if (c.kind === 'momentum' || c.kind === 'lars' || c.kind === 'lalc') {
      for (let i = 0; i < params.length; i++) {
        let f = 1;
        if (c.kind !== 'momentum' && this.adapted(i)) {
          const wn = Math.sqrt(wSq[i]);
          const gn = Math.sqrt(gradSq[i]);
          f =
            c.kind === 'lars'
              ? larsTrust(wn, gn, c.trustCoefficient, c.weightDecay, c.eps)
              : lalcFactor(wn, gn, c.trustCoefficient, c.weightDecay, c.eps, c.clipLow, c.clipHigh);
          factors[i] = f;
        }
        const [buf, p] = tf.tidy(() => {
          let g = decay(i) ? tf.add(grads[i], tf.mul(params[i], c.weightDecay)) : grads[i];
          if (f !== 1) g = tf.mul(g, f);
          const b = tf.add(tf.mul(this.slots[i][0], c.momentum), g);
          const d = c.nesterov ? tf.add(g, tf.mul(b, c.momentum)) : b;
          return [b, tf.sub(params[i], tf.mul(d, lr))];
        });
        this.slots[i][0].dispose();
        this.slots[i][0] = buf;
        out[i] = p;
      }
      return { params: out, factors };
    }

    // adam, lamb
    const bc1 = 1 - c.beta1 ** t;
    const bc2 = 1 - c.beta2 ** t;
    const us: tf.Tensor[] = [];
    for (let i = 0; i < params.length; i++) {
      const [m, v, u] = tf.tidy(() => {
        const g = c.kind === 'adam' && decay(i) ? tf.add(grads[i], tf.mul(params[i], c.weightDecay)) : grads[i];
        const m1 = tf.add(tf.mul(this.slots[i][0], c.beta1), tf.mul(g, 1 - c.beta1));
        const v1 = tf.add(tf.mul(this.slots[i][1], c.beta2), tf.mul(tf.square(g), 1 - c.beta2));
        let u1 = tf.div(tf.div(m1, bc1), tf.add(tf.sqrt(tf.div(v1, bc2)), c.eps));
        if (c.kind === 'lamb' && decay(i)) u1 = tf.add(u1, tf.mul(params[i], c.weightDecay));
        return [m1, v1, u1];
      });
      this.slots[i][0].dispose();
      this.slots[i][1].dispose();
      this.slots[i] = [m, v];
      us.push(u);
    }
    const uSq = c.kind === 'lamb' ? sqNorms(us) : [];
    for (let i = 0; i < params.length; i++) {
      let r = 1;
      if (c.kind === 'lamb' && this.adapted(i)) {
        r = lambTrust(Math.sqrt(wSq[i]), Math.sqrt(uSq[i]), c.trustMin, c.trustMax);
        factors[i] = r;
      }
      out[i] = tf.tidy(() => tf.sub(params[i], tf.mul(us[i], lr * r)));
      us[i].dispose();
    }
    return { params: out, factors };
  }

  /** Optimizer state for checkpoints (flat, in parameter order). */
  stateTensors(): tf.Tensor[] {
    return this.slots.flat();
  }

  setState(flat: tf.Tensor[]): void {
    let k = 0;
    for (const s of this.slots) {
      for (let j = 0; j < s.length; j++) {
        s[j].dispose();
        s[j] = flat[k++];
      }
    }
  }

  dispose(): void {
    for (const s of this.slots) for (const t of s) t.dispose();
  }
}
