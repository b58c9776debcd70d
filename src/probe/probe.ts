// probe(model, options): signalprop's per-layer probes on a user's own tf.LayersModel, trained with
// model.fit (the callback) or with the user's own loop (step). The probe's forward and backward are its
// own, on a probe batch at θ_t, applied layer by layer (`layer.apply(x, {training: true})`) with an
// identity hook on each recorded output that reads ∂L/∂y_l in the backward; they never touch the step's
// tensors. The one side effect of a training-mode forward in tfjs, the BatchNormalization moving
// mean/variance update (every non-trainable weight, in general), is undone: the values are restored
// (same data, same bits) before the step runs. So the weights after N steps are the same bits with and
// without probes (test/probe/probe.test.ts).
import * as tf from '@tensorflow/tfjs';
import { InputError } from '../network/index.js';
import type { SPRecord } from '../records/index.js';
import { lossTensor } from '../train/index.js';
import { minimizeStep, snapshot, updateStats, type WeightGroup, weightRecords } from './loop.js';
import { type ProbeContext, type ProbeOptions, probeContext } from './options.js';
import { outputStatsHost } from './stats.js';

export interface Prober {
  /**
   * A model.fit callback. On a probed step t, at onBatchBegin (θ_t, the weights before step t's update) the
   * probe runs its own forward/backward on `probeBatch` (gradient and output statistics); at onBatchEnd it
   * records the update θ_{t+1} − θ_t of the real step and fit's loss of the real batch (every step).
   */
  callback(probeBatch: { x: tf.Tensor; y: tf.Tensor }): tf.CustomCallback;
  /**
   * A custom loop's step: loss and gradients of `lossFn` over the model's trainable weights, applied with
   * `optimizer` (the arithmetic of optimizer.minimize(lossFn, false, those weights)). On a probed step:
   * grad_w_* from these gradients, the update from this step, and, when `batch` is given, the output and
   * ∂L/∂y_l statistics of the probe's own forward/backward on it at θ_t. Returns the loss.
   */
  step(lossFn: () => tf.Scalar, optimizer: tf.Optimizer, batch?: { x: tf.Tensor; y: tf.Tensor }): number;
  /** Every record so far (source 'trained'). */
  records(): SPRecord[];
  /** Why a layer lacks a statistic, and what the probe cannot see. */
  notes(): string[];
  /** The recorded layers: record `layer` (1-based), the model's layer name and class, its weight matrix. */
  layers(): ProbedLayer[];
  /** Releases what the probe holds (a snapshot of an interrupted fit step). */
  dispose(): void;
}

/** One recorded layer. */
export interface ProbedLayer {
  /** The records' `layer`: 1-based over the recorded layers, in model.layers order. */
  layer: number;
  /** Index into model.layers (0-based). */
  index: number;
  /** tags.name: the model's layer name. */
  name: string;
  /** tags.kind: the layer's class name (Dense, BatchNormalization, ReLU, …). */
  kind: string;
  /** The weight matrix whose statistics are recorded (its first trainable weight with ≥ 2 axes), or null. */
  weight: string | null;
}

interface Site extends ProbedLayer {
  tfLayer: tf.layers.Layer;
  group: WeightGroup | null;
}

/** One probe forward/backward's numbers, per site. */
interface Measurement {
  gradOutSq: (number | null)[];
  outMean: number[];
  outVar: number[];
  unitCorr: number[];
  /** ‖∂L/∂W‖² on the probe batch (null where not computed). */
  gradWSq: (number | null)[];
  /** Whether the output was a single tensor (statistics defined). */
  single: boolean[];
}

/** What the hooks of one forward/backward hold: per site, its output (a kept clone) and ‖∂L/∂y‖². */
interface Captured {
  outs: (tf.Tensor | undefined)[];
  gsq: (tf.Scalar | undefined)[];
}

const emptyCaptured = (n: number): Captured => ({ outs: new Array(n), gsq: new Array(n) });

