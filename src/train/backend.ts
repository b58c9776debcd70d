// Backends for training: tfjs + wasm (SIMD, the default), the pure-JS cpu backend, and, only when the
// user installed them, @tensorflow/tfjs-node / @tensorflow/tfjs-node-gpu (loaded at run time).
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { TrainConfigError } from './errors.js';

export const BACKENDS = ['wasm', 'cpu', 'node', 'node-gpu'] as const;
export type BackendName = (typeof BACKENDS)[number];

export interface BackendInfo {
  /** The backend asked for. */
  requested: BackendName;
  /** The tfjs backend in use (wasm, cpu, tensorflow). */
  name: string;
  /** tfjs version (tfjs-core). */
  tfjsVersion: string;
  /** Whether the backend computes on a GPU. */
  gpu: boolean;
  /** wasm: whether SIMD is on. */
  simd?: boolean;
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
  return { requested: 'wasm', name: 'wasm', tfjsVersion: tf.version_core, gpu: false, simd: tf.env().getBool('WASM_HAS_SIMD_SUPPORT') as boolean };
}

async function useNode(kind: 'node' | 'node-gpu'): Promise<BackendInfo> {
  const pkg = NODE_PKG[kind];
  let mod: any;
  try {
    const specifier = pkg; // a variable, so that type checking and bundlers do not resolve it
    mod = await import(specifier);
  } catch (e) {
    const why = (e as NodeJS.ErrnoException).code === 'ERR_MODULE_NOT_FOUND' ? 'is not installed' : `failed to load (${(e as Error).message.split('\n')[0]})`;
    throw new TrainConfigError(
      'backend',
      kind,
      `a backend whose package is installed: ${pkg} ${why}. Install it with \`npm i ${pkg}@${tf.version_core}\` ` +
        '(its install script downloads libtensorflow from storage.googleapis.com, so it needs that access' +
        (kind === 'node-gpu' ? ', and CUDA/cuDNN for the GPU' : '') +
        '), or use --backend wasm (default) or cpu',
    );
  }
  const ok = await tf.setBackend('tensorflow');
  if (!ok) throw new TrainConfigError('backend', kind, `${pkg} loaded but did not register the "tensorflow" backend with @tensorflow/tfjs ${tf.version_core}; install matching versions`);
  await tf.ready();
  const be: any = tf.backend();
  const gpu = kind === 'node-gpu' && (be?.isUsingGpuDevice ?? be?.isGPUAvailable?.() ?? true) === true;
  return { requested: kind, name: 'tensorflow', tfjsVersion: mod?.version?.['tfjs-node'] ? `${tf.version_core} (tfjs-node ${mod.version['tfjs-node']})` : tf.version_core, gpu };
}

/**
 * Select a backend for this process (tfjs has one engine per process). wasm falls back to cpu if its
 * module cannot start; node / node-gpu throw TrainConfigError (field "backend") if not installed.
 */
export async function initBackend(requested: BackendName = 'wasm'): Promise<BackendInfo> {
  if (!(BACKENDS as readonly string[]).includes(requested)) {
    throw new TrainConfigError('backend', requested, BACKENDS.join(' | '));
  }
  if (current && current.requested === requested) {
    if (tf.getBackend() !== current.name) await tf.setBackend(current.name);
    return current;
  }
  quiet();
  let info: BackendInfo;
  if (requested === 'wasm') {
    try {
      info = await useWasm();
    } catch (e) {
      await tf.setBackend('cpu');
      info = { requested, name: 'cpu', tfjsVersion: tf.version_core, gpu: false, fallbackFrom: `wasm (${(e as Error).message})` };
    }
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
