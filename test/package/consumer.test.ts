// The package as a user gets it: `npm pack` (prepack builds dist/), the tarball installed into a fresh,
// empty project, and then everything a user of the published package does, run with this Node (.ci/run
// runs the suite again on Node 26): an ESM import of the root and of signalprop/theory, a strict
// TypeScript file against the shipped declarations, `npx signalprop predict --json`, a browser bundle of
// signalprop/theory with no Node built-ins, the README's API snippet as written, and the native addon
// both built and absent (one line on stderr naming the slow path and how to build it).
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { runInNewContext } from 'node:vm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bnGradientRate } from '../../src/theory/index.js';
import { makeSpec } from '../../src/network/index.js';
import { predict } from '../../src/theory/index.js';

const repo = join(import.meta.dirname, '..', '..');
const require = createRequire(import.meta.url);
const tsc = join(dirname(require.resolve('typescript/package.json')), 'bin', 'tsc');
const npm = spawnSync('npm', ['--version'], { encoding: 'utf8' });
const haveNpm = npm.status === 0;
if (!haveNpm) console.warn('package consumer test skipped: npm is not on PATH');

let dir = '';
let pkg = '';

function run(cmd: string, args: string[], opts: { cwd?: string; timeout?: number } = {}) {
  return spawnSync(cmd, args, {
    cwd: opts.cwd ?? dir,
    encoding: 'utf8',
    timeout: opts.timeout ?? 120_000,
    env: { ...process.env, NO_COLOR: '1' },
  });
}

/** node <script> in the consumer project, with this test's Node. */
function node(file: string, source: string) {
  writeFileSync(join(dir, file), source);
  return run(process.execPath, [file]);
}