function disposeCaptured(c: Captured): void {
  tf.dispose([...c.outs.filter((o): o is tf.Tensor => !!o), ...c.gsq.filter((g): g is tf.Scalar => !!g)]);
  c.outs.fill(undefined);
  c.gsq.fill(undefined);
}

const arraysEqual = (a: readonly number[], b: readonly number[]) => a.length === b.length && a.every((v, i) => v === b[i]);

/** The same tensor, or the same dtype, shape and values. */
function sameTensor(a: tf.Tensor, b: tf.Tensor): boolean {
  if (a === b || a.dataId === b.dataId) return true;
  if (a.dtype !== b.dtype) return false;
  if (!arraysEqual(a.shape, b.shape)) return false;
  const u = a.dataSync();
  const v = b.dataSync();
  for (let i = 0; i < u.length; i++) if (!Object.is(u[i], v[i])) return false;
  return true;
}

/** A probed fit step between onBatchBegin and onBatchEnd: the snapshot θ_t, the measurement once taken, the hooks' undo while installed. */
interface Pending {
  prev: tf.Tensor[][];
  meas: Measurement | null;
  undo: (() => void) | null;
}

const RANDOM_LAYERS = new Set(['Dropout', 'AlphaDropout', 'GaussianDropout', 'GaussianNoise', 'SpatialDropout1D']);

const toList = <T>(v: T | T[]): T[] => (Array.isArray(v) ? v : [v]);

type SymbolicTensor = tf.SymbolicTensor;

class ModelProber implements Prober {
  private readonly model: tf.LayersModel;
  private readonly options: ProbeOptions;
  private readonly ctx: ProbeContext;
  private readonly sites: Site[];
  private readonly siteAt = new Map<number, Site>();
  private readonly groups: WeightGroup[];
  private readonly varList: tf.Variable[];
  private readonly out: SPRecord[] = [];
  private t = 0;
  private pending: Pending | null = null;
  /** Whether a recorded layer has a regularizer (fit's gradients then are not the data loss's alone). */
  private regularized = false;

  constructor(model: tf.LayersModel, options: ProbeOptions) {
    if (!(model instanceof tf.LayersModel)) throw new InputError('model', typeof model, 'a tf.LayersModel (tf.sequential or tf.model)');
    this.model = model;
    this.options = options;
    if (model.inputs.length !== 1 || model.outputs.length !== 1)
      throw new InputError(
        'model',
        `${model.inputs.length} inputs, ${model.outputs.length} outputs`,
        'a model with one input and one output (the probe feeds probeBatch.x and compares probeBatch.y)',
      );
    const include = options?.include;
    this.sites = [];
    for (const [index, layer] of model.layers.entries()) {
      if (layer.getClassName() === 'InputLayer') continue;
      if (layer.inboundNodes.length !== 1)
        throw new InputError(
          `model.layers[${index}]`,
          `${layer.name} (${layer.getClassName()}), called ${layer.inboundNodes.length} times`,
          'layers called once each (shared layers and nested models are not supported yet)',
        );
      if (include && !include(layer, index)) continue;
      const w = layer.trainable ? layer.trainableWeights.find((v) => v.shape.length >= 2) : undefined;
      const site: Site = {
        layer: this.sites.length + 1,
        index,
        name: layer.name,
        kind: layer.getClassName(),
        weight: w ? w.name : null,
        tfLayer: layer,
        group: null,
      };
      if (w) site.group = { name: layer.name, kind: site.kind, variables: [w.read() as tf.Variable], layer: site.layer };
      this.sites.push(site);
      this.siteAt.set(index, site);
    }
    this.groups = this.sites.flatMap((s) => (s.group ? [s.group] : []));
    this.varList = model.trainableWeights.map((w) => w.read() as tf.Variable);
    const widths = this.groups.map((g) => {
      const sh = g.variables[0].shape;
      return sh[sh.length - 1];
    });
    this.ctx = probeContext(options, { depth: this.groups.length, width: Math.max(1, ...widths), name: model.name });
    for (const s of this.sites) {
      const l = s.tfLayer as unknown as Record<string, unknown>;
      if (RANDOM_LAYERS.has(s.kind))
        this.ctx.note(
          `layer ${s.layer} (${s.name}, ${s.kind}) draws random numbers in training mode: the probe's forward draws its own, so its statistics are of other draws than the step's, and (tfjs seeds unseeded draws from Math.random) later unseeded draws differ from an unprobed run's`,
        );
      if (l.kernelRegularizer || l.biasRegularizer || l.activityRegularizer) this.regularized = true;
      if (l.kernelRegularizer || l.biasRegularizer || l.activityRegularizer)
        this.ctx.note(`layer ${s.layer} (${s.name}) has a regularizer: the probe's own gradients are of the data loss only`);
    }
  }

