// signalprop-blas: a small N-API binding to the system CBLAS (OpenBLAS).
// float64: row-major dgemm / dsyrk on Float64Array views (the sampler).
// float32: sgemm and the elementwise, reduction and transpose kernels of signalprop's "blas" tfjs
// backend (src/train/blas.ts), on Float32Array views. The elementwise kernels compute in double and
// round once to float, as the tfjs cpu backend's JavaScript kernels do, so they give the same bits.
#include <node_api.h>
#include <cblas.h>
#include <math.h>
#include <stdbool.h>
#include <stddef.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef SP_DNNL
// Built with oneDNN when its headers are installed (Debian libdnnl-dev): its sgemm JIT-compiles
// kernels for the instruction set the CPU reports (AVX-512 where there is one), while OpenBLAS may be
// pinned to older kernels (OPENBLAS_CORETYPE). float64 stays on OpenBLAS (oneDNN has no dgemm).
#include <oneapi/dnnl/dnnl.h>
#include <omp.h>
#include <signal.h>
#endif

// Provided by OpenBLAS (declared in its cblas.h on Debian; declared here for other layouts).
extern void openblas_set_num_threads(int);
extern int openblas_get_num_threads(void);
extern char *openblas_get_corename(void);

// A typed array of the given type (Float64Array or Float32Array): its data and length.
static bool get_typed(napi_env env, napi_value v, napi_typedarray_type want, void **data, size_t *len) {
  napi_typedarray_type type;
  napi_value buf;
  size_t off;
  if (napi_get_typedarray_info(env, v, &type, len, data, &buf, &off) != napi_ok || type != want) {
    napi_throw_type_error(env, NULL, want == napi_float64_array ? "signalprop-blas: expected a Float64Array" : "signalprop-blas: expected a Float32Array");
    return false;
  }
  return true;
}

static bool get_f64(napi_env env, napi_value v, double **data, size_t *len) {
  return get_typed(env, v, napi_float64_array, (void **)data, len);
}

static bool get_f32(napi_env env, napi_value v, float **data, size_t *len) {
  return get_typed(env, v, napi_float32_array, (void **)data, len);
}

static bool get_i(napi_env env, napi_value v, int *out) {
  if (napi_get_value_int32(env, v, out) != napi_ok) {
    napi_throw_type_error(env, NULL, "signalprop-blas: expected an integer");
    return false;
  }
  return true;
}

static bool get_d(napi_env env, napi_value v, double *out) {
  if (napi_get_value_double(env, v, out) != napi_ok) {
    napi_throw_type_error(env, NULL, "signalprop-blas: expected a number");
    return false;
  }
  return true;
}

// gemm's 13 arguments (transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc) with typed arrays
// of one type, checked: positive dimensions, and row-major op(A) (M x K), op(B) (K x N) and C (M x N)
// within their arrays at the given leading dimensions.
typedef struct {
  int ta, tb, M, N, K, lda, ldb, ldc;
  double alpha, beta;
  void *A, *B, *C;
} GemmArgs;

static bool gemm_args(napi_env env, napi_callback_info info, napi_typedarray_type type, const char *name, GemmArgs *g) {
  size_t argc = 13;
  napi_value a[13];
  char msg[96];
  napi_get_cb_info(env, info, &argc, a, NULL, NULL);
  if (argc != 13) {
    snprintf(msg, sizeof msg, "signalprop-blas: %s takes 13 arguments", name);
    napi_throw_error(env, NULL, msg);
    return false;
  }
  size_t la, lb, lc;
  if (!get_i(env, a[0], &g->ta) || !get_i(env, a[1], &g->tb) || !get_i(env, a[2], &g->M) || !get_i(env, a[3], &g->N) ||
      !get_i(env, a[4], &g->K) || !get_d(env, a[5], &g->alpha) || !get_typed(env, a[6], type, &g->A, &la) ||
      !get_i(env, a[7], &g->lda) || !get_typed(env, a[8], type, &g->B, &lb) || !get_i(env, a[9], &g->ldb) ||
      !get_d(env, a[10], &g->beta) || !get_typed(env, a[11], type, &g->C, &lc) || !get_i(env, a[12], &g->ldc))
    return false;
  int M = g->M, N = g->N, K = g->K;
  size_t needA = g->ta ? (size_t)(K - 1) * g->lda + M : (size_t)(M - 1) * g->lda + K;
  size_t needB = g->tb ? (size_t)(N - 1) * g->ldb + K : (size_t)(K - 1) * g->ldb + N;
  size_t needC = (size_t)(M - 1) * g->ldc + N;
  if (M <= 0 || N <= 0 || K <= 0 || la < needA || lb < needB || lc < needC) {
    snprintf(msg, sizeof msg, "signalprop-blas: %s dimensions exceed the arrays", name);
    napi_throw_range_error(env, NULL, msg);
    return false;
  }
  return true;
}

// dgemm(transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc): C = alpha op(A) op(B) + beta C
static napi_value Dgemm(napi_env env, napi_callback_info info) {
  GemmArgs g;
  if (!gemm_args(env, info, napi_float64_array, "dgemm", &g)) return NULL;
  cblas_dgemm(CblasRowMajor, g.ta ? CblasTrans : CblasNoTrans, g.tb ? CblasTrans : CblasNoTrans, g.M, g.N, g.K, g.alpha,
              (double *)g.A, g.lda, (double *)g.B, g.ldb, g.beta, (double *)g.C, g.ldc);
  return NULL;
}

// dsyrkUpper(trans, N, K, alpha, A, lda, beta, C, ldc): upper triangle of C = alpha op(A) op(A)^T + beta C,
// op(A) = A (N x K) or A^T (A is K x N when trans).
static napi_value Dsyrk(napi_env env, napi_callback_info info) {
  size_t argc = 9;
  napi_value a[9];
  napi_get_cb_info(env, info, &argc, a, NULL, NULL);
  if (argc != 9) {
    napi_throw_error(env, NULL, "signalprop-blas: dsyrk takes 9 arguments");
    return NULL;
  }
  int tr, N, K, lda, ldc;
  double alpha, beta, *A, *C;
  size_t la, lc;
  if (!get_i(env, a[0], &tr) || !get_i(env, a[1], &N) || !get_i(env, a[2], &K) || !get_d(env, a[3], &alpha) ||
      !get_f64(env, a[4], &A, &la) || !get_i(env, a[5], &lda) || !get_d(env, a[6], &beta) ||
      !get_f64(env, a[7], &C, &lc) || !get_i(env, a[8], &ldc))
    return NULL;
  size_t needA = tr ? (size_t)(K - 1) * lda + N : (size_t)(N - 1) * lda + K;
  size_t needC = (size_t)(N - 1) * ldc + N;
  if (N <= 0 || K <= 0 || la < needA || lc < needC) {
    napi_throw_range_error(env, NULL, "signalprop-blas: dsyrk dimensions exceed the arrays");
    return NULL;
  }
  cblas_dsyrk(CblasRowMajor, CblasUpper, tr ? CblasTrans : CblasNoTrans, N, K, alpha, A, lda, beta, C, ldc);
  return NULL;
}


// sgemm(transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc): C = alpha op(A) op(B) + beta C (float32)
#ifdef SP_DNNL
// Block every asynchronous signal for the calling thread (old: the mask to restore with pthread_sigmask);
// the synchronous ones (faults) stay deliverable. See Sgemm for why oneDNN calls need it.
static void hold_signals(sigset_t *old) {
  sigset_t hold;
  sigfillset(&hold);
  sigdelset(&hold, SIGSEGV);
  sigdelset(&hold, SIGBUS);
  sigdelset(&hold, SIGFPE);
  sigdelset(&hold, SIGILL);
  pthread_sigmask(SIG_BLOCK, &hold, old);
}
#endif

static napi_value Sgemm(napi_env env, napi_callback_info info) {
  GemmArgs g;
  if (!gemm_args(env, info, napi_float32_array, "sgemm", &g)) return NULL;
  float *A = (float *)g.A, *B = (float *)g.B, *C = (float *)g.C;
#ifdef SP_DNNL
  // A signal delivered to this thread while oneDNN 2.6's sgemm runs corrupts memory (measured: a
  // thread-directed signal every 0.2 ms, or V8's sampling profiler under `node --cpu-prof`, breaks the
  // heap within seconds; OpenBLAS survives the same storm). So asynchronous signals are held back for
  // the length of the call and delivered right after it; the synchronous ones (faults) are left alone.
  sigset_t old;
  hold_signals(&old);
  // oneDNN's sgemm is row-major (since oneDNN 1.0), like cblas with CblasRowMajor.
  // Its own threading splits the work by the thread count (on AVX2 machines the K dimension too, so the
  // sums are taken in another order at 2 threads than at 1: measured, a depth-6 training run's records
  // differ in the 8th digit). We split C into tiles of a fixed size instead, one single-threaded oneDNN
  // call per tile (oneDNN runs sequentially inside an OpenMP parallel region): the partition depends only
  // on M and N, so every result is the same bits at any thread count.
  const int TM = 128, TN = 256;
  const int tilesM = (g.M + TM - 1) / TM, tilesN = (g.N + TN - 1) / TN, tiles = tilesM * tilesN;
  int failed = 0;
#pragma omp parallel for schedule(static) reduction(| : failed)
  for (int t = 0; t < tiles; t++) {
    const int m0 = (t / tilesN) * TM, n0 = (t % tilesN) * TN;
    const int mb = g.M - m0 < TM ? g.M - m0 : TM, nb = g.N - n0 < TN ? g.N - n0 : TN;
    const float *At = g.ta ? A + m0 : A + (size_t)m0 * g.lda;
    const float *Bt = g.tb ? B + (size_t)n0 * g.ldb : B + n0;
    float *Ct = C + (size_t)m0 * g.ldc + n0;
    dnnl_status_t st = dnnl_sgemm(g.ta ? 'T' : 'N', g.tb ? 'T' : 'N', mb, nb, g.K, (float)g.alpha, At, g.lda, Bt, g.ldb, (float)g.beta, Ct, g.ldc);
    failed |= st != dnnl_success;
  }
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  if (failed) napi_throw_error(env, NULL, "signalprop-blas: dnnl_sgemm failed");
#else
  cblas_sgemm(CblasRowMajor, g.ta ? CblasTrans : CblasNoTrans, g.tb ? CblasTrans : CblasNoTrans, g.M, g.N, g.K,
              (float)g.alpha, A, g.lda, B, g.ldb, (float)g.beta, C, g.ldc);
#endif
  return NULL;
}

