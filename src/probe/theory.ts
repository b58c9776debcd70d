// theoryOverlay(description): the theory of a described model (describe.ts), as records that `compare` joins
// with the probe's (source 'trained'). Alignment (docs/probe.md, "Theory on the model"): a record of block l
// carries the `layer` index of the model layer it is about (the probe's index, layerIndex below) and that
// layer's name in tags.name; compare joins on (spec, quantity, layer, step), theory's null step as step 0.
//   out_var   at block l's Dense        = the theory's preact_var (batch variance of h_l)
//   out_var, out_mean at block l's act  = postact_var, postact_mean (a block that ends with its activation)
//   grad_growth at block l's Dense      = ‖∂L/∂h_l‖² / ‖∂L/∂h_{l+1}‖², l < L, only where the probe's next
//                                         recorded layer is block l+1's Dense (its grad_growth is the ratio
//                                         over consecutive recorded layers: record only the weight layers,
//                                         probe's `include`, to get it); gradRatios below computes the block
//                                         ratio from the Dense layers' grad_out_sq whatever is recorded
//   growth (layer null)                 = the interior rate (λ(B) for the BatchNorm presets)
import * as tf from '@tensorflow/tfjs';
import { activationOf, type NetworkSpec, type SpecFields, specFields } from '../network/index.js';
import { type Quantity, record, type SPRecord } from '../records/index.js';
import { correlationAwareRate, type Prediction, predict } from '../theory/index.js';
import type { Description, ModelLayerMap } from './describe.js';

export interface OverlayOptions {
  /** The input's per-coordinate second moment E[x²] (the theory's q of the input); default 1. */
  inputVar?: number;
  /** Its cross-sample correlation E[x_a·x_b]/E[x²], a ≠ b, in [0, 1); default 0. */
  inputCorr?: number;
  /**
   * The probe's recorded layers (prober.layers(): record `layer` and the model's name), which give each
   * model layer its `layer` index; default: every non-input layer, 1-based (the probe's default).
   */
  probed?: readonly { layer: number; name: string }[];
  /** Spec fields for the records (default: the description's spec), so that they share the probe's specId. */
  fields?: SpecFields;
  tags?: Record<string, string | number | boolean | null>;
}

/** One block of the described net: its model layers and the indices the overlay gives them. */
export interface OverlayBlock {
  block: number;
  dense: string;
  denseIndex: number | null;
  act: string | null;
  actIndex: number | null;
}

export interface Overlay {
  records: SPRecord[];
  notes: string[];
  /** The interior growth per block (the prediction's predictedGrowth), or null without theory. */
  growth: number | null;
  blocks: OverlayBlock[];
  prediction: Prediction | null;
}

/** Default layer index: 1-based position among the model's layers that are not an InputLayer. */
export function defaultLayerIndex(map: readonly ModelLayerMap[]): (name: string) => number | null {
  const names = map.filter((m) => m.className !== 'InputLayer').map((m) => m.modelLayer);
  return (n) => {
    const i = names.indexOf(n);
    return i < 0 ? null : i + 1;
  };
}

/** The blocks of a description: block l's Dense and, where the block ends with an activation, that layer. */
export function blocksOfDescription(d: Description, layerIndex = defaultLayerIndex(d.map)): OverlayBlock[] {
  const out: OverlayBlock[] = [];
  for (const m of d.map) {
    if (m.block === null) continue;
    if (m.kind === 'dense' || m.kind === 'conv2d') {
      // a fused activation ends the block at the Dense's own output (after φ): no separate act layer
      out.push({ block: m.block, dense: m.modelLayer, denseIndex: layerIndex(m.modelLayer), act: null, actIndex: null });
    }
  }
  for (const b of out) {
    const inBlock = d.map.filter((m) => m.block === b.block && m.kind !== 'identity');
    const last = inBlock[inBlock.length - 1];
    if (last && last.kind === 'act') {
      b.act = last.modelLayer;
      b.actIndex = layerIndex(last.modelLayer);
    }
  }
  return out;
}

/** The input moments of a batch x (n rows of dim): q = E[x²] per coordinate and ρ = mean_{a≠b} ⟨x_a, x_b⟩/(dim·q). */
export function inputMoments(x: ArrayLike<number>, n: number, dim: number): { inputVar: number; inputCorr: number } {
  let q = 0;
  const s = new Float64Array(dim);
  for (let a = 0; a < n; a++) {
    for (let j = 0; j < dim; j++) {
      const v = x[a * dim + j];
      q += v * v;
      s[j] += v;
    }
  }
  // Σ_{a≠b} ⟨x_a, x_b⟩ = ‖Σ_a x_a‖² − Σ_a ‖x_a‖²
  let ss = 0;
  for (let j = 0; j < dim; j++) ss += s[j] * s[j];
  const cross = n > 1 ? (ss - q) / (n * (n - 1) * dim) : 0;
  const qm = q / (n * dim);
  return { inputVar: qm, inputCorr: qm > 0 ? Math.min(Math.max(cross / qm, 0), 0.999999) : 0 };
}