  layers(): ProbedLayer[] {
    return this.sites.map(({ layer, index, name, kind, weight }) => ({ layer, index, name, kind, weight }));
  }

  /** The loss of the probe's own forward (options.loss, or the model's compiled loss). */
  private lossFn(): (yTrue: tf.Tensor, yPred: tf.Tensor) => tf.Scalar {
    const l = this.options.loss;
    if (l === 'cross-entropy' || l === 'mse') {
      const kind = l === 'mse' ? 'mse' : 'xent';
      return (yt, yp) =>
        lossTensor(kind, tf.reshape(yp, [yp.shape[0], -1]) as tf.Tensor2D, {
          t: tf.reshape(yt, [yt.shape[0], -1]) as tf.Tensor2D,
          labels: null,
        });
    }
    if (typeof l === 'function')
      return (yt, yp) => {
        const r = l(yt, yp);
        return (r.rank === 0 ? r : tf.mean(r)) as tf.Scalar;
      };
    // the compiled loss, mean over the batch, as model.fit's training function computes it (tfjs-layers training.ts);
    // a Sequential keeps it on its inner functional model
    const m = this.model as unknown as { lossFunctions?: unknown[]; model?: { lossFunctions?: unknown[] } };
    const fns = (m.lossFunctions ?? m.model?.lossFunctions) as ((a: tf.Tensor, b: tf.Tensor) => tf.Tensor)[] | undefined;
    if (fns?.length !== 1 || !fns)
      throw new InputError(
        'loss',
        l,
        "'cross-entropy', 'mse' or a function (yTrue, yPred) => tf.Scalar: the model is not compiled with a loss",
      );
    const f = fns[0];
    return (yt, yp) => tf.mean(f(yt, yp)) as tf.Scalar;
  }

  /** The model's forward in training mode, layer by layer, `hook` applied to each recorded layer's output. */
  private forward(x: tf.Tensor, hook: (s: Site, y: tf.Tensor) => tf.Tensor): tf.Tensor {
    const val = new Map<number, tf.Tensor>();
    val.set(this.model.inputs[0].id, x);
    for (const [index, layer] of this.model.layers.entries()) {
      if (layer.getClassName() === 'InputLayer') continue;
      const ins = toList(layer.input as SymbolicTensor | SymbolicTensor[]);
      const args = ins.map((s) => {
        const v = val.get(s.id);
        if (!v) throw new Error(`probe: layer ${layer.name}'s input ${s.name} was not computed (is the model a DAG of its layers?)`);
        return v;
      });
      const res = layer.apply(args.length === 1 ? args[0] : args, { training: true }) as tf.Tensor | tf.Tensor[];
      const outs = toList(res);
      const site = this.siteAt.get(index);
      if (site && outs.length === 1) outs[0] = hook(site, outs[0]);
      const syms = toList(layer.output as SymbolicTensor | SymbolicTensor[]);
      syms.forEach((s, k) => {
        val.set(s.id, outs[k]);
      });
    }
    const y = val.get(this.model.outputs[0].id);
    if (!y) throw new Error('probe: the model output was not computed');
    return y;
  }