// ---- float32 elementwise kernels ------------------------------------------------------------------
// An operand of a binary op over a rows x cols output is full (rows*cols values), a scalar, a row
// vector (cols values, the same for every row) or a column vector (rows values, one per row).
enum { MODE_FULL = 0, MODE_SCALAR = 1, MODE_ROW = 2, MODE_COL = 3 };
enum { OP_ADD = 0, OP_SUB = 1, OP_MUL = 2, OP_DIV = 3, OP_MAX = 4, OP_MIN = 5, OP_SQDIFF = 6 };

static inline double binop(int op, double a, double b) {
  switch (op) {
    case OP_ADD: return a + b;
    case OP_SUB: return a - b;
    case OP_MUL: return a * b;
    case OP_DIV: return a / b;
    case OP_MAX: return (isnan(a) || isnan(b)) ? NAN : (a > b ? a : (b > a ? b : (signbit(a) ? b : a)));
    case OP_MIN: return (isnan(a) || isnan(b)) ? NAN : (a < b ? a : (b < a ? b : (signbit(a) ? a : b)));
    default: { double d = a - b; return d * d; }
  }
}

static inline size_t mode_len(int mode, size_t rows, size_t cols) {
  return mode == MODE_FULL ? rows * cols : mode == MODE_SCALAR ? 1 : mode == MODE_ROW ? cols : rows;
}

// The loops for one op: add/sub/mul/div of floats computed in double and rounded once equal the
// correctly rounded float result, so the common ops run in float (vectorized) with the same bits.
#define BINARY_LOOP(EXPR)                                                                     \
  for (size_t r = 0; r < rows; r++) {                                                         \
    float *o = out + r * cols;                                                                \
    const float *pa = am == MODE_FULL ? a + r * cols : a;                                     \
    const float *pb = bm == MODE_FULL ? b + r * cols : b;                                     \
    float sa = am == MODE_SCALAR ? a[0] : am == MODE_COL ? a[r] : 0.0f;                        \
    float sb = bm == MODE_SCALAR ? b[0] : bm == MODE_COL ? b[r] : 0.0f;                        \
    bool va = am == MODE_FULL || am == MODE_ROW, vb = bm == MODE_FULL || bm == MODE_ROW;      \
    if (va && vb)                                                                             \
      for (size_t c = 0; c < cols; c++) { float x = pa[c], y = pb[c]; o[c] = EXPR; }         \
    else if (va)                                                                              \
      for (size_t c = 0; c < cols; c++) { float x = pa[c], y = sb; o[c] = EXPR; }             \
    else if (vb)                                                                              \
      for (size_t c = 0; c < cols; c++) { float x = sa, y = pb[c]; o[c] = EXPR; }             \
    else                                                                                      \
      for (size_t c = 0; c < cols; c++) { float x = sa, y = sb; o[c] = EXPR; }                \
  }

// binary(op, a, aMode, b, bMode, out, rows, cols)
static napi_value Binary(napi_env env, napi_callback_info info) {
  size_t argc = 8;
  napi_value v[8];
  napi_get_cb_info(env, info, &argc, v, NULL, NULL);
  int op, am, bm, ri, ci;
  float *a, *b, *out;
  size_t la, lb, lo;
  if (argc != 8 || !get_i(env, v[0], &op) || !get_f32(env, v[1], &a, &la) || !get_i(env, v[2], &am) ||
      !get_f32(env, v[3], &b, &lb) || !get_i(env, v[4], &bm) || !get_f32(env, v[5], &out, &lo) ||
      !get_i(env, v[6], &ri) || !get_i(env, v[7], &ci))
    return NULL;
  size_t rows = (size_t)ri, cols = (size_t)ci;
  if (op < 0 || op > OP_SQDIFF || am < 0 || am > 3 || bm < 0 || bm > 3 || ri < 0 || ci < 0 ||
      la < mode_len(am, rows, cols) || lb < mode_len(bm, rows, cols) || lo < rows * cols) {
    napi_throw_range_error(env, NULL, "signalprop-blas: binary arguments out of range");
    return NULL;
  }
  switch (op) {
    case OP_ADD: BINARY_LOOP(x + y) break;
    case OP_SUB: BINARY_LOOP(x - y) break;
    case OP_MUL: BINARY_LOOP(x * y) break;
    case OP_DIV: BINARY_LOOP(x / y) break;
    default: BINARY_LOOP((float)binop(op, (double)x, (double)y)) break;
  }
  return NULL;
}

enum { UN_SQUARE = 0, UN_RELU = 1, UN_STEP = 2, UN_NEG = 3, UN_SQRT = 4, UN_RSQRT = 5, UN_ABS = 6 };

// unary(op, x, out, alpha): out = op(x); alpha is Step's value at x <= 0.
static napi_value Unary(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value v[4];
  napi_get_cb_info(env, info, &argc, v, NULL, NULL);
  int op;
  float *x, *out;
  size_t lx, lo;
  double alpha;
  if (argc != 4 || !get_i(env, v[0], &op) || !get_f32(env, v[1], &x, &lx) || !get_f32(env, v[2], &out, &lo) ||
      !get_d(env, v[3], &alpha))
    return NULL;
  if (lo < lx || op < 0 || op > UN_ABS) {
    napi_throw_range_error(env, NULL, "signalprop-blas: unary arguments out of range");
    return NULL;
  }
  size_t n = lx;
  float fa = (float)alpha;
  switch (op) {
    case UN_SQUARE: for (size_t i = 0; i < n; i++) out[i] = x[i] * x[i]; break;
    case UN_RELU: for (size_t i = 0; i < n; i++) { float t = x[i]; out[i] = t > 0.0f ? t : (t != t ? t : 0.0f); } break;
    case UN_STEP: for (size_t i = 0; i < n; i++) { float t = x[i]; out[i] = t != t ? t : (t > 0.0f ? 1.0f : fa); } break;
    case UN_NEG: for (size_t i = 0; i < n; i++) out[i] = -x[i]; break;
    case UN_SQRT: for (size_t i = 0; i < n; i++) out[i] = (float)sqrt((double)x[i]); break;
    case UN_RSQRT: for (size_t i = 0; i < n; i++) out[i] = (float)(1.0 / sqrt((double)x[i])); break;
    default: for (size_t i = 0; i < n; i++) out[i] = fabsf(x[i]); break;
  }
  return NULL;
}

// reduce(mean, x, rows, cols, axis, out): sum (or mean) of a rows x cols matrix over axis 0 (out has
// cols values) or axis 1 (out has rows values), accumulated in double. The mean divides each value by
// the count in float first, as tfjs's cpu Mean does. Axis 0 adds the rows in order (the cpu kernel's
// order, so the same bits); axis 1 uses 8 interleaved partial sums (faster; not bit-identical).
static napi_value Reduce(napi_env env, napi_callback_info info) {
  size_t argc = 6;
  napi_value v[6];
  napi_get_cb_info(env, info, &argc, v, NULL, NULL);
  int mean, ri, ci, axis;
  float *x, *out;
  size_t lx, lo;
  if (argc != 6 || !get_i(env, v[0], &mean) || !get_f32(env, v[1], &x, &lx) || !get_i(env, v[2], &ri) ||
      !get_i(env, v[3], &ci) || !get_i(env, v[4], &axis) || !get_f32(env, v[5], &out, &lo))
    return NULL;
  size_t rows = (size_t)ri, cols = (size_t)ci;
  if (ri < 0 || ci < 0 || (axis != 0 && axis != 1) || lx < rows * cols || lo < (axis == 0 ? cols : rows)) {
    napi_throw_range_error(env, NULL, "signalprop-blas: reduce arguments out of range");
    return NULL;
  }
  if (axis == 0) {
    const float n = (float)rows;
    double *acc = (double *)calloc(cols ? cols : 1, sizeof(double));
    if (!acc) {
      napi_throw_error(env, NULL, "signalprop-blas: out of memory");
      return NULL;
    }
    for (size_t r = 0; r < rows; r++) {
      const float *p = x + r * cols;
      if (mean)
        for (size_t c = 0; c < cols; c++) acc[c] += (double)(p[c] / n);
      else
        for (size_t c = 0; c < cols; c++) acc[c] += (double)p[c];
    }
    for (size_t c = 0; c < cols; c++) out[c] = (float)acc[c];
    free(acc);
  } else {
    const float n = (float)cols;
    for (size_t r = 0; r < rows; r++) {
      const float *p = x + r * cols;
      double s[8] = {0, 0, 0, 0, 0, 0, 0, 0};
      size_t c = 0;
      if (mean) {
        for (; c + 8 <= cols; c += 8)
          for (int k = 0; k < 8; k++) s[k] += (double)(p[c + k] / n);
        for (; c < cols; c++) s[0] += (double)(p[c] / n);
      } else {
        for (; c + 8 <= cols; c += 8)
          for (int k = 0; k < 8; k++) s[k] += (double)p[c + k];
        for (; c < cols; c++) s[0] += (double)p[c];
      }
      out[r] = (float)(((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7])));
    }
  }
  return NULL;
}

