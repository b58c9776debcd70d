// The blas backend (src/train/blas.ts): its native kernels against the tfjs cpu backend's JavaScript
// kernels (bit for bit where the arithmetic is the same), matMul and trailing-axis sums against float64
// with rounding-error bounds, the fused kernels against the op sequences they replace, the safety of its
// buffer pool, and training on it.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fc, test } from '@fast-check/vitest';
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import {
  BLAS_KERNELS,
  binaryPlan,
  blasUnavailableReason,
  FUSED_KERNELS,
  fusedKernelName,
  loadF32Addon,
  operandMode,
  reducePlan,
} from '../../src/train/blas.js';
import { initBackend, type TrainConfig, trainRun } from '../../src/train/index.js';
import { bnBackward, bnForward, sgdUpdate, sumSquares } from '../../src/train/ops.js';
import { values } from '../helpers/float32Values.js';

const HAVE = blasUnavailableReason() === null;
const U = 2 ** -24; // float32 unit roundoff

type Host = { data: Float32Array; shape: number[] };

/** Run f on a backend with fresh tensors of the host inputs; copies of the outputs' values. */
async function on(
  backend: 'blas' | 'cpu',
  inputs: Host[],
  f: (...ts: tf.Tensor[]) => tf.Tensor | tf.Tensor[],
): Promise<{ data: Float32Array; shape: number[] }[]> {
  await initBackend(backend, 1);
  return tf.tidy(() => {
    const ts = inputs.map((h) => tf.tensor(Float32Array.from(h.data), h.shape));
    const r = f(...ts);
    return (Array.isArray(r) ? r : [r]).map((t) => ({ data: Float32Array.from(t.dataSync()), shape: t.shape })) as any;
  }) as unknown as { data: Float32Array; shape: number[] }[];
}

/** Index of the first element whose bits differ (all NaNs count as equal), or -1. */
function firstBitDiff(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) return 0;
  const ua = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const ub = new Uint32Array(b.buffer, b.byteOffset, b.length);
  for (let i = 0; i < a.length; i++) if (ua[i] !== ub[i] && !(Number.isNaN(a[i]) && Number.isNaN(b[i]))) return i;
  return -1;
}

async function sameBits(inputs: Host[], f: (...ts: tf.Tensor[]) => tf.Tensor | tf.Tensor[]): Promise<void> {
  const cpu = await on('cpu', inputs, f);
  const blas = await on('blas', inputs, f);
  expect(blas.length).toBe(cpu.length);
  for (let k = 0; k < cpu.length; k++) {
    expect(blas[k].shape).toEqual(cpu[k].shape);
    const i = firstBitDiff(blas[k].data, cpu[k].data);
    expect(i, i < 0 ? '' : `output ${k}, element ${i}: blas ${blas[k].data[i]} vs cpu ${cpu[k].data[i]}`).toBe(-1);
  }
}

describe('broadcast and reduction plans', () => {
  it('classifies operands as full, scalar, row or column (known cases)', () => {
    expect(operandMode([128, 512], [128, 512])).toEqual({ mode: 'full', n: 65536 });
    expect(operandMode([], [128, 512])).toEqual({ mode: 'scalar', n: 1 });
    expect(operandMode([512], [128, 512])).toEqual({ mode: 'row', n: 512 });
    expect(operandMode([1, 512], [128, 512])).toEqual({ mode: 'row', n: 512 });
    expect(operandMode([128, 1], [128, 512])).toEqual({ mode: 'col', n: 128 });
    expect(operandMode([3, 1], [2, 3, 4])).toBeNull(); // a middle axis: the cpu kernel handles it
    expect(binaryPlan([128, 512], [512])).toEqual({ out: [128, 512], rows: 128, cols: 512, am: 'full', bm: 'row' });
    expect(binaryPlan([128, 1], [1, 512])).toEqual({ out: [128, 512], rows: 128, cols: 512, am: 'col', bm: 'row' });
    expect(binaryPlan([2, 3], [4, 3])).toBeNull(); // not broadcastable: the cpu kernel throws its error
    expect(reducePlan([128, 512], 0)).toEqual({ rows: 128, cols: 512, axis: 0, axes: [0] });
    expect(reducePlan([4, 5, 6], [-1, -2])).toEqual({ rows: 4, cols: 30, axis: 1, axes: [1, 2] });
    expect(reducePlan([4, 5, 6], 1)).toBeNull();
  });
});

