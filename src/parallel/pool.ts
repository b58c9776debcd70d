// Worker-thread pools sized to the machine's cores. From the compiled package (dist/) workers are plain
// JavaScript modules; from the sources (a checkout) they are TypeScript run through tsx's loader, the same
// way the bin runs there, so every room can hand work to threads either way.
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { pathToFileURL } from 'node:url';
import { Piscina } from 'piscina';
import { isTypeScriptUrl } from './moduleUrl.js';

/**
 * tsx's loader as a file URL, resolved from this package (not from the current directory, which is
 * where a bare `--import tsx` would look): threads start the same from any directory. Only a checkout
 * needs it (tsx is a development dependency); the compiled package's workers are JavaScript.
 */
export function tsxLoader(): string {
  return pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
}

/** Number of worker threads to use by default: every core. */
export function defaultThreads(): number {
  return Math.max(1, availableParallelism());
}

/**
 * A piscina pool over a worker module (its default export is the task function). Threads start on demand and
 * end after idleTimeoutMs unused, except `minThreads` of them, which start now and stay until the pool ends.
 */
export function makePool(workerUrl: URL, threads = defaultThreads(), idleTimeoutMs = 200, minThreads = 0): Piscina {
  return new Piscina({
    filename: workerUrl.href,
    minThreads: Math.min(minThreads, threads),
    maxThreads: threads,
    idleTimeout: idleTimeoutMs,
    execArgv: isTypeScriptUrl(workerUrl) ? ['--import', tsxLoader()] : [],
  });
}

// Pools kept warm between calls: starting a thread costs 1–3 s (tsx loads the module graph), more than many
// tasks take. Idle piscina threads do not keep the process alive, and they end after a minute unused.
const shared = new Map<string, Piscina>();

/**
 * The process's warm pool of `threads` threads over a worker module: made on first use, then the same pool
 * (and its started threads) for every later call with the same module and size. Its threads start on demand
 * and end after `idleMs` unused; end it with releasePool or closePools (never with its own destroy()).
 */
export function warmPool(workerUrl: URL, threads = defaultThreads(), idleMs = 60_000): Piscina {
  const key = `${workerUrl.href}|${threads}`;
  let pool = shared.get(key);
  if (!pool) {
    pool = makePool(workerUrl, threads, idleMs);
    shared.set(key, pool);
  }
  return pool;
}

/** End one pool now; a warm pool is forgotten first, so that the next warmPool call makes a fresh one. */
export async function releasePool(pool: Piscina): Promise<void> {
  for (const [key, p] of shared) if (p === pool) shared.delete(key);
  await pool.destroy();
}

/** End every shared pool's threads now (they also end by themselves after a minute idle). */
export async function closePools(): Promise<void> {
  const pools = [...shared.values()];
  shared.clear();
  await Promise.all(pools.map((p) => p.destroy()));
}

/** Run tasks on a shared pool of `threads` threads (kept warm for the next call); results come back in task order. */
export async function runInPool<T, R>(
  workerUrl: URL,
  tasks: T[],
  threads = defaultThreads(),
  onDone?: (done: number, total: number) => void,
): Promise<R[]> {
  if (threads <= 1 || tasks.length <= 1) {
    const mod = await import(workerUrl.href);
    const out: R[] = [];
    for (const t of tasks) {
      out.push(await mod.default(t));
      onDone?.(out.length, tasks.length);
    }
    return out;
  }
  const pool = warmPool(workerUrl, threads);
  let done = 0;
  return await Promise.all(
    tasks.map(async (t) => {
      const r = (await pool.run(t)) as R;
      onDone?.(++done, tasks.length);
      return r;
    }),
  );
}
