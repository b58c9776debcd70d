// The types of what index.cjs exports: the addon's functions (blas.c) and the names of its codes.
// Only src/io/native.ts loads it (as `signalprop-blas`); test/io/native.test.ts checks these names
// against the built addon's exports.

/** Row-major C = alpha op(A) op(B) + beta C; trans flags are 0 or 1. */
type Gemm<T> = (
  transA: number,
  transB: number,
  M: number,
  N: number,
  K: number,
  alpha: number,
  A: T,
  lda: number,
  B: T,
  ldb: number,
  beta: number,
  C: T,
  ldc: number,
) => void;

export type BinaryOp = 'add' | 'sub' | 'mul' | 'div' | 'max' | 'min' | 'sqdiff';
export type UnaryOp = 'square' | 'relu' | 'step' | 'neg' | 'sqrt' | 'rsqrt' | 'abs';
export type OperandMode = 'full' | 'scalar' | 'row' | 'col';
export type FusedKernel = 'batchNorm' | 'batchNormGrad' | 'sgdUpdate' | 'sumSquares';

export interface Ops {
  readonly binary: Readonly<Record<BinaryOp, number>>;
  readonly unary: Readonly<Record<UnaryOp, number>>;
  readonly mode: Readonly<Record<OperandMode, number>>;
}

export interface Binding {
  dgemm: Gemm<Float64Array>;
  /** Upper triangle of C = alpha op(A) op(A)^T + beta C. */
  dsyrk(trans: number, N: number, K: number, alpha: number, A: Float64Array, lda: number, beta: number, C: Float64Array, ldc: number): void;
  sgemm: Gemm<Float32Array>;
  binary(op: number, a: Float32Array, am: number, b: Float32Array, bm: number, out: Float32Array, rows: number, cols: number): void;
  unary(op: number, x: Float32Array, out: Float32Array, alpha: number): void;
  reduce(mean: number, x: Float32Array, rows: number, cols: number, axis: number, out: Float32Array): void;
  transpose(x: Float32Array, rows: number, cols: number, out: Float32Array): void;
  bnForward(
    h: Float32Array,
    gamma: Float32Array,
    beta: Float32Array,
    eps: number,
    rows: number,
    cols: number,
    out: Float32Array,
    zhat: Float32Array,
    inv: Float32Array,
    mean: Float32Array,
    variance: Float32Array,
  ): void;
  bnBackward(
    dy: Float32Array,
    zhat: Float32Array,
    inv: Float32Array,
    gamma: Float32Array,
    rows: number,
    cols: number,
    dh: Float32Array,
    dgamma: Float32Array,
    dbeta: Float32Array,
  ): void;
  sgdUpdate(p: Float32Array, g: Float32Array, lr: number, out: Float32Array): void;
  sumSquares(x: Float32Array): number;
  setThreads(n: number): void;
  getThreads(): number;
  /** What runs sgemm: "oneDNN <version>" or "OpenBLAS". */
  sgemmEngine(): string;
  /** OpenBLAS's kernel set (e.g. "Haswell"). */
  coreName(): string;
}

export type FusedFn = 'bnForward' | 'bnBackward' | 'sgdUpdate' | 'sumSquares';

/** Only in a build with oneDNN: its direct convolution (blas.c Conv2d). */
export interface ConvBinding {
  /**
   * op 0: out = conv(a = x, b = filter); op 1: out = ∂x from (a = ∂y, b = filter); op 2: out = ∂filter from
   * (a = x, b = ∂y). x [B, H, W, C] and y [B, Ho, Wo, C_out] NHWC, filter [k, k, C, C_out] (HWIO), symmetric
   * zero padding, no bias; one thread per call (the same bits at any thread count).
   */
  conv2d(
    op: number,
    B: number,
    H: number,
    W: number,
    C: number,
    cOut: number,
    k: number,
    stride: number,
    pad: number,
    a: Float32Array,
    b: Float32Array,
    out: Float32Array,
  ): void;
  /** The implementation oneDNN picked for the last convolution it set up (e.g. "jit:avx2"). */
  convImpl(): string;
}

/**
 * Philox4x32-10 (blas.c philoxNormal, philox4x32): the same bits as src/network/philox.ts. Optional, so that
 * an addon built before it still loads (then the TypeScript generator runs).
 */
export interface RandomBinding {
  /**
   * out[i] = scale · element offset + i of the standard normal stream of key (k0, k1) (Box–Muller, as
   * fillNormalPhilox), a Float32Array rounding each double once; split over `threads` threads, the same bits
   * at any count. offset: an integer, offset + out.length ≤ 2^53.
   */
  philoxNormal(out: Float64Array | Float32Array, k0: number, k1: number, offset: number, scale: number, threads: number): void;
  /** One block: out = Philox4x32_rounds(ctr, (k0, k1)); ctr and out hold 4 words, rounds 0 … 16. */
  philox4x32(ctr: Uint32Array, k0: number, k1: number, rounds: number, out: Uint32Array): void;
  /**
   * The kernel philoxNormal runs: "avx2" (8 blocks a step, chosen at load where the CPU has AVX2) or "portable"
   * (one block a step); both give the same bits. With `use`, selects it first (process-wide; for the tests).
   */
  philoxKernel(use?: 'avx2' | 'portable'): 'avx2' | 'portable';
}

declare const addon: Binding &
  Partial<ConvBinding> &
  Partial<RandomBinding> & {
  readonly OPS: Ops;
  readonly FUSED: Readonly<Record<FusedKernel, { readonly kernel: string; readonly fn: FusedFn }>>;
};
export = addon;
