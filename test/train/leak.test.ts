// No leaked tfjs tensors: a training run with every probe on (dense probes, gradient factors, momentum
// state, clipping, a run directory with checkpoints) leaves tf.memory().numTensors where it found it, holds
// the same number of tensors after every step once its state exists (no growth over steps), and so do an
// interrupted run and its resume. The expected count is independent of the code under test: the engine's
// own count before the run. The counter is shown able to fail: a run whose progress callback keeps one
// tensor is reported as exactly one leaked tensor.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend, type TrainConfig, trainRun } from '../../src/train/index.js';

const root = mkdtempSync(join(tmpdir(), 'signalprop-leak-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

// linear-bn-act: the gradient-factor probes run (they are the heaviest tensor users); momentum keeps one
// state tensor per parameter; dense probes on the first 8 steps, log-spaced after; a checkpoint every 5 steps.
const CFG: TrainConfig = {
  spec: { depth: 4, width: 16, batch: 8, order: 'linear-bn-act', activation: 'relu' },
  data: { kind: 'synthetic', rho: 0.2, nTest: 32 },
  optimizer: { kind: 'momentum', lr: 0.05 },
  clip: { kind: 'layer', maxNorm: 5 },
  steps: 30,
  seed: 7,
  probe: { dense: 8, perDecade: 4 },
  checkpointEvery: 5,
};
const STEPS = 30;

/** Tensors alive after each step of a run (read in onProgress) and the count when it has returned or thrown. */
async function countRun(
  cfg: TrainConfig,
  opts: Parameters<typeof trainRun>[1] & { during?: (step: number) => void } = {},
): Promise<{ before: number; perStep: number[]; after: number; error: unknown }> {
  const before = tf.memory().numTensors;
  const perStep: number[] = [];
  let error: unknown = null;
  try {
    await trainRun(cfg, {
      ...opts,
      log: () => {},
      onProgress: (step) => {
        perStep.push(tf.memory().numTensors);
        opts.during?.(step);
      },
    });
  } catch (e) {
    error = e;
  }
  return { before, perStep, after: tf.memory().numTensors, error };
}

beforeAll(async () => {
  // the backend's own set-up tensors (if any) exist before the first count
  await initBackend('auto', 1);
}, 60_000);

describe('tfjs tensors: none leaked by training', () => {
  it('a probed run leaves the count where it found it, and holds it constant over steps', async () => {
    const r = await countRun(CFG);
    expect(r.error).toBeNull();
    expect(r.perStep.length).toBe(STEPS);
    expect(r.after).toBe(r.before);
    // the model's variables and optimizer state exist from the first step on; a per-step leak of even one
    // tensor would make the count rise by one per step (29 over the run). Probed steps (0–7 dense, then
    // log-spaced) and unprobed steps must hold the same count.
    const steady = r.perStep[1];
    expect(r.perStep.slice(1).every((n) => n === steady)).toBe(true);
    expect(steady).toBeGreaterThan(r.before); // the run's own state is counted while it runs
  }, 120_000);

  it('an interrupted run (with a run directory) and its resume leak nothing', async () => {
    const dir = join(root, 'cut');
    const cut = await countRun(CFG, {
      runDir: dir,
      during: (step) => {
        if (step === 13) throw new Error('interrupted');
      },
    });
    expect(String(cut.error)).toMatch(/interrupted/);
    expect(cut.after).toBe(cut.before);
    // resume: the checkpoint at step 10 is loaded into fresh variables and the run continues to the end
    const resumed = await countRun(CFG, { runDir: dir, resume: true });
    expect(resumed.error).toBeNull();
    expect(resumed.perStep.length).toBe(STEPS - 10);
    expect(resumed.after).toBe(resumed.before);
    const steady = resumed.perStep[0];
    expect(resumed.perStep.every((n) => n === steady)).toBe(true);
  }, 120_000);

  it('the counter can fail: a run whose progress callback keeps one tensor shows exactly one more', async () => {
    let kept: tf.Tensor | null = null;
    const r = await countRun(
      { ...CFG, steps: 6, probe: { dense: 6 } },
      {
        during: (step) => {
          if (step === 3) kept = tf.zeros([1]);
        },
      },
    );
    expect(r.error).toBeNull();
    expect(r.after - r.before).toBe(1);
    // and the per-step count rises by one from the step that kept it
    expect(r.perStep[3] - r.perStep[2]).toBe(1);
    (kept as tf.Tensor | null)?.dispose();
    expect(tf.memory().numTensors).toBe(r.before);
  }, 120_000);
});
