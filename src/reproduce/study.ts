// The shape of a reproduction study (one claim of the seed paper, theory against measurement).
import type { RngName, SpecInput } from '../network/index.js';
import type { SPRecord } from '../records/records.js';
import type { CellExecutor } from './cells.js';
import type { Verdict, VerdictRow } from './verdict.js';

export const SCALES = ['tiny', 'default', 'paper'] as const;
export type Scale = (typeof SCALES)[number];

export interface StudyContext {
  scale: Scale;
  /** Worker threads the study may use (in-process work; and its cells when `cells` is absent). */
  threads: number;
  /**
   * Where the study's sweep cells (sample and train runs) run: the local pool or Redis (src/reproduce/cells.ts).
   * Absent: a local pool of `threads` threads.
   */
  cells?: CellExecutor;
  /** One line of progress (stderr). */
  progress: (message: string) => void;
}

export interface StudyFigure {
  /** File stem, e.g. "claim2-lambda-vs-batch". */
  name: string;
  /** A Vega-Lite spec with its data inline. */
  vl: Record<string, unknown>;
  caption: string;
}

export interface StudyTable {
  title: string;
  header: string[];
  rows: (string | number)[][];
}

export interface StudyResult {
  rows: VerdictRow[];
  records: SPRecord[];
  figures: StudyFigure[];
  tables: StudyTable[];
  /** The specs and settings used, as JSON. */
  settings: Record<string, unknown>;
  seeds: number[];
  notes: string[];
}

export interface Study {
  /** Stable id, used for --only and cache files, e.g. "claim1". */
  id: string;
  title: string;
  /** The claim under test, in one or two sentences, with its source. */
  statement: string;
  run: (ctx: StudyContext) => Promise<StudyResult>;
  /**
   * The largest piece of work one thread holds at a time at this scale (a sampled network, a training run),
   * for the memory estimate before anything runs; absent when every piece is small.
   */
  largest?: (scale: Scale) => { kind: 'sample' | 'train'; spec: SpecInput; what: string }[];
}

export interface StudyOutcome extends StudyResult {
  id: string;
  title: string;
  statement: string;
  scale: Scale;
  verdict: Verdict;
  seconds: number;
  finishedAt: string;
  /** The generator its cells drew with (DEFAULT_RNG); absent in outcomes cached before it was named ('mt19937'). */
  rng?: RngName;
}
