// The records store of one sweep: a directory with
//   records.jsonl  every record of every finished cell: plain SPRecord JSON, one per line, with the cell's
//                  axes and ids in `tags` (sweep, cell, kind, seed and one tag per axis path);
//   cells.jsonl    one line per finished or failed cell: id, status, error, record count, byte count, ...;
//   sweep.json     the sweep as run (manifest);  summary.json  counts and failures of the last run.
//
// A cell is committed in two appends: its records, then its line in cells.jsonl, which carries the byte
// length of those records. On open, a partial last line of cells.jsonl is dropped and records.jsonl is
// truncated to the bytes that committed cells account for, so a crash at any point leaves neither a
// half-written line nor records of an uncommitted cell. A cell already done is never stored again
// (dedupe by cell id). One process writes a store at a time (a lock file holds its host and pid; src/io/lock.ts).
import { closeSync, existsSync, ftruncateSync, fstatSync, mkdirSync, openSync, readFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../io/files.js';
import { acquireLock, type FileLock, LockError } from '../io/lock.js';
import type { SPRecord } from '../records/index.js';
import type { CellResult } from './cell.js';
import type { Cell } from './sweepFile.js';

export interface CellEntry {
  id: string;
  index: number;
  status: 'done' | 'failed';
  error?: string;
  records: number;
  bytes: number;
  ms: number;
  worker: string;
  seed: number;
  axes: Record<string, unknown>;
  info?: Record<string, unknown>;
  at: string;
}

export class StoreError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StoreError';
  }
}

type TagValue = string | number | boolean | null;
const tagValue = (v: unknown): TagValue =>
  v === null || typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean' ? v : JSON.stringify(v);

/** The tags a sweep adds to each record of a cell: sweep, cell, kind, seed and one per axis path. */
export function cellTags(sweepName: string, cell: Cell): Record<string, TagValue> {
  const tags: Record<string, TagValue> = { sweep: sweepName, cell: cell.id, kind: cell.kind, cellSeed: cell.seed };
  for (const [k, v] of Object.entries(cell.axes)) tags[k] = tagValue(v);
  return tags;
}

function writeAll(fd: number, buf: Buffer): void {
  let off = 0;
  while (off < buf.length) off += writeSync(fd, buf, off, buf.length - off);
}

export class SweepStore {
  readonly dir: string;
  readonly recordsPath: string;
  readonly cellsPath: string;
  private readonly lockPath: string;
  private fileLock: FileLock | null = null;
  private readonly entries = new Map<string, CellEntry>();
  private recordsFd: number;
  private cellsFd: number;
  private closed = false;
  /** What open() repaired: bytes dropped from each file. */
  readonly repaired: { cellsBytes: number; recordsBytes: number };

  private constructor(dir: string) {
    this.dir = dir;
    this.recordsPath = join(dir, 'records.jsonl');
    this.cellsPath = join(dir, 'cells.jsonl');
    this.lockPath = join(dir, '.lock');
    mkdirSync(dir, { recursive: true });
    this.lock();
    try {
      this.cellsFd = openSync(this.cellsPath, 'a+');
      this.recordsFd = openSync(this.recordsPath, 'a+');
      this.repaired = this.load();
    } catch (e) {
      this.close();
      throw e;
    }
  }

  /** Open (or create) the store in dir, repairing the tail of an interrupted run. */
  static open(dir: string): SweepStore {
    return new SweepStore(dir);
  }

  private lock(): void {
    try {
      this.fileLock = acquireLock(this.lockPath, `sweep store ${this.dir}`, 'wait for it or use another --out');
    } catch (e) {
      if (e instanceof LockError) throw new StoreError(e.message);
      throw e;
    }
  }

  private load(): { cellsBytes: number; recordsBytes: number } {
    const text = readFileSync(this.cellsPath, 'utf8');
    const complete = text.lastIndexOf('\n') + 1;
    let cellsBytes = 0;
    if (complete < Buffer.byteLength(text)) {
      const keep = Buffer.byteLength(text.slice(0, complete));
      cellsBytes = Buffer.byteLength(text) - keep;
      ftruncateSync(this.cellsFd, keep);
    }
    let committed = 0;
    text
      .slice(0, complete)
      .split('\n')
      .forEach((line, i) => {
        if (line === '') return;
        let e: CellEntry;
        try {
          e = JSON.parse(line);
        } catch {
          throw new StoreError(`${this.cellsPath}: line ${i + 1} is not valid JSON; the store was edited by hand`);
        }
        committed += e.bytes;
        this.entries.set(e.id, e);
      });
    const size = fstatSync(this.recordsFd).size;
    if (size < committed) {
      throw new StoreError(`${this.recordsPath} has ${size} bytes but cells.jsonl accounts for ${committed}; the store was edited by hand`);
    }
    if (size > committed) ftruncateSync(this.recordsFd, committed);
    return { cellsBytes, recordsBytes: size - committed };
  }