// transpose(x, rows, cols, out): out (cols x rows) = x^T, in 32 x 32 tiles.
static napi_value Transpose(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value v[4];
  napi_get_cb_info(env, info, &argc, v, NULL, NULL);
  int ri, ci;
  float *x, *out;
  size_t lx, lo;
  if (argc != 4 || !get_f32(env, v[0], &x, &lx) || !get_i(env, v[1], &ri) || !get_i(env, v[2], &ci) ||
      !get_f32(env, v[3], &out, &lo))
    return NULL;
  size_t rows = (size_t)ri, cols = (size_t)ci;
  if (ri < 0 || ci < 0 || lx < rows * cols || lo < rows * cols) {
    napi_throw_range_error(env, NULL, "signalprop-blas: transpose arguments out of range");
    return NULL;
  }
  const size_t T = 32;
  for (size_t r0 = 0; r0 < rows; r0 += T)
    for (size_t c0 = 0; c0 < cols; c0 += T) {
      size_t r1 = r0 + T < rows ? r0 + T : rows, c1 = c0 + T < cols ? c0 + T : cols;
      for (size_t r = r0; r < r1; r++)
        for (size_t c = c0; c < c1; c++) out[c * rows + r] = x[r * cols + c];
    }
  return NULL;
}

// ---- fused float32 kernels of the blas backend ------------------------------------------------------
// Each performs, in one pass or two, the same float operations in the same order as the sequence of
// tfjs ops it replaces (src/train/layers.ts, optim.ts), so it gives the same bits as that sequence on
// this backend (checked in test/train/blas.test.ts).

static bool get_f32n(napi_env env, napi_value v, float **data, size_t need) {
  size_t len;
  if (!get_f32(env, v, data, &len)) return false;
  if (len < need) {
    napi_throw_range_error(env, NULL, "signalprop-blas: array shorter than the given dimensions");
    return false;
  }
  return true;
}

// The arguments of a fused BN kernel (n of them) and its dimensions rows x cols (arguments 4 and 5),
// both at least 1.
static bool bn_args(napi_env env, napi_callback_info info, size_t n, const char *name, napi_value *v, size_t *R, size_t *C) {
  size_t argc = n;
  char msg[96];
  napi_get_cb_info(env, info, &argc, v, NULL, NULL);
  int ri, ci;
  if (argc != n) {
    snprintf(msg, sizeof msg, "signalprop-blas: %s takes %zu arguments", name, n);
    napi_throw_error(env, NULL, msg);
    return false;
  }
  if (!get_i(env, v[4], &ri) || !get_i(env, v[5], &ci)) return false;
  if (ri < 1 || ci < 1) {
    snprintf(msg, sizeof msg, "signalprop-blas: %s needs at least one row and one column", name);
    napi_throw_range_error(env, NULL, msg);
    return false;
  }
  *R = (size_t)ri;
  *C = (size_t)ci;
  return true;
}

// bnForward(h, gamma, beta, eps, rows, cols, out, zhat, inv, mean, variance):
// mean = Σ_r float(h/B); c = h − mean; variance = Σ_r float(float(c·c)/B); inv = 1/√(variance + ε);
// ẑ = c·inv; out = ẑ·γ + β (the training-mode BN of layers.ts).
static napi_value BnForward(napi_env env, napi_callback_info info) {
  napi_value v[11];
  size_t R, C;
  double eps;
  float *h, *g, *b, *out, *zh, *inv, *mean, *var;
  if (!bn_args(env, info, 11, "bnForward", v, &R, &C)) return NULL;
  if (!get_f32n(env, v[0], &h, R * C) || !get_f32n(env, v[1], &g, C) || !get_f32n(env, v[2], &b, C) ||
      !get_d(env, v[3], &eps) || !get_f32n(env, v[6], &out, R * C) || !get_f32n(env, v[7], &zh, R * C) ||
      !get_f32n(env, v[8], &inv, C) || !get_f32n(env, v[9], &mean, C) || !get_f32n(env, v[10], &var, C))
    return NULL;
  double *acc = (double *)calloc(C, sizeof(double));
  if (!acc) {
    napi_throw_error(env, NULL, "signalprop-blas: out of memory");
    return NULL;
  }
  const float n = (float)R, e = (float)eps;
  for (size_t r = 0; r < R; r++)
    for (size_t c = 0; c < C; c++) acc[c] += (double)(h[r * C + c] / n);
  for (size_t c = 0; c < C; c++) {
    mean[c] = (float)acc[c];
    acc[c] = 0;
  }
  for (size_t r = 0; r < R; r++)
    for (size_t c = 0; c < C; c++) {
      float d = h[r * C + c] - mean[c];
      zh[r * C + c] = d;  // centered, for now
      float sq = d * d;
      acc[c] += (double)(sq / n);
    }
  for (size_t c = 0; c < C; c++) {
    var[c] = (float)acc[c];
    float ve = var[c] + e;
    inv[c] = (float)(1.0 / sqrt((double)ve));
  }
  for (size_t r = 0; r < R; r++)
    for (size_t c = 0; c < C; c++) {
      float z = zh[r * C + c] * inv[c];
      zh[r * C + c] = z;
      float zg = z * g[c];
      out[r * C + c] = zg + b[c];
    }
  free(acc);
  return NULL;
}

// bnBackward(dy, zhat, inv, gamma, rows, cols, dh, dgamma, dbeta): dβ = Σ dy; dγ = Σ float(dy·ẑ);
// dẑ = dy·γ; dh = ((dẑ − mean dẑ) − ẑ·mean(dẑ·ẑ))·inv.
static napi_value BnBackward(napi_env env, napi_callback_info info) {
  napi_value v[9];
  size_t R, C;
  float *dy, *zh, *inv, *g, *dh, *dg, *db;
  if (!bn_args(env, info, 9, "bnBackward", v, &R, &C)) return NULL;
  if (!get_f32n(env, v[0], &dy, R * C) || !get_f32n(env, v[1], &zh, R * C) || !get_f32n(env, v[2], &inv, C) ||
      !get_f32n(env, v[3], &g, C) || !get_f32n(env, v[6], &dh, R * C) || !get_f32n(env, v[7], &dg, C) ||
      !get_f32n(env, v[8], &db, C))
    return NULL;
  double *acc = (double *)calloc(4 * C, sizeof(double));
  if (!acc) {
    napi_throw_error(env, NULL, "signalprop-blas: out of memory");
    return NULL;
  }
  double *sb = acc, *sg = acc + C, *m1 = acc + 2 * C, *m2 = acc + 3 * C;
  const float n = (float)R;
  for (size_t r = 0; r < R; r++)
    for (size_t c = 0; c < C; c++) {
      float d = dy[r * C + c], z = zh[r * C + c];
      float dz = d * g[c];
      float dzz = dz * z;
      float dyz = d * z;
      sb[c] += (double)d;
      sg[c] += (double)dyz;
      m1[c] += (double)(dz / n);
      m2[c] += (double)(dzz / n);
    }
  for (size_t c = 0; c < C; c++) {
    db[c] = (float)sb[c];
    dg[c] = (float)sg[c];
  }
  float *f1 = (float *)malloc(2 * C * sizeof(float)), *f2 = f1 + C;  // the two means, as floats
  if (!f1) {
    free(acc);
    napi_throw_error(env, NULL, "signalprop-blas: out of memory");
    return NULL;
  }
  for (size_t c = 0; c < C; c++) {
    f1[c] = (float)m1[c];
    f2[c] = (float)m2[c];
  }
  for (size_t r = 0; r < R; r++)
    for (size_t c = 0; c < C; c++) {
      float z = zh[r * C + c];
      float dz = dy[r * C + c] * g[c];
      float t1 = dz - f1[c];
      float t2 = z * f2[c];
      float t3 = t1 - t2;
      dh[r * C + c] = t3 * inv[c];
    }
  free(f1);
  free(acc);
  return NULL;
}

// sgdUpdate(p, g, lr, out): out = p − float(g·lr) (tf.sub(p, tf.mul(g, lr)) with lr as float32).
static napi_value SgdUpdate(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value v[4];
  napi_get_cb_info(env, info, &argc, v, NULL, NULL);
  float *p, *g, *out;
  size_t lp, lg, lo;
  double lr;
  if (argc != 4 || !get_f32(env, v[0], &p, &lp) || !get_f32(env, v[1], &g, &lg) || !get_d(env, v[2], &lr) ||
      !get_f32(env, v[3], &out, &lo))
    return NULL;
  if (lg != lp || lo < lp) {
    napi_throw_range_error(env, NULL, "signalprop-blas: sgdUpdate arrays differ in length");
    return NULL;
  }
  const float l = (float)lr;
  for (size_t i = 0; i < lp; i++) {
    float step = g[i] * l;
    out[i] = p[i] - step;
  }
  return NULL;
}

