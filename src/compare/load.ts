// Read tidy records from files and run directories: .json (an array, or an object with `records`), .jsonl, or a
// directory holding records.jsonl / records.json (a run directory, with its manifest.json) or such directories below it.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { unknownField } from '../network/index.js';
import { InputError, inputErrorFromMessage } from '../network/errors.js';
import { RECORD_FIELDS, SOURCES, type SPRecord } from '../records/index.js';
import { pushAll } from '../io/arrays.js';

/** Bad record input: names the file (and line), the field, the value and what is allowed. */
export class RecordsError extends InputError {
  constructor(message: string) {
    super(inputErrorFromMessage(message).field, undefined, '', message);
    this.name = 'RecordsError';
  }
}

const RECORD_FILES = ['records.jsonl', 'records.json'];

function numOrNull(v: unknown): number | null | undefined {
  if (v === null || v === undefined) return null;
  if (typeof v === 'number') return v;
  return undefined;
}

/** JSON cannot hold NaN or ±Infinity: accept null and the strings "NaN", "Infinity", "-Infinity" as values. */
function parseValue(v: unknown): number | undefined {
  if (typeof v === 'number') return v;
  if (v === null) return Number.NaN;
  if (v === 'NaN') return Number.NaN;
  if (v === 'Infinity' || v === '+Infinity') return Number.POSITIVE_INFINITY;
  if (v === '-Infinity') return Number.NEGATIVE_INFINITY;
  return undefined;
}

/** RECORD_FIELDS as a set: every record of a file (a million, say) checks each of its keys. */
const KNOWN_FIELDS = new Set(RECORD_FIELDS);

/** Check one parsed object and return it as an SPRecord (step/seed default to null). `where` names file and line. */
export function validateRecord(raw: unknown, where: string): SPRecord {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new RecordsError(`${where}: ${JSON.stringify(raw)?.slice(0, 80)} is not allowed; expected a record object`);
  }
  const r = raw as Record<string, unknown>;
  for (const k of Object.keys(r)) {
    if (!KNOWN_FIELDS.has(k))
      throw new RecordsError(
        `${where}: ${k} ${JSON.stringify(r[k])?.slice(0, 80)} is not allowed; expected ${unknownField(k, RECORD_FIELDS, 'a record')} (free-form labels go in tags)`,
      );
  }
  if (!SOURCES.includes(r.source as any)) {
    throw new RecordsError(`${where}: source ${JSON.stringify(r.source)} is not allowed; expected ${SOURCES.join(' | ')}`);
  }
  if (typeof r.quantity !== 'string' || r.quantity === '') {
    throw new RecordsError(`${where}: quantity ${JSON.stringify(r.quantity)} is not allowed; expected a non-empty string`);
  }
  const value = parseValue(r.value);
  if (value === undefined) {
    throw new RecordsError(`${where}: value ${JSON.stringify(r.value)} is not allowed; expected a number (or null / "NaN" / "Infinity")`);
  }
  for (const f of ['layer', 'step', 'seed'] as const) {
    if (numOrNull(r[f]) === undefined) {
      throw new RecordsError(`${where}: ${f} ${JSON.stringify(r[f])} is not allowed; expected a number or null`);
    }
  }
  for (const f of ['sd', 'lo', 'hi', 'n'] as const) {
    if (r[f] !== undefined && r[f] !== null && typeof r[f] !== 'number') {
      throw new RecordsError(`${where}: ${f} ${JSON.stringify(r[f])} is not allowed; expected a number`);
    }
  }
  if (r.tags !== undefined && (r.tags === null || typeof r.tags !== 'object' || Array.isArray(r.tags))) {
    throw new RecordsError(`${where}: tags ${JSON.stringify(r.tags)} is not allowed; expected an object`);
  }
  const out = { ...r, value, layer: numOrNull(r.layer), step: numOrNull(r.step), seed: numOrNull(r.seed) } as SPRecord;
  for (const f of ['sd', 'lo', 'hi', 'n'] as const) if (out[f] === null) delete out[f];
  return out;
}

