/// <reference lib="dom" />
// The phase diagram's jobs (chi1 at a cell, the critical line at a σ_b²), run in a worker with a budget per
// job: a job past its budget ends the worker and is remembered as timed out, so it is not asked again. Results
// are kept per activation. Where the page cannot start a worker, the jobs run here, without a budget.
import { criticalPoint, phaseCell } from './model.js';

export type PhaseJob = { kind: 'cell'; key: string; sigmaW2: number; sigmaB2: number } | { kind: 'critical'; key: string; sigmaB2: number };
export type PhaseReply =
  | { key: string; cell: { sigmaW2: number; sigmaB2: number; chi1: number } }
  | { key: string; critical: { sigmaB2: number; sigmaW2: number } | null }
  | { key: string; error: string };

export const cellJob = (sigmaW2: number, sigmaB2: number): PhaseJob => ({
  kind: 'cell',
  key: `cell|${sigmaW2}|${sigmaB2}`,
  sigmaW2,
  sigmaB2,
});
export const criticalJob = (sigmaB2: number): PhaseJob => ({ kind: 'critical', key: `critical|${sigmaB2}`, sigmaB2 });

/** What is known of one activation: each job's reply, 'timeout' (it ran past its budget) or 'skipped' (like one that did). */
export type PhaseResults = Map<string, PhaseReply | 'timeout' | 'skipped'>;

declare const __SIGNALPROP_PHASE_WORKER__: string | undefined;

/** How long a worker may take to start (parse the bundle) before its run is given up. */
const STARTUP_MS = 30_000;

function workerSource(): string | null {
  return typeof __SIGNALPROP_PHASE_WORKER__ === 'string' ? __SIGNALPROP_PHASE_WORKER__ : null;
}

let workerUrl: string | null = null;

function startWorker(): Worker | null {
  const src = workerSource();
  if (src === null || typeof Worker === 'undefined') return null;
  try {
    workerUrl ??= URL.createObjectURL(new Blob([src], { type: 'text/javascript' }));
    return new Worker(workerUrl);
  } catch {
    return null;
  }
}

/** Run jobs in one worker until all are answered, one passes `budgetMs` (returned), or `stale()`. */
function runOnce(
  worker: Worker,
  activation: string,
  todo: PhaseJob[],
  known: PhaseResults,
  budgetMs: number,
  stale: () => boolean,
): Promise<PhaseJob | null> {
  return new Promise((resolve) => {
    let next = 0;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const finish = (late: PhaseJob | null) => {
      clearTimeout(timer);
      worker.terminate();
      resolve(late);
    };
    const arm = () => {
      clearTimeout(timer);
      timer = setTimeout(() => finish(todo[next] ?? null), budgetMs);
    };
    let started = false;
    // the worker's start (parsing the bundle) is not a job's time: each clock starts at its ready message
    timer = setTimeout(() => finish(null), STARTUP_MS);
    worker.onmessage = (e: MessageEvent<PhaseReply | { ready: true }>) => {
      if ('ready' in e.data) {
        started = true;
        arm();
        worker.postMessage({ activation, jobs: todo });
        return;
      }
      if (!started) return;
      known.set(e.data.key, e.data);
      next++;
      if (next >= todo.length || stale()) finish(null);
      else arm();
    };
    worker.onerror = (e) => {
      e.preventDefault();
      for (const j of todo.slice(next)) known.set(j.key, { key: j.key, error: e.message || 'the phase worker failed' });
      finish(null);
    };
  });
}

/**
 * Run the jobs not yet known for this activation, `budgetMs` per job and `totalMs` in all. A job past its
 * budget is marked 'timeout', and so are the jobs like it (below); the others go on in a fresh worker. Resolves early when `stale()` says a newer state arrived.
 */
export async function runPhaseJobs(
  activation: string,
  jobs: PhaseJob[],
  known: PhaseResults,
  opts: { budgetMs: number; totalMs: number; stale: () => boolean },
): Promise<void> {
  let todo = jobs.filter((j) => !known.has(j.key));
  // where no worker can start (no bundled source, no Worker), the jobs run here, without a budget
  const here = (rest: PhaseJob[]) => {
    for (const j of rest)
      try {
        known.set(
          j.key,
          j.kind === 'cell'
            ? { key: j.key, cell: phaseCell(activation, j.sigmaW2, j.sigmaB2) }
            : { key: j.key, critical: criticalPoint(activation, j.sigmaB2) },
        );
      } catch (e) {
        known.set(j.key, { key: j.key, error: (e as Error).message });
      }
  };
  const t0 = performance.now();
  while (todo.length && performance.now() - t0 < opts.totalMs && !opts.stale()) {
    const worker = startWorker();
    if (worker === null) {
      here(todo);
      return;
    }
    const late = await runOnce(worker, activation, todo, known, opts.budgetMs, opts.stale);
    if (late) {
      known.set(late.key, 'timeout');
      todo = todo.filter((j) => j.key !== late.key);
      // the same slow q* iterations come back there: the cells of its row at larger σ_w², and every other
      // critical point (each bisects σ_w² over [1e-3, 1e3], through the slow region)
      for (const j of todo)
        if (late.kind === 'cell' ? j.kind === 'cell' && j.sigmaB2 === late.sigmaB2 && j.sigmaW2 > late.sigmaW2 : j.kind === 'critical')
          known.set(j.key, 'skipped');
    } else if (todo.every((j) => !known.has(j.key))) break; // the worker never started: leave the rest unknown
    todo = todo.filter((j) => !known.has(j.key));
  }
}
