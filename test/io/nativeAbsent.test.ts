// Without the native addon (its require fails, as on a machine where it was not built) or with a stale
// build (one that lacks functions or the OPS/FUSED names): loadNative() is null with a one-line reason and
// never throws, and each room falls back as before: the sampler to its TypeScript kernels, training's
// fused ops to plain tf ops, the blas tfjs backend refuses to register.
import { afterEach, describe, expect, it, vi } from 'vitest';

const fake = vi.hoisted(() => ({ mode: 'absent' as 'absent' | 'stale' }));

vi.mock('node:module', async (importOriginal) => {
  const real = await importOriginal<typeof import('node:module')>();
  const createRequire = (url: string | URL) => {
    const r = real.createRequire(url);
    const req = ((id: string) => {
      if (!id.endsWith('native/blas/index.cjs')) return r(id);
      if (fake.mode === 'stale') return { dgemm() {}, dsyrk() {} };
      throw Object.assign(new Error("Cannot find module './build/blas.node'\nRequire stack:\n- somewhere"), { code: 'MODULE_NOT_FOUND' });
    }) as NodeJS.Require;
    return Object.assign(req, { resolve: r.resolve, cache: r.cache, main: r.main, extensions: r.extensions });
  };
  return { ...real, createRequire, default: { ...real, createRequire } };
});

afterEach(() => vi.resetModules());

describe('the native addon is absent', () => {
  it('loadNative is null with the reason; the sampler falls back to TypeScript, "native" and its aliases say why', async () => {
    fake.mode = 'absent';
    const { loadNative, nativeUnavailableReason } = await import('../../src/io/native.js');
    expect(() => loadNative()).not.toThrow();
    expect(loadNative()).toBeNull();
    expect(nativeUnavailableReason()).toBe("Cannot find module './build/blas.node'");
    const { kernels, nativeKernels, nativeKernelsError } = await import('../../src/sample/linalg.js');
    expect(nativeKernels()).toBeNull();
    expect(nativeKernelsError()).toBe("Cannot find module './build/blas.node'");
    expect(kernels('auto').name).toBe('typescript');
    for (const name of ['native', 'blas', 'openblas'] as const)
      expect(() => kernels(name)).toThrow(
        /^backend: "native" is not available \(Cannot find module '\.\/build\/blas\.node'\); build it with/,
      );
  });

  it('Philox normals in bulk stay in TypeScript: the fill native.ts registered steps aside at the first draw', async () => {
    fake.mode = 'absent';
    await import('../../src/io/native.js');
    const { fillNormalPhilox, philoxKey, setPhiloxNormalFill } = await import('../../src/network/philox.js');
    const key = philoxKey(1, 'W', 1);
    const first = fillNormalPhilox(new Float64Array(256), key, 3);
    // the registered fill found no addon, unset itself and drew in TypeScript: the same bits as with none
    expect(setPhiloxNormalFill(null)).toBeNull();
    expect(Array.from(fillNormalPhilox(new Float64Array(256), key, 3))).toEqual(Array.from(first));
  });

  it('training: no blas tfjs backend, no fused kernels, and ops.ts runs the plain tf ops', async () => {
    fake.mode = 'absent';
    const { registerBlasBackend, blasUnavailableReason, fusedKernelName, setBlasThreads, blasThreads, blasLibraries } = await import(
      '../../src/train/blas.js'
    );
    expect(registerBlasBackend()).toBe(false);
    expect(blasUnavailableReason()).toBe("Cannot find module './build/blas.node'");
    expect(fusedKernelName('batchNorm')).toBeNull();
    expect(() => setBlasThreads(2)).not.toThrow();
    expect(blasThreads()).toBeNull();
    expect(blasLibraries()).toBeNull();
    const tf = await import('@tensorflow/tfjs');
    tf.enableProdMode(); // no console hint
    await tf.setBackend('cpu');
    const { bnForward } = await import('../../src/train/ops.js');
    // a batch of two, h = [1, 3]: μ = 2, biased σ² = 1, ε = 0, so ẑ = [−1, 1]; γ = 2, β = 0.5 gives [−1.5, 2.5]
    const r = bnForward(tf.tensor2d([[1], [3]]), tf.tensor1d([2]), tf.tensor1d([0.5]), 0);
    expect([...r.zhat.dataSync()]).toEqual([-1, 1]);
    expect([...r.out.dataSync()]).toEqual([-1.5, 2.5]);
  });
});

describe('the first use of a slow path says so, once', () => {
  it('names the path, how much slower, and the command that builds the addon; then stays quiet', async () => {
    fake.mode = 'absent';
    const lines: string[] = [];
    const spy = vi.spyOn(process.stderr, 'write').mockImplementation((s: string | Uint8Array) => {
      lines.push(String(s));
      return true;
    });
    try {
      const { kernels } = await import('../../src/sample/linalg.js');
      kernels('auto');
      kernels('auto');
      kernels('typescript'); // asked for by name: not a fallback, nothing to say
    } finally {
      spy.mockRestore();
    }
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(
      /^signalprop: the native addon is not built \(Cannot find module '\.\/build\/blas\.node'\); the sampler runs its TypeScript float64 kernels, about 16× slower\. To speed it up, build it with `node \/.*\/native\/blas\/build\.cjs` \(needs a C compiler and the OpenBLAS headers: `sudo apt-get install gcc libopenblas-dev`\)\n$/,
    );
  });

  it('is silent where the addon loads', async () => {
    const { warnSlowPath, loadNative } = await vi.importActual<typeof import('../../src/io/native.js')>('../../src/io/native.js');
    const lines: string[] = [];
    warnSlowPath('sampler', (l) => lines.push(l));
    expect(lines).toEqual(loadNative() ? [] : [expect.stringMatching(/not built/)]);
  });
});

describe('a stale build of the addon', () => {
  it('is refused with what it lacks and how to rebuild it', async () => {
    fake.mode = 'stale';
    const { loadNative, nativeUnavailableReason } = await import('../../src/io/native.js');
    expect(loadNative()).toBeNull();
    const why = nativeUnavailableReason()!;
    expect(why).toMatch(
      /^the built addon predates this signalprop \(it lacks sgemm, .*coreName, OPS, FUSED\); build it with `node \/.*\/native\/blas\/build\.cjs` \(needs a C compiler and the OpenBLAS headers: `sudo apt-get install gcc libopenblas-dev`\)$/,
    );
    expect(why).not.toMatch(/dgemm|dsyrk/);
  });
});
