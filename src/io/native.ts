// The one loader of signalprop's optional native addon (native/blas inside this package: C over
// N-API, OpenBLAS and, where installed, oneDNN). The sampler (src/sample/linalg.ts: float64 dgemm/dsyrk)
// and the blas tfjs backend (src/train/blas.ts: float32 kernels, fused BN/SGD) both load it here, through
// one typed interface. It is cached and never throws: without the addon, loadNative() is null,
// nativeUnavailableReason() says why, and each room falls back (TypeScript kernels; tfjs-wasm).
//
// The op codes and fused-kernel names come from the addon's own export (native/blas/index.cjs, typed by
// index.d.cts), not from a copy here.
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { isMainThread } from 'node:worker_threads';
import type { Binding, ConvBinding, FusedFn, FusedKernel, Ops, RandomBinding } from '../../native/blas/index.cjs';
import { fillNormalPhilox, type PhiloxNormalFill, setPhiloxNormalFill } from '../network/philox.js';
import { packageRoot } from './package.js';

export type { BinaryOp, FusedKernel, OperandMode, Ops, UnaryOp } from '../../native/blas/index.cjs';

/** float64 kernels (the sampler): row-major dgemm, and dsyrk of the upper triangle. */
export type NativeFloat64 = Pick<Binding, 'dgemm' | 'dsyrk'>;

/** float32 kernels (the blas training backend), with the codes of binary/unary and the fused kernels. */
export type NativeFloat32 = Pick<
  Binding,
  'sgemm' | 'binary' | 'unary' | 'reduce' | 'transpose' | 'bnForward' | 'bnBackward' | 'sgdUpdate' | 'sumSquares'
> & {
  /** The integer codes binary() and unary() take, by name. */
  readonly ops: Ops;
  /** Each fused kernel: the tfjs kernel name it is registered under and the addon function it runs. */
  readonly fused: Readonly<Record<FusedKernel, { readonly kernel: string; readonly fn: FusedFn }>>;
  /** oneDNN's direct convolution (NHWC, HWIO filters), or null in a build without oneDNN (then im2col + sgemm). */
  readonly conv2d: ConvBinding['conv2d'] | null;
};

/** The BLAS thread count (one per process: the sampler and the blas backend share one OpenBLAS). */
export interface NativeThreads {
  /** Set it (n rounded down, at least 1). */
  set(n: number): void;
  get(): number;
}

export interface NativeInfo {
  /** What runs the float32 matMul: "oneDNN <version>" or "OpenBLAS". */
  sgemm: string;
  /** OpenBLAS's kernel set (e.g. "Haswell"); its rounding depends on it. */
  openblasCore: string;
  /** What runs the trainer's convolutions: "oneDNN" (its direct convolution) or "im2col + sgemm". */
  conv: string;
}

/**
 * The Philox4x32-10 generator (the same bits as src/network/philox.ts, which documents the stream layout), or
 * null in an addon built before it.
 */
export type NativeRandom = Pick<RandomBinding, 'philoxNormal' | 'philox4x32' | 'philoxKernel'>;

export interface Native {
  float64: NativeFloat64;
  float32: NativeFloat32;
  threads: NativeThreads;
  info: NativeInfo;
}

/** Every function the interface above needs from the addon (a build missing one is refused as stale). */
const FUNCTIONS = [
  'dgemm',
  'dsyrk',
  'sgemm',
  'binary',
  'unary',
  'reduce',
  'transpose',
  'bnForward',
  'bnBackward',
  'sgdUpdate',
  'sumSquares',
  'setThreads',
  'getThreads',
  'sgemmEngine',
  'coreName',
] as const satisfies readonly (keyof Binding)[];
// a function of Binding missing from FUNCTIONS is a compile error here
const _every: Exclude<keyof Binding, (typeof FUNCTIONS)[number]> extends never ? true : never = true;
void _every;

type Addon = Binding & Partial<ConvBinding> & Partial<RandomBinding> & { OPS?: Ops; FUSED?: NativeFloat32['fused'] };

let cache: Native | null | undefined;
let reason: string | null = null;

function wrap(a: Addon): Native {
  const missing = FUNCTIONS.filter((f) => typeof a[f] !== 'function');
  if (missing.length || !a.OPS || !a.FUSED)
    throw new Error(
      `the built addon predates this signalprop (it lacks ${[...missing, ...(a.OPS ? [] : ['OPS']), ...(a.FUSED ? [] : ['FUSED'])].join(', ')}); ${buildCommand()}`,
    );
  return {
    float64: { dgemm: a.dgemm, dsyrk: a.dsyrk },
    float32: {
      sgemm: a.sgemm,
      binary: a.binary,
      unary: a.unary,
      reduce: a.reduce,
      transpose: a.transpose,
      bnForward: a.bnForward,
      bnBackward: a.bnBackward,
      sgdUpdate: a.sgdUpdate,
      sumSquares: a.sumSquares,
      ops: a.OPS,
      fused: a.FUSED,
      conv2d: typeof a.conv2d === 'function' ? a.conv2d : null,
    },
    threads: { set: (n) => a.setThreads(Math.max(1, Math.floor(n))), get: () => a.getThreads() },
    info: { sgemm: a.sgemmEngine(), openblasCore: a.coreName(), conv: typeof a.conv2d === 'function' ? 'oneDNN' : 'im2col + sgemm' },
  };
}