describe.skipIf(!HAVE)('blas kernels against the tfjs cpu kernels', () => {
  it('registers every cpu kernel, the overrides and the fused kernels for "blas"', async () => {
    await initBackend('blas', 1);
    const cpu = tf.getKernelsForBackend('cpu').map((k) => k.kernelName);
    const blas = new Set(tf.getKernelsForBackend('blas').map((k) => k.kernelName));
    // the fused kernels under the names the addon exports (the names src/train/ops.ts dispatches to)
    const fused = FUSED_KERNELS.map((role) => fusedKernelName(role));
    expect(fused.every((k) => typeof k === 'string')).toBe(true);
    for (const k of [...cpu, ...BLAS_KERNELS, ...(fused as string[])]) expect(blas.has(k), k).toBe(true);
  });

  const BINARY: [string, (a: tf.Tensor, b: tf.Tensor) => tf.Tensor][] = [
    ['add', tf.add],
    ['sub', tf.sub],
    ['mul', tf.mul],
    ['div', tf.div],
    ['maximum', tf.maximum],
    ['minimum', tf.minimum],
    ['squaredDifference', tf.squaredDifference],
  ];
  // an output shape and, per operand, how it broadcasts to it (the last kinds reach the fallback)
  const shapeArb = fc.array(fc.integer({ min: 1, max: 9 }), { minLength: 1, maxLength: 3 });
  const kindArb = fc.constantFrom('full', 'scalar', 'row', 'col', 'rowOnes', 'middle');
  const operand = (out: number[], kind: string, cut: number): number[] => {
    const k = Math.min(cut, out.length);
    switch (kind) {
      case 'scalar':
        return [];
      case 'row':
        return out.slice(k);
      case 'rowOnes':
        return [...out.slice(0, k).map(() => 1), ...out.slice(k)];
      case 'col':
        return [...out.slice(0, k), ...out.slice(k).map(() => 1)];
      case 'middle':
        return out.map((d, i) => (i === Math.floor(out.length / 2) ? 1 : d));
      default:
        return out;
    }
  };
  test.prop(
    [
      fc.constantFrom(...BINARY.map((b) => b[0])),
      shapeArb,
      kindArb,
      kindArb,
      fc.integer({ min: 0, max: 3 }),
      fc.integer({ min: 0, max: 3 }),
      fc.integer({ min: 1, max: 1e6 }),
    ],
    { numRuns: 150 },
  )('binary ops give the same bits for every broadcast (with 0, −0, NaN, ±∞ and subnormals)', async (name, out, ka, kb, ca, cb, seed) => {
    const f = BINARY.find((b) => b[0] === name)![1];
    const as = operand(out, ka, ca);
    const bs = operand(out, kb, cb);
    const size = (s: number[]) => s.reduce((x, y) => x * y, 1);
    await sameBits(
      [
        { data: values(size(as), seed, true), shape: as },
        { data: values(size(bs), seed + 1, true), shape: bs },
      ],
      f,
    );
  });

  const UNARY: [string, (x: tf.Tensor) => tf.Tensor][] = [
    ['square', tf.square],
    ['relu', tf.relu],
    ['step', (x) => tf.step(x, 0.25)],
    ['neg', tf.neg],
    ['sqrt', tf.sqrt],
    ['rsqrt', tf.rsqrt],
    ['abs', tf.abs],
  ];
  for (const [name, f] of UNARY) {
    it(`${name}: the same bits (with 0, −0, NaN, ±∞, negative arguments)`, async () => {
      for (const n of [1, 7, 1000]) await sameBits([{ data: values(n, n + name.length, true), shape: [n] }], f);
    });
  }

  test.prop(
    [
      fc.array(fc.integer({ min: 1, max: 12 }), { minLength: 1, maxLength: 3 }),
      fc.integer({ min: 1, max: 3 }),
      fc.boolean(),
      fc.boolean(),
      fc.integer({ min: 1, max: 1e6 }),
    ],
    { numRuns: 80 },
  )('sum and mean over leading axes give the same bits; other axes equal the cpu kernel too', async (shape, k, mean, keepDims, seed) => {
    const n = Math.min(k, shape.length);
    const axes = Array.from({ length: n }, (_, i) => i);
    const op = (x: tf.Tensor) => (mean ? tf.mean(x, axes, keepDims) : tf.sum(x, axes, keepDims));
    const data = values(
      shape.reduce((a, b) => a * b, 1),
      seed,
    );
    await sameBits([{ data, shape }], op);
    if (shape.length === 3) await sameBits([{ data, shape }], (x) => (mean ? tf.mean(x, 1, keepDims) : tf.sum(x, 1, keepDims))); // a middle axis: fallback
  });

  test.prop([fc.integer({ min: 1, max: 30 }), fc.integer({ min: 1, max: 3000 }), fc.boolean(), fc.integer({ min: 1, max: 1e6 })], {
    numRuns: 60,
  })('sum and mean over trailing axes are within float rounding of the exact value', async (rows, cols, mean, seed) => {
    const data = values(rows * cols, seed);
    const [got] = await on('blas', [{ data, shape: [rows, cols] }], (x) => (mean ? tf.mean(x, 1) : tf.sum(x, 1)));
    for (let r = 0; r < rows; r++) {
      let exact = 0;
      let abs = 0;
      for (let c = 0; c < cols; c++) {
        const v = mean ? Math.fround(data[r * cols + c] / Math.fround(cols)) : data[r * cols + c];
        exact += v;
        abs += Math.abs(v);
      }
      // double accumulation (cols·2⁻⁵³·Σ|v|), one rounding to float (u·|s|); the mean's per-term
      // division is part of `exact` above, as in the kernel
      expect(Math.abs(got.data[r] - exact)).toBeLessThanOrEqual(cols * 2 ** -53 * abs + U * Math.abs(exact) + 1e-300);
    }
  });

  it('transpose of the last two axes gives the same bits; other permutations fall back', async () => {
    for (const [shape, perm] of [
      [
        [37, 53],
        [1, 0],
      ],
      [
        [3, 17, 5],
        [0, 2, 1],
      ],
      [
        [3, 4, 5],
        [2, 0, 1],
      ],
      [
        [64, 64],
        [0, 1],
      ],
    ] as [number[], number[]][]) {
      await sameBits(
        [
          {
            data: values(
              shape.reduce((a, b) => a * b, 1),
              shape[0],
            ),
            shape,
          },
        ],
        (x) => tf.transpose(x, perm),
      );
    }
  });

  test.prop(
    [
      fc.integer({ min: 1, max: 40 }),
      fc.integer({ min: 1, max: 40 }),
      fc.integer({ min: 1, max: 70 }),
      fc.boolean(),
      fc.boolean(),
      fc.constantFrom('none', 'both', 'a', 'b'),
      fc.integer({ min: 1, max: 1e6 }),
    ],
    { numRuns: 80 },
  )(
    'matMul (sgemm) is within the float32 dot-product bound of a float64 product, any transposes and batches',
    async (M, N, K, ta, tb, batching, seed) => {
      const nb = 3;
      const ab = batching === 'both' || batching === 'a' ? [nb] : batching === 'b' ? [1] : [];
      const bb = batching === 'both' || batching === 'b' ? [nb] : batching === 'a' ? [1] : [];
      const aShape = [...ab, ...(ta ? [K, M] : [M, K])];
      const bShape = [...bb, ...(tb ? [N, K] : [K, N])];
      const A = values(
        aShape.reduce((x, y) => x * y, 1),
        seed,
      );
      const B = values(
        bShape.reduce((x, y) => x * y, 1),
        seed + 7,
      );
      const [got] = await on(
        'blas',
        [
          { data: A, shape: aShape },
          { data: B, shape: bShape },
        ],
        (a, b) => tf.matMul(a, b, ta, tb),
      );
      const batch = Math.max(ab[0] ?? 1, bb[0] ?? 1);
      expect(got.shape).toEqual([...(ab.length || bb.length ? [batch] : []), M, N]);
      // Higham, Accuracy and Stability of Numerical Algorithms, eq. (3.5): |fl(x·y) − x·y| ≤ γ_K |x|·|y|
      const gamma = (K * U) / (1 - K * U);
      for (let p = 0; p < batch; p++) {
        const ao = (ab[0] ?? 1) === 1 ? 0 : p * M * K;
        const bo = (bb[0] ?? 1) === 1 ? 0 : p * K * N;
        for (let i = 0; i < M; i++)
          for (let j = 0; j < N; j++) {
            let exact = 0;
            let abs = 0;
            for (let k = 0; k < K; k++) {
              const a = A[ao + (ta ? k * M + i : i * K + k)];
              const b = B[bo + (tb ? j * K + k : k * N + j)];
              exact += a * b;
              abs += Math.abs(a * b);
            }
            expect(Math.abs(got.data[p * M * N + i * N + j] - exact)).toBeLessThanOrEqual(gamma * abs + U * Math.abs(exact) + 1e-30);
          }
      }
    },
  );
});