  /**
   * The identity hook of site i on an output: keeps a clone of the output (the same data, no copy: a layer
   * may hand back its input itself, the user's x, which must not be disposed here) in `cap.outs[i]` and,
   * in the backward, ‖∂L/∂y_i‖² in `cap.gsq[i]`; the value and the gradient pass through unchanged (clones).
   */
  private hookInto(cap: Captured, i: number, out: tf.Tensor): tf.Tensor {
    cap.outs[i] = tf.keep(tf.clone(out));
    const f = tf.customGrad(((v: tf.Tensor) => ({
      value: tf.clone(v),
      gradFunc: (dy: tf.Tensor | tf.Tensor[]) => {
        const d = dy as tf.Tensor;
        cap.gsq[i] = tf.keep(tf.sum(tf.square(d)) as tf.Scalar);
        return tf.clone(d);
      },
    })) as any);
    return f(out) as tf.Tensor;
  }

  /**
   * One probe forward/backward on (x, y) at the current weights: each recorded layer's output statistics
   * and ‖∂L/∂y_l‖², and ‖∂L/∂W‖² when `withWeights`. Non-trainable weights (BN moving statistics) are
   * restored to their values before the call.
   */
  private measure(x: tf.Tensor, y: tf.Tensor, withWeights: boolean): Measurement {
    const n = this.sites.length;
    const lossOf = this.lossFn();
    const nonTrainable = this.model.nonTrainableWeights;
    const saved = nonTrainable.map((w) => tf.keep(tf.clone(w.read())));
    const cap = emptyCaptured(n);
    const sitePos = new Map(this.sites.map((s, i) => [s, i]));
    let value: tf.Scalar | null = null;
    let grads: (tf.Tensor | null)[] = [];
    // gradients reach every layer downstream of a float input; an integer input (token ids) has none, so
    // the weights stand in as the sources of the gradient paths there
    const xIn = x.dtype === 'float32' ? [x] : [];
    const wSites = withWeights || xIn.length === 0 ? this.sites.filter((s) => s.group) : [];
    try {
      const hook = (s: Site, out: tf.Tensor): tf.Tensor => this.hookInto(cap, sitePos.get(s)!, out);
      const res = tf
        .engine()
        .gradients(() => lossOf(y, this.forward(x, hook)), [...xIn, ...wSites.map((s) => s.group!.variables[0])], undefined, true);
      value = res.value;
      grads = res.grads;
    } catch (e) {
      disposeCaptured(cap);
      throw e;
    } finally {
      nonTrainable.forEach((w, i) => {
        w.write(saved[i]);
      });
      tf.dispose(saved);
    }
    const gw: (tf.Tensor | null)[] = new Array(n).fill(null);
    wSites.forEach((s, k) => {
      gw[sitePos.get(s)!] = grads[xIn.length + k];
    });
    const m = this.measurement(cap, gw);
    tf.dispose([value!, ...grads.filter((g): g is tf.Tensor => g !== null)]);
    return m;
  }

