// The "blas" tfjs backend: tfjs's own cpu backend (MathBackendCPU: tensors are plain Float32Arrays in
// this process) whose hot kernels run in signalprop's native addon (native/blas, float32 OpenBLAS
// sgemm and C loops) instead of JavaScript. Every other kernel is the cpu backend's, unchanged, and
// every overridden kernel falls back to the cpu one for the cases it does not cover (other dtypes,
// broadcasts that are not scalar/row/column, other transposes), so any tfjs program runs on it.
//
// Overridden: BatchMatMul and _FusedMatMul (sgemm, transposed operands for free; the fused bias and
// linear/relu activation by the native add and relu), Add, Sub, Multiply, RealDiv,
// Maximum, Minimum, SquaredDifference, Square, Relu, Step, Neg, Sqrt, Rsqrt, Abs, Sum, Mean (over
// leading or trailing axes) and Transpose (2-D, and batched 2-D). The elementwise kernels and the
// leading-axis reductions give the same bits as the cpu kernels (checked in test/train/blas.test.ts);
// trailing-axis sums use 8 partial sums in double (not bit-identical; within float rounding).
import * as tf from '@tensorflow/tfjs';
import { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import {
  type BinaryOp,
  type FusedKernel,
  loadNative,
  type NativeFloat32,
  nativeUnavailableReason,
  type OperandMode,
  type UnaryOp,
} from '../io/native.js';

let addon: NativeFloat32 | null = null;

/** The float32 part of the native addon (src/io/native.ts), or null when it is not built. */
export function loadF32Addon(): NativeFloat32 | null {
  addon ??= loadNative()?.float32 ?? null;
  return addon;
}

/** Why the native addon is unavailable (one line), or null when it loaded. */
export function blasUnavailableReason(): string | null {
  return nativeUnavailableReason();
}

// ---- the backend: the cpu backend plus a pool of output buffers ----------------------------------

/**
 * MathBackendCPU whose native kernels take their output arrays from a pool of freed ones. A fresh
 * Float32Array costs page faults and garbage-collector pressure (a depth-32 step allocates ~200 MB);
 * reusing them is what keeps the non-matMul part of a step small.
 *
 * A buffer goes back to the pool only when it is safe: it was allocated by the pool, no live tensor's
 * values use its memory (views such as the cpu Slice kernel's subarrays are counted), and it was
 * never handed out by readSync/read (dataSync() returns the backend's own array, which callers may
 * keep after disposing the tensor).
 */
export class BlasBackend extends MathBackendCPU {
  private readonly free = new Map<number, Float32Array[]>();
  private readonly owned = new WeakSet<ArrayBufferLike>();
  private readonly live = new Map<ArrayBufferLike, number>();
  private pooledBytes = 0;
  /** The most bytes kept in the pool. */
  readonly maxPoolBytes = 512 * 1024 * 1024;

  /** An uninitialized float32 array of length n (the caller overwrites every element). */
  alloc(n: number): Float32Array {
    const list = this.free.get(n);
    if (list && list.length > 0) {
      this.pooledBytes -= 4 * n;
      return list.pop()!;
    }
    const a = new Float32Array(n);
    this.owned.add(a.buffer);
    return a;
  }

  private track(values: unknown): void {
    if (ArrayBuffer.isView(values)) this.live.set(values.buffer, (this.live.get(values.buffer) ?? 0) + 1);
  }

  private release(values: unknown): void {
    if (!ArrayBuffer.isView(values)) return;
    const buf = values.buffer;
    const n = (this.live.get(buf) ?? 1) - 1;
    if (n > 0) {
      this.live.set(buf, n);
      return;
    }
    this.live.delete(buf);
    if (!(values instanceof Float32Array) || !this.owned.has(buf) || values.byteOffset !== 0 || values.byteLength !== buf.byteLength)
      return;
    if (this.pooledBytes + values.byteLength > this.maxPoolBytes) return;
    const list = this.free.get(values.length) ?? [];
    list.push(values);
    this.free.set(values.length, list);
    this.pooledBytes += values.byteLength;
  }

  override write(values: any, shape: number[], dtype: tf.DataType): any {
    const id = super.write(values, shape, dtype);
    this.track(values);
    return id;
  }

  override move(dataId: any, values: any, shape: number[], dtype: tf.DataType, refCount: number): void {
    super.move(dataId, values, shape, dtype, refCount);
    this.track(values);
  }

  override readSync(dataId: any): any {
    const v = this.data.get(dataId)?.values;
    if (ArrayBuffer.isView(v)) this.owned.delete(v.buffer);
    return super.readSync(dataId);
  }

  override async read(dataId: any): Promise<any> {
    return this.readSync(dataId);
  }

  override disposeData(dataId: any, force = false): boolean {
    const values = this.data.get(dataId)?.values;
    const done = super.disposeData(dataId, force);
    if (values !== undefined && !this.data.has(dataId)) this.release(values);
    return done;
  }

  override dispose(): void {
    this.free.clear();
    this.pooledBytes = 0;
    super.dispose();
  }
}

// ---- kernel helpers ------------------------------------------------------------------------------

type Args = { inputs: Record<string, tf.TensorInfo>; backend: BlasBackend; attrs?: Record<string, any> };
type KFunc = (args: Args) => tf.TensorInfo | tf.TensorInfo[];

const size = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);
/**
 * A float32 tensor's values. The cpu backend's Cast shares an int32 or bool tensor's array when it
 * casts to float32 (no loss of precision), so a float32 tensor may hold an Int32Array or Uint8Array;
 * the native kernels take Float32Arrays, and `native` tells them apart.
 */
