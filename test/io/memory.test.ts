// The memory estimates of src/io/memory.ts for image nets: a known case computed by hand from the definition
// (imageSizes' doc), the MLP estimate unchanged, and the estimate against a measured peak: the growth of the
// process's peak resident set (process.resourceUsage().maxRSS) over one sampled network (float64) and one tfjs
// training step (float32, wasm backend), each in a fresh child process so that nothing else runs in it. The
// estimates are meant to be right within a factor of 2 (the file's header); the test holds them to that.
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { estimateTrain, imageSizes, sampleNetworkBytes } from '../../src/io/memory.js';
import { makeSpec } from '../../src/network/index.js';

describe('image nets: the estimate of a known case, by hand', () => {
  it('conv-bn-act, depth 2, 4 channels, 5×5×2 images, k = 3, B = 3', () => {
    const spec = makeSpec({ order: 'conv-bn-act', depth: 2, width: 4, batch: 3, image: [5, 5, 2] });
    // conv 1: 3²·2·4 + 4 = 76 weights, patches 25 positions · 9 · 2 = 450; conv 2: 3²·4·4 + 4 = 148, patches 25·9·4 = 900;
    // each BN and act output 25·4 = 100; gap 4
    const cached = 450 + 100 + 100 + 900 + 100 + 100;
    const values = 100 + 450 + 100 + 100 + (100 + 900) + 100 + 100 + 4;
    expect(imageSizes(spec)).toEqual({ weights: 76 + 148, cached, values, nMax: 100, colsMax: 900 });
    // sampler: float64; all caches fit the budget; in flight 2 patch matrices and (⌈√2⌉ + 6) activations of 100
    expect(sampleNetworkBytes(spec)).toEqual([
      ['weights', 8 * 224],
      ['activations', 8 * 3 * cached + 8 * 3 * (2 * 900 + 8 * 100)],
      ['Gram matrices', 8 * 3 * 3 * 6],
    ]);
    // trainer: float32 weights, gradients and two Adam slots; three copies of each kept value, plus the input 5·5·2
    expect(estimateTrain(spec).parts).toEqual([
      ['weights, gradients and optimizer state', 4 * 224 * 4],
      ['activations', 4 * 3 * (3 * values + 50)],
      ['data', 0],
    ]);
  });

  it('an MLP keeps its estimate: depth 2, width 8, input 4, B = 4', () => {
    const spec = makeSpec({ depth: 2, width: 8, inputDim: 4, batch: 4 });
    // weights 8·4 + 8 + 8·8 + 8 = 112; caches 8·B·Σwidths·3; working 8·B·nMax·(⌈√2⌉ + 6)
    expect(sampleNetworkBytes(spec)).toEqual([
      ['weights', 8 * 112],
      ['activations', 8 * 4 * 16 * 3 + 8 * 4 * 8 * 8],
      ['Gram matrices', 8 * 16 * 6],
    ]);
  });

  it('the image estimate of the activations scales with H·W (the underestimate it replaces did not)', () => {
    const acts = (h: number) =>
      sampleNetworkBytes(makeSpec({ order: 'conv-bn-act', depth: 3, width: 8, batch: 4, image: [h, h, 8] }))[1][1];
    // every activation and patch matrix is ×4 from 8×8 to 16×16 (integers: exact)
    expect(acts(16)).toBe(4 * acts(8));
  });
});

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const TFJS = createRequire(import.meta.url).resolve('@tensorflow/tfjs');

/** Run one network (sample) or one tfjs gradient step (train) in a fresh child; its peak RSS growth and the estimate's. */
function measure(what: 'sample' | 'train', input: object): { grew: number; estimate: number } {
  const src = (p: string) => JSON.stringify(join(ROOT, p));
  const script = `
import { makeSpec, gaussianInputs, randomTargets } from ${src('src/network/index.ts')};
import { forwardBackward } from ${src('src/sample/index.ts')};
import { estimateTrain, sampleNetworkBytes } from ${src('src/io/memory.ts')};
const spec = makeSpec(${JSON.stringify(input)});
let base;
let estimate;
if (${JSON.stringify(what)} === 'sample') {
  estimate = sampleNetworkBytes(spec).reduce((s, [, v]) => s + v, 0);
  base = process.memoryUsage().rss;
  forwardBackward(spec, 1);
} else {
  const tf = await import(${JSON.stringify(TFJS)});
  const { initBackend, Mlp, gradientsOf, emptyCapture } = await import(${src('src/train/index.ts')});
  await initBackend('wasm');
  const B = spec.batch;
  const t = randomTargets('mse', B, 1);
  const model = Mlp.fromSeed(spec, t.nOut, 1);
  const x = tf.tensor2d(Float32Array.from(gaussianInputs(B, spec.inputDim, 1)), [B, spec.inputDim]);
  const targets = { t: tf.tensor2d(Float32Array.from(t.targets), [B, t.nOut]), labels: null };
  // the step's share: the estimate less its fixed costs (the process, the tfjs runtime), against the growth from here
  const est = estimateTrain(spec);
  estimate = est.parts.reduce((s, [, v]) => s + v, 0);
  base = process.memoryUsage().rss;
  gradientsOf(model, 'mse', x, targets, emptyCapture(spec.depth));
}
const peak = process.resourceUsage().maxRSS * 1024;
console.log(JSON.stringify({ grew: peak - base, estimate }));
`;
  const file = join(tmpdir(), `sp-memory-${process.pid}-${what}.mts`);
  writeFileSync(file, script);
  const r = spawnSync(process.execPath, ['--import', 'tsx', file], { cwd: ROOT, encoding: 'utf8', timeout: 120_000 });
  expect(r.status, r.stderr).toBe(0);
  return JSON.parse(r.stdout.trim().split('\n').pop()!);
}

describe('image nets: the estimate against a measured peak', () => {
  // conv-bn-act, 4 blocks of 32 channels on 28×28×1 (MNIST-sized), B = 16: ~100–200 MB, far above the noise of a
  // fresh process's resident set (a few MB) and far above what the old estimate gave (~2 MB: it counted C, not H·W·C)
  const input = { order: 'conv-bn-act', depth: 4, width: 32, batch: 16, image: [28, 28, 1] };
  it.each(['sample', 'train'] as const)('%s: the estimate is within a factor of 2 of the peak growth', { timeout: 180_000 }, (what) => {
    const { grew, estimate } = measure(what, input);
    if (process.env.MEMORY_VERBOSE)
      console.log(`${what}: estimate ${(estimate / 1e6).toFixed(1)} MB, peak grew ${(grew / 1e6).toFixed(1)} MB`);
    expect(grew).toBeGreaterThan(50e6);
    expect(estimate / grew).toBeGreaterThan(0.5);
    expect(estimate / grew).toBeLessThan(2);
  });
});
