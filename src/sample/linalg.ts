// Float64 matrix kernels for the sampler: the optional native addon (native/blas, an
// optionalDependency built at install, loaded by src/io/native.ts) when it loads, else pure-TypeScript
// loops that are always available. Both compute the same row-major BLAS operations, so results agree
// to rounding.
import {
  canonicalBackend,
  isNativeName,
  NATIVE_BUILD_HINT,
  warnSlowPath,
  type Native,
  type NativeAlias,
  loadNative,
  nativeUnavailableReason,
} from '../io/native.js';

/** Row-major dense kernels (BLAS semantics; op(X) = X or Xᵀ). */
export interface Kernels {
  /** 'openblas' or 'typescript'. */
  readonly name: string;
  /** C = alpha·op(A)·op(B) + beta·C; op(A) is M×K, op(B) is K×N, C is M×N (leading dims lda, ldb, ldc). */
  gemm(
    transA: boolean,
    transB: boolean,
    M: number,
    N: number,
    K: number,
    alpha: number,
    A: Float64Array,
    lda: number,
    B: Float64Array,
    ldb: number,
    beta: number,
    C: Float64Array,
    ldc: number,
  ): void;
  /** Upper triangle of C = alpha·op(A)·op(A)ᵀ + beta·C; op(A) is N×K (A is K×N when trans). */
  syrk(trans: boolean, N: number, K: number, alpha: number, A: Float64Array, lda: number, beta: number, C: Float64Array, ldc: number): void;
  /** Threads the kernels may use (no-op for the TypeScript kernels, which run on the calling thread). */
  setThreads(n: number): void;
  getThreads(): number;
}

function scaleC(M: number, N: number, beta: number, C: Float64Array, ldc: number): void {
  if (beta === 1) return;
  for (let i = 0; i < M; i++) {
    const r = i * ldc;
    if (beta === 0) C.fill(0, r, r + N);
    else for (let j = 0; j < N; j++) C[r + j] *= beta;
  }
}

/** C += alpha·A·B (no transposes): i-k-j order, the inner loop streams rows of B and C. */
function gemmNN(
  M: number,
  N: number,
  K: number,
  alpha: number,
  A: Float64Array,
  lda: number,
  B: Float64Array,
  ldb: number,
  C: Float64Array,
  ldc: number,
): void {
  for (let i = 0; i < M; i++) {
    const ci = i * ldc;
    const ai = i * lda;
    let k = 0;
    for (; k + 3 < K; k += 4) {
      const a0 = alpha * A[ai + k];
      const a1 = alpha * A[ai + k + 1];
      const a2 = alpha * A[ai + k + 2];
      const a3 = alpha * A[ai + k + 3];
      const b0 = k * ldb;
      const b1 = b0 + ldb;
      const b2 = b1 + ldb;
      const b3 = b2 + ldb;
      for (let j = 0; j < N; j++) C[ci + j] += a0 * B[b0 + j] + a1 * B[b1 + j] + a2 * B[b2 + j] + a3 * B[b3 + j];
    }
    for (; k < K; k++) {
      const a0 = alpha * A[ai + k];
      const b0 = k * ldb;
      for (let j = 0; j < N; j++) C[ci + j] += a0 * B[b0 + j];
    }
  }
}

/** C += alpha·A·Bᵀ: dot products of rows of A and rows of B, 2×2 register blocks. */
function gemmNT(
  M: number,
  N: number,
  K: number,
  alpha: number,
  A: Float64Array,
  lda: number,
  B: Float64Array,
  ldb: number,
  C: Float64Array,
  ldc: number,
): void {
  let i = 0;
  for (; i + 1 < M; i += 2) {
    const a0 = i * lda;
    const a1 = a0 + lda;
    let j = 0;
    for (; j + 1 < N; j += 2) {
      const b0 = j * ldb;
      const b1 = b0 + ldb;
      let s00 = 0;
      let s01 = 0;
      let s10 = 0;
      let s11 = 0;
      for (let k = 0; k < K; k++) {
        const x0 = A[a0 + k];
        const x1 = A[a1 + k];
        const y0 = B[b0 + k];
        const y1 = B[b1 + k];
        s00 += x0 * y0;
        s01 += x0 * y1;
        s10 += x1 * y0;
        s11 += x1 * y1;
      }
      C[i * ldc + j] += alpha * s00;
      C[i * ldc + j + 1] += alpha * s01;
      C[(i + 1) * ldc + j] += alpha * s10;
      C[(i + 1) * ldc + j + 1] += alpha * s11;
    }
    for (; j < N; j++) {
      const b0 = j * ldb;
      let s0 = 0;
      let s1 = 0;
      for (let k = 0; k < K; k++) {
        s0 += A[a0 + k] * B[b0 + k];
        s1 += A[a1 + k] * B[b0 + k];
      }
      C[i * ldc + j] += alpha * s0;
      C[(i + 1) * ldc + j] += alpha * s1;
    }
  }
  for (; i < M; i++) {
    const a0 = i * lda;
    for (let j = 0; j < N; j++) {
      const b0 = j * ldb;
      let s = 0;
      for (let k = 0; k < K; k++) s += A[a0 + k] * B[b0 + k];
      C[i * ldc + j] += alpha * s;
    }
  }
}