const raw = (be: BlasBackend, t: tf.TensorInfo) => be.data.get(t.dataId)?.values;
const vals = (be: BlasBackend, t: tf.TensorInfo): Float32Array => {
  const v = raw(be, t);
  return v instanceof Float32Array ? v : Float32Array.from(v as ArrayLike<number>);
};
/** Whether the native kernels can read these tensors as they are (float32 dtype and array). */
const native = (be: BlasBackend, ...ts: tf.TensorInfo[]) => ts.every((t) => t.dtype === 'float32' && raw(be, t) instanceof Float32Array);
const f32 = (...ts: tf.TensorInfo[]) => ts.every((t) => t.dtype === 'float32');

type Mode = OperandMode;

/**
 * How an operand of shape `shape` broadcasts to `out`: the whole output, a scalar, a row vector
 * (its values repeat down the rows: it matches out's trailing dimensions) or a column vector (it
 * matches out's leading dimensions, each value repeated along a row). Null: none of these.
 */
export function operandMode(shape: readonly number[], out: readonly number[]): { mode: Mode; n: number } | null {
  const n = size(shape);
  const total = size(out);
  if (n === total) return { mode: 'full', n };
  if (n === 1) return { mode: 'scalar', n };
  const p = [...new Array(out.length - shape.length).fill(1), ...shape];
  let k = 0;
  while (k < p.length && p[k] === 1) k++;
  if (p.slice(k).every((d, i) => d === out[k + i])) return { mode: 'row', n };
  let j = p.length;
  while (j > 0 && p[j - 1] === 1) j--;
  if (p.slice(0, j).every((d, i) => d === out[i])) return { mode: 'col', n };
  return null;
}

/** The rows × cols view of a binary op's output in which both operands have a mode; null if none. */
export function binaryPlan(
  aShape: readonly number[],
  bShape: readonly number[],
): { out: number[]; rows: number; cols: number; am: Mode; bm: Mode } | null {
  let out: number[];
  try {
    out = tf.backend_util.assertAndGetBroadcastShape(aShape as number[], bShape as number[]);
  } catch {
    return null;
  }
  const total = size(out);
  if (total === 0) return null;
  const a = operandMode(aShape, out);
  const b = operandMode(bShape, out);
  if (!a || !b) return null;
  const rowN = [a, b].filter((o) => o.mode === 'row').map((o) => o.n);
  const colN = [a, b].filter((o) => o.mode === 'col').map((o) => o.n);
  let rows: number;
  let cols: number;
  if (rowN.length) {
    cols = rowN[0];
    rows = total / cols;
  } else if (colN.length) {
    rows = colN[0];
    cols = total / rows;
  } else {
    rows = 1;
    cols = total;
  }
  if (!Number.isInteger(rows) || rowN.some((n) => n !== cols) || colN.some((n) => n !== rows)) return null;
  return { out, rows, cols, am: a.mode, bm: b.mode };
}