  /**
   * The Measurement of captured outputs and gradients (disposes the captures): ‖∂L/∂y‖² and ‖∂L/∂W‖² as
   * device scalars in one dataSync; each output's out_mean, out_var and unit_corr on the host
   * (columnStatsHost: one Gram matMul per output, float64 sums) from its values as the [N, C] rows × units.
   */
  private measurement(cap: Captured, gw: (tf.Tensor | null)[]): Measurement {
    const n = this.sites.length;
    const { outs, gsq } = cap;
    const NaN1 = Number.NaN;
    const flat = tf.tidy(() => {
      const parts: tf.Tensor[] = [];
      for (let i = 0; i < n; i++) {
        parts.push(tf.reshape(gsq[i] ?? tf.scalar(NaN1), [1]));
        const g = gw[i];
        parts.push(tf.reshape(g ? tf.sum(tf.square(g)) : tf.scalar(NaN1), [1]));
      }
      return parts.length ? tf.concat(parts) : tf.zeros([0]);
    });
    const v = flat.dataSync();
    flat.dispose();
    const single = outs.map((o) => o !== undefined);
    const had = gsq.map((g) => g !== undefined);
    const hadW = gw.map((g) => g !== null);
    const m: Measurement = { gradOutSq: [], outMean: [], outVar: [], unitCorr: [], gradWSq: [], single };
    for (let i = 0; i < n; i++) {
      const o = outs[i];
      const st = o ? outputStatsHost(o) : { mean: NaN1, variance: NaN1, unitCorr: NaN1 };
      m.outMean.push(st.mean);
      m.outVar.push(st.variance);
      m.unitCorr.push(st.unitCorr);
      m.gradOutSq.push(had[i] ? v[2 * i] : null);
      m.gradWSq.push(hadW[i] ? v[2 * i + 1] : null);
      const s = this.sites[i];
      if (!single[i]) this.ctx.note(`layer ${s.layer} (${s.name}, ${s.kind}) has several outputs: no output statistics`);
      else if (!had[i])
        this.ctx.note(`layer ${s.layer} (${s.name}, ${s.kind}): no gradient reaches its output from the probe's input: no grad_out_sq`);
    }
    disposeCaptured(cap);
    return m;
  }

  /** The records of probed step t. */
  private emit(t: number, meas: Measurement | null, gradWSq: (number | null)[], upd: { weightSq: number; updateSq: number }[]): void {
    const ctx = this.ctx;
    const out = this.out;
    let gi = 0;
    for (const [i, s] of this.sites.entries()) {
      const tags = { name: s.name, kind: s.kind };
      if (meas?.single[i]) {
        const g = meas.gradOutSq[i];
        if (g !== null) out.push(ctx.rec('grad_out_sq', s.layer, g, t, tags));
        out.push(ctx.rec('out_mean', s.layer, meas.outMean[i], t, tags));
        out.push(ctx.rec('out_var', s.layer, meas.outVar[i], t, tags));
        const lastDim = s.tfLayer.outputShape as number[];
        if (Number.isNaN(meas.unitCorr[i]) && Array.isArray(lastDim) && lastDim[lastDim.length - 1] === 1)
          ctx.note(`layer ${s.layer} (${s.name}, ${s.kind}) has one unit: no unit_corr`);
        else out.push(ctx.rec('unit_corr', s.layer, meas.unitCorr[i], t, tags));
      }
      if (s.group) {
        out.push(...weightRecords(ctx, s.group, t, gradWSq[gi], upd[gi]));
        gi++;
      }
    }
    // the per-layer ratio over the recorded chain: grad_out_sq_l / grad_out_sq_{l+1}
    if (meas)
      for (let i = 0; i + 1 < this.sites.length; i++) {
        const a = meas.gradOutSq[i];
        const b = meas.gradOutSq[i + 1];
        if (a === null || b === null) continue;
        const s = this.sites[i];
        out.push(ctx.rec('grad_growth', s.layer, a / b, t, { name: s.name, kind: s.kind, next: this.sites[i + 1].name }));
      }
  }