describe.skipIf(!haveNpm)('the packed tarball in an empty project', () => {
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'signalprop-consumer-'));
    const packDir = join(dir, 'pack');
    mkdirSync(packDir);
    execFileSync('npm', ['pack', '--silent', '--pack-destination', packDir], {
      cwd: repo,
      stdio: ['ignore', 'ignore', 'inherit'],
      timeout: 180_000,
    });
    const tarball = join(packDir, readdirSync(packDir).find((f) => f.endsWith('.tgz'))!);
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'consumer', version: '1.0.0', private: true }));
    // the user's @types/node, as any Node TypeScript project has; --prefer-offline: npm's cache first
    const ins = run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error', tarball, '@types/node@20'], {
      timeout: 540_000,
    });
    if (ins.status !== 0) throw new Error(`npm install of the tarball failed:\n${ins.stderr.slice(-2000)}`);
    pkg = join(dir, 'node_modules', 'signalprop');
  }, 600_000);
  afterAll(() => {
    // ~900 MB of node_modules: removed in the background, so a loaded machine does not time the hook out
    if (dir) spawn('rm', ['-rf', dir], { detached: true, stdio: 'ignore' }).unref();
  });

  it('ships compiled JavaScript and declarations, not TypeScript sources or tests', () => {
    const files = execFileSync('find', ['.', '-type', 'f', '-not', '-path', './native/blas/build/*'], { cwd: pkg, encoding: 'utf8' }).split(
      '\n',
    );
    expect(files).toContain('./dist/src/index.js');
    expect(files).toContain('./dist/src/index.d.ts');
    expect(files).toContain('./dist/src/theory/index.js');
    expect(files.filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))).toEqual([]);
    expect(files.filter((f) => f.startsWith('./test/') || f.startsWith('./src/'))).toEqual([]);
  });

  it('a plain Node ESM script imports the root and signalprop/theory; λ(32) is the sources’ value', () => {
    const r = node(
      'lambda.mjs',
      `import { bnGradientRate, parseSpec, predict } from 'signalprop';
import * as theory from 'signalprop/theory';
const p = predict(parseSpec({ depth: 8, batch: 32 }));
console.log(JSON.stringify([bnGradientRate('relu', 32), theory.bnGradientRate('relu', 32), p.records.length]));`,
    );
    expect(r.stderr).toBe('');
    const [root, room, n] = JSON.parse(r.stdout);
    // the same float64 computation from the compiled package as from the sources
    expect(root).toBe(bnGradientRate('relu', 32));
    expect(room).toBe(root);
    expect(n).toBe(predict(makeSpec({ depth: 8, batch: 32 })).records.length);
    // and it is λ(B) of Yang et al.: above its B → ∞ limit π/(π−1), which it approaches as 1 + O(1/B)
    expect(root).toBeGreaterThan(Math.PI / (Math.PI - 1));
    expect(root).toBeLessThan((Math.PI / (Math.PI - 1)) * (1 + 4 / 32));
  });

  it('a strict TypeScript file type-checks against the shipped declarations (and a type error is caught)', () => {
    const good = `import { type NetworkSpec, parseSpec, predict, type Prediction, type SPRecord, bnGradientRate, sampleNetwork, trainRun, type TrainConfig, InputError } from 'signalprop';
import { bnGradientRate as rate } from 'signalprop/theory';
const spec: NetworkSpec = parseSpec({ depth: 8, batch: 32 });
const p: Prediction = predict(spec);
const rs: SPRecord[] = p.records;
const lam: number = bnGradientRate('relu', 32) + rate('relu', 64);
const cfg: TrainConfig | undefined = undefined;
const bad = (e: unknown): string | null => (e instanceof InputError ? e.field : null);
export { rs, lam, cfg, bad, sampleNetwork, trainRun };
`;
    const config = (file: string, skipLibCheck: boolean) =>
      JSON.stringify({
        compilerOptions: {
          strict: true,
          module: 'nodenext',
          moduleResolution: 'nodenext',
          target: 'es2022',
          noEmit: true,
          skipLibCheck,
          types: ['node'],
        },
        files: [file],
      });
    writeFileSync(join(dir, 'use.ts'), good);
    writeFileSync(join(dir, 'tsconfig.json'), config('use.ts', true));
    const ok = run(process.execPath, [tsc, '-p', 'tsconfig.json']);
    expect(ok.stdout + ok.stderr).toBe('');
    expect(ok.status).toBe(0);
    // with the libraries' declarations checked too: tfjs's own have errors under strict, ours must have none
    writeFileSync(join(dir, 'tsconfig.lib.json'), config('use.ts', false));
    const lib = run(process.execPath, [tsc, '-p', 'tsconfig.lib.json']);
    expect(lib.stdout.split('\n').filter((l) => l.includes('node_modules/signalprop/'))).toEqual([]);
    // the check can fail: a number is not a string
    writeFileSync(
      join(dir, 'wrong.ts'),
      `import { bnGradientRate } from 'signalprop';\nexport const s: string = bnGradientRate('relu', 32);\n`,
    );
    writeFileSync(join(dir, 'tsconfig.wrong.json'), config('wrong.ts', true));
    const wrong = run(process.execPath, [tsc, '-p', 'tsconfig.wrong.json']);
    expect(wrong.status).not.toBe(0);
    expect(wrong.stdout).toMatch(/wrong\.ts\(2,14\): error TS2322/);
  });

  it('`npx signalprop predict --json` runs from the project, from the compiled code', () => {
    const r = run('npx', ['--no-install', 'signalprop', 'predict', '--depth', '6', '--batch', '16', '--json']);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const out = JSON.parse(r.stdout) as { records: unknown[] };
    expect(out.records).toEqual(JSON.parse(JSON.stringify(predict(makeSpec({ depth: 6, batch: 16 })).records)));
    const bad = run('npx', ['--no-install', 'signalprop', 'predict', '--depth', '0']);
    expect(bad.status).toBe(2);
    expect(bad.stderr.trim().split('\n')).toHaveLength(1);
    expect(bad.stderr).toMatch(/depth/);
    // start-up from dist (printed, not asserted: speed belongs to bench/)
    const t0 = performance.now();
    run(process.execPath, [join(pkg, 'bin', 'signalprop.js'), '--version']);
    console.log(`signalprop --version from the installed package: ${(performance.now() - t0).toFixed(0)} ms`);
  });

  it('signalprop/theory bundles for the browser with no Node built-ins and computes λ there', async () => {
    const esbuild = await import('esbuild');
    writeFileSync(
      join(dir, 'browser.mjs'),
      `import { bnGradientRate } from 'signalprop/theory';\nglobalThis.lambda = bnGradientRate('relu', 32);\n`,
    );
    // platform "browser" refuses node:* imports; the bundle then runs in a bare context (no process, no require)
    const r = await esbuild.build({
      entryPoints: [join(dir, 'browser.mjs')],
      bundle: true,
      platform: 'browser',
      format: 'iife',
      write: false,
      logLevel: 'silent',
      absWorkingDir: dir,
    });
    const ctx: Record<string, unknown> = {};
    runInNewContext(r.outputFiles[0].text, ctx);
    expect(ctx.lambda).toBe(bnGradientRate('relu', 32));
  });

  it("the README's API snippet runs as it is written", () => {
    const readme = readFileSync(join(repo, 'README.md'), 'utf8');
    const section = readme.slice(readme.indexOf('## API'));
    const snippet = /```(?:ts|js)\n([\s\S]*?)```/.exec(section)?.[1];
    expect(snippet).toBeTruthy();
    // it is JavaScript as well as TypeScript: run it as an ES module, as the README says to
    const r = node('readme.mjs', snippet!);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toContain(String(bnGradientRate('relu', 32)).slice(0, 6));
    for (const ext of ['vl.json', 'svg', 'png']) expect(readdirSync(join(dir, 'out'))).toContain(`grad.${ext}`);
  });

  it('without the native addon: one line on stderr names the slow path and the build command; with it, none', () => {
    const built = join(pkg, 'native', 'blas', 'build', 'blas.node');
    const hidden = `${built}.hidden`;
    let have = false;
    try {
      renameSync(built, hidden);
      have = true;
    } catch {
      // not built at install (no compiler or headers, or npm blocked the install script): build it below
    }
    const sample = [
      '--no-install',
      'signalprop',
      'sample',
      '--depth',
      '3',
      '--width',
      '16',
      '--batch',
      '8',
      '--seeds',
      '2',
      '--threads',
      '1',
    ];
    const without = run('npx', sample);
    expect(without.status).toBe(0);
    const lines = without.stderr.split('\n').filter((l) => l.includes('native addon'));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/the sampler runs its TypeScript float64 kernels, about 16× slower/);
    expect(lines[0]).toContain(join(pkg, 'native', 'blas', 'build.cjs'));
    expect(without.stdout).toMatch(/kernels: typescript/);
    if (have) renameSync(hidden, built);
    else {
      const b = run(process.execPath, [join(pkg, 'native', 'blas', 'build.cjs')]);
      if (!/built/.test(b.stdout) || /not built/.test(b.stdout)) {
        console.warn(`the with-addon half is skipped: the addon cannot be built here (${b.stdout.trim()})`);
        return;
      }
    }
    // two seeds on two threads: the pool's workers load the compiled worker module (no tsx in the package)
    const withAddon = run('npx', [...sample.slice(0, -1), '2']);
    expect(withAddon.status).toBe(0);
    expect(withAddon.stderr).not.toMatch(/native addon/);
    expect(withAddon.stdout).toMatch(/kernels: openblas/);
  });
});