describe.skipIf(!HAVE)('fused kernels give the bits of the op sequences they replace', () => {
  test.prop(
    [
      fc.integer({ min: 2, max: 40 }),
      fc.integer({ min: 1, max: 30 }),
      fc.double({ min: 0, max: 0.1, noNaN: true }),
      fc.integer({ min: 1, max: 1e6 }),
    ],
    { numRuns: 40 },
  )('BatchNorm forward and backward: fused on blas = tf ops on cpu', async (B, N, eps, seed) => {
    const h = { data: values(B * N, seed), shape: [B, N] };
    const g = { data: values(N, seed + 1), shape: [N] };
    const b = { data: values(N, seed + 2), shape: [N] };
    const dy = { data: values(B * N, seed + 3), shape: [B, N] };
    const fwd = (hh: tf.Tensor, gg: tf.Tensor, bb: tf.Tensor) => {
      const r = bnForward(hh as tf.Tensor2D, gg as tf.Tensor1D, bb as tf.Tensor1D, eps);
      return [r.out, r.zhat, r.inv, r.mean, r.variance];
    };
    await sameBits([h, g, b], fwd);
    const bwd = (hh: tf.Tensor, gg: tf.Tensor, bb: tf.Tensor, d: tf.Tensor) => {
      const r = bnForward(hh as tf.Tensor2D, gg as tf.Tensor1D, bb as tf.Tensor1D, eps);
      return bnBackward(d as tf.Tensor2D, r.zhat, r.inv, gg as tf.Tensor1D);
    };
    await sameBits([h, g, b, dy], bwd);
  });

  it('SGD update: fused on blas = tf ops on cpu', async () => {
    for (const lr of [0.1, 1e-3, 0.7]) {
      await sameBits(
        [
          { data: values(5000, 3, true), shape: [50, 100] },
          { data: values(5000, 4, true), shape: [50, 100] },
        ],
        (p, gr) => sgdUpdate(p, gr, lr),
      );
    }
  });

  it('sums of squares are within float rounding of the exact values', async () => {
    const xs = [values(262144, 1), values(513, 2), values(1, 3)];
    const [got] = await on(
      'blas',
      xs.map((d) => ({ data: d, shape: [d.length] })),
      (...ts) => sumSquares(ts),
    );
    xs.forEach((d, i) => {
      let exact = 0;
      for (const v of d) exact += Math.fround(v * v);
      expect(Math.abs(got.data[i] - exact)).toBeLessThanOrEqual(d.length * 2 ** -53 * exact + U * exact);
    });
  });
});

