// The one loader of the native addon (src/io/native.ts) and the names it shares with TypeScript: the
// op codes in native/blas/index.cjs against blas.c's own enums (read from the C source), the names the
// TypeScript declaration (native/blas/index.d.cts) promises against what the built addon exports, and
// the one user-facing name ("native") with its aliases.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  type BinaryOp,
  canonicalBackend,
  type FusedKernel,
  isNativeName,
  loadNative,
  NATIVE,
  NATIVE_ALIASES,
  type OperandMode,
  nativeUnavailableReason,
  type UnaryOp,
} from '../../src/io/native.js';

const native = loadNative();
const C_SOURCE = readFileSync(new URL('../../native/blas/blas.c', import.meta.url), 'utf8');

/** blas.c's `enum { PREFIX_NAME = v, … }` entries for one prefix, as { name (lower case): v }. */
function cEnum(prefix: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const m of C_SOURCE.matchAll(new RegExp(`\\b${prefix}_([A-Z0-9]+)\\s*=\\s*(\\d+)`, 'g'))) out[m[1].toLowerCase()] = Number(m[2]);
  return out;
}

// The names the TypeScript side uses, one entry per member of each declared union: a member missing here
// or one the union lacks is a compile error, so these lists are the declaration's, checked by tsc.
const BINARY: Record<BinaryOp, true> = { add: true, sub: true, mul: true, div: true, max: true, min: true, sqdiff: true };
const UNARY: Record<UnaryOp, true> = { square: true, relu: true, step: true, neg: true, sqrt: true, rsqrt: true, abs: true };
const MODES: Record<OperandMode, true> = { full: true, scalar: true, row: true, col: true };
const FUSED: Record<FusedKernel, true> = { batchNorm: true, batchNormGrad: true, sgdUpdate: true, sumSquares: true };
const sorted = (o: object) => Object.keys(o).sort();

describe('loadNative', () => {
  it('is cached, never throws, and is null exactly when it gives a reason', () => {
    expect(loadNative()).toBe(native);
    expect(native === null).toBe(nativeUnavailableReason() !== null);
    if (native === null) expect(nativeUnavailableReason()).toMatch(/\S/);
  });

  it('the C source declares the enums the names mirror (so the checks below compare something)', () => {
    expect(sorted(cEnum('OP'))).toEqual(sorted(BINARY));
    expect(sorted(cEnum('UN'))).toEqual(sorted(UNARY));
    expect(sorted(cEnum('MODE'))).toEqual(sorted(MODES));
  });
});

describe.skipIf(native === null)('the built addon exports the names the TypeScript code uses', () => {
  const n = native!;

  it('op codes: the same names as the declaration, the same values as blas.c', () => {
    expect(sorted(n.float32.ops)).toEqual(['binary', 'mode', 'unary']);
    expect(sorted(n.float32.ops.binary)).toEqual(sorted(BINARY));
    expect(sorted(n.float32.ops.unary)).toEqual(sorted(UNARY));
    expect(sorted(n.float32.ops.mode)).toEqual(sorted(MODES));
    expect({ ...n.float32.ops.binary }).toEqual(cEnum('OP'));
    expect({ ...n.float32.ops.unary }).toEqual(cEnum('UN'));
    expect({ ...n.float32.ops.mode }).toEqual(cEnum('MODE'));
  });

  it('fused kernels: the declared roles, distinct tfjs kernel names, each running a function of the addon', () => {
    expect(sorted(n.float32.fused)).toEqual(sorted(FUSED));
    const kernels = Object.values(n.float32.fused).map((f) => f.kernel);
    expect(new Set(kernels).size).toBe(kernels.length);
    for (const f of Object.values(n.float32.fused)) expect(typeof (n.float32 as Record<string, unknown>)[f.fn], f.fn).toBe('function');
  });

  it('one interface: float64, float32, threads and info', () => {
    expect(sorted(n)).toEqual(['float32', 'float64', 'info', 'threads']);
    expect(typeof n.float64.dgemm).toBe('function');
    expect(typeof n.float64.dsyrk).toBe('function');
    expect(n.info.sgemm).toMatch(/^(oneDNN \d+\.\d+\.\d+|OpenBLAS)$/);
    expect(n.info.openblasCore).toMatch(/\S/);
    const before = n.threads.get();
    try {
      n.threads.set(0.5); // rounded down, then at least 1
      expect(n.threads.get()).toBe(1);
    } finally {
      n.threads.set(before);
    }
  });

  it('float64 dgemm through the interface: a 2×3 by 3×2 product computed by hand', () => {
    const A = Float64Array.from([1, 2, 3, 4, 5, 6]);
    const B = Float64Array.from([7, 8, 9, 10, 11, 12]);
    const C = new Float64Array(4);
    n.float64.dgemm(0, 0, 2, 2, 3, 1, A, 3, B, 2, 0, C, 2);
    // [1 2 3; 4 5 6]·[7 8; 9 10; 11 12] = [58 64; 139 154]
    expect([...C]).toEqual([58, 64, 139, 154]);
  });
});

describe('the user-facing name', () => {
  it('"native" is canonical; "blas" and "openblas" are its aliases; other names pass through', () => {
    expect(NATIVE).toBe('native');
    expect([...NATIVE_ALIASES].sort()).toEqual(['blas', 'openblas']);
    for (const a of ['native', 'blas', 'openblas']) {
      expect(isNativeName(a)).toBe(true);
      expect(canonicalBackend(a)).toBe('native');
    }
    for (const o of ['auto', 'wasm', 'cpu', 'typescript', 'node', 'Native', '']) {
      expect(isNativeName(o)).toBe(false);
      expect(canonicalBackend(o)).toBe(o);
    }
  });
});
