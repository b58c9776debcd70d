// trainRun: a training run, optionally in a run directory (manifest.json, records.jsonl appended as
// training goes, checkpoints) that `resume` continues to the same records as an uninterrupted run.
import { createHash } from 'node:crypto';
import {
  appendFileSync,
  closeSync,
  existsSync,
  ftruncateSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  statSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { writeFileAtomic } from '../io/files.js';
import { acquireLock, type FileLock } from '../io/lock.js';
import { canonicalBackend } from '../io/native.js';
import { recordedRng, specId } from '../network/index.js';
import type { SPRecord } from '../records/index.js';
import { type BackendInfo, initBackend } from './backend.js';
import { type ResolvedTrainConfig, resolveTrainConfig, type TrainConfig } from './config.js';
import { loadData } from './data/index.js';
import { TrainConfigError } from './errors.js';
import { loadCorrelationAwareRate } from './theoryLink.js';
import { Trainer } from './trainer.js';

export interface TrainResult {
  /** 'interrupted': `signal` stopped the run; in a run directory it is checkpointed and resumable. */
  status: 'completed' | 'diverged' | 'interrupted';
  records: SPRecord[];
  final: { loss: number; accuracy: number; testLoss?: number; testAccuracy?: number };
  steps: number;
  divergedAt?: number;
}

export interface TrainOptions {
  /** A directory for manifest.json, records.jsonl and checkpoints. */
  runDir?: string;
  /** Continue the run in runDir from its last checkpoint. */
  resume?: boolean;
  /** Called after every step. */
  onProgress?: (step: number, total: number, loss: number) => void;
  /**
   * BLAS threads of the blas backend (default: every core). Not part of the config: the records are
   * the same at any thread count (test/train/blas.test.ts); the manifest notes the count used.
   */
  threads?: number | null;
  /**
   * Stop the run when aborted (e.g. on SIGINT): after the step in progress, checkpoint, mark the run
   * 'interrupted' and return with that status. The run resumes to the records of an uninterrupted run.
   */
  signal?: AbortSignal;
  /** Notes that are not results (a damaged checkpoint skipped); default: stderr. */
  log?: (message: string) => void;
}

export const MANIFEST_VERSION = 1;

export interface Manifest {
  format: 'signalprop-train-run';
  version: number;
  config: ResolvedTrainConfig;
  specId: string;
  backend: BackendInfo;
  data: Record<string, unknown>;
  node: string;
  /** Whether the run has gia_growth records (the gradient-independence reconstruction; docs/training.md). */
  giaGrowth: boolean;
  /** Whether the run has the exact gradient-factor records (linear-bn-act without residuals). */
  gradientFactors: boolean;
  status: 'running' | 'interrupted' | 'completed' | 'diverged';
  stepsDone: number;
  divergedAt?: number;
  final?: TrainResult['final'];
}

interface CheckpointMeta {
  step: number;
  recordsBytes: number;
  bin: string;
  /** Length and sha256 (hex) of the .bin file, checked on load (absent in checkpoints of older versions). */
  bytes?: number;
  sha256?: string;
  tensors: { name: string; shape: number[] }[];
  lastLoss: number;
  lastAccuracy: number;
}

/** Checkpoints kept: the latest and the one before it, the fallback when the latest is damaged. */
const KEEP_CHECKPOINTS = 2;
const CHECKPOINT_RE = /^checkpoint-(\d+)\.json$/;

/** JSONL line of a record (non-finite values are written as null; tags keep what they were). */
function line(r: SPRecord): string {
  return `${JSON.stringify(r)}\n`;
}

function readRecords(path: string): SPRecord[] {
  if (!existsSync(path)) return [];
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => {
      const r = JSON.parse(l) as SPRecord;
      if (r.value === null)
        r.value =
          r.tags?.nonFinite === 'Infinity'
            ? Number.POSITIVE_INFINITY
            : r.tags?.nonFinite === '-Infinity'
              ? Number.NEGATIVE_INFINITY
              : Number.NaN;
      return r;
    });
}

function stateTensors(tr: Trainer): { name: string; t: tf.Tensor }[] {
  const m = tr.model;
  const out = m.params.map((t, i) => ({ name: `param:${m.info[i].name}`, t }));
  for (const [i, t] of m.runMean.entries()) out.push({ name: `runMean:${i + 1}`, t });
  for (const [i, t] of m.runVar.entries()) out.push({ name: `runVar:${i + 1}`, t });
  for (const [i, t] of tr.opt.stateTensors().entries()) out.push({ name: `opt:${i}`, t });
  return out;
}