// sumSquares(x): Σ float(x·x) in double with the 8 partial sums of reduce(axis 1), as a float.
static napi_value SumSquares(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value v[1];
  napi_get_cb_info(env, info, &argc, v, NULL, NULL);
  float *x;
  size_t n;
  if (argc != 1 || !get_f32(env, v[0], &x, &n)) return NULL;
  double s[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  size_t c = 0;
  for (; c + 8 <= n; c += 8)
    for (int k = 0; k < 8; k++) {
      float q = x[c + k] * x[c + k];
      s[k] += (double)q;
    }
  for (; c < n; c++) {
    float q = x[c] * x[c];
    s[0] += (double)q;
  }
  napi_value out;
  napi_create_double(env, (double)(float)(((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]))), &out);
  return out;
}

static napi_value SetThreads(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value a[1];
  napi_get_cb_info(env, info, &argc, a, NULL, NULL);
  int n;
  if (argc != 1 || !get_i(env, a[0], &n)) return NULL;
  openblas_set_num_threads(n < 1 ? 1 : n);
#ifdef SP_DNNL
  omp_set_num_threads(n < 1 ? 1 : n);  // the calling thread's OpenMP team size (oneDNN's sgemm)
#endif
  return NULL;
}

static napi_value GetThreads(napi_env env, napi_callback_info info) {
  napi_value out;
  napi_create_int32(env, openblas_get_num_threads(), &out);
  return out;
}

// Which library runs sgemm: "oneDNN <version>" or "OpenBLAS".
static napi_value SgemmEngine(napi_env env, napi_callback_info info) {
  napi_value out;
#ifdef SP_DNNL
  const dnnl_version_t *v = dnnl_version();
  char buf[64];
  snprintf(buf, sizeof buf, "oneDNN %d.%d.%d", v->major, v->minor, v->patch);
  napi_create_string_utf8(env, buf, NAPI_AUTO_LENGTH, &out);
#else
  napi_create_string_utf8(env, "OpenBLAS", NAPI_AUTO_LENGTH, &out);
#endif
  return out;
}

static napi_value CoreName(napi_env env, napi_callback_info info) {
  napi_value out;
  const char *name = openblas_get_corename();
  napi_create_string_utf8(env, name ? name : "unknown", NAPI_AUTO_LENGTH, &out);
  return out;
}

// ---- float32 convolution (oneDNN) ----------------------------------------------------------------------
#ifdef SP_DNNL
// conv2d(op, B, H, W, C, Cout, k, stride, pad, a, b, out): oneDNN's direct convolution on the trainer's
// layouts, activations NHWC and filters HWIO ([k, k, C_in, C_out], tf's), symmetric zero padding, no bias.
//   op 0 forward           a = x [B,H,W,C],        b = filter,            out = y [B,Ho,Wo,Cout]
//   op 1 backward data     a = dy [B,Ho,Wo,Cout],  b = filter,            out = dx [B,H,W,C]
//   op 2 backward weights  a = x [B,H,W,C],        b = dy [B,Ho,Wo,Cout], out = dfilter [k,k,C,Cout]
// The filter goes through the layout oneDNN picks (format_any; a reorder each call, k²·C·C_out values);
// the activations stay NHWC. Primitives are cached by geometry (creating one JIT-compiles its kernel).
// Every call runs on one thread (an OpenMP team of 1 inside the call): the sums over the batch in the
// backward-weights pass would otherwise be split by the thread count and round differently at 1 and 2
// threads, and every signalprop result is the same bits at any thread count.
typedef struct {
  int key[10];
  dnnl_primitive_t prim, wreorder;
  // the forward descriptor a backward one was made with: oneDNN's backward descriptors keep a pointer to
  // their hint, so it lives as long as the entry (destroying it early corrupted the heap)
  dnnl_primitive_desc_t hint;
  dnnl_memory_desc_t a_md, b_md, out_md, w_md;  // the primitive's own (w_md: its filter layout)
  int needs_reorder;
} ConvEntry;
#define CONV_CACHE 48
static ConvEntry conv_cache[CONV_CACHE];
static int conv_cached = 0;
static dnnl_engine_t conv_engine = NULL;
static dnnl_stream_t conv_stream = NULL;
static char conv_impl[128] = "";

static int conv_make(ConvEntry *e, const int *key) {
  const int op = key[0], B = key[1], H = key[2], W = key[3], C = key[4], Co = key[5], k = key[6], s = key[7], p = key[8];
  const int Ho = (H + 2 * p - k) / s + 1, Wo = (W + 2 * p - k) / s + 1;
  if (!conv_engine) {
    if (dnnl_engine_create(&conv_engine, dnnl_cpu, 0) != dnnl_success) return 0;
    if (dnnl_stream_create(&conv_stream, conv_engine, dnnl_stream_default_flags) != dnnl_success) return 0;
  }
  dnnl_dims_t xd = {B, C, H, W}, yd = {B, Co, Ho, Wo}, wd = {Co, C, k, k};
  dnnl_dims_t st = {s, s}, pl = {p, p}, pr = {p, p};
  // padding_r: the padding the last output window reaches, at most p (the rows a strided window never
  // reaches are not padding); never negative (oneDNN's 1×1 stride-2 kernel corrupts memory with pr < 0)
  pr[0] = (Ho - 1) * s + k - H - p;
  pr[1] = (Wo - 1) * s + k - W - p;
  if (pr[0] < 0) pr[0] = 0;
  if (pr[1] < 0) pr[1] = 0;
  dnnl_memory_desc_t x_md, y_md, w_any, w_user;
  dnnl_memory_desc_init_by_tag(&x_md, 4, xd, dnnl_f32, dnnl_nhwc);
  dnnl_memory_desc_init_by_tag(&y_md, 4, yd, dnnl_f32, dnnl_nhwc);
  dnnl_memory_desc_init_by_tag(&w_any, 4, wd, dnnl_f32, dnnl_format_tag_any);
  dnnl_memory_desc_init_by_tag(&w_user, 4, wd, dnnl_f32, dnnl_hwio);
  dnnl_convolution_desc_t fd, od;
  if (dnnl_convolution_forward_desc_init(&fd, dnnl_forward_training, dnnl_convolution_direct, &x_md, &w_any, NULL, &y_md, st, pl, pr) != dnnl_success)
    return 0;
  dnnl_primitive_desc_t fpd = NULL, pd = NULL;
  if (dnnl_primitive_desc_create(&fpd, &fd, NULL, conv_engine, NULL) != dnnl_success) return 0;
  e->hint = NULL;
  if (op == 0) {
    pd = fpd;
    fpd = NULL;
  } else {
    dnnl_status_t r = op == 1
        ? dnnl_convolution_backward_data_desc_init(&od, dnnl_convolution_direct, &x_md, &w_any, &y_md, st, pl, pr)
        : dnnl_convolution_backward_weights_desc_init(&od, dnnl_convolution_direct, &x_md, &w_any, NULL, &y_md, st, pl, pr);
    if (r != dnnl_success || dnnl_primitive_desc_create(&pd, &od, NULL, conv_engine, fpd) != dnnl_success) {
      dnnl_primitive_desc_destroy(fpd);
      return 0;
    }
    e->hint = fpd;
  }
  const char *impl = NULL;
  dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &impl);
  if (impl) snprintf(conv_impl, sizeof conv_impl, "%s", impl);
  const dnnl_memory_desc_t *wmd = dnnl_primitive_desc_query_md(pd, op == 2 ? dnnl_query_diff_weights_md : dnnl_query_weights_md, 0);
  e->w_md = *wmd;
  e->needs_reorder = !dnnl_memory_desc_equal(wmd, &w_user);
  e->wreorder = NULL;
  if (e->needs_reorder) {
    dnnl_primitive_desc_t rpd;
    const dnnl_memory_desc_t *from = op == 2 ? wmd : &w_user, *to = op == 2 ? &w_user : wmd;
    if (dnnl_reorder_primitive_desc_create(&rpd, from, conv_engine, to, conv_engine, NULL) != dnnl_success) {
      dnnl_primitive_desc_destroy(pd);
      if (e->hint) dnnl_primitive_desc_destroy(e->hint);
      return 0;
    }
    dnnl_primitive_create(&e->wreorder, rpd);
    dnnl_primitive_desc_destroy(rpd);
  }
  if (dnnl_primitive_create(&e->prim, pd) != dnnl_success) {
    dnnl_primitive_desc_destroy(pd);
    if (e->wreorder) dnnl_primitive_destroy(e->wreorder);
    if (e->hint) dnnl_primitive_desc_destroy(e->hint);
    return 0;
  }
  dnnl_primitive_desc_destroy(pd);
  e->a_md = op == 1 ? y_md : x_md;
  e->b_md = op == 2 ? y_md : w_user;
  e->out_md = op == 1 ? x_md : op == 0 ? y_md : w_user;
  for (int i = 0; i < 10; i++) e->key[i] = key[i];
  return 1;
}

static ConvEntry *conv_entry(const int *key) {
  for (int i = 0; i < conv_cached; i++) {
    int same = 1;
    for (int j = 0; j < 10 && same; j++) same = conv_cache[i].key[j] == key[j];
    if (same) return &conv_cache[i];
  }
  if (conv_cached == CONV_CACHE) {  // full: start over (a training run uses a handful of geometries)
    for (int i = 0; i < conv_cached; i++) {
      dnnl_primitive_destroy(conv_cache[i].prim);
      if (conv_cache[i].wreorder) dnnl_primitive_destroy(conv_cache[i].wreorder);
      if (conv_cache[i].hint) dnnl_primitive_desc_destroy(conv_cache[i].hint);
    }
    conv_cached = 0;
  }
  ConvEntry *e = &conv_cache[conv_cached];
  if (!conv_make(e, key)) return NULL;
  conv_cached++;
  return e;
}