function binaryKernel(op: BinaryOp, fallback: KFunc): KFunc {
  const { ops } = addon!;
  const code = ops.binary[op];
  return (args) => {
    const { a, b } = args.inputs;
    if (!native(args.backend, a, b)) return fallback(args);
    const plan = binaryPlan(a.shape, b.shape);
    if (!plan) return fallback(args);
    const out = args.backend.alloc(plan.rows * plan.cols);
    addon!.binary(code, vals(args.backend, a), ops.mode[plan.am], vals(args.backend, b), ops.mode[plan.bm], out, plan.rows, plan.cols);
    return args.backend.makeTensorInfo(plan.out, 'float32', out);
  };
}

function unaryKernel(op: UnaryOp, fallback: KFunc, alphaOf: (attrs?: Record<string, any>) => number = () => 0): KFunc {
  const code = addon!.ops.unary[op];
  return (args) => {
    const { x } = args.inputs;
    if (!native(args.backend, x) || size(x.shape) === 0) return fallback(args);
    const out = args.backend.alloc(size(x.shape));
    addon!.unary(code, vals(args.backend, x), out, alphaOf(args.attrs));
    return args.backend.makeTensorInfo(x.shape, 'float32', out);
  };
}

/** Sum/Mean over leading axes (0..k−1: axis 0 of a rows × cols view) or trailing axes (axis 1). */
export function reducePlan(
  shape: readonly number[],
  axisAttr: number | number[] | null | undefined,
): { rows: number; cols: number; axis: 0 | 1; axes: number[] } | null {
  const axes = [...tf.util.parseAxisParam(axisAttr as any, shape as number[])].sort((x, y) => x - y);
  const r = shape.length;
  if (axes.length === 0 || size(shape) === 0 || new Set(axes).size !== axes.length) return null;
  const leading = axes.every((ax, i) => ax === i);
  const trailing = axes.every((ax, i) => ax === r - axes.length + i);
  if (trailing) {
    const cols = size(shape.slice(r - axes.length));
    return { rows: size(shape) / cols, cols, axis: 1, axes };
  }
  if (leading) {
    const rows = size(shape.slice(0, axes.length));
    return { rows, cols: size(shape) / rows, axis: 0, axes };
  }
  return null;
}

function reduceKernel(mean: boolean, fallback: KFunc): KFunc {
  return (args) => {
    const { x } = args.inputs;
    if (!native(args.backend, x)) return fallback(args);
    const plan = reducePlan(x.shape, args.attrs?.axis);
    if (!plan) return fallback(args);
    const [outShape] = tf.backend_util.computeOutAndReduceShapes(x.shape, plan.axes);
    const out = args.backend.alloc(plan.axis === 0 ? plan.cols : plan.rows);
    addon!.reduce(mean ? 1 : 0, vals(args.backend, x), plan.rows, plan.cols, plan.axis, out);
    const shape = args.attrs?.keepDims ? tf.backend_util.expandShapeToKeepDim(outShape, plan.axes) : outShape;
    return args.backend.makeTensorInfo(shape, 'float32', out);
  };
}

function transposeKernel(fallback: KFunc): KFunc {
  return (args) => {
    const { x } = args.inputs;
    const perm: number[] = args.attrs?.perm ?? [];
    const r = x.shape.length;
    const swapsLastTwo = r >= 2 && perm.every((p, i) => (i < r - 2 ? p === i : p === (i === r - 2 ? r - 1 : r - 2)));
    if (!native(args.backend, x) || !swapsLastTwo || size(x.shape) === 0) return fallback(args);
    const rows = x.shape[r - 2];
    const cols = x.shape[r - 1];
    const batch = size(x.shape) / (rows * cols);
    const src = vals(args.backend, x);
    const out = args.backend.alloc(src.length);
    for (let i = 0; i < batch; i++)
      addon!.transpose(src.subarray(i * rows * cols, (i + 1) * rows * cols), rows, cols, out.subarray(i * rows * cols));
    return args.backend.makeTensorInfo([...x.shape.slice(0, r - 2), cols, rows], 'float32', out);
  };
}