function saveCheckpoint(dir: string, tr: Trainer, step: number, recordsBytes: number, lastLoss: number, lastAccuracy: number): void {
  const list = stateTensors(tr);
  const total = list.reduce((a, x) => a + x.t.size, 0);
  const buf = new Float32Array(total);
  let off = 0;
  for (const { t } of list) {
    buf.set(t.dataSync() as Float32Array, off);
    off += t.size;
  }
  const bin = `checkpoint-${step}.bin`;
  const bytes = new Uint8Array(buf.buffer);
  writeFileAtomic(join(dir, bin), bytes);
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  const meta: CheckpointMeta = {
    step,
    recordsBytes,
    bin,
    bytes: bytes.byteLength,
    sha256,
    tensors: list.map((x) => ({ name: x.name, shape: x.t.shape })),
    lastLoss,
    lastAccuracy,
  };
  const text = JSON.stringify(meta, null, 1);
  // each checkpoint: checkpoint-<step>.bin and its checkpoint-<step>.json; checkpoint.json is the latest
  writeFileAtomic(join(dir, `checkpoint-${step}.json`), text);
  writeFileAtomic(join(dir, 'checkpoint.json'), text);
  const steps = new Set(checkpointFiles(dir).map((f) => f.step));
  steps.add(step);
  const keep = new Set([...steps].sort((a, b) => b - a).slice(0, KEEP_CHECKPOINTS));
  for (const f of readdirSync(dir)) {
    const m = /^checkpoint-(\d+)\.(json|bin)$/.exec(f);
    if (m && !keep.has(Number(m[1]))) unlinkSync(join(dir, f));
  }
}

/** The per-step checkpoint metadata files of dir, latest first. */
function checkpointFiles(dir: string): { step: number; file: string }[] {
  return readdirSync(dir)
    .map((f) => CHECKPOINT_RE.exec(f))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => ({ step: Number(m[1]), file: m[0] }))
    .sort((a, b) => b.step - a.step);
}

/** Why a checkpoint cannot be used (damaged, missing, or ahead of records.jsonl), or its bytes. */
function readCheckpointBytes(
  dir: string,
  meta: CheckpointMeta,
  recordsSize: number,
): { bytes: Buffer } | { file: string; problem: string } {
  const binPath = join(dir, meta.bin);
  const expected = 4 * meta.tensors.reduce((a, d) => a + d.shape.reduce((x, y) => x * y, 1), 0);
  let bytes: Buffer;
  try {
    bytes = readFileSync(binPath);
  } catch (e) {
    return { file: binPath, problem: `cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})` };
  }
  const want = meta.bytes ?? expected;
  if (bytes.byteLength !== want || want !== expected)
    return { file: binPath, problem: `has ${bytes.byteLength} bytes where its checkpoint needs ${want} (truncated or damaged)` };
  if (meta.sha256 !== undefined && createHash('sha256').update(bytes).digest('hex') !== meta.sha256)
    return { file: binPath, problem: 'does not match the sha256 its checkpoint recorded (damaged)' };
  if (recordsSize < meta.recordsBytes)
    return {
      file: join(dir, 'records.jsonl'),
      problem: `has ${recordsSize} bytes, fewer than the ${meta.recordsBytes} the checkpoint at step ${meta.step} accounts for (truncated)`,
    };
  return { bytes };
}

function parseCheckpointMeta(path: string): CheckpointMeta | string {
  let m: CheckpointMeta;
  try {
    m = JSON.parse(readFileSync(path, 'utf8')) as CheckpointMeta;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code ? `cannot be read (${(e as NodeJS.ErrnoException).code})` : 'is not valid JSON (damaged)';
  }
  const ok =
    m !== null &&
    typeof m === 'object' &&
    Number.isInteger(m.step) &&
    m.step >= 0 &&
    Number.isInteger(m.recordsBytes) &&
    m.recordsBytes >= 0 &&
    typeof m.bin === 'string' &&
    /^checkpoint-\d+\.bin$/.test(m.bin) &&
    Array.isArray(m.tensors) &&
    m.tensors.every((t) => t && Array.isArray(t.shape) && t.shape.every((n) => Number.isInteger(n) && n >= 0));
  return ok ? m : 'is not a signalprop checkpoint (damaged)';
}