static dnnl_memory_t conv_mem(const dnnl_memory_desc_t *md, void *data) {
  dnnl_memory_t m = NULL;
  dnnl_memory_create(&m, md, conv_engine, data);
  return m;
}

// One convolution on the cached primitive of its geometry (key: op, B, H, W, C, Cout, k, s, p); 1 on success.
static int conv_exec(const int *key, float *a, float *b, float *out) {
  const int op = key[0];
  int ok = 0;
  ConvEntry *e = conv_entry(key);
  if (e) {
    float *wtmp = NULL;
    dnnl_memory_t wprim = NULL, wuser = NULL;
    ok = 1;
    if (e->needs_reorder) {
      // oneDNN's blocked filter layouts pad the channels: its own size, 64-byte aligned
      size_t need = (dnnl_memory_desc_get_size(&e->w_md) + 63) / 64 * 64;
      wtmp = aligned_alloc(64, need);
      wprim = conv_mem(&e->w_md, wtmp);
      wuser = conv_mem(op == 2 ? &e->out_md : &e->b_md, op == 2 ? out : b);
      if (op != 2) {
        dnnl_exec_arg_t ra[2] = {{DNNL_ARG_FROM, wuser}, {DNNL_ARG_TO, wprim}};
        ok &= dnnl_primitive_execute(e->wreorder, conv_stream, 2, ra) == dnnl_success;
      }
    }
    dnnl_memory_t ma = conv_mem(&e->a_md, a);
    dnnl_memory_t mb = op == 2 ? conv_mem(&e->b_md, b) : (wprim ? wprim : conv_mem(&e->b_md, b));
    dnnl_memory_t mo = op == 2 ? (wprim ? wprim : conv_mem(&e->out_md, out)) : conv_mem(&e->out_md, out);
    dnnl_exec_arg_t args[3];
    if (op == 0) {
      args[0] = (dnnl_exec_arg_t){DNNL_ARG_SRC, ma};
      args[1] = (dnnl_exec_arg_t){DNNL_ARG_WEIGHTS, mb};
      args[2] = (dnnl_exec_arg_t){DNNL_ARG_DST, mo};
    } else if (op == 1) {
      args[0] = (dnnl_exec_arg_t){DNNL_ARG_DIFF_DST, ma};
      args[1] = (dnnl_exec_arg_t){DNNL_ARG_WEIGHTS, mb};
      args[2] = (dnnl_exec_arg_t){DNNL_ARG_DIFF_SRC, mo};
    } else {
      args[0] = (dnnl_exec_arg_t){DNNL_ARG_SRC, ma};
      args[1] = (dnnl_exec_arg_t){DNNL_ARG_DIFF_DST, mb};
      args[2] = (dnnl_exec_arg_t){DNNL_ARG_DIFF_WEIGHTS, mo};
    }
    ok &= ok && dnnl_primitive_execute(e->prim, conv_stream, 3, args) == dnnl_success;
    if (ok && op == 2 && e->needs_reorder) {
      dnnl_exec_arg_t ra[2] = {{DNNL_ARG_FROM, wprim}, {DNNL_ARG_TO, wuser}};
      ok &= dnnl_primitive_execute(e->wreorder, conv_stream, 2, ra) == dnnl_success;
    }
    dnnl_stream_wait(conv_stream);
    dnnl_memory_destroy(ma);
    if (mb != wprim) dnnl_memory_destroy(mb);
    if (mo != wprim) dnnl_memory_destroy(mo);
    if (wprim) dnnl_memory_destroy(wprim);
    if (wuser) dnnl_memory_destroy(wuser);
    free(wtmp);
  }
  return ok;
}

// A 1×1 convolution with stride s and padding p reads x only at (oy·s − p, ox·s − p): it is the stride-1,
// unpadded 1×1 convolution of that subsampled input (zeros where a read falls in the padding), and its
// backward data scatters back to those positions. oneDNN 2.6's strided 1×1 backward-weights kernel writes
// outside its buffers (heap corruption, found by fuzzing blas.c against a direct loop), so strided 1×1
// convolutions never reach it.
static int conv_exec_1x1(const int *key, float *a, float *b, float *out) {
  const int op = key[0], B = key[1], H = key[2], W = key[3], C = key[4], s = key[7], p = key[8];
  const int Ho = (H + 2 * p - 1) / s + 1, Wo = (W + 2 * p - 1) / s + 1;
  const int k1[10] = {op, B, Ho, Wo, C, key[5], 1, 1, 0, 0};
  float *xs = calloc((size_t)B * Ho * Wo * C, sizeof(float));
  if (!xs) return 0;
  if (op != 1)  // gather x at the strided positions
    for (int n = 0; n < B; n++)
      for (int oy = 0; oy < Ho; oy++)
        for (int ox = 0; ox < Wo; ox++) {
          const int y = oy * s - p, x = ox * s - p;
          if (y < 0 || y >= H || x < 0 || x >= W) continue;
          memcpy(xs + (((size_t)n * Ho + oy) * Wo + ox) * C, a + (((size_t)n * H + y) * W + x) * C, C * sizeof(float));
        }
  int ok = op == 1 ? conv_exec(k1, a, b, xs) : conv_exec(k1, xs, b, out);
  if (ok && op == 1) {  // ∂x: zero except at the strided positions
    memset(out, 0, (size_t)B * H * W * C * sizeof(float));
    for (int n = 0; n < B; n++)
      for (int oy = 0; oy < Ho; oy++)
        for (int ox = 0; ox < Wo; ox++) {
          const int y = oy * s - p, x = ox * s - p;
          if (y < 0 || y >= H || x < 0 || x >= W) continue;
          memcpy(out + (((size_t)n * H + y) * W + x) * C, xs + (((size_t)n * Ho + oy) * Wo + ox) * C, C * sizeof(float));
        }
  }
  free(xs);
  return ok;
}

static napi_value Conv2d(napi_env env, napi_callback_info info) {
  size_t argc = 12;
  napi_value v[12];
  napi_get_cb_info(env, info, &argc, v, NULL, NULL);
  if (argc != 12) {
    napi_throw_error(env, NULL, "signalprop-blas: conv2d takes 12 arguments");
    return NULL;
  }
  int key[10] = {0};
  for (int i = 0; i < 9; i++)
    if (!get_i(env, v[i], &key[i])) return NULL;
  const int op = key[0], B = key[1], H = key[2], W = key[3], C = key[4], Co = key[5], k = key[6], s = key[7], p = key[8];
  if (op < 0 || op > 2 || B < 1 || H < 1 || W < 1 || C < 1 || Co < 1 || k < 1 || s < 1 || p < 0 || H + 2 * p < k || W + 2 * p < k) {
    napi_throw_range_error(env, NULL, "signalprop-blas: conv2d: bad geometry");
    return NULL;
  }
  const size_t Ho = (H + 2 * p - k) / s + 1, Wo = (W + 2 * p - k) / s + 1;
  const size_t nx = (size_t)B * H * W * C, ny = (size_t)B * Ho * Wo * Co, nw = (size_t)k * k * C * Co;
  const size_t na = op == 1 ? ny : nx, nb = op == 2 ? ny : nw, no = op == 0 ? ny : op == 1 ? nx : nw;
  float *a, *b, *out;
  if (!get_f32n(env, v[9], &a, na) || !get_f32n(env, v[10], &b, nb) || !get_f32n(env, v[11], &out, no)) return NULL;
  sigset_t old;  // as in Sgemm: no asynchronous signal while oneDNN runs
  hold_signals(&old);
  const int team = omp_get_max_threads();
  omp_set_num_threads(1);
  const int ok = k == 1 && (s > 1 || p > 0) ? conv_exec_1x1(key, a, b, out) : conv_exec(key, a, b, out);
  omp_set_num_threads(team);
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  if (!ok) napi_throw_error(env, NULL, "signalprop-blas: oneDNN conv2d failed");
  return NULL;
}

// The implementation oneDNN chose for the last convolution primitive it made ("" before the first).
static napi_value ConvImpl(napi_env env, napi_callback_info info) {
  napi_value out;
  napi_create_string_utf8(env, conv_impl, NAPI_AUTO_LENGTH, &out);
  return out;
}
#endif

// ---- Philox4x32-10 (src/network/philox.ts, the same bits) -------------------------------------
// Salmon et al. 2011 (Random123). Stream element i of key (k0, k1) is word i mod 4 of the block at counter
// (b mod 2^32, b >> 32, 0, 0), b = floor(i / 4). Normals: Box–Muller on block b's pairs (w0, w1), (w2, w3),
// with log, sin and cos as polynomials on +, −, ×, ÷, sqrt in the order of philox.ts (libm's and V8's
// differ in the last bit); -ffp-contract=off keeps every product and sum rounded as JavaScript rounds them.
#define PH_M0 0xD2511F53u
#define PH_M1 0xCD9E8D57u
#define PH_W0 0x9E3779B9u
#define PH_W1 0xBB67AE85u
#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define PH_HAVE_AVX2 1  // the AVX2 kernel is compiled in, and runs where the CPU has AVX2 (ph_init)
#define PH_AVX2 __attribute__((target("avx2")))
#endif

