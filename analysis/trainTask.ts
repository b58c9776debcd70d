// One training run as a worker-thread task (the studies run several at once on every core).
// Imports the train room's subpath: a worker that loads the whole package would also load vega, whose module
// graph does not load inside a tsx worker thread (ERR_UNKNOWN_FILE_EXTENSION), and needs none of it.
import type { SPRecord } from '../src/records/index.js';
import { type TrainConfig, trainRun } from '../src/train/index.js';

export interface TrainTask {
  config: TrainConfig;
  tags: Record<string, string | number | boolean | null>;
}

export interface TrainTaskResult {
  records: SPRecord[];
  status: 'completed' | 'diverged' | 'interrupted';
  divergedAt: number | null;
  final: { loss: number; accuracy: number; testLoss?: number; testAccuracy?: number };
  tags: TrainTask['tags'];
}

export default async function run(task: TrainTask): Promise<TrainTaskResult> {
  // one BLAS thread per run: the pool runs one training per core
  const r = await trainRun(task.config, { threads: 1 });
  const records = r.records.map((x) => ({ ...x, tags: { ...(x.tags ?? {}), ...task.tags } }));
  return { records, status: r.status, divergedAt: r.divergedAt ?? null, final: r.final, tags: task.tags };
}
