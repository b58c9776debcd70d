/// <reference lib="webworker" />
// The phase diagram's worker: chi1 and criticalLine, one job at a time, each answered as soon as it is done.
// In a worker because some activations make the theory's q* iteration take seconds at one point (GELU at
// σ_w² = 4: ~16 s here); the page ends the worker when a job runs past its budget and keeps what came back.
import { criticalPoint, phaseCell } from './model.js';
import type { PhaseJob, PhaseReply } from './phaseJobs.js';

const scope = self as unknown as DedicatedWorkerGlobalScope;
scope.onmessage = (e: MessageEvent<{ activation: string; jobs: PhaseJob[] }>) => {
  const { activation, jobs } = e.data;
  for (const job of jobs) {
    let reply: PhaseReply;
    try {
      reply =
        job.kind === 'cell'
          ? { key: job.key, cell: phaseCell(activation, job.sigmaW2, job.sigmaB2) }
          : { key: job.key, critical: criticalPoint(activation, job.sigmaB2) };
    } catch (err) {
      reply = { key: job.key, error: (err as Error).message };
    }
    scope.postMessage(reply);
  }
};
// ready: the page starts each job's clock from here, not from the worker's start (parsing the bundle takes a while)
scope.postMessage({ ready: true });