static inline void philox_rounds(uint32_t c[4], uint32_t k0, uint32_t k1, int rounds) {
  uint32_t c0 = c[0], c1 = c[1], c2 = c[2], c3 = c[3];
  for (int r = 0; r < rounds; r++) {
    if (r > 0) {
      k0 += PH_W0;
      k1 += PH_W1;
    }
    uint64_t p0 = (uint64_t)PH_M0 * c0;
    uint64_t p1 = (uint64_t)PH_M1 * c2;
    uint32_t n0 = (uint32_t)(p1 >> 32) ^ c1 ^ k0;
    uint32_t n2 = (uint32_t)(p0 >> 32) ^ c3 ^ k1;
    c1 = (uint32_t)p1;
    c3 = (uint32_t)p0;
    c0 = n0;
    c2 = n2;
  }
  c[0] = c0;
  c[1] = c1;
  c[2] = c2;
  c[3] = c3;
}

#define PH_TWO_M32 (1.0 / 4294967296.0)
#define PH_TWO_M30 (1.0 / 1073741824.0)
static const double PH_SQRT_HALF = 0.7071067811865476;
static const double PH_LN2 = 0.6931471805599453;
static const double PH_HALF_PI = 1.5707963267948966;
static const double PH_TURN_M32 = 6.283185307179586 * PH_TWO_M32;
static const double L3 = 1.0 / 3, L5 = 1.0 / 5, L7 = 1.0 / 7, L9 = 1.0 / 9, L11 = 1.0 / 11, L13 = 1.0 / 13, L15 = 1.0 / 15,
                    L17 = 1.0 / 17, L19 = 1.0 / 19, L21 = 1.0 / 21, L23 = 1.0 / 23;
static const double P3 = 1.0 / 3, P5 = 1.0 / 5, P6 = -1.0 / 6;
static const double S3 = -1.0 / 6, S5 = 1.0 / 120, S7 = -1.0 / 5040, S9 = 1.0 / 362880, S11 = -1.0 / 39916800,
                    S13 = 1.0 / 6227020800.0, S15 = -1.0 / 1307674368000.0, S17 = 1.0 / 355687428096000.0;
static const double C2 = -1.0 / 2, C4 = 1.0 / 24, C6 = -1.0 / 720, C8 = 1.0 / 40320, C10 = -1.0 / 3628800,
                    C12 = 1.0 / 479001600, C14 = -1.0 / 87178291200.0, C16 = 1.0 / 20922789888000.0,
                    C18 = -1.0 / 6402373705728000.0;

// philox.ts seriesLog: ln y for y in [1/2, 1] (the tables)
static double ph_series_log(double y) {
  int k = y < PH_SQRT_HALF ? 1 : 0;
  double m = k == 1 ? y * 2 : y;
  double f = m - 1;
  double s = f / (2 + f);
  double z = s * s;
  double p = 1 + z * (L3 + z * (L5 + z * (L7 + z * (L9 + z * (L11 + z * (L13 + z * (L15 + z * (L17 + z * (L19 + z * (L21 + z * L23))))))))));
  return 2 * s * p - k * PH_LN2;
}

static double ph_sin_series(double p) {
  double z = p * p;
  return p + p * z * (S3 + z * (S5 + z * (S7 + z * (S9 + z * (S11 + z * (S13 + z * (S15 + z * S17)))))));
}

static double ph_cos_series(double p) {
  double z = p * p;
  return 1 + z * (C2 + z * (C4 + z * (C6 + z * (C8 + z * (C10 + z * (C12 + z * (C14 + z * (C16 + z * C18))))))));
}

// philox.ts seriesCosSin (the tables)
static void ph_series_cos_sin(uint32_t w, double *cs) {
  uint32_t q = w >> 30;
  uint32_t f = w & 0x3fffffffu;
  bool low = f < 0x20000000u;
  double p = ((double)(low ? f : 0x3fffffffu - f) + 0.5) * PH_TWO_M30 * PH_HALF_PI;
  double c = low ? ph_cos_series(p) : ph_sin_series(p);
  double s = low ? ph_sin_series(p) : ph_cos_series(p);
  cs[0] = q == 0 ? c : q == 1 ? -s : q == 2 ? -c : s;
  cs[1] = q == 0 ? s : q == 1 ? c : q == 2 ? -s : -c;
}

static int ph_avx2 = 0;  // whether ph_fill runs the AVX2 kernel (ph_init: when the CPU has AVX2)

static double PH_POW2NEG[33], PH_INV[128], PH_LNC[128], PH_COS[512], PH_SIN[512];

static void ph_init(void) {
#ifdef PH_HAVE_AVX2
  __builtin_cpu_init();
  ph_avx2 = __builtin_cpu_supports("avx2") ? 1 : 0;
#endif
  for (int i = 0; i < 33; i++) PH_POW2NEG[i] = ldexp(1.0, -(i - 1));
  for (int j = 0; j < 128; j++) {
    PH_INV[j] = 1 / (1 + (j + 0.5) / 128);
    PH_LNC[j] = -ph_series_log(PH_INV[j]);
  }
  for (int j = 0; j < 512; j++) {
    double cs[2];
    ph_series_cos_sin((uint32_t)j * 8388608u + 4194304u, cs);
    PH_COS[j] = cs[0];
    PH_SIN[j] = cs[1];
  }
}

// philox.ts logUnit: ln((u + 1/2)·2^-32)
static inline double ph_log_unit(uint32_t u) {
  int k = u == 0 ? -1 : 31 - __builtin_clz(u);
  double m = ((double)u + 0.5) * PH_POW2NEG[k + 1];
  int j = (int)((m - 1) * 128);
  double r = m * PH_INV[j] - 1;
  double p = r + r * r * (-0.5 + r * (P3 + r * (-0.25 + r * (P5 + r * P6))));
  return (double)(k - 32) * PH_LN2 + PH_LNC[j] + p;
}

// philox.ts polar: r·cos θ, r·sin θ of θ = 2π (w + 1/2)·2^-32
static inline void ph_polar(double r, uint32_t w, double *dst) {
  uint32_t j = w >> 23;
  double d = ((double)(w & 0x7fffffu) - 4194304) * PH_TURN_M32;
  double z = d * d;
  double sd = d + d * z * (S3 + z * S5);
  double cd = 1 + z * (C2 + z * (C4 + z * C6));
  double cj = PH_COS[j], sj = PH_SIN[j];
  dst[0] = r * (cj * cd - sj * sd);
  dst[1] = r * (sj * cd + cj * sd);
}

static inline void ph_normal_block(uint64_t b, uint32_t k0, uint32_t k1, double z[4]) {
  uint32_t w[4] = {(uint32_t)b, (uint32_t)(b >> 32), 0, 0};
  philox_rounds(w, k0, k1, 10);
  ph_polar(sqrt(-2 * ph_log_unit(w[0])), w[1], z);
  ph_polar(sqrt(-2 * ph_log_unit(w[2])), w[3], z + 2);
}

// ---- the same normals, 8 blocks at a time on AVX2 (chosen at run time; the bits of ph_normal_block) ------
// Philox on 8 counters in 32-bit lanes (_mm256_mul_epu32 on the even and odd lanes), then Box–Muller on
// 4 pairs per 256-bit vector of doubles (table entries loaded one by one: faster than vgatherdpd on this
// project's AMD EPYC, 4.0 against 5.1 ns a normal). Every operation is the one of ph_log_unit and ph_polar, in the
// same order (IEEE-exact +, −, ×, sqrt; no FMA: the target is avx2 alone and -ffp-contract=off), with the
// leading bit and mantissa of u + 1/2 read from its double's exponent and fraction fields (the same k, m
// and j as __builtin_clz and the exact power-of-two scaling give).
#ifdef PH_HAVE_AVX2

// hi and lo 32 bits of a·m in each of 8 lanes
PH_AVX2 static inline __m256i ph_mulhilo8(__m256i a, __m256i m, __m256i *lo) {
  __m256i pe = _mm256_mul_epu32(a, m);
  __m256i po = _mm256_mul_epu32(_mm256_srli_epi64(a, 32), m);
  *lo = _mm256_blend_epi32(pe, _mm256_slli_epi64(po, 32), 0xAA);
  return _mm256_blend_epi32(_mm256_srli_epi64(pe, 32), po, 0xAA);
}