describe.skipIf(!HAVE)('the addon refuses arguments outside its arrays', () => {
  it('sgemm, binary, reduce and the fused kernels throw instead of reading or writing past an array', () => {
    const a = loadF32Addon()!;
    const f = (n: number) => new Float32Array(n);
    expect(() => a.sgemm(0, 0, 4, 4, 4, 1, f(15), 4, f(16), 4, 0, f(16), 4)).toThrow(RangeError); // A is 15 < 16
    expect(() => a.sgemm(0, 0, 4, 4, 0, 1, f(16), 4, f(16), 4, 0, f(16), 4)).toThrow(RangeError); // K = 0
    expect(() => a.sgemm(0, 0, 2, 2, 2, 1, new Float64Array(4) as any, 2, f(4), 2, 0, f(4), 2)).toThrow(/Float32Array/);
    expect(() => a.binary(0, f(10), 0, f(1), 1, f(12), 3, 4)).toThrow(RangeError); // a full operand of 10 < 12
    expect(() => a.binary(0, f(12), 0, f(3), 2, f(12), 3, 4)).toThrow(RangeError); // a row of 3 < 4 columns
    expect(() => a.reduce(0, f(12), 3, 4, 0, f(3))).toThrow(RangeError); // axis 0 needs 4 outputs
    expect(() => a.bnForward(f(12), f(4), f(4), 1e-5, 0, 4, f(12), f(12), f(4), f(4), f(4))).toThrow(/at least one row/);
    expect(() => a.bnBackward(f(12), f(12), f(3), f(4), 3, 4, f(12), f(4), f(4))).toThrow(RangeError); // inv has 3 < 4
    expect(() => a.sgdUpdate(f(5), f(4), 0.1, f(5))).toThrow(RangeError);
  });
});