/** C += alpha·Aᵀ·B: rank-one updates over k; the inner loop streams rows of B and C. */
function gemmTN(
  M: number,
  N: number,
  K: number,
  alpha: number,
  A: Float64Array,
  lda: number,
  B: Float64Array,
  ldb: number,
  C: Float64Array,
  ldc: number,
): void {
  let k = 0;
  for (; k + 1 < K; k += 2) {
    const ak0 = k * lda;
    const ak1 = ak0 + lda;
    const bk0 = k * ldb;
    const bk1 = bk0 + ldb;
    for (let i = 0; i < M; i++) {
      const a0 = alpha * A[ak0 + i];
      const a1 = alpha * A[ak1 + i];
      if (a0 === 0 && a1 === 0) continue;
      const ci = i * ldc;
      for (let j = 0; j < N; j++) C[ci + j] += a0 * B[bk0 + j] + a1 * B[bk1 + j];
    }
  }
  for (; k < K; k++) {
    const ak = k * lda;
    const bk = k * ldb;
    for (let i = 0; i < M; i++) {
      const a = alpha * A[ak + i];
      if (a === 0) continue;
      const ci = i * ldc;
      for (let j = 0; j < N; j++) C[ci + j] += a * B[bk + j];
    }
  }
}

/** C += alpha·Aᵀ·Bᵀ (rare here): via a transposed copy of B. */
function gemmTT(
  M: number,
  N: number,
  K: number,
  alpha: number,
  A: Float64Array,
  lda: number,
  B: Float64Array,
  ldb: number,
  C: Float64Array,
  ldc: number,
): void {
  const Bt = new Float64Array(K * N);
  for (let j = 0; j < N; j++) for (let k = 0; k < K; k++) Bt[k * N + j] = B[j * ldb + k];
  gemmTN(M, N, K, alpha, A, lda, Bt, N, C, ldc);
}

export const tsKernels: Kernels = {
  name: 'typescript',
  gemm(transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc) {
    scaleC(M, N, beta, C, ldc);
    if (alpha === 0 || K === 0) return;
    if (!transA && !transB) gemmNN(M, N, K, alpha, A, lda, B, ldb, C, ldc);
    else if (!transA && transB) gemmNT(M, N, K, alpha, A, lda, B, ldb, C, ldc);
    else if (transA && !transB) gemmTN(M, N, K, alpha, A, lda, B, ldb, C, ldc);
    else gemmTT(M, N, K, alpha, A, lda, B, ldb, C, ldc);
  },
  syrk(trans, N, K, alpha, A, lda, beta, C, ldc) {
    // full product (both triangles); callers read the upper triangle only
    if (trans) this.gemm(true, false, N, N, K, alpha, A, lda, A, lda, beta, C, ldc);
    else this.gemm(false, true, N, N, K, alpha, A, lda, A, lda, beta, C, ldc);
  },
  setThreads() {},
  getThreads() {
    return 1;
  },
};

function wrapNative({ float64: a, threads }: Native): Kernels {
  return {
    // the name the records carry (SampleResult.backend); "native" is the user-facing name of the addon
    name: 'openblas',
    gemm(transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc) {
      if (M === 0 || N === 0) return;
      if (K === 0) {
        scaleC(M, N, beta, C, ldc);
        return;
      }
      a.dgemm(transA ? 1 : 0, transB ? 1 : 0, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
    },
    syrk(trans, N, K, alpha, A, lda, beta, C, ldc) {
      if (N === 0) return;
      if (K === 0) {
        scaleC(N, N, beta, C, ldc);
        return;
      }
      a.dsyrk(trans ? 1 : 0, N, K, alpha, A, lda, beta, C, ldc);
    },
    setThreads: (n) => threads.set(n),
    getThreads: () => threads.get(),
  };
}

let nativeCache: Kernels | null | undefined;

/** The native (OpenBLAS) kernels, or null when the optional addon is not built (see nativeKernelsError()). */
export function nativeKernels(): Kernels | null {
  if (nativeCache === undefined) {
    const n = loadNative();
    nativeCache = n ? wrapNative(n) : null;
  }
  return nativeCache;
}

/** Why the native kernels are unavailable ('' when they loaded). */
export function nativeKernelsError(): string {
  return nativeUnavailableReason() ?? '';
}

/** The sampler's kernel choices; "native" also answers to its older names (NATIVE_ALIASES: "blas", "openblas"). */
export const SAMPLE_BACKENDS = ['auto', 'native', 'typescript'] as const;
export type BackendChoice = (typeof SAMPLE_BACKENDS)[number] | NativeAlias;

/** Whether `name` is a kernel choice of the sampler (SAMPLE_BACKENDS or an alias of native). */
export function isBackendChoice(name: unknown): name is BackendChoice {
  return (SAMPLE_BACKENDS as readonly unknown[]).includes(name) || isNativeName(name);
}

/** Pick kernels: 'auto' prefers the native addon and falls back to TypeScript; 'native' throws if the addon is missing. */
export function kernels(choice: BackendChoice = 'auto'): Kernels {
  const c = canonicalBackend(choice);
  if (c === 'typescript') return tsKernels;
  const n = nativeKernels();
  if (n) return n;
  if (c === 'native') {
    throw new Error(`backend: "native" is not available (${nativeKernelsError()}); ${NATIVE_BUILD_HINT} or use "auto" / "typescript"`);
  }
  warnSlowPath('sampler');
  return tsKernels;
}