// r = sqrt(−2 ln u(w0)), then (r cos θ, r sin θ) of θ = 2π u(w1), on 4 lanes
PH_AVX2 static inline void ph_box_muller4(__m128i w0, __m128i w1, __m256d *x, __m256d *y) {
  // ph_log_unit
  const __m256d u = _mm256_add_pd(_mm256_cvtepi32_pd(_mm_xor_si128(w0, _mm_set1_epi32((int)0x80000000u))),
                                  _mm256_set1_pd(2147483648.5));  // w0 + 1/2, exactly
  const __m256i ub = _mm256_castpd_si256(u);
  const __m256i e = _mm256_srli_epi64(ub, 52);  // k + 1023
  const __m256d km32 = _mm256_sub_pd(_mm256_castsi256_pd(_mm256_or_si256(e, _mm256_set1_epi64x(0x4330000000000000LL))),
                                     _mm256_set1_pd(4503599627371551.0));  // 2^52 + 1055: k − 32, exactly
  const __m256d m = _mm256_castsi256_pd(_mm256_or_si256(_mm256_and_si256(ub, _mm256_set1_epi64x(0x000FFFFFFFFFFFFFLL)),
                                                        _mm256_set1_epi64x(0x3FF0000000000000LL)));
  long long j[4];  // floor(128 (m − 1)), the fraction's top 7 bits
  _mm256_storeu_si256((__m256i *)j, _mm256_and_si256(_mm256_srli_epi64(ub, 45), _mm256_set1_epi64x(127)));
  const __m256d inv = _mm256_set_pd(PH_INV[j[3]], PH_INV[j[2]], PH_INV[j[1]], PH_INV[j[0]]);
  const __m256d lnc = _mm256_set_pd(PH_LNC[j[3]], PH_LNC[j[2]], PH_LNC[j[1]], PH_LNC[j[0]]);
  const __m256d r = _mm256_sub_pd(_mm256_mul_pd(m, inv), _mm256_set1_pd(1));
  __m256d q = _mm256_mul_pd(r, _mm256_set1_pd(P6));
  q = _mm256_mul_pd(r, _mm256_add_pd(_mm256_set1_pd(P5), q));
  q = _mm256_mul_pd(r, _mm256_add_pd(_mm256_set1_pd(-0.25), q));
  q = _mm256_mul_pd(r, _mm256_add_pd(_mm256_set1_pd(P3), q));
  q = _mm256_add_pd(_mm256_set1_pd(-0.5), q);
  const __m256d p = _mm256_add_pd(r, _mm256_mul_pd(_mm256_mul_pd(r, r), q));
  const __m256d lg = _mm256_add_pd(_mm256_add_pd(_mm256_mul_pd(km32, _mm256_set1_pd(PH_LN2)), lnc), p);
  const __m256d rad = _mm256_sqrt_pd(_mm256_mul_pd(_mm256_set1_pd(-2), lg));
  // ph_polar
  int jt[4];  // the table angle: w1's top 9 bits
  _mm_storeu_si128((__m128i *)jt, _mm_srli_epi32(w1, 23));
  const __m256d d = _mm256_mul_pd(_mm256_cvtepi32_pd(_mm_sub_epi32(_mm_and_si128(w1, _mm_set1_epi32(0x7fffff)), _mm_set1_epi32(4194304))),
                                  _mm256_set1_pd(PH_TURN_M32));
  const __m256d z = _mm256_mul_pd(d, d);
  const __m256d sd = _mm256_add_pd(d, _mm256_mul_pd(_mm256_mul_pd(d, z), _mm256_add_pd(_mm256_set1_pd(S3), _mm256_mul_pd(z, _mm256_set1_pd(S5)))));
  __m256d c = _mm256_add_pd(_mm256_set1_pd(C4), _mm256_mul_pd(z, _mm256_set1_pd(C6)));
  c = _mm256_add_pd(_mm256_set1_pd(C2), _mm256_mul_pd(z, c));
  const __m256d cd = _mm256_add_pd(_mm256_set1_pd(1), _mm256_mul_pd(z, c));
  const __m256d cj = _mm256_set_pd(PH_COS[jt[3]], PH_COS[jt[2]], PH_COS[jt[1]], PH_COS[jt[0]]);
  const __m256d sj = _mm256_set_pd(PH_SIN[jt[3]], PH_SIN[jt[2]], PH_SIN[jt[1]], PH_SIN[jt[0]]);
  *x = _mm256_mul_pd(rad, _mm256_sub_pd(_mm256_mul_pd(cj, cd), _mm256_mul_pd(sj, sd)));
  *y = _mm256_mul_pd(rad, _mm256_add_pd(_mm256_mul_pd(sj, cd), _mm256_mul_pd(cj, sd)));
}

// the four blocks' normals (x0, y0, x1, y1 in lanes 0..3) as rows [x0 y0 x1 y1] of blocks 0..3, times scale, stored
PH_AVX2 static inline void ph_store4(void *out, int f32, size_t at, __m256d x0, __m256d y0, __m256d x1, __m256d y1, __m256d scale) {
  const __m256d t0 = _mm256_unpacklo_pd(x0, y0), t1 = _mm256_unpackhi_pd(x0, y0);
  const __m256d t2 = _mm256_unpacklo_pd(x1, y1), t3 = _mm256_unpackhi_pd(x1, y1);
  const __m256d r0 = _mm256_mul_pd(_mm256_permute2f128_pd(t0, t2, 0x20), scale);
  const __m256d r1 = _mm256_mul_pd(_mm256_permute2f128_pd(t1, t3, 0x20), scale);
  const __m256d r2 = _mm256_mul_pd(_mm256_permute2f128_pd(t0, t2, 0x31), scale);
  const __m256d r3 = _mm256_mul_pd(_mm256_permute2f128_pd(t1, t3, 0x31), scale);
  if (f32) {
    float *o = (float *)out + at;
    _mm_storeu_ps(o, _mm256_cvtpd_ps(r0));
    _mm_storeu_ps(o + 4, _mm256_cvtpd_ps(r1));
    _mm_storeu_ps(o + 8, _mm256_cvtpd_ps(r2));
    _mm_storeu_ps(o + 12, _mm256_cvtpd_ps(r3));
  } else {
    double *o = (double *)out + at;
    _mm256_storeu_pd(o, r0);
    _mm256_storeu_pd(o + 4, r1);
    _mm256_storeu_pd(o + 8, r2);
    _mm256_storeu_pd(o + 12, r3);
  }
}

// blocks b … b + 8·groups − 1 into out[at …] (4 elements a block)
PH_AVX2 static void ph_fill_avx2(void *out, int f32, size_t at, uint64_t b, size_t groups, uint32_t k0, uint32_t k1, double scale) {
  const __m256i m0 = _mm256_set1_epi32((int)PH_M0), m1 = _mm256_set1_epi32((int)PH_M1);
  const __m256d sc = _mm256_set1_pd(scale);
  for (size_t g = 0; g < groups; g++, b += 8, at += 32) {
    uint32_t lo[8], hi[8];
    for (int l = 0; l < 8; l++) {
      lo[l] = (uint32_t)(b + (uint64_t)l);
      hi[l] = (uint32_t)((b + (uint64_t)l) >> 32);
    }
    __m256i c0 = _mm256_loadu_si256((const __m256i *)lo), c1 = _mm256_loadu_si256((const __m256i *)hi);
    __m256i c2 = _mm256_setzero_si256(), c3 = _mm256_setzero_si256();
    uint32_t ka = k0, kb = k1;
#pragma GCC unroll 10
    for (int r = 0; r < 10; r++) {
      if (r > 0) {
        ka += PH_W0;
        kb += PH_W1;
      }
      __m256i lo0, lo1;
      const __m256i hi0 = ph_mulhilo8(c0, m0, &lo0);
      const __m256i hi1 = ph_mulhilo8(c2, m1, &lo1);
      c0 = _mm256_xor_si256(_mm256_xor_si256(hi1, c1), _mm256_set1_epi32((int)ka));
      c2 = _mm256_xor_si256(_mm256_xor_si256(hi0, c3), _mm256_set1_epi32((int)kb));
      c1 = lo1;
      c3 = lo0;
    }
    __m256d x0, y0, x1, y1;
    ph_box_muller4(_mm256_castsi256_si128(c0), _mm256_castsi256_si128(c1), &x0, &y0);
    ph_box_muller4(_mm256_castsi256_si128(c2), _mm256_castsi256_si128(c3), &x1, &y1);
    ph_store4(out, f32, at, x0, y0, x1, y1, sc);
    ph_box_muller4(_mm256_extracti128_si256(c0, 1), _mm256_extracti128_si256(c1, 1), &x0, &y0);
    ph_box_muller4(_mm256_extracti128_si256(c2, 1), _mm256_extracti128_si256(c3, 1), &x1, &y1);
    ph_store4(out, f32, at + 16, x0, y0, x1, y1, sc);
  }
}
#endif

typedef struct {
  void *out;
  int f32;
  size_t from, to;  // elements [from, to) of out
  uint64_t offset;  // stream position of out[0]
  uint32_t k0, k1;
  double scale;
} PhiloxJob;

static void *ph_fill(void *arg) {
  PhiloxJob *j = (PhiloxJob *)arg;
  double z[4];
  size_t i = j->from;
  while (i < j->to) {
#ifdef PH_HAVE_AVX2
    // whole blocks, 8 at a time, once the run is at a block's first word
    if (((j->offset + i) & 3) == 0 && ph_avx2 == 1 && j->to - i >= 32) {
      size_t groups = (j->to - i) / 32;
      ph_fill_avx2(j->out, j->f32, i, (j->offset + i) >> 2, groups, j->k0, j->k1, j->scale);
      i += groups * 32;
      if (i >= j->to) break;
    }
#endif
    uint64_t pos = j->offset + i;
    ph_normal_block(pos >> 2, j->k0, j->k1, z);
    for (unsigned w = (unsigned)(pos & 3); w < 4 && i < j->to; w++, i++) {
      double v = z[w] * j->scale;
      if (j->f32)
        ((float *)j->out)[i] = (float)v;
      else
        ((double *)j->out)[i] = v;
    }
  }
  return NULL;
}

#define PH_MAX_THREADS 64
#define PH_MIN_PER_THREAD 65536
#define PH_CHUNK 16384  // stream positions a thread takes at a time (a multiple of 32: whole 8-block steps)

// The threads of one call take chunks [c·PH_CHUNK, (c + 1)·PH_CHUNK) of stream positions in turn from a shared
// counter, so that on a loaded machine a thread that starts late does less (the bits do not depend on who
// draws what).
typedef struct {
  PhiloxJob job;   // the whole call: elements [0, n)
  size_t nchunks;  // chunks first … first + nchunks − 1 hold the call's positions
  uint64_t first;  // the chunk of stream position offset
  size_t next;     // the next chunk to take (atomic)
} PhiloxQueue;

