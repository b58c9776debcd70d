// Training runs of the studies as sweep train cells (the same cells `signalprop sweep` runs), all at once on the
// study's executor (ctx.cells: the local pool or Redis); each run's records come back tagged as the study asks.
import type { SPRecord } from '../src/records/index.js';
import { runCells, type StudyContext, trainCell, trainedOf } from '../src/reproduce/index.js';
import type { TrainConfig } from '../src/train/index.js';

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

/** Run the tasks as train cells (trainRun on one thread each); results in the tasks' order. */
export async function runTrainTasks(ctx: StudyContext, tasks: TrainTask[]): Promise<TrainTaskResult[]> {
  const cells = [];
  for (const t of tasks) cells.push(await trainCell(t.config as Parameters<typeof trainCell>[0]));
  const results = await runCells(ctx, cells);
  return results.map((res, i) => {
    const r = trainedOf(res);
    const tags = tasks[i].tags;
    const records = r.records.map((x) => ({ ...x, tags: { ...(x.tags ?? {}), ...tags } }));
    return { records, status: r.status, divergedAt: r.divergedAt, final: r.final, tags };
  });
}
