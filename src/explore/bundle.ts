// The explorer page's script: esbuild bundles page/main (the theory, network and records rooms, vega and
// vega-lite) into one classic script for the browser, so that the page needs no network and opens from file://.
// The entry is found next to this module (page/main.ts from the sources under tsx, page/main.js in a compiled
// dist/), and the bundle is kept in memory and on disk, keyed by the entry, and rebuilt when an input changes.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, type Message, type Metafile, version as esbuildVersion } from 'esbuild';
import { writeFileAtomic } from '../io/files.js';

export interface PageBundle {
  /** The page script (an IIFE). */
  js: string;
  /** Where it came from: built now, or the memory or disk cache. */
  from: 'build' | 'memory' | 'disk';
  /** Milliseconds it took to get it. */
  ms: number;
  /** The source files it was built from (relative to the working directory esbuild ran in). */
  inputs: string[];
}

/** A bundle that could not be built: esbuild's first errors, or a Node built-in pulled into the page. */
export class BundleError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BundleError';
  }
}

/** page/<name>.ts next to this module (sources), or page/<name>.js (a compiled dist/). */
export function pageEntry(name: 'main' | 'phaseWorker' = 'main'): string {
  for (const ext of ['.ts', '.js']) {
    const p = fileURLToPath(new URL(`./page/${name}${ext}`, import.meta.url));
    if (existsSync(p)) return p;
  }
  throw new BundleError(
    `the explorer page's entry is missing: no page/${name}.ts or page/${name}.js beside ${fileURLToPath(import.meta.url)}`,
  );
}

const BUILTINS = new Set(builtinModules.flatMap((m) => [m, `node:${m}`]));

/** The Node built-ins among a build's inputs (esbuild lists a module a browser field turns off as "(disabled):…"). */
export function builtinInputs(meta: Metafile): string[] {
  return Object.keys(meta.inputs).filter((p) => p.startsWith('node:') || BUILTINS.has(p.split('/')[0]));
}

function describe(errors: readonly Message[]): string {
  return errors
    .slice(0, 3)
    .map((e) => {
      const where = e.location ? `${e.location.file}:${e.location.line}: ` : '';
      const builtin = e.notes.some((n) => /built into node|platform to "node"/i.test(n.text));
      return `${where}${e.text}${builtin ? ' (a Node built-in: the explorer page runs in a browser and may import none)' : ''}`;
    })
    .join('; ');
}

interface CacheMeta {
  entry: string;
  esbuild: string;
  inputs: { path: string; mtimeMs: number; size: number }[];
}

function stamp(path: string): { mtimeMs: number; size: number } | null {
  try {
    const s = statSync(path);
    return { mtimeMs: s.mtimeMs, size: s.size };
  } catch {
    return null;
  }
}

const memory = new Map<string, { js: string; inputs: CacheMeta['inputs'] }>();

function fresh(inputs: CacheMeta['inputs']): boolean {
  return inputs.every((i) => {
    const s = stamp(i.path);
    return s !== null && s.mtimeMs === i.mtimeMs && s.size === i.size;
  });
}

export interface BundleOptions {
  /** Another entry (tests); default pageEntry(). */
  entry?: string;
  /**
   * The phase diagram's worker, bundled first and given to the entry as the string __SIGNALPROP_PHASE_WORKER__;
   * default pageEntry('phaseWorker') for the page's own entry, none for another.
   */
  worker?: string | null;
  /** Where the disk cache lives (default <tmpdir>/signalprop-explore); null: no disk cache. */
  cacheDir?: string | null;
  minify?: boolean;
  /** false: skip the in-memory cache (the disk cache is still read and written). */
  memory?: boolean;
}

/** Bundle the page (or take it from a cache whose every input is unchanged). */
export async function bundlePage(opts: BundleOptions = {}): Promise<PageBundle> {
  const t0 = performance.now();
  const entry = opts.entry ?? pageEntry();
  const worker = opts.worker !== undefined ? opts.worker : opts.entry === undefined ? pageEntry('phaseWorker') : null;
  const minify = opts.minify ?? true;
  const key = createHash('sha256').update(`${entry}\n${worker}\n${esbuildVersion}\n${minify}`).digest('hex').slice(0, 16);
  const relInputs = (inputs: CacheMeta['inputs']) => inputs.map((i) => i.path);
  const mem = memory.get(key);
  if (mem && opts.memory !== false && fresh(mem.inputs))
    return { js: mem.js, from: 'memory', ms: performance.now() - t0, inputs: relInputs(mem.inputs) };
  const dir = opts.cacheDir === undefined ? join(tmpdir(), 'signalprop-explore') : opts.cacheDir;
  if (dir !== null) {
    try {
      const meta = JSON.parse(readFileSync(join(dir, `${key}.json`), 'utf8')) as CacheMeta;
      if (meta.entry === entry && meta.esbuild === esbuildVersion && fresh(meta.inputs)) {
        const js = readFileSync(join(dir, `${key}.js`), 'utf8');
        memory.set(key, { js, inputs: meta.inputs });
        return { js, from: 'disk', ms: performance.now() - t0, inputs: relInputs(meta.inputs) };
      }
    } catch {
      // no cache, or a cache from another version: build
    }
  }
  const cwd = dirname(entry);
  const once = async (file: string, define: Record<string, string>): Promise<{ js: string; meta: Metafile }> => {
    let result: Awaited<ReturnType<typeof build>>;
    try {
      result = await build({
        entryPoints: [file],
        bundle: true,
        platform: 'browser',
        format: 'iife',
        target: ['es2022'],
        minify,
        legalComments: 'eof',
        write: false,
        metafile: true,
        logLevel: 'silent',
        absWorkingDir: cwd,
        define: { 'process.env.NODE_ENV': '"production"', ...define },
      });
    } catch (e) {
      const errors = (e as { errors?: Message[] }).errors;
      throw new BundleError(`the explorer page does not bundle: ${errors?.length ? describe(errors) : (e as Error).message}`);
    }
    const meta = result.metafile as Metafile;
    const builtins = builtinInputs(meta);
    if (builtins.length)
      throw new BundleError(`the explorer page imports Node built-ins (${builtins.join(', ')}); it runs in a browser and may import none`);
    return { js: (result.outputFiles ?? [])[0]?.text ?? '', meta };
  };
  const w = worker === null ? null : await once(worker, {});
  const main = await once(entry, w ? { __SIGNALPROP_PHASE_WORKER__: JSON.stringify(w.js) } : {});
  const js = main.js;
  const names = new Set([...Object.keys(main.meta.inputs), ...(w ? Object.keys(w.meta.inputs) : [])]);
  const inputs = [...names]
    .filter((p) => !p.includes(':'))
    .map((p) => {
      const path = join(cwd, p);
      return { path, ...(stamp(path) ?? { mtimeMs: -1, size: -1 }) };
    });
  memory.set(key, { js, inputs });
  if (dir !== null) {
    try {
      mkdirSync(dir, { recursive: true });
      writeFileAtomic(join(dir, `${key}.js`), js);
      writeFileAtomic(join(dir, `${key}.json`), JSON.stringify({ entry, esbuild: esbuildVersion, inputs } satisfies CacheMeta));
    } catch {
      // a cache that cannot be written costs a rebuild next time, nothing else
    }
  }
  return { js, from: 'build', ms: performance.now() - t0, inputs: relInputs(inputs) };
}
