// Backends for training: "auto" (the default: native when signalprop's native addon is built, else
// wasm), native (also accepted by its older name "blas": tfjs's cpu backend with the addon's float32
// kernels, oneDNN or OpenBLAS sgemm and C loops, registered with tfjs as "blas", src/train/blas.ts), tfjs +
// wasm (SIMD), the pure-JS cpu backend, and, only when the user installed them,
// @tensorflow/tfjs-node / @tensorflow/tfjs-node-gpu (loaded at run time).
import { createRequire } from 'node:module';
import os from 'node:os';
import { dirname, join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { canonicalBackend, isNativeName, NATIVE_ALIASES, NATIVE_BUILD_HINT, warnSlowPath } from '../io/native.js';
import { blasLibraries, blasThreads, blasUnavailableReason, registerBlasBackend, setBlasThreads } from './blas.js';
import { TrainConfigError } from './errors.js';

/** The training backends by their canonical names; "native" also answers to NATIVE_ALIASES ("blas", "openblas"). */
export const BACKENDS = ['auto', 'native', 'wasm', 'cpu', 'node', 'node-gpu'] as const;
/** A backend name as a flag or config may give it: canonical, or an alias of native (kept as given in configs and manifests). */
export type BackendName = (typeof BACKENDS)[number] | (typeof NATIVE_ALIASES)[number];

/** What a bad backend name is told: the canonical names, and the aliases. */
export const BACKENDS_ALLOWED = `${BACKENDS.join(' | ')} (native is also accepted as ${NATIVE_ALIASES.join(' or ')})`;

/** Whether `name` is a training backend (canonical or an alias). */
export function isBackendName(name: unknown): name is BackendName {
  return typeof name === 'string' && (BACKENDS as readonly string[]).includes(canonicalBackend(name));
}

export interface BackendInfo {
  /** The backend asked for. */
  requested: BackendName;
  /** The tfjs backend in use (blas: the native addon's, wasm, cpu, tensorflow). */
  name: string;
  /** tfjs version (tfjs-core). */
  tfjsVersion: string;
  /** Whether the backend computes on a GPU. */
  gpu: boolean;
  /** wasm: whether SIMD is on. */
  simd?: boolean;
  /** blas: the BLAS thread count. */
  threads?: number;
  /** blas: what runs the float32 matMul (oneDNN or OpenBLAS) and OpenBLAS's kernel set. */
  libraries?: { sgemm: string; openblasCore: string };
  /** Set when the requested backend failed and a fallback is in use. */
  fallbackFrom?: string;
}

const require = createRequire(import.meta.url);
const NODE_PKG: Record<'node' | 'node-gpu', string> = {
  node: '@tensorflow/tfjs-node',
  'node-gpu': '@tensorflow/tfjs-node-gpu',
};

let current: BackendInfo | null = null;

function quiet(): void {
  // Production mode silences tfjs's console hints (e.g. "Hi, looks like you are running TensorFlow.js
  // in Node.js" on the cpu backend) and skips per-op NaN checks (we check loss and gradients ourselves).
  tf.enableProdMode();
}

async function useWasm(): Promise<BackendInfo> {
  const dir = dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json'));
  setWasmPaths(`${join(dir, 'dist')}/`);
  const ok = await tf.setBackend('wasm');
  if (!ok) throw new Error('tf.setBackend("wasm") returned false');
  await tf.ready();
  return {
    requested: 'wasm',
    name: 'wasm',
    tfjsVersion: tf.version_core,
    gpu: false,
    simd: tf.env().getBool('WASM_HAS_SIMD_SUPPORT') as boolean,
  };
}

async function useNode(kind: 'node' | 'node-gpu'): Promise<BackendInfo> {
  const pkg = NODE_PKG[kind];
  let mod: any;
  try {
    const specifier = pkg; // a variable, so that type checking and bundlers do not resolve it
    mod = await import(specifier);
  } catch (e) {
    const why =
      (e as NodeJS.ErrnoException).code === 'ERR_MODULE_NOT_FOUND'
        ? 'is not installed'
        : `failed to load (${(e as Error).message.split('\n')[0]})`;
    throw new TrainConfigError(
      'backend',
      kind,
      `a backend whose package is installed: ${pkg} ${why}. Install it with \`npm i ${pkg}@${tf.version_core}\` ` +
        '(its install script downloads libtensorflow from storage.googleapis.com, so it needs that access' +
        (kind === 'node-gpu' ? ', and CUDA/cuDNN for the GPU' : '') +
        '), or use --backend auto (default), native, wasm or cpu',
    );
  }
  const ok = await tf.setBackend('tensorflow');
  if (!ok)
    throw new TrainConfigError(
      'backend',
      kind,
      `${pkg} loaded but did not register the "tensorflow" backend with @tensorflow/tfjs ${tf.version_core}; install matching versions`,
    );
  await tf.ready();
  const be: any = tf.backend();
  const gpu = kind === 'node-gpu' && (be?.isUsingGpuDevice ?? be?.isGPUAvailable?.() ?? true) === true;
  return {
    requested: kind,
    name: 'tensorflow',
    tfjsVersion: mod?.version?.['tfjs-node'] ? `${tf.version_core} (tfjs-node ${mod.version['tfjs-node']})` : tf.version_core,
    gpu,
  };
}

async function useBlas(requested: BackendName, threads: number): Promise<BackendInfo> {
  if (!registerBlasBackend()) {
    throw new TrainConfigError(
      'backend',
      requested,
      `a backend that can start: signalprop's native addon is not available (${blasUnavailableReason()}); ${NATIVE_BUILD_HINT}, or use --backend auto | wasm | cpu`,
    );
  }
  setBlasThreads(threads);
  const ok = await tf.setBackend('blas');
  if (!ok) throw new Error('tf.setBackend("blas") returned false');
  await tf.ready();
  const libraries = blasLibraries();
  return {
    requested,
    name: 'blas',
    tfjsVersion: tf.version_core,
    gpu: false,
    threads: blasThreads() ?? threads,
    ...(libraries ? { libraries } : {}),
  };
}

/** wasm, or cpu (with fallbackFrom) when the wasm module cannot start. */
async function initWasmOrCpu(): Promise<BackendInfo> {
  try {
    return await useWasm();
  } catch (e) {
    await tf.setBackend('cpu');
    return { requested: 'wasm', name: 'cpu', tfjsVersion: tf.version_core, gpu: false, fallbackFrom: `wasm (${(e as Error).message})` };
  }
}

/** The thread count "every core" means here. */
export function allCores(): number {
  return typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length;
}

/**
 * Select a backend for this process (tfjs has one engine per process). "auto" is native (the tfjs
 * backend "blas") when the native addon is built and wasm otherwise; wasm falls back to cpu if its
 * module cannot start; native (or its aliases "blas", "openblas"), node and node-gpu throw
 * TrainConfigError (field "backend") when they cannot start. `threads` (native only; default every
 * core) is the OpenBLAS thread count, shared by the whole process.
 */
export async function initBackend(requested: BackendName = 'auto', threads: number | null = null): Promise<BackendInfo> {
  if (!isBackendName(requested)) throw new TrainConfigError('backend', requested, BACKENDS_ALLOWED);
  if (threads !== null && (!Number.isInteger(threads) || threads < 1 || threads > 1024))
    throw new TrainConfigError('threads', threads, 'an integer from 1 to 1024, or null for every core');
  const want = threads ?? allCores();
  if (current && current.requested === requested) {
    if (tf.getBackend() !== current.name) await tf.setBackend(current.name);
    if (current.name === 'blas' && current.threads !== want) {
      setBlasThreads(want);
      current = { ...current, threads: blasThreads() ?? want };
    }
    return current;
  }
  quiet();
  let info: BackendInfo;
  if (requested === 'auto') {
    if (!registerBlasBackend()) warnSlowPath('training');
    info = registerBlasBackend()
      ? await useBlas('auto', want)
      : { ...(await initWasmOrCpu()), requested: 'auto', fallbackFrom: `blas (${blasUnavailableReason()})` };
  } else if (isNativeName(requested)) {
    info = await useBlas(requested, want);
  } else if (requested === 'wasm') {
    info = await initWasmOrCpu();
  } else if (requested === 'cpu') {
    await tf.setBackend('cpu');
    await tf.ready();
    info = { requested, name: 'cpu', tfjsVersion: tf.version_core, gpu: false };
  } else {
    info = await useNode(requested);
  }
  current = info;
  return info;
}

export { tf };
