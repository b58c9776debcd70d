// Training probes mark a loss gradient that is zero or at float32 round-off (src/train/factors.ts
// degeneracyOf; docs/training.md). The readout-like loss L = Σ_i Σ_k y_ik replaces the `mse` kind in this
// file (vi.mock): through Linear→BN→identity its gradient ∂L/∂x_L is the same row for every sample, which
// BN's backward removes exactly, so what reaches h_L is round-off.
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it, vi } from 'vitest';

vi.mock('../../src/train/loss.js', async (importOriginal) => {
  const orig = await importOriginal<typeof import('../../src/train/loss.js')>();
  return {
    ...orig,
    lossTensor: (kind: string, y: tf.Tensor2D, t: any) => (kind === 'mse' ? (tf.sum(y) as tf.Scalar) : orig.lossTensor(kind as any, y, t)),
  };
});

const { trainRun, TRAIN_LOSSES } = await import('../../src/train/index.js');

describe('degenerate loss gradients in training probes', () => {
  it('Linear→BN→identity with a sum-of-outputs loss: every probed step is marked round-off, no factors or GIA records', async () => {
    const r = await trainRun({
      spec: { depth: 4, width: 16, batch: 32, order: 'linear-bn-act', activation: 'identity' },
      loss: 'mse',
      optimizer: { kind: 'sgd', lr: 0.01 },
      steps: 3,
      seed: 1,
      backend: 'cpu',
    });
    const deg = r.records.filter((x) => x.quantity === 'grad_degenerate');
    expect(deg.map((x) => x.step)).toEqual([0, 1, 2]);
    for (const d of deg) {
      expect(d.tags?.degenerate).toBe('round-off');
      expect(d.value).toBeLessThan(Number(d.tags?.threshold));
    }
    const grads = r.records.filter((x) => x.quantity === 'grad_growth' || x.quantity === 'grad_h_sq');
    expect(grads.length).toBeGreaterThan(0);
    for (const g of grads) expect(g.tags?.degenerate).toBe('round-off');
    expect(
      r.records.filter((x) => x.quantity.startsWith('grad_factor') || x.quantity.startsWith('gia_') || x.quantity === 'grad_align_w'),
    ).toEqual([]);
  });

  it('the same net with ReLU (the gates vary per sample) is not marked and has its factors', async () => {
    const r = await trainRun({
      spec: { depth: 4, width: 16, batch: 32, order: 'linear-bn-act', activation: 'relu' },
      loss: 'mse',
      optimizer: { kind: 'sgd', lr: 0.01 },
      steps: 2,
      seed: 1,
      backend: 'cpu',
    });
    expect(r.records.filter((x) => x.quantity === 'grad_degenerate')).toEqual([]);
    expect(r.records.filter((x) => x.quantity === 'grad_factor_product').length).toBe(2 * 3);
    for (const g of r.records.filter((x) => x.quantity === 'grad_growth')) expect(g.tags?.degenerate).toBeUndefined();
  });

  // the trainer's own readout loss (L = Σ_i y_i, as the sampler's src/network/loss.ts), once src/train/loss.ts has it
  it.skipIf(!(TRAIN_LOSSES as readonly string[]).includes('readout'))(
    "the trainer's readout loss through Linear→BN→identity is marked round-off",
    async () => {
      const r = await trainRun({
        spec: { depth: 4, width: 16, batch: 32, order: 'linear-bn-act', activation: 'identity' },
        loss: 'readout' as any,
        optimizer: { kind: 'sgd', lr: 0.01 },
        steps: 2,
        seed: 1,
        backend: 'cpu',
      });
      expect(r.records.filter((x) => x.quantity === 'grad_degenerate').map((x) => x.tags?.degenerate)).toEqual(['round-off', 'round-off']);
    },
  );
});
