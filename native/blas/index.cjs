// signalprop-blas: the compiled addon (build/blas.node) plus the names of the codes its kernels take.
// Throws if the addon was not built; signalprop's one loader (src/io/native.ts) catches that and each
// room falls back (TypeScript kernels for the sampler, tfjs-wasm for training).
//
// OPS and FUSED are the one JavaScript source of these names: TypeScript reads them from here (typed by
// index.d.cts), never from a copy. OPS mirrors blas.c's enums (OP_*, UN_*, MODE_*), value for value;
// test/io/native.test.ts reads blas.c and checks that it does.
const binding = require('./build/blas.node');

/** The integer codes of binary(op, …, aMode, …, bMode, …) and unary(op, …). */
const OPS = Object.freeze({
  /** blas.c OP_*: out = a ∘ b */
  binary: Object.freeze({ add: 0, sub: 1, mul: 2, div: 3, max: 4, min: 5, sqdiff: 6 }),
  /** blas.c UN_*: out = f(x) (step takes its value at x <= 0 as alpha) */
  unary: Object.freeze({ square: 0, relu: 1, step: 2, neg: 3, sqrt: 4, rsqrt: 5, abs: 6 }),
  /** blas.c MODE_*: how an operand of binary() spans the rows x cols output */
  mode: Object.freeze({ full: 0, scalar: 1, row: 2, col: 3 }),
});

/**
 * The fused kernels: for each, the tfjs kernel name the blas backend registers it under
 * (src/train/blas.ts) and src/train/ops.ts dispatches to, and the addon function it runs.
 */
const FUSED = Object.freeze({
  batchNorm: Object.freeze({ kernel: 'SignalpropBatchNorm', fn: 'bnForward' }),
  batchNormGrad: Object.freeze({ kernel: 'SignalpropBatchNormGrad', fn: 'bnBackward' }),
  sgdUpdate: Object.freeze({ kernel: 'SignalpropSgdUpdate', fn: 'sgdUpdate' }),
  sumSquares: Object.freeze({ kernel: 'SignalpropSumSquares', fn: 'sumSquares' }),
});

// The addon's properties are not enumerable (napi_default), so they are copied by name, not spread.
const out = { OPS, FUSED };
for (const k of Object.getOwnPropertyNames(binding)) out[k] = binding[k];
module.exports = Object.freeze(out);