/** a·b (batched, broadcast batch dims, transposes for free) by sgemm; null where the native path does not apply. */
function nativeMatMul(
  be: BlasBackend,
  a: tf.TensorInfo,
  b: tf.TensorInfo,
  ta: boolean,
  tb: boolean,
): { shape: number[]; values: Float32Array } | null {
  const ra = a.shape.length;
  const rb = b.shape.length;
  if (!native(be, a, b) || ra < 2 || rb < 2) return null;
  const [aR, aC] = [a.shape[ra - 2], a.shape[ra - 1]];
  const [bR, bC] = [b.shape[rb - 2], b.shape[rb - 1]];
  const M = ta ? aC : aR;
  const K = ta ? aR : aC;
  const N = tb ? bR : bC;
  if ((tb ? bC : bR) !== K || M * N * K === 0) return null;
  let batchShape: number[];
  try {
    batchShape = tf.backend_util.assertAndGetBroadcastShape(a.shape.slice(0, -2), b.shape.slice(0, -2));
  } catch {
    return null;
  }
  const batch = size(batchShape);
  const batchA = size(a.shape.slice(0, -2));
  const batchB = size(b.shape.slice(0, -2));
  if ((batchA !== batch && batchA !== 1) || (batchB !== batch && batchB !== 1)) return null;
  const A = vals(be, a);
  const B = vals(be, b);
  const C = be.alloc(batch * M * N);
  for (let i = 0; i < batch; i++) {
    const Ai = batchA === 1 ? A : A.subarray(i * aR * aC, (i + 1) * aR * aC);
    const Bi = batchB === 1 ? B : B.subarray(i * bR * bC, (i + 1) * bR * bC);
    addon!.sgemm(ta ? 1 : 0, tb ? 1 : 0, M, N, K, 1, Ai, aC, Bi, bC, 0, batch === 1 ? C : C.subarray(i * M * N), N);
  }
  return { shape: [...batchShape, M, N], values: C };
}

function batchMatMulKernel(fallback: KFunc): KFunc {
  return (args) => {
    const { a, b } = args.inputs;
    const r = nativeMatMul(args.backend, a, b, !!args.attrs?.transposeA, !!args.attrs?.transposeB);
    return r ? args.backend.makeTensorInfo(r.shape, 'float32', r.values) : fallback(args);
  };
}

/**
 * _FusedMatMul (tf.fused.matMul: what tf.layers.dense calls): the product by sgemm, then the bias (a row,
 * column or scalar operand of the native add) and a linear or relu activation, in place; its gradient is
 * tfjs's, in terms of the ops above. Other activations and PReLU weights fall back to the cpu kernel.
 */
function fusedMatMulKernel(fallback: KFunc): KFunc {
  const { ops } = addon!;
  return (args) => {
    const { a, b, bias, preluActivationWeights } = args.inputs;
    const act = args.attrs?.activation ?? 'linear';
    if (preluActivationWeights || (act !== 'linear' && act !== 'relu') || (bias && !native(args.backend, bias))) return fallback(args);
    const r = nativeMatMul(args.backend, a, b, !!args.attrs?.transposeA, !!args.attrs?.transposeB);
    if (!r) return fallback(args);
    if (bias) {
      const bp = binaryPlan(r.shape, bias.shape);
      if (!bp || bp.out.length !== r.shape.length || size(bp.out) !== r.values.length) return fallback(args);
      // in place: each output reads its own input element before writing it
      addon!.binary(ops.binary.add, r.values, ops.mode[bp.am], vals(args.backend, bias), ops.mode[bp.bm], r.values, bp.rows, bp.cols);
    }
    if (act === 'relu') addon!.unary(ops.unary.relu, r.values, r.values, 0);
    return args.backend.makeTensorInfo(r.shape, 'float32', r.values);
  };
}

/**
 * The kernels this backend runs natively, by tfjs kernel name, given the cpu kernel to fall back to.
 * binary/unary ops are named as the addon exports them (OPS in native/blas/index.cjs); the addon gives the codes.
 */