/**
 * Load the latest intact checkpoint of dir into tr: each is checked (length, sha256, records.jsonl long
 * enough); a damaged one is skipped for the one before it, with a note. Null when dir has no checkpoint.
 */
function loadCheckpoint(dir: string, tr: Trainer, log: (message: string) => void): CheckpointMeta | null {
  const candidates: { path: string; meta: CheckpointMeta | string }[] = [];
  const latest = join(dir, 'checkpoint.json');
  if (existsSync(latest)) candidates.push({ path: latest, meta: parseCheckpointMeta(latest) });
  for (const f of checkpointFiles(dir)) {
    const path = join(dir, f.file);
    const meta = parseCheckpointMeta(path);
    // checkpoint.json is a copy of the latest checkpoint-<step>.json
    if (
      candidates.some(
        (c) => typeof c.meta !== 'string' && typeof meta !== 'string' && c.meta.step === meta.step && c.meta.sha256 === meta.sha256,
      )
    )
      continue;
    candidates.push({ path, meta });
  }
  if (candidates.length === 0) return null;
  candidates.sort((a, b) => (typeof b.meta === 'string' ? -1 : b.meta.step) - (typeof a.meta === 'string' ? -1 : a.meta.step));
  const recordsPath = join(dir, 'records.jsonl');
  const recordsSize = existsSync(recordsPath) ? statSync(recordsPath).size : 0;
  const damaged: { file: string; problem: string }[] = [];
  let meta: CheckpointMeta | null = null;
  let bytes: Buffer | null = null;
  for (const c of candidates) {
    if (typeof c.meta === 'string') {
      damaged.push({ file: c.path, problem: c.meta });
      continue;
    }
    const r = readCheckpointBytes(dir, c.meta, recordsSize);
    if ('problem' in r) {
      damaged.push(r);
      continue;
    }
    meta = c.meta;
    bytes = r.bytes;
    break;
  }
  const what = (d: { file: string; problem: string }) => `${d.file} ${d.problem}`;
  if (!meta || !bytes) {
    throw new TrainConfigError(
      'resume',
      dir,
      `a run directory with an intact checkpoint; ${damaged.map(what).join('; ')}; no earlier checkpoint is intact, so start the run again in a new directory`,
    );
  }
  for (const d of damaged) log(`note: ${what(d)}; resuming from the earlier checkpoint at step ${meta.step}`);
  if (damaged.length) {
    // later checkpoints are unusable: set them aside (.damaged), and checkpoint.json names the one in use
    for (const f of checkpointFiles(dir).filter((x) => x.step > meta!.step)) {
      for (const name of [f.file, `checkpoint-${f.step}.bin`])
        if (existsSync(join(dir, name))) renameSync(join(dir, name), join(dir, `${name}.damaged`));
    }
    writeFileAtomic(latest, JSON.stringify(meta, null, 1));
  }
  const all = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
  const expect = stateTensors(tr);
  const mismatch = expect.length !== meta.tensors.length || expect.some((x, i) => x.t.shape.join('x') !== meta.tensors[i].shape.join('x'));
  if (mismatch)
    throw new TrainConfigError(
      'resume',
      dir,
      `a checkpoint of this run's model (the checkpoint at step ${meta.step} has ${meta.tensors.length} tensors of other shapes, the model ${expect.length})`,
    );
  let off = 0;
  const loaded = meta.tensors.map((d) => {
    const n = d.shape.reduce((a, b) => a * b, 1);
    const t = tf.tensor(all.slice(off, off + n), d.shape);
    off += n;
    return t;
  });
  const m = tr.model;
  const np = m.params.length;
  const nb = m.runMean.length;
  tf.dispose([...m.params, ...m.runMean, ...m.runVar]);
  m.params = loaded.slice(0, np);
  m.runMean = loaded.slice(np, np + nb) as tf.Tensor1D[];
  m.runVar = loaded.slice(np + nb, np + 2 * nb) as tf.Tensor1D[];
  tr.opt.setState(loaded.slice(np + 2 * nb));
  return meta;
}

function truncate(path: string, bytes: number): void {
  if (!existsSync(path)) {
    writeFileSync(path, '');
    return;
  }
  if (statSync(path).size === bytes) return;
  const fd = openSync(path, 'r+');
  try {
    ftruncateSync(fd, bytes);
  } finally {
    closeSync(fd);
  }
}

