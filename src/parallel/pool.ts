// Worker-thread pools sized to the machine's cores. Workers are TypeScript modules run through
// tsx's loader, the same way the bin runs, so every room can hand work to threads.
import { availableParallelism } from 'node:os';
import { Piscina } from 'piscina';

/** Number of worker threads to use by default: every core. */
export function defaultThreads(): number {
  return Math.max(1, availableParallelism());
}

/** A piscina pool over a TypeScript worker module (its default export is the task function). */
export function makePool(workerUrl: URL, threads = defaultThreads()): Piscina {
  return new Piscina({
    filename: workerUrl.href,
    minThreads: 0,
    maxThreads: threads,
    idleTimeout: 200,
    execArgv: ['--import', 'tsx'],
  });
}

/** Run tasks on a fresh pool and close it; results come back in task order. */
export async function runInPool<T, R>(workerUrl: URL, tasks: T[], threads = defaultThreads(), onDone?: (done: number, total: number) => void): Promise<R[]> {
  if (threads <= 1 || tasks.length <= 1) {
    const mod = await import(workerUrl.href);
    const out: R[] = [];
    for (const t of tasks) {
      out.push(await mod.default(t));
      onDone?.(out.length, tasks.length);
    }
    return out;
  }
  const pool = makePool(workerUrl, threads);
  let done = 0;
  try {
    return await Promise.all(
      tasks.map(async (t) => {
        const r = (await pool.run(t)) as R;
        onDone?.(++done, tasks.length);
        return r;
      }),
    );
  } finally {
    await pool.destroy();
  }
}
