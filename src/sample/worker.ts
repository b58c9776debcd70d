// Worker-thread entry for sampleNetwork: one seed per task (default export, run by piscina).
import { type LossKind, makeSpec, type RngName, type SpecInput } from '../network/index.js';
import { type BackendChoice, kernels } from './linalg.js';
import { forwardBackward, type LayerStats } from './network.js';

export interface SeedTask {
  /** JSON spec (activation as a string), rebuilt with makeSpec in the worker. */
  spec: SpecInput;
  seed: number;
  loss: LossKind;
  inputCorrelation: number;
  /** The generator of the seed's draws. */
  rng: RngName;
  backend: BackendChoice;
  /** BLAS threads for this task (1 inside a pool of workers, so threads do not oversubscribe cores). */
  blasThreads: number | null;
}

export default function runSeed(task: SeedTask): LayerStats {
  const spec = makeSpec(task.spec);
  if (task.blasThreads !== null) kernels(task.backend).setThreads(task.blasThreads);
  return forwardBackward(spec, task.seed, {
    loss: task.loss,
    inputCorrelation: task.inputCorrelation,
    rng: task.rng,
    backend: task.backend,
  });
}