const OVERRIDES: Record<string, (fallback: KFunc) => KFunc> = {
  BatchMatMul: batchMatMulKernel,
  _FusedMatMul: fusedMatMulKernel,
  Add: (f) => binaryKernel('add', f),
  Sub: (f) => binaryKernel('sub', f),
  Multiply: (f) => binaryKernel('mul', f),
  RealDiv: (f) => binaryKernel('div', f),
  Maximum: (f) => binaryKernel('max', f),
  Minimum: (f) => binaryKernel('min', f),
  SquaredDifference: (f) => binaryKernel('sqdiff', f),
  Square: (f) => unaryKernel('square', f),
  Relu: (f) => unaryKernel('relu', f),
  Step: (f) => unaryKernel('step', f, (attrs) => Number(attrs?.alpha ?? 0)),
  Neg: (f) => unaryKernel('neg', f),
  Sqrt: (f) => unaryKernel('sqrt', f),
  Rsqrt: (f) => unaryKernel('rsqrt', f),
  Abs: (f) => unaryKernel('abs', f),
  Sum: (f) => reduceKernel(false, f),
  Mean: (f) => reduceKernel(true, f),
  Transpose: transposeKernel,
};

export const BLAS_KERNELS = Object.keys(OVERRIDES);

// ---- fused kernels (only on this backend; src/train/ops.ts dispatches to them) --------------------

function needF32(name: string, ...ts: tf.TensorInfo[]): void {
  if (!f32(...ts)) throw new Error(`${name}: float32 inputs only (got ${ts.map((t) => t.dtype).join(', ')})`);
}

/** The tfjs kernel name of a fused kernel, as the addon exports it (FUSED in native/blas/index.cjs). */
const kernelOf = (role: FusedKernel) => addon!.fused[role].kernel;

/** The fused kernels by role (batchNorm, …); registered under the addon's kernel names. */
const FUSED = {
  /** Training-mode BN of a B × N batch: [out, ẑ, inv, mean, variance]. */
  batchNorm: ({ inputs: { h, gamma, beta }, backend, attrs }) => {
    needF32(kernelOf('batchNorm'), h, gamma, beta);
    const [R, C] = h.shape;
    if (h.shape.length !== 2 || size(gamma.shape) !== C || size(beta.shape) !== C)
      throw new Error(`${kernelOf('batchNorm')}: shapes ${h.shape}, ${gamma.shape}, ${beta.shape}`);
    const out = backend.alloc(R * C);
    const zhat = backend.alloc(R * C);
    const [inv, mean, variance] = [backend.alloc(C), backend.alloc(C), backend.alloc(C)];
    addon!.bnForward(vals(backend, h), vals(backend, gamma), vals(backend, beta), Number(attrs?.eps), R, C, out, zhat, inv, mean, variance);
    return [
      backend.makeTensorInfo([R, C], 'float32', out),
      backend.makeTensorInfo([R, C], 'float32', zhat),
      ...[inv, mean, variance].map((v) => backend.makeTensorInfo([C], 'float32', v)),
    ];
  },
  /** Its backward: [dh, dγ, dβ]. */
  batchNormGrad: ({ inputs: { dy, zhat, inv, gamma }, backend }) => {
    needF32(kernelOf('batchNormGrad'), dy, zhat, inv, gamma);
    const [R, C] = dy.shape;
    const dh = backend.alloc(R * C);
    const [dg, db] = [backend.alloc(C), backend.alloc(C)];
    addon!.bnBackward(vals(backend, dy), vals(backend, zhat), vals(backend, inv), vals(backend, gamma), R, C, dh, dg, db);
    return [
      backend.makeTensorInfo([R, C], 'float32', dh),
      backend.makeTensorInfo([C], 'float32', dg),
      backend.makeTensorInfo([C], 'float32', db),
    ];
  },
  /** p − lr·g. */
  sgdUpdate: ({ inputs: { p, g }, backend, attrs }) => {
    needF32(kernelOf('sgdUpdate'), p, g);
    const out = backend.alloc(size(p.shape));
    addon!.sgdUpdate(vals(backend, p), vals(backend, g), Number(attrs?.lr), out);
    return backend.makeTensorInfo(p.shape, 'float32', out);
  },
  /** [Σ x₀², Σ x₁², …] of the inputs x0, x1, …. */
  sumSquares: ({ inputs, backend }) => {
    const ts = Object.keys(inputs)
      .sort((a, b) => Number(a.slice(1)) - Number(b.slice(1)))
      .map((k) => inputs[k]);
    needF32(kernelOf('sumSquares'), ...ts);
    const out = backend.alloc(ts.length);
    for (let i = 0; i < ts.length; i++) out[i] = addon!.sumSquares(vals(backend, ts[i]));
    return backend.makeTensorInfo([ts.length], 'float32', out);
  },
} satisfies Record<FusedKernel, KFunc>;

