// One training step of a user's own loop, with the statistics of its weights and of its update: the
// gradients come from tf.variableGrads(lossFn, varList) and go to optimizer.applyGradients in varList's
// order, which is what optimizer.minimize(lossFn, false, varList) does (tfjs-core 4.22 optimizer.ts), so
// the weights after the step are the same bits as with minimize. Probes only read tensors.
import * as tf from '@tensorflow/tfjs';
import { InputError } from '../network/index.js';
import type { SPRecord } from '../records/index.js';
import { sumSq } from './stats.js';
import { type ProbeContext, type ProbeOptions, probeContext } from './options.js';

/** A group of variables recorded as one layer (a layer's kernel, or the variables a user names). */
export interface WeightGroup {
  /** tags.name of its records. */
  name: string;
  /** tags.kind of its records (a layer's class name, or "variables"). */
  kind: string;
  variables: tf.Variable[];
  /** The record's layer index (1-based). */
  layer: number;
}

/** Each group's variables at θ_t: clones that share the values (no copy), kept until `updateStats`. */
export function snapshot(groups: readonly WeightGroup[]): tf.Tensor[][] {
  return groups.map((g) => g.variables.map((v) => tf.keep(tf.clone(v))));
}

/**
 * Per group [Σ θ_t², Σ (θ_{t+1} − θ_t)²] over its variables (float32 sums), read in one dataSync; disposes
 * the snapshot.
 */
export function updateStats(groups: readonly WeightGroup[], prev: tf.Tensor[][]): { weightSq: number; updateSq: number }[] {
  const flat = tf.tidy(() => {
    const parts: tf.Tensor[] = [];
    for (const [i, g] of groups.entries()) {
      const w = prev[i].map((p) => sumSq(p));
      const d = g.variables.map((v, k) => sumSq(tf.sub(v, prev[i][k])));
      parts.push(tf.addN(w.length ? w : [tf.scalar(0)]), tf.addN(d.length ? d : [tf.scalar(0)]));
    }
    return parts.length ? tf.stack(parts) : tf.zeros([0]);
  });
  const v = flat.dataSync();
  flat.dispose();
  for (const ps of prev) tf.dispose(ps);
  return groups.map((_, i) => ({ weightSq: v[2 * i], updateSq: v[2 * i + 1] }));
}

/**
 * Loss and gradients of `lossFn` over `varList`, applied with `optimizer` (optimizer.minimize's arithmetic),
 * and each group's ‖∂L/∂θ‖² when `gradGroups` is given; `beforeApply` runs between the gradients and the
 * update (the weights still θ_t). Returns the loss as a number.
 */
export function minimizeStep(
  lossFn: () => tf.Scalar,
  optimizer: tf.Optimizer,
  varList: tf.Variable[],
  gradGroups: readonly WeightGroup[] | null,
  beforeApply?: () => void,
): { loss: number; gradSq: (number | null)[] | null } {
  const { value, grads } = tf.variableGrads(lossFn, varList);
  if (beforeApply)
    try {
      beforeApply();
    } catch (e) {
      tf.dispose([value, ...Object.values(grads)]);
      throw e;
    }
  optimizer.applyGradients(varList.map((v) => ({ name: v.name, tensor: grads[v.name] })));
  let gradSq: (number | null)[] | null = null;
  if (gradGroups) {
    const has = gradGroups.map((g) => g.variables.some((v) => grads[v.name] !== undefined));
    const flat = tf.tidy(() => {
      const parts = gradGroups.map((g) => {
        const s = g.variables.filter((v) => grads[v.name] !== undefined).map((v) => sumSq(grads[v.name]));
        return s.length ? tf.addN(s) : tf.scalar(0);
      });
      return parts.length ? tf.stack(parts) : tf.zeros([0]);
    });
    const v = flat.dataSync();
    flat.dispose();
    gradSq = gradGroups.map((_, i) => (has[i] ? v[i] : null));
  }
  tf.dispose(Object.values(grads));
  const loss = value.dataSync()[0];
  value.dispose();
  return { loss, gradSq };
}

/** Records of one group's weight statistics at step t (grad_w_* when gradSq is known). */
export function weightRecords(
  ctx: ProbeContext,
  g: WeightGroup,
  t: number,
  gradSq: number | null,
  u: { weightSq: number; updateSq: number },
): SPRecord[] {
  const out: SPRecord[] = [];
  const tags = { name: g.name, kind: g.kind };
  if (gradSq !== null) {
    out.push(ctx.rec('grad_w_sq', g.layer, gradSq, t, tags));
    out.push(ctx.rec('grad_w_norm', g.layer, Math.sqrt(gradSq), t, tags));
  }
  const wn = Math.sqrt(u.weightSq);
  const un = Math.sqrt(u.updateSq);
  out.push(ctx.rec('weight_norm', g.layer, wn, t, tags));
  out.push(ctx.rec('update_norm', g.layer, un, t, tags));
  out.push(ctx.rec('update_ratio', g.layer, un / wn, t, tags));
  return out;
}

/** A plain training step over tf.Variables, probed per group. */
export interface VariableProber {
  /**
   * One step: loss and gradients of `lossFn` over every group's variables, applied with `optimizer` (the
   * arithmetic of optimizer.minimize(lossFn, false, those variables)); on a probed step, per group:
   * grad_w_sq, grad_w_norm, weight_norm, update_norm, update_ratio. Returns the loss.
   */
  step(lossFn: () => tf.Scalar, optimizer: tf.Optimizer): number;
  records(): SPRecord[];
  notes(): string[];
  dispose(): void;
}

/**
 * Probes for a plain training step over tf.Variables without a LayersModel: `groups` names the layers
 * (record `layer` = 1-based position in the list, `tags.name` its name, `tags.kind` "variables").
 */
export function probeVariables(
  groups: Record<string, tf.Variable[]> | { name: string; variables: tf.Variable[] }[],
  options: ProbeOptions,
): VariableProber {
  const list = Array.isArray(groups) ? groups : Object.entries(groups).map(([name, variables]) => ({ name, variables }));
  if (list.length === 0) throw new InputError('groups', groups, 'at least one group of tf.Variables');
  const seen = new Set<string>();
  const wg: WeightGroup[] = list.map((g, i) => {
    if (!Array.isArray(g.variables) || g.variables.length === 0 || !g.variables.every((v) => v instanceof tf.Variable))
      throw new InputError(`groups.${g.name}`, `${g.variables?.length ?? 0} entries`, 'a non-empty array of tf.Variable');
    for (const v of g.variables) {
      if (seen.has(v.name)) throw new InputError(`groups.${g.name}`, v.name, 'each variable in one group only');
      seen.add(v.name);
    }
    return { name: g.name, kind: 'variables', variables: g.variables, layer: i + 1 };
  });
  const varList = wg.flatMap((g) => g.variables);
  const ctx = probeContext(options, { depth: wg.length, width: 0, name: 'variables' });
  const out: SPRecord[] = [];
  let t = 0;
  return {
    step(lossFn, optimizer) {
      const active = ctx.schedule.active(t);
      const prev = active ? snapshot(wg) : null;
      const { loss, gradSq } = minimizeStep(lossFn, optimizer, varList, active ? wg : null);
      out.push(ctx.rec('loss', null, loss, t));
      if (prev && gradSq) {
        const u = updateStats(wg, prev);
        for (const [i, g] of wg.entries()) out.push(...weightRecords(ctx, g, t, gradSq[i], u[i]));
      }
      t++;
      return loss;
    },
    records: () => out.slice(),
    notes: () => ctx.notes(),
    dispose() {},
  };
}
