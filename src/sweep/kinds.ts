// The cell kinds a sweep can run: each kind is a small adapter module (options, checks, run), named by
// URL so that worker threads and worker processes can load it themselves. The built-in adapters load
// the library behind them (theory, sample, train) lazily, inside run().
import { pathToFileURL } from 'node:url';
import type { NetworkSpec, SpecInput } from '../network/index.js';
import type { SPRecord } from '../records/index.js';
import { KIND_RE } from './constants.js';
import { loadModule } from './load.js';
import type { Cell } from './sweepFile.js';
import { moduleUrl } from '../parallel/moduleUrl.js';

export interface CellContext {
  /** A directory the cell may write into (e.g. a training run directory); created on demand. */
  runDir: string;
  /** Who runs the cell: host:pid:thread. */
  worker: string;
  /**
   * Aborted when the sweep is interrupted (Ctrl-C on a local sweep). A kind that can checkpoint (train) stops
   * after its step in progress, checkpoints into runDir and returns `interrupted`; the next attempt resumes.
   */
  signal?: AbortSignal;
}

export interface CellOutput {
  /** Tidy records as the library emits them; the store adds the sweep's tags. */
  records: SPRecord[];
  /** Small JSON facts about the run (e.g. training status), kept in cells.jsonl. */
  info?: Record<string, unknown>;
  /** The cell stopped on ctx.signal before it finished: nothing is stored, the next attempt resumes it. */
  interrupted?: boolean;
}

/** What a cell-kind module exports. */
export interface CellKindModule {
  /** Top-level option names this kind accepts, each with what is allowed (for error messages). */
  optionFields: Record<string, string>;
  /** Validate options (throw SpecError/SweepError naming the option) and fill defaults. */
  resolveOptions?(options: Record<string, unknown>): Record<string, unknown>;
  /** Kind-specific checks of a validated spec (e.g. sampling needs a finite batch). */
  checkSpec?(spec: NetworkSpec): void;
  /** Fill spec defaults that follow from the options (e.g. the input dimension of the data). */
  prepareSpec?(input: SpecInput, options: Record<string, unknown>): SpecInput;
  /** Checks of a whole cell: spec, options and seed together. */
  checkCell?(spec: NetworkSpec, options: Record<string, unknown>, seed: number): void;
  /** Called once after the module is loaded (e.g. to load the library behind it). */
  init?(): Promise<void>;
  run(cell: Cell, ctx: CellContext): Promise<CellOutput> | CellOutput;
}

const BUILTIN: Record<string, string> = {
  predict: moduleUrl('./runners/predict.js', import.meta.url).href,
  sample: moduleUrl('./runners/sample.js', import.meta.url).href,
  train: moduleUrl('./runners/train.js', import.meta.url).href,
};

const registered = new Map<string, string>();

/** Register a cell kind by its module (a path or URL). Later registrations of a name replace earlier ones. */
export function registerCellKind(kind: string, module: string | URL): void {
  if (!KIND_RE.test(kind)) throw new Error(`cell kind "${kind}": expected lowercase letters, digits and "-", starting with a letter`);
  registered.set(kind, toHref(module));
}

function toHref(module: string | URL): string {
  if (module instanceof URL) return module.href;
  return /^[a-z]+:\/\//.test(module) ? module : pathToFileURL(module).href;
}

/** Every known kind → module URL (built-ins, then registrations). Sent along with cells to workers. */
export function cellKindModules(): Record<string, string> {
  return { ...BUILTIN, ...Object.fromEntries(registered) };
}

const cache = new Map<string, Promise<CellKindModule>>();

/** Load a kind's module; checks that it has the exports of a CellKindModule. */
export function loadCellKind(kind: string, modules: Record<string, string> = cellKindModules()): Promise<CellKindModule> {
  const href = modules[kind];
  if (!href) return Promise.reject(new Error(`unknown cell kind "${kind}"; known: ${Object.keys(modules).join(', ')}`));
  let p = cache.get(href);
  if (!p) {
    p = loadModule(href).then(async (m) => {
      const mod = (m.default && typeof m.default.run === 'function' ? m.default : m) as CellKindModule;
      if (typeof mod.run !== 'function' || !mod.optionFields || typeof mod.optionFields !== 'object') {
        throw new Error(`cell kind "${kind}" (${href}) must export run(cell, ctx) and optionFields`);
      }
      await mod.init?.();
      return mod;
    });
    p.catch(() => cache.delete(href));
    cache.set(href, p);
  }
  return p;
}
