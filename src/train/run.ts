// trainRun: a training run, optionally in a run directory (manifest.json, records.jsonl appended as
// training goes, checkpoints) that `resume` continues to the same records as an uninterrupted run.
import { appendFileSync, closeSync, existsSync, ftruncateSync, mkdirSync, openSync, readFileSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { writeFileAtomic } from '../io/files.js';
import { type SPRecord, specId } from '../spec/index.js';
import { type BackendInfo, initBackend } from './backend.js';
import { type ResolvedTrainConfig, resolveTrainConfig, type TrainConfig } from './config.js';
import { loadData } from './data.js';
import { TrainConfigError } from './errors.js';
import { loadCorrelationAwareRate } from './theoryLink.js';
import { Trainer } from './trainer.js';

export interface TrainResult {
  status: 'completed' | 'diverged';
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
  status: 'running' | 'completed' | 'diverged';
  stepsDone: number;
  divergedAt?: number;
  final?: TrainResult['final'];
}

interface CheckpointMeta {
  step: number;
  recordsBytes: number;
  bin: string;
  tensors: { name: string; shape: number[] }[];
  lastLoss: number;
  lastAccuracy: number;
}

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
      if (r.value === null) r.value = r.tags?.nonFinite === 'Infinity' ? Number.POSITIVE_INFINITY : r.tags?.nonFinite === '-Infinity' ? Number.NEGATIVE_INFINITY : Number.NaN;
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
  writeFileAtomic(join(dir, bin), new Uint8Array(buf.buffer));
  const prev = existsSync(join(dir, 'checkpoint.json')) ? (JSON.parse(readFileSync(join(dir, 'checkpoint.json'), 'utf8')) as CheckpointMeta) : null;
  const meta: CheckpointMeta = { step, recordsBytes, bin, tensors: list.map((x) => ({ name: x.name, shape: x.t.shape })), lastLoss, lastAccuracy };
  writeFileAtomic(join(dir, 'checkpoint.json'), JSON.stringify(meta, null, 1));
  if (prev && prev.bin !== bin && existsSync(join(dir, prev.bin))) unlinkSync(join(dir, prev.bin));
}

function loadCheckpoint(dir: string, tr: Trainer): CheckpointMeta | null {
  const p = join(dir, 'checkpoint.json');
  if (!existsSync(p)) return null;
  const meta = JSON.parse(readFileSync(p, 'utf8')) as CheckpointMeta;
  const bytes = readFileSync(join(dir, meta.bin));
  const all = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
  const expect = stateTensors(tr);
  if (expect.length !== meta.tensors.length) throw new Error(`checkpoint in ${dir} does not match the run's model (${meta.tensors.length} tensors, expected ${expect.length})`);
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
  const { config: cfg, spec } = resolveTrainConfig(config);
  const dir = opts.runDir;
  if (opts.resume && !dir) throw new TrainConfigError('resume', true, 'a run directory (runDir / --out) to resume from');
  let manifest: Manifest | null = null;
  if (dir) {
    const mp = join(dir, 'manifest.json');
    if (existsSync(mp)) {
      if (!opts.resume) throw new TrainConfigError('runDir', dir, 'a directory without a run (it has manifest.json); pass resume to continue it, or choose another directory');
      manifest = JSON.parse(readFileSync(mp, 'utf8')) as Manifest;
      const diff = sameConfig(manifest.config, cfg);
      if (diff) throw new TrainConfigError(diff, diff === 'config' ? cfg : diff.split('.').reduce((o: any, k) => o?.[k], cfg), `the value of the run being resumed in ${dir} (${JSON.stringify(diff.split('.').reduce((o: any, k) => o?.[k], manifest.config))})`);
    }
    mkdirSync(dir, { recursive: true });
  }
  const backend = await initBackend(cfg.backend, opts.threads ?? null);
  if (manifest && manifest.backend.name !== backend.name) throw new TrainConfigError('backend', backend.name, `the backend of the run being resumed (${manifest.backend.name}); records are only reproducible on one backend`);
  const recordsPath = dir ? join(dir, 'records.jsonl') : null;
  if (manifest && manifest.status !== 'running' && recordsPath) {
    return { status: manifest.status, records: readRecords(recordsPath), final: manifest.final!, steps: manifest.stepsDone, divergedAt: manifest.divergedAt };
  }
  const data = loadData(cfg.data, cfg.seed, spec.inputDim, cfg.loss === 'xent');
  const rate = await loadCorrelationAwareRate();
  const tr = new Trainer(cfg, spec, data, rate, backend.name);
  try {
    const writeManifest = (m: Manifest) => dir && writeFileAtomic(join(dir, 'manifest.json'), JSON.stringify(m, null, 1));
    const base: Manifest = manifest ?? {
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
      const meta = manifest ? loadCheckpoint(dir, tr) : null;
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
        writeManifest({ ...base, stepsDone: t + 1 });
      }
      opts.onProgress?.(t + 1, cfg.steps, o.loss);
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
