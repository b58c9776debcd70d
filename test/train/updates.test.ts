// Per-layer update statistics of the built-in trainer (issue 17 item 4): update_norm ‖ΔW_l‖ next to
// update_ratio, for every layer and the readout, and the trust ratios of LARS, LAMB and LALC per layer,
// checked against closed forms of one optimizer step:
//   - LARS / LALC without momentum and weight decay: ΔW = −lr·f·g, so ‖ΔW‖ = lr·f·‖g‖ (‖g‖ from grad_w_norm);
//   - LAMB at its first step: m̂ = g, v̂ = g², u = g/(|g| + ε), ΔW = −lr·r·u with r = ‖W‖/‖u‖, so
//     ‖ΔW‖ = lr·‖W‖: update_ratio = lr (ε = 1e-6 is far below |g|; no trust bounds);
//   - plain SGD: ‖ΔW‖ = lr·‖g‖ for every parameter the step changes, the readout included.
import { describe, expect, it } from 'vitest';
import type { SPRecord } from '../../src/records/index.js';
import { type TrainConfig, trainRun } from '../../src/train/index.js';

const U32 = 2 ** -24; // float32 unit roundoff
const WIDTH = 12;
const IN = 10;
const DEPTH = 3;
const CLASSES = 4;
const SPEC = { depth: DEPTH, width: WIDTH, inputDim: IN, batch: 8 };
const DATA = { kind: 'synthetic', rho: 0.2, nTest: 16, classes: CLASSES };

async function run(optimizer: TrainConfig['optimizer'], seed: number): Promise<SPRecord[]> {
  const r = await trainRun({ spec: SPEC, data: DATA, optimizer, steps: 3, seed, probe: { dense: 3 }, backend: 'cpu' }, { threads: 1 });
  expect(r.status).toBe('completed');
  return r.records;
}

function find(rs: SPRecord[], q: string, layer: number | null, step: number, tag?: [string, string]): SPRecord[] {
  return rs.filter(
    (r) => r.quantity === q && r.layer === layer && r.step === step && (!tag || (r.tags as Record<string, unknown>)[tag[0]] === tag[1]),
  );
}
function one(rs: SPRecord[], q: string, layer: number | null, step: number, tag?: [string, string]): number {
  const f = find(rs, q, layer, step, tag);
  expect(f, `${q} layer ${layer} step ${step}`).toHaveLength(1);
  return f[0].value as number;
}

/** Elements of block l's weight (l = null: the readout). */
const numel = (l: number | null) => (l === null ? WIDTH * CLASSES : l === 1 ? IN * WIDTH : WIDTH * WIDTH);

/**
 * Relative tolerance of ‖W_{t+1} − W_t‖ (float32) against the exact ‖ΔW‖ when ‖ΔW‖/‖W‖ = ratio: each
 * element of W_{t+1} = fl(W − fl(lr·f·g)) is off by ≤ u(|W_ij| + 2|ΔW_ij|), so the norm of the difference
 * is off by ≤ u(‖W‖ + 2‖ΔW‖), i.e. u(1/ratio + 2) relative; the float32 sums of squares of n terms behind
 * update_norm and grad_w_norm add ≤ n·u/2 each. Taken with a factor 4.
 */
const tol = (n: number, ratio: number) => 4 * U32 * (1 / ratio + 2 + n);