function sameConfig(a: unknown, b: unknown, path = 'config'): string | null {
  if (typeof a !== typeof b || Array.isArray(a) !== Array.isArray(b) || (a === null) !== (b === null)) return path;
  if (a && typeof a === 'object') {
    const keys = new Set([...Object.keys(a as object), ...Object.keys(b as object)]);
    for (const k of keys) {
      const d = sameConfig((a as any)[k], (b as any)[k], path === 'config' ? k : `${path}.${k}`);
      if (d) return d;
    }
    return null;
  }
  return a === b || (Number.isNaN(a) && Number.isNaN(b)) ? null : path;
}

/**
 * Train the network of `config`. Same config and backend: the same records, bit for bit. Divergence
 * (NaN or ±Infinity in the loss or the gradients) ends the run cleanly with status 'diverged'.
 */
export async function trainRun(config: TrainConfig, opts: TrainOptions = {}): Promise<TrainResult> {
  const resolved = resolveTrainConfig(config);
  const dir = opts.runDir;
  if (opts.resume && !dir) throw new TrainConfigError('resume', true, 'a run directory (runDir / --out) to resume from');
  let lock: FileLock | null = null;
  if (dir) {
    if (opts.resume && !existsSync(join(dir, 'manifest.json'))) {
      throw new TrainConfigError(
        'resume',
        dir,
        `a run directory to continue (${existsSync(dir) ? 'it has no manifest.json' : 'it does not exist'}); without resume a new run starts there`,
      );
    }
    mkdirSync(dir, { recursive: true });
    // one writer per run directory: a second process (or a second call) is refused with a LockError
    lock = acquireLock(
      join(dir, '.lock'),
      `run directory ${dir}`,
      'wait for that run to end, or stop it (SIGINT checkpoints it) and resume',
    );
  }
  try {
    return await trainRunLocked(resolved, opts);
  } finally {
    lock?.release();
  }
}

function readManifest(path: string): Manifest {
  let m: Manifest;
  try {
    m = JSON.parse(readFileSync(path, 'utf8')) as Manifest;
  } catch (e) {
    throw new TrainConfigError(
      'runDir',
      path,
      `a manifest.json written by signalprop train (${(e as NodeJS.ErrnoException).code ? `cannot read it: ${(e as NodeJS.ErrnoException).code}` : 'it is not valid JSON'})`,
    );
  }
  if (m?.format !== 'signalprop-train-run' || !m.config || typeof m.config !== 'object')
    throw new TrainConfigError(
      'runDir',
      path,
      'a manifest.json written by signalprop train (format "signalprop-train-run", with a config)',
    );
  return m;
}