/** The theory records of a described model, aligned with the probe's (see the file's head). */
export function theoryOverlay(d: Description, options: OverlayOptions = {}): Overlay {
  const notes: string[] = [];
  const index = options.probed ? (n: string) => options.probed!.find((p) => p.name === n)?.layer ?? null : defaultLayerIndex(d.map);
  const blocks = blocksOfDescription(d, index);
  if (!d.spec) {
    notes.push('no theory overlay: the model has a layer without theory (the description notes say which)');
    return { records: [], notes, growth: null, blocks, prediction: null };
  }
  const spec: NetworkSpec = d.spec;
  const inputVar = (options.inputVar ?? 1) * d.inputScale;
  let p: Prediction;
  try {
    p = predict(spec, { inputVar, inputCorr: options.inputCorr ?? 0 });
  } catch (e) {
    notes.push(`no theory overlay: predict refused the described net: ${(e as Error).message}`);
    return { records: [], notes, growth: null, blocks, prediction: null };
  }
  notes.push(...p.notes);
  const L = blocks.length;
  if (L > 1 && blocks.some((b, i) => i + 1 < L && (b.denseIndex === null || blocks[i + 1].denseIndex !== b.denseIndex + 1)))
    notes.push(
      "grad_growth theory is written only where the probe's next recorded layer is the next block's Dense (record the weight layers only to compare it; gradRatios computes the block ratio from grad_out_sq)",
    );
  const fields = options.fields ?? specFields(spec);
  const extra = options.tags ?? {};
  const out: SPRecord[] = [];
  const at = (q: string, l: number) => p.records.find((r) => r.quantity === q && r.layer === l);
  const put = (quantity: Quantity, index: number | null, name: string, block: number, value: number | undefined) => {
    if (index === null || value === undefined || !Number.isFinite(value)) return;
    out.push(record(fields, 'theory', quantity, index, value, { tags: { ...extra, name, block } }));
  };
  for (const b of blocks) {
    const l = b.block;
    put('out_var', b.denseIndex, b.dense, l, at('preact_var', l)?.value);
    const next = blocks[l];
    if (l < L && b.denseIndex !== null && next.denseIndex === b.denseIndex + 1)
      put('grad_growth', b.denseIndex, b.dense, l, at('grad_growth', l)?.value);
    if (b.act) {
      put('out_var', b.actIndex, b.act, l, at('postact_var', l)?.value);
      put('out_mean', b.actIndex, b.act, l, at('postact_mean', l)?.value);
    }
  }
  if (Number.isFinite(p.predictedGrowth)) out.push(record(fields, 'theory', 'growth', null, p.predictedGrowth, { tags: { ...extra } }));
  return { records: out, notes, growth: Number.isFinite(p.predictedGrowth) ? p.predictedGrowth : null, blocks, prediction: p };
}

/**
 * The measured counterpart of the overlay's grad_growth: per step, for block l < L,
 * grad_out_sq(block l's Dense) / grad_out_sq(block l+1's Dense), read from probe records (tags.name).
 * Returns Map<step, (number | null)[]> indexed by block − 1.
 */
export function gradRatios(records: readonly SPRecord[], blocks: readonly OverlayBlock[]): Map<number, (number | null)[]> {
  const byStep = new Map<number, Map<string, number>>();
  for (const r of records) {
    if (r.quantity !== 'grad_out_sq' || r.step === null || typeof r.tags?.name !== 'string') continue;
    let m = byStep.get(r.step);
    if (!m) byStep.set(r.step, (m = new Map()));
    m.set(r.tags.name, r.value);
  }
  const out = new Map<number, (number | null)[]>();
  for (const [step, m] of [...byStep].sort((a, b) => a[0] - b[0])) {
    out.set(
      step,
      blocks.slice(0, -1).map((b, i) => {
        const a = m.get(b.dense);
        const c = m.get(blocks[i + 1].dense);
        return a !== undefined && c !== undefined && c > 0 ? a / c : null;
      }),
    );
  }
  return out;
}

/**
 * The gradient-independence reconstruction of each block's ratio during training (`gia_growth`, as the
 * trainer records it for its own nets: src/train/trainer.ts, src/theory/correlation.ts), for a model
 * described as dense → BN → φ blocks (the preset linear-bn-act). At the current weights, on the batch x:
 * a forward of the blocks in training mode computed here (h_l = x_l K_l + b_l, the BN with the batch's
 * biased moments and the layer's current γ, β, then the act layer), never through the BN layers (their
 * moving statistics stay untouched); per block l < L: preVar_j = Var_b h_l,j + ε, colNormSq_j = ‖K_{l+1}[j, :]‖²
 * (column j of W_{l+1} = K_{l+1}ᵀ), prevRowNormSq_j = ‖K_l[:, j]‖², E φ′(z_l)² and n_{l+1}; γ, β of the
 * described spec, as the trainer passes its spec's. A labelled approximation, not a prediction
 * (tags.assumption 'gradient-independence'; docs/training.md). Source 'trained': it is made of measurements.
 * Returns [] (and a note) where the description is not that preset.
 */