/** The native addon, or null (see nativeUnavailableReason()) when it is not built or not installed. Cached; never throws. */
export function loadNative(): Native | null {
  if (cache !== undefined) return cache;
  try {
    cache = wrap(createRequire(import.meta.url)(addonPath()) as Addon);
  } catch (e) {
    reason = (e as Error).message.split('\n')[0];
    cache = null;
  }
  return cache;
}

let randomCache: NativeRandom | null | undefined;

/**
 * The addon's Philox4x32-10 generator, or null when the addon is not loaded (nativeUnavailableReason() says
 * why) or was built before the generator (then the TypeScript one in src/network/philox.ts gives the same bits).
 */
export function nativeRandom(): NativeRandom | null {
  if (randomCache !== undefined) return randomCache;
  randomCache = null;
  if (loadNative()) {
    const a = createRequire(import.meta.url)(addonPath()) as Addon;
    if (typeof a.philoxNormal === 'function' && typeof a.philox4x32 === 'function' && typeof a.philoxKernel === 'function')
      randomCache = { philoxNormal: a.philoxNormal, philox4x32: a.philox4x32, philoxKernel: a.philoxKernel };
  }
  return randomCache;
}

/**
 * The addon's philoxNormal as fillNormalPhilox's bulk fill, on the BLAS thread count (threads.get(): what the
 * sampler and the sweep workers set for their dgemm), or null without the addon.
 */
export function nativePhiloxFill(): PhiloxNormalFill | null {
  const r = nativeRandom();
  const n = loadNative();
  if (!r || !n) return null;
  return (out, k0, k1, offset, scale) => r.philoxNormal(out, k0, k1, offset, scale, n.threads.get());
}

// Every Philox normal drawn in bulk in a Node process that loads this module (the sampler, the trainer, the
// CLI) runs on the addon when it is built: the same bits (test/network/philoxSampler.test.ts). The addon
// is looked up at the first bulk draw; without it the TypeScript generator stays.
setPhiloxNormalFill((out, k0, k1, offset, scale) => {
  const fill = nativePhiloxFill();
  setPhiloxNormalFill(fill);
  if (fill) fill(out, k0, k1, offset, scale);
  else fillNormalPhilox(out, [k0, k1], offset, scale);
});

/** Why loadNative() is null (one line), or null when the addon loaded. */
export function nativeUnavailableReason(): string | null {
  loadNative();
  return reason;
}

/** The addon's entry (native/blas/index.cjs, beside dist/ in the package, or in a checkout). */
export function addonPath(): string {
  return join(packageRoot(), 'native', 'blas', 'index.cjs');
}

/** The command that builds the addon (npm runs no install scripts of dependencies unless approved). */
export function buildCommand(): string {
  return `build it with \`node ${join(packageRoot(), 'native', 'blas', 'build.cjs')}\` (needs a C compiler and the OpenBLAS headers: \`sudo apt-get install gcc libopenblas-dev\`)`;
}

/** How to get the addon, for messages: "build it with …". */
export const NATIVE_BUILD_HINT = buildCommand();

/** The paths that run slower without the addon, and by about how much (measured: docs/sampling.md, docs/training.md). */
const SLOW_PATHS = {
  sampler: 'the sampler runs its TypeScript float64 kernels, about 16× slower',
  training: 'training runs on tfjs-wasm, about 5× slower',
} as const;
const warned = new Set<keyof typeof SLOW_PATHS>();

/**
 * Say once per process (from its main thread: workers would repeat it), on stderr, that a slow path is used because the addon is missing: which path, how
 * much slower, and how to build the addon. Silent when the addon loaded.
 */
export function warnSlowPath(path: keyof typeof SLOW_PATHS, write: (line: string) => void = (l) => process.stderr.write(l)): void {
  if (loadNative() || warned.has(path) || !isMainThread) return;
  warned.add(path);
  write(`signalprop: the native addon is not built (${reason}); ${SLOW_PATHS[path]}. To speed it up, ${NATIVE_BUILD_HINT}\n`);
}

// ---- its user-facing name ------------------------------------------------------------------------

/** The one name of the addon in every `--backend` flag and config (sample and train). */
export const NATIVE = 'native';

/**
 * Older names of it, still accepted wherever NATIVE is: "blas" (train's --backend and train configs
 * before "native") and "openblas" (what the sampler's records call its kernels).
 */
export const NATIVE_ALIASES = ['blas', 'openblas'] as const;
export type NativeAlias = (typeof NATIVE_ALIASES)[number];

/** Whether `name` names the native addon (NATIVE or one of its aliases). */
export function isNativeName(name: unknown): name is typeof NATIVE | NativeAlias {
  return name === NATIVE || (NATIVE_ALIASES as readonly unknown[]).includes(name);
}

/** `name` with an alias of the native addon replaced by NATIVE; any other name unchanged. */
export function canonicalBackend<T extends string>(name: T): T | typeof NATIVE {
  return isNativeName(name) ? NATIVE : name;
}