describe('update statistics of the built-in trainer', () => {
  for (const kind of ['lars', 'lalc'] as const) {
    it(`${kind} without momentum: update_norm = lr·trust·‖g‖ per layer, and update_norm / weight_norm = update_ratio`, async () => {
      const opt =
        kind === 'lars' ? { kind, lr: 0.5, momentum: 0, trustCoefficient: 0.02 } : { kind, lr: 0.5, momentum: 0, trustCoefficient: 0.05 };
      const rs = await run(opt, 11);
      for (let t = 0; t < 3; t++) {
        const lr = one(rs, 'lr', null, t);
        expect(lr).toBe(0.5); // the constant schedule
        for (let l = 1; l <= DEPTH; l++) {
          const f = one(rs, 'trust_ratio', l, t, ['method', kind]);
          const g = one(rs, 'grad_w_norm', l, t);
          const w = one(rs, 'weight_norm', l, t);
          const du = one(rs, 'update_norm', l, t);
          const ratio = one(rs, 'update_ratio', l, t);
          // the trust ratio itself: η‖W‖/(‖g‖ + ε) (LALC: clipped to [0, 1]), from the weight and gradient records
          const eta = opt.trustCoefficient;
          const want = Math.min(kind === 'lalc' ? 1 : Number.POSITIVE_INFINITY, (eta * w) / (g + 1e-8));
          expect(Math.abs(f - want) / want).toBeLessThan(1e-12); // the same float64 formula on the same numbers
          const closed = lr * f * g;
          expect(Math.abs(du - closed) / closed, `layer ${l} step ${t}`).toBeLessThan(tol(numel(l), closed / w));
          // two float64 divisions of the same float32 sums: a few ulps
          expect(Math.abs(du / w - ratio) / ratio).toBeLessThan(1e-14);
        }
        // the readout: its trust ratio and its update, layer null with tags.param "readout"
        const f = one(rs, 'trust_ratio', null, t, ['param', 'readout']);
        const du = one(rs, 'update_norm', null, t, ['param', 'readout']);
        const ratio = one(rs, 'update_ratio', null, t, ['param', 'readout']);
        expect(f).toBeGreaterThan(0);
        expect(du).toBeGreaterThan(0);
        expect(ratio).toBeGreaterThan(0);
      }
    });
  }

  it('lamb at its first step: update_ratio = lr per adapted layer (‖ΔW‖ = lr·‖W‖)', async () => {
    const lr = 0.01;
    const rs = await run({ kind: 'lamb', lr }, 12);
    for (let l = 1; l <= DEPTH; l++) {
      expect(find(rs, 'trust_ratio', l, 0, ['method', 'lamb'])).toHaveLength(1);
      expect(one(rs, 'trust_ratio', l, 0)).toBeGreaterThan(0);
      const w = one(rs, 'weight_norm', l, 0);
      const du = one(rs, 'update_norm', l, 0);
      // u = g/(|g| + ε): |u_ij| = 1 − ε/(|g_ij| + ε); entries with |g_ij| ≲ ε shrink ‖u‖, but r = ‖W‖/‖u‖
      // undoes that exactly: ‖r·u‖ = ‖W‖ whatever u is. Only float32 rounding remains.
      expect(Math.abs(du - lr * w) / (lr * w), `layer ${l}`).toBeLessThan(tol(numel(l), lr));
      // later steps: the records exist for every layer
      for (let t = 1; t < 3; t++) expect(find(rs, 'trust_ratio', l, t, ['method', 'lamb'])).toHaveLength(1);
    }
    expect(find(rs, 'trust_ratio', null, 0, ['param', 'readout'])).toHaveLength(1);
  });

  it('sgd: update_norm = lr·‖g‖ per layer, no trust ratio, and the readout update is recorded', async () => {
    const rs = await run({ kind: 'sgd', lr: 0.1 }, 13);
    expect(rs.filter((r) => r.quantity === 'trust_ratio')).toHaveLength(0);
    for (let t = 0; t < 3; t++) {
      for (let l = 1; l <= DEPTH; l++) {
        const g = one(rs, 'grad_w_norm', l, t);
        const w = one(rs, 'weight_norm', l, t);
        const du = one(rs, 'update_norm', l, t);
        expect(Math.abs(du - 0.1 * g) / (0.1 * g)).toBeLessThan(tol(numel(l), (0.1 * g) / w));
      }
      expect(find(rs, 'update_norm', null, t, ['param', 'readout'])).toHaveLength(1);
      expect(find(rs, 'update_ratio', null, t, ['param', 'readout'])).toHaveLength(1);
    }
  });
});