  callback(probeBatch: { x: tf.Tensor; y: tf.Tensor }): tf.CustomCallback {
    if (!probeBatch || !(probeBatch.x instanceof tf.Tensor) || !(probeBatch.y instanceof tf.Tensor))
      throw new InputError('probeBatch', probeBatch, 'an object {x: tf.Tensor, y: tf.Tensor} (a batch of inputs and targets)');
    this.lossFn(); // a model without a loss fails here, before fit starts
    const { x, y } = probeBatch;
    return new tf.CustomCallback({
      onBatchBegin: async () => {
        if (!this.ctx.schedule.active(this.t)) return;
        this.ctx.setBatch(x.shape[0]);
        const prev = snapshot(this.groups);
        // fit's own forward/backward, hooked, stands in for the probe's on probeBatch where it is the same
        // computation: checked when fit hands its gradients to the optimizer (the weights still θ_t); else the
        // probe's own pass on probeBatch runs there, at θ_t, as before
        const opt = this.model.optimizer as tf.Optimizer | undefined;
        if (!opt || typeof opt.applyGradients !== 'function' || this.options.reuseStep === false) {
          try {
            this.pending = { prev, meas: this.measure(x, y, true), undo: null };
          } catch (e) {
            for (const p of prev) tf.dispose(p);
            throw e;
          }
          return;
        }
        const tap = this.stepTap();
        const undoLayers = tap.install();
        const own = Object.hasOwn(opt, 'applyGradients');
        const orig = opt.applyGradients;
        const undo = () => {
          undoLayers();
          if (own) (opt as { applyGradients: unknown }).applyGradients = orig;
          else delete (opt as { applyGradients?: unknown }).applyGradients;
        };
        const pending: Pending = { prev, meas: null, undo };
        this.pending = pending;
        (opt as { applyGradients: unknown }).applyGradients = (grads: tf.NamedTensorMap | { name: string; tensor: tf.Tensor }[]) => {
          undo();
          pending.undo = null;
          const named: tf.NamedTensorMap = Array.isArray(grads) ? Object.fromEntries(grads.map((g) => [g.name, g.tensor])) : grads;
          let meas = tap.measurement({ x, y }, named);
          if (!meas) {
            this.ctx.note(
              "callback: fit's forward/backward is not the probe's pass on probeBatch (another batch, loss weights or a regularizer): the probe ran its own forward/backward on probeBatch",
            );
            meas = this.measure(x, y, true);
          }
          pending.meas = meas;
          return orig.call(opt, grads);
        };
      },
      onBatchEnd: async (_batch, logs) => {
        const t = this.t;
        const loss = logs?.loss;
        if (typeof loss === 'number') this.out.push(this.ctx.rec('loss', null, loss, t));
        else this.ctx.note("fit's logs have no loss: no loss records");
        const p = this.pending;
        this.pending = null;
        if (p?.undo) p.undo();
        if (p && !p.meas) {
          this.ctx.note("callback: fit's step did not reach the optimizer: no probes at that step");
          for (const q of p.prev) tf.dispose(q);
        } else if (p?.meas)
          this.emit(
            t,
            p.meas,
            p.meas.gradWSq.filter((_, i) => this.sites[i].group),
            updateStats(this.groups, p.prev),
          );
        this.t++;
      },
    });
  }

  step(lossFn: () => tf.Scalar, optimizer: tf.Optimizer, batch?: { x: tf.Tensor; y: tf.Tensor }): number {
    if (typeof lossFn !== 'function') throw new InputError('lossFn', lossFn, 'a function () => tf.Scalar');
    if (!optimizer || typeof (optimizer as tf.Optimizer).applyGradients !== 'function')
      throw new InputError('optimizer', optimizer, 'a tf.Optimizer (tf.train.sgd(lr), tf.train.adam(), …)');
    const t = this.t;
    const active = this.ctx.schedule.active(t);
    let meas: Measurement | null = null;
    let prev: tf.Tensor[][] | null = null;
    let run = lossFn;
    let beforeApply: (() => void) | undefined;
    if (active) {
      prev = snapshot(this.groups);
      if (batch) {
        this.ctx.setBatch(batch.x.shape[0]);
        // the step's own forward/backward, hooked, stands in for the probe's on `batch` where it is the same
        // computation (checked after the gradients, before the update); else the probe's own pass at θ_t
        if (this.options.reuseStep === false) meas = this.measure(batch.x, batch.y, false);
        else {
          const tap = this.stepTap();
          run = () => tap.during(lossFn);
          beforeApply = () => {
            meas = tap.measurement(batch);
            if (meas) return;
            this.ctx.note(
              "step(): lossFn's forward/backward is not the probe's pass on batch (another input, another loss or targets, a layer run twice or out of training mode): the probe ran its own forward/backward on batch",
            );
            meas = this.measure(batch.x, batch.y, false);
          };
        }
      } else this.ctx.note('step() without a batch: no output statistics, grad_out_sq or grad_growth (pass {x, y} to get them)');
    }
    let res: ReturnType<typeof minimizeStep>;
    try {
      res = minimizeStep(run, optimizer, this.varList, active ? this.groups : null, beforeApply);
    } catch (e) {
      if (prev) for (const p of prev) tf.dispose(p);
      throw e;
    }
    const { loss, gradSq } = res;
    this.out.push(this.ctx.rec('loss', null, loss, t));
    if (prev) this.emit(t, meas, gradSq!, updateStats(this.groups, prev));
    this.t++;
    return loss;
  }