async function trainRunLocked({ config: cfg, spec }: ReturnType<typeof resolveTrainConfig>, opts: TrainOptions): Promise<TrainResult> {
  const dir = opts.runDir;
  const log = opts.log ?? ((m: string) => process.stderr.write(`${m}\n`));
  let manifest: Manifest | null = null;
  if (dir) {
    const mp = join(dir, 'manifest.json');
    if (existsSync(mp)) {
      if (!opts.resume)
        throw new TrainConfigError(
          'runDir',
          dir,
          'a directory without a run (it has manifest.json); pass resume to continue it, or choose another directory',
        );
      manifest = readManifest(mp);
      // "native" and its aliases ("blas") name one backend: a run started with either resumes with either.
      // A manifest without rng was written before the generator was named: its draws were MT19937's.
      const canon = (c: ResolvedTrainConfig) => ({ ...c, backend: canonicalBackend(c.backend), rng: recordedRng(c, 'rng') });
      const diff = sameConfig(canon(manifest.config), canon(cfg));
      if (diff === 'rng')
        throw new TrainConfigError(
          'rng',
          cfg.rng,
          `the generator of the run being resumed in ${dir} ('${recordedRng(manifest.config)}'; pass --rng ${recordedRng(manifest.config)} to resume it)`,
        );
      if (diff)
        throw new TrainConfigError(
          diff,
          diff === 'config' ? cfg : diff.split('.').reduce((o: any, k) => o?.[k], cfg),
          `the value of the run being resumed in ${dir} (${JSON.stringify(diff.split('.').reduce((o: any, k) => o?.[k], manifest.config))})`,
        );
    }
  }
  const backend = await initBackend(cfg.backend, opts.threads ?? null);
  if (manifest && manifest.backend.name !== backend.name)
    throw new TrainConfigError(
      'backend',
      backend.name,
      `the backend of the run being resumed (${manifest.backend.name}); records are only reproducible on one backend`,
    );
  const recordsPath = dir ? join(dir, 'records.jsonl') : null;
  if (manifest && (manifest.status === 'completed' || manifest.status === 'diverged') && recordsPath) {
    return {
      status: manifest.status,
      records: readRecords(recordsPath),
      final: manifest.final!,
      steps: manifest.stepsDone,
      divergedAt: manifest.divergedAt,
    };
  }
  const data = loadData(cfg.data, cfg.seed, spec.inputDim, cfg.loss === 'xent', cfg.rng);
  const rate = await loadCorrelationAwareRate();
  const tr = new Trainer(cfg, spec, data, rate, backend.name);
  try {
    const writeManifest = (m: Manifest) => dir && writeFileAtomic(join(dir, 'manifest.json'), JSON.stringify(m, null, 1));
    const base: Manifest = manifest
      ? { ...manifest, status: 'running' }
      : {
          format: 'signalprop-train-run',
          version: MANIFEST_VERSION,
          config: cfg,
          specId: specId(spec),
          backend,
          data: data.describe(),
          node: process.version,
          giaGrowth: rate !== null && tr.factorsOn,
          gradientFactors: tr.factorsOn,
          status: 'running',
          stepsDone: 0,
        };
    let start = 0;
    let records: SPRecord[] = [];
    let lastLoss = Number.NaN;
    let lastAcc = Number.NaN;
    let recordsBytes = 0;
    if (dir && recordsPath) {
      const meta = manifest ? loadCheckpoint(dir, tr, log) : null;
      if (meta) {
        start = meta.step;
        recordsBytes = meta.recordsBytes;
        lastLoss = meta.lastLoss;
        lastAcc = meta.lastAccuracy;
      }
      truncate(recordsPath, recordsBytes);
      records = readRecords(recordsPath);
      writeManifest({ ...base, stepsDone: start });
    }
    let checkpointed = start;
    const interrupted = (steps: number): TrainResult => {
      // stopped by opts.signal: a checkpoint at the last finished step, so that nothing is lost
      if (dir) {
        if (checkpointed !== steps) saveCheckpoint(dir, tr, steps, recordsBytes, lastLoss, lastAcc);
        writeManifest({ ...base, status: 'interrupted', stepsDone: steps });
      }
      return { status: 'interrupted', records, final: { loss: lastLoss, accuracy: lastAcc }, steps };
    };
    if (opts.signal?.aborted) return interrupted(start);
    for (let t = start; t < cfg.steps; t++) {
      const o = tr.step(t);
      records.push(...o.records);
      lastLoss = o.loss;
      lastAcc = o.accuracy;
      if (recordsPath) {
        const text = o.records.map(line).join('');
        appendFileSync(recordsPath, text);
        recordsBytes += Buffer.byteLength(text);
      }
      if (o.diverged) {
        const final = { loss: o.loss, accuracy: o.accuracy };
        writeManifest({ ...base, status: 'diverged', stepsDone: t + 1, divergedAt: t, final });
        opts.onProgress?.(t + 1, cfg.steps, o.loss);
        return { status: 'diverged', records, final, steps: t + 1, divergedAt: t };
      }
      if (dir && (t + 1) % cfg.checkpointEvery === 0 && t + 1 < cfg.steps) {
        saveCheckpoint(dir, tr, t + 1, recordsBytes, lastLoss, lastAcc);
        checkpointed = t + 1;
        writeManifest({ ...base, stepsDone: t + 1 });
      }
      opts.onProgress?.(t + 1, cfg.steps, o.loss);
      if (opts.signal && t + 1 < cfg.steps) {
        await new Promise<void>((r) => setImmediate(r)); // let a signal handler run between steps
        if (opts.signal.aborted) return interrupted(t + 1);
      }
    }
    const ev = tr.evaluate();
    const endRecs = [tr.rec('test_loss', null, ev.loss, cfg.steps), tr.rec('test_accuracy', null, ev.accuracy, cfg.steps)];
    records.push(...endRecs);
    const final = { loss: lastLoss, accuracy: lastAcc, testLoss: ev.loss, testAccuracy: ev.accuracy };
    if (dir && recordsPath) {
      appendFileSync(recordsPath, endRecs.map(line).join(''));
      saveCheckpoint(dir, tr, cfg.steps, statSync(recordsPath).size, lastLoss, lastAcc);
      writeManifest({ ...base, status: 'completed', stepsDone: cfg.steps, final });
    }
    return { status: 'completed', records, final, steps: cfg.steps };
  } finally {
    tr.dispose();
  }
}
