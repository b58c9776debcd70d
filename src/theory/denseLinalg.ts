// Small dense float64 kernels for the batch-Gram dynamics (gramDynamics.ts): C = A·Bᵀ on row-major
// Float64Arrays with 3×3 register blocks and k-blocking, its symmetric (syrk) case, and a pivoted
// Cholesky factorisation that tolerates the rank-deficient Gram matrices of symmetry-broken states.
// Pure TypeScript, no Node APIs (src/theory runs in a browser).

const KC = 512;

/**
 * C = alpha·A·Bᵀ (overwrites C). A is m×k (row stride lda), Bm is n×k (row stride ldb), C is m×n (row
 * stride ldc). Each entry is the dot product of a row of A and a row of Bm, so both are read along their
 * rows. `sym`: A and Bm are the same matrix (m = n); only the upper triangle is computed and then mirrored.
 * `rowK[i]`: row i of A is zero beyond its first rowK[i] entries (a lower-trapezoidal factor), which
 * skips those products.
 */
export function gemmABt(
  m: number,
  n: number,
  k: number,
  alpha: number,
  A: Float64Array,
  lda: number,
  Bm: Float64Array,
  ldb: number,
  C: Float64Array,
  ldc: number,
  opts: { sym?: boolean; rowK?: Int32Array } = {},
): void {
  const sym = opts.sym === true;
  const rowK = opts.rowK;
  for (let i = 0; i < m; i++) C.fill(0, i * ldc, i * ldc + n);
  const m3 = m - (m % 3);
  const n3 = n - (n % 3);
  for (let k0 = 0; k0 < k; k0 += KC) {
    const k1 = Math.min(k, k0 + KC);
    for (let i = 0; i < m3; i += 3) {
      const kend = rowK ? Math.min(k1, Math.max(rowK[i], rowK[i + 1], rowK[i + 2])) : k1;
      if (kend <= k0) continue;
      const a0 = i * lda;
      const a1 = a0 + lda;
      const a2 = a1 + lda;
      for (let j = sym ? i : 0; j < n3; j += 3) {
        const b0 = j * ldb;
        const b1 = b0 + ldb;
        const b2 = b1 + ldb;
        let c00 = 0;
        let c01 = 0;
        let c02 = 0;
        let c10 = 0;
        let c11 = 0;
        let c12 = 0;
        let c20 = 0;
        let c21 = 0;
        let c22 = 0;
        for (let t = k0; t < kend; t++) {
          const x0 = A[a0 + t];
          const x1 = A[a1 + t];
          const x2 = A[a2 + t];
          const y0 = Bm[b0 + t];
          const y1 = Bm[b1 + t];
          const y2 = Bm[b2 + t];
          c00 += x0 * y0;
          c01 += x0 * y1;
          c02 += x0 * y2;
          c10 += x1 * y0;
          c11 += x1 * y1;
          c12 += x1 * y2;
          c20 += x2 * y0;
          c21 += x2 * y1;
          c22 += x2 * y2;
        }
        let r = i * ldc + j;
        C[r] += c00;
        C[r + 1] += c01;
        C[r + 2] += c02;
        r += ldc;
        C[r] += c10;
        C[r + 1] += c11;
        C[r + 2] += c12;
        r += ldc;
        C[r] += c20;
        C[r + 1] += c21;
        C[r + 2] += c22;
      }
    }
  }
  // the remainder rows (i ≥ m3) and columns (j ≥ n3), one dot product each
  const dot = (i: number, j: number): number => {
    const a = i * lda;
    const b = j * ldb;
    const kend = rowK ? Math.min(k, rowK[i]) : k;
    let s = 0;
    for (let t = 0; t < kend; t++) s += A[a + t] * Bm[b + t];
    return s;
  };
  for (let i = 0; i < m; i++) {
    const j0 = i < m3 ? n3 : sym ? i : 0;
    for (let j = j0; j < n; j++) C[i * ldc + j] = dot(i, j);
  }
  if (sym) {
    for (let i = 0; i < m; i++) for (let j = i + 1; j < n; j++) C[j * ldc + i] = C[i * ldc + j];
  }
  if (alpha !== 1) for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) C[i * ldc + j] *= alpha;
}

export interface PivotedCholesky {
  /** The factor, row-major n×rank: S[perm[i], perm[j]] ≈ Σ_k L[i·rank + k]·L[j·rank + k]; L[i, k] = 0 for k > i. */
  L: Float64Array;
  rank: number;
  /** perm[i] is the original index of factor row i. */
  perm: Int32Array;
  /** rowK[i] = min(i + 1, rank): the nonzero prefix of factor row i (for gemmABt). */
  rowK: Int32Array;
  /** The largest diagonal entry of the Schur complement left out (the factorisation error bound). */
  residual: number;
}

/**
 * Diagonally pivoted Cholesky of a symmetric positive semidefinite n×n matrix S (row-major; not modified):
 * S ≈ P L Lᵀ Pᵀ, stopping when every remaining Schur-complement diagonal is ≤ relTol·max_i S_ii (Higham,
 * "Accuracy and Stability of Numerical Algorithms", §10.3). Exact in law for sampling N(0, S) up to that
 * residual; a rank-deficient S (collapsed samples) gives rank < n. O(n²·rank).
 */
export function pivotedCholesky(S: Float64Array, n: number, relTol = 1e-12): PivotedCholesky {
  // left-looking form (no row swaps): column k is S[:, p_k] minus the earlier columns' contributions
  const Lw = new Float64Array(n * n); // row i = original index i, column k = step k
  const d = new Float64Array(n);
  const used = new Uint8Array(n);
  let maxDiag = 0;
  for (let i = 0; i < n; i++) {
    d[i] = S[i * n + i];
    maxDiag = Math.max(maxDiag, d[i]);
  }
  const tol = relTol * maxDiag;
  const pivots: number[] = [];
  let residual = 0;
  for (let k = 0; k < n; k++) {
    let p = -1;
    let best = Number.NEGATIVE_INFINITY;
    for (let i = 0; i < n; i++) {
      if (!used[i] && d[i] > best) {
        best = d[i];
        p = i;
      }
    }
    if (p < 0 || !(best > tol)) {
      residual = p < 0 ? 0 : Math.max(0, best);
      break;
    }
    used[p] = 1;
    pivots.push(p);
    const lpp = Math.sqrt(best);
    const rp = p * n;
    Lw[rp + k] = lpp;
    d[p] = 0;
    for (let i = 0; i < n; i++) {
      if (used[i]) continue;
      const ri = i * n;
      let s = S[ri + p];
      for (let j = 0; j < k; j++) s -= Lw[ri + j] * Lw[rp + j];
      const lik = s / lpp;
      Lw[ri + k] = lik;
      d[i] -= lik * lik;
    }
  }
  const rank = pivots.length;
  const perm = new Int32Array(n);
  for (let i = 0; i < rank; i++) perm[i] = pivots[i];
  let t = rank;
  for (let i = 0; i < n; i++) if (!used[i]) perm[t++] = i;
  const L = new Float64Array(n * rank);
  const rowK = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const src = perm[i] * n;
    const kmax = Math.min(i + 1, rank);
    rowK[i] = kmax;
    for (let k = 0; k < kmax; k++) L[i * rank + k] = Lw[src + k];
  }
  return { L, rank, perm, rowK, residual };
}