  /** The latest entry of a cell, if any. */
  entry(id: string): CellEntry | undefined {
    return this.entries.get(id);
  }

  isDone(id: string): boolean {
    return this.entries.get(id)?.status === 'done';
  }

  /** Every cell entry (latest per id). */
  allEntries(): CellEntry[] {
    return [...this.entries.values()];
  }

  /**
   * Commit a cell's result. Returns false (and writes nothing) when the cell is already done (a cell
   * finished twice is stored once) or was interrupted.
   */
  put(sweepName: string, cell: Cell, result: CellResult): boolean {
    if (this.closed) throw new StoreError('store is closed');
    if (result.id !== cell.id) throw new StoreError(`result for cell ${result.id} offered as cell ${cell.id}`);
    if (this.isDone(cell.id)) return false;
    // an interrupted cell is not a result: it runs (resumes) again
    if (result.status === 'interrupted') return false;
    let bytes = 0;
    if (result.status === 'done' && result.records.length > 0) {
      const tags = cellTags(sweepName, cell);
      const lines = result.records.map((r: SPRecord) => JSON.stringify({ ...r, tags: { ...(r.tags ?? {}), ...tags } }));
      const buf = Buffer.from(`${lines.join('\n')}\n`);
      writeAll(this.recordsFd, buf);
      bytes = buf.length;
    }
    const entry: CellEntry = {
      id: cell.id,
      index: cell.index,
      status: result.status,
      ...(result.error !== undefined ? { error: result.error } : {}),
      records: result.status === 'done' ? result.records.length : 0,
      bytes,
      ms: Math.round(result.ms),
      worker: result.worker,
      seed: cell.seed,
      axes: cell.axes,
      ...(result.info ? { info: result.info } : {}),
      at: new Date().toISOString(),
    };
    writeAll(this.cellsFd, Buffer.from(`${JSON.stringify(entry)}\n`));
    this.entries.set(cell.id, entry);
    return true;
  }

  /** Read every record of the store (or of the given cells). */
  readRecords(cellIds?: Set<string>): SPRecord[] {
    const out: SPRecord[] = [];
    for (const line of readFileSync(this.recordsPath, 'utf8').split('\n')) {
      if (line === '') continue;
      const r = JSON.parse(line) as SPRecord;
      if (!cellIds || cellIds.has(String(r.tags?.cell))) out.push(r);
    }
    return out;
  }

  /**
   * Rewrite records.jsonl and cells.jsonl in cell order (a cell's lines stay together, in the order they
   * were committed), so that two runs of one sweep give byte-identical records whatever order the cells
   * finished in; then close. records.jsonl is replaced first: if the process dies between the two
   * renames, both files still hold the same committed records and bytes (open() checks only the total).
   */
  sortByCell(): void {
    if (this.closed) throw new StoreError('store is closed');
    const text = readFileSync(this.cellsPath, 'utf8');
    const records = readFileSync(this.recordsPath);
    const lines = text.split('\n').filter((l) => l !== '');
    let at = 0;
    const chunks = lines.map((line, i) => {
      const e = JSON.parse(line) as CellEntry;
      const chunk = records.subarray(at, at + e.bytes);
      at += e.bytes;
      return { line, chunk, index: e.index, i };
    });
    if (at !== records.length)
      throw new StoreError(`${this.recordsPath} has ${records.length} bytes but cells.jsonl accounts for ${at}; not sorted`);
    chunks.sort((a, b) => a.index - b.index || a.i - b.i);
    for (const fd of [this.recordsFd, this.cellsFd]) if (fd !== undefined) closeSync(fd);
    this.closed = true;
    try {
      writeFileAtomic(this.recordsPath, Buffer.concat(chunks.map((c) => c.chunk)));
      writeFileAtomic(this.cellsPath, chunks.map((c) => `${c.line}\n`).join(''));
    } finally {
      this.fileLock?.release();
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const fd of [this.recordsFd, this.cellsFd]) if (fd !== undefined) closeSync(fd);
    this.fileLock?.release();
  }
}

/** Read the committed records of a sweep directory without opening it for writing (e.g. for figures). */
export function readSweepRecords(dir: string): SPRecord[] {
  const cellsPath = join(dir, 'cells.jsonl');
  const path = join(dir, 'records.jsonl');
  if (!existsSync(cellsPath) || !existsSync(path)) return [];
  const cellsText = readFileSync(cellsPath, 'utf8');
  let committed = 0;
  for (const line of cellsText.slice(0, cellsText.lastIndexOf('\n') + 1).split('\n')) {
    if (line !== '') committed += (JSON.parse(line) as CellEntry).bytes;
  }
  return readFileSync(path)
    .subarray(0, committed)
    .toString('utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as SPRecord);
}