function parseJsonl(text: string, path: string): SPRecord[] {
  const out: SPRecord[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].trim();
    if (line === '') continue;
    let obj: unknown;
    try {
      obj = JSON.parse(line);
    } catch (e) {
      // A run interrupted mid-write may leave a partial last line; anything earlier is corrupt input.
      if (i >= lines.length - 2 && lines.slice(i + 1).every((l) => l.trim() === '')) {
        process.stderr.write(
          `note: ${path}:${i + 1}: skipped a torn last line (${line.length} characters; a run interrupted mid-write?)\n`,
        );
        break;
      }
      throw new RecordsError(`${path}:${i + 1}: not valid JSON (${(e as Error).message})`);
    }
    out.push(validateRecord(obj, `${path}:${i + 1}`));
  }
  return out;
}

function parseJson(text: string, path: string): SPRecord[] {
  let obj: any;
  try {
    obj = JSON.parse(text);
  } catch (e) {
    throw new RecordsError(`${path}: not valid JSON (${(e as Error).message})`);
  }
  const arr = Array.isArray(obj) ? obj : obj && typeof obj === 'object' && Array.isArray(obj.records) ? obj.records : null;
  if (!arr) throw new RecordsError(`${path}: expected a JSON array of records, or an object with a "records" array`);
  return arr.map((r: unknown, i: number) => validateRecord(r, `${path}[${i}]`));
}

function readFile(path: string): SPRecord[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new RecordsError(`${path}: cannot read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  if (path.endsWith('.jsonl') || path.endsWith('.ndjson')) return parseJsonl(text, path);
  if (path.endsWith('.json')) return parseJson(text, path);
  // Unknown extension: JSON if it parses as a whole, else JSON lines.
  const t = text.trimStart();
  return t.startsWith('[') ? parseJson(text, path) : parseJsonl(text, path);
}

/** Labels a run directory's manifest gives its records (run id, optimizer, status), kept only where tags lack them. */
function manifestTags(dir: string): Record<string, string | number | boolean | null> {
  const p = join(dir, 'manifest.json');
  if (!existsSync(p)) return { run: basename(dir) };
  let m: any;
  try {
    m = JSON.parse(readFileSync(p, 'utf8'));
  } catch (e) {
    throw new RecordsError(`${p}: not valid JSON (${(e as Error).message})`);
  }
  const tags: Record<string, string | number | boolean | null> = { run: typeof m?.id === 'string' ? m.id : basename(dir) };
  const opt = m?.optimizer;
  const optName =
    typeof opt === 'string' ? opt : typeof opt?.name === 'string' ? opt.name : typeof opt?.kind === 'string' ? opt.kind : undefined;
  if (optName) tags.optimizer = optName;
  if (typeof m?.status === 'string') tags.status = m.status;
  return tags;
}

function findRecordFiles(dir: string, depth: number): string[] {
  for (const f of RECORD_FILES) if (existsSync(join(dir, f))) return [join(dir, f)];
  if (depth === 0) return [];
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
    if (e.isDirectory() && !e.name.startsWith('.')) pushAll(out, findRecordFiles(join(dir, e.name), depth - 1));
  }
  return out;
}

/**
 * Load records from record files (.json array or .jsonl) and directories (a run directory with records.jsonl and
 * manifest.json, or a folder of such directories, two levels deep). Throws RecordsError naming the path.
 */
export function loadRecords(paths: string[]): SPRecord[] {
  if (paths.length === 0) throw new RecordsError('no input: give record files (.json, .jsonl) or run directories');
  const out: SPRecord[] = [];
  for (const path of paths) {
    let st: ReturnType<typeof statSync>;
    try {
      st = statSync(path);
    } catch {
      throw new RecordsError(`${path}: no such file or directory; expected a record file (.json, .jsonl) or a run directory`);
    }
    if (st.isDirectory()) {
      const files = findRecordFiles(path, 2);
      if (files.length === 0) throw new RecordsError(`${path}: no records.jsonl or records.json in this directory or two levels below`);
      for (const f of files) {
        const dir = f.slice(0, f.length - basename(f).length - 1);
        const extra = manifestTags(dir);
        for (const r of readFile(f)) out.push({ ...r, tags: { ...extra, ...(r.tags ?? {}) } });
      }
    } else {
      pushAll(out, readFile(path));
    }
  }
  return out;
}
