// signalprop-blas: a small N-API binding to the system CBLAS (OpenBLAS) for the float64 sampler.
// Row-major dgemm / dsyrk on Float64Array views, and the BLAS thread count.
#include <node_api.h>
#include <cblas.h>
#include <stdbool.h>
#include <stddef.h>

// Provided by OpenBLAS (declared in its cblas.h on Debian; declared here for other layouts).
extern void openblas_set_num_threads(int);
extern int openblas_get_num_threads(void);

static bool get_f64(napi_env env, napi_value v, double **data, size_t *len) {
  napi_typedarray_type type;
  void *ptr;
  napi_value buf;
  size_t off;
  if (napi_get_typedarray_info(env, v, &type, len, &ptr, &buf, &off) != napi_ok || type != napi_float64_array) {
    napi_throw_type_error(env, NULL, "signalprop-blas: expected a Float64Array");
    return false;
  }
  *data = (double *)ptr;
  return true;
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

// dgemm(transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc): C = alpha op(A) op(B) + beta C
static napi_value Dgemm(napi_env env, napi_callback_info info) {
  size_t argc = 13;
  napi_value a[13];
  napi_get_cb_info(env, info, &argc, a, NULL, NULL);
  if (argc != 13) {
    napi_throw_error(env, NULL, "signalprop-blas: dgemm takes 13 arguments");
    return NULL;
  }
  int ta, tb, M, N, K, lda, ldb, ldc;
  double alpha, beta, *A, *B, *C;
  size_t la, lb, lc;
  if (!get_i(env, a[0], &ta) || !get_i(env, a[1], &tb) || !get_i(env, a[2], &M) || !get_i(env, a[3], &N) ||
      !get_i(env, a[4], &K) || !get_d(env, a[5], &alpha) || !get_f64(env, a[6], &A, &la) || !get_i(env, a[7], &lda) ||
      !get_f64(env, a[8], &B, &lb) || !get_i(env, a[9], &ldb) || !get_d(env, a[10], &beta) ||
      !get_f64(env, a[11], &C, &lc) || !get_i(env, a[12], &ldc))
    return NULL;
  // bounds: row-major op(A) is M x K, stored rows x lda
  size_t needA = ta ? (size_t)(K - 1) * lda + M : (size_t)(M - 1) * lda + K;
  size_t needB = tb ? (size_t)(N - 1) * ldb + K : (size_t)(K - 1) * ldb + N;
  size_t needC = (size_t)(M - 1) * ldc + N;
  if (M <= 0 || N <= 0 || K <= 0 || la < needA || lb < needB || lc < needC) {
    napi_throw_range_error(env, NULL, "signalprop-blas: dgemm dimensions exceed the arrays");
    return NULL;
  }
  cblas_dgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, M, N, K, alpha, A, lda, B,
              ldb, beta, C, ldc);
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

static napi_value SetThreads(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value a[1];
  napi_get_cb_info(env, info, &argc, a, NULL, NULL);
  int n;
  if (argc != 1 || !get_i(env, a[0], &n)) return NULL;
  openblas_set_num_threads(n < 1 ? 1 : n);
  return NULL;
}

static napi_value GetThreads(napi_env env, napi_callback_info info) {
  napi_value out;
  napi_create_int32(env, openblas_get_num_threads(), &out);
  return out;
}

NAPI_MODULE_INIT() {
  napi_property_descriptor props[] = {
      {"dgemm", NULL, Dgemm, NULL, NULL, NULL, napi_default, NULL},
      {"dsyrk", NULL, Dsyrk, NULL, NULL, NULL, napi_default, NULL},
      {"setThreads", NULL, SetThreads, NULL, NULL, NULL, napi_default, NULL},
      {"getThreads", NULL, GetThreads, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_define_properties(env, exports, sizeof(props) / sizeof(props[0]), props);
  return exports;
}