/**
 * Kernels of this backend's own (kernel names of ours, not the addon's table), each one engine dispatch where
 * the op sequence it replaces takes two to four; they make the same native calls in the same order as those
 * ops do on this backend, so they give the same bits (test/train/blasFused.test.ts):
 * SignalpropDense: x·K + b (the sgemm of BatchMatMul, then the row add of Add, in place);
 * SignalpropDenseGrad (its gradient): [dy·Kᵀ, xᵀ·dy, Σ_batch dy] (the two sgemms of the transposed
 * BatchMatMuls and the axis-0 Sum); SignalpropRelu: relu(x) (Relu); SignalpropReluGrad: dy·step(x) (tfjs's
 * Relu gradient, mul(dy, cast(step(x))): Step, then Multiply, in place).
 */
export const OWN_KERNELS = {
  dense: 'SignalpropDense',
  denseGrad: 'SignalpropDenseGrad',
  relu: 'SignalpropRelu',
  reluGrad: 'SignalpropReluGrad',
} as const;

function need2d(name: string, ...ts: tf.TensorInfo[]): void {
  needF32(name, ...ts);
  if (ts.some((t) => t.shape.length > 2))
    throw new Error(`${name}: matrices and vectors only (got ${ts.map((t) => `[${t.shape}]`).join(', ')})`);
}

const OWN: Record<keyof typeof OWN_KERNELS, KFunc> = {
  dense: ({ inputs: { x, K, b }, backend }) => {
    need2d(OWN_KERNELS.dense, x, K, b);
    const [R, I] = x.shape;
    const N = K.shape[1];
    if (K.shape[0] !== I || size(b.shape) !== N || R * I * N === 0)
      throw new Error(`${OWN_KERNELS.dense}: shapes ${x.shape}, ${K.shape}, ${b.shape}`);
    const out = backend.alloc(R * N);
    addon!.sgemm(0, 0, R, N, I, 1, vals(backend, x), I, vals(backend, K), N, 0, out, N);
    const { ops } = addon!;
    addon!.binary(ops.binary.add, out, ops.mode.full, vals(backend, b), ops.mode.row, out, R, N);
    return backend.makeTensorInfo([R, N], 'float32', out);
  },
  denseGrad: ({ inputs: { dy, x, K }, backend }) => {
    need2d(OWN_KERNELS.denseGrad, dy, x, K);
    const [R, N] = dy.shape;
    const I = x.shape[1];
    if (x.shape[0] !== R || K.shape[0] !== I || K.shape[1] !== N || R * I * N === 0)
      throw new Error(`${OWN_KERNELS.denseGrad}: shapes ${dy.shape}, ${x.shape}, ${K.shape}`);
    const d = vals(backend, dy);
    const dx = backend.alloc(R * I);
    const dk = backend.alloc(I * N);
    const db = backend.alloc(N);
    addon!.sgemm(0, 1, R, I, N, 1, d, N, vals(backend, K), N, 0, dx, I);
    addon!.sgemm(1, 0, I, N, R, 1, vals(backend, x), I, d, N, 0, dk, N);
    addon!.reduce(0, d, R, N, 0, db);
    return [
      backend.makeTensorInfo([R, I], 'float32', dx),
      backend.makeTensorInfo([I, N], 'float32', dk),
      backend.makeTensorInfo([N], 'float32', db),
    ];
  },
  relu: ({ inputs: { x }, backend }) => {
    needF32(OWN_KERNELS.relu, x);
    const out = backend.alloc(size(x.shape));
    if (out.length) addon!.unary(addon!.ops.unary.relu, vals(backend, x), out, 0);
    return backend.makeTensorInfo(x.shape, 'float32', out);
  },
  reluGrad: ({ inputs: { dy, x }, backend }) => {
    needF32(OWN_KERNELS.reluGrad, dy, x);
    const n = size(x.shape);
    if (size(dy.shape) !== n) throw new Error(`${OWN_KERNELS.reluGrad}: shapes ${dy.shape}, ${x.shape}`);
    const out = backend.alloc(n);
    if (n) {
      const { ops } = addon!;
      // step(x), then dy times it in place (each element is read before it is written)
      addon!.unary(ops.unary.step, vals(backend, x), out, 0);
      addon!.binary(ops.binary.mul, vals(backend, dy), ops.mode.full, out, ops.mode.full, out, 1, n);
    }
    return backend.makeTensorInfo(x.shape, 'float32', out);
  },
};