static void *ph_fill_queue(void *arg) {
  PhiloxQueue *q = (PhiloxQueue *)arg;
  size_t n = q->job.to;
  for (;;) {
    size_t c = __atomic_fetch_add(&q->next, 1, __ATOMIC_RELAXED);
    if (c >= q->nchunks) break;
    PhiloxJob part = q->job;
    uint64_t lo = (q->first + c) * PH_CHUNK, hi = lo + PH_CHUNK;  // stream positions
    part.from = lo <= q->job.offset ? 0 : (size_t)(lo - q->job.offset);
    part.to = hi - q->job.offset < n ? (size_t)(hi - q->job.offset) : n;
    ph_fill(&part);
  }
  return NULL;
}

// philoxNormal(out: Float64Array | Float32Array, k0, k1, offset, scale, threads): elements offset … of the
// normal stream (k0, k1), times scale, on `threads` threads (chunks of PH_CHUNK positions from a shared
// counter; the same bits at any count).
static napi_value PhiloxNormal(napi_env env, napi_callback_info info) {
  size_t argc = 6;
  napi_value v[6];
  napi_get_cb_info(env, info, &argc, v, NULL, NULL);
  if (argc != 6) {
    napi_throw_type_error(env, NULL, "signalprop-blas: philoxNormal(out, k0, k1, offset, scale, threads)");
    return NULL;
  }
  napi_typedarray_type type;
  napi_value buf;
  size_t n, boff;
  void *data;
  if (napi_get_typedarray_info(env, v[0], &type, &n, &data, &buf, &boff) != napi_ok ||
      (type != napi_float64_array && type != napi_float32_array)) {
    napi_throw_type_error(env, NULL, "signalprop-blas: philoxNormal: expected a Float64Array or Float32Array");
    return NULL;
  }
  uint32_t k0, k1;
  double offset, scale;
  int threads;
  if (napi_get_value_uint32(env, v[1], &k0) != napi_ok || napi_get_value_uint32(env, v[2], &k1) != napi_ok) {
    napi_throw_type_error(env, NULL, "signalprop-blas: philoxNormal: a key word is not a number");
    return NULL;
  }
  if (!get_d(env, v[3], &offset) || !get_d(env, v[4], &scale) || !get_i(env, v[5], &threads)) return NULL;
  if (!(offset >= 0 && offset <= 9007199254740992.0 - (double)n && offset == floor(offset))) {
    napi_throw_range_error(env, NULL, "signalprop-blas: philoxNormal: offset is not an integer in [0, 2^53 - out.length]");
    return NULL;
  }
  if (threads < 1) threads = 1;
  if (threads > PH_MAX_THREADS) threads = PH_MAX_THREADS;
  // a thread starts for each PH_MIN_PER_THREAD elements at most (a pthread_create costs about what 10^4 normals do)
  if ((size_t)threads * PH_MIN_PER_THREAD > n) threads = n / PH_MIN_PER_THREAD > 0 ? (int)(n / PH_MIN_PER_THREAD) : 1;
  PhiloxQueue q = {{data, type == napi_float32_array, 0, n, (uint64_t)offset, k0, k1, scale}, 0, 0, 0};
  if (threads == 1 || n == 0) {
    ph_fill(&q.job);
    return NULL;
  }
  q.first = (uint64_t)offset / PH_CHUNK;
  q.nchunks = (size_t)(((uint64_t)offset + n - 1) / PH_CHUNK - q.first + 1);
  pthread_t tid[PH_MAX_THREADS];
  bool started[PH_MAX_THREADS] = {false};
  for (int t = 1; t < threads; t++) started[t] = pthread_create(&tid[t], NULL, ph_fill_queue, &q) == 0;
  ph_fill_queue(&q);  // this thread too; what a thread that could not start would do is left to the others
  for (int t = 1; t < threads; t++)
    if (started[t]) pthread_join(tid[t], NULL);
  return NULL;
}

// philoxKernel(use?: "avx2" | "portable"): the kernel philoxNormal runs ("avx2" where the CPU has it), after
// selecting `use` when given (for the tests, which check that both give the same bits). Process-wide.
static napi_value PhiloxKernel(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value v[1];
  napi_get_cb_info(env, info, &argc, v, NULL, NULL);
  if (argc >= 1) {
    napi_valuetype t;
    napi_typeof(env, v[0], &t);
    if (t != napi_undefined) {
      char name[16] = "";
      size_t len = 0;
      if (t == napi_string) napi_get_value_string_utf8(env, v[0], name, sizeof name, &len);
      bool avx2 = strcmp(name, "avx2") == 0;
      if (!avx2 && strcmp(name, "portable") != 0) {
        napi_throw_type_error(env, NULL, "signalprop-blas: philoxKernel: use is not one of avx2, portable");
        return NULL;
      }
#ifdef PH_HAVE_AVX2
      if (avx2 && !__builtin_cpu_supports("avx2")) {
        napi_throw_error(env, NULL, "signalprop-blas: philoxKernel: this CPU has no AVX2");
        return NULL;
      }
      ph_avx2 = avx2 ? 1 : 0;
#else
      if (avx2) {
        napi_throw_error(env, NULL, "signalprop-blas: philoxKernel: built without the AVX2 kernel (not x86-64)");
        return NULL;
      }
#endif
    }
  }
  napi_value out;
  napi_create_string_utf8(env, ph_avx2 ? "avx2" : "portable", NAPI_AUTO_LENGTH, &out);
  return out;
}

// philox4x32(ctr: Uint32Array(4), k0, k1, rounds, out: Uint32Array(4)): one block (the known-answer tests).
static napi_value Philox4x32(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value v[5];
  napi_get_cb_info(env, info, &argc, v, NULL, NULL);
  napi_typedarray_type t1, t2;
  napi_value buf;
  size_t n1, n2, off;
  void *ctr, *out;
  uint32_t k0, k1;
  int rounds;
  if (argc != 5 || napi_get_typedarray_info(env, v[0], &t1, &n1, &ctr, &buf, &off) != napi_ok ||
      napi_get_typedarray_info(env, v[4], &t2, &n2, &out, &buf, &off) != napi_ok || t1 != napi_uint32_array ||
      t2 != napi_uint32_array || n1 < 4 || n2 < 4 || napi_get_value_uint32(env, v[1], &k0) != napi_ok ||
      napi_get_value_uint32(env, v[2], &k1) != napi_ok || napi_get_value_int32(env, v[3], &rounds) != napi_ok ||
      rounds < 0 || rounds > 16) {
    napi_throw_type_error(env, NULL, "signalprop-blas: philox4x32(ctr: Uint32Array(4), k0, k1, rounds 0..16, out: Uint32Array(4))");
    return NULL;
  }
  uint32_t c[4];
  memcpy(c, ctr, sizeof c);
  philox_rounds(c, k0, k1, rounds);
  memcpy(out, c, sizeof c);
  return NULL;
}

static pthread_once_t ph_once = PTHREAD_ONCE_INIT;

NAPI_MODULE_INIT() {
  pthread_once(&ph_once, ph_init);  // once per process (worker threads load the addon again)
  napi_property_descriptor props[] = {
      {"dgemm", NULL, Dgemm, NULL, NULL, NULL, napi_default, NULL},
      {"dsyrk", NULL, Dsyrk, NULL, NULL, NULL, napi_default, NULL},
      {"sgemm", NULL, Sgemm, NULL, NULL, NULL, napi_default, NULL},
      {"binary", NULL, Binary, NULL, NULL, NULL, napi_default, NULL},
      {"unary", NULL, Unary, NULL, NULL, NULL, napi_default, NULL},
      {"reduce", NULL, Reduce, NULL, NULL, NULL, napi_default, NULL},
      {"transpose", NULL, Transpose, NULL, NULL, NULL, napi_default, NULL},
      {"bnForward", NULL, BnForward, NULL, NULL, NULL, napi_default, NULL},
      {"bnBackward", NULL, BnBackward, NULL, NULL, NULL, napi_default, NULL},
      {"sgdUpdate", NULL, SgdUpdate, NULL, NULL, NULL, napi_default, NULL},
      {"sumSquares", NULL, SumSquares, NULL, NULL, NULL, napi_default, NULL},
      {"setThreads", NULL, SetThreads, NULL, NULL, NULL, napi_default, NULL},
      {"getThreads", NULL, GetThreads, NULL, NULL, NULL, napi_default, NULL},
      {"sgemmEngine", NULL, SgemmEngine, NULL, NULL, NULL, napi_default, NULL},
      {"coreName", NULL, CoreName, NULL, NULL, NULL, napi_default, NULL},
      {"philoxNormal", NULL, PhiloxNormal, NULL, NULL, NULL, napi_default, NULL},
      {"philox4x32", NULL, Philox4x32, NULL, NULL, NULL, napi_default, NULL},
      {"philoxKernel", NULL, PhiloxKernel, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_define_properties(env, exports, sizeof(props) / sizeof(props[0]), props);
#ifdef SP_DNNL
  napi_property_descriptor conv[] = {
      {"conv2d", NULL, Conv2d, NULL, NULL, NULL, napi_default, NULL},
      {"convImpl", NULL, ConvImpl, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_define_properties(env, exports, sizeof(conv) / sizeof(conv[0]), conv);
#endif
  return exports;
}
