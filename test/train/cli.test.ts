// signalprop train through the real bin: summary on stdout, progress on stderr, exit 2 naming the field.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { trainConfigFromFlags } from '../../src/cli/commands/train.js';
import { blasUnavailableReason } from '../../src/train/blas.js';
import { resolveTrainConfig } from '../../src/train/index.js';
import { runCli } from '../helpers/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'signalprop-train-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const SMALL = ['--depth', '3', '--width', '16', '--batch', '8'];

describe('signalprop train', () => {
  it('trains, writes a run directory, prints JSON on stdout and progress on stderr; --resume of a finished run', () => {
    const out = join(dir, 'run1');
    const r = runCli(['train', ...SMALL, '--steps', '6', '--seed', '2', '--optimizer', 'lalc', '--warmup', '3', '--out', out, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const s = JSON.parse(r.stdout);
    expect(s.status).toBe('completed');
    expect(s.steps).toBe(6);
    expect(s.backend.name).toBe(blasUnavailableReason() === null ? 'blas' : 'wasm');
    expect(r.stderr).toMatch(/train \|.*6\/6 steps/);
    const lines = readFileSync(join(out, 'records.jsonl'), 'utf8').trim().split('\n');
    expect(lines.length).toBe(s.records.length);
    const m = JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8'));
    expect(m.config.optimizer.kind).toBe('lalc');
    expect(m.config.schedule).toEqual({ kind: 'warmup', warmupSteps: 3 });
    const again = runCli(['train', '--out', out, '--resume', '--json']);
    expect(again.code, again.stderr).toBe(0);
    expect(JSON.parse(again.stdout).final).toEqual(s.final);
  });

  it('bad input exits 2 naming the field, the value and what is allowed', () => {
    const cfg = join(dir, 'bad.json');
    writeFileSync(
      cfg,
      JSON.stringify({ spec: { depth: 2, width: 8, batch: 4 }, steps: 3, seed: 1, optimizer: { kind: 'lars', trustCoefficient: -1 } }),
    );
    const a = runCli(['train', '--config', cfg]);
    expect(a.code).toBe(2);
    expect(a.stderr).toMatch(/optimizer.trustCoefficient: -1 is not allowed; expected a finite number > 0/);
    expect(a.stdout).toBe('');
    const t = runCli(['train', ...SMALL, '--steps', '2', '--threads', '0']);
    expect(t.code).toBe(2);
    expect(t.stderr).toMatch(/--threads.*"?0"?/);
    expect(t.stdout).toBe('');
  });

  it('flags and config files become a TrainConfig whose errors name the field (in-process)', () => {
    const cfg = join(dir, 'typo.json');
    writeFileSync(cfg, JSON.stringify({ spec: { depth: 2, width: 8, batch: 4 }, steps: 3, seed: 1, schedul: 'cosine' }));
    expect(() => resolveTrainConfig(trainConfigFromFlags({ config: cfg }))).toThrow(
      /schedul: "cosine" is not allowed; expected a known field \(did you mean "schedule"\?\)/,
    );
    expect(() => resolveTrainConfig(trainConfigFromFlags({ depth: '2', width: '8', batch: '4', optimizer: 'rmsprop' }))).toThrow(
      /optimizer.kind: "rmsprop".*sgd \| momentum/,
    );
    expect(() => trainConfigFromFlags({ depth: '2', seed: '0' })).toThrow(/--seed: "0"/);
    expect(() => trainConfigFromFlags({ depth: '2', data: 'mnist', rho: '0.5' })).toThrow(/--rho: only applies to --data synthetic/);
    const c = trainConfigFromFlags({
      depth: '2',
      width: '8',
      batch: '4',
      data: 'mnist',
      optimizer: 'lamb',
      lr: '0.01',
      clipLayer: '2',
      warmup: '5',
      schedule: 'cosine',
      probeEvery: '10',
    });
    expect(c.spec.inputDim).toBe(784);
    expect(c.optimizer).toEqual({ kind: 'lamb', lr: 0.01 });
    expect(c.clip).toEqual({ kind: 'layer', maxNorm: 2 });
    expect(c.schedule).toEqual({ kind: 'cosine', warmupSteps: 5 });
    expect(c.probe).toEqual({ every: 10 });
  });

  it('--backend native is the canonical name; blas (its old name) gives the same records and keeps its name in the manifest', () => {
    const run = (name: string, out: string) =>
      runCli(['train', ...SMALL, '--steps', '3', '--seed', '5', '--backend', name, '--out', out, '--json']);
    const [outN, outB] = [join(dir, 'native'), join(dir, 'blas')];
    const n = run('native', outN);
    const b = run('blas', outB);
    if (blasUnavailableReason() !== null) {
      for (const r of [n, b]) {
        expect(r.code).toBe(2);
        expect(r.stderr).toMatch(/backend: "(native|blas)".*native addon is not available/);
      }
      return;
    }
    expect(n.code, n.stderr).toBe(0);
    expect(b.code, b.stderr).toBe(0);
    const [sn, sb] = [JSON.parse(n.stdout), JSON.parse(b.stdout)];
    expect(sn.backend.name).toBe('blas'); // the tfjs backend's name, as manifests have always recorded it
    expect(sb.records).toEqual(sn.records);
    expect(sb.final).toEqual(sn.final);
    const manifest = (d: string) => JSON.parse(readFileSync(join(d, 'manifest.json'), 'utf8'));
    expect(manifest(outN).config.backend).toBe('native');
    expect(manifest(outB).config.backend).toBe('blas');
    expect(manifest(outB).backend.requested).toBe('blas');
    // a run started under one name resumes under the other
    const again = runCli(['train', '--out', outB, '--resume', '--backend', 'native', '--json']);
    expect(again.code, again.stderr).toBe(0);
    expect(JSON.parse(again.stdout).final).toEqual(sb.final);
  });

  it('--help names the backends, native as the canonical name and its aliases', () => {
    const r = runCli(['train', '--help']);
    expect(r.code).toBe(0);
    const help = r.stdout.replace(/\s+/g, ' ');
    expect(help).toContain('auto | native | wasm | cpu | node | node-gpu');
    expect(help).toContain('native is the canonical name, blas and openblas are accepted for it');
  });

  it('--backend node fails with exit 2 and says how to install it', () => {
    const r = runCli(['train', ...SMALL, '--steps', '2', '--backend', 'node']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/backend: "node".*@tensorflow\/tfjs-node is not installed.*npm i @tensorflow\/tfjs-node@4.22.0/);
  });
});