  /**
   * Hooks for the step's own forward/backward: `during(lossFn)` runs lossFn with each recorded layer's
   * `apply` wrapped (the site hook on its output, as in the probe's forward; the model output's value and
   * ∂L/∂ŷ kept too). `measurement(batch)` then gives the probe's Measurement of `batch` from what the step
   * computed, or null (captures released) where the step's pass is not the probe's pass on `batch` at θ_t:
   *   – every recorded layer ran exactly once, in training mode, on concrete tensors;
   *   – the model's input was batch.x (the same tensor, or the same shape and values);
   *   – the step's ∂L/∂ŷ at the model output equals the probe loss's ∂L_probe/∂ŷ(batch.y, ŷ) on the step's
   *     own ŷ to float32 rounding (max |difference| ≤ 1e-5 · max |∂L_probe/∂ŷ|; a different loss, other
   *     targets or an extra output term differ far more), so every ∂L/∂y_l below is the probe loss's;
   *   – every recorded single-output layer received a gradient (the probe's pass, with x as a source, reaches
   *     them all; the step's, from the weights, misses layers before the first weight).
   * The values are then those of the probe's own pass on batch: the same layers applied to the same tensors
   * at the same weights with the same output gradient.
   */
  private stepTap(): {
    install: () => () => void;
    during: (f: () => tf.Scalar) => tf.Scalar;
    measurement: (batch: { x: tf.Tensor; y: tf.Tensor }, stepGrads?: tf.NamedTensorMap) => Measurement | null;
  } {
    const n = this.sites.length;
    const cap = emptyCaptured(n);
    const calls = new Array<number>(n).fill(0);
    let bad = false;
    let seenInput: tf.Tensor | null = null;
    let yHat: tf.Tensor | null = null;
    let dyHat: tf.Tensor | null = null;
    const inId = this.model.inputs[0].id;
    const outSym = this.model.outputs[0];
    const outLayer = outSym.sourceLayer;
    const sitePos = new Map(this.sites.map((s, i) => [s, i]));
    const dropExtras = () => {
      tf.dispose([yHat, dyHat, seenInput].filter((v): v is tf.Tensor => v !== null));
      yHat = null;
      dyHat = null;
      seenInput = null;
    };
    const install = (): (() => void) => {
      const undo: (() => void)[] = [];
      for (const [index, layer] of this.model.layers.entries()) {
        const site = this.siteAt.get(index);
        const readsInput = toList(layer.input as SymbolicTensor | SymbolicTensor[]).findIndex((s) => s.id === inId);
        if (!site && layer !== outLayer && readsInput < 0) continue;
        const own = Object.hasOwn(layer, 'apply');
        const orig = layer.apply;
        const wrapped = (inputs: tf.Tensor | tf.Tensor[], kwargs?: Record<string, unknown>) => {
          const res = orig.call(layer, inputs, kwargs) as tf.Tensor | tf.Tensor[];
          const list = toList(res);
          if (list.some((r) => !(r instanceof tf.Tensor))) return res; // a symbolic call: not the step's values
          if (kwargs?.training !== true) bad = true;
          if (readsInput >= 0) {
            if (seenInput) bad = true;
            else seenInput = tf.keep(tf.clone(toList(inputs)[readsInput])); // a clone: the same data (dataId), kept past lossFn's scope
          }
          let outs = list;
          if (site) {
            const i = sitePos.get(site)!;
            calls[i]++;
            if (calls[i] > 1) bad = true;
            else if (list.length === 1) outs = [this.hookInto(cap, i, list[0])];
          }
          if (layer === outLayer && !bad) {
            const k = toList(layer.output as SymbolicTensor | SymbolicTensor[]).findIndex((s) => s.id === outSym.id);
            if (k >= 0 && !yHat) {
              yHat = tf.keep(tf.clone(outs[k]));
              const g = tf.customGrad(((v: tf.Tensor) => ({
                value: tf.clone(v),
                gradFunc: (dy: tf.Tensor | tf.Tensor[]) => {
                  dyHat = tf.keep(tf.clone(dy as tf.Tensor));
                  return tf.clone(dy as tf.Tensor);
                },
              })) as any);
              outs = outs.slice();
              outs[k] = g(outs[k]) as tf.Tensor;
            }
          }
          return Array.isArray(res) ? outs : outs[0];
        };
        (layer as { apply: unknown }).apply = wrapped;
        undo.push(() => {
          if (own) (layer as { apply: unknown }).apply = orig;
          else delete (layer as { apply?: unknown }).apply;
        });
      }
      return () => {
        for (const u of undo.splice(0)) u();
      };
    };
    const during = (f: () => tf.Scalar): tf.Scalar => {
      const undo = install();
      try {
        return f();
      } finally {
        undo();
      }
    };
    const measurement = (batch: { x: tf.Tensor; y: tf.Tensor }, stepGrads?: tf.NamedTensorMap): Measurement | null => {
      const same =
        !bad &&
        yHat !== null &&
        dyHat !== null &&
        seenInput !== null &&
        calls.every((c) => c === 1) &&
        cap.outs.every((o, i) => o === undefined || cap.gsq[i] !== undefined) &&
        (!stepGrads || !this.regularized) &&
        sameTensor(seenInput, batch.x) &&
        this.sameOutputGradient(batch.y, yHat, dyHat);
      dropExtras();
      if (!same) {
        disposeCaptured(cap);
        return null;
      }
      // ∂L/∂W of the step (fit's): the probe batch's where the checks hold and no regularizer adds to it
      const gw = this.sites.map((st) => (stepGrads && st.group ? (stepGrads[st.group.variables[0].name] ?? null) : null));
      return this.measurement(cap, gw);
    };
    return { install, during, measurement };
  }

  /** Whether ∂L/∂ŷ of the step equals the probe loss's on (y, ŷ): max |d − g| ≤ 1e-5 · max |g| (float32 rounding of one loss). */
  private sameOutputGradient(y: tf.Tensor, yHat: tf.Tensor, dy: tf.Tensor): boolean {
    if (!arraysEqual(yHat.shape, dy.shape)) return false;
    const lossOf = this.lossFn();
    const [diff, scale] = tf.tidy(() => {
      const g = tf.grad((v: tf.Tensor) => lossOf(y, v))(yHat);
      return [tf.max(tf.abs(tf.sub(g, dy))).dataSync()[0], tf.max(tf.abs(g)).dataSync()[0]];
    });
    return diff <= 1e-5 * scale;
  }

  records(): SPRecord[] {
    return this.out.slice();
  }

  notes(): string[] {
    return this.ctx.notes();
  }

  dispose(): void {
    if (this.pending?.undo) this.pending.undo();
    if (this.pending) for (const p of this.pending.prev) tf.dispose(p);
    this.pending = null;
  }
}

/** Probes for a user's tf.LayersModel (Sequential or functional, each layer called once). */
export function probe(model: tf.LayersModel, options: ProbeOptions): Prober {
  return new ModelProber(model, options);
}