describe.skipIf(!HAVE)('sgemm under a sampling profiler', () => {
  // oneDNN 2.6's sgemm corrupts the heap when a signal reaches its thread mid-call (V8's profiler sends
  // SIGPROF to the JavaScript thread); the addon holds asynchronous signals back during the call. The
  // fixture runs the training shapes on fresh guarded arrays for 2.5 s under `node --cpu-prof` at a
  // 100 µs sampling interval: without the signal mask it aborts ("corrupted size vs. prev_size").
  const fixture = fileURLToPath(new URL('./fixtures/profiledMatMul.ts', import.meta.url));
  const root = fileURLToPath(new URL('../..', import.meta.url));
  it.each([1, 2])('exact products, guards intact, no abort (%i BLAS threads)', (threads) => {
    const dir = mkdtempSync(join(tmpdir(), 'signalprop-prof-'));
    try {
      const r = spawnSync(
        process.execPath,
        ['--cpu-prof', '--cpu-prof-dir', dir, '--cpu-prof-interval', '100', '--import', 'tsx', fixture, String(threads), '2500'],
        { cwd: root, encoding: 'utf8', timeout: 60_000 },
      );
      expect(r.stderr + r.stdout).toMatch(/^ok \d+/m);
      expect(r.status).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe.skipIf(!HAVE)('the buffer pool never reuses memory that is still visible', () => {
  it('values read with dataSync() survive the tensor and later kernels', async () => {
    await initBackend('blas', 1);
    const x = tf.tensor(values(4096, 9), [64, 64]);
    const sq = tf.square(x);
    const seen = sq.dataSync();
    const copy = Float32Array.from(seen);
    sq.dispose();
    for (let i = 0; i < 20; i++) tf.tidy(() => tf.neg(tf.square(tf.add(x, i))));
    expect(firstBitDiff(seen as Float32Array, copy)).toBe(-1);
    x.dispose();
  });

  it('a view (the cpu Slice kernel returns a subarray) keeps its buffer out of the pool', async () => {
    await initBackend('blas', 1);
    const x = tf.tensor(values(4096, 10), [4096]);
    const s = tf.tidy(() => tf.slice(tf.square(x), 0, 100)); // the square is disposed; its memory is the slice's
    const want = Float32Array.from(values(4096, 10).subarray(0, 100), (v) => Math.fround(v * v));
    for (let i = 0; i < 20; i++) tf.tidy(() => tf.square(tf.add(x, i + 1)));
    expect(firstBitDiff(Float32Array.from(s.dataSync()), want)).toBe(-1);
    tf.dispose([x, s]);
  });
});

describe.skipIf(!HAVE)('training on blas', () => {
  const CFG: TrainConfig = {
    spec: { depth: 6, width: 64, batch: 32 },
    data: { kind: 'synthetic', rho: 0.2, nTest: 64 },
    loss: 'mse',
    optimizer: { kind: 'momentum', lr: 0.05 },
    steps: 5,
    seed: 3,
    probe: { dense: 5 },
    backend: 'blas',
  };

  it('the records do not depend on the BLAS thread count', async () => {
    const one = await trainRun(CFG, { threads: 1 });
    const two = await trainRun(CFG, { threads: 2 });
    expect(JSON.stringify(two.records)).toBe(JSON.stringify(one.records));
  });

  it('a shallow run follows the cpu backend within float32 rounding', async () => {
    const cfg: TrainConfig = {
      ...CFG,
      spec: { depth: 3, width: 32, batch: 16 },
      optimizer: { kind: 'sgd', lr: 0.05 },
      steps: 6,
      probe: false,
    };
    const blas = (await trainRun(cfg, { threads: 1 })).records.filter((r) => r.quantity === 'loss');
    const cpu = (await trainRun({ ...cfg, backend: 'cpu' })).records.filter((r) => r.quantity === 'loss');
    expect(blas.length).toBe(6);
    // both are float32 with sums of at most 32 terms per op (≤ 32u ≈ 2e-6 relative per op, ~20 ops per
    // step); in a 3-layer net at lr 0.05 the differences grow little over 6 steps: 1e-4 is ~50× that
    for (let t = 0; t < 6; t++) expect(Math.abs(blas[t].value / cpu[t].value - 1)).toBeLessThan(1e-4);
  });

  it('rejects a thread count outside 1..1024, naming the field', async () => {
    await expect(initBackend('blas', 0)).rejects.toThrow(/threads.*0.*1 to 1024/);
  });
});

describe.skipIf(!HAVE)('_FusedMatMul (tf.fused.matMul, what tf.layers.dense calls) on the native kernels', () => {
  // the fused kernel is sgemm, then the native add and relu in place: the same kernels, in the same order, as
  // the unfused ops on this backend, so the same bits; its gradient is tfjs's, in terms of those ops
  test.prop(
    [
      fc.integer({ min: 1, max: 24 }),
      fc.integer({ min: 1, max: 24 }),
      fc.integer({ min: 1, max: 40 }),
      fc.boolean(),
      fc.boolean(),
      fc.constantFrom('linear', 'relu'),
      fc.constantFrom('none', 'row', 'scalar'),
      fc.integer({ min: 1, max: 1e6 }),
    ],
    { numRuns: 40 },
  )('forward and gradients: the bits of matMul → add → relu', async (M, N, K, ta, tb, act, biasKind, seed) => {
    const aShape = ta ? [K, M] : [M, K];
    const bShape = tb ? [N, K] : [K, N];
    const biasShape = biasKind === 'row' ? [N] : [1];
    const inputs = [
      { data: values(M * K, seed), shape: aShape },
      { data: values(K * N, seed + 1), shape: bShape },
      { data: values(biasShape[0], seed + 2), shape: biasShape },
    ];
    const withBias = biasKind !== 'none';
    const unfused = (a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) => {
      const p = tf.matMul(a as tf.Tensor2D, b as tf.Tensor2D, ta, tb);
      const z = withBias ? tf.add(p, c) : p;
      return act === 'relu' ? tf.relu(z) : z;
    };
    const fused = (a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) =>
      tf.fused.matMul({
        a: a as tf.Tensor2D,
        b: b as tf.Tensor2D,
        transposeA: ta,
        transposeB: tb,
        bias: withBias ? c : undefined,
        activation: act,
      });
    const both = (f: typeof unfused) => (a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) => {
      const y = f(a, b, c);
      const w = tf.sin(tf.reshape(tf.range(0, M * N), [M, N]));
      const g = tf.grads((x: tf.Tensor, z: tf.Tensor) => tf.sum(tf.mul(f(x, z, c), w)))([a, b]);
      return [y, ...g];
    };
    const got = await on('blas', inputs, both(fused));
    const want = await on('blas', inputs, both(unfused));
    for (let i = 0; i < got.length; i++) expect(Array.from(got[i].data), `output ${i}`).toEqual(Array.from(want[i].data));
  });

  it('a tf.layers.dense model gives the bits of the same product on the blas backend', async () => {
    await initBackend('blas', 1);
    const model = tf.sequential({
      layers: [
        tf.layers.dense({ inputShape: [12], units: 9, activation: 'relu', kernelInitializer: tf.initializers.glorotNormal({ seed: 3 }) }),
      ],
    });
    const x = tf.tensor2d(values(5 * 12, 11), [5, 12]);
    const y = (model.predict(x) as tf.Tensor).dataSync();
    const [k, b] = model.getWeights();
    const ref = tf.relu(tf.add(tf.matMul(x, k as tf.Tensor2D), b)).dataSync();
    expect(Array.from(y)).toEqual(Array.from(ref));
    model.dispose();
  });
});