/** The gradients of SignalpropDense and SignalpropRelu (tfjs's gradient registry is global; the names are ours). */
function registerOwnGradients(): void {
  const run = (name: string, inputs: Record<string, tf.Tensor>) =>
    tf.engine().runKernel(name, inputs as any, {}) as unknown as tf.Tensor | tf.Tensor[];
  tf.registerGradient({
    kernelName: OWN_KERNELS.dense,
    inputsToSave: ['x', 'K'],
    gradFunc: (dy, saved) => {
      const [x, K] = saved;
      // at once, not in the thunks: the tape runs each thunk in its own tidy, which would dispose the others
      const [dx, dk, db] = run(OWN_KERNELS.denseGrad, { dy: dy as tf.Tensor, x, K }) as tf.Tensor[];
      return { x: () => dx, K: () => dk, b: () => db };
    },
  });
  tf.registerGradient({
    kernelName: OWN_KERNELS.relu,
    inputsToSave: ['x'],
    gradFunc: (dy, saved) => ({ x: () => run(OWN_KERNELS.reluGrad, { dy: dy as tf.Tensor, x: saved[0] }) as tf.Tensor }),
  });
}

/** The fused kernels' roles. */
export const FUSED_KERNELS = Object.keys(FUSED) as FusedKernel[];

/** The tfjs kernel name of a fused kernel (src/train/ops.ts dispatches to it), or null without the addon. */
export function fusedKernelName(role: FusedKernel): string | null {
  return loadF32Addon()?.fused[role].kernel ?? null;
}

let registered = false;

/**
 * Register the "blas" tfjs backend (once per process). Returns false, with the reason in
 * `blasUnavailableReason()`, when the native addon is not built.
 */
export function registerBlasBackend(): boolean {
  if (registered) return true;
  if (!loadF32Addon()) return false;
  // Priority -1: tfjs never picks it on its own; initBackend selects it by name.
  tf.registerBackend('blas', () => new BlasBackend(), -1);
  for (const k of tf.getKernelsForBackend('cpu')) {
    const make = OVERRIDES[k.kernelName];
    const kernelFunc = make ? (make(k.kernelFunc as unknown as KFunc) as unknown as tf.KernelFunc) : k.kernelFunc;
    tf.registerKernel({ ...k, backendName: 'blas', kernelFunc });
  }
  for (const role of FUSED_KERNELS)
    tf.registerKernel({ kernelName: kernelOf(role), backendName: 'blas', kernelFunc: FUSED[role] as unknown as tf.KernelFunc });
  for (const [role, kernelName] of Object.entries(OWN_KERNELS))
    tf.registerKernel({ kernelName, backendName: 'blas', kernelFunc: OWN[role as keyof typeof OWN_KERNELS] as unknown as tf.KernelFunc });
  registerOwnGradients();
  registered = true;
  return true;
}

/** Set the BLAS thread count (the whole process shares one OpenBLAS). */
export function setBlasThreads(n: number): void {
  loadNative()?.threads.set(n);
}

export function blasThreads(): number | null {
  return loadNative()?.threads.get() ?? null;
}

/** What runs the float32 matMul (e.g. "oneDNN 2.6.3") and OpenBLAS's kernel set, for manifests. */
export function blasLibraries(): { sgemm: string; openblasCore: string } | null {
  const info = loadNative()?.info;
  return info ? { sgemm: info.sgemm, openblasCore: info.openblasCore } : null;
}