export function giaRecords(
  model: tf.LayersModel,
  d: Description,
  x: tf.Tensor,
  step: number,
  options: {
    probed?: readonly { layer: number; name: string }[];
    fields?: SpecFields;
    tags?: OverlayOptions['tags'];
    seed?: number | null;
  } = {},
): { records: SPRecord[]; notes: string[]; preVarMean: number[] } {
  if (d.spec?.order !== 'linear-bn-act')
    return { records: [], notes: ['no gia_growth: the model is not described as dense → BN → φ blocks (linear-bn-act)'], preVarMean: [] };
  const index = options.probed ? (n: string) => options.probed!.find((p) => p.name === n)?.layer ?? null : defaultLayerIndex(d.map);
  const blocks = d.map.filter((m) => m.block !== null && m.kind !== 'identity');
  const L = d.spec.depth;
  const byBlock = Array.from({ length: L }, (_, l) => blocks.filter((m) => m.block === l + 1));
  const eps = d.spec.bn.eps;
  const phi = activationOf(d.spec);
  const fields = options.fields ?? specFields(d.spec);
  const stats: { preVar: tf.Tensor1D; dphi2: tf.Scalar; col: tf.Tensor1D; row: tf.Tensor1D }[] = tf.tidy(() => {
    let cur = x as tf.Tensor2D;
    const out: { preVar: tf.Tensor1D; dphi2: tf.Scalar; col: tf.Tensor1D; row: tf.Tensor1D }[] = [];
    const kernels = byBlock.map((b) => model.getLayer(b[0].modelLayer).getWeights());
    for (let l = 0; l < L; l++) {
      const [, bnM, actM] = byBlock[l];
      const [K, bias] = kernels[l];
      let h = tf.matMul(cur, K as tf.Tensor2D);
      if (bias && bias.rank === 1) h = tf.add(h, bias);
      const { mean, variance } = tf.moments(h, 0);
      const bnLayer = model.getLayer(bnM.modelLayer);
      const cfg = bnLayer.getConfig() as { scale?: boolean; center?: boolean };
      const w = bnLayer.getWeights();
      let k = 0;
      const gamma = cfg.scale === false ? null : w[k++];
      const beta = cfg.center === false ? null : w[k++];
      let z = tf.div(tf.sub(h, mean), tf.sqrt(tf.add(variance, eps)));
      if (gamma) z = tf.mul(z, gamma);
      if (beta) z = tf.add(z, beta);
      const act = model.getLayer(actM.modelLayer);
      const f = (t: tf.Tensor) => act.apply(t) as tf.Tensor;
      const dz = tf.grad((t: tf.Tensor) => tf.sum(f(t)))(z);
      const next = l + 1 < L ? (kernels[l + 1][0] as tf.Tensor2D) : null;
      out.push({
        preVar: tf.add(variance, eps) as tf.Tensor1D,
        dphi2: tf.mean(tf.square(dz)) as tf.Scalar,
        col: next ? (tf.sum(tf.square(next), 1) as tf.Tensor1D) : tf.zeros([0]),
        row: tf.sum(tf.square(K), 0) as tf.Tensor1D,
      });
      cur = f(z) as tf.Tensor2D;
    }
    return out as unknown as tf.TensorContainer;
  }) as never;
  const records: SPRecord[] = [];
  const notes: string[] = [];
  const preVarMean: number[] = [];
  const extra = options.tags ?? {};
  for (let l = 0; l < L; l++) {
    const s = stats[l];
    const pv = s.preVar.dataSync() as Float32Array;
    preVarMean.push(pv.reduce((a, b) => a + b, 0) / pv.length - eps);
    if (l + 1 >= L) continue;
    const name = byBlock[l][0].modelLayer;
    const li = index(name);
    if (li === null) continue;
    try {
      const r = correlationAwareRate(
        {
          preVar: pv,
          colNormSq: s.col.dataSync() as Float32Array,
          dphiSqMean: s.dphi2.dataSync()[0],
          nCur: model.getLayer(byBlock[l + 1][0].modelLayer).getWeights()[0].shape[1] as number,
          prevRowNormSq: s.row.dataSync() as Float32Array,
        },
        phi,
        d.spec.bn,
      );
      const tags = {
        ...extra,
        name,
        block: l + 1,
        assumption: 'gradient-independence',
        lambdaInf: r.lambdaInf,
        omegaW: r.omegaW,
        aCorr: r.aCorr,
      };
      records.push(record(fields, 'trained', 'gia_growth', li, r.rate, { step, seed: options.seed ?? null, tags }));
    } catch (e) {
      notes.push(`no gia_growth at block ${l + 1}, step ${step}: ${(e as Error).message}`);
    }
  }
  for (const s of stats) tf.dispose([s.preVar, s.dphi2, s.row, s.col]);
  return { records, notes, preVarMean };
}
